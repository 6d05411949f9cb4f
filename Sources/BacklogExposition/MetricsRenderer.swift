import BacklogCore

/// Turns a Snapshot into the metric families of CONTRACT.md.
public enum MetricsRenderer {
    /// Labels of per-listener series, in their fixed order.
    public static func listenerLabels(_ l: Listener) -> [(String, String)] {
        [
            ("netns", l.netns),
            ("family", l.family.rawValue),
            ("address", l.address),
            ("port", l.port.map(String.init) ?? ""),
            ("socket", String(l.socket)),
            ("process", l.owner?.comm ?? ""),
            ("unit", l.owner?.unit ?? ""),
        ]
    }

    /// Every namespace's families (PrometheusText merges same-named ones), then the
    /// process-wide ones once: owner lookups, build info.
    public static func families(_ p: Publication, version: String) -> [MetricFamily] {
        let owners = p.process.ownerFailures != nil
        return p.snapshots.flatMap { namespaceFamilies($0, owners: owners) } + processFamilies(p.process, version: version)
    }

    /// `owners`: whether owners were looked up (then every listener has an info series).
    static func namespaceFamilies(_ s: Snapshot, owners: Bool) -> [MetricFamily] {
        var out: [MetricFamily] = []
        func perListener(_ name: String, _ help: String, _ value: (Listener) -> UInt32) {
            out.append(MetricFamily(name, .gauge, help: help, samples: s.listeners.map {
                Sample(listenerLabels($0), .uint(UInt64(value($0))))
            }))
        }
        perListener("backlogd_listen_queue_length",
                    "Accept-queue length now: connections waiting for accept() (ss Recv-Q of the listener; inet_diag idiag_rqueue, unix_diag UDIAG_SHOW_RQLEN).",
                    { $0.queueLength })
        perListener("backlogd_listen_queue_max",
                    "Accept-queue max = min(listen backlog, net.core.somaxconn) (ss Send-Q; inet_diag idiag_wqueue). The queue is full when length > max.",
                    { $0.queueMax })
        perListener("backlogd_listen_queue_peak",
                    "Highest accept-queue length sampled over the collection window.",
                    { $0.queuePeak })

        let tracked = s.listeners.filter { $0.fullSeconds != nil }
        if !tracked.isEmpty {
            out.append(MetricFamily("backlogd_listen_queue_full_seconds_total", .counter,
                                    help: "Seconds the accept queue was sampled full (length > max) since backlogd first saw the listener; rate() of it is the fraction of time full.",
                                    samples: tracked.map { Sample(listenerLabels($0), .double($0.fullSeconds!)) }))
        }

        let counted = s.listeners.filter { $0.drops != nil }
        if !counted.isEmpty {
            out.append(MetricFamily("backlogd_listen_drops_total", .counter,
                help: "The listening socket's own drop count (sk_drops: inet_diag SK_MEMINFO_DROPS, ss -m d), exact: segments the kernel dropped against it, i.e. SYNs dropped because its accept queue or SYN queue was full and final ACKs refused because its accept queue was full (a refused ACK counts twice; one connection can count many times as its client retries). Zero means this listener dropped nothing. TCP only.",
                samples: counted.map { Sample(listenerLabels($0), .uint($0.drops!)) }))
        }

        out += connectionFamilies(s)
        if owners { out += ownerFamilies(s) }

        let ns = [("netns", s.netns)]
        if let netstat = s.netstat {
            for c in ListenCounter.allCases {
                guard let v = netstat.value(section: "TcpExt", field: c.rawValue) else { continue }
                out.append(MetricFamily(c.metricName, .counter, help: c.help + " Source: /proc/net/netstat.", samples: [Sample(ns, .uint(v))]))
            }
        }
        out.append(MetricFamily("backlogd_sysctl", .gauge,
                                help: "Kernel settings that bound listen queues, from /proc/sys (label name as in sysctl).",
                                samples: s.sysctls.keys.sorted().map { Sample(ns + [("name", $0)], .int(s.sysctls[$0]!)) }))
        out.append(MetricFamily("backlogd_finding", .gauge,
                                help: "1 for each active finding (see backlogd --once for the sentence); labels kind, severity and the listener's labels.",
                                samples: s.findings.map { f in
                                    let where_ = f.listener.map(listenerLabels) ?? ns
                                    return Sample(where_ + [("kind", f.kind), ("severity", f.severity.rawValue)], .int(1))
                                }))
        out += selfMetrics(s)
        out.append(MetricFamily("backlogd_netns_info", .gauge,
            help: "1 per watched network namespace; pid, unit and container of the lowest-numbered process in it, where one was seen (empty for host and for a named namespace nobody is in).",
            samples: [Sample(ns + [("pid", s.occupant.map { String($0.pid) } ?? ""), ("unit", s.occupant?.unit ?? ""),
                                   ("container", s.occupant?.container ?? "")], .int(1))]))
        return out
    }

