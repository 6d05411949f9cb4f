/// fd_limit_reached: a process holding the listener is at (critical: within 2
/// of) or near (warning: ≥ 90 % of) its descriptor limit while connections wait
/// for accept(). accept() then fails with EMFILE, so the queue fills although
/// the process runs: the cause behind not_accepting, named.
public enum FdFindings {
    public static func evaluate(listeners: [Listener]) -> [Finding] {
        var out: [Finding] = []
        for i in listeners.indices {
            guard let u = listeners[i].fdUsage, let limit = u.limit, limit > 0 else { continue }
            let critical = u.open + 2 >= limit
            guard critical || Double(u.open) >= 0.9 * Double(limit) else { continue }
            let l = listeners[i]
            let waiting = max(UInt64(l.queueLength), UInt64(l.connections?.unaccepted.count ?? 0))
            guard waiting > 0 else { continue }
            let who = u.pid == l.owner?.pid ? "it" : "pid \(u.pid) (\(u.comm))"
            let message = "\(l.describedAddress): \(who) has \(u.open) of \(limit) file descriptors open (soft RLIMIT_NOFILE) while \(waiting) connection\(waiting == 1 ? "" : "s") wait\(waiting == 1 ? "s" : "") for accept()"
                + (critical ? " — accept() fails with EMFILE (Too many open files): raise the limit (LimitNOFILE=, ulimit -n, nginx worker_rlimit_nofile) or find the descriptor leak"
                            : " — near the limit, where accept() fails with EMFILE (Too many open files)")
            out.append(Finding(kind: "fd_limit_reached", severity: critical ? .critical : .warning, listener: l, message: message))
        }
        return out
    }
}
