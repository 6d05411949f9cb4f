import BacklogCore
import Dispatch

/// Collection, as the daemon runs it. One clock (CollectionClock: a Dispatch
/// timer on the collection queue) drives everything:
/// 1. each fire is a fast tick (FastTicker): backlogd's own namespace is collected
///    right there, on the queue; every other watched namespace on its own thread
///    (it must run inside the namespace), each reporting back when done;
/// 2. once every namespace has reported, their snapshots are published together
///    as one Publication (scrapes only read what was published);
/// 3. when its paced interval has passed, a fire also starts a deep tick
///    (DeepWorker, on its own thread: /proc scans never delay the fast tick): it
///    discovers namespaces, resolves owners, has each collector look deeper and
///    take its owners, and hands the result back, which is published at once.
/// The fast interval is paced by the ticks' CPU cost: max(interval, cost /
/// fast.cpu_budget), at most 2 s (FastPacing); the deep one by its cost against
/// deep.cpu_budget (DeepBudget).
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

    private let queue: CollectionQueue
    private let ticker: FastTicker

    /// `publish` hands each publication (host first) to the HTTP side;
    /// `afterTick` runs on the collection queue after each fast tick's (watchdog, first-tick readiness);
    /// `serving` says how many CPU seconds rendering /metrics has cost since start
    /// (counted in the budgets with collection: DeepBudget).
    /// Throws when a thread cannot be made (the deep tick's).
    public init(
        settings: Settings, publish: @escaping @Sendable (Publication) -> Void,
        afterTick: @escaping @Sendable (Publication) -> Void = { _ in },
        serving: @escaping @Sendable () -> Double = { 0 }
    ) throws(NetnsError) {
        let queue = CollectionQueue()
        self.queue = queue
        let host = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: NetnsInode.ofProcess() ?? 0, path: nil)
        let gate = EarlyLookGate()
        let deep = try DeepWorker(earlyLooks: gate, serving: serving)
        ticker = FastTicker(queue: queue, host: try NamespaceCollector(host, peakWindow: settings.peakWindow, on: queue),
                            settings: settings, deep: deep, earlyLooks: gate, publish: publish, afterTick: afterTick)
    }

    public func start() {
        queue.queue.sync { ticker.assumeIsolated { $0.start() } }
    }

    /// Applies new settings from the next tick on (config reload), the deep tick's
    /// included (it is handed them with each request); namespaces are picked up or
    /// dropped at the next deep tick. Returns once they are in place.
    public func update(_ new: Settings) {
        queue.queue.sync { ticker.assumeIsolated { $0.update(new) } }
    }

    /// Stops the clock (a tick in progress finishes first) and leaves every namespace;
    /// what a deep tick in progress brings back is dropped.
    public func stop() {
        queue.queue.sync { ticker.assumeIsolated { $0.stop() } }
    }
}
