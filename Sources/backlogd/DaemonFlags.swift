import ArgumentParser
import BacklogCore
import BacklogDaemon

/// The daemon's settings as flags: each config-file key has one (SettingsTable
/// says which, with its help, default and range), and a flag given on the
/// command line wins over the file (also across reloads). swift-argument-parser
/// cannot make options from a table at run time, so they are listed here; their
/// values are read and checked by the table's Setting, exactly as the file's.
struct DaemonFlags: ParsableArguments {
    @Option(name: .customLong("listen"), help: h("listen")) var listen: [String] = []
    @Option(help: h("interval")) var interval: String?
    @Option(help: h("peak_window")) var peakWindow: String?
    @Option(name: .customLong("include-port"), help: h("ports.include")) var includePorts: [String] = []
    @Option(name: .customLong("exclude-port"), help: h("ports.exclude")) var excludePorts: [String] = []
    @Option(name: .customLong("include-address"), help: h("addresses.include")) var includeAddresses: [String] = []
    @Option(name: .customLong("exclude-address"), help: h("addresses.exclude")) var excludeAddresses: [String] = []
    @Option(name: .customLong("include-process"), help: h("processes.include")) var includeProcesses: [String] = []
    @Option(name: .customLong("exclude-process"), help: h("processes.exclude")) var excludeProcesses: [String] = []
    @Option(name: .customLong("include-unit"), help: h("units.include")) var includeUnits: [String] = []
    @Option(name: .customLong("exclude-unit"), help: h("units.exclude")) var excludeUnits: [String] = []
    @Option(help: h("max_listeners")) var maxListeners: String?
    @Flag(help: ArgumentHelp(SettingsTable.help("namespaces.all"))) var allNamespaces = false
    @Option(name: .customLong("include-netns"), help: h("namespaces.include")) var includeNetns: [String] = []
    @Option(name: .customLong("exclude-netns"), help: h("namespaces.exclude")) var excludeNetns: [String] = []
    @Option(help: h("fast.cpu_budget")) var fastCpuBudget: String?
    @Option(help: h("deep.min_interval")) var deepMinInterval: String?
    @Option(help: h("deep.cpu_budget")) var deepCpuBudget: String?
    @Option(help: h("thresholds.near_full_ratio")) var nearFullRatio: String?
    @Option(help: h("thresholds.not_accepting_after")) var notAcceptingAfter: String?
    @Option(help: h("thresholds.hung_after")) var hungAfter: String?
    @Option(help: h("probe.recover_after")) var probeRecoverAfter: String?
    @Option(help: h("thresholds.stalled_after")) var stalledAfter: String?
    @Option(help: h("thresholds.close_wait_min")) var closeWaitMin: String?
    @Option(help: h("thresholds.close_wait_after")) var closeWaitAfter: String?
    @Option(help: h("thresholds.half_open_min")) var halfOpenMin: String?
    @Option(help: h("thresholds.deferred_min")) var deferredMin: String?
    @Option(name: .customLong("kubernetes.pods-dir"), help: h("kubernetes.pods_dir")) var kubernetesPodsDir: String?
    @Option(help: h("http.max_connections")) var maxConnections: String?
    @Option(help: h("http.idle_timeout")) var idleTimeout: String?
    @Option(help: h("http.read_timeout")) var readTimeout: String?
    @Option(help: h("http.max_header_bytes")) var maxHeaderBytes: String?
    @Option(name: .customLong("web.config.file"), help: h("web.config_file")) var webConfigFile: String?
    @Option(name: .customLong("agent-listen"), help: h("agent.listen")) var agentListen: [String] = []
    @Option(help: h("agent.max_connections")) var agentMaxConnections: String?
    @Option(help: h("log_level")) var logLevel: String?

    private static func h(_ key: String) -> ArgumentHelp {
        ArgumentHelp(SettingsTable.help(key), valueName: SettingsTable.valueName(key))
    }

    /// The given flags by config key, as texts (a list flag: its values in order).
    var given: [(key: String, texts: [String])] {
        let all: [(String, [String])] = [
            ("listen", listen), ("interval", interval.map { [$0] } ?? []), ("peak_window", peakWindow.map { [$0] } ?? []),
            ("ports.include", includePorts), ("ports.exclude", excludePorts),
            ("addresses.include", includeAddresses), ("addresses.exclude", excludeAddresses),
            ("processes.include", includeProcesses), ("processes.exclude", excludeProcesses),
            ("units.include", includeUnits), ("units.exclude", excludeUnits),
            ("max_listeners", maxListeners.map { [$0] } ?? []), ("namespaces.all", allNamespaces ? ["true"] : []),
            ("namespaces.include", includeNetns), ("namespaces.exclude", excludeNetns),
            ("fast.cpu_budget", fastCpuBudget.map { [$0] } ?? []),
            ("deep.min_interval", deepMinInterval.map { [$0] } ?? []), ("deep.cpu_budget", deepCpuBudget.map { [$0] } ?? []),
            ("thresholds.near_full_ratio", nearFullRatio.map { [$0] } ?? []),
            ("thresholds.not_accepting_after", notAcceptingAfter.map { [$0] } ?? []),
            ("thresholds.hung_after", hungAfter.map { [$0] } ?? []),
            ("probe.recover_after", probeRecoverAfter.map { [$0] } ?? []),
            ("thresholds.stalled_after", stalledAfter.map { [$0] } ?? []),
            ("thresholds.close_wait_min", closeWaitMin.map { [$0] } ?? []),
            ("thresholds.close_wait_after", closeWaitAfter.map { [$0] } ?? []),
            ("thresholds.half_open_min", halfOpenMin.map { [$0] } ?? []),
            ("thresholds.deferred_min", deferredMin.map { [$0] } ?? []),
            ("kubernetes.pods_dir", kubernetesPodsDir.map { [$0] } ?? []),
            ("http.max_connections", maxConnections.map { [$0] } ?? []), ("http.idle_timeout", idleTimeout.map { [$0] } ?? []),
            ("http.read_timeout", readTimeout.map { [$0] } ?? []), ("http.max_header_bytes", maxHeaderBytes.map { [$0] } ?? []),
            ("web.config_file", webConfigFile.map { [$0] } ?? []), ("agent.listen", agentListen), ("agent.max_connections", agentMaxConnections.map { [$0] } ?? []),
            ("log_level", logLevel.map { [$0] } ?? []),
        ]
        return all.filter { !$0.1.isEmpty }.map { (key: $0.0, texts: $0.1) }
    }

    /// Each given value checked by its Setting: a bad flag is a usage error (exit 64), like any other.
    func validate() throws {
        var scratch = DaemonConfig()
        for (key, texts) in given {
            guard let s = SettingsTable.setting(key: key) else { continue }
            do {
                try s.apply(texts, to: &scratch)
            } catch {
                throw ValidationError("--\(s.flag): \(error.message)")
            }
        }
    }

    /// The file's config with every given flag on top.
    func applied(to file: DaemonConfig) throws(ConfigError) -> DaemonConfig {
        var c = file
        for (key, texts) in given {
            guard let s = SettingsTable.setting(key: key) else { continue }
            do {
                try s.apply(texts, to: &c)
            } catch {
                throw ConfigError(key: "--\(s.flag)", line: nil, error.message)
            }
        }
        try c.validate()
        return c
    }
}
