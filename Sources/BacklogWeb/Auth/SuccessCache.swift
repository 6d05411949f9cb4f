import Synchronization

/// Verified (user, stored hash, supplied password) triples, remembered so that a
/// scraper's every request does not cost a bcrypt. Owned by the daemon, not by a
/// web-config gate: it survives SIGHUP, and a reload forgets only the users whose
/// hash changed (the hash is part of the key, so a stale entry could never match
/// anyway). A wrong password can never match: equality is byte for byte.
package final class SuccessCache: Sendable {
    static let limit = 1024

    /// Equal only when all three are equal byte for byte (bytes, not Strings:
    /// String equality is Unicode-canonical, not exact).
    struct Key: Hashable {
        let user: [UInt8]
        let hash: [UInt8]
        let password: [UInt8]
    }

    private struct State {
        var remembered: Set<Key> = []
        var order: [Key] = []
    }
    private let state = Mutex(State())

    package init() {}

    func contains(_ key: Key) -> Bool {
        state.withLock { $0.remembered.contains(key) }
    }

    func insert(_ key: Key) {
        state.withLock { s in
            guard s.remembered.insert(key).inserted else { return }
            s.order.append(key)
            if s.order.count > Self.limit { s.remembered.remove(s.order.removeFirst()) }
        }
    }

    /// After a reload: keeps the entries whose user still has the same hash.
    func keep(users: [String: String]) {
        state.withLock { s in
            s.order.removeAll { key in
                let user = String(decoding: key.user, as: UTF8.self)
                let keep = users[user].map { Array($0.utf8) == key.hash } ?? false
                if !keep { s.remembered.remove(key) }
                return !keep
            }
        }
    }

    var count: Int { state.withLock { $0.remembered.count } }
}
