import BacklogCore

/// The deep tick, on a thread of its own so that a slow one never delays the
/// fast tick: it finds the namespaces to watch (when all are enabled) and joins
/// the new ones, looks up the owners of the listeners the last fast ticks saw,
/// then has each namespace's collector dump SYN-RECV / ESTABLISHED / CLOSE_WAIT
/// for the ports that listen and take the owners that changed. It hands back
/// what it found (the fast ticker publishes it) and when the next is due:
/// max(min interval, CPU cost / budget) — every second on a small host, tens of
/// seconds on one with hundreds of thousands of sockets. The budget is
/// `deep.cpu_budget`, less what the rest of collection spends over its own (DeepBudget).
actor DeepWorker {
    private nonisolated let thread: NetnsThread
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.asUnownedSerialExecutor() }
    nonisolated var taskExecutor: any TaskExecutor { thread }

    /// What the fast ticker hands over for one deep tick.
    struct Request: Sendable {
        var now: Double
        var settings: CollectionLoop.Settings
        /// The open namespaces' collectors, backlogd's own first.
        var collectors: [NamespaceCollector]
        /// Every open namespace's listener inodes as of the last fast ticks.
        var inodes: Set<UInt32>
        /// Namespaces not to join (open, or failed a short while ago).
        var notToJoin: Set<String>
        /// CPU seconds so far of collection that runs elsewhere (the collection queue), by where it runs.
        var alsoMetered: [(id: ObjectIdentifier, cpu: Double)]
    }

    struct OwnerFacts: Sendable, Equatable {
        var failures: [Unattributed: UInt64]
        var skipped: UInt64
        var podUIDConflicts: Int
    }

    struct Outcome: Sendable {
        /// Nil when namespaces are not discovered (only backlogd's own is watched).
        var discovery: NamespaceRegistry.Discovery?
        /// Each namespace's snapshot made again with the look's numbers, by registry key.
        var assembled: [(key: String, snapshot: NamespaceCollector.Assembled)] = []
        var interval: Double
        var owners: OwnerFacts
    }

    private let discovery = NetnsDiscovery()
    private let owners = OwnerIndex()
    private var lookups: UInt64 = 0
    private var lastOwners: OwnerSnapshot?
    /// The lookup each namespace was last handed (a namespace joined later gets the current one).
    private var handed: [String: UInt64] = [:]
    private let earlyLooks: EarlyLookGate
    private var budget = DeepBudget()
    /// CPU seconds the HTTP side spent rendering /metrics since start: counted with
    /// the rest, so that scrapes come out of the deep tick's share too.
    private let serving: @Sendable () -> Double
    private let servingToken = ServingToken()

    init(earlyLooks: EarlyLookGate, serving: @escaping @Sendable () -> Double) throws(NetnsError) {
        thread = try NetnsThread.own()
        self.serving = serving
        self.earlyLooks = earlyLooks
    }

    deinit { thread.stop() }

    /// Discovery, the owners, then the deep looks; all count against the CPU budget.
    func tick(_ r: Request) async -> Outcome {
        let s = r.settings
        let cpu0 = ThreadCPU.seconds()
        var collectors = r.collectors
        var found: NamespaceRegistry.Discovery?
        if s.namespaces.all {
            let scan = discovery.scan()
            let wanted = scan.namespaces.filter { !$0.isHost && s.namespaces.filter.admits($0.label) }
            let (joined, failures) = NamespaceRegistry.join(wanted.filter { !r.notToJoin.contains(NamespaceRegistry.key($0)) },
                                                           peakWindow: s.peakWindow)
            found = .init(wanted: wanted, unreadable: scan.unreadable, joined: joined, failures: failures)
            // Who is in a namespace may change (the lowest pid exits).
            let occupants = Dictionary(wanted.map { (NamespaceRegistry.key($0), $0.occupant) }, uniquingKeysWith: { a, _ in a })
            for c in collectors where !c.namespace.isHost {
                if let o = occupants[NamespaceRegistry.key(c.namespace)] { await c.setOccupant(o) }
            }
            collectors += joined
        }
        owners.podsDir = s.collector.podsDir
        var resolved = OwnerSnapshot.resolve(r.inodes, with: owners, now: r.now)
        // A new generation only when an owner changed.
        if let last = lastOwners, last.byInode == resolved.byInode {
            resolved.generation = last.generation
        } else {
            lookups += 1
            resolved.generation = lookups
        }
        lastOwners = resolved
        var cpu = ThreadCPU.seconds() - cpu0
        var assembled: [(key: String, snapshot: NamespaceCollector.Assembled)] = []
        var keys = Set<String>()
        for c in collectors {
            let key = NamespaceRegistry.key(c.namespace)
            keys.insert(key)
            let give = handed[key] != resolved.generation ? resolved : nil
            let t = await c.deepTick(now: r.now, owners: give)
            if give != nil, t.assembled != nil { handed[key] = resolved.generation }
            cpu += t.cpuSeconds
            if let a = t.assembled { assembled.append((key, a)) }
        }
        handed = handed.filter { keys.contains($0.key) }
        // Each place collection runs, once: the namespaces' threads, the collection queue, this thread, the HTTP side.
        var seen = Set<ObjectIdentifier>()
        var threads: [(id: ObjectIdentifier, cpu: Double)] = []
        for t in collectors.map({ (id: $0.meter, cpu: $0.threadCPUSeconds) }) + r.alsoMetered where seen.insert(t.id).inserted {
            threads.append(t)
        }
        // This thread is inside a job (its cpuSeconds is from the last one): read its clock.
        threads += [(ObjectIdentifier(thread), ThreadCPU.seconds()), (ObjectIdentifier(servingToken), serving())]
        // Early looks ran on the namespaces' threads: deep work, not the rest of collection.
        budget.record(threads: threads, deepCPU: cpu + earlyLooks.drain(), now: r.now)
        let share = budget.budget(deep: s.deepCPUBudget, fast: s.fastCPUBudget)
        earlyLooks.share = share
        // Their rate over the last minute comes out of this tick's share (EarlyLookGate).
        let interval = max(s.deepMinInterval, cpu / max(earlyLooks.deepShare(of: share), 1e-6))
        return Outcome(discovery: found, assembled: assembled, interval: interval,
                       owners: OwnerFacts(failures: resolved.failures, skipped: resolved.skipped,
                                          podUIDConflicts: resolved.podUIDConflicts))
    }
}

/// Stands for the HTTP side among the metered threads (its id only).
private final class ServingToken: Sendable {}
