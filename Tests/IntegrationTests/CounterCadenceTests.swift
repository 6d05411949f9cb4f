import BacklogCore
import Foundation
import Testing

/// The daemon's fast tick reads TcpExt every 4th tick when nothing is full (8 s
/// apart when paced to 2 s), and at once at a tick that sees a TCP listener
/// full, so that overflow growth is read while its listener is still full;
/// the sysctls every 40th tick.
@Suite struct CounterCadenceTests {
    struct Tick: Sendable {
        var overflows: UInt64?
        var readAt: Double?
        var full: Bool
    }

    @Test func countersAreReadEveryFourthPacedTickAndAtOnceWhenAListenerIsFull() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 4, bag: bag).port }
            let path = "/run/netns/\(ns.name)"
            let watched = WatchedNamespace(label: ns.name, inode: NetnsInode.of(path: path) ?? 0, path: path)
            let collector = try NamespaceCollector(watched)
            let tick = { @Sendable (now: Double) throws -> Tick in
                try BlockingWait.run {
                    let (s, _) = await collector.tick(now: now, settings: CollectorSettings(), peakWindow: 15, maxStep: 8,
                                                      owners: nil, deepInterval: nil, fastInterval: 2)
                    return Tick(overflows: s.counter(.listenOverflows),
                                readAt: s.sources.first { $0.name == "netstat" }?.lastSuccess,
                                full: s.listeners.first { $0.port == port }?.isFull ?? false)
                }
            }
            let first = try tick(0)
            #expect(first.overflows == 0 && first.readAt != nil && !first.full)
            // Quiet ticks 2 s apart: the counters are not read again before 8 s.
            for now in [2.0, 4, 6] {
                #expect(try tick(now).readAt == first.readAt, "read again at \(now) s")
            }

            // Fill the queue (10 connects to backlog 4): SYNs are dropped and counted.
            try ns.enter { for _ in 0..<10 { _ = try TestSockets.connectTCP("127.0.0.1", port: port, bag: bag) } }
            try waitUntil("the accept queue to be full") {
                SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).first { $0.port == port }?.recvQ == 5
            }
            try waitUntil("ListenOverflows to grow") {
                (try NetstatParser.parse(ns.exec(["cat", "/proc/net/netstat"]).stdout)
                    .value(section: "TcpExt", field: "ListenOverflows") ?? 0) > 0
            }
            // 6.5 s: not due, but the listener is full: read now, growth and all.
            let full = try tick(6.5)
            #expect(full.full)
            #expect(full.readAt != first.readAt)
            #expect((full.overflows ?? 0) > 0)
            // Still full at the next tick: read again.
            let still = try tick(7)
            #expect(still.full && still.readAt != full.readAt)

            // Empty again: back to the slow cadence (8 s from the last read at 7 s).
            bag.closeAll()
            try waitUntil("the listener to be gone") { try tick(9).full == false }
            let quiet = try tick(10)
            #expect(try tick(14).readAt == quiet.readAt)
            #expect(try tick(15.5).readAt != quiet.readAt)
        }
    }

    /// Sysctls every 40 ticks, at least every 10 s: 10 s at 250 ms, 80 s when paced to 2 s.
    @Test func sysctlsAreReadEveryFortiethPacedTick() throws {
        try withNamespace { ns in
            let path = "/run/netns/\(ns.name)"
            let watched = WatchedNamespace(label: ns.name, inode: NetnsInode.of(path: path) ?? 0, path: path)
            let collector = try NamespaceCollector(watched)
            let readAt = { @Sendable (now: Double, interval: Double) throws -> Double? in
                try BlockingWait.run {
                    let (s, _) = await collector.tick(now: now, settings: CollectorSettings(), peakWindow: 15, maxStep: 8,
                                                      owners: nil, deepInterval: nil, fastInterval: interval)
                    return s.sources.first { $0.name == "sysctl" }?.lastSuccess
                }
            }
            let first = try readAt(0, 2)
            #expect(first != nil)
            for now in [2.0, 10, 40, 79] {
                #expect(try readAt(now, 2) == first, "read again at \(now) s")
            }
            let second = try readAt(80.5, 2)
            #expect(second != first)
            // Back at 250 ms: every 10 s.
            #expect(try readAt(89, 0.25) == second)
            #expect(try readAt(91, 0.25) != second)
        }
    }
}
