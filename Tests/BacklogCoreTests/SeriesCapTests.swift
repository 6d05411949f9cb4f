import BacklogCore
import Testing

/// `max_listeners` across namespaces: one cap for all (applied when a Publication is made),
/// the fullest kept, the rest counted.
@Suite struct SeriesCapTests {
    private func listener(_ ns: String, port: UInt16, inode: UInt32, length: UInt32) -> Listener {
        Listener(netns: ns, family: .inet, address: "127.0.0.1", port: port, inode: inode, queueLength: length, queueMax: 4)
    }

    private func snapshot(_ ns: String, _ listeners: [Listener]) -> Snapshot {
        Snapshot(netns: ns, timestamp: 0, windowSeconds: 0, listeners: listeners, netstat: nil, sysctls: [:], sources: [],
                 findings: listeners.map { Finding(kind: "accept_queue_full", severity: .warning, listener: $0, message: "\($0.port!)") }
                     + [Finding(kind: "syn_cookies", severity: .info, listener: nil, message: "namespace-wide")])
    }

    @Test func keepsTheFullestOfAllNamespacesAndDropsTheirFindings() {
        let all = Publication(snapshots: [
            snapshot("a", [listener("a", port: 1, inode: 11, length: 5), listener("a", port: 2, inode: 12, length: 0)]),
            snapshot("b", [listener("b", port: 3, inode: 13, length: 3), listener("b", port: 4, inode: 14, length: 1)]),
        ], maxListeners: 2).snapshots
        #expect(all[0].listeners.map(\.port) == [1])
        #expect(all[1].listeners.map(\.port) == [3])
        #expect(all.map(\.listenersLeftOut) == [1, 1])
        // Findings follow their listeners; namespace-wide ones stay.
        #expect(all[0].findings.map(\.message) == ["1", "namespace-wide"])
        #expect(all[1].findings.map(\.message) == ["3", "namespace-wide"])
    }

    @Test func underTheCapNothingChanges() {
        let before = [snapshot("a", [listener("a", port: 1, inode: 11, length: 5)])]
        let all = Publication(snapshots: Publication(snapshots: before, maxListeners: 1).snapshots, maxListeners: nil).snapshots
        #expect(all[0].listeners == before[0].listeners && all[0].findings == before[0].findings && all[0].listenersLeftOut == 0)
    }

    /// A listener that stopped reading (or piles up CLOSE_WAIT) can have an empty
    /// accept queue; its finding keeps it over fuller listeners without one.
    @Test func listenersWithFindingsAreKeptFirst() {
        let stuck = listener("a", port: 1, inode: 11, length: 0)
        let full = listener("a", port: 2, inode: 12, length: 3)
        let fuller = listener("b", port: 3, inode: 13, length: 4)
        let clamped = listener("b", port: 4, inode: 14, length: 0)
        let notReading = Finding(kind: "not_reading", severity: .critical, listener: stuck, message: "stuck")
        let warning = Finding(kind: "accept_queue_full", severity: .warning, listener: full, message: "full")
        let info = Finding(kind: "somaxconn_clamp", severity: .info, listener: clamped, message: "clamp")

        // One namespace: kept in their order.
        let single = Publication(snapshots: [
            Snapshot(netns: "a", timestamp: 0, windowSeconds: 0, listeners: [fuller, full, stuck, clamped], netstat: nil,
                     sysctls: [:], sources: [], findings: [warning, notReading, info]),
        ], maxListeners: 2).snapshots[0]
        #expect(single.listeners.map(\.port) == [2, 1], "kept in their order")
        #expect(single.findings.map(\.message) == ["full", "stuck"])
        #expect(single.listenersLeftOut == 2)

        // Across namespaces; an info finding does not rank.
        let all = Publication(snapshots: [
            Snapshot(netns: "a", timestamp: 0, windowSeconds: 0, listeners: [full, stuck], netstat: nil, sysctls: [:], sources: [],
                     findings: [warning, notReading]),
            Snapshot(netns: "b", timestamp: 0, windowSeconds: 0, listeners: [fuller, clamped], netstat: nil, sysctls: [:], sources: [],
                     findings: [info]),
        ], maxListeners: 1).snapshots
        #expect(all[0].listeners.map(\.port) == [1])
        #expect(all[1].listeners.isEmpty)
        #expect(all.map(\.listenersLeftOut) == [1, 2])
        let one = Publication(snapshots: [Snapshot(netns: "b", timestamp: 0, windowSeconds: 0, listeners: [clamped, fuller],
                                                   netstat: nil, sysctls: [:], sources: [], findings: [info])],
                              maxListeners: 1).snapshots
        #expect(one[0].listeners.map(\.port) == [3], "the fuller, not the one with only an info finding")
        #expect(one[0].findings.isEmpty)
    }
}
