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
        let text = "IpExt: B A\nIpExt: 2 1\nTcpExt: ListenDrops ListenOverflows\nTcpExt: 9 7\n"
        let c = try NetstatParser.parse(text)
        #expect(c.value(section: "TcpExt", field: "ListenOverflows") == 7)
        #expect(c.value(section: "TcpExt", field: "ListenDrops") == 9)
        #expect(c.value(section: "IpExt", field: "A") == 1)
        // Fields the kernel adds later are kept; counters near 2^64 stay exact.
        let big = try NetstatParser.parse("TcpExt: NewThing ListenOverflows\nTcpExt: 18446744073709551615 3")
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
    ])
    func badInputIsAClearError(text: String, reason: String) {
        do {
            let parsed = try NetstatParser.parse(text)
            Issue.record("parsed \(parsed) from \(text.debugDescription)")
        } catch {
            #expect(error.reason.contains(reason), "\(error)")
        }
    }

    @Test func truncatedRealFileNeverCrashes() throws {
        let text = try Self.fixture("netstat-6.18")
        let bytes = Array(text.utf8)
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let prefix = String(decoding: bytes[..<cut], as: UTF8.self)
            // Either an error naming a line, or (at a line-pair boundary) fewer sections.
            if let c = try? NetstatParser.parse(prefix) {
                #expect(c.sections.count < 3 || cut >= bytes.count - 1)
            }
        }
    }

    @Test func missingFileIsAnErrorNotZero() {
        #expect(throws: ProcFileError.self) { try NetstatSource(path: "/nonexistent/netstat").read() }
        let (values, errors) = SysctlSource(root: "/nonexistent").read()
        #expect(values.isEmpty)
        #expect(errors.count == SysctlSource.names.count)
    }
}
