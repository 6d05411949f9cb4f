import BacklogCore
@testable import BacklogDaemon
import Foundation
import Synchronization
import Testing

/// The fast ticker's own steps: each fire ends its round with `afterTick` (the
/// watchdog's proof that a tick completed) holding the publication in force,
/// published or kept; the clock is paced by what the rounds cost (FastPacing).
/// The machinery end to end (publish only on change, deep results, reloads,
/// stop) is CollectionLoopTests'.
@Suite struct FastTickerTests {
    // MARK: pacing

    @Test func cheapTicksKeepTheConfiguredInterval() {
        var p = FastPacing(interval: 0.25, budget: 0.01)
        // 1 ms a tick at a 1 % budget wants 0.1 s: the configured 0.25 s is the fastest.
        for _ in 0..<20 { #expect(p.record(cpuSeconds: 0.001) == nil) }
        #expect(p.interval == 0.25)
    }

    @Test func costlyTicksSlowTheClockAndCheapOnesBringItBack() {
        var p = FastPacing(interval: 0.25, budget: 0.01)
        // 8 ms a tick at 1 %: 0.8 s (the smoothed cost gets there over a few ticks).
        for _ in 0..<40 { p.record(cpuSeconds: 0.008) }
        #expect(abs(p.interval - 0.8) < 0.08, "\(p.interval)")
        // Far too costly: never slower than CollectionLoop.slowestInterval.
        for _ in 0..<40 { p.record(cpuSeconds: 0.5) }
        #expect(p.interval == CollectionLoop.slowestInterval)
        // Cheap again: back to exactly the configured interval, not near it.
        for _ in 0..<80 { p.record(cpuSeconds: 0.0001) }
        #expect(p.interval == 0.25)
    }

    @Test func smallMovesDoNotReArmTheClock() {
        var p = FastPacing(interval: 0.25, budget: 0.01)
        for _ in 0..<60 { p.record(cpuSeconds: 0.005) }
        #expect(abs(p.interval - 0.5) < 0.05, "\(p.interval)")
        // 4 % dearer: the wanted interval moves by less than a tenth, so no new interval.
        for _ in 0..<10 { #expect(p.record(cpuSeconds: 0.0052) == nil) }
    }

    @Test func aSlowerConfiguredIntervalIsTheFloor() {
        var p = FastPacing(interval: 0.25, budget: 0.01)
        p.floor = 3
        // Above slowestInterval by configuration: the configured interval holds.
        #expect(p.record(cpuSeconds: 0.0001) == 3)
        for _ in 0..<20 { p.record(cpuSeconds: 0.5) }
        #expect(p.interval == 3)
    }

    // MARK: the round

    /// Every fire's round ends with afterTick, after the publication it hands over
    /// (a round that changed nothing hands the last one again), and none after stop.
    @Test func afterTickEndsEveryRoundWithThePublicationInForce() throws {
        let queue = CollectionQueue(label: "backlogd.test.fast-ticker")
        let host = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: NetnsInode.ofProcess() ?? 0, path: nil)
        var s = CollectionLoop.Settings()
        s.interval = 0.05
        s.fastCPUBudget = 1
        // One port nothing listens on: this process's namespace is shared with other tests.
        s.collector.ports = PortFilter(include: [1...1])
        struct Log { var published: [Double] = []; var afterTick: [(Double, publishedSoFar: Int)] = [] }
        let log = Mutex(Log())
        let gate = EarlyLookGate()
        let ticker = FastTicker(
            queue: queue, host: try NamespaceCollector(host, peakWindow: s.peakWindow, on: queue), settings: s,
            deep: try DeepWorker(earlyLooks: gate, serving: { 0 }), earlyLooks: gate,
            publish: { p in log.withLock { $0.published.append(p.snapshots[0].timestamp) } },
            afterTick: { p in log.withLock { $0.afterTick.append((p.snapshots[0].timestamp, $0.published.count)) } })
        queue.queue.sync { ticker.assumeIsolated { $0.start() } }
        let deadline = ContinuousClock.now + .seconds(30)
        while log.withLock({ $0.afterTick.count }) < 10 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        queue.queue.sync { ticker.assumeIsolated { $0.stop() } }
        let stopped = log.withLock { $0 }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(log.withLock { $0.afterTick.count } == stopped.afterTick.count, "afterTick after stop")
        #expect(stopped.afterTick.count >= 10, "\(stopped.afterTick.count) rounds in 30 s")
        #expect(!stopped.published.isEmpty)
        for (timestamp, soFar) in stopped.afterTick {
            // Something was published before the round ended, and it is the latest of them.
            #expect(soFar >= 1)
            if soFar >= 1 { #expect(timestamp == stopped.published[soFar - 1], "a round handed on a stale publication") }
        }
    }
}
