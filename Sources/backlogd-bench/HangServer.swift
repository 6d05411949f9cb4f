import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `backlogd-bench hang`: a server that accepts (and closes) a client every
/// 100 ms, as a healthy one does, until the file `hangFile` exists; from then on
/// it stops calling accept() while clients keep coming: the hung server that
/// `not_accepting` is for.
enum HangServer {
    static func run(port: UInt16, hangFile: String) -> Never {
        let l = BenchSockets.listen(port: port, backlog: 128)
        _ = fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK)
        let line = "ready\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        var clients: [Int32] = []
        while true {
            let hung = access(hangFile, F_OK) == 0
            clients.append(BenchSockets.connect(port: port))
            usleep(100_000)
            guard !hung else { continue }
            while case let fd = accept(l, nil, nil), fd >= 0 { close(fd) }
            for c in clients { close(c) }
            clients.removeAll()
        }
    }
}

/// The hang measured against the running daemon: the time from the hang to
/// `not_accepting` on /metrics, and the daemon's CPU before (a healthy server
/// beside 200 000 sockets: nothing stuck) and from the hang on (early looks included).
struct HangMeasure {
    var seconds = Double.nan
    var cpuHealthy = Double.nan
    var cpuHung = Double.nan
    var deepIntervalHealthy = Double.nan

    static let port: UInt16 = 21000

    static func run(_ w: Workload, daemon: Spawned, settle: Double, cpuSeconds: Double,
                    deepInterval: () -> Double) throws -> HangMeasure {
        var m = HangMeasure()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bd-bench-hang-\(getpid())").path
        unlink(file)
        defer { unlink(file) }
        let server = try w.start([sibling("backlogd-bench"), "hang", "--port", "\(port)", "--hang-file", file])
        try server.waitFor("ready", timeout: 30)
        // The daemon sees it (and looks up its owner), and the early looks of the stuck listeners
        // the workload starts with are paid off by the deep tick's pacing, before anything is measured.
        Thread.sleep(forTimeInterval: settle)
        var c0 = Measure.cpuSeconds(daemon.pid)
        Thread.sleep(forTimeInterval: cpuSeconds)
        m.cpuHealthy = (Measure.cpuSeconds(daemon.pid) - c0) / cpuSeconds
        m.deepIntervalHealthy = deepInterval()
        c0 = Measure.cpuSeconds(daemon.pid)
        let hungAt = Date()
        guard creat(file, 0o600) >= 0 else { throw BenchError("cannot create \(file)") }
        let marker = "port=\"\(port)\""
        while true {
            let body = (try? Measure.inNamespace(w.namespace) { Scraper.body(port: 24519) }) ?? nil
            if (body ?? "").split(separator: "\n").contains(where: {
                $0.hasPrefix("backlogd_finding{") && $0.contains(marker) && $0.contains("kind=\"not_accepting\"")
            }) { break }
            if Date().timeIntervalSince(hungAt) > 300 { throw BenchError("not_accepting not reported within 300 s") }
            // Twice a second: scrapes are part of the CPU measured.
            usleep(500_000)
        }
        m.seconds = Date().timeIntervalSince(hungAt)
        // CPU from the hang over the same length as before (the early looks and the finding included).
        let rest = cpuSeconds - Date().timeIntervalSince(hungAt)
        if rest > 0 { Thread.sleep(forTimeInterval: rest) }
        m.cpuHung = (Measure.cpuSeconds(daemon.pid) - c0) / max(cpuSeconds, Date().timeIntervalSince(hungAt))
        server.stop()
        return m
    }
}
