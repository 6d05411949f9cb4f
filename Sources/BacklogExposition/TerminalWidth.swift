/// How many terminal columns text takes, for aligning the table: a character
/// (grapheme cluster) is 2 columns when East Asian wide or an emoji shown as
/// such, 0 when it is only marks or format characters (a combining accent on
/// its own, a zero-width space), else 1. Not bytes, not UTF-16 units: a name
/// with U+FFFD or 你好 must not push the next column out of line.
enum TerminalWidth {
    static func columns(_ s: String) -> Int {
        s.reduce(0) { $0 + columns($1) }
    }

    static func columns(_ c: Character) -> Int {
        var width = 0
        for u in c.unicodeScalars {
            if isWide(u) { return 2 }
            if !isZeroWidth(u) { width = 1 }
        }
        return width
    }

    static func isZeroWidth(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: true
        // Hangul medial vowels and final consonants join the leading consonant's column.
        default: (0x1160...0x11FF).contains(u.value)
        }
    }

    /// East Asian Wide and Fullwidth blocks, and emoji with emoji presentation.
    static func isWide(_ u: Unicode.Scalar) -> Bool {
        if u.properties.isEmojiPresentation { return true }
        return wide.contains { $0.contains(u.value) }
    }

    private static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
        0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF,
        0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
        0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]
}
