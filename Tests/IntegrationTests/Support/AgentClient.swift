import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Asks the daemon's HAProxy agent responder as HAProxy does: connect, send the
/// `agent-send` text, read until the daemon closes. Call it inside the namespace.
enum AgentClient {
    static func ask(_ text: String, port: UInt16, host: String = "127.0.0.1") throws -> String {
        let fd = try HTTPProbe.connect(host, port)
        defer { close(fd) }
        try HTTPProbe.send(fd, text)
        return String(decoding: try HTTPProbe.readAll(fd), as: UTF8.self)
    }
}
