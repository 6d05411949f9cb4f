import Dispatch
import Synchronization

/// Runs async work from synchronous code and waits for it (`--once`, the
/// benchmark, tests). The task runs on a thread of its own, never on Swift's
/// shared pool, so a caller that is itself a pool thread cannot deadlock it.
public enum BlockingWait {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () async -> T) throws(NetnsError) -> T {
        let thread = try NetnsThread.own()
        defer { thread.stop() }
        let box = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: thread) {
            let v = await body()
            box.withLock { $0 = v }
            done.signal()
        }
        done.wait()
        return box.withLock { $0! }
    }
}
