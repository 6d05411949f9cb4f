@testable import BacklogCore
import Testing

/// The pipeline step from readings to a namespace's snapshot (SnapshotAssembly):
/// fed readings by hand, no kernel involved.
@Suite struct SnapshotAssemblyTests {
    static func listener(port: UInt16, inode: UInt32, queue: UInt32 = 0, max: UInt32 = 128, comm: String? = nil,
                         unit: String? = nil) -> Listener {
        var l = Listener(netns: "ns:7", family: .inet, address: "10.0.0.1", port: port, inode: inode, cookie: UInt64(inode),
                         queueLength: queue, queueMax: max)
        if let comm { l.owner = Owner(pid: Int32(inode), comm: comm, cmdline: comm, unit: unit, container: nil) }
        return l
    }

    static func readings(_ listeners: [Listener], deep: DeepResult? = nil, cookieGrowth: UInt64? = nil,
                         somaxconn: Int64 = 4096) -> NamespaceReadings {
        NamespaceReadings(
            netns: "ns:7", timestamp: 1_700_000_000.5, windowSeconds: 10, listeners: listeners,
            sources: [SourceStatus(name: "tcp", up: true, durationSeconds: 0.001),
                      SourceStatus(name: "netstat", up: false, error: "boom", durationSeconds: 0, errorsTotal: 2)],
            netstat: NetstatCounters(sections: ["TcpExt": ["ListenOverflows": 17]]),
            counterDeltas: [.listenOverflows: 3], cookieGrowth: cookieGrowth,
            sysctls: ["net.core.somaxconn": somaxconn, "net.ipv4.tcp_max_syn_backlog": 512], deep: deep)
    }

    static func deep(_ change: (inout DeepResult) -> Void = { _ in }) -> DeepResult {
        var d = DeepResult(status: SourceStatus(name: "deep", up: true, durationSeconds: 0.02, lastSuccess: 1_700_000_000),
                           cpuSeconds: 0.01, trackingDropped: 6)
        change(&d)
        return d
    }

    @Test func fieldsAreCarriedOver() {
        var r = Self.readings([Self.listener(port: 80, inode: 1)])
        r.deepIntervalSeconds = 30
        r.fastIntervalSeconds = 0.25
        r.unattributedOverflows = 2.5
        r.occupant = NetnsOccupant(pid: 99, unit: "web.service", container: "abc")
        let s = SnapshotAssembly.assemble(r, settings: CollectorSettings())
        #expect(s.netns == "ns:7")
        #expect(s.timestamp == 1_700_000_000.5)
        #expect(s.windowSeconds == 10)
        #expect(s.listeners == r.listeners)
        #expect(s.counter(.listenOverflows) == 17)
        #expect(s.counterDeltas == [.listenOverflows: 3])
        #expect(s.sysctls == ["net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 512])
        #expect(s.sources.map(\.name) == ["tcp", "netstat"])
        #expect(s.failedSources.map(\.name) == ["netstat"])
        #expect(s.failedSources.first?.errorsTotal == 2)
        #expect(s.deepIntervalSeconds == 30)
        #expect(s.fastIntervalSeconds == 0.25)
        #expect(s.unattributedOverflows == 2.5)
        #expect(s.occupant == NetnsOccupant(pid: 99, unit: "web.service", container: "abc"))
        #expect(s.trackingDropped == nil, "no deep look yet")
        #expect(s.listenersLeftOut == 0)
        #expect(s.findings.isEmpty)
    }

    @Test func theDeepLooksStatusIsAppendedToTheSources() {
        let s = SnapshotAssembly.assemble(Self.readings([], deep: Self.deep()), settings: CollectorSettings())
        #expect(s.sources.map(\.name) == ["tcp", "netstat", "deep"])
        #expect(s.sources.last?.lastSuccess == 1_700_000_000)
        #expect(s.trackingDropped == 6)
    }

