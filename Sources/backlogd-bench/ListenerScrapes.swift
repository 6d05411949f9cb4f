import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The listener axis's exposition figures (issue 17), on the daemon already
/// measured unscraped: its CPU and peak RSS with one Prometheus-like scrape
/// (OpenMetrics, gzip) every `interval` s, then the latency of 4 concurrent
/// scrapers (gzip as Prometheus asks, and identity text as curl does) while
/// collection runs, beside node_exporter in the same namespace and beside
/// nginx serving the same text body as a static file (the transfer's floor:
/// what moving those bytes over loopback costs), the body sizes, and the
/// bytes of an idle listener's lines.
struct ListenerScrapes {
    var cpuFraction = Double.nan, rss = Double.nan, rssAfterConcurrent = Double.nan
    /// Peak RSS after every endpoint was asked every way, in rounds, then 4 clients at once.
    var rssEveryEndpoint = Double.nan
    /// Of `cpuFraction`, the HTTP threads' (event loop and the pool thread that renders).
    var httpCPUFraction = Double.nan
    var gzipP50 = Double.nan, gzipP99 = Double.nan, identityP50 = Double.nan, identityP99 = Double.nan
    var nodeP50 = Double.nan, nodeP99 = Double.nan, staticP50 = Double.nan, staticP99 = Double.nan
    var identityBytes = 0, gzipBytes = 0, nodeBytes = 0
    var idleListenerBytes = Double.nan, idleListeners = 0
    var scrapes = 0
    /// The last text body (the caller counts listeners in it).
    var body = ""

    static let interval = 15.0
    /// SwiftNIO's thread names: the event loop, the thread pool.
    static let httpThreads = ["NIO-ELT-", "TP-#"]

    static func run(_ w: ListenerWorkload, ns: String, daemon: Spawned, port: UInt16, cpuSeconds: Double, scrapes: Int,
                    nodeExporter: String) throws -> ListenerScrapes {
        var r = ListenerScrapes()
        r.scrapes = scrapes
        // One scrape as Prometheus makes it every 15 s, in a steady state: the first
        // (which compresses every chunk) before the measurement.
        guard (try Measure.inNamespace(ns) { Scraper.get(port: port, ask: .prometheus) }) != nil else {
            throw BenchError("scrape failed: \(daemon.text)")
        }
        Thread.sleep(forTimeInterval: interval)
        let c0 = Measure.cpuSeconds(daemon.pid)
        let h0 = Measure.threadCPUSeconds(daemon.pid, prefixes: Self.httpThreads)
        let start = Date()
        var next = 0.0
        while true {
            let elapsed = Date().timeIntervalSince(start)
            if elapsed >= cpuSeconds { break }
            if elapsed >= next {
                guard (try Measure.inNamespace(ns) { Scraper.get(port: port, ask: .prometheus) }) != nil else {
                    throw BenchError("scrape failed: \(daemon.text)")
                }
                next += interval
            }
            Thread.sleep(forTimeInterval: min(0.2, max(0, cpuSeconds - elapsed)))
        }
        let elapsed = Date().timeIntervalSince(start)
        r.cpuFraction = (Measure.cpuSeconds(daemon.pid) - c0) / elapsed
        r.httpCPUFraction = (Measure.threadCPUSeconds(daemon.pid, prefixes: Self.httpThreads) - h0) / elapsed
        r.rss = Measure.peakRSS(daemon.pid)

        let gz = try Scraper.latencies(namespace: ns, port: port, scrapers: 4, each: scrapes, ask: .prometheus)
        (r.gzipP50, r.gzipP99) = (percentile(gz, 0.5), percentile(gz, 0.99))
        let plain = try Scraper.latencies(namespace: ns, port: port, scrapers: 4, each: scrapes, ask: .identity)
        (r.identityP50, r.identityP99) = (percentile(plain, 0.5), percentile(plain, 0.99))
        r.rssAfterConcurrent = Measure.peakRSS(daemon.pid)
        // What a red-team run did to a DaemonSet's pod: every endpoint, plain and gzip, in rounds.
        for _ in 0..<3 {
            for ask in Scraper.everyEndpoint {
                guard (try Measure.inNamespace(ns) { Scraper.get(port: port, ask: ask) }) != nil else {
                    throw BenchError("GET \(ask.path) failed: \(daemon.text)")
                }
            }
        }
        for ask in Scraper.everyEndpoint {
            _ = try Scraper.latencies(namespace: ns, port: port, scrapers: 4, each: 2, ask: ask)
        }
        r.rssEveryEndpoint = Measure.peakRSS(daemon.pid)
        r.gzipBytes = (try Measure.inNamespace(ns) { Scraper.get(port: port, ask: .prometheus) }) ?? 0
        let body = (try Measure.inNamespace(ns) { Scraper.body(port: port) }) ?? ""
        r.body = body
        r.identityBytes = body.utf8.count
        (r.idleListenerBytes, r.idleListeners) = idleBytes(body)
        (r.staticP50, r.staticP99) = try staticReference(w, ns: ns, body: body, scrapes: scrapes)

        let ne = try w.start(in: ns, [nodeExporter, "--collector.disable-defaults", "--collector.tcpstat", "--collector.netstat",
                                      "--web.listen-address=127.0.0.1:9100"])
        defer { ne.stop() }
        try Scraper.waitServing(namespace: ns, port: 9100, process: ne)
        let node = try Scraper.latencies(namespace: ns, port: 9100, scrapers: 4, each: max(5, scrapes / 4), ask: .prometheus)
        (r.nodeP50, r.nodeP99) = (percentile(node, 0.5), percentile(node, 0.99))
        r.nodeBytes = (try Measure.inNamespace(ns) { Scraper.get(port: 9100, ask: .prometheus) }) ?? 0
        return r
    }

