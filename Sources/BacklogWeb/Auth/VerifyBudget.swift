import Synchronization

/// The CPU uncached password checks may use: `share` of one core on average, a
/// token bucket of CPU-seconds holding at most `burst`; kept apart from the
/// collection's budgets (this is the HTTP side's). A clean address (none of its
/// verifications failed) may run the bucket into a debt of up to `debt` seconds,
/// so a scraper's first check after a restart gets through a flood; an address
/// that failed before waits for the bucket to be positive.
final class VerifyBudget: Sendable {
    static let share = 0.2
    static let burst = 2.0
    static let debt = 2.0

    private struct State {
        var tokens = VerifyBudget.burst
        var at = ContinuousClock.now
    }
    private let state = Mutex(State())

    /// Whether a verification may start now.
    func mayStart(suspect: Bool, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { s in
            refill(&s, now: now)
            return suspect ? s.tokens > 0 : s.tokens > -Self.debt
        }
    }

    /// A verification used `cpu` seconds.
    func spent(_ cpu: Double, now: ContinuousClock.Instant = .now) {
        state.withLock { s in
            refill(&s, now: now)
            s.tokens -= max(0, cpu)
        }
    }

    private func refill(_ s: inout State, now: ContinuousClock.Instant) {
        let elapsed = now > s.at ? (now - s.at) : .zero
        let (sec, atto) = elapsed.components
        s.tokens = min(Self.burst, s.tokens + (Double(sec) + Double(atto) / 1e18) * Self.share)
        s.at = max(s.at, now)
    }
}
