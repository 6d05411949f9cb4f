import BacklogCore
import Testing

/// `max_listeners` across namespaces: one cap for all, the fullest kept, the rest counted.
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
        var all = [
            snapshot("a", [listener("a", port: 1, inode: 11, length: 5), listener("a", port: 2, inode: 12, length: 0)]),
            snapshot("b", [listener("b", port: 3, inode: 13, length: 3), listener("b", port: 4, inode: 14, length: 1)]),
        ]
        SeriesCap.apply(&all, cap: 2)
        #expect(all[0].listeners.map(\.port) == [1])
        #expect(all[1].listeners.map(\.port) == [3])
        #expect(all.map(\.listenersLeftOut) == [1, 1])
        // Findings follow their listeners; namespace-wide ones stay.
        #expect(all[0].findings.map(\.message) == ["1", "namespace-wide"])
        #expect(all[1].findings.map(\.message) == ["3", "namespace-wide"])
    }

    @Test func underTheCapNothingChanges() {
        var all = [snapshot("a", [listener("a", port: 1, inode: 11, length: 5)])]
        let before = all
        SeriesCap.apply(&all, cap: 1)
        SeriesCap.apply(&all, cap: nil)
        #expect(all[0].listeners == before[0].listeners && all[0].findings == before[0].findings && all[0].listenersLeftOut == 0)
    }
}