    /// Who owns each listener: pid in the info series (never in every series).
    static func ownerFamilies(_ s: Snapshot) -> [MetricFamily] {
        [
            MetricFamily("backlogd_listener_info", .gauge,
                help: "1 per listener; labels of the listener plus the owning process's pid (empty when unknown). Owner: the socket inode among /proc/<pid>/fd links; unit from that process's cgroup.",
                samples: s.listeners.map { Sample(listenerLabels($0) + [("pid", $0.owner.map { String($0.pid) } ?? "")], .int(1)) }),
        ] + fdFamilies(s)
    }

    /// Descriptors of the holder closest to its limit: only where holders are known.
    static func fdFamilies(_ s: Snapshot) -> [MetricFamily] {
        let known = s.listeners.filter { $0.fdUsage != nil }
        guard !known.isEmpty else { return [] }
        return [
            MetricFamily("backlogd_owner_open_fds", .gauge,
                help: "Open file descriptors (/proc/<pid>/fd) of the process holding the listening socket that is closest to its limit: the owner or one of its descendants holding the socket (nginx's workers), read at each deep look.",
                samples: known.map { Sample(listenerLabels($0), .uint($0.fdUsage!.open)) }),
            MetricFamily("backlogd_owner_fd_limit", .gauge,
                help: "That process's soft RLIMIT_NOFILE (/proc/<pid>/limits, Max open files; +Inf when unlimited). At the limit accept() fails with EMFILE.",
                samples: known.map { Sample(listenerLabels($0), $0.fdUsage!.limit.map { .uint($0) } ?? .double(.infinity)) }),
        ]
    }

    /// Owner lookups (one index for all namespaces) and the build: once per process.
    static func processFamilies(_ p: ProcessFacts, version: String) -> [MetricFamily] {
        var out: [MetricFamily] = []
        if let failures = p.ownerFailures {
            out += [
            MetricFamily("backlogd_owner_lookups_failed_total", .counter,
                help: "Owner lookups that found no process, by reason: no_permission (other users' /proc/<pid>/fd unreadable: CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE), not_found, scan_incomplete (time budget).",
                samples: Unattributed.allCases.map { Sample([("reason", $0.rawValue)], .uint(failures[$0] ?? 0)) }),
            MetricFamily("backlogd_owner_scan_skipped_total", .counter,
                help: "Processes an owner scan did not get to because it ran out of its time budget.",
                samples: [Sample([], .uint(p.ownerScanSkipped ?? 0))]),
            ]
        }
        if let failures = p.netnsOpenFailures {
            out.append(MetricFamily("backlogd_netns_open_failed_total", .counter,
                help: "Network namespaces that could not be joined, by reason: no_permission (setns needs CAP_SYS_ADMIN; /proc/PID/ns/net of another user needs CAP_SYS_PTRACE), gone (vanished before it was joined), other. Each namespace counts once per appearance; one that stays unreachable shows backlogd_source_up{source=\"netns\"} 0.",
                samples: ["no_permission", "gone", "other"].map { Sample([("reason", $0)], .uint(failures[$0] ?? 0)) }))
        }
        if let unreadable = p.netnsUnreadableProcesses {
            out.append(MetricFamily("backlogd_netns_unreadable_processes", .gauge,
                help: "Processes whose /proc/<pid>/ns/net the last namespace discovery could not read (another user's: needs CAP_SYS_PTRACE); their namespaces are not watched unless named in /run/netns.",
                samples: [Sample([], .int(Int64(unreadable)))]))
        }
        out.append(MetricFamily("backlogd_build_info", .gauge,
                                help: "1; the running backlogd's version.",
                                samples: [Sample([("version", version)], .int(1))]))
        return out
    }

