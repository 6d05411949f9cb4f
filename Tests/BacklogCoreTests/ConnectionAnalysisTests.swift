import BacklogCore
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The single-dump rules, fed with the numbers the kernel reports.
@Suite struct ConnectionAnalysisTests {
    @Test func synRecvKinds() {
        #expect(SynRecvClassifier.kind(retrans: 0, expiresMs: 400, listenerFull: false) == .new)
        #expect(SynRecvClassifier.kind(retrans: 0, expiresMs: 1000, listenerFull: true) == .new)
        // Seen in KERNEL-NOTES: a deferred entry at 1.2 s has retrans 0 and expires 1916 ms.
        #expect(SynRecvClassifier.kind(retrans: 0, expiresMs: 1916, listenerFull: false) == .deferred)
        #expect(SynRecvClassifier.kind(retrans: 1, expiresMs: 1500, listenerFull: false) == .halfOpen)
        #expect(SynRecvClassifier.kind(retrans: 2, expiresMs: 100, listenerFull: true) == .overflowed)
    }

    @Test func synRecvAgesFromTimers() {
        func age(_ r: UInt8, _ e: UInt32) -> Double { SynRecvClassifier.ageSeconds(retrans: r, expiresMs: e) }
        #expect(abs(age(0, 700) - 0.3) < 1e-9)          // first timer due at 1 s
        #expect(abs(age(1, 1500) - 1.5) < 1e-9)         // fired at 1 s, next period 2 s
        #expect(abs(age(2, 1000) - 6.0) < 1e-9)         // 1 + 2, then 4 s with 1 s left
        #expect(abs(age(0, 1916) - 1.084) < 1e-9)       // deferred: one firing fits 1.916 s
        #expect(abs(age(0, 3500) - 3.5) < 1e-9)         // deferred: two firings (1 + 2, period 4)
        #expect(age(8, 60_000) > 250)                    // periods stop doubling at 120 s
    }

