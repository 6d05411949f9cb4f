import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `--listeners N [--namespaces M]`: listeners, not sockets, grow. Measures in
/// the same run the fast tick's floor in every namespace, backlogd's fast tick
/// in-process against it, then the daemon as a whole process at default
/// settings, nothing scraping it: its CPU over `cpuSeconds` and its peak RSS.
struct ListenerAxis {
    var listeners: Int
    var namespaces: Int
    var perHolder: Int
    var ticks: Int
    var cpuSeconds: Double
    /// The daemon settles first (start-up, first deep tick, owner lookup).
    var warmUp: Double
    /// Per scraper in the concurrent scrape phases (4 scrapers).
    var scrapes: Int
    var nodeExporter: String
    /// The daemon runs in a memory cgroup with this limit (the shipped DaemonSet's).
    var memoryLimitMiB: Int

    static let daemonPort: UInt16 = 24519

    func run() throws -> ListenerReport {
        var r = ListenerReport()
        r.machine = Machine.describe()
        r.listeners = listeners
        r.namespaces = namespaces
        r.ticks = ticks * 4
        // Removed after the workload's close has stopped the daemon in it (defers run last first).
        var memory: MemoryCgroup?
        defer { memory?.remove() }
        let w = try ListenerWorkload(listeners: listeners, namespaces: namespaces, perHolder: perHolder)
        defer { w.close() }
        r.pending = w.pending

        (r.floorDumps, r.floorNetstat, r.floorDumpsWall) = try ListenerMeasure.floor(w, repeat: ticks * 4)
        (r.fastTick, r.fastRoundWall, r.probeListeners) = try ListenerMeasure.fastTick(w, rounds: ticks * 4)

        // The daemon runs in the first namespace (its "host"); the others are
        // the named ones of this run only, so other namespaces on the machine stay out.
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("bd-bench-\(getpid())-config.yaml").path
        defer { unlink(config) }
        var args = [sibling("backlogd"), "--listen", "127.0.0.1:\(Self.daemonPort)"]
        if namespaces > 1 {
            try "namespaces:\n  all: true\n  include: [\"\(ListenerWorkload.pattern)\"]\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            args += ["--config", config]
        }
        let ns0 = w.namespaces[0]
        let daemon = try w.start(in: ns0, args)
        let limit = MemoryCgroup(pid: daemon.pid, name: "bd-bench-\(getpid())-daemon", limitMiB: memoryLimitMiB)
        memory = limit
        r.memoryLimit = limit.how
        try waitListening(ns0, process: daemon)
        Thread.sleep(forTimeInterval: warmUp)
        let c0 = Measure.cpuSeconds(daemon.pid)
        Thread.sleep(forTimeInterval: cpuSeconds)
        if daemon.exited { throw BenchError("backlogd exited: \(daemon.text)") }
        r.cpuFraction = (Measure.cpuSeconds(daemon.pid) - c0) / cpuSeconds
        r.daemonRSS = Measure.peakRSS(daemon.pid)
        r.daemonThreads = Self.threads(daemon.pid)
        r.scrape = try ListenerScrapes.run(w, ns: ns0, daemon: daemon, port: Self.daemonPort, cpuSeconds: cpuSeconds,
                                           scrapes: scrapes, nodeExporter: nodeExporter)
        r.oomKills = limit.oomKills
        r.alive = !daemon.exited
        if daemon.exited { throw BenchError("backlogd exited (OOM kills in its cgroup: \(r.oomKills)): \(daemon.text)") }
        // What the daemon saw (the text body: after the figures, whose peak RSS is that of gzip scrapes only).
        (r.daemonListeners, r.daemonNamespaces, r.deepInterval) = Self.seen(r.scrape.body)
        return r
    }

    /// The daemon listens (a bare connect, no request: nothing is rendered for it).
    func waitListening(_ ns: String, process: Spawned) throws {
        let deadline = Date().addingTimeInterval(120)
        while true {
            if process.exited { throw BenchError("backlogd exited: \(process.text)") }
            let fd = (try? Measure.inNamespace(ns) { BenchSockets.blockingConnect(port: Self.daemonPort) }) ?? -1
            if fd >= 0 {
                close(fd)
                return
            }
            if Date() > deadline { throw BenchError("backlogd does not listen on \(Self.daemonPort): \(process.text)") }
            usleep(100_000)
        }
    }

    static func threads(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.split(separator: "\t").last ?? "") ?? 0
    }

    /// Listener series (backlogd_listener_info), namespaces, and the longest deep interval in a /metrics body.
    static func seen(_ body: String) -> (listeners: Int, namespaces: Int, deepInterval: Double) {
        var listeners = 0, namespaces = 0, deep = Double.nan
        for line in body.split(separator: "\n") {
            if line.hasPrefix("backlogd_listener_info{") { listeners += 1 }
            if line.hasPrefix("backlogd_deep_interval_seconds{") {
                namespaces += 1
                let v = Double(line.split(separator: " ").last ?? "") ?? .nan
                deep = deep.isNaN ? v : max(deep, v)
            }
        }
        return (listeners, namespaces, deep)
    }
}
