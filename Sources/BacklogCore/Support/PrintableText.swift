/// Untrusted text (process and socket names, config file content) made safe to
/// print on a terminal or in a log line: characters that move the cursor, end a
/// line or reorder what follows are shown as their UTF-8 bytes, `\xNN` each.
public enum PrintableText {
    /// Whether `u` is shown escaped: C0 controls, DEL, C1 controls (U+0080–U+009F,
    /// e.g. U+0085 NEL, U+009B CSI), the bidirectional controls (U+061C, U+200E,
    /// U+200F, U+202A–U+202E, U+2066–U+2069) and the line/paragraph separators.
    public static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.properties.isBidiControl
            || u.value == 0x2028 || u.value == 0x2029
    }

    /// `s` with every such character as `\xNN` per UTF-8 byte.
    public static func escaped(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars { append(u, to: &out) }
        return out
    }

    /// `s` escaped and cut to at most `limit` characters, with `…` when cut: for
    /// quoting a value in an error message, so a 1 MB line gives a short error.
    public static func quoted(_ s: String, limit: Int = 80) -> String {
        var out = ""
        var length = 0
        for u in s.unicodeScalars {
            var piece = ""
            append(u, to: &piece)
            let n = piece.unicodeScalars.count
            if length + n > limit { return out + "…" }
            out += piece
            length += n
        }
        return out
    }

    private static func append(_ u: Unicode.Scalar, to out: inout String) {
        guard needsEscape(u) else {
            out.unicodeScalars.append(u)
            return
        }
        for b in String(u).utf8 {
            out += "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16)
        }
    }
}
