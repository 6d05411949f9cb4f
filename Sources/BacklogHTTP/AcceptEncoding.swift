/// Whether a client takes gzip: `Accept-Encoding` lists `gzip` (or `*`) with a
/// q-value above 0 (RFC 9110 §12.5.3). Prometheus sends `gzip`.
enum AcceptEncoding {
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Double?
        var star: Double?
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let first = parts.first else { continue }
                let coding = first.trimmingSpaces.lowercased()
                var q = 1.0
                for p in parts.dropFirst() {
                    let kv = p.trimmingSpaces.lowercased()
                    if kv.hasPrefix("q="), let v = Double(kv.dropFirst(2)) { q = v }
                }
                if coding == "gzip" || coding == "x-gzip" { gzip = q } else if coding == "*" { star = q }
            }
        }
        return (gzip ?? star ?? 0) > 0
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
