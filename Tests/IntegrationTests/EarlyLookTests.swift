import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A server that stops calling accept() is reported within seconds, not at the
/// next deep tick: its queue holds connections and does not shrink, which the
/// fast tick sees, and that buys an early deep look at its port.
@Suite struct EarlyLookTests {
    /// The deep tick is held to once a minute; the first one runs at start, before
    /// any client. The server first runs healthy under traffic that keeps one
    /// connection in its queue (which spends an episode's two early looks: they see
    /// progress), then stops calling accept() while clients keep coming. Only early
    /// looks can report not_accepting within the deadline.
    @Test func aHungServerIsReportedLongBeforeTheNextDeepTick() throws {
        try withNamespace { ns in
            let port: UInt16 = 7501
            let hangFile = temporaryPath("hang")
            defer { unlink(hangFile) }
            let server = try BackgroundProcess(["python3", "-c", """
                import os, socket, time
                l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                l.bind(("127.0.0.1", \(port))); l.listen(128); l.setblocking(False); print("ready", flush=True)
                clients = []
                while True:
                    hung = os.path.exists("\(hangFile)")
                    c = socket.socket(); c.setblocking(False)
                    try: c.connect(("127.0.0.1", \(port)))
                    except BlockingIOError: pass
                    clients.append(c)
                    time.sleep(0.1)
                    if hung: continue
                    try:
                        while True: l.accept()[0].close()
                    except BlockingIOError: pass
                    for c in clients: c.close()
                    clients = []
                """], in: ns)
            defer { server.stop() }
            try waitUntil("the server") { server.log.contains("ready") }
            let daemon = try startDaemon(in: ns, ["--deep-min-interval", "60s"])
            defer { daemon.stop() }
            // The first deep tick has run once /metrics shows its interval; the time of that
            // full look stays on /metrics until the next one (early looks keep it).
            var text = ""
            try waitUntil("the first deep tick") {
                text = try scrape(ns).text
                return text.contains("backlogd_deep_interval_seconds{netns=\"host\"} 60") && collectedAt(text, source: "connections") != nil
            }
            let firstDeepTick = collectedAt(text, source: "connections")
            // Healthy traffic long enough to spend an episode's early looks (there is no count of
            // them to wait for); if a loaded machine spends fewer, the hang is only found sooner.
            Thread.sleep(forTimeInterval: 8)
            #expect(MetricsText.value(try scrape(ns).text, "backlogd_finding", ["port": "\(port)", "kind": "not_accepting"]) == nil,
                    "healthy so far")
            let hung = Date()
            _ = FileManager.default.createFile(atPath: hangFile, contents: nil)
            // The deadline is the next deep tick (a minute after the first), not this clock.
            func notAccepting(_ text: String) -> Bool {
                MetricsText.value(text, "backlogd_finding", ["port": "\(port)", "kind": "not_accepting"]) == 1
            }
            try waitUntil("not_accepting or the next deep tick on /metrics", timeout: 120) {
                text = try scrape(ns).text
                return notAccepting(text) || collectedAt(text, source: "connections") != firstDeepTick
            }
            #expect(notAccepting(text) && collectedAt(text, source: "connections") == firstDeepTick,
                    "not_accepting before the next deep tick, by an early look")
            print("not_accepting \(String(format: "%.1f", Date().timeIntervalSince(hung))) s after the server hung")
            #expect(text.contains("backlogd_deep_interval_seconds{netns=\"host\"} 60"), "still paced to a minute")
        }
    }

    /// A busy server that keeps a non-empty queue (it accepts one connection every
    /// 2 s while another arrives, so the looks see progress) gets two early looks,
    /// then none until its queue has been empty or grows past where it was at those
    /// looks; the looks are at least 2 s apart. One whose queue does not move gets a
    /// look every 2 s until its hang clock can reach hung_after, then none.
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
            // As for a healthy server: not_accepting is never raised here (it would end the looks).
            var patient = Thresholds()
            patient.notAcceptingAfter = 1e9
            let settings = CollectorSettings(thresholds: patient)
            // Ticks on a simulated clock, 250 ms apart; the early look a tick starts runs before the next.
            func ticks(_ range: Range<Int>, churn: Bool = true) throws -> [Int] {
                try BlockingWait.run {
                    var looks: [Int] = []
                    for i in range {
                        if churn && i % 8 == 4 {
                            // One accepted and closed, one more in line: the queue moves and stays as long.
                            try? ns.enter {
                                close(accept(listener.fd, nil, nil))
                                _ = try Clients.connect(1, port: listener.port, bag: bag)
                            }
                        }
                        let before = await collector.earlyLooks
                        _ = await collector.tick(now: Double(i) * 0.25, settings: settings, peakWindow: 15, maxStep: 1,
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
            // It grows past the 3 it held at those looks: new evidence, a new episode.
            _ = try ns.enter { try Clients.connect(1, port: listener.port, bag: bag) }
            let grown = try ticks(80..<120)
            #expect(grown.count == 2, "\(grown)")
            // The queue empties (the server accepts): a new episode may look again.
            try ns.enter {
                for _ in 0..<4 { close(accept(listener.fd, nil, nil)) }
            }
            _ = try ticks(120..<122)
            _ = try ns.enter { try Clients.connect(2, port: listener.port, bag: bag) }
            let second = try ticks(122..<160)
            #expect(second.count == 2, "\(second)")
            #expect(gate.spent() > 0, "their CPU is counted against the deep budget")
            // The queue stops moving: looks every 2 s while the looks cannot decide, at most
            // 2 + hung_after / 2 s + 1 in the episode (then the hang clock has reached hung_after).
            _ = try ns.enter { try Clients.connect(2, port: listener.port, bag: bag) }
            let stuck = try ticks(160..<280, churn: false)
            let most = NamespaceCollector.earlyLooksPerEpisode + Int((patient.hungAfter / NamespaceCollector.earlyLookSpacing).rounded(.up)) + 1
            #expect(stuck.count > 2 && stuck.count <= most, "\(stuck)")
            #expect(zip(stuck, stuck.dropFirst()).allSatisfy { $1 - $0 >= 8 }, "2 s apart: \(stuck)")
        }
    }
}
