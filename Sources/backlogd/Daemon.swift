#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BacklogCore
import BacklogDaemon
import BacklogHTTP
import BacklogWeb
import Dispatch
import Logging

/// The long-running mode, on the main thread, in order: the collection (its first
/// tick done), the HTTP endpoint and the agent, READY=1; then the signals one at a
/// time (a reload runs here; a stop leaves the loop); then everything stops in the
/// reverse order. Nothing else changes what runs, so there is no lock or queue
/// here. The systemd watchdog is fed after each completed collection tick (TickObserver).
/// Returns the exit status once stopped.
final class Daemon: Sendable {
    private let configPath: String?
    private let flags: DaemonFlags
    /// The config at start (a reload hands its new one to the loop and the server).
    private let config: DaemonConfig
    private let logger = Logger(label: "backlogd")
    private let logLevel: LogLevelControl
    private let notifier = SystemdNotifier()
    private let store = SnapshotStore(version: BacklogdVersion.current)
    /// What the password checks remember across reloads (verified passwords, failures per address).
    private let authMemory = AuthMemory()

    init(configPath: String?, flags: DaemonFlags, config: DaemonConfig, logLevel: LogLevelControl) {
        self.configPath = configPath
        self.flags = flags
        self.config = config
        self.logLevel = logLevel
    }

    /// Runs until SIGTERM or SIGINT (blocked since the first line of main: DaemonSignals).
    func run() -> Int32 {
        ResourceLimits.raiseOpenFiles()
        let firstTick = DispatchSemaphore(value: 0)
        let ticks = TickObserver(notifier: notifier, logger: logger, firstTick: firstTick)
        let loop: CollectionLoop
        do {
            loop = try CollectionLoop(
                settings: config.collection, publish: { [store] in store.publish($0) },
                afterTick: { ticks.observe($0.snapshots) }, serving: { [store] in store.renderCPUSeconds })
        } catch {
            logger.critical("cannot start the collection", metadata: ["error": "\(error)"])
            return 1
        }
        loop.start()
        firstTick.wait()

        let server = MetricsServer(store: store, limits: limits(config))
        if let path = config.webConfigFile {
            do {
                server.update(gate: WebGate(try WebConfigFile.load(path), memory: authMemory))
            } catch {
                logger.critical("cannot read the web config", metadata: ["error": "\(error)"])
                loop.stop()
                server.shutdown(grace: 0)
                return 1
            }
        }
        let agent = AgentServer(store: store, limits: agentLimits(config))
        let bound: [String]
        let agentBound: [String]
        do {
            bound = try server.listen(on: config.listen)
            agentBound = try agent.listen(on: config.agent.listen)
        } catch {
            logger.critical("cannot listen", metadata: [
                "listen": "\(config.listen.map(\.description).joined(separator: ","))",
                "agent.listen": "\(config.agent.listen.map(\.description).joined(separator: ","))", "error": "\(error)",
            ])
            loop.stop()
            agent.shutdown()
            server.shutdown(grace: 0)
            return 1
        }
        var started: Logger.Metadata = [
            "listening": "\(bound.joined(separator: ","))", "config": "\(configPath ?? DaemonConfig.defaultPath)",
            "settings": "\(config.summary)",
        ]
        if !agentBound.isEmpty { started["agent"] = "\(agentBound.joined(separator: ","))" }
        logger.info("backlogd \(BacklogdVersion.current) started", metadata: started)
        if let w = notifier.watchdogInterval, config.collection.interval > w {
            logger.warning("interval is longer than half of WatchdogSec; systemd will think the collector hung",
                           metadata: ["interval": "\(DurationText.text(config.collection.interval))"])
        }
        notifier.notify("READY=1\nSTATUS=serving \(bound.joined(separator: " "))")
        StartupPages.release()
        while DaemonSignals.next() == SIGHUP {
            reload(loop: loop, server: server, agent: agent)
        }

        logger.info("stopping")
        notifier.notify("STOPPING=1")
        // Collection first (nothing new is published), then the agent, then the
        // endpoint, which drains the responses in progress.
        loop.stop()
        agent.shutdown()
        server.shutdown(grace: 5)
        logger.info("stopped")
        return 0
    }

    /// SIGHUP: re-read the file, put the flags on top, apply. A bad file, or a new
    /// address that cannot be bound, leaves the running config as it was.
    private func reload(loop: CollectionLoop, server: MetricsServer, agent: AgentServer) {
        notifier.reloading()
        defer { notifier.notify("READY=1") }
        let new: DaemonConfig
        do {
            new = try flags.applied(to: try ConfigLoader.load(path: configPath))
        } catch {
            logger.error("config reload failed; the running config stays in force", metadata: ["error": "\(error)"])
            return
        }
        let web: WebSettings
        do {
            web = try new.webConfigFile.map { path throws(ConfigError) in try WebConfigFile.load(path) } ?? WebSettings()
        } catch {
            logger.error("config reload failed: the web config; the running config stays in force", metadata: ["error": "\(error)"])
            return
        }
        // All addresses or none: the agent's first, put back if the HTTP endpoint's fail.
        let agentBefore = agent.addresses
        do {
            try agent.listen(on: new.agent.listen)
        } catch {
            logger.error("config reload failed: cannot listen for the agent; the running config stays in force",
                         metadata: ["agent.listen": "\(new.agent.listen.map(\.description).joined(separator: ","))", "error": "\(error)"])
            return
        }
        do {
            try server.listen(on: new.listen)
        } catch {
            _ = try? agent.listen(on: agentBefore)
            logger.error("config reload failed: cannot listen; the running config stays in force",
                         metadata: ["listen": "\(new.listen.map(\.description).joined(separator: ","))", "error": "\(error)"])
            return
        }
        server.update(limits: limits(new))
        server.update(gate: WebGate(web, memory: authMemory))
        agent.update(limits: agentLimits(new))
        loop.update(new.collection)
        logLevel.current = new.logLevel
        logger.info("config reloaded", metadata: ["settings": "\(new.summary)"])
        if let w = notifier.watchdogInterval, new.collection.interval > w {
            logger.warning("interval is longer than half of WatchdogSec; systemd will think the collector hung",
                           metadata: ["interval": "\(DurationText.text(new.collection.interval))"])
        }
    }

    private func agentLimits(_ c: DaemonConfig) -> AgentLimits {
        var limits = c.agent.limits
        limits.staleAfter = self.limits(c).staleAfter
        return limits
    }

    private func limits(_ c: DaemonConfig) -> HTTPLimits {
        var limits = c.http
        // /healthz: stale after ten fast intervals, at least 30 s.
        limits.staleAfter = max(30, c.collection.interval * 10)
        return limits
    }
}
