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

    /// Checks values that are fine alone but not together (each value's own
    /// range is checked by its Setting as it is read, from the file or a flag).
    public func validate() throws(ConfigError) {
        if listen.isEmpty { throw ConfigError(key: "listen", line: nil, "at least one address is needed") }
        if peakWindow < interval {
            throw ConfigError(key: "peak_window", line: nil,
                              "\(DurationText.text(peakWindow)) is shorter than interval \(DurationText.text(interval))")
        }
        if Set(listen).count != listen.count { throw ConfigError(key: "listen", line: nil, "an address is listed twice") }
    }

    /// One line for the startup log: the effective settings (lists that are empty left out).
    public var summary: String {
        SettingsTable.all.compactMap { s in
            let v = s.value(in: self)
            return s.isList && v == "none" ? nil : "\(s.key)=\(v)"
        }.joined(separator: " ")
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

    /// Keys and values in it come from the file: escaped and cut (each quoted value is
    /// cut at 80 characters where it is quoted; this bounds the whole as well).
    public var description: String {
        var prefix = file.map(PrintableText.escaped) ?? ""
        if let line { prefix += prefix.isEmpty ? "line \(line)" : ":\(line)" }
        let keyPart = key.map { "\(PrintableText.quoted($0)): " } ?? ""
        return (prefix.isEmpty ? "" : prefix + ": ") + keyPart + PrintableText.quoted(message, limit: 400)
    }
}
