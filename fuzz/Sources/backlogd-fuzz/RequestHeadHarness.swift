@testable import BacklogHTTP
import NIOCore
import NIOEmbedded

/// Raw client bytes through RequestHeadGuard on an EmbeddedChannel. The first
/// input byte picks how the rest is cut into reads (1…64 bytes each) and whether
/// a second passes between reads, so the size caps and the read/idle timeouts
/// meet every split. Checked: what the guard passes on is a prefix of what came in
/// (all of it unless it refused or the idle timeout closed), it answers only with one of its refusals, and
/// the size verdict does not depend on how the bytes were cut.
enum RequestHeadHarness {
    /// Small caps, so that short inputs reach them.
    static let limits = HTTPLimits(idleTimeout: 30, readTimeout: 5, maxHeaderBytes: 300)

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let control = bytes.first else { return }
        let input = Array(bytes.dropFirst())
        let chunk = Int(control & 0x3f) + 1
        let tick = control & 0x40 != 0
        let cut = feed(input, chunk: chunk, tick: tick)
        check(input.starts(with: cut.passed), "passed bytes are not a prefix of the input")
        if let answer = cut.answer {
            check(answer.hasPrefix("HTTP/1.1 400 ") || answer.hasPrefix("HTTP/1.1 431 ") || answer.hasPrefix("HTTP/1.1 408 "),
                  "unexpected answer \(answer.prefix(40))")
        } else if !cut.closed {
            check(cut.passed == input, "no refusal, yet \(input.count - cut.passed.count) bytes held back")
        }
        // Without a clock, only the sizes decide: one read or many, the same answer.
        if !tick {
            let whole = feed(input, chunk: max(input.count, 1), tick: false)
            check(whole.answer?.prefix(12) == cut.answer?.prefix(12),
                  "verdict depends on the split: \(String(describing: whole.answer?.prefix(12))) vs \(String(describing: cut.answer?.prefix(12)))")
        }
    }

    /// What the guard passed on and answered for `input` cut into `chunk`-byte reads.
    static func feed(_ input: [UInt8], chunk: Int, tick: Bool) -> (passed: [UInt8], answer: String?, closed: Bool) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: RequestHeadGuard(limits: limits), loop: loop)
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        guard (try? channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()) != nil else {
            check(false, "EmbeddedChannel did not connect")
            return ([], nil, true)
        }
        var passed: [UInt8] = []
        var start = 0
        while start < input.count, channel.isActive {
            let end = min(start + chunk, input.count)
            _ = try? channel.writeInbound(ByteBuffer(bytes: input[start..<end]))
            while let b = try? channel.readInbound(as: ByteBuffer.self) { passed += b.readableBytesView }
            if tick { loop.advanceTime(by: .seconds(1)) }
            start = end
        }
        let answer = (try? channel.readOutbound(as: ByteBuffer.self)).flatMap { $0 }.map { String(buffer: $0) }
        return (passed, answer, !channel.isActive)
    }
}
