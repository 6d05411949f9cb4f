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

    func observe(_ snapshots: [Snapshot]) {
        if let w = notifier.watchdogInterval, (ContinuousClock.now - lastWatchdog).seconds >= w {
            notifier.notify("WATCHDOG=1")
            lastWatchdog = .now
        }
        var seen = Set<String>()
        for snapshot in snapshots {
            for s in snapshot.sources {
                let key = snapshot.netns + " " + s.name
                seen.insert(key)
                if let error = s.error, down[key] == nil {
                    down[key] = error
                    logger.error("source failed", metadata: ["netns": "\(snapshot.netns)", "source": "\(s.name)", "error": "\(error)"])
                } else if s.up, down.removeValue(forKey: key) != nil {
                    logger.notice("source recovered", metadata: ["netns": "\(snapshot.netns)", "source": "\(s.name)"])
                }
            }
        }
        // A namespace that went away takes its failures with it.
        down = down.filter { seen.contains($0.key) }
        if !seenFirst {
            seenFirst = true
            firstTick.signal()
        }
    }
}
