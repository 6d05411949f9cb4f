@testable import BacklogHTTP
import CZlib
import Testing

@Suite struct EncodingTests {
    @Test func acceptEncodingFollowsQValues() {
        #expect(AcceptEncoding.acceptsGzip(["gzip"]))
        #expect(AcceptEncoding.acceptsGzip(["deflate, gzip;q=0.5"]))
        #expect(AcceptEncoding.acceptsGzip(["identity", " GZIP "]))
        #expect(AcceptEncoding.acceptsGzip(["*"]))
        #expect(!AcceptEncoding.acceptsGzip([]))
        #expect(!AcceptEncoding.acceptsGzip(["gzip;q=0"]))
        #expect(!AcceptEncoding.acceptsGzip(["*, gzip;q=0"]))
        #expect(!AcceptEncoding.acceptsGzip(["br, deflate"]))
    }

    @Test func acceptHeaderChoosesTheFormat() {
        // Prometheus 2.x and 3.x, as they send it.
        #expect(AcceptFormat.negotiate(["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"]) == .openMetrics)
        #expect(AcceptFormat.negotiate(["application/openmetrics-text;version=1.0.0;escaping=allow-utf-8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"]) == .openMetrics)
        // Prometheus told to scrape text first, curl, no header.
        #expect(AcceptFormat.negotiate(["text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5"]) == .text)
        #expect(AcceptFormat.negotiate(["*/*"]) == .text)
        #expect(AcceptFormat.negotiate([]) == .text)
        // A version we do not speak, q=0, quoted parameters, case, equal q: the first listed.
        #expect(AcceptFormat.negotiate(["application/openmetrics-text; version=0.0.1"]) == .text)
        #expect(AcceptFormat.negotiate(["application/openmetrics-text;q=0"]) == .text)
        #expect(AcceptFormat.negotiate(["Application/OpenMetrics-Text; version=\"1.0.0\""]) == .openMetrics)
        #expect(AcceptFormat.negotiate(["application/openmetrics-text, text/plain"]) == .openMetrics)
        #expect(AcceptFormat.negotiate(["text/plain, application/openmetrics-text"]) == .text)
        #expect(AcceptFormat.negotiate(["image/png", "application/openmetrics-text;version=1.0.0;q=0.2"]) == .openMetrics)
    }

    @Test func gzipOfABodyAndATailIsOneMember() throws {
        let text = Array(String(repeating: "backlogd_listen_queue_length{port=\"80\"} 5\n", count: 500).utf8)
        let tail = Array("# TYPE backlogd_http_connections_open gauge\nbacklogd_http_connections_open 3\n".utf8)
        let (bytes, open) = try Self.opened(text)
        #expect(bytes.prefix(2) == [0x1f, 0x8b] && bytes.count < text.count / 10)
        let whole = bytes + (try #require(Gzip.close(open, tail: tail)))
        // One member: a reader that stops at the first member's end has it all, trailer checked.
        #expect(inflate(whole) == text + tail)
        #expect(inflate(bytes + (try #require(Gzip.close(open, tail: [])))) == text)
        let (emptyBytes, empty) = try Self.opened([])
        #expect(inflate(emptyBytes + (try #require(Gzip.close(empty, tail: [])))) == [])
        #expect(inflate(emptyBytes + (try #require(Gzip.close(empty, tail: tail)))) == tail)
    }

    func inflate(_ input: [UInt8]) -> [UInt8]? { Inflate.gzip(input) }

    /// A member opened as /metrics opens one: the header and one segment.
    static func opened(_ text: [UInt8]) throws -> (bytes: [UInt8], open: OpenGzip) {
        let segment = try #require(Gzip.segment(text, level: 6))
        return (Gzip.header + Array(segment.bytes.readableBytesView), OpenGzip(crc: segment.crc, length: segment.length))
    }
}

/// One gzip member inflated whole (tests' reader), nil unless it ends with a
/// matching CRC-32 and length and nothing follows.
enum Inflate {
    static func gzip(_ input: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
        var s = z_stream()
        guard inflateInit2_(&s, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: limit)
        let rc: Int32 = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                s.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
                s.avail_in = uInt(src.count)
                s.next_out = dst.baseAddress
                s.avail_out = uInt(dst.count)
                return CZlib.inflate(&s, Z_FINISH)
            }
        }
        // Z_STREAM_END: the member ended and its CRC-32 and length matched.
        guard rc == Z_STREAM_END, s.avail_in == 0 else { return nil }
        return Array(out.prefix(Int(s.total_out)))
    }
}
