import BacklogCore
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A server that stops calling accept() is reported within seconds, not at the
/// next deep tick: its queue holds connections and does not shrink, which the
/// fast tick sees, and that buys an early deep look at its port.
@Suite struct EarlyLookTests {
    /// The deep tick is held to once a minute; the first one runs at start, before
    /// any client. Only early looks can report not_accepting within the deadline.
    @Test func aHungServerIsReportedLongBeforeTheNextDeepTick() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 128, bag: bag).port }
            let daemon = try startDaemon(in: ns, ["--deep-min-interval", "60s"])
            defer { daemon.stop() }
            // The first deep tick has run once /metrics shows its interval.
            try waitUntil("the first deep tick") { try scrape(ns).text.contains("backlogd_deep_interval_seconds{netns=\"host\"} 60") }
            let hung = Date()
            let stop = Mutex(false)
            let clients = Thread {
                // A client every 200 ms, as traffic keeps coming to a hung server.
                while !stop.withLock({ $0 }) {
                    _ = try? ns.enter { try TestSockets.connectTCP("127.0.0.1", port: port, bag: bag) }
                    Thread.sleep(forTimeInterval: 0.2)
                }
            }
            clients.start()
            defer { stop.withLock { $0 = true } }
            try waitUntil("not_accepting on /metrics", timeout: 30) {
                MetricsText.value(try scrape(ns).text, "backlogd_finding", ["port": "\(port)", "kind": "not_accepting"]) == 1
            }
            print("not_accepting \(String(format: "%.1f", Date().timeIntervalSince(hung))) s after the clients started")
            #expect(try scrape(ns).text.contains("backlogd_deep_interval_seconds{netns=\"host\"} 60"), "still paced to a minute")
        }
    }

    /// A busy server that keeps a non-empty queue gets two early looks, then none
    /// until its queue has been empty; the looks are at least 2 s apart.
    @Test func earlyLooksStayRare() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let listener = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 16, bag: bag) }
            _ = try ns.enter { try Clients.connect(3, port: listener.port, bag: bag) }
            let path = "/run/netns/\(ns.name)"
            let wns = WatchedNamespace(label: "host", inode: NetnsInode.of(path: path) ?? 0, path: path)
            let collector = try NamespaceCollector(wns)
            let gate = EarlyLookGate()
            // Ticks on a simulated clock, 250 ms apart; the early look a tick starts runs before the next.
            func ticks(_ range: Range<Int>) throws -> [Int] {
                try BlockingWait.run {
                    var looks: [Int] = []
                    for i in range {
                        let before = await collector.earlyLooks
                        _ = await collector.tick(now: Double(i) * 0.25, settings: CollectorSettings(), peakWindow: 15, maxStep: 1,
                                                 owners: nil, deepInterval: 60, fastInterval: 0.25, earlyLooks: gate)
                        try? await Task.sleep(for: .milliseconds(20))
                        if await collector.earlyLooks > before { looks.append(i) }
                    }
                    return looks
                }
            }
            let first = try ticks(0..<80)
            #expect(first.count == 2, "two looks in 20 s of a steady queue: at ticks \(first)")
            if first.count == 2 { #expect(first[1] - first[0] >= 8, "2 s apart: \(first)") }
            // The queue empties (the server accepts): a new episode may look again.
            try ns.enter {
                for _ in 0..<3 { close(accept(listener.fd, nil, nil)) }
            }
            _ = try ticks(80..<82)
            _ = try ns.enter { try Clients.connect(2, port: listener.port, bag: bag) }
            let second = try ticks(82..<120)
            #expect(second.count == 2, "\(second)")
            #expect(gate.spent(now: 30) > 0, "their CPU is counted against the deep budget")
        }
    }
}
