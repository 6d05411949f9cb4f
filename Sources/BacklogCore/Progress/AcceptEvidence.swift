/// What the looks at a listener's waiting connections tell: whether anything
/// moves (a connection left the queue, the holders ran or moved bytes on
/// accepted connections) and, when nothing does, why (HangCause). Put on every
/// member of the listener's group by the deep look; nil while nothing waits.
public struct AcceptEvidence: Sendable, Hashable, Codable {
    /// Connections waiting for accept() (TCP: unaccepted children; UNIX: pending connections).
    public var waiting: Int
    /// How long the oldest has waited (UNIX: since backlogd first saw it at the head of the queue).
    public var oldestWaitSeconds: Double
    /// How long connections have waited with no sign of progress: the hang clock.
    public var noProgressSeconds: Double
    /// Progress seen between the last two looks.
    public var progressed: Bool
    /// Set when the evidence says hung (not_accepting); nil: busy, or not decided yet.
    public var hung: HangCause?
    /// The holders' threads in words ("2 of 3 threads wait on locks (futex), 1 sleeps"); nil when not read.
    public var threads: String?
    /// Every wait channel read "0" (no CAP_SYS_PTRACE): the threads' waits are unknown.
    public var waitsHidden: Bool

    public init(waiting: Int, oldestWaitSeconds: Double, noProgressSeconds: Double, progressed: Bool,
                hung: HangCause? = nil, threads: String? = nil, waitsHidden: Bool = false) {
        self.waiting = waiting
        self.oldestWaitSeconds = oldestWaitSeconds
        self.noProgressSeconds = noProgressSeconds
        self.progressed = progressed
        self.hung = hung
        self.threads = threads
        self.waitsHidden = waitsHidden
    }
}

/// Why a listener is judged hung, in the words of its finding.
public enum HangCause: Sendable, Hashable, Codable {
    /// Every holder stopped (`T`: SIGSTOP, SIGTSTP), at every look from not_accepting_after on.
    case stopped
    /// Every holder traced (`t`: a debugger attached and holding it).
    case traced
    /// Every holder's cgroup is frozen (`frozen 1`: docker pause, systemctl freeze).
    case frozen
    /// Every thread in uninterruptible sleep (`D`), at this wait channel.
    case uninterruptible(threads: Int, wchan: String)
    /// No CPU, no bytes, nothing accepted still open: the process stopped calling accept().
    case idle
    /// Nothing moved for this long (≥ thresholds.hung_after).
    case noProgress(seconds: Double)

    /// The clause a finding ends with.
    public func clause(threads: String?, waitsHidden: Bool) -> String {
        switch self {
        case .stopped: return "the process is stopped (SIGSTOP)"
        case .traced: return "a debugger is attached to it (traced, stopped)"
        case .frozen: return "its cgroup is frozen"
        case .uninterruptible(let n, let wchan):
            return "all \(n) thread\(n == 1 ? " is" : "s are") in uninterruptible sleep at \(wchan)"
        case .idle:
            let waits = waitsHidden ? nil : threads
            return "the process is idle and not calling accept() (no CPU, no connection open)" + (waits.map { ": \($0)" } ?? "")
        case .noProgress(let s):
            let waits = waitsHidden ? "the cause is unknown without CAP_SYS_PTRACE (wait channels read 0)"
                : threads ?? "the holders are not known"
            return "nothing has moved for \(ConnectionFindings.seconds(s)) (no accept(), no CPU, no bytes): \(waits)"
        }
    }
}
