import BacklogCore
import BacklogDaemon
import Dispatch
import Logging

/// Runs on the collection timer after each tick: signals the first tick, feeds
/// the systemd watchdog (so a hung collector stops feeding it and gets restarted)
/// and logs a source when it goes down or comes back, not on every tick.
/// Used only from the collection queue.
final class TickObserver: @unchecked Sendable {
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let firstTick: DispatchSemaphore
    private var seenFirst = false
    private var lastWatchdog = ContinuousClock.now
    private var down: [String: String] = [:]

    init(notifier: SystemdNotifier, logger: Logger, firstTick: DispatchSemaphore) {
        self.notifier = notifier
        self.logger = logger
        self.firstTick = firstTick
    }

    func observe(_ snapshot: Snapshot) {
        if let w = notifier.watchdogInterval, (ContinuousClock.now - lastWatchdog).seconds >= w {
            notifier.notify("WATCHDOG=1")
            lastWatchdog = .now
        }
        for s in snapshot.sources {
            if let error = s.error, down[s.name] == nil {
                down[s.name] = error
                logger.error("source failed", metadata: ["source": "\(s.name)", "error": "\(error)"])
            } else if s.up, down.removeValue(forKey: s.name) != nil {
                logger.notice("source recovered", metadata: ["source": "\(s.name)"])
            }
        }
        if !seenFirst {
            seenFirst = true
            firstTick.signal()
        }
    }
}
