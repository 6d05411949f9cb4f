import Dispatch
import Synchronization

/// One OwnerIndex for every namespace's collection: socket inodes are unique
/// host-wide, so one /proc scan serves them all. Callers take turns.
///
/// `batch(of: n)` is for `--once`: n collections ask at about the same time, and
/// asking one by one would make each scan /proc for its own inodes (and drop the
/// others' cached owners). So the first n-1 callers wait, the n-th resolves the
/// union once, and each gets its part.
public final class SharedOwnerIndex: Sendable {
    private let index: Mutex<OwnerIndex>
    private let batched: Bool
    private let batch: Mutex<Batch>
    private let released = DispatchSemaphore(value: 0)

    private struct Batch {
        var expected: Int
        var arrived = 0
        var inodes: Set<UInt32> = []
        var result: OwnerSnapshot?
        var ready: Bool { result == nil && arrived > 0 && arrived >= expected }
    }

    public init(_ index: sending OwnerIndex = OwnerIndex()) {
        self.index = Mutex(index)
        self.batched = false
        self.batch = Mutex(Batch(expected: 0))
    }

    private init(expected: Int) {
        self.index = Mutex(OwnerIndex())
        self.batched = true
        self.batch = Mutex(Batch(expected: expected))
    }

    /// For `expected` callers of `resolve`, each once (or `withdraw`).
    public static func batch(of expected: Int) -> SharedOwnerIndex {
        SharedOwnerIndex(expected: expected)
    }

    public func resolve(_ inodes: Set<UInt32>, now: Double) -> OwnerSnapshot {
        guard batched else { return resolveNow(inodes, now: now) }
        let ready = batch.withLock { b in
            b.arrived += 1
            b.inodes.formUnion(inodes)
            return b.ready
        }
        if ready { finish(now: now, byLastCaller: true) } else { released.wait() }
        let all = batch.withLock { $0.result! }
        return OwnerSnapshot(byInode: all.byInode.filter { inodes.contains($0.key) }, failures: all.failures, skipped: all.skipped)
    }

    /// Callers of `resolve` in the batch so far (waiting or done).
    public var arrived: Int { batch.withLock { $0.arrived } }

    /// A batch caller that will not ask after all (its namespace could not be joined).
    public func withdraw(now: Double = 0) {
        guard batched else { return }
        let ready = batch.withLock { b in
            b.expected -= 1
            return b.ready
        }
        if ready { finish(now: now, byLastCaller: false) }
    }

    /// `byLastCaller`: called by the last caller of `resolve` (which does not wait), or
    /// by `withdraw` (then every caller of `resolve` so far is waiting).
    private func finish(now: Double, byLastCaller: Bool) {
        let wanted = batch.withLock { $0.inodes }
        let result = resolveNow(wanted, now: now)
        let waiting = batch.withLock { b in
            b.result = result
            return b.arrived - (byLastCaller ? 1 : 0)
        }
        for _ in 0..<max(waiting, 0) { released.signal() }
    }

    private func resolveNow(_ inodes: Set<UInt32>, now: Double) -> OwnerSnapshot {
        index.withLock { i in
            OwnerSnapshot(byInode: i.resolve(inodes, now: now), failures: i.failures, skipped: i.skippedProcesses)
        }
    }
}
