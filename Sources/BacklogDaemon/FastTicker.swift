import BacklogCore

/// The coordinator of collection, on the collection queue (its executor): it
/// owns the settings, the namespace registry, the fast tick's pacing and the
/// clock, starts deep ticks and takes their results. Nothing else changes these,
/// so none of them has a lock.
///
/// A fast tick (`fire`): backlogd's own namespace is collected at once, here;
/// every other namespace on its own thread, which reports back (`report`). When
/// the last has reported, the round is published. A namespace still busy from an
/// earlier round is skipped and shows its previous snapshot; a round whose
/// laggards have not reported by the next fire is published then, without them.
actor FastTicker {
    nonisolated let queue: CollectionQueue
    nonisolated var unownedExecutor: UnownedSerialExecutor { queue.asUnownedSerialExecutor() }

    private var settings: CollectionLoop.Settings
    private var pacing: FastPacing
    private var registry: NamespaceRegistry
    private let deep: DeepWorker
    private let earlyLooks: EarlyLookGate
    private let publish: @Sendable (Publication) -> Void
    private let afterTick: @Sendable (Publication) -> Void
    private let started = ContinuousClock.now
    private var clock: CollectionClock?
    private var stopped = false
    /// Counts reloads: a deep tick that started before one brings back snapshots made with the old settings.
    private var reloads = 0

    /// The round in progress: namespaces whose tick has not reported, and the CPU of those that have.
    private var pending: Set<String> = []
    private var roundCPU = 0.0
    /// Whether a namespace of the round found something changed (else nothing is published).
    private var roundChanged = false
    /// A namespace that reported after its round was published brought a change.
    private var lateChange = false
    private var lastPublished: Publication?

    /// The deep tick: whether one runs, when the next is due, its interval, the owner lookup's counts.
    private var deepRunning = false
    private var nextDeep = 0.0
    private var deepInterval: Double?
    /// When a deep tick last ran in full, and how many were answered from the queue as quiet.
    private var lastDeepTask = -Double.infinity
    private(set) var quietDeepTicks = 0
    private var ownerFacts: DeepWorker.OwnerFacts?

    init(queue: CollectionQueue, host: NamespaceCollector, settings: CollectionLoop.Settings, deep: DeepWorker,
         earlyLooks: EarlyLookGate, publish: @escaping @Sendable (Publication) -> Void,
         afterTick: @escaping @Sendable (Publication) -> Void) {
        self.queue = queue
        self.settings = settings
        pacing = FastPacing(interval: settings.interval, budget: settings.fastCPUBudget)
        registry = NamespaceRegistry(host: host)
        self.deep = deep
        self.earlyLooks = earlyLooks
        self.publish = publish
        self.afterTick = afterTick
    }

    func start() {
        guard clock == nil, !stopped else { return }
        let c = CollectionClock(queue: queue, interval: pacing.interval) { [self] in
            assumeIsolated { $0.fire() }
        }
        clock = c
        c.start()
    }

    func update(_ new: CollectionLoop.Settings) {
        settings = new
        reloads += 1
        pacing.floor = new.interval
        pacing.budget = new.fastCPUBudget
    }

    func stop() {
        stopped = true
        clock?.cancel()
        clock = nil
        registry.closeAll()
    }

    private var now: Double { (ContinuousClock.now - started).seconds }

    // MARK: the fast tick

    /// The clock fired: a fast tick, then a deep tick if one is due.
    private func fire() {
        guard !stopped else { return }
        // Laggards of the last round show their previous snapshot.
        if !pending.isEmpty { publishRound() }
        let now = self.now
        let interval = pacing.interval
        let s = settings
        let (deepInterval, gate) = (self.deepInterval, earlyLooks)
        roundCPU = 0
        roundChanged = false
        for i in registry.slots.indices where !registry.slots[i].inFlight {
            let c = registry.slots[i].collector
            let maxStep = max(interval * 4, 1)
            if c.runs(on: queue) {
                let a = c.assumeIsolated {
                    $0.fastTick(now: now, settings: s.collector, peakWindow: s.peakWindow, maxStep: maxStep,
                                deepInterval: deepInterval, fastInterval: interval, earlyLooks: gate)
                }
                registry.update(at: i) { $0.offer(a) }
                if !a.unchanged { roundChanged = true }
                roundCPU += a.cpuSeconds
                continue
            }
            let key = registry.slots[i].key
            registry.update(at: i) { $0.inFlight = true }
            pending.insert(key)
            // On the namespace's own thread; back here with the result.
            Task(executorPreference: c.taskExecutor) { [self] in
                let a = await c.fastTick(now: now, settings: s.collector, peakWindow: s.peakWindow, maxStep: maxStep,
                                         deepInterval: deepInterval, fastInterval: interval, earlyLooks: gate)
                await report(key, a)
            }
        }
        if pending.isEmpty { publishRound() }
        startDeepIfDue(now: now)
    }

    /// A namespace's tick is done.
    private func report(_ key: String, _ a: NamespaceCollector.Assembled) {
        registry.update(key) {
            $0.inFlight = false
            $0.offer(a)
        }
        guard pending.remove(key) != nil else {
            // Late, after its round was published without it: the next round publishes what it found.
            if !a.unchanged { lateChange = true }
            return
        }
        if !a.unchanged { roundChanged = true }
        roundCPU += a.cpuSeconds
        if pending.isEmpty { publishRound() }
    }

    /// Publishes the round, then paces the clock by what it cost.
    private func publishRound() {
        pending = []
        // A round in which no namespace found anything changed publishes nothing: the HTTP
        // side keeps serving (and its cached bodies) what it has. The collectors make their
        // snapshot again at least every NamespaceCollector.republishEvery.
        let p: Publication
        if let last = lastPublished, !roundChanged, !lateChange {
            p = last
        } else {
            p = publication()
            publish(p)
            lastPublished = p
            lateChange = false
        }
        afterTick(p)
        if let i = pacing.record(cpuSeconds: roundCPU) { clock?.set(interval: i) }
    }

    private func publication() -> Publication {
        let snapshots = registry.slots.compactMap(\.latest?.snapshot) + registry.unreachable
        let facts = ProcessFacts(ownerFailures: ownerFacts?.failures, ownerScanSkipped: ownerFacts?.skipped,
                                 netnsOpenFailures: registry.openFailures, netnsUnreadableProcesses: registry.unreadableProcesses,
                                 podUIDConflicts: ownerFacts?.podUIDConflicts)
        return Publication(snapshots: snapshots, process: facts, maxListeners: settings.collector.selection.maxListeners)
    }

    // MARK: the deep tick

    /// On a quiet host the deep tick runs in full at least this often (the owners are
    /// checked again, the holders' descriptors read); between, it only asks whether a
    /// look could find anything new.
    static let quietDeepEvery = 5.0

    private func startDeepIfDue(now: Double) {
        guard !deepRunning, now >= nextDeep else { return }
        // Backlogd's own namespace only, quiet, nothing arrived since its last look: a look
        // would find the same, so none is made — asked here, on the queue, without a hop.
        if registry.slots.count == 1, !settings.namespaces.all, now - lastDeepTask < Self.quietDeepEvery,
           let host = registry.slots.first?.collector, host.runs(on: queue),
           host.assumeIsolated({ $0.quietSinceLastLook(now: now) }) {
            nextDeep = now + (deepInterval ?? settings.deepMinInterval)
            quietDeepTicks += 1
            return
        }
        lastDeepTask = now
        deepRunning = true
        let request = DeepWorker.Request(
            now: now, settings: settings, collectors: registry.slots.map(\.collector),
            inodes: registry.slots.reduce(into: Set<UInt32>()) { $0.formUnion($1.inodes) },
            notToJoin: registry.notToJoin(), alsoMetered: [(ObjectIdentifier(queue), queue.cpuSeconds)])
        let (deep, reloads) = (self.deep, self.reloads)
        Task(executorPreference: deep.taskExecutor) { [self] in
            let outcome = await deep.tick(request)
            await deepDone(outcome, startedAt: now, reloads: reloads)
        }
    }

    /// A deep tick is done: namespaces found or gone, owners' counts, the snapshots it made again (published now).
    private func deepDone(_ o: DeepWorker.Outcome, startedAt: Double, reloads: Int) {
        deepRunning = false
        guard !stopped else { return }
        nextDeep = startedAt + o.interval
        deepInterval = o.interval
        let factsChanged = ownerFacts != o.owners
        ownerFacts = o.owners
        let before = registry.slots.map(\.key)
        let unreadable = registry.unreadableProcesses
        let failed = o.discovery == nil ? [] : registry.unreachable.map(\.netns)
        if let d = o.discovery { registry.reconcile(d) } else { registry.hostOnly() }
        // Namespaces came or went, a join failed (again) or is no longer tried, or the unreadable count moved.
        let registryChanged = before != registry.slots.map(\.key) || !(o.discovery?.failures.isEmpty ?? true)
            || unreadable != registry.unreadableProcesses || (o.discovery != nil && failed != registry.unreachable.map(\.netns))
        // Made with the settings of before a reload: the next fast tick makes them anew.
        guard reloads == self.reloads else { return }
        for (key, a) in o.assembled {
            // Made from the last tick's readings, which had the interval before this one.
            var a = a
            a.snapshot.deepIntervalSeconds = o.interval
            registry.update(key) { $0.offer(a) }
        }
        guard !o.assembled.isEmpty || factsChanged || registryChanged else { return }
        let p = publication()
        publish(p)
        lastPublished = p
    }
}
