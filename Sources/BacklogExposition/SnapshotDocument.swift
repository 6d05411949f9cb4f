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

        enum CodingKeys: String, CodingKey {
            case netns, family, address, port, socket, inode, cookie, uid, v6only, queue
            case unixType = "unix_type"
        }

        init(_ l: Listener) {
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

    var schema: Int
    var version: String
    var netns: String
    var timestamp: Double
    var windowSeconds: Double
    var listeners: [ListenerEntry]
    var counters: [Counter]
    var sysctls: [String: Int64]
    var findings: [FindingEntry]
    var sources: [Source]

    enum CodingKeys: String, CodingKey {
        case schema, version, netns, timestamp, listeners, counters, sysctls, findings, sources
        case windowSeconds = "window_seconds"
    }

    public init(_ s: Snapshot, version: String) {
        schema = Self.schema
        self.version = version
        netns = s.netns
        timestamp = s.timestamp
        windowSeconds = s.windowSeconds
        listeners = s.listeners.map(ListenerEntry.init)
        counters = ListenCounter.allCases.map {
            Counter(name: $0.rawValue, value: s.counter($0), windowDelta: s.counterDeltas?[$0])
        }
        sysctls = s.sysctls
        findings = s.findings.map {
            FindingEntry(kind: $0.kind, severity: $0.severity.rawValue, message: $0.message, listener: $0.listener.map(ListenerEntry.init))
        }
        sources = s.sources.map {
            Source(name: $0.name, up: $0.up, error: $0.error, durationSeconds: $0.durationSeconds, skipped: $0.skipped,
                   lastSuccess: $0.lastSuccess)
        }
    }
}
