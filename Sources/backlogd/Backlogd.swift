import ArgumentParser
import BacklogCore
import BacklogDaemon
import BacklogExposition
import BacklogWeb
import Logging
#if canImport(Glibc)
import Glibc
#endif

@main
struct Backlogd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backlogd",
        abstract: "Watches the kernel's TCP and UNIX listen queues and exports them to Prometheus.",
        usage: """
            backlogd [--config <file>] [--listen <host:port> ...] [--log-level <level>] [options]
            backlogd --once [--format table|json|prometheus] [--window <duration>] [--netns <name> | --all-namespaces] [--config <file>]
            backlogd --check-config [--config <file>]
            """,
        discussion: """
            Without --once, backlogd runs as a daemon: it reads the queues on a timer and serves \
            GET /metrics (Prometheus text), /snapshot (JSON), /healthz and / on port \(DaemonConfig.defaultPort) \
            of every address. SIGHUP re-reads the config file (a bad file is logged and the running \
            config stays); SIGTERM stops it. Under systemd it speaks the notify protocol (READY, \
            WATCHDOG, RELOADING, STOPPING).

            The config file (YAML, default \(DaemonConfig.defaultPath), read if it exists) sets the \
            same things as the flags below; a flag wins over the file.

            backlogd --once prints every listener's accept queue (length/max, as `ss -lt` Recv-Q/Send-Q), \
            the TcpExt listen counters and the sysctls that bound the queues, then exits.
            Exit status of --once: 0 nothing found (info findings do not count), 1 warning findings \
            (e.g. an accept queue is full), 2 critical findings, 3 a source could not be collected \
            (a one-line reason goes to stderr; what was collected is still printed). \
            --check-config exits 0 for a valid config and 1 otherwise.
            """,
        version: BacklogdVersion.current
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, prometheus
    }

    @Flag(help: "Sample for --window, print a snapshot and exit.")
    var once = false

    @Option(help: "Output of --once: table (for people), json, or prometheus (exactly what /metrics serves).")
    var format: Format = .table

    @Option(help: ArgumentHelp(
        "How long --once samples the queues, e.g. 1s, 500ms, 2.5s; 0 = a single dump.",
        valueName: "duration"))
    var window: WindowDuration = WindowDuration(seconds: 1)

    @Option(help: ArgumentHelp(
        "With --once: sample the named network namespace (/run/netns/NAME, as `ip netns`) instead of backlogd's own. Needs CAP_SYS_ADMIN.",
        valueName: "name"))
    var netns: String?

    @Option(help: ArgumentHelp(
        "Config file (YAML). Without this flag \(DaemonConfig.defaultPath) is read if it exists; a named file must exist.",
        valueName: "file"))
    var config: String?

    @Flag(help: "Check the config file and the flags, print the effective settings, and exit.")
    var checkConfig = false

    @OptionGroup(title: "Daemon settings")
    var settings: DaemonFlags

    func validate() throws {
        if netns != nil && !once { throw ValidationError("--netns is for --once; the daemon watches namespaces with --all-namespaces (config: namespaces.all)") }
        if netns != nil && settings.allNamespaces { throw ValidationError("--netns and --all-namespaces exclude each other") }
    }

    mutating func run() throws {
        ResourceLimits.capMallocArenas()
        if !once && !checkConfig {
            // First thing, before any thread exists: a reload or stop request while
            // starting must not end the daemon (their default action); it is taken
            // once the daemon serves (DaemonSignals).
            DaemonSignals.block()
        }
        // Before anything large is allocated or any thread started (the namespaces are counted below).
        if !checkConfig { try requireAddressSpace(otherNamespaces: 0) }
        let effective: DaemonConfig
        do {
            effective = try settings.applied(to: try ConfigLoader.load(path: config))
        } catch {
            StandardError.line("backlogd: config: \(error)")
            throw ExitCode(once ? OnceExitStatus.collectionFailed : 1)
        }
        if checkConfig {
            if let web = effective.webConfigFile {
                do {
                    let w = try WebConfigFile.load(web)
                    print("web config OK (\(web)): \(w.users.count) basic-auth user\(w.users.count == 1 ? "" : "s"), \(w.headers.count) header\(w.headers.count == 1 ? "" : "s")\(w.rateLimit == nil ? "" : ", a rate limit")\(w.tls.map { ", TLS \($0.settings.minVersion.rawValue)-\($0.settings.maxVersion.rawValue), client certificates: \($0.settings.clientAuth.rawValue)" } ?? "")")
                } catch {
                    StandardError.line("backlogd: web config: \(error)")
                    throw ExitCode(1)
                }
            }
            print("config OK (\(config ?? DaemonConfig.defaultPath)): \(effective.summary)")
            return
        }
        if once {
            try runOnce(effective)
        }
        if effective.collection.namespaces.all {
            let found = NetnsDiscovery().scan().namespaces
            try requireAddressSpace(otherNamespaces: found.filter { !$0.isHost && effective.collection.namespaces.filter.admits($0.label) }.count)
        }
        let level = LogLevelControl(effective.logLevel)
        LoggingSystem.bootstrap { ControlledLogHandler(label: $0, control: level) }
        let status = Daemon(configPath: config, flags: settings, config: effective, logLevel: level).run()
        throw ExitCode(status)
    }

    private func runOnce(_ effective: DaemonConfig) throws {
        let (namespaces, unreadable) = try onceNamespaces(effective)
        try requireAddressSpace(otherNamespaces: namespaces.count - 1)
        let publication: Publication
        do {
            publication = try OnceRun.collect(namespaces, window: window.seconds, settings: effective.collection.collector,
                                              unreadable: unreadable)
        } catch {
            StandardError.line("backlogd: could not collect: \(error)")
            throw ExitCode(OnceExitStatus.collectionFailed)
        }
        let version = BacklogdVersion.current
        switch format {
        case .table: print(TableRenderer.render(publication, version: version), terminator: "")
        case .json: print(JSONRenderer.render(publication, version: version), terminator: "")
        case .prometheus: print(MetricsRenderer.render(publication, version: version), terminator: "")
        }
        let status = OnceExitStatus.of(publication)
        if status == OnceExitStatus.collectionFailed {
            let reasons = publication.snapshots.flatMap { s in
                s.failedSources.map { (s.netns == WatchedNamespace.hostLabel ? "" : "netns \(s.netns): ") + "\($0.name): \($0.error ?? "failed")" }
            }
            StandardError.line("backlogd: could not collect: \(reasons.joined(separator: "; "))")
        }
        throw ExitCode(status)
    }

    /// Refuses to start under an address-space limit it was measured not to fit in:
    /// a clear exit instead of an allocation failure's abort (or a hang) later.
    private func requireAddressSpace(otherNamespaces: Int) throws {
        guard let reason = AddressSpaceMinimum.shortfall(limitKiB: ResourceLimits.addressSpaceKiB(), daemon: !once,
                                                         otherNamespaces: otherNamespaces) else { return }
        StandardError.line("backlogd: \(reason)")
        throw ExitCode(once ? OnceExitStatus.collectionFailed : 1)
    }

    /// backlogd's own namespace; or `--netns NAME`; or every namespace the filters admit
    /// (with the number of processes whose namespace could not be read).
    private func onceNamespaces(_ effective: DaemonConfig) throws -> ([WatchedNamespace], Int?) {
        let discovery = NetnsDiscovery()
        if let netns {
            if netns == WatchedNamespace.hostLabel { return ([discovery.scan().namespaces[0]], nil) }
            // From a scan when it has a process in it (for its pid), else from its name alone.
            if let ns = discovery.scan().namespaces.first(where: { !$0.isHost && $0.label == netns }) ?? discovery.named(netns) {
                return ([ns], nil)
            }
            StandardError.line("backlogd: could not collect: --netns \(netns): no such namespace in \(discovery.runNetns)")
            throw ExitCode(OnceExitStatus.collectionFailed)
        }
        // The flag, not the config's namespaces.all: that one is for the daemon, and a
        // config written for it must not turn every plain --once into a host-wide sweep.
        guard settings.allNamespaces else { return ([WatchedNamespace(label: WatchedNamespace.hostLabel, inode: 0, path: nil)], nil) }
        // backlogd's own is always sampled; the filters choose among the others.
        let found = discovery.scan()
        return (found.namespaces.filter { $0.isHost || effective.collection.namespaces.filter.admits($0.label) }, found.unreadable)
    }
}
