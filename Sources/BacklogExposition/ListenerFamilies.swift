import BacklogCore

/// A metric family with one group of lines per listener: its name, type, HELP,
/// which listeners have it, and their values. The lines of idle listeners do
/// not change between snapshots, which is what MetricsLayout's chunks reuse.
struct ListenerFamily: Sendable {
    enum Extra: Sendable, Equatable {
        /// One line, the listener's labels.
        case none
        /// One line per SYN-RECV kind (label `kind`).
        case kinds
        /// One line with the owner's `pid`, `container` and pod added (the info series).
        case owner
    }

    let name: String
    let type: MetricType
    let help: String
    let extra: Extra

    var lines: Int { if case .kinds = extra { SynRecvKind.allCases.count } else { 1 } }

    /// Families every snapshot has: their header is written even with no listener in them.
    var always: Bool { ListenerFamilies.alwaysWritten.contains(name) }

    /// Label text after the listener's labels on line `i`: `,kind="new"`, `,` + `info` or nothing.
    func suffix(info: ListenerFamilies.Info?, line i: Int, into w: inout ByteWriter) {
        switch extra {
        case .none: break
        case .kinds:
            w.append(byte: 0x2C)
            w.appendLabel("kind", SynRecvKind.allCases[i].rawValue)
        case .owner:
            w.append(byte: 0x2C)
            info?.write(into: &w)
        }
    }
}

/// The per-listener families of CONTRACT.md, and the listener labels every one of them carries.
enum ListenerFamilies {
    /// `netns="…",family="…",address="…",port="…",socket="…",process="…",unit="…"` (CONTRACT's order).
    static func labels(_ l: ListenerLabels) -> [UInt8] {
        var w = ByteWriter(capacity: 128)
        w.appendLabels(l.pairs)
        return w.bytes
    }

    /// The info series' own labels of one listener: its owner's pid, container and pod.
    struct Info: Sendable {
        let pid: Int32?
        let container: String?
        let pod: KubernetesPod?

        init(_ o: Owner?) {
            pid = o?.pid
            container = o?.container
            pod = o?.pod
        }

        /// For the chunk's signature: the pid alone unless there is a container or pod (most listeners).
        var signature: UInt64 {
            let p = UInt64(bitPattern: Int64(pid ?? -1))
            guard container != nil || pod != nil else { return p }
            var h = Hasher()
            h.combine(p)
            h.combine(container)
            h.combine(pod)
            return UInt64(bitPattern: Int64(h.finalize()))
        }

        /// `pid="…",container="…",k8s_namespace_name="…",k8s_pod_name="…",k8s_pod_uid="…"`:
        /// always all of them, empty where they do not apply (CONTRACT).
        func write(into w: inout ByteWriter) {
            w.appendLabels([("pid", pid.map { String($0) } ?? ""), ("container", container ?? ""),
                            ("k8s_namespace_name", pod?.namespace ?? ""), ("k8s_pod_name", pod?.name ?? ""),
                            ("k8s_pod_uid", pod?.uid ?? "")])
        }
    }

    static let alwaysWritten: Set<String> = [
        "backlogd_listen_queue_length", "backlogd_listen_queue_max", "backlogd_listen_queue_peak",
        "backlogd_listen_syn_recv", "backlogd_listen_syn_recv_oldest_seconds",
        "backlogd_listen_unaccepted_connections", "backlogd_listen_unaccepted_oldest_seconds", "backlogd_listen_unaccepted_bytes",
        "backlogd_listen_stalled_connections", "backlogd_listen_stalled_oldest_seconds",
        "backlogd_listen_close_wait_connections", "backlogd_listen_close_wait_oldest_seconds", "backlogd_listener_info",
        "backlogd_listen_no_progress_seconds",
    ]

    static let group = " A SO_REUSEPORT group's numbers are on its socket=\"0\" member."

    /// Every line's value of one listener, family after family in the order of
    /// `all(owners:)` and each family's lines in order (nil: the listener has no
    /// line in that family); one pass over the listener, no closure per value.
    static func values(_ l: Listener, owners: Bool, into v: inout [SampleValue?]) {
        v.append(.uint(UInt64(l.queueLength)))
        v.append(.uint(UInt64(l.queueMax)))
        v.append(.uint(UInt64(l.queuePeak)))
        v.append(l.fullSeconds.map { .double($0) })
        v.append(l.drops.map { .uint($0) })
        if let c = l.connections {
            for k in SynRecvKind.allCases { v.append(.int(Int64(c.syn(k).count))) }
            for k in SynRecvKind.allCases { v.append(.double(c.syn(k).oldestSeconds)) }
            v.append(.int(Int64(c.unaccepted.count)))
            v.append(.double(c.unaccepted.oldestSeconds))
            v.append(.uint(c.unacceptedBytes))
            v.append(.int(Int64(c.stalled.count)))
            v.append(.double(c.stalled.oldestSeconds))
            v.append(.int(Int64(c.closeWait.count)))
            v.append(.double(c.closeWait.oldestSeconds))
        } else {
            for _ in 0..<15 { v.append(nil) }
        }
        v.append(l.overflowsEstimated.map { .double($0) })
        // The hang clock: 0 while nothing waits; none before a TCP listener's first deep look.
        v.append(l.family == .unix || l.connections != nil ? .double(l.acceptance?.noProgressSeconds ?? 0) : nil)
        guard owners else { return }
        v.append(.int(1))
        v.append(l.fdUsage.map { .uint($0.open) })
        v.append(l.fdUsage.map { u in u.limit.map { .uint($0) } ?? .double(.infinity) })
    }

