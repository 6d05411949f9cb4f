import NIOCore
import Synchronization

/// The open client connections: enforces the connection cap, picks which idle
/// connection makes room for a new one, and lets shutdown drain every connection.
final class ConnectionRegistry: Sendable {
    private struct Entry {
        let channel: Channel
        /// When it last had no request: accepted, or its last response written.
        var waitingSince: ContinuousClock.Instant
        /// Complete requests being answered (pipelining can overlap two); such a
        /// connection is never evicted.
        var responses = 0
        var responding: Bool { responses > 0 }
    }
    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var refused: UInt64 = 0
        var evicted: UInt64 = 0
        var acceptBackoffs: UInt64 = 0
        /// Shutdown has begun: no new connection, close each once its response is written.
        var draining = false
    }
    private let state = Mutex(State())

    enum Admission {
        /// Admitted; the caller closes these idle connections it replaces (usually none or one).
        case admitted(evicting: [Channel])
        case refused
    }

    /// Registers `channel`. At `cap` open connections the one that has gone longest
    /// without a request (counted from its accept or its last response) is evicted,
    /// so idle connections can never lock a scraper out; only when every connection
    /// is answering a request is the new one refused. Over the cap (it was lowered)
    /// each new connection evicts one more, so the count comes down.
    func admit(_ channel: Channel, cap: Int) -> Admission {
        state.withLock { s in
            guard !s.draining else {
                s.refused += 1
                return .refused
            }
            let needed = s.entries.count - max(cap, 1) + 1
            var victims: [Entry] = []
            if needed == 1 {
                victims = s.entries.values.filter { !$0.responding }.min { $0.waitingSince < $1.waitingSince }.map { [$0] } ?? []
            } else if needed > 1 {
                victims = Array(s.entries.values.filter { !$0.responding }.sorted { $0.waitingSince < $1.waitingSince }.prefix(min(needed, 2)))
            }
            guard needed <= 0 || !victims.isEmpty else {
                s.refused += 1
                return .refused
            }
            for v in victims { s.entries[ObjectIdentifier(v.channel)] = nil }
            s.evicted += UInt64(victims.count)
            s.entries[ObjectIdentifier(channel)] = Entry(channel: channel, waitingSince: .now)
            return .admitted(evicting: victims.map(\.channel))
        }
    }

    /// Admits `channel`, closing the idle connections it evicts, and forgets it
    /// once it closes; false when it is refused (the caller closes it).
    func register(_ channel: Channel, cap: Int) -> Bool {
        switch admit(channel, cap: cap) {
        case .refused:
            return false
        case .admitted(let evicted):
            for old in evicted { old.close(promise: nil) }
        }
        channel.closeFuture.whenComplete { [self] _ in remove(channel) }
        return true
    }

    func remove(_ channel: Channel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A complete request arrived on `channel`.
    func responseStarted(_ channel: Channel) {
        state.withLock { $0.entries[ObjectIdentifier(channel)]?.responses += 1 }
    }

    /// The response has been handed to the kernel. True when the connection must
    /// now close because shutdown is draining.
    func responseFinished(_ channel: Channel) -> Bool {
        state.withLock { s in
            let id = ObjectIdentifier(channel)
            if let n = s.entries[id]?.responses, n > 0 { s.entries[id]?.responses = n - 1 }
            s.entries[id]?.waitingSince = .now
            return s.draining && s.entries[id]?.responding != true
        }
    }

    /// Starts draining: returns the idle connections (to close now) and the ones
    /// answering a request (they close themselves once their response is written).
    func beginDrain() -> (idle: [Channel], busy: [Channel]) {
        state.withLock { s in
            s.draining = true
            let all = Array(s.entries.values)
            return (all.filter { !$0.responding }.map(\.channel), all.filter(\.responding).map(\.channel))
        }
    }

    func countAcceptBackoff() {
        state.withLock { $0.acceptBackoffs += 1 }
    }

    struct Counts {
        var open: Int
        var refused: UInt64
        var evicted: UInt64
        var acceptBackoffs: UInt64
    }

    var counts: Counts {
        state.withLock { Counts(open: $0.entries.count, refused: $0.refused, evicted: $0.evicted, acceptBackoffs: $0.acceptBackoffs) }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
