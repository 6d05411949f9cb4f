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
    // Read by the fast tick.
    private let latest = Mutex<(result: DeepResult?, interval: Double?)>((nil, nil))

    init(pacing: Pacing, thresholds: Thresholds, window: Double, listeners: @escaping @Sendable () -> [Listener]) {
        self.pacing = pacing
        self.collector = DeepCollector(thresholds: thresholds, window: window)
        self.listeners = listeners
    }

    var current: (result: DeepResult?, interval: Double?) { latest.withLock { $0 } }

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

    private func tick() {
        let result = collector.collect(listeners: listeners(), now: (ContinuousClock.now - started).seconds)
        let interval = max(pacing.minInterval, result.cpuSeconds / max(pacing.cpuBudget, 1e-6))
        latest.withLock { $0 = (result, interval) }
        schedule(after: interval)
    }
}
