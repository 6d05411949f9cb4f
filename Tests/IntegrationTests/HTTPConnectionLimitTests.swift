import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The connection limits under attack: idle connections cannot lock scrapes out,
/// and running out of fds pauses accepting instead of spinning the event loop.
@Suite struct HTTPConnectionLimitTests {
    /// 1 500 idle connections from the scraper's own address, re-opened as the
    /// daemon closes them: at the cap (1 024) each new connection evicts the one
    /// longest without a request, so every scrape gets through.
    @Test func idleFloodAtTheCapDoesNotLockOutScrapes() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            _ = try scrape(ns)
            // At rest: a baseline that counted the scrape's closing connection could never reach +1024.
            let baseline = daemon.openFilesAtRest()
            let flood = IdleFlood(in: ns, port: 24519, count: 1500)
            flood.start()
            defer { flood.stop() }
            try waitUntil("the daemon to hold 1024 connections", timeout: 60) {
                if let e = flood.error { throw FloodFailed(reason: e) }
                return daemon.openFiles >= baseline + 1024
            }
            var results: [String] = []
            var last = ""
            for _ in 0..<20 {
                do {
                    let r = try scrape(ns)
                    results.append(r.status == 200 && r.text.contains("backlogd_build_info") ? "ok" : "status \(r.status)")
                    last = r.text
                } catch {
                    results.append("\(error)")
                }
            }
            #expect(results == Array(repeating: "ok", count: 20), "\(results)")
            #expect(flood.error == nil)
            #expect(flood.reopened > 0, "the daemon closed no idle connection")
            let open = MetricsText.value(last, "backlogd_http_connections_open", [:]) ?? -1
            #expect(open >= 1 && open <= 1024, "open connections: \(open)")
            #expect((MetricsText.value(last, "backlogd_http_connections_evicted_total", [:]) ?? 0) > 0)
            #expect(MetricsText.value(last, "backlogd_http_connections_refused_total", [:]) != nil)
        }
    }

    /// Under a 64-fd limit with 80 clients the event loop used to retry a failing
    /// accept() at 100 % CPU. Now the fd budget keeps a reserve (idle clients are
    /// evicted or refused before fds run out) and a failing accept pauses.
    @Test func fdExhaustionDoesNotSpinTheEventLoop() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, wrapper: ["prlimit", "--nofile=64:64"])
            defer { daemon.stop() }
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter { for _ in 0..<80 { _ = try HTTPProbe.connect("127.0.0.1", 24519, bag: bag) } }
            Thread.sleep(forTimeInterval: 1)
            let before = try ThreadCPU.seconds(pid: daemon.pid, threadPrefix: "NIO-ELT")
            let start = Date()
            Thread.sleep(forTimeInterval: 5)
            let used = try ThreadCPU.seconds(pid: daemon.pid, threadPrefix: "NIO-ELT") - before
            let wall = Date().timeIntervalSince(start)
            #expect(used < wall / 2, "the event loop used \(used) s of CPU in \(wall) s")

            bag.closeAll()
            var text = ""
            try waitUntil("a scrape to work again") {
                text = (try? scrape(ns).text) ?? ""
                return text.contains("backlogd_build_info")
            }
            for source in ["tcp", "unix", "netstat", "sysctl"] {
                #expect(MetricsText.value(text, "backlogd_source_up", ["netns": "host", "source": source]) == 1, "source \(source)")
            }
            #expect(daemon.poll() == nil, "the daemon exited: \(daemon.log)")
        }
    }
}

struct FloodFailed: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the idle flood failed: \(reason)" }
}

/// CPU time of a process's threads, from /proc/<pid>/task/*/stat.
enum ThreadCPU {
    /// utime + stime of the threads whose name starts with `threadPrefix`, in seconds.
    static func seconds(pid: pid_t, threadPrefix: String) throws -> Double {
        let dir = "/proc/\(pid)/task"
        var ticks = 0
        var found = 0
        for tid in try FileManager.default.contentsOfDirectory(atPath: dir) {
            guard let stat = try? String(contentsOfFile: "\(dir)/\(tid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            guard stat[stat.index(after: open)..<close].hasPrefix(threadPrefix) else { continue }
            // Fields after "(comm) ": state is field 3, utime 14, stime 15.
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            guard fields.count > 12, let u = Int(fields[11]), let s = Int(fields[12]) else { continue }
            ticks += u + s
            found += 1
        }
        guard found > 0 else { throw NoSuchThread(prefix: threadPrefix, pid: pid) }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

struct NoSuchThread: Error, CustomStringConvertible {
    var prefix: String
    var pid: pid_t
    var description: String { "no thread named \(prefix)* in pid \(pid)" }
}
