import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `backlogd-bench hang`: a server that accepts (and closes) a client every
/// 100 ms, as a healthy one does, until the file `hangFile` exists; from then on
/// it stops calling accept() while clients keep coming: the hung server that
/// `not_accepting` is for. `keepOne`: at the hang it accepts one more client and
/// keeps it open (not plainly idle: only the hang clock, `hung_after`, can tell).
enum HangServer {
    /// Clients only (no listener): one more every 100 ms, the oldest closed past 500 —
    /// the traffic that keeps coming to a server stopped or held by a debugger.
    static func clients(port: UInt16) -> Never {
        let line = "ready\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        var fds: [Int32] = []
        while true {
            fds.append(BenchSockets.connect(port: port))
            if fds.count > 500 { close(fds.removeFirst()) }
            usleep(100_000)
        }
    }

    static func run(port: UInt16, hangFile: String, keepOne: Bool = false) -> Never {
        let l = BenchSockets.listen(port: port, backlog: 128)
        _ = fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK)
        let line = "ready\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        var clients: [Int32] = []
        var kept: Int32 = -1
        while true {
            let hung = access(hangFile, F_OK) == 0
            clients.append(BenchSockets.connect(port: port))
            usleep(100_000)
            if hung && keepOne && kept < 0 {
                while kept < 0 { kept = accept(l, nil, nil); if kept < 0 { usleep(10_000) } }
            }
            guard !hung else { continue }
            while case let fd = accept(l, nil, nil), fd >= 0 { close(fd) }
            for c in clients { close(c) }
            clients.removeAll()
        }
    }
}

/// Polls /metrics until the listener on `port` names `pid` as its owner (at most 600 s).
func waitForOwner(_ w: Workload, port: UInt16, pid: pid_t) throws {
    let deadline = Date().addingTimeInterval(600)
    let marker = ["port=\"\(port)\"", "pid=\"\(pid)\""]
    while Date() < deadline {
        let body = (try? Measure.inNamespace(w.namespace) { Scraper.body(port: 24519) }) ?? nil
        if (body ?? "").split(separator: "\n").contains(where: { l in
            l.hasPrefix("backlogd_listener_info{") && marker.allSatisfy { l.contains($0) }
        }) { return }
        sleep(1)
    }
    throw BenchError("the owner of port \(port) (pid \(pid)) was not found within 600 s")
}

/// How the bench's hang server hangs.
enum HangKind: String, CaseIterable {
    /// Stops calling accept() and does nothing else (no CPU, no connection open).
    case idle
    /// SIGSTOP.
    case stopped
    /// A debugger attached (gdb, Debian package; skipped without it).
    case traced
    /// Stops calling accept() with one accepted connection open: no evidence, only `hung_after`.
    case noProgress = "no_progress"
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

