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

    @Test func gzipRoundTrips() throws {
        let text = Array(String(repeating: "backlogd_listen_queue_length{port=\"80\"} 5\n", count: 500).utf8)
        let gz = try #require(Gzip.compress(text))
        #expect(gz.prefix(2) == [0x1f, 0x8b] && gz.count < text.count / 10)
        #expect(inflate(gz) == text)
        #expect(inflate(try #require(Gzip.compress([]))) == [])
    }

    func inflate(_ input: [UInt8]) -> [UInt8]? {
        var s = z_stream()
        guard inflateInit2_(&s, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: 1 << 20)
        let rc: Int32 = input.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                s.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
                s.avail_in = uInt(src.count)
                s.next_out = dst.baseAddress
                s.avail_out = uInt(dst.count)
                return CZlib.inflate(&s, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else { return nil }
        return Array(out.prefix(Int(s.total_out)))
    }
}
