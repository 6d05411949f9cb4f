import Foundation

/// The parts of `backlogd --once --format json` the tests read, decoded strictly.
struct OnceDocument: Decodable {
    struct Queue: Decodable {
        var length: UInt32
        var max: UInt32
        var peak: UInt32
        var full: Bool
    }

    struct Aged: Decodable {
        var count: Int
        var oldest_seconds: Double
    }

    struct Connections: Decodable {
        var syn_recv: [String: Aged]
        var unaccepted: Aged
        var unaccepted_bytes: UInt64
        var stalled: Aged
        var close_wait: Aged
    }

    struct Owner: Decodable {
        var pid: Int32
        var comm: String
        var cmdline: String?
        var unit: String?
        var container: String?
        var cgroup: String?
        var pod: Pod?
    }

    struct Pod: Decodable, Equatable {
        var uid: String
        var namespace: String?
        var name: String?
    }

    struct Listener: Decodable {
        var netns: String
        var family: String
        var address: String
        var port: UInt16?
        var socket: Int
        var inode: UInt32
        var queue: Queue
        var connections: Connections?
        var overflows_estimated: Double?
        var owner: Owner?
        var unattributed: String?
        var accepting: Accepting?
    }

    struct Accepting: Decodable {
        var waiting: Int
        var oldest_wait_seconds: Double
        var no_progress_seconds: Double
        var progressed: Bool
        var hung: String?
        var threads: String?
    }

    struct Counter: Decodable {
        var name: String
        var value: UInt64?
    }

    struct Finding: Decodable {
        var kind: String
        var severity: String
        var message: String
        var listener: Listener?
    }

    struct NetnsOwner: Decodable {
        var pid: Int32
        var unit: String?
        var container: String?
    }

    struct Source: Decodable {
        var name: String
        var up: Bool
        var error: String?
    }

    var schema: Int
    var version: String
    var netns: String
    var netns_owner: NetnsOwner?
    var namespaces: [OnceDocument]?
    var sources: [Source]
    var listeners: [Listener]
    var counters: [Counter]
    var sysctls: [String: Int64]
    var findings: [Finding]
    var listeners_left_out: Int

    func listener(port: UInt16) -> Listener? {
        listeners.first { $0.port == port && $0.socket == 0 }
    }

    func findings(_ kind: String, port: UInt16? = nil) -> [Finding] {
        findings.filter { $0.kind == kind && (port == nil || $0.listener?.port == port) }
    }

    static func decode(_ text: String) throws -> OnceDocument {
        try JSONDecoder().decode(OnceDocument.self, from: Data(text.utf8))
    }
}
