/// The items of list-valued request headers (`Accept`, `Accept-Encoding`;
/// RFC 9110 §5.6.1, §12.4.2): each item's token lowercased, its parameters
/// (keys lowercased, quotes taken off values) and its q-value (1 when absent or
/// unreadable). Every header line of the name counts.
struct HeaderItem {
    var token: String
    var parameters: [String: String] = [:]
    var q = 1.0

    static func items(_ values: [String]) -> [HeaderItem] {
        var out: [HeaderItem] = []
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let first = parts.first else { continue }
                var h = HeaderItem(token: first.trimmingSpaces.lowercased())
                for p in parts.dropFirst() {
                    let kv = p.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { continue }
                    var v = kv[1].trimmingSpaces
                    if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = v.dropFirst().dropLast() }
                    let key = kv[0].trimmingSpaces.lowercased()
                    if key == "q" { h.q = Double(v) ?? 1 } else { h.parameters[key] = String(v) }
                }
                out.append(h)
            }
        }
        return out
    }
}

extension Substring {
    package var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
