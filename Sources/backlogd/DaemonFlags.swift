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
        guard let s = DurationText.seconds(argument), s >= 0.01, s <= 3600 else { return nil }
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
