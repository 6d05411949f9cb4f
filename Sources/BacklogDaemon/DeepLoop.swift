import BacklogCore
import Dispatch
import Synchronization

/// The deep tick, on its own queue so a slow one never delays the fast tick:
/// finds the namespaces to watch (when all are enabled), dumps SYN-RECV /
/// ESTABLISHED / CLOSE_WAIT for the ports that listen in each, looks up the
/// owners of new listeners, then waits max(min interval, CPU cost / budget):
/// every second on a small host, tens of seconds on one with hundreds of
/// thousands of sockets.
final class DeepLoop: @unchecked Sendable {
    struct Pacing: Sendable, Equatable {
        var minInterval: Double
        /// Fraction of one core the deep tick may use on average.
        var cpuBudget: Double
    }

    private let queue = DispatchQueue(label: "backlogd.collect.deep")
    private let registry: NamespaceRegistry
    private let settings: LockedBox<CollectionLoop.Settings>
    private let started = ContinuousClock.now
    private let discovery = NetnsDiscovery()
    /// One for all namespaces: socket inodes are unique host-wide.
    private let owners = SharedOwnerIndex()
    // Queue-confined.
    private var running = false
    private var generation = 0
    // Read by the fast tick.
    private let latest = Mutex<(interval: Double?, owners: OwnerSnapshot?)>((nil, nil))

    init(registry: NamespaceRegistry, settings: LockedBox<CollectionLoop.Settings>) {
        self.registry = registry
        self.settings = settings
    }

    var current: (interval: Double?, owners: OwnerSnapshot?) { latest.withLock { $0 } }

    func start(after delay: Double) {
        queue.async { [self] in
            running = true
            schedule(after: delay)
        }
    }

    func stop() {
        queue.sync {
            running = false
            generation += 1
        }
    }

    private func schedule(after delay: Double) {
        let g = generation
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(delay * 1000))) { [self] in
            guard running, g == generation else { return }
            tick()
        }
    }

    /// Discovery, the deep dumps, then the owners of listeners not yet known
    /// (a /proc scan, bounded in time); all count against the CPU budget.
    private func tick() {
        let now = (ContinuousClock.now - started).seconds
        let s = settings.value
        let cpu0 = DeepCollector.threadCPU()
        var wanted: [WatchedNamespace] = []
        if s.namespaces.all {
            let found = discovery.scan()
            wanted = found.namespaces.filter { !$0.isHost && s.namespaces.filter.admits($0.label) }
            registry.unreadableProcesses = found.unreadable
        } else {
            registry.unreadableProcesses = nil
        }
        registry.reconcile(wanted, settings: s)
        var cpu = DeepCollector.threadCPU() - cpu0
        var inodes = Set<UInt32>()
        for c in registry.current {
            c.deep.thresholds = s.collector.thresholds
            c.deep.window = s.peakWindow
            let listeners = c.lastListeners.value
            let result = c.deep.collect(listeners: listeners, now: now)
            c.deepResult.value = result
            cpu += result.cpuSeconds
            inodes.formUnion(listeners.map(\.inode))
        }
        let cpu1 = DeepCollector.threadCPU()
        let resolved = owners.resolve(inodes, now: now)
        cpu += DeepCollector.threadCPU() - cpu1
        let interval = max(s.deepMinInterval, cpu / max(s.deepCPUBudget, 1e-6))
        latest.withLock { $0 = (interval, resolved) }
        schedule(after: interval)
    }
}
