import ArgumentParser
import BacklogCore
import BacklogDaemon
import Logging

/// The daemon's settings as flags: each config-file key has one, and a flag
/// given on the command line wins over the file (also across reloads).
struct DaemonFlags: ParsableArguments {
    @Option(name: .customLong("listen"), help: ArgumentHelp(
        "Address for the HTTP endpoint (repeatable): 127.0.0.1:PORT, [::1]:PORT, or :PORT for every address. Default :\(DaemonConfig.defaultPort).",
        valueName: "host:port"))
    var listen: [ListenArgument] = []

    @Option(help: ArgumentHelp("Fast tick: how often listeners, counters and sysctls are read (config: interval; default 250ms).", valueName: "duration"))
    var interval: DurationArgument?

    @Option(help: ArgumentHelp("Window of backlogd_listen_queue_peak (config: peak_window; default 15s).", valueName: "duration"))
    var peakWindow: DurationArgument?

    @Option(name: .customLong("include-port"), help: ArgumentHelp(
        "Report only TCP listeners on these ports (repeatable; 80 or 8000-8099; config: ports.include). UNIX listeners are always reported.",
        valueName: "port[-port]"))
    var includePorts: [PortRangeArgument] = []

    @Option(name: .customLong("exclude-port"), help: ArgumentHelp(
        "Leave out TCP listeners on these ports (repeatable; config: ports.exclude).", valueName: "port[-port]"))
    var excludePorts: [PortRangeArgument] = []

    @Option(name: .customLong("include-address"), help: ArgumentHelp("Report only listeners whose address matches (repeatable; fnmatch pattern, e.g. '127.*', '/run/php/*'; config: addresses.include).", valueName: "pattern"))
    var includeAddresses: [String] = []

    @Option(name: .customLong("exclude-address"), help: ArgumentHelp("Leave out listeners whose address matches (repeatable; config: addresses.exclude).", valueName: "pattern"))
    var excludeAddresses: [String] = []

    @Option(name: .customLong("include-process"), help: ArgumentHelp("Report only listeners whose owner's process name matches; listeners of unknown owner stay (config: processes.include).", valueName: "pattern"))
    var includeProcesses: [String] = []

    @Option(name: .customLong("exclude-process"), help: ArgumentHelp("Leave out listeners whose owner's process name matches (config: processes.exclude).", valueName: "pattern"))
    var excludeProcesses: [String] = []

    @Option(name: .customLong("include-unit"), help: ArgumentHelp("Report only listeners whose owner's systemd unit matches (config: units.include).", valueName: "pattern"))
    var includeUnits: [String] = []

    @Option(name: .customLong("exclude-unit"), help: ArgumentHelp("Leave out listeners whose owner's systemd unit matches (config: units.exclude).", valueName: "pattern"))
    var excludeUnits: [String] = []

    @Flag(help: "Watch every network namespace, not only backlogd's own: the named ones (/run/netns) and those of running processes (config: namespaces.all).")
    var allNamespaces = false
    @Option(name: .customLong("include-netns"), help: ArgumentHelp("Of the other namespaces, watch only those whose netns label matches (repeatable; a /run/netns name or ns:<inode>; backlogd's own, host, is always watched; config: namespaces.include).", valueName: "pattern"))
    var includeNetns: [String] = []
    @Option(name: .customLong("exclude-netns"), help: ArgumentHelp("Leave out other namespaces whose netns label matches (repeatable; host is always watched; config: namespaces.exclude).", valueName: "pattern"))
    var excludeNetns: [String] = []
    @Option(help: ArgumentHelp("At most this many listeners become series, the fullest first; the rest are counted in backlogd_listeners_left_out (config: max_listeners).", valueName: "n"))
    var maxListeners: Int?

    @Option(help: ArgumentHelp("Fraction of one core the fast tick may use on average; its interval grows (up to 2s) to keep within it (config: fast.cpu_budget; default 0.01).", valueName: "fraction"))
    var fastCpuBudget: Double?

    @Option(help: ArgumentHelp("The deep tick (SYN-RECV, ESTABLISHED, CLOSE_WAIT) runs at most this often (config: deep.min_interval; default 1s).", valueName: "duration"))
    var deepMinInterval: DurationArgument?

    @Option(help: ArgumentHelp("Fraction of one core the deep tick may use on average; its interval grows to keep within it (config: deep.cpu_budget; default 0.01).", valueName: "fraction"))
    var deepCpuBudget: Double?

    @Option(help: ArgumentHelp("accept_queue_near_full from this fraction of max (config: thresholds.near_full_ratio; default 0.8).", valueName: "fraction"))
    var nearFullRatio: Double?

    @Option(help: ArgumentHelp("not_accepting once the oldest unaccepted connection waited this long (config: thresholds.not_accepting_after; default 2s).", valueName: "duration"))
    var notAcceptingAfter: DurationArgument?

    @Option(help: ArgumentHelp("A connection is stalled when its unread bytes have not shrunk for this long (config: thresholds.stalled_after; default 10s).", valueName: "duration"))
    var stalledAfter: DurationArgument?

    @Option(help: ArgumentHelp("close_wait_pileup from this many CLOSE_WAIT connections (config: thresholds.close_wait_min; default 10)…", valueName: "n"))
    var closeWaitMin: Int?

    @Option(help: ArgumentHelp("…the oldest at least this old (config: thresholds.close_wait_after; default 30s).", valueName: "duration"))
    var closeWaitAfter: DurationArgument?

    @Option(help: ArgumentHelp("half_open_growing from this many half-open handshakes (config: thresholds.half_open_min; default 10).", valueName: "n"))
    var halfOpenMin: Int?