    @Test func patternsLeaveListenersAndTheirFindingsOut() {
        let nginx = Self.listener(port: 80, inode: 1, queue: 129, comm: "nginx", unit: "nginx.service")
        let redis = Self.listener(port: 6379, inode: 2, queue: 129, comm: "redis-server", unit: "redis.service")
        let unknown = Self.listener(port: 9000, inode: 3, queue: 129)
        let r = Self.readings([nginx, redis, unknown])
        let all = SnapshotAssembly.assemble(r, settings: CollectorSettings())
        #expect(all.listeners.map(\.inode) == [1, 2, 3])
        #expect(all.findings.filter { $0.kind == "accept_queue_full" }.compactMap(\.listener?.inode).sorted() == [1, 2, 3])

        let byProcess = CollectorSettings(selection: ListenerSelection(processes: PatternFilter(include: ["ngin*"])))
        let s = SnapshotAssembly.assemble(r, settings: byProcess)
        // A listener whose owner is unknown is not left out for it.
        #expect(s.listeners.map(\.inode) == [1, 3])
        #expect(s.findings.compactMap(\.listener?.inode).sorted() == [1, 3], "no finding about a listener left out")

        let byUnit = CollectorSettings(selection: ListenerSelection(units: PatternFilter(exclude: ["redis.*"])))
        #expect(SnapshotAssembly.assemble(r, settings: byUnit).listeners.map(\.inode) == [1, 3])

        var elsewhere = unknown
        elsewhere.address = "127.0.0.1"
        let byAddress = CollectorSettings(selection: ListenerSelection(addresses: PatternFilter(exclude: ["127.*"])))
        #expect(SnapshotAssembly.assemble(Self.readings([nginx, elsewhere]), settings: byAddress).listeners.map(\.inode) == [1])
    }

    @Test func theSeriesCapIsNotApplied() {
        // It is applied once over all namespaces, when the Publication is made.
        let r = Self.readings((1...3).map { Self.listener(port: UInt16(80 + $0), inode: UInt32($0)) })
        let settings = CollectorSettings(selection: ListenerSelection(maxListeners: 1))
        let s = SnapshotAssembly.assemble(r, settings: settings)
        #expect(s.listeners.count == 3)
        #expect(s.listenersLeftOut == 0)
        let p = Publication(snapshots: [s], maxListeners: 1)
        #expect(p.snapshots[0].listeners.count == 1)
        #expect(p.snapshots[0].listenersLeftOut == 2)
    }

    @Test func queueRulesSeeSomaxconnAndTheThresholds() {
        let clamped = Self.listener(port: 80, inode: 1, queue: 60, max: 128)
        #expect(SnapshotAssembly.assemble(Self.readings([clamped], somaxconn: 128), settings: CollectorSettings())
            .findings.map(\.kind) == ["backlog_clamped"])
        #expect(SnapshotAssembly.assemble(Self.readings([clamped]), settings: CollectorSettings()).findings.isEmpty)
        var t = Thresholds()
        t.nearFullRatio = 0.4
        #expect(SnapshotAssembly.assemble(Self.readings([clamped]), settings: CollectorSettings(thresholds: t))
            .findings.map(\.kind) == ["accept_queue_near_full"])
    }

    @Test func connectionRulesSeeTheDeepLookAndCookies() {
        var l = Self.listener(port: 80, inode: 1, queue: 2)
        l.connections = ConnectionStats()
        l.connections?.unaccepted = AgedCount(count: 2, oldestSeconds: 9)
        l.connections?.synRecv.halfOpen = AgedCount(count: 20, oldestSeconds: 3)
        let group = l.groupKey
        // Without a deep result there is no judgement over time: neither rule fires.
        #expect(SnapshotAssembly.assemble(Self.readings([l]), settings: CollectorSettings()).findings.isEmpty)
        let deep = Self.deep {
            $0.halfOpenGrowth = [group: 5]
        }
        // The deep looks' evidence: waiting 9 s, not decided (not hung yet): accept_slow.
        l.acceptance = AcceptEvidence(waiting: 2, oldestWaitSeconds: 9, noProgressSeconds: 9, progressed: false)
        var s = SnapshotAssembly.assemble(Self.readings([l], deep: deep, cookieGrowth: 4), settings: CollectorSettings())
        // Sorted most severe first, then by kind.
        #expect(s.findings.map(\.kind) == ["accept_slow", "half_open_growing", "syn_cookies"])
        l.acceptance?.hung = .stopped
        s = SnapshotAssembly.assemble(Self.readings([l], deep: deep, cookieGrowth: 4), settings: CollectorSettings())
        #expect(s.findings.map(\.kind) == ["not_accepting", "half_open_growing", "syn_cookies"])
        #expect(s.findings.first?.message.hasSuffix("— the process is stopped (SIGSTOP)") == true)
        l.acceptance?.hung = nil
        #expect(s.findings.last?.message.hasPrefix("netns ns:7: 4 SYNs") == true)
        // The thresholds of the settings reach the connection rules too.
        var t = Thresholds()
        t.notAcceptingAfter = 10
        t.halfOpenMin = 21
        #expect(SnapshotAssembly.assemble(Self.readings([l], deep: deep), settings: CollectorSettings(thresholds: t)).findings.isEmpty)
    }
}
