import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Result of running a command to completion.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct CommandFailed: Error, CustomStringConvertible {
    var command: [String]
    var result: CommandResult
    var description: String { "\(command.joined(separator: " ")) exited \(result.status): \(result.stderr)" }
}

/// Runs a command and waits for it, at most `timeout` seconds (then it is
/// killed and the call throws), so a stuck child cannot hang the suite.
/// posix_spawn + waitpid rather than Foundation's Process, whose waitUntilExit
/// can deadlock off the main thread under load. Output goes to temporary
/// files, so a chatty child cannot block on a full pipe.
@discardableResult
func run(_ args: [String], check: Bool = true, timeout: Double = 120) throws -> CommandResult {
    let dir = FileManager.default.temporaryDirectory.path
    let out = "\(dir)/bd-out-\(UUID().uuidString)"
    let err = "\(dir)/bd-err-\(UUID().uuidString)"
    defer {
        unlink(out)
        unlink(err)
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
    let cArgs = args.map { strdup($0) } + [nil]
    let cEnv = env.map { strdup($0) } + [nil]
    defer {
        cArgs.forEach { free($0) }
        cEnv.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = withCleanSignals { posix_spawnp(&pid, args[0], &actions, $0, cArgs, cEnv) }
    guard rc == 0 else {
        errno = rc
        throw POSIXFailure("spawn \(args[0])")
    }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0 && errno != EINTR { throw POSIXFailure("waitpid") }
        if Date() > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            throw TimedOut(what: args.joined(separator: " "))
        }
        usleep(5_000)
    }
    // WIFEXITED / WEXITSTATUS; a signal death reads as 128 + signal, as shells do.
    let exitCode = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    let result = CommandResult(
        status: exitCode,
        stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    if check && result.status != 0 { throw CommandFailed(command: args, result: result) }
    return result
}

/// The backlogd executable built next to this test bundle (or $BACKLOGD_BIN).
func backlogdPath() -> String {
    if let p = ProcessInfo.processInfo.environment["BACKLOGD_BIN"] { return p }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // The test runner is .build/<triple>/debug/<Package>PackageTests.xctest
    while dir.path != "/" && !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("backlogd").path) {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("backlogd").path
}

/// Polls `condition` until it holds; fails after `timeout` seconds with `what`.
func waitUntil(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return }
        if Date() > deadline { throw TimedOut(what: what) }
        Thread.sleep(forTimeInterval: 0.1)
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}
