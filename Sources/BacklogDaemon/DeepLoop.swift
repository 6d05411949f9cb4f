import BacklogCore
import Synchronization

/// The deep tick, on a thread of its own so a slow one never delays the fast
/// tick: finds the namespaces to watch (when all are enabled), has each
/// namespace's collector dump SYN-RECV / ESTABLISHED / CLOSE_WAIT for the ports
/// that listen, looks up the owners of new listeners, then waits
/// max(min interval, CPU cost / budget): every second on a small host, tens of
/// seconds on one with hundreds of thousands of sockets. The budget is
/// `deep.cpu_budget`, less what the fast tick spends over its own (DeepBudget).
final class DeepLoop: Sendable {
    private let worker: DeepWorker
    private let running = Mutex<Task<Void, Never>?>(nil)

    /// `alsoMetered`: collection threads other than the namespaces' (the fast loop's).
    /// `earlyLooks`: the namespaces' early looks, whose CPU comes out of the deep tick's budget.
    init(registry: NamespaceRegistry, settings: CollectionLoop.Settings, alsoMetered: [NetnsThread],
         earlyLooks: EarlyLookGate, serving: @escaping @Sendable () -> Double) throws(NetnsError) {
        worker = try DeepWorker(registry: registry, settings: settings, alsoMetered: alsoMetered, earlyLooks: earlyLooks,
                                serving: serving)
    }

    /// The deep tick's interval and the latest owner lookup, for the fast tick.
    var current: (interval: Double?, owners: OwnerSnapshot?) { worker.latest.withLock { $0 } }

    func start(after delay: Double) {
        running.withLock { t in
            guard t == nil else { return }
            t = Task { [worker] in
                try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                await worker.run()
            }
        }
    }

    func update(_ new: CollectionLoop.Settings) {
        Task { [worker] in await worker.update(new) }
    }

    func stop() {
        running.withLock { t in
            t?.cancel()
            t = nil
        }
    }
}

/// The deep loop's state: discovery, the one owner index for all namespaces
/// (socket inodes are unique host-wide), its own pacing. An actor on its own
/// thread: the /proc scans it does block only that thread.
actor DeepWorker {
    private nonisolated let thread: NetnsThread
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
    /// Read by the fast tick.
    nonisolated let latest = Mutex<(interval: Double?, owners: OwnerSnapshot?)>((nil, nil))
    private let registry: NamespaceRegistry
    private var settings: CollectionLoop.Settings
    private let started = ContinuousClock.now
    private let discovery = NetnsDiscovery()
    private let owners = OwnerIndex()
    private var lookups: UInt64 = 0
    private let alsoMetered: [NetnsThread]
    private let earlyLooks: EarlyLookGate
    private var budget = DeepBudget()
    /// CPU seconds the HTTP side spent rendering /metrics since start: counted with
    /// the rest, so that scrapes come out of the deep tick's share too.
    private let serving: @Sendable () -> Double
    private let servingToken = ServingToken()

    init(registry: NamespaceRegistry, settings: CollectionLoop.Settings, alsoMetered: [NetnsThread],
         earlyLooks: EarlyLookGate, serving: @escaping @Sendable () -> Double) throws(NetnsError) {
        thread = try NetnsThread.own()
        self.serving = serving
        self.earlyLooks = earlyLooks
        self.registry = registry
        self.settings = settings
        self.alsoMetered = alsoMetered
    }

    deinit { thread.stop() }

    func update(_ new: CollectionLoop.Settings) {
        settings = new
    }

    func run() async {
        while !Task.isCancelled {
            let interval = await tick()
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    /// Discovery, the deep dumps, then the owners of listeners not yet known
    /// (a /proc scan, bounded in time); all count against the CPU budget.
    private func tick() async -> Double {
        let now = (ContinuousClock.now - started).seconds
        let s = settings
        let cpu0 = ThreadCPU.seconds()
        var wanted: [WatchedNamespace] = []
        if s.namespaces.all {
            let found = discovery.scan()
            wanted = found.namespaces.filter { !$0.isHost && s.namespaces.filter.admits($0.label) }
            registry.unreadableProcesses = found.unreadable
        } else {
            registry.unreadableProcesses = nil
        }
        await registry.reconcile(wanted, peakWindow: s.peakWindow)
        var cpu = ThreadCPU.seconds() - cpu0
        var inodes = Set<UInt32>()
        for c in registry.current {
            let look = await c.collector.deepLook(now: now, thresholds: s.collector.thresholds, window: s.peakWindow)
            cpu += look.cpuSeconds
            inodes.formUnion(look.inodes)
        }
        let cpu1 = ThreadCPU.seconds()
        owners.podsDir = s.collector.podsDir
        var resolved = OwnerSnapshot.resolve(inodes, with: owners, now: now, generation: lookups)
        // A new generation only when an owner changed: each one makes every namespace's
        // next fast tick put owners on all its listeners again.
        if let last = latest.withLock({ $0.owners }), last.byInode == resolved.byInode {
            resolved.generation = last.generation
        } else {
            lookups += 1
            resolved.generation = lookups
        }
        cpu += ThreadCPU.seconds() - cpu1
        // This thread is inside a job (its cpuSeconds is from the last one): read its clock.
        let threads = registry.current.map { (id: ObjectIdentifier($0.collector), cpu: $0.collector.threadCPUSeconds) }
            + alsoMetered.map { (id: ObjectIdentifier($0), cpu: $0.cpuSeconds) }
            + [(id: ObjectIdentifier(thread), cpu: ThreadCPU.seconds()), (id: ObjectIdentifier(servingToken), cpu: serving())]
        // Early looks ran on the namespaces' threads: deep work, not the rest of collection.
        budget.record(threads: threads, deepCPU: cpu + earlyLooks.drain(), now: now)
        let share = budget.budget(deep: s.deepCPUBudget, fast: s.fastCPUBudget)
        earlyLooks.share = share
        // Their rate over the last minute comes out of this tick's share (EarlyLookGate).
        let interval = max(s.deepMinInterval, cpu / max(earlyLooks.deepShare(of: share), 1e-6))
        latest.withLock { $0 = (interval, resolved) }
        return interval
    }
}

/// Stands for the HTTP side among the metered threads (its id only).
private final class ServingToken: Sendable {}
