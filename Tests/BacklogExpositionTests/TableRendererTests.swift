import BacklogCore
import BacklogExposition
import Testing

/// The --once table with hostile names: nothing reaches the terminal that moves
/// the cursor, ends a line or reorders text, and columns stay aligned.
@Suite struct TableRendererTests {
    static func snapshot(_ listeners: [Listener]) -> Snapshot {
        Snapshot(timestamp: 0, windowSeconds: 0, listeners: listeners, netstat: nil, sysctls: [:], sources: [], findings: [])
    }

    static func listener(_ address: String, comm: String, inode: UInt32) -> Listener {
        var l = Listener(family: .unix, address: address, port: nil, inode: inode, queueLength: 3, queueMax: 2)
        l.owner = Owner(pid: 4242, comm: comm, cmdline: "", unit: nil, container: nil)
        return l
    }

    /// C1 controls (NEL, CSI) and the bidi overrides/isolates reached the table raw.
    @Test func c1AndBidiControlsAreEscapedAsUTF8Bytes() {
        let hostile = "a\u{85}b\u{9B}31mc\u{202E}d\u{202A}e\u{2066}f\u{2069}g\u{200F}h\u{2028}i\u{1B}j"
        let table = TableRenderer.render(Self.snapshot([Self.listener("/run/" + hostile, comm: hostile, inode: 1)]), version: "t")
        let escaped = #"a\xc2\x85b\xc2\x9b31mc\xe2\x80\xaed\xe2\x80\xaae\xe2\x81\xa6f\xe2\x81\xa9g\xe2\x80\x8fh\xe2\x80\xa8i\x1bj"#
        #expect(table.contains("/run/" + escaped + " "), "\(table)")
        #expect(table.contains(escaped + "[4242]"), "\(table)")
        let controls: [ClosedRange<UInt32>] = [0...9, 11...0x1F, 0x7F...0x9F, 0x200E...0x200F, 0x2028...0x202E, 0x2066...0x2069]
        let raw = table.unicodeScalars.filter { u in controls.contains { $0.contains(u.value) } }
        #expect(raw.isEmpty, "raw: \(raw.map { String($0.value, radix: 16) })")
    }

    /// Columns are counted in terminal columns: U+FFFD and a combining accent are
    /// one column and none, 你好 two each. Every row ends in FULL at the same column.
    @Test func rowsAlignWithMultiByteAndWideCharacters() {
        let names = ["plain", "ab\u{FFFD}\u{FFFD}cd", "e\u{301}e\u{301}xy", "你好世界", "\u{1F600}x"]
        let listeners = names.enumerated().map { i, n in Self.listener("/tmp/\(n).sock", comm: n, inode: UInt32(i + 1)) }
        let table = TableRenderer.render(Self.snapshot(listeners), version: "t")
        let rows = table.split(separator: "\n").filter { $0.hasPrefix("u_str") }
        #expect(rows.count == names.count && rows.allSatisfy { $0.hasSuffix("FULL") }, "\(table)")
        // The test's own widths for exactly these characters.
        func columns(_ s: Substring) -> Int {
            s.unicodeScalars.reduce(0) { w, u in
                w + (u.value == 0x301 ? 0 : (0x4E00...0x9FFF).contains(u.value) || u.value == 0x1F600 ? 2 : 1)
            }
        }
        #expect(Set(rows.map(columns)).count == 1, "\n\(rows.map { "\(columns($0)) \($0)" }.joined(separator: "\n"))")
        // The address column too: QUEUE (right-aligned after it) ends at the same column.
        let queueEnds = rows.map { row in columns(row[..<row.range(of: " 3 ")!.upperBound]) }
        #expect(Set(queueEnds).count == 1, "\(queueEnds)")
    }

    @Test func oneListenerIsSingular() {
        let one = TableRenderer.render(Self.snapshot([Self.listener("/a", comm: "x", inode: 1)]), version: "t")
        #expect(one.hasPrefix("backlogd t: netns host, 1 listener, single dump\n"), "\(one)")
        let two = TableRenderer.render(Self.snapshot([Self.listener("/a", comm: "x", inode: 1), Self.listener("/b", comm: "x", inode: 2)]),
                                       version: "t")
        #expect(two.hasPrefix("backlogd t: netns host, 2 listeners, single dump\n"), "\(two)")
        #expect(TableRenderer.render(Self.snapshot([]), version: "t").hasPrefix("backlogd t: netns host, 0 listeners, single dump\n"))
    }
}
