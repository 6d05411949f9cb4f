import Synchronization

/// One OwnerIndex for every namespace's collection: socket inodes are unique
/// host-wide, so one /proc scan serves them all. Callers take turns.
public final class SharedOwnerIndex: Sendable {
    private let index: Mutex<OwnerIndex>

    public init(_ index: sending OwnerIndex = OwnerIndex()) {
        self.index = Mutex(index)
    }

    public func resolve(_ inodes: Set<UInt32>, now: Double) -> OwnerSnapshot {
        index.withLock { i in
            OwnerSnapshot(byInode: i.resolve(inodes, now: now), failures: i.failures, skipped: i.skippedProcesses)
        }
    }
}