    /// Per-listener connection families: only for listeners a deep dump has covered.
    static func connectionFamilies(_ s: Snapshot) -> [MetricFamily] {
        let covered = s.listeners.filter { $0.connections != nil }
        var out: [MetricFamily] = []
        func gauge(_ name: String, _ help: String, _ value: (ConnectionStats) -> SampleValue) {
            out.append(MetricFamily(name, .gauge, help: help, samples: covered.map { Sample(listenerLabels($0), value($0.connections!)) }))
        }
        let group = " A SO_REUSEPORT group's numbers are on its socket=\"0\" member."
        out.append(MetricFamily("backlogd_listen_syn_recv", .gauge,
            help: "SYN-RECV request sockets on the listener, by kind, from one inet_diag dump: new = retrans 0 and expires <= 1 s (first timer not fired); deferred = retrans 0 and expires > 1 s (timer fired without a SYN-ACK re-send: a TCP_DEFER_ACCEPT hold); half_open = SYN-ACK re-sent (retrans >= 1) while the listener was not full; overflowed = re-sent while the accept queue was full within the peak window (final ACK refused)." + group,
            samples: covered.flatMap { l in SynRecvKind.allCases.map { Sample(listenerLabels(l) + [("kind", $0.rawValue)], .int(Int64(l.connections!.syn($0).count))) } }))
        out.append(MetricFamily("backlogd_listen_syn_recv_oldest_seconds", .gauge,
            help: "Age of the oldest request socket of each kind, estimated from its timers (fired 1 s, then doubling) in one dump; for deferred a lower bound.",
            samples: covered.flatMap { l in SynRecvKind.allCases.map { Sample(listenerLabels(l) + [("kind", $0.rawValue)], .double(l.connections!.syn($0).oldestSeconds)) } }))
        gauge("backlogd_listen_unaccepted_connections",
              "Children in the accept queue not yet accept()ed (inode 0; ESTABLISHED, or CLOSE_WAIT when the client gave up)." + group,
              { .int(Int64($0.unaccepted.count)) })
        gauge("backlogd_listen_unaccepted_oldest_seconds",
              "Time since the peer of the oldest unaccepted connection last sent anything (tcp_info last_data_recv/last_ack_recv).",
              { .double($0.unaccepted.oldestSeconds) })
        gauge("backlogd_listen_unaccepted_bytes",
              "Request bytes the unaccepted connections received that nobody read (inet_diag idiag_rqueue; a CLOSE_WAIT child's FIN not counted).",
              { .uint($0.unacceptedBytes) })
        gauge("backlogd_listen_stalled_connections",
              "Accepted ESTABLISHED connections on the listener's port whose unread bytes have not shrunk for longer than thresholds.stalled_after.",
              { .int(Int64($0.stalled.count)) })
        gauge("backlogd_listen_stalled_oldest_seconds",
              "Longest such stall, seconds (from the peer's last data on first sight, then tracked by socket cookie).",
              { .double($0.stalled.oldestSeconds) })
        gauge("backlogd_listen_close_wait_connections",
              "Accepted CLOSE_WAIT connections on the listener's port: the peer closed, the application did not.",
              { .int(Int64($0.closeWait.count)) })
        gauge("backlogd_listen_close_wait_oldest_seconds",
              "Time since the peer of the oldest CLOSE_WAIT connection last sent anything (its FIN).",
              { .double($0.closeWait.oldestSeconds) })
        let attributed = s.listeners.filter { $0.overflowsEstimated != nil }
        if !attributed.isEmpty {
            out.append(MetricFamily("backlogd_listen_overflows_estimated_total", .counter,
                help: "DEPRECATED: use backlogd_listen_drops_total (exact, per listener); this series goes in the next release. ESTIMATE: share of TcpExt ListenOverflows growth attributed to this listener: the growth between two reads of the counter (every 4th fast tick, at least once a second, and at each tick that sees a listener full) is split among the listeners seen full at any tick in between or at the earlier read.",
                samples: attributed.map { Sample(listenerLabels($0), .double($0.overflowsEstimated!)) }))
        }
        let ns = [("netns", s.netns)]
        if let u = s.unattributedOverflows {
            out.append(MetricFamily("backlogd_listen_overflows_unattributed_total", .counter,
                help: "DEPRECATED: use backlogd_listen_drops_total; this series goes with backlogd_listen_overflows_estimated_total in the next release. TcpExt ListenOverflows growth seen while no listener was sampled full (not attributed to any listener).",
                samples: [Sample(ns, .double(u))]))
        }
        if let d = s.deepIntervalSeconds {
            out.append(MetricFamily("backlogd_deep_interval_seconds", .gauge,
                help: "Current interval of the deep tick (SYN-RECV/ESTABLISHED/CLOSE_WAIT dump): max(deep_min_interval, its CPU cost / deep_cpu_budget).",
                samples: [Sample(ns, .double(d))]))
        }
        if let f = s.fastIntervalSeconds {
            out.append(MetricFamily("backlogd_fast_interval_seconds", .gauge,
                help: "Current interval of the fast tick (LISTEN dumps, counters, sysctls of every namespace): max(interval, its CPU cost / fast.cpu_budget), at most 2 s.",
                samples: [Sample(ns, .double(f))]))
        }
        if let t = s.trackingDropped {
            out.append(MetricFamily("backlogd_tracking_dropped_total", .counter,
                help: "Sightings of connections (stall tracker) and request sockets (SYN-RECV tracker) not remembered because the tracker was at its cap of 100000.",
                samples: [Sample(ns, .uint(t))]))
        }
        return out
    }

