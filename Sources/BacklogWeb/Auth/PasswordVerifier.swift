import BacklogCore
import CCrypt
import NIOCore
import NIOPosix
import Synchronization

/// Checks basic-auth passwords off the event loop. A password verified before
/// (SuccessCache) is allowed at once and never shed. An uncached check costs a
/// bcrypt (~60 ms at cost 10, ~1 s at 14) on one dedicated thread, and is
/// admitted only: when its client address is not backed off after failures and
/// has no other check running (FailureBackoff); within the CPU budget of checks
/// (VerifyBudget); and while the queue holds fewer than `queueLimit`. Addresses
/// with no failure go first, so that a flood of wrong passwords from some
/// addresses does not delay a scraper's first check from another.
final class PasswordVerifier: Sendable {
    static let queueLimit = 16

    enum Outcome: Sendable, Equatable {
        case allowed
        case denied
        /// Not checked now (the queue, the budget, or a check of the same address running): try again later.
        case busy
        /// The address failed recently: not checked for this many more seconds.
        case backedOff(Double)
    }

    private struct Job: Sendable {
        let key: SuccessCache.Key
        let password: [UInt8]
        let hash: String
        let source: String?
        let suspect: Bool
        let promise: EventLoopPromise<Outcome>
    }
    private struct Queue {
        var clean: [Job] = []
        var suspect: [Job] = []
    }
    private let queue = Mutex(Queue())
    private let memory: AuthMemory
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let scratch = Scratch()

    init(memory: AuthMemory) {
        self.memory = memory
        thread.start()
    }

    deinit {
        try? thread.syncShutdownGracefully()
    }

    /// The outcome on `loop`: at once when remembered, backed off or not admitted.
    func check(user: String, password: [UInt8], hash: String, source: String?, on loop: EventLoop) -> EventLoopFuture<Outcome> {
        let key = SuccessCache.Key(user: Array(user.utf8), hash: Array(hash.utf8), password: password)
        if memory.cache.contains(key) { return loop.makeSucceededFuture(.allowed) }
        let suspect: Bool
        switch memory.backoff.admit(source) {
        case .wait(let s): return loop.makeSucceededFuture(.backedOff(s))
        case .busy: return loop.makeSucceededFuture(.busy)
        case .go(let s): suspect = s
        }
        let promise = loop.makePromise(of: Outcome.self)
        let job = Job(key: key, password: password, hash: hash, source: source, suspect: suspect, promise: promise)
        let queued = memory.budget.mayStart(suspect: suspect) && queue.withLock { q -> Bool in
            guard q.clean.count + q.suspect.count < Self.queueLimit else { return false }
            if suspect { q.suspect.append(job) } else { q.clean.append(job) }
            return true
        }
        guard queued else {
            memory.backoff.finished(source, ok: nil)
            return loop.makeSucceededFuture(.busy)
        }
        thread.submit { [self] state in runNext(cancelled: state == .cancelled) }
        return promise.futureResult
    }

    /// One queued check, clean addresses first (each submit runs one, not necessarily its own).
    private func runNext(cancelled: Bool) {
        let next = queue.withLock { q -> Job? in
            if !q.clean.isEmpty { return q.clean.removeFirst() }
            return q.suspect.isEmpty ? nil : q.suspect.removeFirst()
        }
        guard let job = next else { return }
        // The budget again: the job may have waited while others spent it.
        guard !cancelled, memory.budget.mayStart(suspect: job.suspect) else {
            memory.backoff.finished(job.source, ok: nil)
            job.promise.succeed(.busy)
            return
        }
        let cpu0 = ThreadCPU.seconds()
        let ok = Bcrypt.verify(job.password, hash: job.hash, scratch: scratch.area)
        memory.budget.spent(ThreadCPU.seconds() - cpu0)
        if ok { memory.cache.insert(job.key) }
        memory.backoff.finished(job.source, ok: ok)
        job.promise.succeed(ok ? .allowed : .denied)
    }
}

/// What the password checks remember across web-config reloads: verified
/// passwords, failures per address, the CPU budget. The daemon makes one.
package final class AuthMemory: Sendable {
    let cache = SuccessCache()
    let backoff = FailureBackoff()
    let budget = VerifyBudget()

    package init() {}
}

/// crypt_r's work area (~32 KiB), used only on the verifier's one thread.
private final class Scratch: @unchecked Sendable {
    let area = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
    init() { area.initialize(to: crypt_data()) }
    deinit { area.deallocate() }
}
