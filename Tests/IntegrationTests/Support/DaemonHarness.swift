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
        try waitUntil("backlogd to serve /healthz") {
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