    @Option(help: ArgumentHelp("deferred_accept_holds from this many TCP_DEFER_ACCEPT holds (config: thresholds.deferred_min; default 1).", valueName: "n"))
    var deferredMin: Int?

    @Option(help: ArgumentHelp("Most HTTP connections open at once (config: http.max_connections; default 1024).", valueName: "n"))
    var maxConnections: Int?

    @Option(help: ArgumentHelp("Close HTTP connections idle this long (config: http.idle_timeout; default 60s).", valueName: "duration"))
    var idleTimeout: DurationArgument?

    @Option(help: ArgumentHelp("A request head must arrive within this (config: http.read_timeout; default 10s).", valueName: "duration"))
    var readTimeout: DurationArgument?

    @Option(help: ArgumentHelp("Largest request line plus headers; more gets 431 (config: http.max_header_bytes; default 16384).", valueName: "bytes"))
    var maxHeaderBytes: Int?

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (config: log_level; default info).", valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level: '\(logLevel)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let maxConnections, !(1...1_000_000).contains(maxConnections) {
            throw ValidationError("--max-connections: \(maxConnections) is out of range 1–1000000")
        }
        if let maxListeners, maxListeners < 1 { throw ValidationError("--max-listeners: \(maxListeners) must be at least 1") }
        if let fastCpuBudget, !(0.0001...1).contains(fastCpuBudget) {
            throw ValidationError("--fast-cpu-budget: \(fastCpuBudget) is out of range 0.0001–1")
        }
        if let deepCpuBudget, !(0.0001...1).contains(deepCpuBudget) {
            throw ValidationError("--deep-cpu-budget: \(deepCpuBudget) is out of range 0.0001–1")
        }
        if let nearFullRatio, !(0.01...1).contains(nearFullRatio) {
            throw ValidationError("--near-full-ratio: \(nearFullRatio) is out of range 0.01–1")
        }
        for (name, v) in [("--close-wait-min", closeWaitMin), ("--half-open-min", halfOpenMin), ("--deferred-min", deferredMin)] {
            if let v, v < 1 { throw ValidationError("\(name): \(v) must be at least 1") }
        }
        if let maxHeaderBytes, !(256...1_048_576).contains(maxHeaderBytes) {
            throw ValidationError("--max-header-bytes: \(maxHeaderBytes) is out of range 256–1048576")
        }
    }

    /// The file's config with every given flag on top.
    func applied(to file: DaemonConfig) throws(ConfigError) -> DaemonConfig {
        var c = file
        if !listen.isEmpty { c.listen = listen.map(\.address) }
        if let interval { c.interval = interval.seconds }
        if let peakWindow { c.peakWindow = peakWindow.seconds }
        if !includePorts.isEmpty { c.ports.include = includePorts.map(\.range) }
        if !excludePorts.isEmpty { c.ports.exclude = excludePorts.map(\.range) }
        if !includeAddresses.isEmpty { c.selection.addresses.include = includeAddresses }
        if !excludeAddresses.isEmpty { c.selection.addresses.exclude = excludeAddresses }
        if !includeProcesses.isEmpty { c.selection.processes.include = includeProcesses }
        if !excludeProcesses.isEmpty { c.selection.processes.exclude = excludeProcesses }
        if !includeUnits.isEmpty { c.selection.units.include = includeUnits }
        if !excludeUnits.isEmpty { c.selection.units.exclude = excludeUnits }
        if let maxListeners { c.selection.maxListeners = maxListeners }
        if allNamespaces { c.namespaces.all = true }
        if !includeNetns.isEmpty { c.namespaces.filter.include = includeNetns }
        if !excludeNetns.isEmpty { c.namespaces.filter.exclude = excludeNetns }
        if let deepMinInterval { c.deepMinInterval = deepMinInterval.seconds }
        if let fastCpuBudget { c.fastCPUBudget = fastCpuBudget }
        if let deepCpuBudget { c.deepCPUBudget = deepCpuBudget }
        if let nearFullRatio { c.thresholds.nearFullRatio = nearFullRatio }
        if let notAcceptingAfter { c.thresholds.notAcceptingAfter = notAcceptingAfter.seconds }
        if let stalledAfter { c.thresholds.stalledAfter = stalledAfter.seconds }
        if let closeWaitMin { c.thresholds.closeWaitMin = closeWaitMin }
        if let closeWaitAfter { c.thresholds.closeWaitAfter = closeWaitAfter.seconds }
        if let halfOpenMin { c.thresholds.halfOpenMin = halfOpenMin }
        if let deferredMin { c.thresholds.deferredMin = deferredMin }
        if let maxConnections { c.http.maxConnections = maxConnections }
        if let idleTimeout { c.http.idleTimeout = idleTimeout.seconds }
        if let readTimeout { c.http.readTimeout = readTimeout.seconds }
        if let maxHeaderBytes { c.http.maxHeaderBytes = maxHeaderBytes }
        if let logLevel, let level = Logger.Level(rawValue: logLevel) { c.logLevel = level }
        try c.validate()
        return c
    }
}

struct ListenArgument: ExpressibleByArgument, Sendable {
    var address: ListenAddress
    init?(argument: String) {
        guard let a = ListenAddress(argument) else { return nil }
        address = a
    }
}

struct DurationArgument: ExpressibleByArgument, Sendable {
    var seconds: Double
    init?(argument: String) {
        // Ranges are checked with the file's (DaemonConfig.validate), after the flags apply.
        guard let s = DurationText.seconds(argument) else { return nil }
        seconds = s
    }
}

struct PortRangeArgument: ExpressibleByArgument, Sendable {
    var range: ClosedRange<UInt16>
    init?(argument: String) {
        guard let r = PortRangeText.parse(argument) else { return nil }
        range = r
    }
}
