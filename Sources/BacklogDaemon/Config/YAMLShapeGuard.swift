/// What the config's YAML may contain before Yams composes it. backlogd's keys
/// are plain scalars; complex keys (`? …`) and deeply nested flow collections
/// only cost: Yams' duplicate-key check hashes and compares keys recursively,
/// and a 6 KB file of nested complex keys (found by the config fuzzer) took
/// minutes. A scan over the bytes, aware of quotes and comments.
enum YAMLShapeGuard {
    /// Flow collections (`[…]`, `{…}`) nested deeper than this are refused.
    static let maxFlowDepth = 8

    static func check(_ text: String) throws(ConfigError) {
        var line = 1
        var depth = 0
        var quote: UInt8? = nil
        var previous: UInt8 = UInt8(ascii: "\n")
        var comment = false
        var escaped = false
        let bytes = Array(text.utf8)
        for (i, b) in bytes.enumerated() {
            defer { if b != UInt8(ascii: "\r") { previous = b } }
            if b == UInt8(ascii: "\n") {
                line += 1
                comment = false
                // Single-quoted and double-quoted scalars may span lines; keep the quote.
                continue
            }
            if comment { continue }
            if let q = quote {
                if escaped { escaped = false } else if q == UInt8(ascii: "\"") && b == UInt8(ascii: "\\") { escaped = true } else if b == q { quote = nil }
                continue
            }
            let afterSpace = previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t") || previous == UInt8(ascii: "\n")
            switch b {
            case UInt8(ascii: "#") where afterSpace:
                comment = true
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                // A quote opens a quoted scalar only where a scalar can start.
                if afterSpace || [UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"),
                                  UInt8(ascii: "-")].contains(previous) {
                    quote = b
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxFlowDepth {
                    throw ConfigError(key: nil, line: line, "flow collections nested deeper than \(maxFlowDepth)")
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(depth - 1, 0)
            case UInt8(ascii: "?"):
                // The complex-key indicator: `?` then a space (or the end of the line).
                let next = i + 1 < bytes.count ? bytes[i + 1] : UInt8(ascii: "\n")
                let startsNode = afterSpace || [UInt8(ascii: "-"), UInt8(ascii: "["), UInt8(ascii: "{"),
                                                UInt8(ascii: ",")].contains(previous)
                if startsNode && [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(next) {
                    throw ConfigError(key: nil, line: line, "complex keys (`? …`) are not allowed: keys are plain names")
                }
            default:
                break
            }
        }
    }
}
