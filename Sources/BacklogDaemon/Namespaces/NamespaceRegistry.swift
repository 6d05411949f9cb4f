import BacklogCore
import Logging
import Synchronization

/// The namespaces being collected, host first. The deep loop reconciles it with
/// each discovery (opening the new, closing the vanished); the fast tick reads it.
final class NamespaceRegistry: Sendable {
    private struct State {
        var open: [NamespaceSlot] = []
        /// Namespaces that could not be joined (other than "gone"), shown as a failed `netns` source;
        /// tried again `retryAfter` after the last attempt, not on every deep tick.
        var failed: [UInt64: Failed] = [:]
        /// Failed joins by reason, since start (each namespace counted once per appearance).
        var openFailures: [String: UInt64] = [:]
        var unreadable: Int?
    }
    private struct Failed {
        var ns: WatchedNamespace
        var error: String
        var at: ContinuousClock.Instant
        /// Failed joins of this namespace so far: its `collect_errors_total{source="netns"}`.
        var attempts: UInt64
    }
    private let state = Mutex(State())
    /// A join that failed for want of a capability fails again until restart; other
    /// causes may pass. Each try costs a thread, so not more often than this.
    static let defaultRetryAfter = Duration.seconds(30)
    let retryAfter: Duration
    private let logger = Logger(label: "backlogd.netns")

    init(host: NamespaceSlot, retryAfter: Duration = defaultRetryAfter) {
        self.retryAfter = retryAfter
        state.withLock { $0.open = [host] }
    }

    var current: [NamespaceSlot] { state.withLock { $0.open } }

    /// Snapshots for the namespaces that could not be joined.
    var unreachable: [Snapshot] {
        state.withLock { s in
            s.failed.values.sorted { $0.ns.label < $1.ns.label }.map { .unreachable($0.ns, error: $0.error, errorsTotal: $0.attempts) }
        }
    }

    var openFailures: [String: UInt64] { state.withLock { $0.openFailures } }
    /// Processes whose namespace the last discovery could not read; nil when not discovering.
    var unreadableProcesses: Int? {
        get { state.withLock { $0.unreadable } }
        set { state.withLock { $0.unreadable = newValue } }
    }

    /// Makes the set of open namespaces the `wanted` one (host is always kept).
    /// Joining happens here, off the fast tick; a namespace is matched by inode and label.
    func reconcile(_ wanted: [WatchedNamespace], peakWindow: Double) async {
        let key = { (ns: WatchedNamespace) in "\(ns.inode) \(ns.label)" }
        let wantedKeys = Set(wanted.map(key))
        let (open, failed) = state.withLock { ($0.open, $0.failed) }
        var closing: [NamespaceSlot] = []
        var kept: [NamespaceSlot] = []
        for c in open {
            if c.namespace.isHost || wantedKeys.contains(key(c.namespace)) { kept.append(c) } else { closing.append(c) }
        }
        let have = Set(kept.map { key($0.namespace) })
        var added: [NamespaceSlot] = []
        var newFailed = failed.filter { wantedKeys.contains(key($0.value.ns)) }
        var failures: [String: UInt64] = [:]
        let now = ContinuousClock.now
        for ns in wanted where !ns.isHost && !have.contains(key(ns)) {
            if let f = newFailed[ns.inode], now - f.at < retryAfter { continue }
            do throws(NetnsError) {
                added.append(try NamespaceSlot(ns, peakWindow: peakWindow))
                newFailed[ns.inode] = nil
            } catch {
                // Gone between the scan and the join: nothing to show. Otherwise say why, once.
                if var f = newFailed[ns.inode] {
                    f.attempts += 1
                    f.at = now
                    f.error = "\(error)"
                    newFailed[ns.inode] = error.reason == "gone" ? nil : f
                    continue
                }
                failures[error.reason, default: 0] += 1
                if error.reason != "gone" {
                    newFailed[ns.inode] = Failed(ns: ns, error: "\(error)", at: now, attempts: 1)
                    logger.warning("cannot watch network namespace", metadata: ["netns": "\(ns.label)", "error": "\(error)"])
                }
            }
        }
        // Who is in a namespace may change (the lowest pid exits).
        let occupants = Dictionary(wanted.map { (key($0), $0.occupant) }, uniquingKeysWith: { a, _ in a })
        for c in kept where !c.namespace.isHost { await c.collector.setOccupant(occupants[key(c.namespace)] ?? nil) }
        state.withLock { s in
            s.open = kept + added
            s.failed = newFailed
            for (r, n) in failures { s.openFailures[r, default: 0] += n }
        }
        for c in closing {
            logger.info("network namespace gone; its series are dropped", metadata: ["netns": "\(c.namespace.label)"])
        }
        for c in added {
            logger.info("watching network namespace", metadata: ["netns": "\(c.namespace.label)"])
        }
    }

    /// Drops every namespace: each collector's thread ends (leaving its namespace)
    /// once the last task that uses it is done.
    func closeAll() {
        state.withLock { $0.open.removeAll() }
    }
}
