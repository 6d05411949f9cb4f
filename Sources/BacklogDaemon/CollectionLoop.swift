import BacklogCore
import Dispatch
import Synchronization

/// The fast tick: on a DispatchSourceTimer, every watched namespace dumps its
/// listeners and reads its counters and sysctls (each on its own thread, at the
/// same time), and the results are published together as immutable Snapshots.
/// Scrapes only read what was published; a slow tick delays the next tick
/// (Dispatch coalesces), never a scrape. Mutable state lives on `queue`.
public final class CollectionLoop: @unchecked Sendable {
    public struct Settings: Sendable, Equatable {
        public var interval: Double
        public var peakWindow: Double
        public var collector: CollectorSettings
        public var namespaces: DaemonConfig.NamespaceSettings
        public var deepMinInterval: Double
        public var deepCPUBudget: Double

        public init(interval: Double, peakWindow: Double, collector: CollectorSettings = CollectorSettings(),
                    namespaces: DaemonConfig.NamespaceSettings = .init(),
                    deepMinInterval: Double = 1, deepCPUBudget: Double = 0.01) {
            self.interval = interval
            self.peakWindow = peakWindow
            self.collector = collector
            self.namespaces = namespaces
            self.deepMinInterval = deepMinInterval
            self.deepCPUBudget = deepCPUBudget
        }
    }

    private let queue = DispatchQueue(label: "backlogd.collect.fast")
    private var settings: Settings
    /// What the deep tick reads (it runs on its own queue).
    private let shared: LockedBox<Settings>
    private var timer: DispatchSourceTimer?
    private let started = ContinuousClock.now
    private let publish: @Sendable ([Snapshot]) -> Void
    private let afterTick: @Sendable ([Snapshot]) -> Void
    private let registry: NamespaceRegistry
    private let deep: DeepLoop

    /// `publish` hands each tick's snapshots (host first) to the HTTP side;
    /// `afterTick` runs on the timer path after it (watchdog, first-tick readiness).
    public init(
        settings: Settings, publish: @escaping @Sendable ([Snapshot]) -> Void,
        afterTick: @escaping @Sendable ([Snapshot]) -> Void = { _ in }
    ) {
        self.settings = settings
        self.shared = LockedBox(settings)
        let host = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: NetnsInode.ofProcess() ?? 0, path: nil)
        // backlogd's own namespace needs no thread of its own: nothing can fail.
        self.registry = NamespaceRegistry(host: try! NamespaceCollection(host, settings: settings))
        self.publish = publish
        self.afterTick = afterTick
        self.deep = DeepLoop(registry: registry, settings: shared)
    }

    public func start() {
        queue.sync { schedule() }
        // After the first fast tick, so that there are listeners to match.
        deep.start(after: settings.interval)
    }

    /// Applies new settings from the next tick on (config reload); namespaces
    /// are picked up or dropped at the next deep tick.
    public func update(_ new: Settings) {
        queue.async { [self] in
            guard new != settings else { return }
            let intervalChanged = new.interval != settings.interval
            settings = new
            shared.value = new
            if intervalChanged { schedule() }
        }
    }

    /// Stops the timers (a tick in progress finishes first) and leaves every namespace.
    public func stop() {
        deep.stop()
        queue.sync {
            timer?.cancel()
            timer = nil
        }
        registry.closeAll()
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
        let (interval, owners) = deep.current
        let all = registry.current
        let group = DispatchGroup()
        // Other namespaces on their threads first, then ours here, meanwhile.
        for c in all.filter({ !$0.namespace.isHost }) + all.filter(\.namespace.isHost) {
            group.enter()
            c.tick(now: now, settings: settings, deepInterval: interval, owners: owners) { group.leave() }
        }
        // A namespace that has not answered within most of an interval shows its previous
        // snapshot: a slow one must not stretch everybody's ticks (the host's included).
        _ = group.wait(timeout: .now() + .milliseconds(max(5, Int(settings.interval * 900))))
        var snapshots = all.compactMap { $0.latest.value } + registry.unreachable
        guard !snapshots.isEmpty else { return }
        SeriesCap.apply(&snapshots, cap: settings.collector.selection.maxListeners)
        snapshots[0].netnsOpenFailures = registry.openFailures
        snapshots[0].netnsUnreadableProcesses = registry.unreadableProcesses
        publish(snapshots)
        afterTick(snapshots)
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
