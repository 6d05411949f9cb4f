import BacklogCore

/// The JSON document of `--once --format json` and of `GET /snapshot`.
/// Field names are part of the public interface: add, do not rename.
/// `schema` changes only when a field changes meaning or disappears.
public struct SnapshotDocument: Encodable, Sendable {
    public static let schema = 1

    public struct Queue: Encodable, Sendable {
        var length: UInt32
        var max: UInt32
        var peak: UInt32
        var full: Bool
        var fullSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case length, max, peak, full
            case fullSeconds = "full_seconds"
        }
    }

    public struct Aged: Encodable, Sendable {
        var count: Int
        var oldestSeconds: Double

        enum CodingKeys: String, CodingKey {
            case count
            case oldestSeconds = "oldest_seconds"
        }

        init(_ a: AgedCount) {
            count = a.count
            oldestSeconds = a.oldestSeconds
        }
    }

    public struct Connections: Encodable, Sendable {
        var synRecv: [String: Aged]
        var unaccepted: Aged
        var unacceptedBytes: UInt64
        var stalled: Aged
        var closeWait: Aged

        enum CodingKeys: String, CodingKey {
            case unaccepted, stalled
            case synRecv = "syn_recv"
            case unacceptedBytes = "unaccepted_bytes"
            case closeWait = "close_wait"
        }

        init(_ c: ConnectionStats) {
            synRecv = Dictionary(uniqueKeysWithValues: SynRecvKind.allCases.map { ($0.rawValue, Aged(c.syn($0))) })
            unaccepted = Aged(c.unaccepted)
            unacceptedBytes = c.unacceptedBytes
            stalled = Aged(c.stalled)
            closeWait = Aged(c.closeWait)
        }
    }

    public struct OwnerEntry: Encodable, Sendable {
        var pid: Int32
        var comm: String
        var cmdline: String?
        var unit: String?
        var container: String?
        var cgroup: String?
        /// `{"uid": …, "namespace": …, "name": …}` when the cgroup is a Kubernetes pod's.
        var pod: KubernetesPod?
    }

    public struct ListenerEntry: Encodable, Sendable {
        var netns: String
        var family: String
        var address: String
        var port: UInt16?
        var socket: Int
        var inode: UInt32
        var cookie: UInt64?
        var uid: UInt32?
        var v6only: Bool?
        var unixType: String?
        var queue: Queue
        var connections: Connections?
        var overflowsEstimated: Double?
        var drops: UInt64?
        var dropsInWindow: UInt64?
        var fdUsage: FdUsage?
        var owner: OwnerEntry?
        var unattributed: String?
        var accepting: Accepting?

        enum CodingKeys: String, CodingKey {
            case netns, family, address, port, socket, inode, cookie, uid, v6only, queue, connections, owner, unattributed, accepting
            case unixType = "unix_type"
            case overflowsEstimated = "overflows_estimated"
            case drops
            case dropsInWindow = "drops_in_window"
            case fdUsage = "fd_usage"
        }

        init(_ l: Listener, commandLines: Bool = true) {
            owner = l.owner.map { OwnerEntry(pid: $0.pid, comm: $0.comm, cmdline: commandLines ? $0.cmdline : nil, unit: $0.unit, container: $0.container,
                                                 cgroup: $0.cgroup, pod: $0.pod) }
            unattributed = l.unattributed?.rawValue
            netns = l.netns
            family = l.family.rawValue
            address = l.address
            port = l.port
            socket = l.socket
            inode = l.inode
            cookie = l.cookie
            uid = l.uid
            v6only = l.v6Only
            unixType = l.unixType
            queue = Queue(length: l.queueLength, max: l.queueMax, peak: l.queuePeak, full: l.isFull, fullSeconds: l.fullSeconds)
            connections = l.connections.map(Connections.init)
            overflowsEstimated = l.overflowsEstimated
            drops = l.drops
            dropsInWindow = l.dropsInWindow
            fdUsage = l.fdUsage
            accepting = l.acceptance.map(Accepting.init)
        }
    }

    /// Hung or busy (AcceptEvidence): present while connections wait.
    public struct Accepting: Encodable, Sendable {
        var waiting: Int
        var oldestWaitSeconds: Double
        var noProgressSeconds: Double
        var progressed: Bool
        var hung: String?
        var threads: String?

        enum CodingKeys: String, CodingKey {
            case waiting, progressed, hung, threads
            case oldestWaitSeconds = "oldest_wait_seconds"
            case noProgressSeconds = "no_progress_seconds"
        }

        init(_ e: AcceptEvidence) {
            waiting = e.waiting
            oldestWaitSeconds = e.oldestWaitSeconds
            noProgressSeconds = e.noProgressSeconds
            progressed = e.progressed
            hung = e.hung.map { cause in
                switch cause {
                case .stopped: "stopped"
                case .traced: "traced"
                case .frozen: "frozen"
                case .uninterruptible: "uninterruptible"
                case .idle: "idle"
                case .noProgress: "no_progress"
                }
            }
            threads = e.waitsHidden ? nil : e.threads
        }
    }

    public struct Counter: Encodable, Sendable {
        var name: String
        var value: UInt64?
        var windowDelta: UInt64?

        enum CodingKeys: String, CodingKey {
            case name, value
            case windowDelta = "window_delta"
        }
    }

    public struct FindingEntry: Encodable, Sendable {
        var kind: String
        var severity: String
        var message: String
        var listener: ListenerEntry?
    }

    public struct Source: Encodable, Sendable {
        var name: String
        var up: Bool
        var error: String?
        var durationSeconds: Double
        var skipped: UInt64
        var lastSuccess: Double?

        enum CodingKeys: String, CodingKey {
            case name, up, error, skipped
            case durationSeconds = "duration_seconds"
            case lastSuccess = "last_success"
        }
    }

    public struct OccupantEntry: Encodable, Sendable {
        var pid: Int32
        var unit: String?
        var container: String?
    }

    var schema: Int
    var version: String
    var netns: String
    /// Who is in the namespace (the lowest pid), when it is not `host`.
    var occupant: OccupantEntry?
    /// The other namespaces watched (`--all-namespaces`, `namespaces.all`), each a document like this one.
    var namespaces: [SnapshotDocument]?
    var timestamp: Double
    var windowSeconds: Double
    var listeners: EncodedList<ListenerEntry>
    var counters: [Counter]
    var sysctls: [String: Int64]
    var findings: EncodedList<FindingEntry>
    var sources: [Source]
    var deepIntervalSeconds: Double?
    var unattributedOverflows: Double?
    var trackingDropped: UInt64?
    /// Listeners `max_listeners` left out of `listeners`.
    var listenersLeftOut: Int

    enum CodingKeys: String, CodingKey {
        case schema, version, netns, timestamp, listeners, counters, sysctls, findings, sources, namespaces
        case occupant = "netns_owner"
        case windowSeconds = "window_seconds"
        case deepIntervalSeconds = "deep_interval_seconds"
        case unattributedOverflows = "unattributed_overflows"
        case trackingDropped = "tracking_dropped"
        case listenersLeftOut = "listeners_left_out"
    }

    /// A namespace's listeners or findings, or (`SnapshotJSON`) a number that stands in for them.
    enum EncodedList<Entry: Encodable & Sendable>: Encodable, Sendable {
        case entries([Entry])
        case placeholder(Int64)

        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .entries(let l): try c.encode(l)
            case .placeholder(let n): try c.encode(n)
            }
        }
    }

    /// The first namespace at the top (host, or the one asked for), the others under `namespaces`.
    /// `listeners`: false leaves them and the findings out (SnapshotJSON writes them one by one).
    init(_ all: [Snapshot], version: String, commandLines: Bool = true, listeners: Bool = true) {
        self.init(all[0], version: version, commandLines: commandLines, listeners: listeners)
        if all.count > 1 {
            namespaces = all.dropFirst().map { SnapshotDocument($0, version: version, commandLines: commandLines, listeners: listeners) }
        }
    }

    /// `commandLines`: false for /snapshot (served over HTTP), true for --once (local).
    init(_ s: Snapshot, version: String, commandLines: Bool = true, listeners: Bool = true) {
        schema = Self.schema
        self.version = version
        netns = s.netns
        occupant = s.occupant.map { OccupantEntry(pid: $0.pid, unit: $0.unit, container: $0.container) }
        timestamp = s.timestamp
        windowSeconds = s.windowSeconds
        listenersLeftOut = s.listenersLeftOut
        self.listeners = .entries(listeners ? s.listenersFullestFirst.map { ListenerEntry($0, commandLines: commandLines) } : [])
        counters = ListenCounter.allCases.map {
            Counter(name: $0.rawValue, value: s.counter($0), windowDelta: s.counterDeltas?[$0])
        }
        sysctls = s.sysctls
        findings = .entries(listeners ? s.findings.map { FindingEntry($0, commandLines: commandLines) } : [])
        deepIntervalSeconds = s.deepIntervalSeconds
        unattributedOverflows = s.unattributedOverflows
        trackingDropped = s.trackingDropped
        sources = s.sources.map {
            Source(name: $0.name, up: $0.up, error: $0.error, durationSeconds: $0.durationSeconds, skipped: $0.skipped,
                   lastSuccess: $0.lastSuccess)
        }
    }
}

extension SnapshotDocument.FindingEntry {
    init(_ f: Finding, commandLines: Bool) {
        self.init(kind: f.kind, severity: f.severity.rawValue, message: f.message,
                  listener: f.listener.map { SnapshotDocument.ListenerEntry($0, commandLines: commandLines) })
    }
}
