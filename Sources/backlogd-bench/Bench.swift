import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backlogd-bench",
        abstract: "Measures backlogd against the kernel's floor and node_exporter, in a namespace of its own.",
        subcommands: [Run.self, Idle.self, Hold.self, HoldListeners.self, Hang.self, Busy.self],
        defaultSubcommand: Run.self)
}

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(internal) hold connections in the benchmark namespace")
    @Option var port: UInt16
    @Option var count: Int
    @Flag var stuck = false

    func run() throws {
        Holder.run(port: port, count: count, stuck: stuck)
    }
}

struct Hang: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(internal) a server that stops calling accept() once a file exists")
    @Option var port: UInt16
    @Option var hangFile: String
    @Flag var keepOne = false
    @Flag var clientsOnly = false

    func run() throws {
        if clientsOnly { HangServer.clients(port: port) }
        HangServer.run(port: port, hangFile: hangFile, keepOne: keepOne)
    }
}

struct Busy: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(internal) listeners whose queues always hold waiting connections")
    @Option var port: UInt16
    @Option var count: Int
    @Option var waiting: Int

    func run() throws {
        BusyServer.run(port: port, count: count, waiting: waiting)
    }
}

struct HoldListeners: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(internal) hold listeners in a benchmark namespace")
    @Option var port: UInt16
    @Option var count: Int
    @Option var pendingEvery: Int
    @Option var pending: Int

    func run() throws {
        ListenerHolder.run(port: port, count: count, pendingEvery: pendingEvery, pending: pending)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the benchmark (root: it creates a network namespace).",
        discussion: """
            Fills a namespace with --connections established loopback connections (twice as many \
            sockets) and stuck listeners, then measures in the same run: backlogd-floor (libmnl, the \
            same dumps, only counting) against backlogd's fast and deep ticks; `backlogd --once`; \
            /metrics latency with 4 concurrent scrapers against prometheus-node-exporter (tcpstat, \
            netstat); peak RSS of both; the daemon's CPU over --cpu-seconds. A second, small \
            namespace (--small-connections) checks that scrape latency is flat in the socket count. \
            In both namespaces a second backlogd serves TLS (web-config file, EC P-256 key): curl times \
            --tls-rounds × 20 gzip scrapes on a kept-alive TLS connection against as many on a kept-alive \
            plain one, interleaved, then 50 handshakes on new connections; its peak RSS. \
            Then a server beside the sockets stops calling accept() while clients keep connecting: the \
            time until /metrics reports not_accepting, and the daemon's CPU before and after the hang. \
            The last line is a machine-readable summary (BENCH_SUMMARY {json}).

            With --listeners N it measures the listener axis instead (the sockets axis is skipped): \
            N listeners spread over --namespaces M namespaces of its own, IPv4 and IPv6 alternately, \
            one in 10 (of either family) with 2 connections left unaccepted. In the same run: the fast tick's floor \
            (backlogd-floor's LISTEN + UNIX dumps in each namespace, plus its /proc/net/netstat read \
            divided by 4, the counters being read once a second), backlogd's fast tick in-process on a \
            thread per namespace (CPU time, summed), and the backlogd daemon as a whole process at \
            default settings, nothing scraping it: CPU over --cpu-seconds after --warm-up-seconds, peak \
            RSS (VmHWM). With M > 1 the daemon gets namespaces.all and an include pattern for this \
            run's namespaces only.
            """)

    @Option(help: "Listener axis: this many listeners (skips the sockets axis).")
    var listeners: Int?
    @Option(help: "Listener axis: spread over this many namespaces.")
    var namespaces = 1
    @Option(help: "Listener axis: listeners per holder process.")
    var listenersPerHolder = 10_000
    @Option(help: "Listener axis: seconds the daemon runs before its CPU is measured.")
    var warmUpSeconds = 5.0

    @Option(help: "Established connections in the big namespace (2 sockets each).")
    var connections = 100_000
    @Option(help: "Connections in the small namespace (scrape flatness).")
    var smallConnections = 1_000
    @Option(help: "Connections per holder process (fd limit).")
    var perHolder = 9_000
    @Option(help: "Ticks timed per kind.")
    var ticks = 20
    @Option(help: "Scrapes per scraper (4 scrapers).")
    var scrapes = 100
    @Option(help: "Rounds of 20 plain and 20 TLS scrapes, each on a kept-alive connection (curl).")
    var tlsRounds = 20
    @Option(help: "Seconds over which the daemon's CPU is measured.")
    var cpuSeconds = 60.0
    @Option(help: "Seconds a healthy server runs beside the daemon before the hang is measured.")
    var hangSettleSeconds = 120.0
    @Option(help: "Listener axis: the daemon's memory cgroup limit in MiB (the shipped DaemonSet's).")
    var memoryLimit = 128
    @Option(help: "node_exporter binary (Debian: prometheus-node-exporter).")
    var nodeExporter = "prometheus-node-exporter"

    func run() throws {
        guard getuid() == 0 else { throw BenchError("run as root: the benchmark creates network namespaces") }
        Workload.sweep()
        if let listeners {
            guard namespaces >= 1, listenersPerHolder >= 1, ticks >= 1, cpuSeconds > 0 else {
                throw BenchError("--namespaces, --listeners-per-holder, --ticks and --cpu-seconds must be positive")
            }
            let axis = ListenerAxis(listeners: listeners, namespaces: namespaces, perHolder: listenersPerHolder,
                                    ticks: ticks, cpuSeconds: cpuSeconds, warmUp: max(0, warmUpSeconds),
                                    scrapes: max(1, scrapes), nodeExporter: nodeExporter, memoryLimitMiB: memoryLimit)
            print(try axis.run().text)
            return
        }
        var r = Report()
        r.machine = Machine.describe()

        let small = try Workload(connections: smallConnections, perHolder: perHolder, tag: "small")
        defer { small.close() }
        r.smallSockets = small.tcpSockets
        let smallDaemon: Spawned
        (_, r.smallScrapeP99, smallDaemon) = try scrapeDaemon(small)
        r.smallRSS = Measure.peakRSS(smallDaemon.pid)
        r.tlsSmall = try TLSScrapes.measure(small, plainPort: 24519, rounds: tlsRounds, perRound: 20, handshakes: 50)
        small.close()

        let w = try Workload(connections: connections, perHolder: perHolder, tag: "big")
        defer { w.close() }
        r.sockets = w.tcpSockets
        let t = try Measure.ticks(w, repeat: ticks * 4)
        r.fastTick = t.fast
        r.deepTick = t.deep
        r.fastFloor = try Measure.floor(w, kind: "fast", repeat: ticks * 4 + 1)
        r.fastParts = try Measure.fastParts(w, repeat: ticks)
        r.deepFloor = try Measure.floor(w, kind: "deep", repeat: max(4, ticks / 4) + 1, ports: t.ports)
        r.once = try Measure.once(w, repeat: 3)
        let daemon: Spawned
        (r.scrapeP50, r.scrapeP99, daemon) = try scrapeDaemon(w)
        r.daemonRSS = Measure.peakRSS(daemon.pid)
        r.tls = try TLSScrapes.measure(w, plainPort: 24519, rounds: tlsRounds, perRound: 20, handshakes: 50)
        let ne = try w.start([nodeExporter, "--collector.disable-defaults", "--collector.tcpstat", "--collector.netstat",
                              "--web.listen-address=127.0.0.1:9100"])
        try waitServing(w, port: 9100, process: ne)
        let neLat = try Scraper.latencies(namespace: w.namespace, port: 9100, scrapers: 4, each: max(5, scrapes / 10))
        r.nodeP50 = percentile(neLat, 0.5)
        r.nodeP99 = percentile(neLat, 0.99)
        r.nodeRSS = Measure.peakRSS(ne.pid)
        ne.stop()
        // CPU at default settings, nothing scraping.
        let c0 = Measure.cpuSeconds(daemon.pid)
        Thread.sleep(forTimeInterval: cpuSeconds)
        r.cpuFraction = (Measure.cpuSeconds(daemon.pid) - c0) / cpuSeconds
        r.deepInterval = deepInterval(w)
        r.hang = try HangMeasure.run(w, daemon: daemon, settle: hangSettleSeconds, cpuSeconds: cpuSeconds) { deepInterval(w) }
        // The other kinds of hang, each on a server of its own (no CPU measured: time to down only).
        for (i, kind) in HangKind.allCases.dropFirst().enumerated() {
            if kind == .traced && !Workload.onPath("gdb") { continue }
            // Each after the early looks' budget window (60 s) has forgotten the one before.
            let settle = hangSettleSeconds
            r.hangKinds[kind.rawValue] = try HangMeasure.run(w, daemon: daemon, kind: kind, port: HangMeasure.port + 1 + UInt16(i),
                                                             settle: settle, cpuSeconds: 0) { deepInterval(w) }.seconds
        }
        // Busy listeners beside the 200 000 sockets: their queues always hold connections
        // that wait seconds, so the hung-or-busy evidence is read at every look.
        let busy = try w.start([sibling("backlogd-bench"), "busy", "--port", "\(BusyMeasure.port)", "--count", "50", "--waiting", "25"])
        defer { busy.stop() }
        try busy.waitFor("ready", timeout: 30)
        Thread.sleep(forTimeInterval: min(hangSettleSeconds, 30))
        let b0 = Measure.cpuSeconds(daemon.pid)
        Thread.sleep(forTimeInterval: cpuSeconds)
        r.busyCPU = (Measure.cpuSeconds(daemon.pid) - b0) / cpuSeconds
        r.busySlow = BusyMeasure.slow(w)
        busy.stop()
        print(r.text)
    }

    /// Starts the daemon (default settings) in the workload's namespace and times 4 × scrapes.
    func scrapeDaemon(_ w: Workload) throws -> (p50: Double, p99: Double, daemon: Spawned) {
        let d = try w.start([sibling("backlogd"), "--listen", "127.0.0.1:24519"])
        try waitServing(w, port: 24519, process: d)
        let lat = try Scraper.latencies(namespace: w.namespace, port: 24519, scrapers: 4, each: scrapes)
        return (percentile(lat, 0.5), percentile(lat, 0.99), d)
    }

    func waitServing(_ w: Workload, port: UInt16, process: Spawned) throws {
        try Scraper.waitServing(namespace: w.namespace, port: port, process: process)
    }

    func deepInterval(_ w: Workload) -> Double {
        let text = (try? Measure.inNamespace(w.namespace) { Scraper.body(port: 24519) }) ?? nil
        for line in (text ?? "").split(separator: "\n") where line.hasPrefix("backlogd_deep_interval_seconds{") {
            return Double(line.split(separator: " ").last ?? "") ?? .nan
        }
        return .nan
    }
}