    @Test func matcherPrefersSpecificAndHandlesMappedClients() {
        let wildcard4 = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 0, queueMax: 8)
        let specific4 = Listener(family: .inet, address: "127.0.0.1", port: 80, inode: 2, queueLength: 0, queueMax: 8)
        let dual = Listener(family: .inet6, address: "::", port: 81, inode: 3, queueLength: 0, queueMax: 8, v6Only: false)
        let v6only = Listener(family: .inet6, address: "::", port: 82, inode: 4, queueLength: 0, queueMax: 8, v6Only: true)
        let m = ListenerMatcher([wildcard4, specific4, dual, v6only])
        func match(_ family: Int32, _ bytes: [UInt8], _ port: UInt16) -> GroupKey? {
            var b = bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
            return b.withUnsafeMutableBytes { m.match(family: family, address: UnsafeRawBufferPointer($0), port: port) }.map { m.groups[$0] }
        }
        #expect(match(AF_INET, [127, 0, 0, 1], 80) == specific4.groupKey)
        #expect(match(AF_INET, [10, 0, 0, 1], 80) == wildcard4.groupKey)
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
        #expect(match(AF_INET6, mapped, 81) == dual.groupKey)
        #expect(match(AF_INET6, mapped, 82) == nil, "a v6only listener takes no IPv4 clients")
        #expect(match(AF_INET6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 82) == v6only.groupKey)
        #expect(match(AF_INET, [127, 0, 0, 1], 81) == nil)
        #expect(m.ports == [80, 81, 82])
    }

    @Test func stallTrackerUsesBytesTheApplicationRead() {
        var t = StallTracker()
        t.begin()
        #expect(t.observe(cookie: 1, rqueue: 100, bytesReceived: 1000, lastDataRecvMs: 2000, now: 10) == 2)
        t.finish()
        t.begin()
        // The peer sent 500 more and the application read 500: unread stays 100, but it is reading.
        #expect(t.observe(cookie: 1, rqueue: 100, bytesReceived: 1500, lastDataRecvMs: 0, now: 15) == 0)
        t.finish()
        t.begin()
        // Nothing read since: the clock runs although more arrived.
        #expect(t.observe(cookie: 1, rqueue: 300, bytesReceived: 1700, lastDataRecvMs: 0, now: 18) == 3)
        t.finish()
    }

    @Test func requestTrackerKeepsDeferredAndOverflowed() {
        var t = RequestTracker()
        t.begin()
        #expect(t.observe(cookie: 1, retrans: 0, expiresMs: 1500, listenerFull: false, now: 0).0 == .deferred)
        #expect(t.observe(cookie: 2, retrans: 1, expiresMs: 1500, listenerFull: true, now: 0).0 == .overflowed)
        #expect(t.observe(cookie: 3, retrans: 0, expiresMs: 800, listenerFull: false, now: 0).0 == .new)
        t.finish()
        t.begin()
        // Late in its period a deferred hold's expires is ≤ 1 s: one dump would say new.
        let late = t.observe(cookie: 1, retrans: 0, expiresMs: 300, listenerFull: false, now: 3)
        #expect(late.0 == .deferred && late.1 >= 3)
        // The queue drained: still overflowed, not half-open.
        #expect(t.observe(cookie: 2, retrans: 2, expiresMs: 3000, listenerFull: false, now: 3).0 == .overflowed)
        // Seen before, still no re-send, now older than 1 s: deferred.
        #expect(t.observe(cookie: 3, retrans: 0, expiresMs: 100, listenerFull: false, now: 3).0 == .deferred)
        t.finish()
    }

    @Test func requestTrackerIsBounded() {
        var t = RequestTracker(cap: 2)
        t.begin()
        for cookie in 1...5 as ClosedRange<UInt64> {
            _ = t.observe(cookie: cookie, retrans: 1, expiresMs: 1000, listenerFull: false, now: 0)
        }
        #expect(t.count == 2 && t.dropped == 3)
        t.finish()
    }

    @Test func boundDeviceListenersTakeTheirDevicesSockets() {
        var lo = Listener(family: .inet, address: "0.0.0.0%lo", port: 80, inode: 1, queueLength: 0, queueMax: 8)
        lo.boundInterface = 1
        var br = Listener(family: .inet, address: "0.0.0.0%br0", port: 80, inode: 2, queueLength: 0, queueMax: 8)
        br.boundInterface = 7
        let m = ListenerMatcher([br, lo])
        var addr = [UInt8](repeating: 0, count: 16)
        addr[0] = 127
        addr[3] = 1
        let hit = addr.withUnsafeBytes { m.match(family: AF_INET, address: $0, port: 80, interface: 1) }
        #expect(hit.map { m.groups[$0] } == lo.groupKey)
        #expect(addr.withUnsafeBytes { m.match(family: AF_INET, address: $0, port: 80, interface: 0) } == nil)
    }

    @Test func stallTrackerKeepsTheClockUntilTheQueueShrinks() {
        var t = StallTracker(cap: 2)
        t.begin()
        #expect(t.observe(cookie: 1, rqueue: 100, lastDataRecvMs: 3000, now: 10) == 3)   // first sight: since last data
        t.finish()
        t.begin()
        #expect(t.observe(cookie: 1, rqueue: 150, lastDataRecvMs: 0, now: 12) == 5)      // grew: still stalled
        t.finish()
        t.begin()
        #expect(t.observe(cookie: 1, rqueue: 50, lastDataRecvMs: 0, now: 13) == 0)       // shrank: the app read
        _ = t.observe(cookie: 2, rqueue: 1, lastDataRecvMs: 0, now: 13)
        _ = t.observe(cookie: 3, rqueue: 1, lastDataRecvMs: 0, now: 13)
        #expect(t.dropped == 1 && t.count == 2)
        t.finish()
        t.begin()
        t.finish()
        #expect(t.count == 0, "connections not seen again are forgotten")
    }
}
