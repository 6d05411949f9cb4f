import NIOCore
import NIOHTTP1
import NIOPosix

/// Answers one request at a time from Routes (NIO's pipelining handler orders
/// pipelined requests and reads no further while a response is pending).
/// - A response waits while the connection is not writable, so a client that
///   pipelines requests and never reads stops being read from: its memory stays
///   bounded and the idle timeout ends it.
/// - A body that has not been rendered yet is rendered on the thread pool, so a
///   large snapshot never blocks the event loop other clients share; a streamed
///   body (identity /metrics, /snapshot) is made there piece by piece, each once
///   the kernel has taken the one before.
/// - Requests that announce a body are refused at once and the connection closed,
///   which keeps RequestHeadGuard's byte count exact.
/// - The registry learns when a response starts and when it has been handed to
///   the kernel: such a connection is not evicted, and shutdown waits for it.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: Routes
    private let pool: NIOThreadPool
    private let connections: ConnectionRegistry
    private var request: HTTPRequestHead?
    private var refused = false
    private var waitingForWritable: HTTPRequestHead?

    init(routes: Routes, pool: NIOThreadPool) {
        self.routes = routes
        self.pool = pool
        self.connections = routes.connections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.headers.contains(name: "Transfer-Encoding") || (Int(head.headers.first(name: "Content-Length") ?? "0") ?? 1) != 0 {
                refused = true
                connections.responseStarted(context.channel)
                let reply = head.method == .GET || head.method == .HEAD
                    ? Reply.text(.payloadTooLarge, "requests here have no body")
                    : routes.reply(routes.store.latest, method: head.method, uri: head.uri, headers: head.headers)
                respond(context: context, head: head, reply: reply, close: true)
                return
            }
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            connections.responseStarted(context.channel)
            prepare(context: context, head: head)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let head = waitingForWritable {
            waitingForWritable = nil
            prepare(context: context, head: head)
        }
        context.fireChannelWritabilityChanged()
    }

    /// A request NIO could not parse: its error handler has answered 400; close,
    /// since the byte stream cannot be trusted any more.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func prepare(context: ChannelHandlerContext, head: HTTPRequestHead) {
        guard context.channel.isWritable else {
            waitingForWritable = head
            return
        }
        let close = !head.isKeepAlive
        // The rate limit and basic auth first; every path (/healthz and /probe too) passes them.
        let source = context.channel.remoteAddress?.ipAddress
        routes.gates.current.check(head, source: source, on: context.eventLoop, counters: routes.gates.counters).assumeIsolated().whenComplete { [self] result in
            guard context.channel.isActive else { return }
            switch result {
            case .success(.pass): route(context: context, head: head, close: close)
            case .success(.refuse(let status, let text, let headers)):
                respond(context: context, head: head, reply: .text(status, text, headers: headers), close: close)
            case .failure: respond(context: context, head: head, reply: .text(.serviceUnavailable, "shutting down"), close: true)
            }
        }
    }

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead, close: Bool) {
        // One snapshot for the whole request: a newer one may be published meanwhile.
        let served = routes.store.latest
        // Negotiated once, for both questions.
        let asked = Routes.Asked(uri: head.uri, headers: head.headers)
        if routes.isReady(served, asked) {
            respond(context: context, head: head, reply: routes.reply(served, method: head.method, asked), close: close)
            return
        }
        let routes = self.routes
        let method = head.method
        pool.runIfActive(eventLoop: context.eventLoop) {
            routes.reply(served, method: method, asked)
        }.assumeIsolated().whenComplete { [self] result in
            guard context.channel.isActive else { return }
            switch result {
            case .success(let reply): respond(context: context, head: head, reply: reply, close: close)
            case .failure: respond(context: context, head: head, reply: .text(.serviceUnavailable, "shutting down"), close: true)
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, reply: Reply, close: Bool) {
        // A streamed body to an HTTP/1.0 client has no length: the connection's end is its end.
        let close = close || (reply.contentLength == nil && head.version == .http1_0 && head.method != .HEAD)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        if let length = reply.contentLength { headers.add(name: "Content-Length", value: String(length)) }
        for (k, v) in reply.extraHeaders { headers.add(name: k, value: v) }
        for (k, v) in routes.gates.current.extraHeaders where !headers.contains(name: k) { headers.add(name: k, value: v) }
        if close { headers.add(name: "Connection", value: "close") }
        // Keep-alive is HTTP/1.1's default; an HTTP/1.0 client needs to be told.
        else if head.version == .http1_0 { headers.add(name: "Connection", value: "keep-alive") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
        guard head.method != .HEAD else {
            finish(context: context, tail: nil, close: close)
            return
        }
        for part in reply.parts { context.write(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil) }
        if let stream = reply.stream {
            context.flush()
            pump(context: context, stream: stream, tail: reply.tail, close: close)
        } else {
            finish(context: context, tail: reply.tail, close: close)
        }
    }

    /// The next piece of a streamed body is made (on the thread pool) once the
    /// kernel has taken the one before: a slow reader holds one piece, not the body.
    private func pump(context: ChannelHandlerContext, stream: StreamedBody, tail: ByteBuffer?, close: Bool) {
        pool.runIfActive(eventLoop: context.eventLoop) {
            stream.next()
        }.assumeIsolated().whenComplete { [self] result in
            guard context.channel.isActive else { return }
            switch result {
            case .success(let piece?):
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(piece)))).assumeIsolated().whenComplete { [self] written in
                    switch written {
                    case .success: pump(context: context, stream: stream, tail: tail, close: close)
                    case .failure: context.close(promise: nil)
                    }
                }
            case .success(nil): finish(context: context, tail: tail, close: close)
            // Stopping: the body cannot be finished, and a cut body must not look whole.
            case .failure: context.close(promise: nil)
            }
        }
    }

    private func finish(context: ChannelHandlerContext, tail: ByteBuffer?, close: Bool) {
        if let tail { context.write(wrapOutboundOut(.body(.byteBuffer(tail))), promise: nil) }
        // Completes once the kernel has the last byte (or the write failed).
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        let connections = self.connections
        done.assumeIsolated().whenComplete { _ in
            let draining = connections.responseFinished(context.channel)
            if close || draining { context.close(promise: nil) }
        }
    }
}
