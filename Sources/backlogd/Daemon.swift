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
import Synchronization

/// The long-running mode: collection timer, HTTP endpoint, signals, systemd notify.
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
    /// Reloads and stop run here, one at a time.
    private let control = DispatchQueue(label: "backlogd.control")
    private let stopped = DispatchSemaphore(value: 0)
    /// Set once serving; a SIGHUP before that has nothing to reload yet. Used on `control`.
    private let running = Mutex<(loop: CollectionLoop, server: MetricsServer, agent: AgentServer)?>(nil)

    init(configPath: String?, flags: DaemonFlags, config: DaemonConfig, logLevel: LogLevelControl) {
        self.configPath = configPath
        self.flags = flags
        self.config = config
        self.logLevel = logLevel
    }

    func run() -> Int32 {
        // First of all: a signal during start-up must not take its default action.
        // An early SIGTERM stops right after start-up; an early SIGHUP is logged.
        var signalSources: [any DispatchSourceSignal] = []
        defer { withExtendedLifetime(signalSources) {} }
        signalSources.append(handle(SIGHUP) { [self] in
            guard let (loop, server, agent) = running.withLock({ $0 }) else {
                logger.notice("SIGHUP during start-up ignored: the config was just read")
                return
            }
            reload(loop: loop, server: server, agent: agent)
        })
        signalSources.append(handle(SIGTERM) { [self] in stopped.signal() })
        signalSources.append(handle(SIGINT) { [self] in stopped.signal() })
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
        control.sync { running.withLock { $0 = (loop, server, agent) } }
        notifier.notify("READY=1\nSTATUS=serving \(bound.joined(separator: " "))")
        StartupPages.release()
        stopped.wait()

        logger.info("stopping")
        notifier.notify("STOPPING=1")
        control.sync {
            running.withLock { $0 = nil }
            loop.stop()
            agent.shutdown()
            server.shutdown(grace: 5)
        }
        logger.info("stopped")
        return 0
    }

    /// The source must be kept for as long as the signal is to be handled.
    private func handle(_ sig: Int32, _ action: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: control)
        source.setEventHandler(handler: action)
        source.resume()
        return source
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
