import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The listener axis's namespaces: `listeners` listeners spread evenly over
/// `namespaces` namespaces of the benchmark's own (bd-bench-PID-lI), mixed
/// IPv4/IPv6, one in 10 (either family) with 2 connections waiting unaccepted, held by child
/// processes of at most `perHolder` listeners each. `close()` kills every
/// process it started and deletes every namespace it made, however it got there.
final class ListenerWorkload {
    static let pendingEvery = 10
    static let pendingPerListener = 2
    static let firstPort: UInt16 = 20000

    let namespaces: [String]
    let listeners: Int
    private(set) var made: [String] = []
    private(set) var processes: [Spawned] = []
    private(set) var pending = 0

    /// The pattern naming this run's namespaces (for the daemon's namespaces.include).
    static var pattern: String { "bd-bench-\(getpid())-l*" }

    init(listeners: Int, namespaces count: Int, perHolder: Int) throws {
        guard count >= 1, listeners >= count else { throw BenchError("--listeners must be at least --namespaces (≥ 1)") }
        guard listeners / count <= 30000 else { throw BenchError("at most 30 000 listeners per namespace (ports 20000-49999)") }
        namespaces = (0..<count).map { "bd-bench-\(getpid())-l\($0)" }
        self.listeners = listeners
        do {
            var holders: [Spawned] = []
            for (i, ns) in namespaces.enumerated() {
                try command(["ip", "netns", "add", ns])
                made.append(ns)
                try command(["ip", "-n", ns, "link", "set", "lo", "up"])
                // Listeners from 20000, clients from 50000 up: an ephemeral port never takes a listener's.
                try command(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_local_port_range=50000 65000"])
                // An even spread: the first (listeners % count) namespaces get one more.
                var mine = listeners / count + (i < listeners % count ? 1 : 0)
                var port = Self.firstPort
                while mine > 0 {
                    let n = min(perHolder, mine)
                    let p = try start(in: ns, [sibling("backlogd-bench"), "hold-listeners", "--port", "\(port)", "--count", "\(n)",
                                               "--pending-every", "\(Self.pendingEvery)", "--pending", "\(Self.pendingPerListener)"])
                    holders.append(p)
                    mine -= n
                    port += UInt16(n)
                }
            }
            for h in holders {
                try h.waitFor("pending", timeout: 300)
                let words = h.text.split(whereSeparator: \.isWhitespace)
                if let i = words.firstIndex(of: "pending"), i > 0 { pending += Int(words[i - 1]) ?? 0 }
            }
        } catch {
            close()
            throw error
        }
    }

    /// Starts a long-running process in a namespace; it is killed by `close()`.
    func start(in namespace: String, _ args: [String]) throws -> Spawned {
        let p = try Spawned(["ip", "netns", "exec", namespace] + args)
        processes.append(p)
        return p
    }

    func exec(in namespace: String, _ args: [String]) throws -> String {
        try command(["ip", "netns", "exec", namespace] + args)
    }

    func close() {
        for p in processes.reversed() { p.stop() }
        processes.removeAll()
        for ns in made.reversed() { _ = try? command(["ip", "netns", "delete", ns]) }
        made.removeAll()
    }
}
