import BacklogCore
import Logging

/// Everything the daemon can be told, with its defaults. Built from the config
/// file, then the flags on top (flags win).
public struct DaemonConfig: Sendable, Equatable {
    /// No common exporter uses it: the Prometheus port registry's 9100–9999 is taken,
    /// and it is below Linux's ephemeral range (32768–60999).
    public static let defaultPort = 24519
    public static let defaultPath = "/etc/backlogd/config.yaml"

    public var listen: [ListenAddress] = [ListenAddress(host: "", port: defaultPort)]
    /// Fast tick: listeners, TcpExt counters, sysctls.
    public var interval: Double = 0.25
    /// Window of `backlogd_listen_queue_peak`.
    public var peakWindow: Double = 15
    public var ports: PortFilter = .all
    /// Address, process and unit patterns, and the series cap.
    public var selection = ListenerSelection()
    /// Other network namespaces: watched when `all`; which ones by label pattern.
    public var namespaces = NamespaceSettings()
    /// Fraction of one core the fast tick may use on average (its interval grows, up to 2 s).
    public var fastCPUBudget: Double = 0.01
    /// Deep tick (SYN-RECV, ESTABLISHED, CLOSE_WAIT): at most this often…
    public var deepMinInterval: Double = 1
    /// …and on average at most this fraction of one core.
    public var deepCPUBudget: Double = 0.01
    public var thresholds = Thresholds()
    public var http = HTTPSettings()
    public var logLevel: Logger.Level = .info

    public struct HTTPSettings: Sendable, Equatable {
        /// Connections over this are closed at once.
        public var maxConnections = 1024
        /// A connection with no request in progress for this long is closed.
        public var idleTimeout: Double = 60
        /// A request head must arrive completely within this (slow clients are cut off).
        public var readTimeout: Double = 10
        /// Request line plus headers; more gets 431.
        public var maxHeaderBytes = 16384

        public init() {}
    }

    public struct NamespaceSettings: Sendable, Equatable {
        /// Watch every namespace (named ones under /run/netns, those of processes), not only backlogd's own.
        public var all = false
        /// Patterns on the `netns` label (`host`, a name, `ns:<inode>`).
        public var filter = PatternFilter()

        public init(all: Bool = false, filter: PatternFilter = PatternFilter()) {
            self.all = all
            self.filter = filter
        }
    }

    public init() {}

    /// The collector's part of the settings.
    public var collectorSettings: CollectorSettings {
        CollectorSettings(ports: ports, selection: selection, thresholds: thresholds)
    }

    /// Checks ranges (for values from flags; the file parser checks them as it reads)
    /// and values that are fine alone but not together.
    public func validate() throws(ConfigError) {
        func range(_ key: String, _ v: Double, _ r: ClosedRange<Double>) throws(ConfigError) {
            guard r.contains(v) else {
                throw ConfigError(key: key, line: nil, "\(DurationText.text(v)) is out of range \(DurationText.text(r.lowerBound))–\(DurationText.text(r.upperBound))")
            }
        }
        try range("interval", interval, 0.01...60)
        try range("peak_window", peakWindow, 0.01...3600)
        try range("deep.min_interval", deepMinInterval, 0.1...3600)
        try range("http.idle_timeout", http.idleTimeout, 0.1...3600)
        try range("http.read_timeout", http.readTimeout, 0.1...3600)
        try range("thresholds.not_accepting_after", thresholds.notAcceptingAfter, 0...3600)
        try range("thresholds.stalled_after", thresholds.stalledAfter, 0...3600)
        try range("thresholds.close_wait_after", thresholds.closeWaitAfter, 0...86400)
        if listen.isEmpty { throw ConfigError(key: "listen", line: nil, "at least one address is needed") }
        if peakWindow < interval {
            throw ConfigError(key: "peak_window", line: nil,
                              "\(DurationText.text(peakWindow)) is shorter than interval \(DurationText.text(interval))")
        }
        if Set(listen).count != listen.count { throw ConfigError(key: "listen", line: nil, "an address is listed twice") }
    }

    /// One line for the startup log: the effective settings.
    public var summary: String {
        var parts = [
            "listen=\(listen.map(\.description).joined(separator: ","))",
            "interval=\(DurationText.text(interval))",
            "peak_window=\(DurationText.text(peakWindow))",
        ]
        if !ports.include.isEmpty { parts.append("ports.include=\(ports.include.map(PortFilter.text).joined(separator: ","))") }
        if !ports.exclude.isEmpty { parts.append("ports.exclude=\(ports.exclude.map(PortFilter.text).joined(separator: ","))") }
        for (name, f) in [("addresses", selection.addresses), ("processes", selection.processes), ("units", selection.units)] {
            if !f.include.isEmpty { parts.append("\(name).include=\(f.include.joined(separator: ","))") }
            if !f.exclude.isEmpty { parts.append("\(name).exclude=\(f.exclude.joined(separator: ","))") }
        }
        if let cap = selection.maxListeners { parts.append("max_listeners=\(cap)") }
        parts.append("namespaces.all=\(namespaces.all)")
        if !namespaces.filter.include.isEmpty { parts.append("namespaces.include=\(namespaces.filter.include.joined(separator: ","))") }
        if !namespaces.filter.exclude.isEmpty { parts.append("namespaces.exclude=\(namespaces.filter.exclude.joined(separator: ","))") }
        parts += [
            "fast.cpu_budget=\(fastCPUBudget)",
            "deep.min_interval=\(DurationText.text(deepMinInterval))",
            "deep.cpu_budget=\(deepCPUBudget)",
            "thresholds.near_full_ratio=\(thresholds.nearFullRatio)",
            "thresholds.not_accepting_after=\(DurationText.text(thresholds.notAcceptingAfter))",
            "thresholds.stalled_after=\(DurationText.text(thresholds.stalledAfter))",
            "thresholds.close_wait_min=\(thresholds.closeWaitMin)",
            "thresholds.close_wait_after=\(DurationText.text(thresholds.closeWaitAfter))",
            "thresholds.half_open_min=\(thresholds.halfOpenMin)",
            "thresholds.deferred_min=\(thresholds.deferredMin)",
            "http.max_connections=\(http.maxConnections)",
            "http.idle_timeout=\(DurationText.text(http.idleTimeout))",
            "http.read_timeout=\(DurationText.text(http.readTimeout))",
            "http.max_header_bytes=\(http.maxHeaderBytes)",
            "log_level=\(logLevel.rawValue)",
        ]
        return parts.joined(separator: " ")
    }
}

/// A bad key or value, named with its line when it came from the file.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String?
    public var line: Int?
    public var message: String
    /// The file, set by whoever read it.
    public var file: String?

    public init(key: String?, line: Int?, _ message: String, file: String? = nil) {
        self.key = key
        self.line = line
        self.message = message
        self.file = file
    }

    public var description: String {
        var prefix = file ?? ""
        if let line { prefix += prefix.isEmpty ? "line \(line)" : ":\(line)" }
        let keyPart = key.map { "\($0): " } ?? ""
        return (prefix.isEmpty ? "" : prefix + ": ") + keyPart + message
    }
}
