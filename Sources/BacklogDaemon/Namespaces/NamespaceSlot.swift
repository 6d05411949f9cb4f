import BacklogCore
import Synchronization

/// A watched namespace in the registry: its collector (an actor on the
/// namespace's thread, which owns all of the namespace's state), whether a fast
/// tick is in flight, and the latest tick's snapshot for the next publication.
final class NamespaceSlot: Sendable {
    let collector: NamespaceCollector
    var namespace: WatchedNamespace { collector.namespace }
    private let inFlight = Atomic<Bool>(false)
    private let latest = Mutex<TickResult?>(nil)

    struct TickResult: Sendable {
        var snapshot: Snapshot
        var cpuSeconds: Double
        /// The `now` of the tick it came from.
        var tick: Double
    }

    /// What every namespace's tick is told.
    struct TickRequest: Sendable {
        var now: Double
        var settings: CollectionLoop.Settings
        var owners: OwnerSnapshot?
        var deepInterval: Double?
        var fastInterval: Double
        var earlyLooks: EarlyLookGate?
    }

    /// Joins the namespace (a thread of its own).
    init(_ ns: WatchedNamespace, peakWindow: Double) throws(NetnsError) {
        collector = try NamespaceCollector(ns, peakWindow: peakWindow)
    }

    /// Starts a fast tick unless the previous one is still running (a slow
    /// namespace skips ticks rather than queueing them); `done` runs when it
    /// finished or was skipped.
    func tick(_ r: TickRequest, done: @escaping @Sendable () -> Void) {
        guard inFlight.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            done()
            return
        }
        // On the namespace's own thread: no hop to the shared pool and back per namespace and tick.
        Task(executorPreference: collector.taskExecutor) { [collector, self] in
            let s = r.settings
            let (snapshot, cpu) = await collector.tick(
                now: r.now, settings: s.collector, peakWindow: s.peakWindow, maxStep: max(r.fastInterval * 4, 1),
                owners: r.owners, deepInterval: r.deepInterval, fastInterval: r.fastInterval, earlyLooks: r.earlyLooks)
            latest.withLock { $0 = TickResult(snapshot: snapshot, cpuSeconds: cpu, tick: r.now) }
            inFlight.store(false, ordering: .releasing)
            done()
        }
    }

    var result: TickResult? { latest.withLock { $0 } }
}
