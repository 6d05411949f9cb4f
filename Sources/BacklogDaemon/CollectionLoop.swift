import BacklogCore
import Dispatch
import Synchronization

/// The fast tick: on a DispatchSourceTimer, dumps listeners and reads counters and
/// sysctls, folds them into the queue history and publishes an immutable Snapshot.
/// Scrapes only read what was published; a slow tick delays the next tick (Dispatch
/// coalesces), never a scrape. All mutable state lives on `queue`.
public final class CollectionLoop: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var interval: Double
        public var peakWindow: Double
        public var ports: PortFilter
        public var selection: ListenerSelection
        public var thresholds: Thresholds
        public var deepMinInterval: Double
        public var deepCPUBudget: Double

        public init(interval: Double, peakWindow: Double, ports: PortFilter, selection: ListenerSelection = ListenerSelection(),
                    thresholds: Thresholds = Thresholds(), deepMinInterval: Double = 1, deepCPUBudget: Double = 0.01) {
            self.interval = interval
            self.peakWindow = peakWindow
            self.ports = ports
            self.selection = selection
            self.thresholds = thresholds
            self.deepMinInterval = deepMinInterval
            self.deepCPUBudget = deepCPUBudget
        }
    }

    private let queue = DispatchQueue(label: "backlogd.collect.fast")
    private let collector: Collector
    private var history: QueueHistory
    private var settings: Settings
    private var timer: DispatchSourceTimer?
    private let started = ContinuousClock.now
    private let publish: @Sendable (Snapshot) -> Void
    private let afterTick: @Sendable (Snapshot) -> Void
    private var deep: DeepLoop!
    /// The last tick's listeners (with peaks), for the deep tick to match against.
    private let lastListeners = LockedBox<[Listener]>([])

    /// `publish` hands each snapshot to the HTTP side; `afterTick` runs on the timer
    /// path after it (watchdog, first-tick readiness).
    public init(
        settings: Settings, publish: @escaping @Sendable (Snapshot) -> Void,
        afterTick: @escaping @Sendable (Snapshot) -> Void = { _ in }
    ) {
        self.settings = settings
        self.collector = Collector(filter: settings.ports, thresholds: settings.thresholds)
        self.collector.selection = settings.selection
        self.history = QueueHistory(window: settings.peakWindow)
        self.publish = publish
        self.afterTick = afterTick
        let last = lastListeners
        self.deep = DeepLoop(pacing: Self.pacing(settings), thresholds: settings.thresholds, window: settings.peakWindow,
                             listeners: { last.value })
    }

    static func pacing(_ s: Settings) -> DeepLoop.Pacing {
        DeepLoop.Pacing(minInterval: s.deepMinInterval, cpuBudget: s.deepCPUBudget)
    }

    public func start() {
        queue.sync { schedule() }
        // After the first fast tick, so that there are listeners to match.
        deep.start(after: settings.interval)
    }

    /// Applies new settings from the next tick on (config reload).
    public func update(_ new: Settings) {
        queue.async { [self] in
            guard new != settings else { return }
            let intervalChanged = new.interval != settings.interval
            settings = new
            collector.filter = new.ports
            collector.selection = new.selection
            collector.thresholds = new.thresholds
            history.window = new.peakWindow
            deep.update(pacing: Self.pacing(new), thresholds: new.thresholds, window: new.peakWindow)
            if intervalChanged { schedule() }
        }
    }

    /// Stops the timer; a tick in progress finishes first.
    public func stop() {
        deep.stop()
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    private func schedule() {
        timer?.cancel()
        let t = DispatchSource.makeTimerSource(queue: queue)
        let ms = max(1, Int((settings.interval * 1000).rounded()))
        t.schedule(deadline: .now(), repeating: .milliseconds(ms), leeway: .milliseconds(max(1, ms / 10)))
        t.setEventHandler { [unowned self] in tick() }
        t.resume()
        timer = t
    }

    private func tick() {
        let now = (ContinuousClock.now - started).seconds
        let (result, interval, owners) = deep.current
        let snapshot = collector.tick(history: &history, now: now, maxStep: max(settings.interval * 4, 1),
                                      deep: result, deepInterval: interval, owners: owners)
        lastListeners.value = snapshot.listeners
        publish(snapshot)
        afterTick(snapshot)
    }
}

/// A value shared between queues behind a lock.
final class LockedBox<T: Sendable>: Sendable {
    private let mutex: Mutex<T>

    init(_ value: T) {
        mutex = Mutex(value)
    }

    var value: T {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
