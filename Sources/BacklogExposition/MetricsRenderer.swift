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
            ("process", ""),
            ("unit", ""),
        ]
    }

    public static func families(_ s: Snapshot, version: String) -> [MetricFamily] {
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
        out += selfMetrics(s, version: version)
        return out
    }

    static func selfMetrics(_ s: Snapshot, version: String) -> [MetricFamily] {
        func bySource(_ v: (SourceStatus) -> SampleValue) -> [Sample] {
            s.sources.map { Sample([("source", $0.name)], v($0)) }
        }
        return [
            MetricFamily("backlogd_collect_duration_seconds", .gauge,
                         help: "Time the last collection of each source took.",
                         samples: bySource { .double($0.durationSeconds) }),
            MetricFamily("backlogd_collect_last_success_timestamp_seconds", .gauge,
                         help: "Unix time of each source's last successful collection.",
                         samples: s.sources.compactMap { st in st.lastSuccess.map { Sample([("source", st.name)], .double($0)) } }),
            MetricFamily("backlogd_collect_errors_total", .counter,
                         help: "Collections of each source that failed.",
                         samples: bySource { .uint($0.errorsTotal) }),
            MetricFamily("backlogd_collect_skipped_total", .counter,
                         help: "Malformed netlink messages each source skipped (counted, not exported as numbers).",
                         samples: bySource { .uint($0.skipped) }),
            MetricFamily("backlogd_source_up", .gauge,
                         help: "1 if the source's last collection succeeded, 0 if it failed.",
                         samples: bySource { .int($0.up ? 1 : 0) }),
            MetricFamily("backlogd_build_info", .gauge,
                         help: "1; the running backlogd's version.",
                         samples: [Sample([("version", version)], .int(1))]),
        ]
    }

    public static func render(_ s: Snapshot, version: String) -> String {
        PrometheusText.render(families(s, version: version))
    }
}
