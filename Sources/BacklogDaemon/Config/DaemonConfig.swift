import BacklogCore
import BacklogHTTP
import Logging

/// Everything the daemon can be told, with its defaults. Built from the config
/// file, then the flags on top (flags win).
public struct DaemonConfig: Sendable, Equatable {
    /// No common exporter uses it: the Prometheus port registry's 9100–9999 is taken,
    /// and it is below Linux's ephemeral range (32768–60999).
    public static let defaultPort = 24519
    public static let defaultPath = "/etc/backlogd/config.yaml"

    public var listen: [ListenAddress] = [ListenAddress(host: "", port: defaultPort)]
    /// The collection loops' own settings (fast and deep tick, namespaces, and the
    /// collector's ports, selection and thresholds), with their defaults.
    public var collection = CollectionLoop.Settings()
    /// The HTTP endpoint's limits (`staleAfter` is not a key: the daemon derives it from `interval`).
    public var http = HTTPLimits()
    /// The exporter-toolkit web-config file (basic auth, headers, rate limit); nil: none.
    public var webConfigFile: String?
    /// The HAProxy agent-check responder: off while `listen` is empty.
    public var agent = AgentConfig()
    public var logLevel: Logger.Level = .info

    public init() {}

    /// Checks values that are fine alone but not together (each value's own
    /// range is checked by its Setting as it is read, from the file or a flag).
    public func validate() throws(ConfigError) {
        if listen.isEmpty { throw ConfigError(key: "listen", line: nil, "at least one address is needed") }
        if collection.peakWindow < collection.interval {
            throw ConfigError(key: "peak_window", line: nil,
                              "\(DurationText.text(collection.peakWindow)) is shorter than interval \(DurationText.text(collection.interval))")
        }
        let t = collection.collector.thresholds
        if t.hungAfter < t.notAcceptingAfter {
            throw ConfigError(key: "thresholds.hung_after", line: nil,
                              "\(DurationText.text(t.hungAfter)) is shorter than thresholds.not_accepting_after \(DurationText.text(t.notAcceptingAfter))")
        }
        if Set(listen).count != listen.count { throw ConfigError(key: "listen", line: nil, "an address is listed twice") }
        if Set(agent.listen).count != agent.listen.count { throw ConfigError(key: "agent.listen", line: nil, "an address is listed twice") }
        for a in agent.listen {
            if let http = listen.first(where: { $0.port == a.port && ($0.host == a.host || $0.host.isEmpty || a.host.isEmpty) }) {
                throw ConfigError(key: "agent.listen", line: nil, "\(a) takes the port of the HTTP endpoint's \(http)")
            }
        }
    }

    /// One line for the startup log: the effective settings (lists that are empty left out).
    public var summary: String {
        SettingsTable.all.compactMap { s in
            let v = s.value(in: self)
            return s.isList && v == "none" ? nil : "\(s.key)=\(v)"
        }.joined(separator: " ")
    }
}

/// The HAProxy agent-check responder's addresses and limits (`agent.*`).
public struct AgentConfig: Sendable, Equatable {
    public var listen: [ListenAddress] = []
    /// `staleAfter` is not a key: the daemon derives it from `interval`, as for HTTP.
    public var limits = AgentLimits()

    public init() {}
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
