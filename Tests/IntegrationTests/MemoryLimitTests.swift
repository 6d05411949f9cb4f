import BacklogCore
import BacklogDaemon
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Under an address-space limit (`ulimit -v`) backlogd either runs or says at
/// start that the limit is too small: never a crash (139 was seen at 90–120 MB
/// with --once over 24 namespaces), never a hang. These set ulimit, so they
/// cannot run under sanitizers (which reserve terabytes of address space).
@Suite(.serialized) struct MemoryLimitTests {
    static let others = 24

    /// A home namespace for backlogd plus 24 of the test's own, each with a listener.
    static func withNamespaces(_ body: (NetNamespace, String) throws -> Void) throws {
        try withNamespace { home in
            let tag = "mem\(UInt32.random(in: 0...UInt32.max))".filter(\.isLetter) + "x"
            var named: [NetNamespace] = []
            defer { named.forEach { $0.remove() } }
            let bag = SocketBag()
            defer { bag.closeAll() }
            for _ in 0..<others {
                let ns = try NetNamespace(tag: tag)
                named.append(ns)
                _ = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            }
            try body(home, tag)
        }
    }

    static func limited(_ kib: Int, _ args: [String]) -> [String] {
        ["sh", "-c", "ulimit -v \(kib) && exec \"$0\" \"$@\"", backlogdPath()] + args
    }

    /// Checked first before anything else (own namespace only), then once the namespaces are counted.
    static func message(_ kib: Int, daemon: Bool) -> String {
        let base = AddressSpaceMinimum.kiB(daemon: daemon, otherNamespaces: 0)
        let need = AddressSpaceMinimum.kiB(daemon: daemon, otherNamespaces: others)
        let what = kib < base ? "\(base) KiB" : "\(need) KiB for \(daemon ? "watching" : "sampling") \(others + 1) network namespaces"
        return "backlogd: the address-space limit (ulimit -v, RLIMIT_AS) is \(kib) KiB; backlogd needs at least \(what): raise or remove the limit\n"
    }

    @Test func onceRefusesTooSmallALimitAndRunsAboveIt() throws {
        try Self.withNamespaces { home, tag in
            let args = ["--once", "--all-namespaces", "--include-netns", "*\(tag)", "--window", "0"]
            let need = AddressSpaceMinimum.kiB(daemon: false, otherNamespaces: Self.others)
            for kib in [100_000, 120_000, need - 8192] {
                let r = try home.exec(Self.limited(kib, args), check: false)
                #expect(r.status == 3, "ulimit -v \(kib): exit \(r.status) \(r.stderr.prefix(400))")
                #expect(r.stderr == Self.message(kib, daemon: false), "\(r.stderr.prefix(400))")
            }
            for _ in 0..<3 {
                let r = try home.exec(Self.limited(need + 16384, args), check: false)
                #expect(r.status == 0, "exit \(r.status) \(r.stderr.prefix(400))")
                #expect(r.stdout.components(separatedBy: "backlogd \(BacklogdVersion.current): netns ").count - 1 == Self.others + 1, "\(r.stdout.prefix(400))")
            }
        }
    }

    @Test func daemonRefusesTooSmallALimitAndRunsAboveIt() throws {
        try Self.withNamespaces { home, tag in
            let args = ["--all-namespaces", "--include-netns", "*\(tag)", "--listen", "127.0.0.1:24519", "--deep-min-interval", "200ms"]
            let need = AddressSpaceMinimum.kiB(daemon: true, otherNamespaces: Self.others)
            for kib in [150_000, need - 8192] {
                let daemon = try BackgroundProcess(Self.limited(kib, args), in: home)
                defer { daemon.stop() }
                #expect(try daemon.wait(timeout: 30) == 1, "ulimit -v \(kib): \(daemon.log.prefix(400))")
                #expect(daemon.log == Self.message(kib, daemon: true), "\(daemon.log.prefix(400))")
            }
            let daemon = try BackgroundProcess(Self.limited(need + 16384, args), in: home)
            defer { daemon.stop() }
            try waitUntil("every namespace watched", timeout: 60) {
                if let status = daemon.poll() { throw DaemonExited(status: status, log: daemon.log) }
                guard let text = try? scrape(home).text else { return false }
                return text.split(separator: "\n").filter { $0.hasPrefix("backlogd_source_up{") && $0.hasSuffix("source=\"tcp\"} 1") }.count == Self.others + 1
            }
            // A few deep ticks (paced by its CPU budget: slower on a loaded machine) over them all.
            try waitForCollections(3, of: "connections", in: home, timeout: 90)
            #expect(daemon.poll() == nil, "\(daemon.log.prefix(400))")
            daemon.signal(SIGTERM)
            #expect(try daemon.wait(timeout: 20) == 0, "\(daemon.log.prefix(400))")
        }
    }
}
