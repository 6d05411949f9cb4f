import BacklogCore
import Dispatch

/// The fast tick: on a DispatchSourceTimer, dumps listeners and reads counters and
/// sysctls, folds them into the queue history and publishes an immutable Snapshot.
/// Scrapes only read what was published; a slow tick delays the next tick (Dispatch
/// coalesces), never a scrape. All mutable state lives on `queue`.
public final class CollectionLoop: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var interval: Double
        public var peakWindow: Double
        public var ports: PortFilter

        public init(interval: Double, peakWindow: Double, ports: PortFilter) {
            self.interval = interval
            self.peakWindow = peakWindow
            self.ports = ports
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

    /// `publish` hands each snapshot to the HTTP side; `afterTick` runs on the timer
    /// path after it (watchdog, first-tick readiness).
    public init(
        settings: Settings, publish: @escaping @Sendable (Snapshot) -> Void,
        afterTick: @escaping @Sendable (Snapshot) -> Void = { _ in }
    ) {
        self.settings = settings
        self.collector = Collector(filter: settings.ports)
        self.history = QueueHistory(window: settings.peakWindow)
        self.publish = publish
        self.afterTick = afterTick
    }

    public func start() {
        queue.sync { schedule() }
    }

    /// Applies new settings from the next tick on (config reload).
    public func update(_ new: Settings) {
        queue.async { [self] in
            guard new != settings else { return }
            let intervalChanged = new.interval != settings.interval
            settings = new
            collector.filter = new.ports
            history.window = new.peakWindow
            if intervalChanged { schedule() }
        }
    }

    /// Stops the timer; a tick in progress finishes first.
    public func stop() {
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
        let snapshot = collector.tick(history: &history, now: now, maxStep: max(settings.interval * 4, 1))
        publish(snapshot)
        afterTick(snapshot)
    }
}