    /// `owners`: whether owners were looked up in this publication (then every listener has an info series).
    static func all(owners: Bool) -> [ListenerFamily] {
        var out: [ListenerFamily] = [
            ListenerFamily(name: "backlogd_listen_queue_length", type: .gauge,
                help: "Accept-queue length now: connections waiting for accept() (ss Recv-Q of the listener; inet_diag idiag_rqueue, unix_diag UDIAG_SHOW_RQLEN).",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_queue_max", type: .gauge,
                help: "Accept-queue max = min(listen backlog, net.core.somaxconn) (ss Send-Q; inet_diag idiag_wqueue). The queue is full when length > max.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_queue_peak", type: .gauge,
                help: "Highest accept-queue length sampled over the collection window.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_queue_full_seconds_total", type: .counter,
                help: "Seconds the accept queue was sampled full (length > max) since backlogd first saw the listener; rate() of it is the fraction of time full.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_drops_total", type: .counter,
                help: "The listening socket's own drop count (sk_drops: inet_diag SK_MEMINFO_DROPS, ss -m d), exact: segments the kernel dropped against it, i.e. SYNs dropped because its accept queue or SYN queue was full and final ACKs refused because its accept queue was full (a refused ACK counts twice; one connection can count many times as its client retries). Zero means this listener dropped nothing. TCP only.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_syn_recv", type: .gauge,
                help: "SYN-RECV request sockets on the listener, by kind, from one inet_diag dump: new = retrans 0 and expires <= 1 s (first timer not fired); deferred = retrans 0 and expires > 1 s (timer fired without a SYN-ACK re-send: a TCP_DEFER_ACCEPT hold); half_open = SYN-ACK re-sent (retrans >= 1) while the listener was not full; overflowed = re-sent while the accept queue was full within the peak window (final ACK refused)." + group,
                extra: .kinds),
            ListenerFamily(name: "backlogd_listen_syn_recv_oldest_seconds", type: .gauge,
                help: "Age of the oldest request socket of each kind, estimated from its timers (fired 1 s, then doubling) in one dump; for deferred a lower bound.",
                extra: .kinds),
            ListenerFamily(name: "backlogd_listen_unaccepted_connections", type: .gauge,
                help: "Children in the accept queue not yet accept()ed (inode 0; ESTABLISHED, or CLOSE_WAIT when the client gave up)." + group,
                extra: .none),
            ListenerFamily(name: "backlogd_listen_unaccepted_oldest_seconds", type: .gauge,
                help: "Time since the peer of the oldest unaccepted connection last sent anything (tcp_info last_data_recv/last_ack_recv).",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_unaccepted_bytes", type: .gauge,
                help: "Request bytes the unaccepted connections received that nobody read (inet_diag idiag_rqueue; a CLOSE_WAIT child's FIN not counted).",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_stalled_connections", type: .gauge,
                help: "Accepted ESTABLISHED connections on the listener's port whose unread bytes have not shrunk for longer than thresholds.stalled_after.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_stalled_oldest_seconds", type: .gauge,
                help: "Longest such stall, seconds (from the peer's last data on first sight, then tracked by socket cookie).",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_close_wait_connections", type: .gauge,
                help: "Accepted CLOSE_WAIT connections on the listener's port: the peer closed, the application did not.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_close_wait_oldest_seconds", type: .gauge,
                help: "Time since the peer of the oldest CLOSE_WAIT connection last sent anything (its FIN).",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_overflows_estimated_total", type: .counter,
                help: "DEPRECATED: use backlogd_listen_drops_total (exact, per listener); this series goes in the next release. ESTIMATE: share of TcpExt ListenOverflows growth attributed to this listener: the growth between two reads of the counter (every 4th fast tick, at least once a second, and at each tick that sees a listener full) is split among the listeners seen full at any tick in between or at the earlier read.",
                extra: .none),
            ListenerFamily(name: "backlogd_listen_no_progress_seconds", type: .gauge,
                help: "How long connections have waited for accept() with no sign of progress: nothing left the accept queue, and the processes holding the listener neither ran (CPU) nor moved bytes on accepted connections; 0 when none waits. The hang clock: not_accepting (hung) at thresholds.hung_after." + group,
                extra: .none),
        ]
        guard owners else { return out }
        out += [
            ListenerFamily(name: "backlogd_listener_info", type: .gauge,
                help: "1 per listener; labels of the listener plus the owning process's pid, container id and Kubernetes pod (namespace, name, UID), each empty when unknown or not in a container/pod. Owner: the socket inode among /proc/<pid>/fd links; unit, container and pod UID from that process's cgroup; pod namespace and name from the kubelet's pods directory (kubernetes.pods_dir).",
                extra: .owner),
            ListenerFamily(name: "backlogd_owner_open_fds", type: .gauge,
                help: "Open file descriptors (/proc/<pid>/fd) of the process holding the listening socket that is closest to its limit: the owner or one of its descendants holding the socket (nginx's workers), read at each deep look.",
                extra: .none),
            ListenerFamily(name: "backlogd_owner_fd_limit", type: .gauge,
                help: "That process's soft RLIMIT_NOFILE (/proc/<pid>/limits, Max open files; +Inf when unlimited). At the limit accept() fails with EMFILE.",
                extra: .none),
        ]
        return out
    }
}
