import BacklogCore

/// Turns a Snapshot into the metric families of CONTRACT.md.
public enum MetricsRenderer {
    /// Labels of per-listener series, in their fixed order.
    public static func listenerLabels(_ l: Listener) -> [(String, String)] { ListenerLabels(l).pairs }

    /// The families that are not per listener (ListenerFamilies has those): every
    /// namespace's (MetricsLayout merges same-named ones), then the process-wide
    /// ones once: owner lookups, build info.
    public static func genericFamilies(_ p: Publication, version: String) -> [MetricFamily] {
        p.snapshots.flatMap { namespaceFamilies($0) } + processFamilies(p.process, version: version)
    }

    static func namespaceFamilies(_ s: Snapshot) -> [MetricFamily] {
        var out = connectionFamilies(s)
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
            MetricFamily("backlogd_kubernetes_pod_uid_conflicts", .gauge,
                help: "Pod UIDs that more than one entry of the pods directory (kubernetes.pods_dir, <namespace>_<name>_<uid>) claims, at its last listing: their listeners get no k8s_namespace_name or k8s_pod_name.",
                samples: [Sample([], .uint(UInt64(p.podUIDConflicts ?? 0)))]),
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

    /// The namespace-wide numbers of the collection loops.
    static func connectionFamilies(_ s: Snapshot) -> [MetricFamily] {
        var out: [MetricFamily] = []
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

    /// The whole body in `format`, as `/metrics` serves it for the same publication (less the per-scrape HTTP lines).
    public static func render(_ p: Publication, version: String, format: ExpositionFormat = .text) -> String {
        var labels = LabelTable()
        let layout = MetricsLayout(p, version: version, labels: &labels)
        return String(decoding: layout.bytes(format) + format.end, as: UTF8.self)
    }
}
