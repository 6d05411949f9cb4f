#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag
import Dispatch
import Synchronization

/// A thread of our own that has joined a network namespace and stays in it.
/// setns() moves only the calling thread, so work for that namespace (opening its
/// sock_diag sockets, reading /proc/thread-self/net and /proc/sys) runs here, one
/// job at a time. Dispatch's pool threads are never moved: a job left behind on
/// one would read the wrong namespace.
///
/// It is also a SerialExecutor: an actor whose `unownedExecutor` is this thread
/// (NamespaceCollector) runs all its isolated code here, so the compiler checks
/// that the namespace's state is touched only in the namespace.
public final class NetnsThread: SerialExecutor, TaskExecutor, Sendable {
    private let jobs = Mutex<(queue: [@Sendable () -> Void], stopping: Bool)>(([], false))
    private let pending = DispatchSemaphore(value: 0)
    /// The thread's CPU seconds (a Double's bits) when it last finished a job.
    private let cpuBits = Atomic<UInt64>(0)

    /// CPU seconds (user + system) the thread had used when it last finished a
    /// job, its wake-ups included: what collection costs in all, for the deep
    /// tick's share of the budgets (DeepWorker). One clock read per job.
    public var cpuSeconds: Double { Double(bitPattern: cpuBits.load(ordering: .relaxed)) }

    /// Starts a thread, moves it into the namespace open at `path`
    /// (/run/netns/NAME or /proc/PID/ns/net) and checks it is the one with
    /// `inode` (a pid may have been reused). Returns once it is in, or throws why not.
    public init(path: String?, inode: UInt64?) throws(NetnsError) {
        let entered = Mutex<Result<Void, NetnsError>?>(nil)
        let ready = DispatchSemaphore(value: 0)
        try Self.spawn { [self] in
            // No path: a thread of backlogd's own namespace (nothing to join).
            let result = path.map { Self.enter(path: $0, inode: inode) } ?? .success(())
            entered.withLock { $0 = result }
            ready.signal()
            if case .success = result { runJobs() }
        }
        ready.wait()
        if case .failure(let e) = entered.withLock({ $0! }) { throw e }
    }

    /// A thread in backlogd's own namespace.
    public static func own() throws(NetnsError) -> NetnsThread {
        try NetnsThread(path: nil, inode: nil)
    }

    /// As a TaskExecutor (`Task(executorPreference:)`) it runs a task's
    /// non-isolated code here, off Swift's shared pool: a caller that blocks a
    /// pool thread waiting for that task cannot starve it.
    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let serial = asUnownedSerialExecutor()
        let task = asUnownedTaskExecutor()
        // The actor stops its thread in its deinit, when no task can reach it any more,
        // so this does not happen; should it, a job run here beats a task suspended for ever.
        if !async({ unowned.runSynchronously(isolatedTo: serial, taskExecutor: task) }) {
            unowned.runSynchronously(isolatedTo: serial, taskExecutor: task)
        }
    }

    /// Runs `job` on the thread, after the jobs before it; false once stopped.
    @discardableResult
    public func async(_ job: @escaping @Sendable () -> Void) -> Bool {
        let accepted = jobs.withLock { j in
            guard !j.stopping else { return false }
            j.queue.append(job)
            return true
        }
        if accepted { pending.signal() }
        return accepted
    }

    /// Runs `body` on the thread and returns its result; nil once stopped.
    public func sync<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let box = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        let accepted = async {
            let v = body()
            box.withLock { $0 = v }
            done.signal()
        }
        guard accepted else { return nil }
        done.wait()
        return box.withLock { $0 }
    }

    /// The thread ends after the jobs already queued; it leaves the namespace with it.
    public func stop() {
        jobs.withLock { $0.stopping = true }
        pending.signal()
    }

    private func runJobs() {
        while true {
            pending.wait()
            let next: (@Sendable () -> Void)? = jobs.withLock { j in
                if !j.queue.isEmpty { return j.queue.removeFirst() }
                return nil
            }
            if let next {
                next()
                cpuBits.store(ThreadCPU.seconds().bitPattern, ordering: .relaxed)
                continue
            }
            if jobs.withLock({ $0.stopping }) { return }
        }
    }

    private static func enter(path: String, inode: UInt64?) -> Result<Void, NetnsError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(NetnsError(path: path, errno: errno, step: "open")) }
        let rc = bd_enter_netns(fd)
        close(fd)
        if rc < 0 { return .failure(NetnsError(path: path, errno: -rc, step: "setns")) }
        if let inode, NetnsInode.ofCurrentThread() != inode {
            return .failure(NetnsError(path: path, errno: ESRCH, step: "check"))
        }
        return .success(())
    }

    /// A detached pthread running `body` (its stack: 512 KiB, plenty for a collection).
    private static func spawn(_ body: @escaping @Sendable () -> Void) throws(NetnsError) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstacksize(&attr, 512 << 10)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        let arg = Unmanaged.passRetained(Box(body)).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, &attr, { arg in
            // A name of its own in `top -H` (it would inherit its creator's, e.g. a Dispatch worker's).
            // (pthread_setname_np is not in Swift's Glibc module: the same through /proc.)
            let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = "backlogd-ns".withCString { write(fd, $0, strlen($0)) }
                close(fd)
            }
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, arg)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(arg).release()
            throw NetnsError(path: "", errno: rc, step: "pthread_create")
        }
    }
}

/// Why a namespace could not be joined.
public struct NetnsError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    /// open, setns, check (the namespace at the path was not the one expected), pthread_create.
    public var step: String

    public init(path: String, errno: Int32, step: String) {
        self.path = path
        self.errno = errno
        self.step = step
    }

    /// The label of `backlogd_netns_open_failed_total{reason}`.
    public var reason: String {
        switch (step, errno) {
        case ("setns", EPERM), ("open", EACCES), ("open", EPERM): "no_permission"
        case ("open", ENOENT), ("open", ESRCH), ("check", _): "gone"
        default: "other"
        }
    }

    public var description: String {
        if step == "check" { return "\(path): the namespace changed while it was opened" }
        if step == "setns" && errno == EPERM { return "\(path): setns: not permitted (needs CAP_SYS_ADMIN)" }
        return "\(path): \(step): \(String(cString: strerror(errno)))"
    }
}

/// Network namespace identities: the inode of an nsfs file.
public enum NetnsInode {
    public static func of(path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    /// The calling thread's namespace (after setns, not the main thread's).
    public static func ofCurrentThread() -> UInt64? {
        of(path: "/proc/thread-self/ns/net")
    }

    /// The process's own namespace (its main thread's): the one labelled `host`.
    public static func ofProcess() -> UInt64? {
        of(path: "/proc/self/ns/net")
    }
}
