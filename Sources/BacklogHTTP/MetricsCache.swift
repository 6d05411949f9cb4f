import BacklogCore
import BacklogExposition
import NIOCore
import Synchronization

/// A /metrics body as served: parts written one after another (cached chunks
/// are shared with the cache and other bodies, never copied), and for gzip
/// what closing its member needs.
struct MetricsBody: Sendable {
    let parts: [ByteBuffer]
    /// Set for a gzip body: the member is open until the per-scrape tail closes it.
    let gzip: OpenGzip?
}

/// What /metrics keeps between snapshots: the label text of every listener
/// (LabelTable) and each chunk of per-listener lines as deflate data, with the
/// signature it was made from. A new snapshot's gzip body reuses every chunk
/// whose signature did not change and renders and compresses only the others,
/// so a scrape costs in proportion to what changed since the last one, not to
/// the number of listeners. Chunks not used by the latest render are dropped.
/// Text is never kept: an identity body is written from the layout as it is
/// sent (StreamedBody), since 5 000 listeners' text is 18 MB and their
/// compressed chunks 0.5 MB.
final class MetricsCache: Sendable {
    /// Deflate level of chunks (rarely recompressed) and of the fixed parts (small).
    static let chunkLevel: Int32 = 1
    static let fixedLevel: Int32 = 6

    private struct GzipChunk {
        let signature: ChunkDigest
        let segment: DeflateSegment
    }

    /// How long a chunk's text is: an identity body's Content-Length without keeping its text.
    private struct TextLength {
        let signature: ChunkDigest
        let length: Int
    }

    private struct State {
        var labels = LabelTable()
        var textLengths: [MetricsLayout.ChunkKey: TextLength] = [:]
        var gzip: [MetricsLayout.ChunkKey: GzipChunk] = [:]
        /// Per format: what its last gzip body used (Prometheus asks for OpenMetrics, curl for text).
        var fixedGzip: [ExpositionFormat: [ByteKey: DeflateSegment]] = [:]
        var last = RenderCounts()
    }

    /// Chunks the last render took from the cache and chunks it had to render.
    struct RenderCounts: Equatable {
        var reused = 0
        var rendered = 0
    }

    var lastRender: RenderCounts { state.withLock { $0.last } }

    private let state = Mutex(State())
    let meter = RenderMeter()

    init() {}

    /// CPU seconds of every render so far (on the rendering thread's clock).
    var cpuSeconds: Double { meter.seconds }

    /// The layout of a publication (the label table is the cache's: labels are rendered once per listener).
    func layout(_ p: Publication, version: String) -> MetricsLayout {
        meter.measure {
            state.withLock { MetricsLayout(p, version: version, labels: &$0.labels) }
        }
    }

    /// The length of `layout`'s text in `format`: chunks whose text changed are
    /// rendered to measure them (and rendered again as they are sent), the others' lengths were kept.
    func textLength(_ layout: MetricsLayout, format: ExpositionFormat) -> Int {
        meter.measure {
            state.withLock { s in
                var total = 0
                var used: [MetricsLayout.ChunkKey: TextLength] = [:]
                for part in layout.parts {
                    guard case .chunk(let c) = part else {
                        total += layout.bytes(part, format).count
                        continue
                    }
                    let kept = s.textLengths[c.key].flatMap { $0.signature == c.signature ? $0 : nil }
                    let length = kept ?? TextLength(signature: c.signature, length: layout.text(c).count)
                    used[c.key] = length
                    total += length.length
                }
                s.textLengths = used
                return total
            }
        }
    }

    /// The gzip body of `layout` in `format`; nil if zlib failed (the caller serves it plain).
    /// One render at a time: a second scraper of the same snapshot waits, then
    /// finds the body stored (ServedSnapshot), instead of rendering it again.
    func gzipBody(_ layout: MetricsLayout, format: ExpositionFormat) -> MetricsBody? {
        meter.measure {
            state.withLock { s in
                s.last = RenderCounts()
                return Self.gzipBody(layout, format, &s)
            }
        }
    }

    private static func gzipBody(_ layout: MetricsLayout, _ format: ExpositionFormat, _ s: inout State) -> MetricsBody? {
        var parts = [ByteBuffer(bytes: Gzip.header)]
        var crc: UInt = 0
        var length = 0
        var used: [MetricsLayout.ChunkKey: GzipChunk] = [:]
        var usedFixed: [ByteKey: DeflateSegment] = [:]
        for part in layout.parts {
            let segment: DeflateSegment
            if case .chunk(let c) = part {
                if let old = s.gzip[c.key], old.signature == c.signature {
                    segment = old.segment
                    s.last.reused += 1
                } else {
                    s.last.rendered += 1
                    guard let seg = Gzip.segment(layout.text(c), level: chunkLevel) else { return nil }
                    segment = seg
                }
                used[c.key] = GzipChunk(signature: c.signature, segment: segment)
            } else {
                let b = layout.bytes(part, format)
                let key = ByteKey(b)
                guard let seg = usedFixed[key] ?? s.fixedGzip[format]?[key] ?? Gzip.segment(b, level: fixedLevel) else { return nil }
                usedFixed[key] = seg
                segment = seg
            }
            crc = Gzip.combine(crc, segment)
            length += segment.length
            parts.append(segment.bytes)
        }
        s.gzip = used
        s.fixedGzip[format] = usedFixed
        return MetricsBody(parts: parts, gzip: OpenGzip(crc: crc, length: length))
    }

    /// A body of pieces compressed as one gzip member left open (for the caller's tail): /snapshot.
    static func gzip(_ pieces: inout some BodyPieces) -> MetricsBody? {
        var parts = [ByteBuffer(bytes: Gzip.header)]
        var crc: UInt = 0
        var length = 0
        var more = true
        while more {
            var out: [UInt8] = []
            more = pieces.next(into: &out, atLeast: StreamedBody.pieceBytes * 4)
            guard !out.isEmpty else { continue }
            guard let seg = Gzip.segment(out, level: chunkLevel) else { return nil }
            crc = Gzip.combine(crc, seg)
            length += seg.length
            parts.append(seg.bytes)
        }
        return MetricsBody(parts: parts, gzip: OpenGzip(crc: crc, length: length))
    }
}
