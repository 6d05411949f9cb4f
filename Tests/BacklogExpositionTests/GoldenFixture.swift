import BacklogCore

/// A fixed publication for the golden files: two namespaces; a full TCP
/// listener with an owner, its fd usage, drops and one deep look's numbers; a
/// SO_REUSEPORT pair; an IPv6 listener bound to a device; a UNIX listener with
/// no owner and a hostile path; a process name with a quote, a backslash and a
/// line feed; a failed source; counters, sysctls and process-wide facts.
enum GoldenFixture {
    static func publication() -> Publication {
        Publication(snapshots: [namespace("host"), namespace("blue")],
                    process: ProcessFacts(ownerFailures: [.noPermission: 2], ownerScanSkipped: 0,
                                          netnsOpenFailures: ["gone": 1], netnsUnreadableProcesses: 0, podUIDConflicts: 1))
    }

    static func namespace(_ netns: String) -> Snapshot {
        var full = Listener(netns: netns, family: .inet, address: "0.0.0.0", port: 80, inode: 101, cookie: 9001,
                            queueLength: 129, queueMax: 128, queuePeak: 129, uid: 0)
        full.fullSeconds = 12.25
        full.overflowsEstimated = 40.5
        full.drops = 88
        full.dropsInWindow = 12
        var owner = Owner(pid: 4711, comm: "nginx", cmdline: "nginx: master process", unit: "nginx.service",
                          container: nil, cgroup: "/system.slice/nginx.service")
        owner.holders = [4711, 4712]
        full.owner = owner
        full.fdUsage = FdUsage(pid: 4712, comm: "nginx", open: 1020, limit: 1024)
        var c = ConnectionStats()
        c.synRecv.new = AgedCount(count: 1, oldestSeconds: 0.5)
        c.synRecv.halfOpen = AgedCount(count: 3, oldestSeconds: 7)
        c.synRecv.overflowed = AgedCount(count: 2, oldestSeconds: 3)
        c.unaccepted = AgedCount(count: 129, oldestSeconds: 41.337)
        c.unacceptedBytes = 77_400
        c.stalled = AgedCount(count: 4, oldestSeconds: 90.125)
        c.closeWait = AgedCount(count: 6, oldestSeconds: 300)
        full.connections = c

        var first = Listener(netns: netns, family: .inet6, address: "::", port: 8443, socket: 0, inode: 102, cookie: 9002,
                             queueLength: 0, queueMax: 4096, v6Only: false, uid: 33)
        first.fullSeconds = 0
        first.drops = 0
        first.dropsInWindow = 0
        var hostile = Owner(pid: 5000, comm: "bad\"name\\\n", cmdline: "x", unit: nil, container: nil)
        hostile.holders = [5000]
        // In a Kubernetes pod (the info series' container and k8s_* labels).
        hostile.container = String(repeating: "0a1b", count: 16)
        hostile.pod = KubernetesPod(uid: "1b2c3d4e-aaaa-bbbb-cccc-1234567890ab", namespace: "shop", name: "web-0")
        first.owner = hostile
        first.fdUsage = FdUsage(pid: 5000, comm: "bad", open: 12, limit: nil)
        first.connections = ConnectionStats()
        var second = first
        second.socket = 1
        second.inode = 103
        second.cookie = 9003
        second.queueLength = 1
        second.queuePeak = 3
        second.connections = ConnectionStats()

        var device = Listener(netns: netns, family: .inet6, address: "fe80::1%eth0", port: 9100, inode: 104, cookie: 9004,
                              queueLength: 0, queueMax: 511, v6Only: true, uid: 0)
        device.fullSeconds = 0
        device.drops = 3
        device.dropsInWindow = 0
        device.unattributed = .notFound

        var unix = Listener(netns: netns, family: .unix, address: "@odd\"path\\x", port: nil, inode: 105,
                            queueLength: 2, queueMax: 128, queuePeak: 5, unixType: "stream")
        unix.fullSeconds = 0.75
        unix.unattributed = .noPermission

        var r = NamespaceReadings(
            netns: netns, timestamp: 1_764_700_000.5, windowSeconds: 15, listeners: [full, first, second, device, unix],
            sources: [SourceStatus(name: "tcp", up: true, durationSeconds: 0.00125, skipped: 1, lastSuccess: 1_764_700_000.25),
                      SourceStatus(name: "unix", up: true, durationSeconds: 0.0005, lastSuccess: 1_764_700_000.25),
                      SourceStatus(name: "sysctl", up: false, error: "EACCES", durationSeconds: 0, errorsTotal: 3)],
            netstat: NetstatCounters(sections: ["TcpExt": ["ListenOverflows": 170, "ListenDrops": 190, "TCPReqQFullDrop": 0,
                                                           "TCPDeferAcceptDrop": 5]]),
            sysctls: ["net.core.somaxconn": 4096, "net.ipv4.tcp_max_syn_backlog": 512, "net.ipv4.tcp_syncookies": 1])
        r.deepIntervalSeconds = 30
        r.fastIntervalSeconds = 0.25
        r.unattributedOverflows = 0.5
        if netns != "host" { r.occupant = NetnsOccupant(pid: 321, unit: "cri-containerd-abc.scope", container: "abc") }
        return SnapshotAssembly.assemble(r, settings: CollectorSettings())
    }
}
