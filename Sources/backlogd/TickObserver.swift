import BacklogCore
import BacklogDaemon
import Dispatch
import Logging
import Synchronization

/// Runs on the collection timer after each tick: signals the first tick, feeds
/// the systemd watchdog (so a hung collector stops feeding it and gets restarted)
/// and logs a source when it goes down or comes back, not on every tick.
/// Called on the collection queue only (after each fast tick); the lock is never contended.
final class TickObserver: Sendable {
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let firstTick: DispatchSemaphore
    private struct State {
        var seenFirst = false
        var lastWatchdog = ContinuousClock.now
        var down: [String: String] = [:]
    }
    private let state = Mutex(State())

    init(notifier: SystemdNotifier, logger: Logger, firstTick: DispatchSemaphore) {
        self.notifier = notifier
        self.logger = logger
        self.firstTick = firstTick
    }

    func observe(_ snapshots: [Snapshot]) {
        state.withLock { observe(snapshots, &$0) }
    }

    private func observe(_ snapshots: [Snapshot], _ s: inout State) {
        if let w = notifier.watchdogInterval, (ContinuousClock.now - s.lastWatchdog).seconds >= w {
            notifier.notify("WATCHDOG=1")
            s.lastWatchdog = .now
        }
        // Nothing down now or before (the usual tick): nothing to log, no keys to make.
        let anyDown = snapshots.contains { $0.sources.contains { !$0.up } }
        if anyDown || !s.down.isEmpty { logChanges(snapshots, &s) }
        if !s.seenFirst {
            s.seenFirst = true
            firstTick.signal()
        }
    }

    private func logChanges(_ snapshots: [Snapshot], _ s: inout State) {
        var seen = Set<String>()
        for snapshot in snapshots {
            for src in snapshot.sources {
                let key = snapshot.netns + " " + src.name
                seen.insert(key)
                if let error = src.error, s.down[key] == nil {
                    s.down[key] = error
                    logger.error("source failed", metadata: ["netns": "\(snapshot.netns)", "source": "\(src.name)", "error": "\(error)"])
                } else if src.up, s.down.removeValue(forKey: key) != nil {
                    logger.notice("source recovered", metadata: ["netns": "\(snapshot.netns)", "source": "\(src.name)"])
                }
            }
        }
        // A namespace that went away takes its failures with it.
        s.down = s.down.filter { seen.contains($0.key) }
    }
}
