import BacklogCore
import Synchronization

/// Per client address: failed verifications and the backoff they earn. After a
/// failure an address waits 0.5 s before its next uncached verification, doubling
/// with each failure up to `maxBackoff`; a success clears it. At most one uncached
/// verification per address at a time. Bounded: at most `maxSources` addresses,
/// those whose backoff has run out forgotten first; beyond that, unknown addresses
/// share one entry. Owned by the daemon (it survives SIGHUP).
package final class FailureBackoff: Sendable {
    static let first = 0.5
    static let maxBackoff = 30.0
    static let maxSources = 4096

    struct Entry {
        var failures = 0
        var until: ContinuousClock.Instant?
        var inFlight = false
    }

    enum Admission: Equatable {
        /// Go on; `suspect`: it failed before (its verification waits behind clean ones, within the budget).
        case go(suspect: Bool)
        /// Backed off for this many more seconds.
        case wait(Double)
        /// One of its verifications is already running or queued.
        case busy
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var shared = Entry()
    }
    private let state = Mutex(State())

    package init() {}

    /// Whether `source` may start an uncached verification now (it is then in flight).
    func admit(_ source: String?, now: ContinuousClock.Instant = .now) -> Admission {
        state.withLock { s in
            let key = source ?? ""
            if s.entries[key] == nil && s.entries.count >= Self.maxSources {
                s.entries = s.entries.filter { $0.value.inFlight || ($0.value.until.map { $0 > now } ?? false) }
            }
            var e = s.entries[key] ?? (s.entries.count < Self.maxSources ? Entry() : s.shared)
            defer {
                if s.entries[key] != nil || s.entries.count < Self.maxSources { s.entries[key] = e } else { s.shared = e }
            }
            if let until = e.until, until > now { return .wait((until - now).seconds) }
            guard !e.inFlight else { return .busy }
            e.inFlight = true
            return .go(suspect: e.failures > 0)
        }
    }

    /// The verification `admit` let go ended: `ok` clears the address, a failure backs it off.
    func finished(_ source: String?, ok: Bool?, now: ContinuousClock.Instant = .now) {
        state.withLock { s in
            let key = source ?? ""
            var e = s.entries[key] ?? s.shared
            e.inFlight = false
            if ok == true {
                e.failures = 0
                e.until = nil
            } else if ok == false {
                e.failures += 1
                let wait = min(Self.maxBackoff, Self.first * Double(1 << min(e.failures - 1, 20)))
                e.until = now + .seconds(wait)
            }
            if s.entries[key] != nil { s.entries[key] = e } else { s.shared = e }
        }
    }
}