    /// nginx (one worker, sendfile) serving `body` as /metrics: 4 concurrent × `scrapes`.
    static func staticReference(_ w: ListenerWorkload, ns: String, body: String, scrapes: Int) throws -> (Double, Double) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-bench-\(getpid())-nginx").path
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body.write(toFile: dir + "/metrics", atomically: true, encoding: .utf8)
        try """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(dir)/nginx.pid;
            error_log \(dir)/logs/error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                sendfile on;
                default_type text/plain;
                client_body_temp_path \(dir)/body;
                proxy_temp_path \(dir)/proxy;
                fastcgi_temp_path \(dir)/fastcgi;
                uwsgi_temp_path \(dir)/uwsgi;
                scgi_temp_path \(dir)/scgi;
                server { listen 127.0.0.1:9101; root \(dir); }
            }
            """.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let nginx = try w.start(in: ns, ["nginx", "-p", dir, "-c", dir + "/nginx.conf"])
        defer { nginx.stop() }
        try Scraper.waitServing(namespace: ns, port: 9101, process: nginx)
        let lat = try Scraper.latencies(namespace: ns, port: 9101, scrapers: 4, each: scrapes, ask: .identity)
        return (percentile(lat, 0.5), percentile(lat, 0.99))
    }

    /// Mean bytes of the lines of a listener with nothing queued (queue length 0,
    /// no unaccepted connection; the daemon's own left out), every family counted.
    static func idleBytes(_ body: String) -> (Double, Int) {
        var bytes: [Substring: Int] = [:]
        var busy = Set<Substring>()
        for line in body.split(separator: "\n") where !line.hasPrefix("#") {
            guard let open = line.firstIndex(of: "{"), let cut = line.range(of: ",process=") else { continue }
            let name = line[..<open]
            guard name.hasPrefix("backlogd_listen") || name.hasPrefix("backlogd_owner_"), !name.hasPrefix("backlogd_listen_overflows_unattributed") else { continue }
            let key = line[line.index(after: open)..<cut.lowerBound]
            bytes[key, default: 0] += line.utf8.count + 1
            let value = line[line.index(after: line.lastIndex(of: " ")!)...]
            if (name == "backlogd_listen_queue_length" || name == "backlogd_listen_unaccepted_connections") && value != "0" { busy.insert(key) }
            if line.contains("process=\"backlogd\"") { busy.insert(key) }
        }
        let idle = bytes.filter { !busy.contains($0.key) }
        return (idle.isEmpty ? .nan : Double(idle.values.reduce(0, +)) / Double(idle.count), idle.count)
    }
}
