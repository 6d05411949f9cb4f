import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The incidents backlogd is for, each made for real in its own namespace and
/// read back from the daemon (`/snapshot`, `/metrics`) or `--once`.
@Suite struct StuckConnectionScenarioTests {
    /// Deep ticks every 200 ms whatever they cost (a debug build on a busy runner is slow).
    static let fastDaemon = ["--interval", "100ms", "--deep-min-interval", "200ms", "--deep-cpu-budget", "1",
                             "--not-accepting-after", "1s"]

    func snapshot(_ ns: NetNamespace) throws -> OnceDocument {
        try OnceDocument.decode(try scrape(ns, "/snapshot").text)
    }

    /// nginx with its worker stopped: the kernel still completes handshakes and
    /// takes the requests; backlogd shows where they pile up and says why.
    @Test func hungNginxIsNotAccepting() throws {
        try withNamespace { ns in
            let port: UInt16 = 8080
            let nginx = try NginxServer(in: ns, port: port, backlog: 4)
            defer { nginx.stop() }
            let daemon = try startDaemon(in: ns, Self.fastDaemon)
            defer { daemon.stop() }
            let workers = nginx.workers
            try #require(workers.count == 1)
            kill(workers[0], SIGSTOP)

            let bag = SocketBag()
            defer { bag.closeAll() }
            // Three clients get in line as usual.
            let first = try ns.enter { try Clients.connect(3, port: port, bag: bag) }
            #expect(Clients.send(Clients.request, on: first) == 3)
            // Then a burst of five whose handshakes are pending together (their bare
            // ACKs held back by nftables; at most backlog+1 request sockets, so no
            // syncookies): their requests (data + ACK) complete them at once; two fit
            // in the queue, three find it full and are refused (overflowed).
            try ns.exec(["nft", "add table inet bdtest; add chain inet bdtest out { type filter hook output priority 0; }; add rule inet bdtest out tcp dport \(port) tcp flags == ack drop"])
            let burst = try ns.enter { try Clients.connect(5, port: port, bag: bag) }
            // All five pending before any request completes one (a full queue would drop later SYNs).
            try waitUntil("the five handshakes to complete on the clients' side") { Clients.connected(burst) }
            #expect(Clients.send(Clients.request, on: burst) == 5, "every client saw its handshake complete")
            try ns.exec(["nft", "delete table inet bdtest"])
            // Later clients find the queue full: their SYNs are dropped (ListenOverflows).
            _ = try ns.enter { try Clients.connect(4, port: port, bag: bag) }
            var doc = try snapshot(ns)
            try waitUntil("5 unaccepted connections with their request bytes") {
                doc = try snapshot(ns)
                let c = doc.listener(port: port)?.connections
                return doc.listener(port: port)?.queue.length == 5 && c?.unaccepted.count == 5
                    && c?.unaccepted_bytes == UInt64(5 * Clients.request.utf8.count)
            }
            let ss = SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).first { $0.port == port }
            #expect(ss?.recvQ == 5 && ss?.sendQ == 4)
            let firstAge = try #require(doc.listener(port: port)?.connections?.unaccepted.oldest_seconds)
            try waitUntil("the oldest unaccepted connection to age") {
                doc = try snapshot(ns)
                return (doc.listener(port: port)?.connections?.unaccepted.oldest_seconds ?? 0) > firstAge + 1
            }
            try waitUntil("ListenOverflows attributed to the listener and the not_accepting finding") {
                doc = try snapshot(ns)
                return (doc.listener(port: port)?.overflows_estimated ?? 0) > 0 && !doc.findings("not_accepting", port: port).isEmpty
            }
            #expect((doc.counters.first { $0.name == "ListenOverflows" }?.value ?? 0) > 0)
            let finding = try #require(doc.findings("not_accepting", port: port).first)
            #expect(finding.severity == "critical")
            // Named with its owner: nginx's master holds the listening socket (the lowest pid).
            #expect(finding.message.contains("127.0.0.1:\(port) (pid \(nginx.master.pid) nginx): 5 connections waiting for accept()"), "\(finding.message)")
            #expect(finding.message.contains("\(5 * Clients.request.utf8.count) request bytes unread"))
            // Hung, and why: the master idles, the only worker is stopped.
            #expect(finding.message.contains("— the process is idle and not calling accept() (no CPU, no connection open)")
                    && finding.message.contains("1 is stopped (SIGSTOP)"), "\(finding.message)")
            // Request sockets left behind by the full queue are overflow victims, not a SYN flood.
            let syn = try #require(doc.listener(port: port)?.connections?.syn_recv)
            #expect(syn["half_open"]?.count == 0, "\(syn)")
            #expect((syn["overflowed"]?.count ?? 0) >= 1, "\(syn)")
            #expect(doc.findings("half_open_growing").isEmpty && doc.findings("syn_cookies").isEmpty)
            let metrics = try scrape(ns).text
            let labels = ["port": "\(port)", "address": "127.0.0.1"]
            #expect(MetricsText.value(metrics, "backlogd_listen_unaccepted_connections", labels) == 5)
            #expect((MetricsText.value(metrics, "backlogd_listen_overflows_estimated_total", labels) ?? 0) > 0)
            #expect(MetricsText.value(metrics, "backlogd_finding", labels.merging(["kind": "not_accepting", "severity": "critical"]) { $1 }) == 1)
            #expect(MetricsText.samples(metrics, "backlogd_listen_syn_recv", labels).count == 4, "every kind, zeros included")

