import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A namespace of the benchmark's own, filled with `connections` established
/// loopback connections (two sockets each), spread over holder processes of at
/// most `perHolder` connections (a process may hold 20 000 fds here); the first
/// holder also makes a full accept queue and TCP_DEFER_ACCEPT SYN-RECV entries.
/// `close()` kills every process it started and deletes the namespace.
final class Workload {
    let namespace: String
    let connections: Int
    private(set) var processes: [Spawned] = []
    private(set) var ports: [UInt16] = []

    init(connections: Int, perHolder: Int, tag: String) throws {
        namespace = "bd-bench-\(getpid())-\(tag)"
        self.connections = connections
        try command(["ip", "netns", "add", namespace])
        do {
            try command(["ip", "-n", namespace, "link", "set", "lo", "up"])
            // Listeners at 20000+, clients from 30000 up: an ephemeral port never takes a listener's.
            try command(["ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.ip_local_port_range=30000 65000"])
            var remaining = connections
            var port: UInt16 = 20000
            var first = true
            while remaining > 0 || first {
                let n = min(perHolder, remaining)
                var args = ["ip", "netns", "exec", namespace, sibling("backlogd-bench"), "hold", "--port", "\(port)", "--count", "\(n)"]
                if first { args.append("--stuck") }
                let p = try Spawned(args)
                processes.append(p)
                try p.waitFor("ready", timeout: 300)
                ports.append(port)
                if first { ports += [port + 1, port + 2] }
                remaining -= n
                port += 10
                first = false
            }
        } catch {
            close()
            throw error
        }
    }

    /// Starts a long-running process in the namespace; it is killed by `close()`.
    func start(_ args: [String]) throws -> Spawned {
        let p = try Spawned(["ip", "netns", "exec", namespace] + args)
        processes.append(p)
        return p
    }

    func exec(_ args: [String]) throws -> String {
        try command(["ip", "netns", "exec", namespace] + args)
    }

    /// Sockets in the namespace, as `ss -s` counts TCP ones.
    var tcpSockets: Int {
        let out = (try? exec(["ss", "-tanH"])) ?? ""
        return out.split(separator: "\n").count
    }

    func close() {
        for p in processes.reversed() { p.stop() }
        processes.removeAll()
        _ = try? command(["ip", "netns", "delete", namespace])
    }

    /// Namespaces left by a benchmark that died (its pid is gone).
    /// Whether `tool` is on PATH (an optional peer such as gdb).
    static func onPath(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            access("\($0)/\(tool)", X_OK) == 0
        }
    }

    static func sweep() {
        let list = (try? command(["ip", "netns", "list"])) ?? ""
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard name.hasPrefix("bd-bench-"), parts.count >= 3, let pid = Int32(parts[2]),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            _ = try? command(["ip", "netns", "delete", name])
        }
    }
}
