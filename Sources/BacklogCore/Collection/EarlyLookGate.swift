import Synchronization

/// The CPU of early deep looks (a look at one stuck listener's port, between two
/// deep ticks), shared by every namespace and the deep loop. Early looks count
/// against `deep.cpu_budget` averaged over 60 s: one may start while what they
/// spent in the last minute is under the deep tick's share of it, and the deep
/// tick's own share is what is left of the budget after their rate over the last
/// minute (never less than a quarter). So deep work as a whole stays within the
/// budget, the cost is spread over the minute rather than one long pause (which
/// would also hold back namespace discovery), and the deep tick's pacing is
/// unchanged when nothing is stuck. Its own monotonic clock: the fast and the
/// deep loop each count time from their own start.
public final class EarlyLookGate: Sendable {
    public static let averagedOver = 60.0

    private struct State {
        var spent: [(at: ContinuousClock.Instant, cpu: Double)] = []
        var sinceDeepTick = 0.0
        /// The deep tick's current budget (a fraction of one core).
        var share = 0.01

        mutating func lastMinute() -> Double {
            let since = ContinuousClock.now - .seconds(EarlyLookGate.averagedOver)
            spent.removeAll { $0.at < since }
            return spent.reduce(0) { $0 + $1.cpu }
        }
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether an early look may start now.
    public func mayLook() -> Bool {
        state.withLock { s in s.lastMinute() < s.share * Self.averagedOver }
    }

    /// An early look that cost `cpu` seconds ended.
    public func record(cpu: Double) {
        state.withLock { s in
            s.spent.append((ContinuousClock.now, cpu))
            s.sinceDeepTick += cpu
        }
    }

    /// At a deep tick: the early looks' CPU since the last one (then zero), which
    /// is deep work although it ran on the namespaces' threads.
    public func drain() -> Double {
        state.withLock { s in
            defer { s.sinceDeepTick = 0 }
            return s.sinceDeepTick
        }
    }

    /// The deep tick's current budget, a fraction of one core (set at each deep tick).
    public var share: Double {
        get { state.withLock { $0.share } }
        set { state.withLock { $0.share = newValue } }
    }

    /// Early looks' CPU within the last 60 s.
    public func spent() -> Double {
        state.withLock { s in s.lastMinute() }
    }

    /// What of `share` the deep tick itself may use: less the early looks' rate over the last minute.
    public func deepShare(of share: Double) -> Double {
        max(share / 4, share - spent() / Self.averagedOver)
    }
}
