import BacklogCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts `backlogd` (the daemon) inside a test namespace on 127.0.0.1:`port`
/// and waits until /healthz answers 200. The namespace makes the fixed port safe.
/// `wrapper` runs it (`prlimit --nofile=64:64`); it must exec, so the pid stays the daemon's.
/// `ready`: headers the /healthz check sends (credentials when the daemon asks for them);
/// `readyCheck`: another check instead (one over TLS).
func startDaemon(in ns: NetNamespace, port: UInt16 = 24519, _ args: [String] = [],
                 environment: [String: String] = [:], wrapper: [String] = [], ready: [String: String] = [:],
                 readyCheck: ((NetNamespace) -> Bool)? = nil) throws -> BackgroundProcess {
    let listenArgs = args.contains("--config") ? [] : ["--listen", "127.0.0.1:\(port)"]
    let daemon = try BackgroundProcess(wrapper + [backlogdPath()] + listenArgs + args, in: ns, environment: environment)
    do {
        // Its first collection comes before it serves: slow in a debug build on a loaded machine.
        try waitUntil("backlogd to serve /healthz", timeout: 60) {
            if let status = daemon.poll() { throw DaemonExited(status: status, log: daemon.log) }
            if let readyCheck { return readyCheck(ns) }
            return (try? ns.enter { try HTTPProbe.request("127.0.0.1", port, path: "/healthz", headers: ready).status }) == 200
        }
    } catch {
        daemon.stop()
        throw error
    }
    return daemon
}

/// The daemon logs its start-up line just after it starts listening, so /healthz can
/// answer first: a test that reads the line waits for it (default log level).
func waitForStartupLine(_ daemon: BackgroundProcess) throws {
    try waitUntil("the start-up line in the log") {
        if let status = daemon.poll() { throw DaemonExited(status: status, log: daemon.log) }
        return daemon.log.contains("backlogd \(BacklogdVersion.current) started")
    }
}

/// When the daemon last finished collecting `source` in `netns`, from /metrics text:
/// `tcp` for a fast tick, `connections` for a full deep look (an early look keeps the
/// last full one's time).
func collectedAt(_ text: String, source: String, netns: String = "host") -> Double? {
    MetricsText.value(text, "backlogd_collect_last_success_timestamp_seconds", ["netns": netns, "source": source])
}

/// Waits until the daemon has finished `count` more collections of `source` than when
/// called (see collectedAt), so that a test waits for the daemon's ticks, which a loaded
/// machine delays, rather than for this clock. `fetch` gives /metrics (nil when it could
/// not be read); returns the last text it gave.
@discardableResult
func waitForCollections(_ count: Int, of source: String, timeout: Double = 60,
                        fetch: () throws -> String?) throws -> String {
    var text = try fetch() ?? ""
    var last = collectedAt(text, source: source)
    var seen = 0
    try waitUntil("\(count) more collections of \(source)", timeout: timeout) {
        text = try fetch() ?? ""
        guard let t = collectedAt(text, source: source), t != last else { return false }
        last = t
        seen += 1
        return seen >= count
    }
    return text
}

/// The same for the daemon on 127.0.0.1:24519 in `ns`.
@discardableResult
func waitForCollections(_ count: Int, of source: String, in ns: NetNamespace, timeout: Double = 60) throws -> String {
    try waitForCollections(count, of: source, timeout: timeout) { try? scrape(ns).text }
}

struct DaemonExited: Error, CustomStringConvertible {
    var status: Int32
    var log: String
    var description: String { "backlogd exited \(status): \(log)" }
}

/// GET on a thread inside `ns`.
func scrape(_ ns: NetNamespace, _ path: String = "/metrics", port: UInt16 = 24519,
            headers: [String: String] = [:]) throws -> HTTPReply {
    try ns.enter { try HTTPProbe.request("127.0.0.1", port, path: path, headers: headers) }
}

func temporaryPath(_ stem: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("bd-\(stem)-\(UUID().uuidString)").path
}
