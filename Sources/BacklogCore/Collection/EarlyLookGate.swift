import Synchronization

/// The CPU of early deep looks (a look at one stuck listener's port, between two
/// deep ticks), shared by every namespace and the deep loop. Early looks count
/// against `deep.cpu_budget` averaged over 60 s: they may start while what they
/// spent in the last minute is under the deep tick's share of it, and what they
/// spent is added to the cost the next deep tick is paced by, so that deep work
/// as a whole stays within the budget and the deep tick's pacing is unchanged
/// when nothing is stuck.
public final class EarlyLookGate: Sendable {
    public static let averagedOver = 60.0

    private struct State {
        var spent: [(at: Double, cpu: Double)] = []
        var sinceDeepTick = 0.0
        /// The deep tick's current budget (a fraction of one core).
        var share = 0.01
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether an early look may start at monotonic time `now`.
    public func mayLook(now: Double) -> Bool {
        state.withLock { s in
            s.spent.removeAll { $0.at < now - Self.averagedOver }
            return s.spent.reduce(0) { $0 + $1.cpu } < s.share * Self.averagedOver
        }
    }

    /// An early look that cost `cpu` seconds ended at `now`.
    public func record(cpu: Double, now: Double) {
        state.withLock { s in
            s.spent.append((now, cpu))
            s.sinceDeepTick += cpu
        }
    }

    /// At a deep tick: the early looks' CPU since the last one (then zero).
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

    /// Early looks' CPU within the last 60 s (for tests and the benchmark).
    public func spent(now: Double) -> Double {
        state.withLock { s in s.spent.filter { $0.at >= now - Self.averagedOver }.reduce(0) { $0 + $1.cpu } }
    }
}
