import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A backlogd daemon (or any long-running command) started by a test inside a
/// namespace, with its stderr in a file. `stop()` ends it by PID; always call it
/// (defer), so a failing test leaves no process behind.
final class BackgroundProcess: @unchecked Sendable {
    let pid: pid_t
    let logPath: String
    private var exitStatus: Int32?

    /// Starts `args` (inside `ns` when given) with extra environment variables.
    init(_ args: [String], in ns: NetNamespace? = nil, environment: [String: String] = [:]) throws {
        let full = (ns.map { ["ip", "netns", "exec", $0.name] } ?? []) + args
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("bd-log-\(UUID().uuidString)").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArgs = full.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = withCleanSignals { posix_spawnp(&pid, full[0], &actions, $0, cArgs, cEnv) }
        guard rc == 0 else {
            errno = rc
            throw POSIXFailure("spawn \(full[0])")
        }
        self.pid = pid
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) {
        if exitStatus == nil { kill(pid, sig) }
    }

    /// Exit status once it has exited (128 + signal for a signal death), else nil.
    func poll() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return exitStatus
    }

    /// Waits up to `timeout` seconds for it to exit.
    func wait(timeout: Double = 30) throws -> Int32 {
        var status: Int32?
        try waitUntil("pid \(pid) to exit", timeout: timeout) {
            status = poll()
            return status != nil
        }
        return status!
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace` seconds; removes the log.
    func stop(grace: Double = 10) {
        if poll() == nil {
            signal(SIGTERM)
            if (try? wait(timeout: grace)) == nil {
                kill(pid, SIGKILL)
                _ = try? wait(timeout: 10)
            }
        }
        unlink(logPath)
    }

    /// Resident memory (VmRSS) in KiB.
    var residentKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Open file descriptors of the process.
    var openFiles: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// Open file descriptors at rest, for a baseline: the fewest of 20 looks 0.1 s apart.
    /// A scrape's connection still closing, or a /proc scan or file read under way, holds
    /// one for a moment; a baseline taken in such a moment would never be seen again.
    func openFilesAtRest() -> Int {
        var fewest = openFiles
        for _ in 1..<20 {
            Thread.sleep(forTimeInterval: 0.1)
            fewest = min(fewest, openFiles)
        }
        return fewest
    }
}
