import BacklogCore
import Dispatch
import Synchronization

/// The fast tick: on its own thread (FastTicker), every watched namespace's collector
/// dumps its listeners and reads its counters and sysctls (each on its own
/// thread, at the same time), and the results are published together as one
/// Publication. Scrapes only read what was published. The interval is paced by
/// the ticks' CPU cost: max(interval, cost / fast.cpu_budget), at most 2 s, so
/// that thousands of listeners in hundreds of namespaces (the kernel walks the
/// whole listening hash for each namespace) cost a bounded share of a core.
public final class CollectionLoop: Sendable {
    /// Its settings, defaults included (DaemonConfig holds one; SettingsTable reads keys into it).
    public struct Settings: Sendable, Equatable {
        /// Fast tick: listeners, TcpExt counters, sysctls (the fastest; fast.cpu_budget may slow it).
        public var interval: Double
        /// Window of `backlogd_listen_queue_peak`.
        public var peakWindow: Double
        /// Ports, address/process/unit patterns, the series cap, thresholds.
        public var collector: CollectorSettings
        /// Other network namespaces: watched when `all`; which ones by label pattern.
        public var namespaces: NamespaceSettings
        /// Deep tick (SYN-RECV, ESTABLISHED, CLOSE_WAIT): at most this often…
        public var deepMinInterval: Double
        /// …and on average at most this fraction of one core (DeepBudget).
        public var deepCPUBudget: Double
        /// Fraction of one core the fast tick may use on average (its interval grows, up to 2 s).
        public var fastCPUBudget: Double

        public init(interval: Double = 0.25, peakWindow: Double = 15, collector: CollectorSettings = CollectorSettings(),
                    namespaces: NamespaceSettings = .init(),
                    deepMinInterval: Double = 1, deepCPUBudget: Double = 0.01, fastCPUBudget: Double = 0.01) {
            self.interval = interval
            self.peakWindow = peakWindow
            self.collector = collector
            self.namespaces = namespaces
            self.deepMinInterval = deepMinInterval
            self.deepCPUBudget = deepCPUBudget
            self.fastCPUBudget = fastCPUBudget
        }
    }

    /// The slowest the fast tick gets, however expensive its floor.
    public static let slowestInterval = 2.0

    private let ticker: FastTicker
    private let registry: NamespaceRegistry
    private let deep: DeepLoop
    private let running = Mutex<Task<Void, Never>?>(nil)

    /// `publish` hands each tick's publication (host first) to the HTTP side;
    /// `afterTick` runs on the tick's thread after it (watchdog, first-tick readiness);
    /// `serving` says how many CPU seconds rendering /metrics has cost since start
    /// (counted in the budgets with collection: DeepBudget).
    /// Throws when a thread cannot be made (for backlogd's own namespace, the loops).
    public init(
        settings: Settings, publish: @escaping @Sendable (Publication) -> Void,
        afterTick: @escaping @Sendable (Publication) -> Void = { _ in },
        serving: @escaping @Sendable () -> Double = { 0 }
    ) throws(NetnsError) {
        let host = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: NetnsInode.ofProcess() ?? 0, path: nil)
        registry = NamespaceRegistry(host: try NamespaceSlot(host, peakWindow: settings.peakWindow))
        let tickerThread = try NetnsThread.own()
        let gate = EarlyLookGate()
        deep = try DeepLoop(registry: registry, settings: settings, alsoMetered: [tickerThread], earlyLooks: gate,
                            serving: serving)
        ticker = FastTicker(thread: tickerThread, settings: settings, registry: registry, deep: deep, earlyLooks: gate,
                            publish: publish, afterTick: afterTick)
    }

    public func start() {
        running.withLock { t in
            guard t == nil else { return }
            t = Task { [ticker] in await ticker.run() }
        }
        // After the first fast tick, so that there are listeners to match.
        deep.start(after: ticker.initialInterval)
    }

    /// Applies new settings from the next tick on (config reload); namespaces
    /// are picked up or dropped at the next deep tick.
    public func update(_ new: Settings) {
        deep.update(new)
        Task { [ticker] in await ticker.update(new) }
    }

    /// Stops the loops (a tick in progress finishes first) and leaves every namespace.
    public func stop() {
        deep.stop()
        running.withLock { t in
            t?.cancel()
            t = nil
        }
        registry.closeAll()
    }
}

/// The fast loop itself: an actor on a thread of its own, so that its wait for
/// slow namespaces blocks nobody else's thread.
actor FastTicker {
    private nonisolated let thread: NetnsThread
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
    nonisolated let initialInterval: Double
    private var settings: CollectionLoop.Settings
    private var pacing: FastPacing
    private let started = ContinuousClock.now
    private let registry: NamespaceRegistry
    private let deep: DeepLoop
    private let earlyLooks: EarlyLookGate
    private let publish: @Sendable (Publication) -> Void
    private let afterTick: @Sendable (Publication) -> Void

    init(thread: NetnsThread, settings: CollectionLoop.Settings, registry: NamespaceRegistry, deep: DeepLoop,
         earlyLooks: EarlyLookGate,
         publish: @escaping @Sendable (Publication) -> Void, afterTick: @escaping @Sendable (Publication) -> Void) {
        self.earlyLooks = earlyLooks
        self.thread = thread
        initialInterval = settings.interval
        self.settings = settings
        self.pacing = FastPacing(interval: settings.interval, budget: settings.fastCPUBudget)
        self.registry = registry
        self.deep = deep
        self.publish = publish
        self.afterTick = afterTick
    }

    deinit { thread.stop() }

    func update(_ new: CollectionLoop.Settings) {
        settings = new
        pacing.floor = new.interval
        pacing.budget = new.fastCPUBudget
    }

    /// Ticks every `pacing.interval` until cancelled; a tick that overran starts the next at once.
    func run() async {
        var next = ContinuousClock.now
        while !Task.isCancelled {
            tick()
            next += .milliseconds(Int((pacing.interval * 1000).rounded()))
            if next < .now { next = .now }
            try? await Task.sleep(until: next, tolerance: .milliseconds(max(1, Int(pacing.interval * 100))))
        }
    }

    private func tick() {
        let now = (ContinuousClock.now - started).seconds
        let interval = pacing.interval
        let (deepInterval, owners) = deep.current
        let all = registry.current
        let group = DispatchGroup()
        let request = NamespaceSlot.TickRequest(now: now, settings: settings, owners: owners, deepInterval: deepInterval,
                                                fastInterval: interval, earlyLooks: earlyLooks)
        for c in all {
            group.enter()
            c.tick(request) { group.leave() }
        }
        // A namespace that has not answered within most of an interval shows its previous
        // snapshot: a slow one must not stretch everybody's ticks (the host's included).
        _ = group.wait(timeout: .now() + .milliseconds(max(5, Int(interval * 900))))
        let results = all.compactMap(\.result)
        let cpu = results.filter { $0.tick == now }.reduce(0) { $0 + $1.cpuSeconds }
        let snapshots = results.map(\.snapshot) + registry.unreachable
        guard !snapshots.isEmpty else { return }
        let facts = ProcessFacts(ownerFailures: owners?.failures, ownerScanSkipped: owners?.skipped,
                                 netnsOpenFailures: registry.openFailures, netnsUnreadableProcesses: registry.unreadableProcesses,
                                 podUIDConflicts: owners?.podUIDConflicts)
        let publication = Publication(snapshots: snapshots, process: facts, maxListeners: settings.collector.selection.maxListeners)
        publish(publication)
        afterTick(publication)
        _ = pacing.record(cpuSeconds: cpu)
    }
}
