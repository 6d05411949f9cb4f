@testable import BacklogHTTP
import NIOCore
import NIOEmbedded
import Testing

/// The raw-byte guard in front of the HTTP decoder (RequestHeadGuard): size caps
/// on the request line and head, the head's read timeout and the idle timeout,
/// on an EmbeddedChannel whose clock the test moves.
@Suite struct RequestHeadGuardTests {
    /// A connected channel with the guard, and what it passed on / answered.
    final class Client {
        let channel: EmbeddedChannel
        let loop = EmbeddedEventLoop()

        init(_ limits: HTTPLimits) throws {
            channel = EmbeddedChannel(handler: RequestHeadGuard(limits: limits), loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        // acceptAlreadyClosed: a refused connection is closed already, and finish() would
        // throw before dropping the loop's scheduled tasks (a retain cycle: LeakSanitizer).
        deinit { _ = try? channel.finish(acceptAlreadyClosed: true) }

        /// Sends `text`; returns what the guard passed on (nil: nothing).
        func send(_ text: String) throws -> String? {
            try channel.writeInbound(ByteBuffer(string: text))
            var passed = ""
            while let b = try channel.readInbound(as: ByteBuffer.self) { passed += String(buffer: b) }
            return passed.isEmpty ? nil : passed
        }

        /// The bare response written below the codec, if any.
        func answer() throws -> String? {
            try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) }
        }

        func wait(_ seconds: Double) {
            loop.advanceTime(by: .milliseconds(Int64(seconds * 1000)))
        }

        var isOpen: Bool { channel.isActive }
    }

    static let limits = HTTPLimits(idleTimeout: 60, readTimeout: 10, maxHeaderBytes: 200)

    @Test func aHeadWithinTheLimitsPassesUntouched() throws {
        let c = try Client(Self.limits)
        let head = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        #expect(try c.send(head) == head)
        #expect(try c.answer() == nil)
        #expect(c.isOpen)
    }

    @Test func aHeadOfExactlyTheLimitPasses() throws {
        let c = try Client(Self.limits)
        let start = "GET / HTTP/1.1\r\nX: "
        let head = start + String(repeating: "a", count: 200 - start.utf8.count - 4) + "\r\n\r\n"
        #expect(head.utf8.count == 200)
        #expect(try c.send(head) == head)
        #expect(try c.answer() == nil)
        #expect(c.isOpen)
    }

    @Test func aHeadOverTheLimitIs431() throws {
        let c = try Client(Self.limits)
        let start = "GET / HTTP/1.1\r\nX: "
        let head = start + String(repeating: "a", count: 200 - start.utf8.count - 3) + "\r\n\r\n"
        #expect(head.utf8.count == 201)
        #expect(try c.send(head) == nil, "nothing of a refused head reaches the decoder")
        let answer = try #require(try c.answer())
        #expect(answer.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "\(answer)")
        #expect(answer.contains("Connection: close\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nrequest header too large\n"))
        #expect(!c.isOpen)
    }

    @Test func aHeadSplitOverManyReadsIsCountedWhole() throws {
        let c = try Client(Self.limits)
        // 10 headers of 30 bytes: each read is small, the head is not.
        #expect(try c.send("GET / HTTP/1.1\r\n") != nil)
        for i in 0..<10 {
            _ = try? c.send("X-Header-\(i): " + String(repeating: "b", count: 15) + "\r\n")
            if !c.isOpen { break }
        }
        #expect(try c.answer()?.hasPrefix("HTTP/1.1 431 ") == true)
        #expect(!c.isOpen)
    }

    @Test func aLongRequestLineIs400() throws {
        // The line cap is min(8192, max header bytes).
        let c = try Client(HTTPLimits(maxHeaderBytes: 20_000))
        #expect(HTTPLimits(maxHeaderBytes: 20_000).maxRequestLineBytes == 8192)
        let line = "GET /" + String(repeating: "a", count: 8200) + " HTTP/1.1\r\n"
        #expect(try c.send(line) == nil)
        let answer = try #require(try c.answer())
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer.prefix(60))")
        #expect(answer.hasSuffix("request line too long\n"))
        #expect(!c.isOpen)
        // The same bytes as headers after a short line are within the head limit.
        let d = try Client(HTTPLimits(maxHeaderBytes: 20_000))
        let head = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 8200) + "\r\n\r\n"
        #expect(try d.send(head) == head)
        #expect(d.isOpen)
    }

    @Test func eachRequestOfAConnectionHasItsOwnLimit() throws {
        let c = try Client(Self.limits)
        let head = "GET /metrics HTTP/1.1\r\nHost: " + String(repeating: "h", count: 100) + "\r\n\r\n"
        // Three heads of 139 bytes, 417 in all, in one read (pipelined) and then one by one.
        #expect(try c.send(head + head + head) == head + head + head)
        #expect(try c.send(head) == head)
        #expect(try c.answer() == nil)
        #expect(c.isOpen)
    }

    @Test func aHeadThatTricklesIsCutOffAt408() throws {
        let c = try Client(Self.limits)
        // One byte a second: every byte is "content", but the head must end within 10 s of its first.
        let bytes = Array("GET / HTTP/1.1\r\nHo".utf8)
        #expect(bytes.count == 18)
        for byte in bytes {
            #expect(try c.send(String(UnicodeScalar(byte))) != nil)
            c.wait(0.5)
        }
        #expect(c.isOpen, "9 s after the first byte")
        c.wait(1.1)
        let answer = try #require(try c.answer())
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "\(answer)")
        #expect(answer.hasSuffix("request head not received in time\n"))
        #expect(!c.isOpen)
    }

    @Test func aFinishedHeadStopsTheReadClock() throws {
        let c = try Client(Self.limits)
        #expect(try c.send("GET / HTTP/1.1\r\n\r\n") != nil)
        c.wait(30)
        #expect(try c.answer() == nil)
        #expect(c.isOpen, "only the idle timeout (60 s) applies now")
    }

    @Test func anIdleConnectionIsClosedWithoutAnAnswer() throws {
        let c = try Client(Self.limits)
        c.wait(59)
        #expect(c.isOpen)
        c.wait(2)
        #expect(!c.isOpen)
        #expect(try c.answer() == nil)
    }

    @Test func aRequestRestartsTheIdleClock() throws {
        let c = try Client(Self.limits)
        c.wait(50)
        #expect(try c.send("GET / HTTP/1.1\r\n\r\n") != nil)
        c.wait(50)
        #expect(c.isOpen, "100 s after connecting, 50 s after its request")
        c.wait(11)
        #expect(!c.isOpen)
    }

    @Test func blankLinesDoNotRestartTheIdleClock() throws {
        let c = try Client(Self.limits)
        c.wait(30)
        _ = try c.send("\r\n")
        c.wait(20)
        _ = try c.send("\r\n\r\n")
        #expect(c.isOpen)
        c.wait(11)
        #expect(!c.isOpen, "closed 60 s after connecting although blank lines came")
        #expect(try c.answer() == nil)
    }

    @Test func aHeadInProgressIsNotClosedAsIdle() throws {
        // A read timeout longer than the idle one: the idle clock does not end a head in progress.
        let c = try Client(HTTPLimits(idleTimeout: 5, readTimeout: 20, maxHeaderBytes: 200))
        #expect(try c.send("GET / HT") != nil)
        c.wait(10)
        #expect(c.isOpen, "a head is in progress")
        c.wait(11)
        #expect(try c.answer()?.hasPrefix("HTTP/1.1 408 ") == true)
        #expect(!c.isOpen)
    }
}
