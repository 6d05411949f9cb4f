import NIOCore
import NIOHTTP1

/// Answers one request at a time from Routes (NIO's pipelining handler orders
/// pipelined requests). Requests with a body are refused and the connection
/// closed, which keeps RequestHeadGuard's byte count exact.
final class HTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: Routes
    private var request: HTTPRequestHead?
    private var hasBody = false

    init(routes: Routes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
            hasBody = false
        case .body:
            hasBody = true
        case .end:
            guard let head = request else { return }
            request = nil
            let reply = hasBody
                ? Reply.text(.payloadTooLarge, "requests here have no body")
                : routes.reply(method: head.method, uri: head.uri, headers: head.headers)
            respond(context: context, head: head, reply: reply, close: hasBody || !head.isKeepAlive)
        }
    }

    /// A request NIO could not parse: its error handler has answered 400; close,
    /// since the byte stream cannot be trusted any more.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead, reply: Reply, close: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: reply.contentType)
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        for (k, v) in reply.extraHeaders { headers.add(name: k, value: v) }
        if close { headers.add(name: "Connection", value: "close") }
        // Keep-alive is HTTP/1.1's default; an HTTP/1.0 client needs to be told.
        else if head.version == .http1_0 { headers.add(name: "Connection", value: "keep-alive") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: reply.status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
