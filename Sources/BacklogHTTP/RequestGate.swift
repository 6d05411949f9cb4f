import NIOCore
import NIOHTTP1
import Synchronization

/// What every connection and request passes before its route. The web-config
/// file's gate (TLS, basic auth, headers, a rate limit) is BacklogWeb's WebGate,
/// kept out of this module so that what links BacklogHTTP (its tests, the fuzz
/// and sanitizer builds) compiles no TLS library.
package protocol RequestGate: Sendable {
    /// Whether connections speak TLS (the handshake family is served then).
    var servesTLS: Bool { get }
    /// Whether basic auth or TLS is on (the auth families are served then).
    var guardsAccess: Bool { get }
    /// Added to every response that does not set them itself.
    var extraHeaders: [(String, String)] { get }
    /// Puts the connection's first handlers (TLS) on a new channel, on its event loop.
    func addConnectionHandlers(to pipeline: ChannelPipeline.SynchronousOperations, readTimeout: Double,
                               counters: AuthCounters) throws
    /// Whether the request may go on to its route; `source`: the client's IP address.
    func check(_ head: HTTPRequestHead, source: String?, on loop: EventLoop, counters: AuthCounters) -> EventLoopFuture<GateVerdict>
}

package enum GateVerdict: Sendable {
    case pass
    /// Answer this text instead of the route.
    case refuse(HTTPResponseStatus, String, headers: [(String, String)])
}

/// No web-config file: plain HTTP, every request passes.
package struct OpenGate: RequestGate {
    package init() {}
    package var servesTLS: Bool { false }
    package var guardsAccess: Bool { false }
    package var extraHeaders: [(String, String)] { [] }
    package func addConnectionHandlers(to pipeline: ChannelPipeline.SynchronousOperations, readTimeout: Double,
                                       counters: AuthCounters) throws {}
    package func check(_ head: HTTPRequestHead, source: String?, on loop: EventLoop,
                       counters: AuthCounters) -> EventLoopFuture<GateVerdict> {
        loop.makeSucceededFuture(.pass)
    }
}

/// The gate in force; a reload replaces it, and every request reads it anew
/// (a keep-alive connection does not keep an old password working). The
/// counters outlive reloads.
final class GateBox: Sendable {
    private let gate: Mutex<any RequestGate>
    let counters = AuthCounters()

    init(_ gate: any RequestGate = OpenGate()) {
        self.gate = Mutex(gate)
    }

    var current: any RequestGate { gate.withLock { $0 } }

    func replace(_ new: any RequestGate) {
        gate.withLock { $0 = new }
    }
}