    static func selfMetrics(_ s: Snapshot) -> [MetricFamily] {
        let leftOut = MetricFamily("backlogd_listeners_left_out", .gauge,
            help: "Listeners matching the filters but left out by the series cap (max_listeners) in the last collection; the fullest are kept.",
            samples: [Sample([("netns", s.netns)], .int(Int64(s.listenersLeftOut)))])
        return [leftOut] + sourceMetrics(s)
    }

    static func sourceMetrics(_ s: Snapshot) -> [MetricFamily] {
        func bySource(_ v: (SourceStatus) -> SampleValue) -> [Sample] {
            s.sources.map { Sample([("netns", s.netns), ("source", $0.name)], v($0)) }
        }
        return [
            MetricFamily("backlogd_collect_duration_seconds", .gauge,
                         help: "Time the last collection of each source took.",
                         samples: bySource { .double($0.durationSeconds) }),
            MetricFamily("backlogd_collect_last_success_timestamp_seconds", .gauge,
                         help: "Unix time of each source's last successful collection.",
                         samples: s.sources.compactMap { st in st.lastSuccess.map { Sample([("netns", s.netns), ("source", st.name)], .double($0)) } }),
            MetricFamily("backlogd_collect_errors_total", .counter,
                         help: "Collections of each source that failed.",
                         samples: bySource { .uint($0.errorsTotal) }),
            MetricFamily("backlogd_collect_skipped_total", .counter,
                         help: "Malformed netlink messages each source skipped (counted, not exported as numbers).",
                         samples: bySource { .uint($0.skipped) }),
            MetricFamily("backlogd_source_up", .gauge,
                         help: "1 if the source's last collection succeeded, 0 if it failed.",
                         samples: bySource { .int($0.up ? 1 : 0) }),
        ]
    }

    public static func render(_ p: Publication, version: String) -> String {
        PrometheusText.render(families(p, version: version))
    }
}
