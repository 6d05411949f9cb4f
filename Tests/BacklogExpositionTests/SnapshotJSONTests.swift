@testable import BacklogExposition
import BacklogCore
import Foundation
import Testing

/// /snapshot written piece by piece (SnapshotJSON) is, byte for byte, what
/// JSONEncoder gives for the whole document, whatever the piece size, with no
/// listener or finding, several namespaces, and names that spell a placeholder.
@Suite struct SnapshotJSONTests {
    static func whole(_ p: Publication) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(SnapshotDocument(p.snapshots, version: "t", commandLines: false))) + [0x0A]
    }

    static func pieces(_ p: Publication, atLeast: Int) -> [[UInt8]] {
        var w = SnapshotJSON(p, version: "t", commandLines: false)
        var out: [[UInt8]] = []
        var more = true
        while more {
            var piece: [UInt8] = []
            more = w.next(into: &piece, atLeast: atLeast)
            out.append(piece)
        }
        return out
    }

    static func check(_ p: Publication, _ what: String) {
        let expected = whole(p)
        for size in [1, 100, 4096, .max] {
            let got = pieces(p, atLeast: size)
            #expect(got.joined().elementsEqual(expected), "\(what), pieces of \(size)")
            // Each piece but the last holds at least what was asked (a piece ends after an entry).
            #expect(got.dropLast().allSatisfy { $0.count >= min(size, expected.count) }, "\(what), \(size)")
        }
    }

    @Test func theGoldenPublication() {
        Self.check(GoldenFixture.publication(), "golden")
    }

    @Test func noListenersNoFindings() {
        let empty = Snapshot(netns: "host", timestamp: 1, windowSeconds: 15, listeners: [], netstat: nil, sysctls: [:], sources: [])
        Self.check(Publication(snapshots: [empty]), "one namespace")
        Self.check(Publication(snapshots: [empty, GoldenFixture.namespace("blue"), empty]), "empty around a full one")
    }

    /// A process name, a finding's sentence and a namespace name that spell a
    /// placeholder are data: escaped inside strings, never taken for one.
    @Test func namesThatSpellAPlaceholder() {
        let spelled = "\"listeners\" : \(SnapshotJSON.placeholderBase - 1)"
        let golden = GoldenFixture.namespace(spelled)
        var listeners = golden.listeners
        listeners[0].owner?.comm = spelled
        let finding = Finding(kind: "x", severity: .warning, listener: listeners[0], message: "\"findings\" : \(SnapshotJSON.placeholderBase)")
        let s = Snapshot(netns: spelled, timestamp: 1, windowSeconds: 15, listeners: listeners, netstat: nil, sysctls: [:], sources: [],
                         findings: golden.findings + [finding])
        Self.check(Publication(snapshots: [s, GoldenFixture.namespace("b")]), "spelled")
    }
}
