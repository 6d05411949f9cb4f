import CZlib
import NIOCore

/// A gzip member left open: its header and deflate data (segments) were
/// sent, each ended on a byte boundary without a final block; what its trailer
/// needs is the CRC-32 and length of what they held. `Gzip.close` appends a
/// separately compressed tail and the trailer, so cached pieces and a
/// per-scrape tail make one gzip member (a reader that stops after the first
/// member, as curl does, still gets all).
struct OpenGzip: Sendable {
    let crc: UInt
    let length: Int
}

/// Raw deflate data of one piece of a body, ended by a sync flush and with no
/// final block, so that pieces compressed apart (and cached apart) can follow
/// one another in one deflate stream: a back-reference never leaves its piece.
struct DeflateSegment: Sendable {
    let bytes: ByteBuffer
    let crc: UInt
    let length: Int
}

/// gzip (RFC 1952) for /metrics: pieces of the body are compressed once and kept
/// while they do not change, only the small per-scrape tail on each request.
enum Gzip {
    /// No name, no time, OS unix.
    static let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]

    static func segment(_ input: [UInt8], level: Int32) -> DeflateSegment? {
        guard let data = rawDeflate(input, level: level, flush: Z_SYNC_FLUSH) else { return nil }
        return DeflateSegment(bytes: ByteBuffer(bytes: data), crc: crc(input), length: input.count)
    }

    /// The CRC-32 of what `crc` covered followed by `segment`'s bytes.
    static func combine(_ crc: UInt, _ segment: DeflateSegment) -> UInt {
        crc32_combine(crc, segment.crc, Int(segment.length))
    }

    /// The rest of the member `open` started: `tail`'s deflate data with the final
    /// block (a back-reference never reaches into the cached part), then CRC-32 and
    /// length of body + tail.
    static func close(_ open: OpenGzip, tail: [UInt8]) -> [UInt8]? {
        guard var out = rawDeflate(tail, level: 1, flush: Z_FINISH) else { return nil }
        let crc = UInt32(truncatingIfNeeded: crc32_combine(open.crc, crc(tail), Int(tail.count)))
        let size = UInt32(truncatingIfNeeded: open.length + tail.count)
        for v in [crc, size] { out += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        return out
    }

    private static func crc(_ input: [UInt8]) -> UInt {
        input.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
    }

    /// Raw deflate (no header or trailer) of all of `input` in one call.
    private static func rawDeflate(_ input: [UInt8], level: Int32, flush: Int32) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        // deflateBound covers Z_FINISH; a sync flush adds at most a few bytes more.
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        let status: Int32 = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return deflate(&stream, flush)
            }
        }
        let expected = flush == Z_FINISH ? Z_STREAM_END : Z_OK
        guard status == expected, stream.avail_in == 0, stream.avail_out > 0 else { return nil }
        output.removeLast(Int(stream.avail_out))
        return output
    }
}
