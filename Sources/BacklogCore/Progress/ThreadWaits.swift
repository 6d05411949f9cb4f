/// The holders' threads, by what they do: their state (task/*/stat, world-readable)
/// and, for sleeping ones, their wait channel (task/*/wchan: "0" without
/// CAP_SYS_PTRACE), summed into a few words for a finding.
public struct ThreadWaits: Sendable, Hashable {
    /// What one thread does, as a finding says it.
    public enum Activity: String, Sendable, Hashable, CaseIterable {
        case runs, stopped, traced, frozen, locks, poll, accept, socket, pipe, child, signal, sleeps, disk, other, unknown

        /// Plural and singular phrases ("2 wait on locks (futex)", "1 waits on locks (futex)").
        var phrase: (many: String, one: String) {
            switch self {
            case .runs: ("run", "runs")
            case .stopped: ("are stopped (SIGSTOP)", "is stopped (SIGSTOP)")
            case .traced: ("are stopped by a debugger (traced)", "is stopped by a debugger (traced)")
            case .frozen: ("are frozen (cgroup freezer)", "is frozen (cgroup freezer)")
            case .locks: ("wait on locks (futex)", "waits on a lock (futex)")
            case .poll: ("wait for events (poll)", "waits for events (poll)")
            case .accept: ("wait in accept()", "waits in accept()")
            case .socket: ("wait on sockets", "waits on a socket")
            case .pipe: ("wait on pipes", "waits on a pipe")
            case .child: ("wait for child processes", "waits for a child process")
            case .signal: ("wait for signals", "waits for a signal")
            case .sleeps: ("sleep", "sleeps")
            case .disk: ("wait on disk (uninterruptible)", "waits on disk (uninterruptible)")
            case .other: ("wait in the kernel", "waits in the kernel")
            case .unknown: ("wait on something unknown", "waits on something unknown")
            }
        }
    }

    public private(set) var counts: [Activity: Int] = [:]
    public private(set) var total = 0
    /// Sleeping threads whose wait channel read "0".
    public private(set) var hidden = 0

    public init() {}

    /// One thread: its state letter and, if read, its wait channel.
    public mutating func add(state: UInt8, wchan: String?) {
        total += 1
        let a: Activity
        switch state {
        case UInt8(ascii: "R"): a = .runs
        case UInt8(ascii: "T"): a = .stopped
        case UInt8(ascii: "t"): a = .traced
        case UInt8(ascii: "D"): a = wchan.map(Self.activity) ?? .disk
        default:
            if let wchan, wchan != "0", !wchan.isEmpty {
                a = Self.activity(wchan)
            } else {
                if wchan != nil { hidden += 1 }
                a = .unknown
            }
        }
        counts[a, default: 0] += 1
    }

    /// A kernel function name as an activity: futex waits show as `futex_do_wait`
    /// on 6.x and `futex_wait_queue…` before, so families are matched by prefix.
    public static func activity(_ wchan: String) -> Activity {
        let w = wchan.lowercased()
        func has(_ p: String...) -> Bool { p.contains { w.hasPrefix($0) } }
        if has("futex") { return .locks }
        if has("do_freezer_trap", "get_signal", "__refrigerator", "refrigerator") { return .frozen }
        if has("ep_poll", "do_epoll", "do_sys_poll", "do_select", "core_sys_select", "poll_schedule", "do_poll") { return .poll }
        if has("inet_csk_accept", "unix_accept", "inet_accept") { return .accept }
        if has("sk_wait", "wait_woken", "sk_stream_wait", "tcp_recvmsg", "unix_stream_read", "unix_wait") { return .socket }
        if has("pipe_") { return .pipe }
        if has("do_wait", "kernel_wait") { return .child }
        if has("do_sigtimedwait", "sigsuspend", "sys_pause", "do_sigsuspend") { return .signal }
        if has("hrtimer_nanosleep", "do_nanosleep", "schedule_timeout", "msleep", "clock_nanosleep") { return .sleeps }
        if has("io_schedule", "folio_wait", "wait_on_page", "jbd2", "blk_", "bit_wait_io", "ext4", "xfs") { return .disk }
        return .other
    }

    /// "2 of 3 threads wait on locks (futex), 1 sleeps"; the largest group first.
    public var summary: String {
        guard total > 0 else { return "no thread could be read" }
        let ordered = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.rawValue < $1.key.rawValue }
        var parts: [String] = []
        for (i, (a, n)) in ordered.enumerated() {
            let verb = n == 1 ? a.phrase.one : a.phrase.many
            if i == 0 {
                parts.append(n == total ? (total == 1 ? "its only thread \(a.phrase.one)" : "all \(n) threads \(a.phrase.many)")
                                         : "\(n) of \(total) threads \(verb)")
            } else {
                parts.append("\(n) \(verb)")
            }
        }
        return parts.joined(separator: ", ")
    }
}
