import BacklogCore
import Dispatch
import Synchronization

/// The deep tick, on its own queue so a slow one never delays the fast tick:
/// dumps SYN-RECV / ESTABLISHED / CLOSE_WAIT for the ports that listen, then
/// waits max(min interval, CPU cost / budget) — every second on a small host,
/// tens of seconds on one with hundreds of thousands of sockets.
final class DeepLoop: @unchecked Sendable {
    struct Pacing: Sendable, Equatable {
        var minInterval: Double
        /// Fraction of one core the deep tick may use on average.
        var cpuBudget: Double
    }

    private let queue = DispatchQueue(label: "backlogd.collect.deep")
    private let collector: DeepCollector
    private let listeners: @Sendable () -> [Listener]
    private let started = ContinuousClock.now
    // Queue-confined.
    private var pacing: Pacing
    private var running = false
    private var generation = 0
    private let owners = OwnerIndex()
    // Read by the fast tick.
    private let latest = Mutex<(result: DeepResult?, interval: Double?, owners: OwnerSnapshot?)>((nil, nil, nil))

    init(pacing: Pacing, thresholds: Thresholds, window: Double, listeners: @escaping @Sendable () -> [Listener]) {
        self.pacing = pacing
        self.collector = DeepCollector(thresholds: thresholds, window: window)
        self.listeners = listeners
    }

    var current: (result: DeepResult?, interval: Double?, owners: OwnerSnapshot?) { latest.withLock { $0 } }

    func start(after delay: Double) {
        queue.async { [self] in
            running = true
            schedule(after: delay)
        }
    }

    func update(pacing new: Pacing, thresholds: Thresholds, window: Double) {
        queue.async { [self] in
            pacing = new
            collector.thresholds = thresholds
            collector.window = window
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

    /// The deep dump, then the owners of listeners not yet known (a /proc scan,
    /// bounded in time); both count against the CPU budget.
    private func tick() {
        let now = (ContinuousClock.now - started).seconds
        let current = listeners()
        let result = collector.collect(listeners: current, now: now)
        let cpu0 = DeepCollector.threadCPU()
        let byInode = owners.resolve(Set(current.map(\.inode)), now: now)
        let ownerCPU = DeepCollector.threadCPU() - cpu0
        let snapshot = OwnerSnapshot(byInode: byInode, failures: owners.failures, skipped: owners.skippedProcesses)
        let interval = max(pacing.minInterval, (result.cpuSeconds + ownerCPU) / max(pacing.cpuBudget, 1e-6))
        latest.withLock { $0 = (result, interval, snapshot) }
        schedule(after: interval)
    }
}