            // The command line says the same, with exit status 2 (critical).
            let once = try ns.exec([backlogdPath(), "--once", "--window", "2s"], check: false)
            #expect(once.status == 2, "\(once.stdout)")
            #expect(once.stdout.contains("CRITICAL 127.0.0.1:\(port) (pid \(nginx.master.pid) nginx): 5 connections waiting for accept()"), "\(once.stdout)")
            #expect(once.stdout.contains("nginx[\(nginx.master.pid)]"), "the PROCESS column")

            // The worker resumes: everything drains and the finding clears.
            kill(workers[0], SIGCONT)
            try waitUntil("the queue to drain and the finding to clear") {
                doc = try snapshot(ns)
                return doc.listener(port: port)?.queue.length == 0 && doc.listener(port: port)?.connections?.unaccepted.count == 0
                    && doc.findings("not_accepting").isEmpty
            }
        }
    }

    /// IPv4 clients of a dual-stack `::` listener arrive as ::ffff:127.0.0.1 and
    /// are counted on it; the daemon exports the deep tick's paced interval.
    @Test func dualStackListenerGetsItsIPv4Clients() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { () throws -> UInt16 in
                let l = try TestSockets.listenTCP("::", backlog: 8, v6only: false, bag: bag)
                Clients.send(Clients.request, on: try Clients.connect(3, port: l.port, bag: bag))
                return l.port
            }
            let daemon = try startDaemon(in: ns, Self.fastDaemon)
            defer { daemon.stop() }
            try waitUntil("3 unaccepted IPv4 clients on the :: listener") {
                let doc = try snapshot(ns)
                let l = doc.listener(port: port)
                return l?.family == "inet6" && l?.address == "::" && l?.connections?.unaccepted.count == 3
            }
            let interval = MetricsText.value(try scrape(ns).text, "backlogd_deep_interval_seconds", ["netns": "host"])
            #expect(interval.map { $0 >= 0.2 } == true, "\(String(describing: interval))")
        }
    }

    /// TCP_DEFER_ACCEPT: silent clients are held as request sockets with the
    /// handshake done; they are `deferred`, not half-open or new, until they
    /// send, also late in a timer period (when a single dump would say new).
    @Test func deferredAcceptHolds() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            // 30 s: the kernel holds them (re-sending no SYN-ACK) until about 15 s, long after these looks.
            let (port, clients) = try ns.enter { () throws -> (UInt16, [Int32]) in
                let l = try TestSockets.listenTCP("127.0.0.1", backlog: 16, bag: bag)
                try TestSockets.setInt(l.fd, Int32(IPPROTO_TCP), TCP_DEFER_ACCEPT, 30)
                return (l.port, try Clients.connect(3, port: l.port, bag: bag))
            }
            let start = Date()
            func once(at second: Double) throws -> OnceDocument {
                Thread.sleep(forTimeInterval: max(0, second - Date().timeIntervalSince(start)))
                return try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "1s"], check: false).stdout)
            }
            // Looks ending at ~2.6 s and at ~6.6 s: the second is in the last second
            // of the 3 s–7 s timer period, where `expires` ≤ 1 s.
            for second in [1.5, 5.5] {
                let doc = try once(at: second)
                let syn = try #require(doc.listener(port: port)?.connections?.syn_recv)
                #expect(syn["deferred"]?.count == 3, "at \(second) s: \(syn)")
                #expect(syn["half_open"]?.count == 0 && syn["new"]?.count == 0 && syn["overflowed"]?.count == 0, "at \(second) s: \(syn)")
                // A lower bound: one dump cannot tell how many timer periods have passed.
                #expect((syn["deferred"]?.oldest_seconds ?? 0) >= 1, "at \(second) s: \(syn)")
                #expect(doc.findings("deferred_accept_holds", port: port).first?.severity == "info")
                #expect(doc.listener(port: port)?.connections?.unaccepted.count == 0)
            }
            // Data ends the deferral: that client becomes an ordinary child waiting for accept().
            #expect(Clients.send("hello", on: [clients[0]]) == 1)
            let doc = try once(at: 7)
            let c = doc.listener(port: port)?.connections
            #expect(c?.syn_recv["deferred"]?.count == 2 && c?.unaccepted.count == 1 && c?.unaccepted_bytes == 5, "\(String(describing: c))")
        }
    }

    /// Clients whose ACKs are dropped (nftables in the namespace) leave half-open
    /// request sockets that re-send SYN-ACKs; the count grows while the daemon
    /// watches; with syncookies off a small backlog makes the kernel drop SYNs
    /// (TCPReqQFullDrop).
    @Test func halfOpenHandshakes() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.exec(["sysctl", "-qw", "net.ipv4.tcp_syncookies=0"])
            let (port, tiny) = try ns.enter { () throws -> (UInt16, UInt16) in
                (try TestSockets.listenTCP("127.0.0.1", backlog: 64, bag: bag).port,
                 try TestSockets.listenTCP("127.0.0.1", backlog: 2, bag: bag).port)
            }
            try ns.exec(["nft", "add table inet bdtest; add chain inet bdtest out { type filter hook output priority 0; }; add rule inet bdtest out tcp dport { \(port), \(tiny) } tcp flags == ack drop"])
            let daemon = try startDaemon(in: ns, Self.fastDaemon + ["--half-open-min", "5"])
            defer { daemon.stop() }
            try waitUntil("the daemon to have looked at the quiet listeners") {
                try snapshot(ns).listener(port: port)?.connections?.syn_recv["half_open"]?.count == 0
            }
            _ = try ns.enter { (try Clients.connect(12, port: port, bag: bag), try Clients.connect(8, port: tiny, bag: bag)) }
            var doc = try snapshot(ns)
            try waitUntil("12 half-open handshakes and the half_open_growing finding") {
                doc = try snapshot(ns)
                return doc.listener(port: port)?.connections?.syn_recv["half_open"]?.count == 12
                    && !doc.findings("half_open_growing", port: port).isEmpty
            }
            let syn = try #require(doc.listener(port: port)?.connections?.syn_recv)
            #expect((syn["half_open"]?.oldest_seconds ?? 0) >= 1)
            #expect(syn["overflowed"]?.count == 0 && syn["deferred"]?.count == 0)
            #expect(doc.findings("half_open_growing", port: port).first?.severity == "warning")
            #expect(doc.findings("not_accepting").isEmpty)
            let drops = try #require(doc.counters.first { $0.name == "TCPReqQFullDrop" }?.value)
            #expect(drops > 0, "SYNs dropped at the tiny listener")
            let ss = try ns.exec(["ss", "-tnH", "state", "syn-recv", "sport", "= :\(port)"]).stdout
            #expect(ss.split(separator: "\n").count == 12, "ss agrees: \(ss)")
            // Held for the window: still there a few looks later although the count is flat.
            try waitForCollections(3, of: "connections", in: ns)
            #expect(!(try snapshot(ns)).findings("half_open_growing", port: port).isEmpty)
        }
    }

    /// The server accepts but stops reading; another peer closes and the server
    /// keeps its socket: stalled and CLOSE_WAIT, with ages, and their findings.
    @Test func notReadingAndCloseWait() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { () throws -> UInt16 in
                let l = try TestSockets.listenTCP("127.0.0.1", backlog: 16, bag: bag)
                let clients = try Clients.connect(3, port: l.port, bag: bag)
                for _ in 0..<3 { _ = bag.keep(accept(l.fd, nil, nil)) }
                Clients.send(String(repeating: "x", count: 100), on: [clients[0]])
                bag.close(clients[1])
                bag.close(clients[2])
                return l.port
            }
            // Looked at until both are over a second old (the findings' thresholds), then judged
            // (the last look, if none gets there: it says what it saw).
            var r = CommandResult(status: 0, stdout: "", stderr: "")
            do {
                try waitUntil("the stalled and CLOSE_WAIT connections to be a second old") {
                    r = try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0", "--stalled-after", "1s",
                                     "--close-wait-min", "2", "--close-wait-after", "1s"], check: false)
                    let c = try OnceDocument.decode(r.stdout).listener(port: port)?.connections
                    return (c?.stalled.oldest_seconds ?? 0) >= 1 && (c?.close_wait.oldest_seconds ?? 0) >= 1
                }
            } catch is TimedOut {
                // Judged below.
            }
            let doc = try OnceDocument.decode(r.stdout)
            let c = try #require(doc.listener(port: port)?.connections)
            #expect(c.stalled.count == 1 && c.stalled.oldest_seconds >= 1, "\(c.stalled)")
            #expect(c.close_wait.count == 2 && c.close_wait.oldest_seconds >= 1, "\(c.close_wait)")
            #expect(c.unaccepted.count == 0)
            #expect(doc.findings("not_reading", port: port).count == 1)
            #expect(doc.findings("close_wait_pileup", port: port).count == 1)
            #expect(r.status == 1)
        }
    }

    /// A queue that fills for about a second and drains between two scrapes
    /// still shows in the peak and in the seconds-full counter.
    @Test func peakBetweenScrapes() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let daemon = try startDaemon(in: ns, ["--interval", "100ms"])
            defer { daemon.stop() }
            let l = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 2, bag: bag) }
            let labels = ["port": "\(l.port)"]
            try waitUntil("the listener to show up empty") {
                MetricsText.value(try scrape(ns).text, "backlogd_listen_queue_peak", labels) == 0
            }
            _ = try ns.enter { try Clients.connect(3, port: l.port, bag: bag) }
            // Full for at least eight of the daemon's 100 ms ticks (each counts at most 200 ms):
            // its ticks, not this clock, make the seconds-full; a loaded machine spaces them.
            // Only their times are read meanwhile, not the queue.
            try waitForCollections(8, of: "tcp", in: ns)
            for _ in 0..<3 { _ = bag.keep(accept(l.fd, nil, nil)) }
            try waitUntil("the queue to be empty again") {
                MetricsText.value(try scrape(ns).text, "backlogd_listen_queue_length", labels) == 0
            }
            let text = try scrape(ns).text
            #expect(MetricsText.value(text, "backlogd_listen_queue_peak", labels) == 3)
            #expect((MetricsText.value(text, "backlogd_listen_queue_full_seconds_total", labels) ?? 0) >= 0.5)
            #expect(MetricsText.value(text, "backlogd_finding", labels.merging(["kind": "accept_queue_full"]) { $1 }) == 1,
                    "full within the peak window")
        }
    }

    /// A UNIX listener whose server stops accepting raises the queue findings.
    @Test func unixListenerNotAccepting() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let path = temporaryPath("sock")
            defer { unlink(path) }
            try ns.enter {
                _ = try TestSockets.listenUnix(path, backlog: 4, bag: bag)
                for _ in 0..<4 { _ = try TestSockets.connectUnix(path, bag: bag) }
            }
            var doc = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"], check: false).stdout)
            #expect(doc.findings.contains { $0.kind == "accept_queue_near_full" && $0.listener?.address == path })
            try ns.enter { for _ in 0..<3 { _ = try TestSockets.connectUnix(path, bag: bag) } }
            let r = try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"], check: false)
            doc = try OnceDocument.decode(r.stdout)
            #expect(doc.findings.contains { $0.kind == "accept_queue_full" && $0.listener?.address == path && $0.message.contains("5/4") })
            #expect(r.status == 1)
        }
    }
}
