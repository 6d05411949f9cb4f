import Dispatch
import Synchronization

/// The daemon's collection queue: a serial Dispatch queue that is also the
/// executor of the fast tick and of backlogd's own namespace's collector. Its
/// Dispatch timer's handler runs here and calls both synchronously
/// (`assumeIsolated`), so a tick of a host with nothing but its own namespace
/// hops to no other thread. Dispatch's pool threads stay in backlogd's own
/// namespace (NetnsThread), which is why only that namespace can be collected here.
///
/// The CPU of every job run here is added up (its thread changes from job to
/// job, so no thread clock can say it): what collection costs, for the budgets.
public final class CollectionQueue: SerialExecutor, TaskExecutor, @unchecked Sendable {
    // @unchecked: DispatchSpecificKey is not marked Sendable; it is set once and only read.
    public let queue: DispatchQueue
    private let key = DispatchSpecificKey<UInt8>()
    private let cpuNanoseconds = Atomic<UInt64>(0)

    public init(label: String = "backlogd.collection") {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: key, value: 1)
    }

    /// CPU seconds of the jobs run here so far.
    public var cpuSeconds: Double { Double(cpuNanoseconds.load(ordering: .relaxed)) / 1e9 }

    /// Whether the caller runs on the queue.
    public var isCurrent: Bool { DispatchQueue.getSpecific(key: key) != nil }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let serial = asUnownedSerialExecutor()
        let task = asUnownedTaskExecutor()
        queue.async { [self] in
            metered { unowned.runSynchronously(isolatedTo: serial, taskExecutor: task) }
        }
    }

    public func checkIsolated() {
        precondition(isCurrent, "not on the collection queue")
    }

    public func isIsolatingCurrentContext() -> Bool? {
        isCurrent
    }

    /// Runs `body` (on the queue), its CPU counted.
    public func metered<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = ThreadCPU.nanoseconds()
        defer { cpuNanoseconds.wrappingAdd(ThreadCPU.nanoseconds() &- t0, ordering: .relaxed) }
        return try body()
    }
}
