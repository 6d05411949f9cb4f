import CSockDiag
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace of the test's own, with loopback up; removed by `remove()`.
/// Names are unique per process and call, so tests can run in parallel.
final class NetNamespace: @unchecked Sendable {
    let name: String

    /// `tag` (letters) ends the name, so a test can pick out its own with a pattern.
    init(tag: String = "") throws {
        try requireRootImpl()
        Self.sweepOnce
        name = "bd-test-\(getpid())-\(nextUniqueNumber())\(tag)"
        try run(["ip", "netns", "add", name])
        do {
            try run(["ip", "-n", name, "link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    /// Namespaces left by an earlier test process that died (its pid is gone).
    private static let sweepOnce: Void = {
        guard let list = try? run(["ip", "netns", "list"], check: false) else { return }
        for line in list.stdout.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, name.hasPrefix("bd-test-"), let pid = Int32(parts[2]),
                  pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            _ = try? run(["ip", "netns", "delete", name], check: false)
        }
    }()

    func remove() {
        _ = try? run(["ip", "netns", "delete", name], check: false)
    }

    /// Runs `body` on a fresh thread that has joined this namespace: sockets it
    /// creates live in the namespace, and so does a Collector it builds.
    func enter<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try enterNetns(path: "/run/netns/\(name)", body)
    }

    /// `ip netns exec NAME args…`
    @discardableResult
    func exec(_ args: [String], check: Bool = true) throws -> CommandResult {
        try run(["ip", "netns", "exec", name] + args, check: check)
    }
}

/// Runs `body` on a fresh thread that joined the namespace at `path` (/run/netns/NAME, /proc/PID/ns/net).
func enterNetns<T: Sendable>(path: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw POSIXFailure("open \(path)") }
    defer { close(fd) }
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        // Only this thread moves; it ends after the body.
        let rc = bd_enter_netns(fd)
        if rc != 0 {
            errno = -rc
            box.result = .failure(POSIXFailure("setns"))
        } else {
            box.result = Result { try body() }
        }
        done.signal()
    }
    thread.start()
    done.wait()
    return try box.result!.get()
}

/// Runs body with a new namespace and always removes it.
func withNamespace<T>(_ body: (NetNamespace) throws -> T) throws -> T {
    let ns = try NetNamespace()
    defer { ns.remove() }
    return try body(ns)
}

private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}


struct POSIXFailure: Error, CustomStringConvertible {
    var what: String
    var code: Int32
    init(_ what: String) {
        self.what = what
        self.code = errno
    }
    var description: String { "\(what): \(String(cString: strerror(code)))" }
}

struct NotRoot: Error, CustomStringConvertible {
    var description: String { "integration tests need root (network namespaces); run them with sudo, as CI does" }
}

/// These tests must not skip silently: without root they fail with a reason.
func requireRootImpl() throws {
    if getuid() != 0 { throw NotRoot() }
}
