/// One look's facts about a listener group's waiting connections.
public struct LookFacts: Sendable {
    /// Monotonic seconds.
    public var now: Double
    public var waiting: Int
    public var oldestWait: Double
    /// A connection waiting at the previous look has left the queue; nil without a previous look.
    public var accepted: Bool?
    /// accept() took one of them (not merely gone: a client's RST also takes one out of
    /// the socket tables); nil when not known (UNIX: their queue keeps closed clients).
    public var acceptedSeen: Bool?
    /// The application read or wrote on accepted connections since the previous look; nil when unknown.
    public var bytesMoved: Bool?
    /// Accepted connections still open; nil when unknown (UNIX listeners).
    public var acceptedOpen: Int?
    /// The holders at this look; nil when they are not known.
    public var holders: HolderSample?

    public init(now: Double, waiting: Int, oldestWait: Double, accepted: Bool? = nil, acceptedSeen: Bool? = nil,
                bytesMoved: Bool? = nil, acceptedOpen: Int? = nil, holders: HolderSample? = nil) {
        self.now = now
        self.waiting = waiting
        self.oldestWait = oldestWait
        self.accepted = accepted
        self.acceptedSeen = acceptedSeen
        self.bytesMoved = bytesMoved
        self.acceptedOpen = acceptedOpen
        self.holders = holders
    }
}

/// Hung or only busy, per listener group, from the looks at its waiting
/// connections (CONTRACT.md, round 3). Progress is a connection leaving the
/// queue, bytes moving on accepted connections, or the holders running (more
/// CPU than housekeeping). Hung is no progress for `hungAfter`; sooner, from
/// `notAcceptingAfter`, when the holders cannot run at two looks in a row
/// (stopped, traced, frozen, all in D) or are plainly idle. Values only: the
/// caller reads /proc and the dumps, this only remembers and judges.
public struct ProgressTracker: Sendable {
    /// CPU that counts as running: this share of a core between two looks (a hung
    /// server's timer thread that wakes each second uses ~0.01 %; see README), and at
    /// least 2 clock ticks, the granularity of /proc's counters.
    public static let ranShare = 0.02

    struct Episode {
        var lastLook: Double
        var lastProgress: Double?
        var holders: HolderSample?
        var haltLooks = 0
    }
    private var episodes: [GroupKey: Episode] = [:]

    public init() {}

    /// The evidence after one look; nil (and the episode ends) when nothing waits.
    public mutating func look(_ g: GroupKey, _ f: LookFacts, thresholds t: Thresholds) -> AcceptEvidence? {
        guard f.waiting > 0 else {
            episodes[g] = nil
            return nil
        }
        var e = episodes[g] ?? Episode(lastLook: f.now)
        let first = episodes[g] == nil
        var ran = false
        var cpuKnown = false
        if !first, let before = e.holders, let now = f.holders {
            cpuKnown = true
            let dt = max(f.now - e.lastLook, 0.001)
            let used = now.cpuSeconds - before.cpuSeconds
            ran = before.pids != now.pids
                || used >= max(2 / HolderSample.ticksPerSecond, Self.ranShare * dt)
        }
        // A connection that left the queue counts when accept() took it (DeepResult.acceptedSeen);
        // one its client reset is not progress. Without that distinction (UNIX), leaving counts.
        let accepted = f.acceptedSeen ?? (f.accepted == true)
        let progressed = !first && (accepted || f.bytesMoved == true || ran)
        if progressed { e.lastProgress = f.now }
        let waitStart = f.now - f.oldestWait
        let clock = max(0, f.now - max(waitStart, e.lastProgress ?? -.infinity))
        // Halted at consecutive looks. The first may see progress from before the halt (the
        // previous look can be a deep tick ago); between the last two there must be none.
        if f.holders?.halt != nil { e.haltLooks += 1 } else { e.haltLooks = 0 }
        e.lastLook = f.now
        e.holders = f.holders
        episodes[g] = e

        // The strongest cause names the hang: a halt seen now beats "idle" and "nothing moved".
        var halted: HangCause?
        switch f.holders?.halt {
        case .stopped?: halted = .stopped
        case .traced?: halted = .traced
        case .frozen?: halted = .frozen
        case .uninterruptible(let w)?: halted = .uninterruptible(threads: f.holders?.threads.total ?? 0, wchan: w)
        case nil: halted = nil
        }
        var hung: HangCause?
        let waited = f.oldestWait >= t.notAcceptingAfter
        if clock >= t.hungAfter {
            hung = halted ?? .noProgress(seconds: clock)
        } else if waited, e.haltLooks >= 2, !progressed, let halted {
            hung = halted
        } else if waited, !first, !progressed, f.accepted != nil, f.acceptedOpen == 0, cpuKnown, f.bytesMoved != true {
            hung = halted ?? .idle
        }
        let threads = f.holders.map { $0.threads.total > 0 ? $0.threads.summary : nil } ?? nil
        let hidden = (f.holders?.threads.hidden ?? 0) > 0 && f.holders?.threads.hidden == f.holders?.threads.total
        return AcceptEvidence(waiting: f.waiting, oldestWaitSeconds: f.oldestWait, noProgressSeconds: clock,
                              progressed: progressed, hung: hung, threads: threads, waitsHidden: hidden)
    }

    /// Forgets groups that are gone (a full look: only `live` remain).
    public mutating func keep(_ live: Set<GroupKey>) {
        episodes = episodes.filter { live.contains($0.key) }
    }

    public var count: Int { episodes.count }
}
