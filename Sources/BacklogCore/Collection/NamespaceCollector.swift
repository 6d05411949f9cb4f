#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag

/// One network namespace's collection and all of its state: the sock_diag
/// sockets (one for the fast tick, one for deep looks), the listener table with
/// its history, the deep trackers, the counter and sysctl caches. It is an actor
/// whose executor is a thread of its own that joined the namespace (NetnsThread),
/// so the compiler checks that this state is touched only there, and every
/// socket is opened and every /proc/thread-self file read inside the namespace.
///
/// A deep look pauses between batches of its dump; a fast tick asked for
/// meanwhile runs in the pause (it uses the other socket), so a long dump on a
/// busy host never holds the fast tick back for more than a few milliseconds.
public actor NamespaceCollector {
    public nonisolated let namespace: WatchedNamespace
    /// Where it runs: a thread that joined the namespace, or (backlogd's own
    /// namespace, in the daemon) the collection queue, which the fast tick runs on too.
    private nonisolated let home: Home
    enum Home: Sendable {
        case thread(NetnsThread)
        case queue(CollectionQueue)
    }

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        switch home {
        case .thread(let t): t.asUnownedSerialExecutor()
        case .queue(let q): q.asUnownedSerialExecutor()
        }
    }
    /// CPU seconds of where it runs (NetnsThread.cpuSeconds, CollectionQueue.cpuSeconds).
    public nonisolated var threadCPUSeconds: Double {
        switch home {
        case .thread(let t): t.cpuSeconds
        case .queue(let q): q.cpuSeconds
        }
    }
    /// Where it runs, once for each place whose CPU is counted (several collectors never share a thread,
    /// but the collection queue runs the fast tick too).
    public nonisolated var meter: ObjectIdentifier {
        switch home {
        case .thread(let t): ObjectIdentifier(t)
        case .queue(let q): ObjectIdentifier(q)
        }
    }
    /// Where it runs as a task executor: a task that calls into this actor and
    /// does a little around it runs wholly there, without hops to Swift's shared pool.
    public nonisolated var taskExecutor: any TaskExecutor {
        switch home {
        case .thread(let t): t
        case .queue(let q): q
        }
    }
    /// Whether it runs on `queue` (the fast tick calls it there without a hop).
    public nonisolated func runs(on queue: CollectionQueue) -> Bool {
        if case .queue(let q) = home { return q === queue }
        return false
    }

    private var fastSocket: Result<SockDiagSocket, SockDiagError>?
    private var deepCollector: DeepCollector?
    private var table: ListenerTable
    private var netstat: NetstatSource
    private let sysctl: SysctlSource
    private var health = SourceHealth()
    private var cookies = CookieGrowth()
    private var cachedNetstat: (counters: NetstatCounters?, status: SourceStatus, at: Double)?
    private var cachedSysctls: (values: [String: Int64], status: SourceStatus, at: Double)?
    private var deepResult: DeepResult?
    private var deepRunning = false
    /// The owners the deep side handed over last, and the lookup put on the listeners.
    private var owners: OwnerSnapshot?
    private var ownersApplied: UInt64?
    /// The last tick's readings and settings: a deep look makes the snapshot again from them.
    private var last: (readings: NamespaceReadings, settings: CollectorSettings, now: Double)?
    private var sequence: UInt64 = 0
    /// The last snapshot made, and when: an unchanged tick hands it back.
    private var lastAssembled: (snapshot: Snapshot, at: Double)?
    /// Counts changes of the set of listeners (a look's findings hold for the set it saw).
    private var membership: UInt64 = 0
    /// The namespace's received segments when a look last found it quiet (DeepResult.isQuiet), and the set then.
    private var quietAt: (segments: UInt64, membership: UInt64)?
    /// Received segments at the last real read of the counters, and the latest count read (and when).
    private let segmentCount = SegmentCount()
    private var segmentsAtNetstat: UInt64?
    private var segments: (count: UInt64, at: Double)?
    /// Counter reads left out because no segment had arrived (for tests).
    public private(set) var netstatReadsSkipped = 0
    /// Hung or busy: the looks' memory per group with connections waiting.
    private var progress = ProgressTracker()
    /// Which groups a load balancer keeps out while they recover.
    private var rotation = RotationMemory()
    private var occupant: NetnsOccupant?
    /// Early looks per group in the current episode, when the last was, and the
    /// longest queue seen at the episode's looks.
    private var early: [GroupKey: (looks: Int, last: Double, watermark: UInt32)] = [:]
    private var earlyRunning = false
    /// A deep look waiting for the early look in progress to end.
    private var waitingForEarly: [CheckedContinuation<Void, Never>] = []
    /// Early deep looks since start (for tests and the benchmark).
    public private(set) var earlyLooks = 0

    /// Joins the namespace on a new thread (backlogd's own: a plain thread), or
    /// for backlogd's own namespace (`ns.path` nil) runs on `queue` when given.
    public init(_ ns: WatchedNamespace, peakWindow: Double = 15, on queue: CollectionQueue? = nil,
                netstat: NetstatSource = NetstatSource(), sysctl: SysctlSource = SysctlSource()) throws(NetnsError) {
        namespace = ns
        if let queue, ns.path == nil {
            home = .queue(queue)
        } else {
            home = .thread(try NetnsThread(path: ns.path, inode: ns.path == nil ? nil : ns.inode))
        }
        table = ListenerTable(netns: ns.label, window: peakWindow)
        self.netstat = netstat
        self.sysctl = sysctl
        occupant = ns.occupant
    }

    deinit {
        // No task can reach the actor any more: its thread may end (and leave the namespace).
        if case .thread(let t) = home { t.stop() }
    }

    /// Who is in the namespace, refreshed by each discovery.
    public func setOccupant(_ o: NetnsOccupant?) {
        occupant = o
    }

    // MARK: the daemon's fast tick

    /// The counters are read every this many fast ticks when nothing is full.
    public static let counterTicks = 4.0

    /// One fast tick: one LISTEN dump of TCP (both families in one walk) and one of UNIX sockets, the
    /// counters (every `counterTicks` ticks, at least once a second — and at once
    /// when a TCP listener is full, so that overflow growth finds its listener),
    /// sysctls (every 40 ticks, at least every 10 s), then the snapshot. `owners`,
    /// when given, replace the ones the deep side last handed over (tests and the
    /// benchmark pass them here; the daemon's deep tick hands them to `deepTick`).
    /// `now` is monotonic seconds; `fastInterval` the paced interval. Returns the
    /// thread CPU time it took, for the fast tick's pacing.
    public func tick(now: Double, settings: CollectorSettings, peakWindow: Double, maxStep: Double,
                     owners: OwnerSnapshot?, deepInterval: Double?, fastInterval: Double?,
                     earlyLooks gate: EarlyLookGate? = nil) -> (snapshot: Snapshot, cpuSeconds: Double) {
        let t = fastTick(now: now, settings: settings, peakWindow: peakWindow, maxStep: maxStep, owners: owners,
                         deepInterval: deepInterval, fastInterval: fastInterval, earlyLooks: gate)
        return (t.snapshot, t.cpuSeconds)
    }

    /// A snapshot as a tick or a deep look made it.
    public struct Assembled: Sendable {
        public var snapshot: Snapshot
        /// Thread CPU seconds it took.
        public var cpuSeconds: Double
        /// Counts up with each snapshot this collector makes: the newer of two wins.
        public var sequence: UInt64
        /// The inodes of every listener of the namespace (for the owner lookup), when they changed.
        public var inodes: Set<UInt32>?
        /// The tick found nothing changed: `snapshot` is the last one, not to be published again.
        public var unchanged = false
    }

    /// The fast tick as the daemon runs it: `tick`, with what the deep side needs.
    public func fastTick(now: Double, settings: CollectorSettings, peakWindow: Double, maxStep: Double,
                         owners given: OwnerSnapshot? = nil, deepInterval: Double?, fastInterval: Double?,
                         earlyLooks gate: EarlyLookGate? = nil) -> Assembled {
        let cpu0 = ThreadCPU.seconds()
        table.window = peakWindow
        // Reading the counters costs a tick's worth of work at 50 listeners: when the
        // tick is paced slower at scale, so are they (every 4th tick, as at 250 ms).
        let netstatEvery = max(1, Self.counterTicks * (fastInterval ?? 0) * 0.99)
        // Sysctls likewise: every 10 s at 250 ms; at 2 s, with a hundred namespaces, every 80 s.
        let sysctlsEvery = max(10, 40 * (fastInterval ?? 0))
        var r = read(now: now, settings: settings, maxStep: maxStep, netstatEvery: netstatEvery, sysctlsEvery: sysctlsEvery,
                     cookieHold: peakWindow)
        if let given { owners = given }
        if r.membershipChanged { membership += 1 }
        if let owners, owners.generation != ownersApplied || r.membershipChanged {
            table.apply(owners: owners.byInode)
            ownersApplied = owners.generation
            r.readings.listeners = table.listeners
        }
        r.readings.deepIntervalSeconds = deepInterval
        r.readings.fastIntervalSeconds = fastInterval
        if let previous = last, let made = lastAssembled, now - made.at < Self.republishEvery,
           Self.nothingMoved(previous.readings, r.readings), previous.settings == settings,
           made.snapshot.findings.isEmpty, made.snapshot.heldOut.isEmpty {
            // The same snapshot as the last one (its timestamps aside): nothing to assemble or publish.
            unchangedTicks += 1
            return Assembled(snapshot: made.snapshot, cpuSeconds: ThreadCPU.seconds() - cpu0, sequence: sequence, inodes: nil,
                             unchanged: true)
        }
        last = (r.readings, settings, now)
        var snapshot = SnapshotAssembly.assemble(r.readings, settings: settings)
        snapshot.heldOut = rotation.update(snapshot, now: now)
        if let gate, !table.steadyGroups.isEmpty || !early.isEmpty {
            considerEarlyLook(now: now, findings: snapshot.findings, gate: gate, thresholds: settings.thresholds, window: peakWindow)
        }
        sequence += 1
        lastAssembled = (snapshot, now)
        let inodes = r.membershipChanged || sequence == 1 ? Set(table.listeners.lazy.map(\.inode)) : nil
        return Assembled(snapshot: snapshot, cpuSeconds: ThreadCPU.seconds() - cpu0, sequence: sequence, inodes: inodes)
    }

    /// An unchanged snapshot is made again at least this often (its sources' last-success
    /// times, and /healthz, which goes stale when nothing is published).
    public static let republishEvery = 5.0

    /// Fast ticks that found nothing changed and made no snapshot (for tests).
    public private(set) var unchangedTicks = 0

    /// Whether two ticks' readings make the same snapshot: the listener table was not
    /// written (it is shared with the last snapshot, so any write copies it: the same
    /// storage means no field changed), every queue is empty (a wait ages without a
    /// number changing), and the counters, sysctls, sources' states and the rest are equal.
    static func nothingMoved(_ a: NamespaceReadings, _ b: NamespaceReadings) -> Bool {
        let sameTable = a.listeners.withUnsafeBufferPointer { x in b.listeners.withUnsafeBufferPointer { $0.baseAddress == x.baseAddress } }
        guard sameTable, a.listeners.count == b.listeners.count, b.listeners.allSatisfy({ $0.queueLength == 0 }) else { return false }
        guard a.sources.count == b.sources.count,
              zip(a.sources, b.sources).allSatisfy({
                  $0.name == $1.name && $0.up == $1.up && $0.error == $1.error && $0.skipped == $1.skipped
                      // A sysctl read (every 10 s) shows as one: its time is what says the values are current.
                      && ($0.name != "sysctl" || $0.lastSuccess == $1.lastSuccess)
              })
        else { return false }
        return a.netstat == b.netstat && a.sysctls == b.sysctls && a.cookieGrowth == b.cookieGrowth
            && a.unattributedOverflows == b.unattributedOverflows && a.occupant == b.occupant
            && a.deepIntervalSeconds == b.deepIntervalSeconds && a.fastIntervalSeconds == b.fastIntervalSeconds
            && a.deep?.status.up == b.deep?.status.up && a.counterDeltas == b.counterDeltas
    }

    /// The deep tick's look at this namespace. `owners` are the ones the deep side
    /// resolved, when they changed (they are put on the listeners now, and on new
    /// ones at later ticks). Returns its CPU time and the snapshot made again from
    /// the last tick's readings with what the look found, to publish at once
    /// (nil before the first tick, or when another deep look was running).
    public func deepTick(now: Double, owners given: OwnerSnapshot?) async -> (cpuSeconds: Double, assembled: Assembled?) {
        guard let (readings, settings, _) = last, !deepRunning else { return (0, nil) }
        let cpu0 = ThreadCPU.seconds()
        var changed = false
        if let given {
            owners = given
            table.apply(owners: given.byInode)
            ownersApplied = given.generation
            changed = true
        }
        // Read before the look: a segment that arrives during it makes the next one look again.
        let segments = segmentCount.read()
        var lookCPU = 0.0
        if quietSinceLastLook(segments: segments) {
            // Quiet, and nothing arrived since a look found it so: the same look would find the same.
            // The holders' descriptors change without traffic: read them still.
            deepLooksSkipped += 1
            if table.applyFdUsage() { changed = true }
        } else {
            lookCPU = await deepLook(now: now, thresholds: settings.thresholds, window: readings.windowSeconds).cpuSeconds
            quietAt = deepResult?.isQuiet == true ? segments.map { ($0, membership) } : nil
            changed = true
        }
        guard changed else { return (lookCPU + ThreadCPU.seconds() - cpu0, nil) }
        var r = readings
        r.listeners = table.listeners
        r.deep = deepResult
        var snapshot = SnapshotAssembly.assemble(r, settings: settings)
        snapshot.heldOut = rotation.update(snapshot, now: now)
        last = (r, settings, now)
        sequence += 1
        lastAssembled = (snapshot, now)
        let cpu = lookCPU + ThreadCPU.seconds() - cpu0
        return (cpu, Assembled(snapshot: snapshot, cpuSeconds: cpu, sequence: sequence, inodes: nil))
    }

    /// Whether a deep look now would find what the last one found: it found the
    /// namespace quiet (DeepResult.isQuiet), the set of listeners is the same, every
    /// accept queue is empty, and no segment has arrived since (`segments`: the count now).
    func quietSinceLastLook(segments: UInt64?) -> Bool {
        guard let q = quietAt, let segments, q.segments == segments, q.membership == membership else { return false }
        return table.listeners.allSatisfy { $0.queueLength == 0 }
    }

    /// The same for the fast ticker, from the segment count the last tick read (at most
    /// `within` seconds ago; else read now): whether the deep tick has anything to look at here.
    public func quietSinceLastLook(now: Double, within: Double = 1.5) -> Bool {
        let count = segments.flatMap { now - $0.at <= within ? $0.count : nil } ?? segmentCount.read()
        return quietSinceLastLook(segments: count)
    }

    /// Deep looks the daemon's deep tick left out: the namespace was quiet and nothing arrived (`deepTick`).
    public private(set) var deepLooksSkipped = 0

    // MARK: early deep looks

    /// Most early looks per group and episode, and the least time between two.
    public static let earlyLooksPerEpisode = 2
    public static let earlyLookSpacing = 2.0

    /// A queue that holds connections and does not shrink (ListenerTable.steadyGroups)
    /// gets a deep look at its port now, rather than at the next deep tick (tens of
    /// seconds away on a busy host): looks 2 s apart tell hung from busy. Rare by
    /// construction: none while not_accepting is raised for the group; at most one
    /// per group every 2 s, and 2 per episode. An episode ends when the group's queues
    /// are all empty, or when its queue grows past the longest seen at the episode's
    /// looks (new evidence: a server whose queue a busy healthy life kept at 1 hangs
    /// and it climbs); a busy healthy server whose queue stays where it was gets its
    /// two looks (they see progress), then none. A group whose looks have not decided
    /// (connections wait, no progress, not hung) keeps getting one every 2 s until its
    /// hang clock can reach hung_after. And only while early looks are within the
    /// deep budget (EarlyLookGate).
    private func considerEarlyLook(now: Double, findings: [Finding], gate: EarlyLookGate, thresholds: Thresholds, window: Double) {
        // A raised finding ends the episode (the deep tick keeps it up to date).
        let raised = Set(findings.lazy.filter { $0.kind == "not_accepting" }.compactMap { $0.listener?.groupKey })
        if !raised.isEmpty { early = early.filter { !raised.contains($0.key) } }
        let candidates = Set(table.steadyGroups).subtracting(raised)
        // Stuck listeners already reported cost no pass over the table.
        guard !candidates.isEmpty || !early.isEmpty else { return }
        // The longest queue of each group that has one.
        var longest: [GroupKey: UInt32] = [:]
        for l in table.listeners where l.queueLength > 0 && l.family != .unix {
            longest[l.groupKey] = max(longest[l.groupKey] ?? 0, l.queueLength)
        }
        early = early.filter { longest[$0.key] != nil }
        // Groups whose looks have not decided yet (waiting, no progress, not hung) keep
        // getting looks until the hang clock can reach hung_after.
        var undecided = Set<GroupKey>()
        for l in table.listeners where l.socket == 0 {
            if let a = l.acceptance, !a.progressed, a.hung == nil { undecided.insert(l.groupKey) }
        }
        let undecidedLooks = Self.earlyLooksPerEpisode + Int((thresholds.hungAfter / Self.earlyLookSpacing).rounded(.up)) + 1
        var due: [GroupKey: Int] = [:]
        for g in candidates {
            guard let e = early[g] else {
                due[g] = 1
                continue
            }
            guard now - e.last >= Self.earlyLookSpacing else { continue }
            if (longest[g] ?? 0) > e.watermark {
                due[g] = 1
            } else if e.looks < Self.earlyLooksPerEpisode || (undecided.contains(g) && e.looks < undecidedLooks) {
                due[g] = e.looks + 1
            }
        }
        guard !due.isEmpty, !earlyRunning, !deepRunning, gate.mayLook() else { return }
        for (g, looks) in due { early[g] = (looks, now, max(early[g]?.watermark ?? 0, longest[g] ?? 0)) }
        earlyRunning = true
        earlyLooks += 1
        Task {
            let cpu = await earlyLook(groups: Set(due.keys), now: now, thresholds: thresholds, window: window)
            gate.record(cpu: cpu)
        }
    }

    /// A deep look at the ports of `groups` only, amending the last deep result.
    private func earlyLook(groups: Set<GroupKey>, now: Double, thresholds: Thresholds, window: Double) async -> Double {
        defer {
            earlyRunning = false
            // A deep look that waited for this one goes on.
            for w in waitingForEarly { w.resume() }
            waitingForEarly = []
        }
        return await look(now: now, thresholds: thresholds, window: window, only: groups)
    }

    /// The dump (of every listening port, or of `only`'s), its numbers onto the
    /// listeners, then the holders' descriptors (their owners came with the last
    /// tick) of the listeners looked at. Returns its CPU time.
    private func look(now: Double, thresholds: Thresholds, window: Double, only groups: Set<GroupKey>?) async -> Double {
        openSockets()
        guard let deep = deepCollector else { return 0 }
        deep.thresholds = thresholds
        deep.window = window
        let result = await deep.collect(listeners: table.listeners, now: now, onlyPorts: groups.map { Set($0.map(\.port)) })
        deepResult = result
        table.apply(result.stats)
        let fdStart = ThreadCPU.seconds()
        table.applyFdUsage(only: groups)
        table.apply(acceptance: judgeProgress(result, deep: deep, now: now, thresholds: thresholds, only: groups), only: groups)
        return result.cpuSeconds + ThreadCPU.seconds() - fdStart
    }

    /// Hung or busy, for each group looked at whose connections wait: the dump's
    /// accept and byte progress, the UNIX queues' heads, and the holders read now
    /// (their CPU, states and, once a wait reaches not_accepting_after, wait channels).
    /// A group with nothing waiting costs a dictionary lookup.
    private func judgeProgress(_ r: DeepResult, deep: DeepCollector, now: Double, thresholds t: Thresholds,
                               only: Set<GroupKey>?) -> [GroupKey: AcceptEvidence] {
        var holders: [GroupKey: Set<Int32>] = [:]
        var unixWaiting: [UInt32: GroupKey] = [:]
        var unixGroups: [GroupKey] = []
        for l in table.listeners {
            if let only, !only.contains(l.groupKey) { continue }
            if l.family == .unix {
                unixGroups.append(l.groupKey)
                if l.queueLength > 0 { unixWaiting[l.inode] = l.groupKey }
            }
            if let h = l.owner?.holders, !h.isEmpty, (l.queueLength > 0 || r.stats[l.groupKey]?.unaccepted.count ?? 0 > 0) {
                holders[l.groupKey, default: []].formUnion(h)
            }
        }
        // Holders shared by several groups (a master holding many listeners) are read once a look.
        var threadBudget = HolderSample.threadsPerLook
        var sampled: [Set<Int32>: (sample: HolderSample?, waits: Bool)] = [:]
        func sample(_ g: GroupKey, oldest: Double) -> HolderSample? {
            guard let pids = holders[g] else { return nil }
            let waits = oldest >= t.notAcceptingAfter
            if let done = sampled[pids], done.waits || !waits { return done.sample }
            let s = HolderSample.read(Array(pids), waits: waits, threadBudget: &threadBudget)
            sampled[pids] = (s, waits)
            return s
        }
        var out: [GroupKey: AcceptEvidence] = [:]
        for (g, c) in r.stats where only?.contains(g) ?? true {
            let u = c.unaccepted
            let facts = LookFacts(now: now, waiting: u.count, oldestWait: u.oldestSeconds, accepted: r.acceptProgress[g],
                                  acceptedSeen: r.acceptedSeen[g], bytesMoved: r.bytesMoved[g], acceptedOpen: r.acceptedOpen[g],
                                  holders: u.count > 0 ? sample(g, oldest: u.oldestSeconds) : nil)
            if let e = progress.look(g, facts, thresholds: t) { out[g] = e }
        }
        let queues = deep.unixQueues(Set(unixWaiting.keys), now: now)
        for g in unixGroups where unixWaiting.values.contains(g) == false {
            _ = progress.look(g, LookFacts(now: now, waiting: 0, oldestWait: 0), thresholds: t)
        }
        for (inode, g) in unixWaiting {
            let q = queues[inode]
            let facts = LookFacts(now: now, waiting: q?.waiting ?? 0, oldestWait: q?.oldest ?? 0, accepted: q?.accepted,
                                  holders: q.map { sample(g, oldest: $0.oldest) } ?? nil)
            if let e = progress.look(g, facts, thresholds: t) { out[g] = e }
        }
        if only == nil { progress.keep(Set(table.listeners.lazy.map(\.groupKey))) }
        return out
    }

    // MARK: deep looks

    /// A deep look: SYN-RECV, ESTABLISHED and CLOSE_WAIT sockets on the ports that
    /// listen, matched to the listeners of the last tick. At most one at a time
    /// (a second call while one runs returns at once, with no CPU). Returns its
    /// CPU time and the inodes of the listeners (for the owner lookup).
    public func deepLook(now: Double, thresholds: Thresholds, window: Double) async -> (cpuSeconds: Double, inodes: Set<UInt32>) {
        let inodes = Set(table.listeners.lazy.map(\.inode))
        guard !deepRunning else { return (0, inodes) }
        deepRunning = true
        // An early look in progress finishes first (it shares the socket and the trackers).
        if earlyRunning { await withCheckedContinuation { waitingForEarly.append($0) } }
        defer { deepRunning = false }
        return (await look(now: now, thresholds: thresholds, window: window, only: nil), inodes)
    }

    // MARK: --once

    /// `--once`: fast samples every `interval` over `window` seconds (so a queue
    /// that filled and drained in between shows in the peak, and counter growth
    /// over the window is known), deep looks at the start and the end (so that
    /// "growing" rules have two looks); `window` 0 is a single dump of each.
    /// Owners are not looked up here: the caller does it once for every namespace.
    public func once(window: Double, interval: Double = 0.25, settings: CollectorSettings) async -> NamespaceReadings {
        let start = ContinuousClock.now
        let elapsed = { (ContinuousClock.now - start).seconds }
        table.window = window + 1
        let first = window > 0 ? readNetstat(now: 0, every: 0).counters : nil
        // `r` is initialised before the loop, not declared empty and assigned in it:
        // the release build of that form (an async function) destroyed the
        // never-initialised value on the first assignment — garbage from the task's
        // frame, a crash in swift_release whenever malloc reused a dirty block
        // (every run with one malloc arena; valgrind: "depends on uninitialised value").
        let sample = { (t: Double) in
            self.read(now: t, settings: settings, maxStep: interval * 2, netstatEvery: 0, sysctlsEvery: .infinity,
                      cookieHold: window + 1)
        }
        var t = elapsed()
        var r = sample(t)
        if window > 0 {
            // The looks read the holders of listeners with a queue (hung or busy):
            // their owners are needed now, not only at the end.
            let waiting = Set(table.listeners.lazy.filter { $0.queueLength > 0 }.map(\.inode))
            if !waiting.isEmpty {
                table.apply(owners: OwnerSnapshot.resolve(waiting, with: OwnerIndex(podsDir: settings.podsDir), now: 0).byInode)
            }
            _ = await deepLook(now: elapsed(), thresholds: settings.thresholds, window: window + 1)
        }
        while t < window {
            try? await Task.sleep(for: .seconds(min(interval, window - t)))
            t = elapsed()
            r = sample(t)
        }
        _ = await deepLook(now: elapsed(), thresholds: settings.thresholds, window: window + 1)
        var readings = r.readings
        readings.oneShot = true
        readings.listeners = table.listeners
        readings.deep = deepResult
        readings.windowSeconds = window
        readings.timestamp = WallClock.now()
        if let first, let last = readings.netstat {
            var deltas: [ListenCounter: UInt64] = [:]
            for c in ListenCounter.allCases {
                if let a = first.value(section: "TcpExt", field: c.rawValue), let b = last.value(section: "TcpExt", field: c.rawValue) {
                    deltas[c] = b >= a ? b - a : 0
                }
            }
            readings.counterDeltas = deltas
            readings.cookieGrowth = deltas[.reqQFullDoCookies]
        } else {
            readings.cookieGrowth = nil
        }
        return readings
    }

    // MARK: reading the sources

    /// Both sockets at the first use, on this thread (so in the namespace): the
    /// daemon's fd count is what it is from the first tick on.
    private func openSockets() {
        if fastSocket == nil { fastSocket = Result { () throws(SockDiagError) in try SockDiagSocket() } }
        if deepCollector == nil { deepCollector = DeepCollector(netns: namespace.label, window: table.window) }
    }

    /// Wall seconds of one read of each fast source, for the benchmark (the table is updated as on a tick).
    public func timeSources() -> (listeners: Double, netstat: Double, sysctls: Double) {
        func time(_ body: () -> Void) -> Double {
            let t0 = ContinuousClock.now
            body()
            return (ContinuousClock.now - t0).seconds
        }
        table.begin()
        let l = time { _ = readListeners(ports: .all) }
        table.finish(now: 0, maxStep: 0, listenOverflows: nil)
        let n = time { _ = readNetstat(now: 0, every: 0) }
        let s = time { _ = readSysctls(now: 0, every: 0) }
        return (l, n, s)
    }

    /// The listeners of the last tick.
    public var listeners: [Listener] { table.listeners }

    /// The fast sources, into the table; the readings carry what the rules need.
    private func read(now: Double, settings: CollectorSettings, maxStep: Double, netstatEvery: Double,
                      sysctlsEvery: Double, cookieHold: Double) -> (readings: NamespaceReadings, membershipChanged: Bool) {
        table.begin()
        var statuses = readListeners(ports: settings.ports)
        let (counters, netstatStatus, fresh) = readNetstat(now: now, every: table.fullSinceCounterRead ? 0 : netstatEvery)
        let changed = table.finish(now: now, maxStep: maxStep,
                     listenOverflows: fresh ? counters?.value(section: "TcpExt", field: ListenCounter.listenOverflows.rawValue) : nil)
        // TCPReqQFullDoCookies, not SyncookiesSent: with tcp_syncookies=2 every SYN gets a cookie.
        let cookieGrowth = cookies.record(fresh ? counters?.value(section: "TcpExt", field: ListenCounter.reqQFullDoCookies.rawValue) : nil,
                                          now: now, hold: cookieHold)
        let (sysctls, sysctlStatus) = readSysctls(now: now, every: sysctlsEvery)
        statuses += [netstatStatus, sysctlStatus]
        var readings = NamespaceReadings(
            netns: namespace.label, timestamp: WallClock.now(), windowSeconds: table.window, listeners: table.listeners,
            sources: statuses, netstat: counters, cookieGrowth: cookieGrowth, sysctls: sysctls, deep: deepResult)
        readings.unattributedOverflows = table.unattributedOverflows
        readings.occupant = occupant
        return (readings, changed)
    }

    /// One LISTEN dump of TCP (both families) and of UNIX sockets, into the table.
    private func readListeners(ports: PortFilter) -> [SourceStatus] {
        openSockets()
        var statuses: [SourceStatus] = []
        for name in ["tcp", "unix"] {
            let started = ContinuousClock.now
            do {
                let sock = try fastSocket!.get()
                let before = sock.malformedMessages
                if name == "tcp" {
                    try sock.dumpTCP(family: SockDiagSocket.bothFamilies, states: TCPStates.listen) { batch in
                        for rec in batch where ports.admits(rec.local_port) { table.observe(tcp: rec) }
                    }
                } else {
                    try sock.dumpUnix(states: TCPStates.listen) { batch in
                        for rec in batch { table.observe(unix: rec) }
                    }
                }
                // A skipped message may have been a listener: say so rather than under-report.
                let skipped = sock.malformedMessages - before
                let error = skipped > 0 ? "\(skipped) malformed netlink messages skipped; listeners may be missing" : nil
                statuses.append(health.status(name, started, error: error, skipped: skipped))
            } catch {
                statuses.append(health.status(name, started, error: "\(error)"))
            }
        }
        return statuses
    }

    /// The counters, read again when `every` seconds have passed (or after a failure);
    /// `fresh`: read now (their growth since the last read is new), not from the cache.
    private func readNetstat(now: Double, every: Double) -> (counters: NetstatCounters?, status: SourceStatus, fresh: Bool) {
        if let c = cachedNetstat, now - c.at < every, c.status.up { return (c.counters, c.status, false) }
        let started = ContinuousClock.now
        // The listen counters move only when segments arrive: with none since the last read
        // they are what they were (Tcp InSegs, a smaller file, says so), and known now.
        let segmentsNow = every > 0 ? segmentCount.read() : nil
        if let c = cachedNetstat, c.status.up, let segmentsNow, segmentsNow == segmentsAtNetstat {
            segments = (segmentsNow, now)
            let status = health.status("netstat", started)
            cachedNetstat = (c.counters, status, now)
            netstatReadsSkipped += 1
            return (c.counters, status, false)
        }
        let result: (NetstatCounters?, SourceStatus)
        do {
            result = (try netstat.read(), health.status("netstat", started))
        } catch {
            result = (nil, health.status("netstat", started, error: "\(error)"))
        }
        cachedNetstat = (result.0, result.1, now)
        // Read before the counters: a segment in between makes the next read real.
        segmentsAtNetstat = result.1.up ? segmentsNow : nil
        if let segmentsNow { segments = (segmentsNow, now) }
        return (result.0, result.1, true)
    }

    /// Sysctls change by hand, rarely: read again every `every` seconds (or after a failure).
    private func readSysctls(now: Double, every: Double) -> ([String: Int64], SourceStatus) {
        if let c = cachedSysctls, now - c.at < every, c.status.up { return (c.values, c.status) }
        let started = ContinuousClock.now
        let (values, errors) = sysctl.read()
        // One line: the first reason, and how many more there are.
        let error = errors.first.map { errors.count > 1 ? "\($0) (and \(errors.count - 1) more)" : $0 }
        let status = health.status("sysctl", started, error: error)
        cachedSysctls = (values, status, now)
        return (values, status)
    }
}
