import CCrypt
import NIOCore
import NIOPosix
import Synchronization

/// Checks basic-auth passwords off the event loop: bcrypt costs ~50–100 ms at
/// cost 10, so uncached checks run on one dedicated thread with at most
/// `queueLimit` waiting; beyond that the answer is "busy" at once (a 503), so a
/// flood of wrong passwords cannot stall scrapes. Successes are remembered by the
/// whole (user, stored hash, supplied password) — never by user and hash alone,
/// which would let any password in after one success, and not by a digest, which
/// would need a hash library; exporter-toolkit keys its cache the same way — at
/// most `cacheLimit` of them; a new verifier (a reload) starts empty.
final class PasswordVerifier: Sendable {
    static let queueLimit = 16
    static let cacheLimit = 1024

    enum Outcome: Sendable {
        case allowed
        case denied
        /// The queue is full: try again later.
        case busy
    }

    private struct State {
        var waiting = 0
        var remembered: Set<Key> = []
        var order: [Key] = []
    }
    private let state = Mutex(State())
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let scratch = Scratch()

    init() {
        thread.start()
    }

    deinit {
        try? thread.syncShutdownGracefully()
    }

    /// The outcome on `loop`: at once when remembered or the queue is full.
    func check(user: String, password: [UInt8], hash: String, on loop: EventLoop) -> EventLoopFuture<Outcome> {
        let key = Key(user: Array(user.utf8), hash: Array(hash.utf8), password: password)
        let admitted = state.withLock { s -> Bool? in
            if s.remembered.contains(key) { return nil }
            guard s.waiting < Self.queueLimit else { return false }
            s.waiting += 1
            return true
        }
        guard let admitted else { return loop.makeSucceededFuture(.allowed) }
        guard admitted else { return loop.makeSucceededFuture(.busy) }
        let scratch = self.scratch
        return thread.runIfActive(eventLoop: loop) {
            Bcrypt.verify(password, hash: hash, scratch: scratch.area)
        }.map { [self] ok in
            state.withLock { s in
                s.waiting -= 1
                if ok, s.remembered.insert(key).inserted {
                    s.order.append(key)
                    if s.order.count > Self.cacheLimit { s.remembered.remove(s.order.removeFirst()) }
                }
            }
            return ok ? .allowed : .denied
        }.flatMapErrorThrowing { [self] _ in
            state.withLock { $0.waiting -= 1 }
            return .busy
        }
    }

    /// A remembered success: equal only when all three are equal byte for byte.
    /// (Bytes, not Strings: String equality is Unicode-canonical, not exact.)
    struct Key: Hashable {
        let user: [UInt8]
        let hash: [UInt8]
        let password: [UInt8]
    }
}

/// crypt_r's work area (~32 KiB), used only on the verifier's one thread.
private final class Scratch: @unchecked Sendable {
    let area = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
    init() { area.initialize(to: crypt_data()) }
    deinit { area.deallocate() }
}
