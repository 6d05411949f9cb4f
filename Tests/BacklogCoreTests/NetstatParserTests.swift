import BacklogCore
import Foundation
import Testing

@Suite struct NetstatParserTests {
    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test func kernel618KeepsEveryField() throws {
        let c = try NetstatParser.parse(try Self.fixture("netstat-6.18"))
        #expect(Set(c.sections.keys) == ["TcpExt", "IpExt", "MPTcpExt"])
        #expect(c.sections["TcpExt"]?.count == 135)
        #expect(c.value(section: "TcpExt", field: "ListenOverflows") == 35)
        #expect(c.value(section: "TcpExt", field: "ListenDrops") == 35)
        #expect(c.value(section: "TcpExt", field: "TCPDeferAcceptDrop") == 0)
        for counter in ListenCounter.allCases {
            #expect(c.value(section: "TcpExt", field: counter.rawValue) != nil, "\(counter) missing")
        }
    }

    @Test func kernel3xWithOldFieldSet() throws {
        let c = try NetstatParser.parse(try Self.fixture("netstat-3.x"))
        #expect(c.value(section: "TcpExt", field: "SyncookiesFailed") == 2)
        #expect(c.value(section: "TcpExt", field: "TW") == 388_812)
        #expect(c.value(section: "TcpExt", field: "TCPOFOQueue") == 42)
        #expect(c.value(section: "TcpExt", field: "TCPPrequeued") == 80568)
        #expect(c.value(section: "IpExt", field: "InOctets") == 6_286_396_970)
    }

    @Test func reorderedSectionsAndFieldsParse() throws {
        let text = "IpExt: B A\nIpExt: 2 1\n\nTcpExt: ListenDrops ListenOverflows\nTcpExt: 9 7\n"
        let c = try NetstatParser.parse(text)
        #expect(c.value(section: "TcpExt", field: "ListenOverflows") == 7)
        #expect(c.value(section: "TcpExt", field: "ListenDrops") == 9)
        #expect(c.value(section: "IpExt", field: "A") == 1)
        // Fields the kernel adds later are kept; counters near 2^64 stay exact.
        let big = try NetstatParser.parse("TcpExt: NewThing ListenOverflows\nTcpExt: 18446744073709551615 3\n")
        #expect(big.value(section: "TcpExt", field: "NewThing") == UInt64.max)
    }

    @Test(arguments: [
        ("", "no sections"),
        ("TcpExt: A B\n", "without a value line"),
        ("TcpExt: A B\nTcpExt: 1\n", "2 names but 1 values"),
        ("TcpExt: A B\nTcpExt: 1 2 3\n", "2 names but 3 values"),
        ("TcpExt: A B\nIpExt: 1 2\n", "expected 'TcpExt'"),
        ("TcpExt: A B\nTcpExt: 1 x\n", "is not a number"),
        ("TcpExt: A A\nTcpExt: 1 2\n", "appears twice"),
        ("TcpExt: A\nTcpExt: 1\nTcpExt: A\nTcpExt: 1\n", "appears twice"),
        ("garbage without colon\n1 2 3\n", "no 'Section:' prefix"),
        ("TcpExt:\nTcpExt:\n", "has no fields"),
        ("\u{0}\u{1}: \u{2}\n\u{0}\u{1}: 3\n", "bad section name"),
        ("TcpExt: A\nTcpExt: 99999999999999999999999\n", "is not a number"),
        ("TcpExt: A\nTcpExt: 12", "truncated"),
    ])
    func badInputIsAClearError(text: String, reason: String) {
        do {
            let parsed = try NetstatParser.parse(text)
            Issue.record("parsed \(parsed) from \(text.debugDescription)")
        } catch {
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    /// Every cut of a real file is an error, except right after a value line's
    /// newline, where the complete sections before it parse with their real values.
    @Test func everyTruncationIsAnErrorOrAWholeSection() throws {
        let text = try Self.fixture("netstat-6.18")
        let full = try NetstatParser.parse(text)
        let bytes = Array(text.utf8)
        let newlines = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\n") }
        let pairEnds = Set(stride(from: 1, to: newlines.count, by: 2).map { newlines[$0] + 1 })
        for cut in 0..<bytes.count {
            let prefix = String(decoding: bytes[..<cut], as: UTF8.self)
            if pairEnds.contains(cut) {
                let c = try NetstatParser.parse(prefix)
                for (name, fields) in c.sections { #expect(full.sections[name] == fields) }
            } else {
                #expect(throws: NetstatParseError.self, "cut \(cut)") { try NetstatParser.parse(prefix) }
            }
        }
    }

    @Test func missingFileIsAnErrorNotZero() {
        #expect(throws: ProcFileError.self) { var source = NetstatSource(path: "/nonexistent/netstat"); _ = try source.read() }
        let (values, errors) = SysctlSource(root: "/nonexistent").read()
        #expect(values.isEmpty)
        #expect(errors.count == SysctlSource.names.count)
    }
}
