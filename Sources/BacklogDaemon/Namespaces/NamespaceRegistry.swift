import BacklogCore
import Logging
import Synchronization

/// The namespaces being collected, host first. The deep tick reconciles it with
/// each discovery (opening the new, closing the vanished); the fast tick reads it.
final class NamespaceRegistry: Sendable {
    private struct State {
        var open: [NamespaceCollection] = []
        /// Namespaces that could not be joined (other than "gone"), shown as a failed `netns` source;
        /// tried again `retryAfter` after the last attempt, not on every deep tick.
        var failed: [UInt64: (ns: WatchedNamespace, error: String, at: ContinuousClock.Instant)] = [:]
        /// Failed joins by reason, since start (each namespace counted once per appearance).
        var openFailures: [String: UInt64] = [:]
        var unreadable: Int?
    }
    private let state = Mutex(State())
    /// A join that failed for want of a capability fails again until restart; other
    /// causes may pass. Each try costs a thread, so not more often than this.
    static let retryAfter = Duration.seconds(30)
    private let logger = Logger(label: "backlogd.netns")

    init(host: NamespaceCollection) {
        state.withLock { $0.open = [host] }
    }

    var current: [NamespaceCollection] { state.withLock { $0.open } }

    /// Snapshots for the namespaces that could not be joined.
    var unreachable: [Snapshot] {
        state.withLock { s in s.failed.values.sorted { $0.ns.label < $1.ns.label }.map { Snapshot.unreachable($0.ns, error: $0.error) } }
    }

    var openFailures: [String: UInt64] { state.withLock { $0.openFailures } }
    /// Processes whose namespace the last discovery could not read; nil when not discovering.
    var unreadableProcesses: Int? {
        get { state.withLock { $0.unreadable } }
        set { state.withLock { $0.unreadable = newValue } }
    }

    /// Makes the set of open namespaces the `wanted` one (host is always kept).
    /// Joining happens here, off the fast tick; a namespace is matched by inode and label.
    func reconcile(_ wanted: [WatchedNamespace], settings: CollectionLoop.Settings) {
        let key = { (ns: WatchedNamespace) in "\(ns.inode) \(ns.label)" }
        let wantedKeys = Set(wanted.map(key))
        let (open, failed) = state.withLock { ($0.open, $0.failed) }
        var closing: [NamespaceCollection] = []
        var kept: [NamespaceCollection] = []
        for c in open {
            if c.namespace.isHost || wantedKeys.contains(key(c.namespace)) { kept.append(c) } else { closing.append(c) }
        }
        let have = Set(kept.map { key($0.namespace) })
        var added: [NamespaceCollection] = []
        var newFailed = failed.filter { wantedKeys.contains(key($0.value.ns)) }
        var failures: [String: UInt64] = [:]
        let now = ContinuousClock.now
        for ns in wanted where !ns.isHost && !have.contains(key(ns)) {
            if let f = newFailed[ns.inode], now - f.at < Self.retryAfter { continue }
            do {
                let c = try NamespaceCollection(ns, settings: settings)
                c.owner.value = ns.owner
                added.append(c)
                newFailed[ns.inode] = nil
            } catch {
                // Gone between the scan and the join: nothing to show. Otherwise say why, once.
                if let f = newFailed[ns.inode] {
                    newFailed[ns.inode] = error.reason == "gone" ? nil : (f.ns, "\(error)", now)
                    continue
                }
                failures[error.reason, default: 0] += 1
                if error.reason != "gone" {
                    newFailed[ns.inode] = (ns, "\(error)", now)
                    logger.warning("cannot watch network namespace", metadata: ["netns": "\(ns.label)", "error": "\(error)"])
                }
            }
        }
        // Owners of namespaces may change (the lowest pid exits).
        let owners = Dictionary(wanted.map { (key($0), $0.owner) }, uniquingKeysWith: { a, _ in a })
        for c in kept where !c.namespace.isHost { c.owner.value = owners[key(c.namespace)] ?? nil }
        state.withLock { s in
            s.open = kept + added
            s.failed = newFailed
            for (r, n) in failures { s.openFailures[r, default: 0] += n }
        }
        for c in closing {
            logger.info("network namespace gone; its series are dropped", metadata: ["netns": "\(c.namespace.label)"])
            c.close()
        }
        for c in added {
            logger.info("watching network namespace", metadata: ["netns": "\(c.namespace.label)"])
        }
    }

    func closeAll() {
        let all = state.withLock { s in
            defer { s.open.removeAll() }
            return s.open
        }
        all.forEach { $0.close() }
    }
}
