import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Child processes of the benchmark, each with its output in a file; every one
/// is killed (by PID) when the benchmark ends, however it ends.
final class Spawned: Sendable {
    let pid: pid_t
    let output: String

    init(_ args: [String]) throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("bd-bench-\(UUID().uuidString)").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let cArgs = args.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, args[0], &actions, nil, cArgs, environ)
        guard rc == 0 else { throw BenchError("cannot start \(args[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    var exited: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    func waitFor(_ marker: String, timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !text.contains(marker) {
            if exited { throw BenchError("\(pid) exited: \(text)") }
            if Date() > deadline { throw BenchError("timed out waiting for '\(marker)' from pid \(pid)") }
            usleep(50_000)
        }
    }

    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        unlink(output)
    }

    /// Waits for exit and returns the output (for short commands).
    func finish(timeout: Double = 600) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if Date() > deadline {
                stop()
                throw BenchError("pid \(pid) did not finish")
            }
            usleep(2_000)
        }
        defer { unlink(output) }
        guard status == 0 else { throw BenchError("pid \(pid) failed (\(status)): \(text)") }
        return text
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Runs a command to completion and returns its output.
@discardableResult
func command(_ args: [String]) throws -> String {
    try Spawned(args).finish()
}

/// Executables built next to this one.
func sibling(_ name: String) -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent(name).path
}
