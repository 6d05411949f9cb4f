import BacklogCore
import Foundation
import Testing

/// backlogd_listen_drops_total is the kernel's own count for each listening
/// socket (sk_drops, `ss -m` d): each case of README's "Drops" is made with real
/// sockets, and every listener's count is compared with ss read around the same
/// collection, listener by listener, and with the namespace's TcpExt counters
/// (a fresh namespace: they start at 0), which pins what the count counts.
@Suite struct DropCounterTests {
    struct Reading {
        var drops: [UInt32: UInt64]    // by inode, from backlogd
        var listenDrops: UInt64
        var listenOverflows: UInt64
        var synQueueDrops: UInt64
        var deferDrops: UInt64
        var snapshot: Snapshot
    }

    /// `ss -ltnmHe`: the d field of each listener's skmem, by inode.
    static func ssDrops(_ ns: NetNamespace) throws -> [UInt32: UInt64] {
        var rows: [String] = []
        for line in try ns.exec(["ss", "-ltnmHe"]).stdout.split(separator: "\n") {
            if line.first == " " || line.first == "\t", !rows.isEmpty { rows[rows.count - 1] += " " + line } else { rows.append(String(line)) }
        }
        var out: [UInt32: UInt64] = [:]
        for r in rows {
            guard let ino = r.firstMatch(of: /ino:(\d+)/).flatMap({ UInt32($0.1) }),
                  let d = r.firstMatch(of: /\bd(\d+)\)/).flatMap({ UInt64($0.1) }) else { continue }
            out[ino] = d
        }
        return out
    }

    /// A collection between two ss reads that agree (a retransmit between them
    /// would change the numbers: then read again), once `ready` holds for it.
    static func agreedReading(_ ns: NetNamespace, _ what: String, timeout: Double = 30,
                              ready: (Reading) -> Bool) throws -> Reading {
        var last: Reading?
        var lastSS: [UInt32: UInt64] = [:]
        try waitUntil(what, timeout: timeout) {
            let before = try ssDrops(ns)
            let s = try ns.collect().snapshots[0]
            let after = try ssDrops(ns)
            guard before == after else { return false }
            let r = Reading(
                drops: Dictionary(uniqueKeysWithValues: s.listeners.compactMap { l in l.drops.map { (l.inode, $0) } }),
                listenDrops: s.counter(.listenDrops) ?? 0, listenOverflows: s.counter(.listenOverflows) ?? 0,
                synQueueDrops: s.counter(.reqQFullDrop) ?? 0, deferDrops: s.counter(.deferAcceptDrop) ?? 0, snapshot: s)
            last = r
            lastSS = after
            return r.drops == after && ready(r)
        }
        let r = try #require(last)
        #expect(r.drops == lastSS, "backlogd \(r.drops) vs ss \(lastSS)")
        return r
    }

    /// backlogd's count for the (only) listener on `port`.
    static func drops(_ r: Reading, port: UInt16) -> UInt64? {
        r.snapshot.listeners.first { $0.port == port }.flatMap { r.drops[$0.inode] }
    }

    /// SYNs that find the accept queue full: one drop each (retransmits too), as in
    /// ListenDrops and ListenOverflows; each listener counts its own.
    @Test func synsDroppedOnAFullAcceptQueueCountOnceEach() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("syn", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "both listeners to have dropped SYNs") { r in
                r.drops.values.filter { $0 > 0 }.count == 2
            }
            let a = try #require(Self.drops(r, port: 7101))
            let b = try #require(Self.drops(r, port: 7102))
            let idle = try #require(Self.drops(r, port: 7103))
            #expect(a > 0 && b > 0 && idle == 0, "\(a) \(b) \(idle)")
            #expect(a + b == r.listenDrops && r.listenDrops == r.listenOverflows, "\(a)+\(b) vs LD \(r.listenDrops) LO \(r.listenOverflows)")
            // Six more blocked clients than the other: more drops, at its own rate.
            try waitUntil("the busier listener to have dropped more") {
                let r = try Self.agreedReading(ns, "agreement") { _ in true }
                return (Self.drops(r, port: 7101) ?? 0) > (Self.drops(r, port: 7102) ?? 0)
            }
            // The daemon's exposition carries the same counter.
            // Exit status 1: full queues are warnings.
            let text = try ns.exec([backlogdPath(), "--once", "--window", "0", "--format", "prometheus"], check: false).stdout
            #expect(text.contains("# TYPE backlogd_listen_drops_total counter"))
            #expect(text.contains(#"backlogd_listen_drops_total{netns="host",family="inet",address="127.0.0.1",port="7103",socket="0""#))
            #expect(text.contains("# HELP backlogd_listen_overflows_estimated_total DEPRECATED: use backlogd_listen_drops_total"))
        }
    }

    /// SYN queue full without syncookies (TCPReqQFullDrop): counted as a listener drop
    /// (ListenDrops) but not an overflow (ListenOverflows stays 0).
    @Test func synQueueFullWithoutCookiesCountsOnceNotAsOverflow() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("synqueue", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "SYN-queue drops") { $0.synQueueDrops >= 2 }
            let d = try #require(Self.drops(r, port: 7104))
            #expect(d == r.listenDrops && d >= r.synQueueDrops, "d \(d) LD \(r.listenDrops) ReqQFullDrop \(r.synQueueDrops)")
            #expect(r.listenOverflows == 0)
        }
    }

    /// A final ACK refused because the accept queue is full counts twice: once with
    /// ListenOverflows/ListenDrops (tcp_listendrop), once more when tcp_v4_rcv drops
    /// the segment. Each re-ACK after a SYN-ACK retransmit counts again.
    @Test func refusedFinalACKsCountTwiceEach() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("ack", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "refused final ACKs") { $0.listenOverflows >= 2 }
            let d = try #require(Self.drops(r, port: 7105))
            #expect(d == 2 * r.listenDrops && r.listenDrops == r.listenOverflows, "d \(d) LD \(r.listenDrops) LO \(r.listenOverflows)")
            #expect(r.snapshot.listeners.first { $0.port == 7105 }?.isFull == true)
        }
    }

    /// tcp_abort_on_overflow=1: the refused handshake is reset and forgotten, so it
    /// counts (twice) once only.
    @Test func abortOnOverflowCountsEachRefusedHandshakeOnce() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("abort", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "the two refused handshakes") { $0.listenOverflows >= 2 }
            let d = try #require(Self.drops(r, port: 7105))
            #expect(r.listenOverflows == 2 && r.listenDrops == 2 && d == 4, "d \(d) LD \(r.listenDrops) LO \(r.listenOverflows)")
            // No retransmits follow: the refused handshakes are gone (no request socket left to
            // re-send a SYN-ACK), and the count stays 4.
            try waitUntil("no handshake left on :7105") {
                try ns.exec(["ss", "-tnH", "state", "syn-recv", "sport", "= :7105"]).stdout.isEmpty
            }
            let later = try Self.agreedReading(ns, "agreement") { _ in true }
            #expect(Self.drops(later, port: 7105) == 4)
        }
    }

    /// TCP_DEFER_ACCEPT: each bare final ACK the listener ignores counts as a drop
    /// (TCPDeferAcceptDrop), though nothing overflowed and ListenDrops stays 0.
    @Test func deferAcceptBareACKsCountAsDropsButNotInListenDrops() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("defer", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "three ignored bare ACKs") { $0.deferDrops >= 3 }
            let d = try #require(Self.drops(r, port: 7106))
            #expect(d == r.deferDrops && r.listenDrops == 0 && r.listenOverflows == 0, "d \(d) defer \(r.deferDrops) LD \(r.listenDrops)")
        }
    }

    /// SO_REUSEPORT members each count their own; the namespace's counters are the sum.
    @Test func reuseportMembersCountTheirOwn() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("reuseport", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "both members to drop") { r in
                r.snapshot.listeners.filter { $0.port == 7107 }.allSatisfy { ($0.drops ?? 0) > 0 }
            }
            let members = r.snapshot.listeners.filter { $0.port == 7107 }
            #expect(members.count == 2)
            #expect(members.reduce(0) { $0 + ($1.drops ?? 0) } == r.listenDrops && r.listenDrops == r.listenOverflows)
        }
    }

    /// A dual-stack `::` listener counts the drops of its IPv4 clients, once each at SYN time.
    @Test func dualStackListenerCountsItsIPv4Clients() throws {
        try withNamespace { ns in
            let p = try DropScenario.start("dualstack", in: ns)
            defer { p.stop() }
            let r = try Self.agreedReading(ns, "IPv4 SYNs dropped on [::]") { $0.listenOverflows > 0 }
            let l = try #require(r.snapshot.listeners.first { $0.port == 7108 })
            #expect(l.family == .inet6 && l.address == "::")
            #expect(l.drops == r.listenDrops && r.listenDrops == r.listenOverflows)
        }
    }

    /// UNIX listeners have no drop count: a full backlog refuses connect() (EAGAIN)
    /// and sk_drops is never touched, so backlogd exports none for them.
    @Test func unixListenersHaveNoDropSeries() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            let path = "/tmp/bd-drops-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
            defer {
                bag.closeAll()
                unlink(path)
            }
            let refused = try ns.enter {
                _ = try TestSockets.listenUnix(path, backlog: 1, bag: bag)
                var refused = 0
                for _ in 0..<5 where try TestSockets.connectUnix(path, bag: bag) == nil { refused += 1 }
                return refused
            }
            #expect(refused == 3)
            let l = try #require(try ns.collect().snapshots[0].listeners.first { $0.address == path })
            #expect(l.drops == nil && l.isFull)
        }
    }
}
