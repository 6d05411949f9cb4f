import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `backlogd-bench idle`: the quiet host. In each of --runs namespaces of its own,
/// side by side: --listeners idle TCP listeners, backlogd at default settings and
/// node_exporter (Debian's, all default collectors), each scraped with gzip every
/// --scrape-every seconds. CPU is counted in nanoseconds by a cgroup of its own
/// per process (threads that ended included; at these levels clock ticks are too
/// coarse), over --seconds after a warm-up; RSS at the end. Beside them two
/// floors: backlogd-floor's LISTEN + UNIX dumps back to back (four a second's
/// worth: the kernel's work alone), and the same dumps paced every 250 ms by one
/// sleeping thread (the kernel's work and a wake-up per tick), run after the
/// measurement, all namespaces at once. The medians of the runs, then one
/// machine-readable line.
struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The quiet host: idle listeners, backlogd and node_exporter side by side (root).")

    @Option(help: "Idle TCP listeners in each namespace.")
    var listeners = 10
    @Option(help: "Seconds over which CPU is counted.")
    var seconds = 600.0
    @Option(help: "Runs, side by side (each in a namespace of its own); the report gives their medians.")
    var runs = 3
    @Option(help: "Seconds between two gzip scrapes of each exporter.")
    var scrapeEvery = 15.0
    @Option(help: "Seconds both run before CPU is counted.")
    var warmUpSeconds = 10.0
    @Option(help: "Seconds the paced floor (the dumps every 250 ms, asleep between) runs after the measurement.")
    var pacedFloorSeconds = 60.0
    @Option(help: "node_exporter binary (Debian: prometheus-node-exporter).")
    var nodeExporter = "prometheus-node-exporter"

    struct Sample {
        var backlogd = Double.nan
        var node = Double.nan
        var backlogdRSS = Double.nan
        var nodeRSS = Double.nan
        var floor = Double.nan
        var pacedFloor = Double.nan
    }

    func run() throws {
        guard getuid() == 0 else { throw BenchError("run as root: the benchmark creates network namespaces and cgroups") }
        guard listeners >= 1, seconds > 0, runs >= 1, scrapeEvery > 0 else {
            throw BenchError("--listeners, --seconds, --runs and --scrape-every must be positive")
        }
        Workload.sweep()
        var setups: [IdleRun] = []
        defer { setups.forEach { $0.close() } }
        for r in 0..<runs {
            setups.append(try IdleRun(index: r, listeners: listeners, nodeExporter: nodeExporter))
        }
        Thread.sleep(forTimeInterval: warmUpSeconds)
        let start = setups.map { ($0.backlogd.cpu(), $0.node.cpu()) }
        let t0 = Date()
        var next = t0
        while Date().timeIntervalSince(t0) < seconds {
            for s in setups { s.scrape() }
            next = next.addingTimeInterval(scrapeEvery)
            let wait = min(next, t0.addingTimeInterval(seconds)).timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
        let elapsed = Date().timeIntervalSince(t0)
        var samples: [Sample] = []
        for (s, c0) in zip(setups, start) {
            var m = Sample()
            m.backlogd = (s.backlogd.cpu() - c0.0) / elapsed
            m.node = (s.node.cpu() - c0.1) / elapsed
            m.backlogdRSS = s.backlogd.rss()
            m.nodeRSS = s.node.rss()
            m.floor = try s.floor()
            samples.append(m)
        }
        let paced = try setups.map {
            try Spawned(["ip", "netns", "exec", $0.workload, sibling("backlogd-floor"), "paced", "\(pacedFloorSeconds)"])
        }
        for (i, p) in paced.enumerated() {
            samples[i].pacedFloor = Double(try p.finish().trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan
        }
        var report = IdleReport(samples: samples, listeners: listeners, seconds: elapsed, scrapeEvery: scrapeEvery)
        report.how = setups.first?.backlogd.how ?? ""
        print(report.text)
    }
}

/// One run: a namespace with idle listeners, backlogd and node_exporter in it, each in a cgroup of its own.
final class IdleRun {
    let workload: String
    let backlogd: Metered
    let node: Metered
    private let spawned: [Spawned]

    init(index: Int, listeners: Int, nodeExporter: String) throws {
        let ns = "bd-bench-\(getpid())-idle\(index)"
        workload = ns
        var started: [Spawned] = []
        var meters: [Metered] = []
        try command(["ip", "netns", "add", ns])
        do {
            try command(["ip", "-n", ns, "link", "set", "lo", "up"])
            let holder = try Spawned(["ip", "netns", "exec", ns, sibling("backlogd-bench"), "hold-listeners",
                                      "--port", "20000", "--count", "\(listeners)", "--pending-every", "0", "--pending", "0"])
            started.append(holder)
            try holder.waitFor("ready", timeout: 60)
            let d = try Spawned(["ip", "netns", "exec", ns, sibling("backlogd"), "--listen", "127.0.0.1:24519"])
            started.append(d)
            let n = try Spawned(["ip", "netns", "exec", ns, nodeExporter, "--web.listen-address=127.0.0.1:9100"])
            started.append(n)
            try Scraper.waitServing(namespace: ns, port: 24519, process: d)
            try Scraper.waitServing(namespace: ns, port: 9100, process: n)
            meters.append(try Metered(pid: d.pid, name: "\(ns)-backlogd"))
            meters.append(try Metered(pid: n.pid, name: "\(ns)-node"))
        } catch {
            for p in started.reversed() { p.stop() }
            meters.forEach { $0.remove() }
            _ = try? command(["ip", "netns", "delete", ns])
            throw error
        }
        spawned = started
        backlogd = meters[0]
        node = meters[1]
    }

    func scrape() {
        _ = try? Measure.inNamespace(workload) {
            _ = Scraper.get(port: 24519, ask: .prometheus)
            _ = Scraper.get(port: 9100, ask: .prometheus)
        }
    }

    /// The LISTEN + UNIX dumps' CPU, four a second (the fast tick's pace), as a fraction of a core.
    func floor() throws -> Double {
        let out = try command(["ip", "netns", "exec", workload, sibling("backlogd-floor"), "fast", "201"])
        let cpu = out.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: " ").last ?? "") }
        guard !cpu.isEmpty else { throw BenchError("backlogd-floor: \(out)") }
        return cpu.reduce(0, +) / Double(cpu.count) * 4
    }

    func close() {
        for p in spawned.reversed() { p.stop() }
        // The cgroups can go once their processes are gone.
        backlogd.remove()
        node.remove()
        _ = try? command(["ip", "netns", "delete", workload])
    }
}
