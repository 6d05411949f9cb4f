/// Every setting, once: key, flag, range, help. Order: as `--check-config`
/// prints them and as the config file documents them.
public enum SettingsTable {
    public static let all: [Setting] = [
        .addresses("listen", flag: "listen", \.listen, required: true,
                   "Address for the HTTP endpoint (repeatable): 127.0.0.1:PORT, [::1]:PORT, or :PORT for every address"),
        .duration("interval", flag: "interval", \.collection.interval, in: 0.01...60,
                  "Fast tick: how often listeners, counters and sysctls are read (the fastest; fast.cpu_budget may slow it)"),
        .duration("peak_window", flag: "peak-window", \.collection.peakWindow, in: 0.01...3600, "Window of backlogd_listen_queue_peak"),
        .ports("ports.include", flag: "include-port", \.collection.collector.ports.include,
               "Report only TCP listeners on these ports (repeatable; 80 or 8000-8099); UNIX listeners are always reported"),
        .ports("ports.exclude", flag: "exclude-port", \.collection.collector.ports.exclude, "Leave out TCP listeners on these ports (repeatable)"),
        .patterns("addresses.include", flag: "include-address", \.collection.collector.selection.addresses.include,
                  "Report only listeners whose address matches (repeatable; fnmatch pattern, e.g. '127.*', '/run/php/*')"),
        .patterns("addresses.exclude", flag: "exclude-address", \.collection.collector.selection.addresses.exclude,
                  "Leave out listeners whose address matches (repeatable)"),
        .patterns("processes.include", flag: "include-process", \.collection.collector.selection.processes.include,
                  "Report only listeners whose owner's process name matches; listeners of unknown owner stay"),
        .patterns("processes.exclude", flag: "exclude-process", \.collection.collector.selection.processes.exclude,
                  "Leave out listeners whose owner's process name matches"),
        .patterns("units.include", flag: "include-unit", \.collection.collector.selection.units.include,
                  "Report only listeners whose owner's systemd unit matches"),
        .patterns("units.exclude", flag: "exclude-unit", \.collection.collector.selection.units.exclude,
                  "Leave out listeners whose owner's systemd unit matches"),
        .optionalInteger("max_listeners", flag: "max-listeners", \.collection.collector.selection.maxListeners, in: 1...10_000_000,
                         "At most this many listeners become series, those with findings and the fullest first; the rest are counted in backlogd_listeners_left_out"),
        .boolean("namespaces.all", flag: "all-namespaces", \.collection.namespaces.all,
                 "Watch every network namespace, not only backlogd's own: the named ones (/run/netns) and those of running processes"),
        .patterns("namespaces.include", flag: "include-netns", \.collection.namespaces.filter.include,
                  "Of the other namespaces, watch only those whose netns label matches (repeatable; a /run/netns name or ns:<inode>; backlogd's own, host, is always watched)"),
        .patterns("namespaces.exclude", flag: "exclude-netns", \.collection.namespaces.filter.exclude,
                  "Leave out other namespaces whose netns label matches (repeatable; host is always watched)"),
        .fraction("fast.cpu_budget", flag: "fast-cpu-budget", \.collection.fastCPUBudget, in: 0.0001...1,
                  "Fraction of one core the fast tick may use on average; its interval grows (up to 2s) to keep within it"),
        .duration("deep.min_interval", flag: "deep-min-interval", \.collection.deepMinInterval, in: 0.1...3600,
                  "The deep tick (SYN-RECV, ESTABLISHED, CLOSE_WAIT) runs at most this often"),
        .fraction("deep.cpu_budget", flag: "deep-cpu-budget", \.collection.deepCPUBudget, in: 0.0001...1,
                  "Fraction of one core the deep tick may use on average; its interval grows to keep within it (less, down to a quarter, when the fast tick spends more than its own budget)"),
        .fraction("thresholds.near_full_ratio", flag: "near-full-ratio", \.collection.collector.thresholds.nearFullRatio, in: 0.01...1,
                  "accept_queue_near_full from this fraction of max"),
        .duration("thresholds.not_accepting_after", flag: "not-accepting-after", \.collection.collector.thresholds.notAcceptingAfter, in: 0...3600,
                  "accept_slow once the oldest unaccepted connection waited this long; not_accepting from then on when its process cannot run (stopped, traced, frozen, all in D) or is idle"),
        .duration("thresholds.hung_after", flag: "hung-after", \.collection.collector.thresholds.hungAfter, in: 0...3600,
                  "not_accepting (hung) when connections wait and nothing has moved for this long (nothing accepted, no CPU, no bytes); not below not_accepting_after"),
        .duration("thresholds.stalled_after", flag: "stalled-after", \.collection.collector.thresholds.stalledAfter, in: 0...3600,
                  "A connection is stalled when its unread bytes have not shrunk for this long"),
        .integer("thresholds.close_wait_min", flag: "close-wait-min", \.collection.collector.thresholds.closeWaitMin, in: 1...1_000_000,
                 "close_wait_pileup from this many CLOSE_WAIT connections"),
        .duration("thresholds.close_wait_after", flag: "close-wait-after", \.collection.collector.thresholds.closeWaitAfter, in: 0...86400,
                  "close_wait_pileup when the oldest CLOSE_WAIT connection is at least this old"),
        .integer("thresholds.half_open_min", flag: "half-open-min", \.collection.collector.thresholds.halfOpenMin, in: 1...1_000_000,
                 "half_open_growing from this many half-open handshakes"),
        .integer("thresholds.deferred_min", flag: "deferred-min", \.collection.collector.thresholds.deferredMin, in: 1...1_000_000,
                 "deferred_accept_holds from this many TCP_DEFER_ACCEPT holds"),
        .directory("kubernetes.pods_dir", flag: "kubernetes.pods-dir", \.collection.collector.podsDir,
                   "The kubelet's pods directory (<namespace>_<name>_<uid>/ per pod): namespace and name of a pod whose cgroup owns a listener"),
        .integer("http.max_connections", flag: "max-connections", \.http.maxConnections, in: 1...1_000_000,
                 "Most HTTP connections open at once; at the cap the longest idle one makes room"),
        .duration("http.idle_timeout", flag: "idle-timeout", \.http.idleTimeout, in: 0.1...3600,
                  "Close HTTP connections idle this long"),
        .duration("http.read_timeout", flag: "read-timeout", \.http.readTimeout, in: 0.1...3600,
                  "A request head must arrive within this"),
        .integer("http.max_header_bytes", flag: "max-header-bytes", \.http.maxHeaderBytes, in: 256...1_048_576, valueName: "bytes",
                 "Largest request line plus headers; more gets 431"),
        .path("web.config_file", flag: "web.config.file", \.webConfigFile,
              "exporter-toolkit web-config file (basic_auth_users, http_server_config.headers, rate_limit; re-read on SIGHUP)"),
        .addresses("agent.listen", flag: "agent-listen", \.agent.listen, required: false,
                   "Address for the HAProxy agent-check responder (repeatable; plain TCP, so an internal address); off without one"),
        .duration("probe.recover_after", flag: "probe-recover-after", \.collection.collector.thresholds.recoverAfter, in: 0...3600,
                  "A listener the agent and /probe took out comes back after progress with short waits for this long"),
        .integer("agent.max_connections", flag: "agent-max-connections", \.agent.limits.maxConnections, in: 1...1_000_000,
                 "Most agent connections open at once; at the cap the oldest one makes room"),
        .logLevel("trace, debug, info, notice, warning, error or critical"),
    ]

    private static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
    private static let byFlag = Dictionary(uniqueKeysWithValues: all.map { ($0.flag, $0) })

    public static func setting(key: String) -> Setting? { byKey[key] }
    public static func setting(flag: String) -> Setting? { byFlag[flag] }

    /// Whether `key` names a group of settings (`http`, `thresholds`).
    public static func isSection(_ key: String) -> Bool {
        all.contains { $0.key.hasPrefix(key + ".") }
    }

    /// The flag's help text (for swift-argument-parser, which cannot build options from a table).
    public static func help(_ key: String) -> String {
        byKey[key]?.help ?? key
    }

    public static func valueName(_ key: String) -> String {
        byKey[key]?.valueName ?? "value"
    }
}