    /// `cpuSeconds` 0: no CPU measured (the other kinds after the first).
    static func run(_ w: Workload, daemon: Spawned, kind: HangKind = .idle, port: UInt16 = port, settle: Double,
                    cpuSeconds: Double, deepInterval: () -> Double) throws -> HangMeasure {
        var m = HangMeasure()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bd-bench-hang-\(getpid())-\(port)").path
        unlink(file)
        defer { unlink(file) }
        let server = try w.start([sibling("backlogd-bench"), "hang", "--port", "\(port)", "--hang-file", file]
                                 + (kind == .noProgress ? ["--keep-one"] : []))
        defer { kill(server.pid, SIGCONT) }
        try server.waitFor("ready", timeout: 30)
        // The daemon sees it (and looks up its owner), and the early looks of the stuck listeners
        // the workload starts with are paid off by the deep tick's pacing, before anything is measured.
        Thread.sleep(forTimeInterval: settle)
        // The hang evidence reads the holders: the listener's owner must be known first. On a
        // host whose processes hold 200 000 fds the owner scan takes several deep ticks (issue 33).
        try waitForOwner(w, port: port, pid: server.pid)
        var c0 = Measure.cpuSeconds(daemon.pid)
        if cpuSeconds > 0 {
            Thread.sleep(forTimeInterval: cpuSeconds)
            m.cpuHealthy = (Measure.cpuSeconds(daemon.pid) - c0) / cpuSeconds
        }
        m.deepIntervalHealthy = deepInterval()
        c0 = Measure.cpuSeconds(daemon.pid)
        let hungAt = Date()
        var debugger: Spawned?
        defer { debugger?.stop() }
        switch kind {
        case .idle, .noProgress:
            guard creat(file, 0o600) >= 0 else { throw BenchError("cannot create \(file)") }
        case .stopped:
            kill(server.pid, SIGSTOP)
        case .traced:
            debugger = try Spawned(["gdb", "-q", "-nx", "-batch", "-p", "\(server.pid)", "-ex", "shell sleep 600"])
        }
        // A stopped or traced server makes no clients of its own: others keep coming, as in life.
        let clients = kind == .stopped || kind == .traced
            ? try w.start([sibling("backlogd-bench"), "hang", "--port", "\(port)", "--hang-file", file, "--clients-only"]) : nil
        defer { clients?.stop() }
        let marker = "port=\"\(port)\""
        while true {
            let body = (try? Measure.inNamespace(w.namespace) { Scraper.body(port: 24519) }) ?? nil
            if (body ?? "").split(separator: "\n").contains(where: {
                $0.hasPrefix("backlogd_finding{") && $0.contains(marker) && $0.contains("kind=\"not_accepting\"")
            }) { break }
            if Date().timeIntervalSince(hungAt) > 300 { throw BenchError("not_accepting (\(kind.rawValue)) not reported within 300 s") }
            // Twice a second: scrapes are part of the CPU measured.
            usleep(500_000)
        }
        m.seconds = Date().timeIntervalSince(hungAt)
        if cpuSeconds > 0 {
            // CPU from the hang over the same length as before (the early looks and the finding included).
            let rest = cpuSeconds - Date().timeIntervalSince(hungAt)
            if rest > 0 { Thread.sleep(forTimeInterval: rest) }
            m.cpuHung = (Measure.cpuSeconds(daemon.pid) - c0) / max(cpuSeconds, Date().timeIntervalSince(hungAt))
        }
        debugger?.stop()
        debugger = nil
        kill(server.pid, SIGCONT)
        server.stop()
        return m
    }
}

/// `backlogd-bench busy`: `count` listeners from `port` on whose queues always hold
/// about `waiting` connections: a client connects to each every 100 ms and the
/// server accepts (and closes) the oldest once more than `waiting` wait — busy
/// servers, whose connections wait seconds while the queue moves.
enum BusyServer {
    static func run(port: UInt16, count: Int, waiting: Int) -> Never {
        var limit = rlimit(rlim_cur: 65536, rlim_max: 65536)
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let listeners = (0..<count).map { i in
            let l = BenchSockets.listen(port: port + UInt16(i), backlog: 128)
            _ = fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK)
            return l
        }
        var clients = [[Int32]](repeating: [], count: count)
        let line = "ready\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        while true {
            for i in 0..<count {
                clients[i].append(BenchSockets.connect(port: port + UInt16(i)))
                while clients[i].count > waiting {
                    let fd = accept(listeners[i], nil, nil)
                    guard fd >= 0 else { break }
                    close(fd)
                    close(clients[i].removeFirst())
                }
            }
            usleep(100_000)
        }
    }
}

/// What the busy listeners showed: how many of them /metrics has as accept_slow, and none as not_accepting.
enum BusyMeasure {
    static let port: UInt16 = 22000

    /// (accept_slow, not_accepting) findings on the busy listeners' ports in one scrape.
    static func slow(_ w: Workload) -> Double {
        let body = (try? Measure.inNamespace(w.namespace) { Scraper.body(port: 24519) }) ?? nil
        var slow = 0
        var hung = 0
        for line in (body ?? "").split(separator: "\n") where line.hasPrefix("backlogd_finding{") {
            guard let p = line.range(of: "port=\""), let port = UInt16(line[p.upperBound...].prefix { $0 != "\"" }),
                  port >= Self.port, port < Self.port + 50 else { continue }
            if line.contains("kind=\"accept_slow\"") { slow += 1 }
            if line.contains("kind=\"not_accepting\"") { hung += 1 }
        }
        return hung > 0 ? -Double(hung) : Double(slow)
    }
}
