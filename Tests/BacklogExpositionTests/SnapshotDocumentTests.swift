import BacklogCore
import BacklogExposition
import Foundation
import Testing

/// The JSON document of `--once --format json` and `GET /snapshot`
/// (SnapshotDocument, rendered by JSONRenderer): its field names are public
/// interface, so they are checked by name here.
@Suite struct SnapshotDocumentTests {
    typealias Object = [String: Any]

    static func parse(_ text: String) throws -> Object {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? Object)
    }

    /// A namespace with a full listener that has an owner, a UNIX listener with
    /// no owner, a failed source, counters and one deep look's numbers.
    static func snapshot(netns: String = "host") -> Snapshot {
        var tcp = Listener(netns: netns, family: .inet6, address: "::", port: 8080, inode: 11, cookie: 77,
                           queueLength: 5, queueMax: 4, queuePeak: 6, v6Only: false, uid: 33)
        tcp.fullSeconds = 1.5
        tcp.overflowsEstimated = 2.25
        tcp.owner = Owner(pid: 4711, comm: "nginx", cmdline: "nginx: master process", unit: "nginx.service",
                          container: nil, cgroup: "/system.slice/nginx.service")
        var c = ConnectionStats()
        c.synRecv.halfOpen = AgedCount(count: 3, oldestSeconds: 4.5)
        c.unaccepted = AgedCount(count: 2, oldestSeconds: 1.25)
        c.unacceptedBytes = 300
        c.closeWait = AgedCount(count: 1, oldestSeconds: 60)
        tcp.connections = c
        var unix = Listener(netns: netns, family: .unix, address: "/run/app.sock", port: nil, inode: 12,
                            queueLength: 0, queueMax: 128, unixType: "stream")
        unix.unattributed = .noPermission
        var r = NamespaceReadings(
            netns: netns, timestamp: 1_700_000_000.25, windowSeconds: 1, listeners: [unix, tcp],
            sources: [SourceStatus(name: "tcp", up: true, durationSeconds: 0.5, skipped: 2, lastSuccess: 1_699_999_999),
                      SourceStatus(name: "sysctl", up: false, error: "EACCES", durationSeconds: 0)],
            netstat: NetstatCounters(sections: ["TcpExt": ["ListenOverflows": 17, "ListenDrops": 19]]),
            counterDeltas: [.listenOverflows: 3, .listenDrops: 3], sysctls: ["net.core.somaxconn": 4096])
        r.deepIntervalSeconds = 30
        r.unattributedOverflows = 0.5
        if netns != "host" { r.occupant = NetnsOccupant(pid: 321, unit: "cri-containerd-abc.scope", container: "abc") }
        return SnapshotAssembly.assemble(r, settings: CollectorSettings())
    }

    static func render(_ snapshots: [Snapshot], commandLines: Bool = true, maxListeners: Int? = nil) throws -> Object {
        try parse(JSONRenderer.render(Publication(snapshots: snapshots, maxListeners: maxListeners), version: "9.8.7",
                                      commandLines: commandLines))
    }

    @Test func topLevelFields() throws {
        let doc = try Self.render([Self.snapshot()])
        #expect(doc["schema"] as? Int == SnapshotDocument.schema)
        #expect(SnapshotDocument.schema == 1)
        #expect(doc["version"] as? String == "9.8.7")
        #expect(doc["netns"] as? String == "host")
        #expect(doc["timestamp"] as? Double == 1_700_000_000.25)
        #expect(doc["window_seconds"] as? Double == 1)
        #expect(doc["deep_interval_seconds"] as? Double == 30)
        #expect(doc["unattributed_overflows"] as? Double == 0.5)
        #expect(doc["listeners_left_out"] as? Int == 0)
        #expect(doc["sysctls"] as? [String: Int] == ["net.core.somaxconn": 4096])
        // Nil fields are left out, not null: host has no occupant, one namespace no `namespaces`.
        #expect(doc["netns_owner"] == nil)
        #expect(doc["namespaces"] == nil)
        #expect(doc["tracking_dropped"] == nil)
        #expect(Set(doc.keys) == ["schema", "version", "netns", "timestamp", "window_seconds", "listeners", "counters",
                                  "sysctls", "findings", "sources", "deep_interval_seconds", "unattributed_overflows",
                                  "listeners_left_out"])
    }

    @Test func otherNamespacesAreDocumentsUnderNamespaces() throws {
        let doc = try Self.render([Self.snapshot(), Self.snapshot(netns: "ns:4026532999")])
        #expect(doc["netns"] as? String == "host")
        let others = try #require(doc["namespaces"] as? [Object])
        #expect(others.count == 1)
        let ns = try #require(others.first)
        #expect(ns["netns"] as? String == "ns:4026532999")
        #expect(ns["schema"] as? Int == 1)
        #expect(ns["version"] as? String == "9.8.7")
        #expect(ns["namespaces"] == nil)
        let occupant = try #require(ns["netns_owner"] as? Object)
        #expect(occupant["pid"] as? Int == 321)
        #expect(occupant["unit"] as? String == "cri-containerd-abc.scope")
        #expect(occupant["container"] as? String == "abc")
        let listeners = try #require(ns["listeners"] as? [Object])
        #expect(listeners.map { $0["netns"] as? String } == ["ns:4026532999", "ns:4026532999"])
    }

    @Test func listenerFieldsFullestFirst() throws {
        let doc = try Self.render([Self.snapshot()])
        let listeners = try #require(doc["listeners"] as? [Object])
        #expect(listeners.map { $0["inode"] as? Int } == [11, 12], "the full one first")
        let tcp = listeners[0]
        #expect(tcp["netns"] as? String == "host")
        #expect(tcp["family"] as? String == "inet6")
        #expect(tcp["address"] as? String == "::")
        #expect(tcp["port"] as? Int == 8080)
        #expect(tcp["socket"] as? Int == 0)
        #expect(tcp["cookie"] as? Int == 77)
        #expect(tcp["uid"] as? Int == 33)
        #expect(tcp["v6only"] as? Bool == false)
        #expect(tcp["overflows_estimated"] as? Double == 2.25)
        let queue = try #require(tcp["queue"] as? Object)
        #expect(queue["length"] as? Int == 5)
        #expect(queue["max"] as? Int == 4)
        #expect(queue["peak"] as? Int == 6)
        #expect(queue["full"] as? Bool == true)
        #expect(queue["full_seconds"] as? Double == 1.5)
        let owner = try #require(tcp["owner"] as? Object)
        #expect(owner["pid"] as? Int == 4711)
        #expect(owner["comm"] as? String == "nginx")
        #expect(owner["cmdline"] as? String == "nginx: master process")
        #expect(owner["unit"] as? String == "nginx.service")
        #expect(owner["cgroup"] as? String == "/system.slice/nginx.service")
        #expect(owner["container"] == nil)
        #expect(tcp["unattributed"] == nil)

        let connections = try #require(tcp["connections"] as? Object)
        #expect(connections["unaccepted_bytes"] as? Int == 300)
        let aged = { (key: String) in connections[key] as? [String: Double] }
        #expect(aged("unaccepted") == ["count": 2, "oldest_seconds": 1.25])
        #expect(aged("stalled") == ["count": 0, "oldest_seconds": 0])
        #expect(aged("close_wait") == ["count": 1, "oldest_seconds": 60])
        let syn = try #require(connections["syn_recv"] as? [String: [String: Double]])
        #expect(Set(syn.keys) == ["new", "half_open", "deferred", "overflowed"])
        #expect(syn["half_open"] == ["count": 3, "oldest_seconds": 4.5])
        #expect(syn["new"] == ["count": 0, "oldest_seconds": 0])

        let unix = listeners[1]
        #expect(unix["family"] as? String == "unix")
        #expect(unix["address"] as? String == "/run/app.sock")
        #expect(unix["unix_type"] as? String == "stream")
        #expect(unix["unattributed"] as? String == "no_permission")
        #expect(unix["port"] == nil && unix["cookie"] == nil && unix["owner"] == nil && unix["connections"] == nil)
        #expect((unix["queue"] as? Object)?["full"] as? Bool == false)
        #expect((unix["queue"] as? Object)?["full_seconds"] == nil)
    }

    @Test func commandLinesOnlyWhenAsked() throws {
        // /snapshot is served over HTTP: no command lines (they may hold secrets).
        let doc = try Self.render([Self.snapshot()], commandLines: false)
        let listeners = try #require(doc["listeners"] as? [Object])
        let owner = try #require(listeners.first?["owner"] as? Object)
        #expect(owner["comm"] as? String == "nginx")
        #expect(owner["cmdline"] == nil)
        let finding = try #require((doc["findings"] as? [Object])?.first)
        #expect(((finding["listener"] as? Object)?["owner"] as? Object)?["cmdline"] == nil)
    }

    @Test func countersSourcesAndFindings() throws {
        let doc = try Self.render([Self.snapshot()])
        let counters = try #require(doc["counters"] as? [Object])
        #expect(counters.map { $0["name"] as? String } == ListenCounter.allCases.map(\.rawValue))
        let overflows = try #require(counters.first { $0["name"] as? String == "ListenOverflows" })
        #expect(overflows["value"] as? Int == 17)
        #expect(overflows["window_delta"] as? Int == 3)
        let cookies = try #require(counters.first { $0["name"] as? String == "TCPReqQFullDoCookies" })
        #expect(cookies["value"] == nil && cookies["window_delta"] == nil, "not in this netstat: left out, not 0")

        let sources = try #require(doc["sources"] as? [Object])
        #expect(sources.map { $0["name"] as? String } == ["tcp", "sysctl"])
        #expect(sources[0]["up"] as? Bool == true)
        #expect(sources[0]["duration_seconds"] as? Double == 0.5)
        #expect(sources[0]["skipped"] as? Int == 2)
        #expect(sources[0]["last_success"] as? Double == 1_699_999_999)
        #expect(sources[0]["error"] == nil)
        #expect(sources[1]["up"] as? Bool == false)
        #expect(sources[1]["error"] as? String == "EACCES")
        #expect(sources[1]["last_success"] == nil)

        let findings = try #require(doc["findings"] as? [Object])
        #expect(findings.map { $0["kind"] as? String } == ["accept_queue_full"])
        let full = findings[0]
        #expect(full["severity"] as? String == "warning")
        #expect((full["message"] as? String)?.contains("accept queue full 5/4") == true)
        #expect((full["listener"] as? Object)?["inode"] as? Int == 11)
    }

    @Test func leftOutAndTrackingDropped() throws {
        let s = Snapshot(timestamp: 1, windowSeconds: 0, listeners: [
            Listener(family: .inet, address: "127.0.0.1", port: 80, inode: 1, queueLength: 3, queueMax: 8),
            Listener(family: .inet, address: "127.0.0.1", port: 81, inode: 2, queueLength: 0, queueMax: 8),
        ], netstat: nil, sysctls: [:], sources: [], trackingDropped: 42)
        let doc = try Self.render([s], maxListeners: 1)
        #expect(doc["listeners_left_out"] as? Int == 1)
        #expect((doc["listeners"] as? [Object])?.map { $0["inode"] as? Int } == [1])
        #expect(doc["tracking_dropped"] as? Int == 42)
        #expect(doc["deep_interval_seconds"] == nil)
        // No netstat: every counter is there by name, without a value.
        let counters = try #require(doc["counters"] as? [Object])
        #expect(counters.count == ListenCounter.allCases.count)
        #expect(counters.allSatisfy { $0["value"] == nil })
    }
}
