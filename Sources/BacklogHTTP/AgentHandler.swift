import BacklogCore
import NIOCore

/// One HAProxy agent-check connection: reads one line naming a listener (at most
/// `maxLineBytes`, within `readTimeout` of connecting), answers it in the agent
/// grammar from the latest snapshot and closes. Anything else (no line in time,
/// a line too long) is closed without an answer; bytes after the line are ignored.
final class AgentHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let store: SnapshotStore
    private let limits: AgentLimits
    private var line: [UInt8] = []
    private var finished = false
    private var deadline: Scheduled<Void>?

    init(store: SnapshotStore, limits: AgentLimits) {
        self.store = store
        self.limits = limits
    }

    func channelActive(context: ChannelHandlerContext) {
        let timeout = TimeAmount.nanoseconds(Int64(limits.readTimeout * 1e9))
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            finish(context: context, unanswered: .timeout)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        let buffer = unwrapInboundIn(data)
        let view = buffer.readableBytesView
        if let end = view.firstIndex(of: UInt8(ascii: "\n")) {
            line += view[..<end]
            guard line.count <= limits.maxLineBytes else { return finish(context: context, unanswered: .tooLong) }
            return answer(context: context)
        }
        line += view.prefix(limits.maxLineBytes + 1 - line.count)
        if line.count > limits.maxLineBytes { finish(context: context, unanswered: .tooLong) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func answer(context: ChannelHandlerContext) {
        finished = true
        deadline?.cancel()
        let text = AgentRequest.text(line)
        let reply: String
        if let target = AgentRequest.parse(text) {
            let (verdict, kind) = judge(target)
            store.agent.count(kind)
            reply = AgentRequest.answer(verdict)
        } else {
            store.agent.count(.badRequest)
            reply = "down #bad agent-send line '\(PrintableText.quoted(String(text), limit: 60))': expected PORT, ADDRESS:PORT or NETNS/ADDRESS:PORT and a newline\n"
        }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        // A peer that does not read would keep the write, and the connection, forever.
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(2)) {
            context.close(promise: nil)
        }
    }

    /// A stale snapshot judges nothing: full weight, so that a hung collector takes no backend out.
    private func judge(_ target: ProbeTarget) -> (ProbeVerdict, AgentActivity.Answer) {
        guard let served = store.latest, (ContinuousClock.now - served.publishedAt).seconds <= limits.staleAfter else {
            return (ProbeVerdict(state: .up, sentence: "not judged: no fresh snapshot"), .up)
        }
        let v = store.weights.answer(ProbeVerdict.judge(target, in: served.publication), for: target)
        switch v.state {
        case .up: return (v, .up)
        case .down: return (v, .down)
        case .unknown: return (v, .noSuchListener)
        }
    }

    private func finish(context: ChannelHandlerContext, unanswered reason: AgentActivity.Unanswered) {
        guard !finished else { return }
        finished = true
        deadline?.cancel()
        store.agent.count(reason)
        context.close(promise: nil)
    }
}
