import BacklogCore
import Logging

/// The namespaces being collected (backlogd's own first) with each one's latest
/// snapshot, and those that could not be joined. A value owned by the fast
/// ticker alone: the deep tick discovers and joins namespaces on its own thread
/// and hands the result over (`reconcile`), so nothing reads, waits and writes back.
struct NamespaceRegistry {
    /// A watched namespace: its collector and what the ticker knows of it.
    struct Slot {
        let collector: NamespaceCollector
        var key: String { NamespaceRegistry.key(collector.namespace) }
        /// The newest snapshot it made (a tick's or a deep look's).
        var latest: NamespaceCollector.Assembled?
        /// Its listeners' inodes as of its last tick that saw them change: for the owner lookup.
        var inodes: Set<UInt32> = []
        /// A tick of it has not reported yet (a slow namespace skips ticks rather than queueing them).
        var inFlight = false

        /// Keeps the newer of what it has and `a`.
        mutating func offer(_ a: NamespaceCollector.Assembled) {
            if let i = a.inodes { inodes = i }
            if (latest?.sequence ?? 0) < a.sequence { latest = a }
        }
    }

    struct Failed {
        var ns: WatchedNamespace
        var error: String
        var at: ContinuousClock.Instant
        /// Failed joins of this namespace so far: its `collect_errors_total{source="netns"}`.
        var attempts: UInt64
    }

    /// What a discovery found and joined (made on the deep tick's thread).
    struct Discovery: Sendable {
        var wanted: [WatchedNamespace]
        var unreadable: Int?
        var joined: [NamespaceCollector]
        var failures: [(ns: WatchedNamespace, error: NetnsError)]
    }

    private(set) var slots: [Slot]
    private var failed: [UInt64: Failed] = [:]
    /// Failed joins by reason, since start (each namespace counted once per appearance).
    private(set) var openFailures: [String: UInt64] = [:]
    /// Processes whose namespace the last discovery could not read; nil when not discovering.
    private(set) var unreadableProcesses: Int?
    /// A join that failed for want of a capability fails again until restart; other
    /// causes may pass. Each try costs a thread, so not more often than this.
    static let defaultRetryAfter = Duration.seconds(30)
    let retryAfter: Duration
    private let logger = Logger(label: "backlogd.netns")

    init(host: NamespaceCollector, retryAfter: Duration = defaultRetryAfter) {
        slots = [Slot(collector: host)]
        self.retryAfter = retryAfter
    }

    /// A namespace is matched by inode and label.
    static func key(_ ns: WatchedNamespace) -> String { "\(ns.inode) \(ns.label)" }

    /// Namespaces a discovery should not try to join: open, or failed within `retryAfter`.
    func notToJoin(now: ContinuousClock.Instant = .now) -> Set<String> {
        Set(slots.map(\.key)).union(failed.values.filter { now - $0.at < retryAfter }.map { Self.key($0.ns) })
    }

    /// Joins each namespace (a thread each; on the caller's thread, never the ticker's).
    static func join(_ namespaces: [WatchedNamespace], peakWindow: Double) -> (joined: [NamespaceCollector], failures: [(ns: WatchedNamespace, error: NetnsError)]) {
        var joined: [NamespaceCollector] = []
        var failures: [(ns: WatchedNamespace, error: NetnsError)] = []
        for ns in namespaces {
            do throws(NetnsError) {
                joined.append(try NamespaceCollector(ns, peakWindow: peakWindow))
            } catch {
                failures.append((ns, error))
            }
        }
        return (joined, failures)
    }

    /// Makes the open namespaces the wanted ones (the host is always kept), the
    /// joined ones added; a failed join is shown as an unreachable namespace.
    mutating func reconcile(_ d: Discovery, now: ContinuousClock.Instant = .now) {
        unreadableProcesses = d.unreadable
        let wantedKeys = Set(d.wanted.map(Self.key))
        let closing = slots.filter { !$0.collector.namespace.isHost && !wantedKeys.contains($0.key) }
        slots.removeAll { !$0.collector.namespace.isHost && !wantedKeys.contains($0.key) }
        var have = Set(slots.map(\.key))
        var added: [String] = []
        for c in d.joined where wantedKeys.contains(Self.key(c.namespace)) && !have.contains(Self.key(c.namespace)) {
            slots.append(Slot(collector: c))
            have.insert(Self.key(c.namespace))
            failed[c.namespace.inode] = nil
            added.append(c.namespace.label)
        }
        failed = failed.filter { wantedKeys.contains(Self.key($0.value.ns)) }
        for (ns, error) in d.failures where wantedKeys.contains(Self.key(ns)) {
            // Gone between the scan and the join: nothing to show. Otherwise say why, once.
            if var f = failed[ns.inode] {
                f.attempts += 1
                f.at = now
                f.error = "\(error)"
                failed[ns.inode] = error.reason == "gone" ? nil : f
                continue
            }
            openFailures[error.reason, default: 0] += 1
            if error.reason != "gone" {
                failed[ns.inode] = Failed(ns: ns, error: "\(error)", at: now, attempts: 1)
                logger.warning("cannot watch network namespace", metadata: ["netns": "\(ns.label)", "error": "\(error)"])
            }
        }
        for c in closing {
            logger.info("network namespace gone; its series are dropped", metadata: ["netns": "\(c.collector.namespace.label)"])
        }
        for label in added {
            logger.info("watching network namespace", metadata: ["netns": "\(label)"])
        }
    }

    /// Not discovering (namespaces.all off): only the host, and no count of unreadable processes.
    mutating func hostOnly() {
        slots.removeAll { !$0.collector.namespace.isHost }
        failed = [:]
        unreadableProcesses = nil
    }

    subscript(key: String) -> Slot? {
        get { slots.first { $0.key == key } }
    }

    mutating func update(_ key: String, _ body: (inout Slot) -> Void) {
        if let i = slots.firstIndex(where: { $0.key == key }) { body(&slots[i]) }
    }

    mutating func update(at i: Int, _ body: (inout Slot) -> Void) {
        body(&slots[i])
    }

    /// Snapshots for the namespaces that could not be joined.
    var unreachable: [Snapshot] {
        failed.values.sorted { $0.ns.label < $1.ns.label }.map { .unreachable($0.ns, error: $0.error, errorsTotal: $0.attempts) }
    }

    /// Drops every namespace: each collector's thread ends (leaving its namespace)
    /// once the last task that uses it is done.
    mutating func closeAll() {
        slots.removeAll()
        failed = [:]
    }
}
