#if canImport(Glibc)
import Glibc
#endif
import BacklogCore
import CSockDiag
import Testing

/// The per-namespace listener table, fed with records as a LISTEN dump gives them:
/// identity kept across ticks, peaks over a sliding window, seconds full,
/// SO_REUSEPORT indexes, overflow shares.
@Suite struct ListenerTableTests {
    func record(port: UInt16 = 80, length: UInt32, max: UInt32 = 4, inode: UInt32 = 7, cookie: UInt64? = nil,
                address: [UInt8] = [127, 0, 0, 1]) -> bd_tcp_record {
        var r = bd_tcp_record()
        r.family = UInt8(AF_INET)
        r.state = UInt8(BD_TCP_LISTEN)
        r.local_port = port
        withUnsafeMutableBytes(of: &r.local_addr) { b in for (i, x) in address.enumerated() { b[i] = x } }
        r.rqueue = length
        r.wqueue = max
        r.inode = inode
        r.cookie = cookie ?? UInt64(inode)
        return r
    }

    func tick(_ t: inout ListenerTable, _ records: [bd_tcp_record], at now: Double, maxStep: Double = 1,
              overflows: UInt64? = nil) -> [Listener] {
        t.begin()
        for r in records { t.observe(tcp: r) }
        t.finish(now: now, maxStep: maxStep, listenOverflows: overflows)
        return t.listeners
    }

    @Test func peakSlidesAndFullSecondsAccumulate() {
        var table = ListenerTable(netns: "host", window: 2)
        var t = 0.0
        func at(_ len: UInt32) -> Listener {
            defer { t += 0.5 }
            return tick(&table, [record(length: len)], at: t)[0]
        }
        #expect(at(1).queuePeak == 1)
        #expect(at(5).queuePeak == 5)          // t=0.5: full
        let l = at(0)                          // t=1.0
        #expect(l.queuePeak == 5 && l.fullSeconds == 0.5)
        #expect(at(2).queuePeak == 5)          // t=1.5
        #expect(at(0).queuePeak == 5)          // t=2.0
        #expect(at(0).queuePeak == 5)          // t=2.5: the 5 at 0.5 is exactly window old, still in
        #expect(at(0).queuePeak == 2)          // t=3.0: the 5 has left; the 2 at 1.5 is the peak
        #expect(at(0).queuePeak == 2)          // t=3.5
        #expect(at(0).queuePeak == 0)          // t=4.0
        #expect(at(5).fullSeconds == 1.0)      // t=4.5: full again, one more step
    }

    @Test func gapsAreCappedAndVanishedListenersForgotten() {
        var table = ListenerTable(netns: "host", window: 10)
        _ = tick(&table, [record(length: 5)], at: 0)
        #expect(tick(&table, [record(length: 5)], at: 100)[0].fullSeconds == 1, "a 100 s gap counts as maxStep")
        _ = tick(&table, [record(length: 0, inode: 8)], at: 101)
        #expect(table.count == 1)
        let back = tick(&table, [record(length: 0)], at: 102)[0]
        #expect(back.fullSeconds == 0 && back.queuePeak == 0, "a listener that went away starts over")
    }

    @Test func identityIsKeptAndNumbersFollowTheDump() {
        var table = ListenerTable(netns: "ns1", window: 15)
        let a = tick(&table, [record(port: 80, length: 1, inode: 1), record(port: 81, length: 0, inode: 2)], at: 0)
        #expect(a.map(\.address) == ["127.0.0.1", "127.0.0.1"] && a.map(\.netns) == ["ns1", "ns1"])
        // A duplicate in the same dump (a dump is not a snapshot) counts once.
        let b = tick(&table, [record(port: 81, length: 3, inode: 2), record(port: 80, length: 2, inode: 1),
                              record(port: 80, length: 9, inode: 1)], at: 1)
        #expect(b.map(\.port) == [80, 81], "the order is the order of first appearance, not the dump's")
        #expect(b.map(\.queueLength) == [2, 3])
    }

    @Test func reuseportIndexesFollowInodesAndChangesOfTheGroup() {
        var table = ListenerTable(netns: "host", window: 15)
        let group = [record(length: 0, inode: 30), record(length: 0, inode: 10), record(length: 0, inode: 20)]
        let l = tick(&table, group, at: 0)
        #expect(Dictionary(uniqueKeysWithValues: l.map { ($0.inode, $0.socket) }) == [10: 0, 20: 1, 30: 2])
        let after = tick(&table, [group[0], group[2]], at: 1)
        #expect(Dictionary(uniqueKeysWithValues: after.map { ($0.inode, $0.socket) }) == [20: 0, 30: 1],
                "a member that closed renumbers the others")
    }

    @Test func deepNumbersGoOnMemberZeroAndNewListenersShowZeros() {
        var table = ListenerTable(netns: "host", window: 15)
        let group = [record(length: 0, inode: 10), record(length: 0, inode: 20)]
        _ = tick(&table, group, at: 0)
        var stats = ConnectionStats()
        stats.unaccepted = AgedCount(count: 3, oldestSeconds: 4)
        table.apply([table.listeners[0].groupKey: stats])
        #expect(table.listeners.map { $0.connections?.unaccepted.count } == [3, 0])
        let l = tick(&table, group + [record(port: 90, length: 0, inode: 30)], at: 1)
        #expect(l.map { $0.connections?.unaccepted.count } == [3, 0, 0], "zeros, not gaps, until the next deep look")
    }

    @Test func overflowGrowthGoesToFullListeners() {
        var table = ListenerTable(netns: "host", window: 15)
        let full = record(port: 80, length: 5, inode: 1)
        let idle = record(port: 81, length: 0, inode: 2)
        _ = tick(&table, [full, idle], at: 0, overflows: 100)
        #expect(tick(&table, [full, idle], at: 1, overflows: 110).map(\.overflowsEstimated) == [10, 0])
        let drained = record(port: 80, length: 0, inode: 1)
        // Full at the previous read still counts; then growth with nobody full is unattributed.
        #expect(tick(&table, [drained, idle], at: 2, overflows: 112).map(\.overflowsEstimated) == [12, 0])
        // Full at a tick between two reads counts too.
        _ = tick(&table, [full, idle], at: 2.5)
        #expect(tick(&table, [drained, idle], at: 3, overflows: 114).map(\.overflowsEstimated) == [14, 0])
        _ = tick(&table, [drained, idle], at: 4, overflows: 115)
        _ = tick(&table, [drained, idle], at: 5, overflows: 118)
        #expect(table.unattributedOverflows == 4, "1 + 3 while nobody was full")
    }
}
