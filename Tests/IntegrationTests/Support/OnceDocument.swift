import Foundation

/// The parts of `backlogd --once --format json` the tests read, decoded strictly.
struct OnceDocument: Decodable {
    struct Queue: Decodable {
        var length: UInt32
        var max: UInt32
        var peak: UInt32
        var full: Bool
    }

    struct Listener: Decodable {
        var netns: String
        var family: String
        var address: String
        var port: UInt16?
        var socket: Int
        var inode: UInt32
        var queue: Queue
    }

    struct Counter: Decodable {
        var name: String
        var value: UInt64?
    }

    struct Finding: Decodable {
        var kind: String
        var severity: String
        var message: String
    }

    var schema: Int
    var version: String
    var listeners: [Listener]
    var counters: [Counter]
    var sysctls: [String: Int64]
    var findings: [Finding]

    static func decode(_ text: String) throws -> OnceDocument {
        try JSONDecoder().decode(OnceDocument.self, from: Data(text.utf8))
    }
}
