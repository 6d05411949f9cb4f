import NIOCore

/// Sits in front of the HTTP decoder and watches raw bytes: a request head must
/// end within `maxHeaderBytes` (else 431; a request line over the line cap gets
/// 400) and within `readTimeout` of its first byte (else 408), so a client that
/// trickles a header one byte a second is cut off. A connection with no request
/// in progress is closed after `idleTimeout` without a byte. Requests to this
/// endpoint have no body; a client that sends one is refused further up and closed.
final class RequestHeadGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let limits: HTTPLimits
    private var inHead = false
    private var headBytes = 0
    private var lineBytes = 0
    private var firstLineDone = false
    private var refused = false
    private var readDeadline: Scheduled<Void>?
    private var idleDeadline: Scheduled<Void>?

    init(limits: HTTPLimits) {
        self.limits = limits
    }

    func channelActive(context: ChannelHandlerContext) {
        armIdle(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        readDeadline?.cancel()
        idleDeadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        // Bare CR/LF between requests must not keep an idle connection alive.
        var content = inHead
        for byte in buffer.readableBytesView {
            if !inHead {
                // Empty lines before a request are allowed (RFC 9112 §2.2).
                if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") { continue }
                startHead(context: context)
                content = true
            }
            headBytes += 1
            // Checked before the byte ends a line or the head: the last LF counts too.
            if !firstLineDone && headBytes > limits.maxRequestLineBytes {
                return refuse(context: context, status: "400 Bad Request", reason: "request line too long")
            }
            if headBytes > limits.maxHeaderBytes {
                return refuse(context: context, status: "431 Request Header Fields Too Large", reason: "request header too large")
            }
            if byte == UInt8(ascii: "\n") {
                if lineBytes == 0 {
                    endHead(context: context)
                    continue
                }
                lineBytes = 0
                firstLineDone = true
            } else if byte != UInt8(ascii: "\r") {
                lineBytes += 1
            }
        }
        if content { armIdle(context: context) }
        context.fireChannelRead(data)
    }

    private func startHead(context: ChannelHandlerContext) {
        inHead = true
        headBytes = 0
        lineBytes = 0
        firstLineDone = false
        let timeout = TimeAmount.nanoseconds(Int64(limits.readTimeout * 1e9))
        readDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            refuse(context: context, status: "408 Request Timeout", reason: "request head not received in time")
        }
    }

    private func endHead(context: ChannelHandlerContext) {
        inHead = false
        readDeadline?.cancel()
        readDeadline = nil
    }

    /// Restarts the idle clock; it only closes when no head is in progress.
    private func armIdle(context: ChannelHandlerContext) {
        idleDeadline?.cancel()
        let timeout = TimeAmount.nanoseconds(Int64(limits.idleTimeout * 1e9))
        idleDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            if !inHead && !refused { context.close(promise: nil) }
        }
    }

    /// Answers with a bare response below the HTTP codec and closes.
    private func refuse(context: ChannelHandlerContext, status: String, reason: String) {
        guard !refused else { return }
        refused = true
        readDeadline?.cancel()
        idleDeadline?.cancel()
        let body = reason + "\n"
        let head = "HTTP/1.1 \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head + body))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        // A client that does not read would keep the write, and the connection, forever.
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            context.close(promise: nil)
        }
    }
}
