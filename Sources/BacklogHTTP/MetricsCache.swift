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

/// What /metrics keeps between snapshots: each chunk of per-listener lines as
/// text and as deflate data, with the signature it was made from. A new
/// snapshot's body reuses every chunk whose signature did not change and
/// renders (and compresses) only the others, so a scrape costs in proportion
/// to what changed since the last one, not to the number of listeners.
/// Chunks not used by the latest render are dropped; the text or gzip side
/// not asked for in `idleDrop` is dropped whole (a client that asked once
/// does not keep 15 MB of text alive).
final class MetricsCache: Sendable {
    /// Deflate level of chunks (rarely recompressed) and of the fixed parts (small).
    static let chunkLevel: Int32 = 1
    static let fixedLevel: Int32 = 6
    static let idleDrop: Duration = .seconds(120)

    private protocol Signed {
        var signature: ChunkDigest { get }
    }

    private struct TextChunk: Signed {
        let signature: ChunkDigest
        let text: ByteBuffer
    }

    private struct GzipChunk: Signed {
        let signature: ChunkDigest
        let segment: DeflateSegment
    }

    private struct State {
        var labels = LabelTable()
        var text: [MetricsLayout.ChunkKey: TextChunk] = [:]
        var gzip: [MetricsLayout.ChunkKey: GzipChunk] = [:]
        var fixedGzip: [ByteKey: DeflateSegment] = [:]
        var textUsed = ContinuousClock.now
        var gzipUsed = ContinuousClock.now
        var last = RenderCounts()
    }

    /// Chunks the last render took from the cache and chunks it had to render.
    struct RenderCounts: Equatable {
        var reused = 0
        var rendered = 0
    }

    var lastRender: RenderCounts { state.withLock { $0.last } }

    private let state = Mutex(State())
    private let cpuNanoseconds = Atomic<UInt64>(0)

    init() {}

    /// CPU seconds of every render so far (on the rendering thread's clock).
    var cpuSeconds: Double { Double(cpuNanoseconds.load(ordering: .relaxed)) / 1e9 }

    /// One render at a time: a second scraper of the same snapshot waits, then
    /// finds the body stored (ServedSnapshot), instead of rendering it again.
    func body(_ p: Publication, version: String, format: ExpositionFormat, gzip: Bool) -> MetricsBody? {
        let t0 = ThreadCPU.seconds()
        defer {
            let spent = max(0, ThreadCPU.seconds() - t0)
            cpuNanoseconds.wrappingAdd(UInt64(spent * 1e9), ordering: .relaxed)
        }
        return state.withLock { s in
            let layout = MetricsLayout(p, version: version, format: format, labels: &s.labels)
            s.last = RenderCounts()
            let now = ContinuousClock.now
            if gzip {
                if now - s.textUsed > Self.idleDrop { s.text = [:] }
                s.gzipUsed = now
                return Self.gzipBody(layout, &s)
            }
            if now - s.gzipUsed > Self.idleDrop { s.gzip = [:]; s.fixedGzip = [:] }
            s.textUsed = now
            return Self.textBody(layout, &s)
        }
    }

    /// What the last render kept for this chunk, if it was made from the same signature.
    private static func kept<T: Signed>(_ cache: [MetricsLayout.ChunkKey: T], _ c: MetricsLayout.Chunk) -> T? {
        cache[c.key].flatMap { $0.signature == c.signature ? $0 : nil }
    }

    private static func textBody(_ layout: MetricsLayout, _ s: inout State) -> MetricsBody {
        var parts: [ByteBuffer] = []
        var used: [MetricsLayout.ChunkKey: TextChunk] = [:]
        for part in layout.parts {
            switch part {
            case .fixed(let b): parts.append(ByteBuffer(bytes: b))
            case .chunk(let c):
                let chunk: TextChunk
                if let old = Self.kept(s.text, c) {
                    chunk = old
                    s.last.reused += 1
                } else {
                    chunk = TextChunk(signature: c.signature, text: ByteBuffer(bytes: layout.text(c)))
                    s.last.rendered += 1
                }
                used[c.key] = chunk
                parts.append(chunk.text)
            }
        }
        s.text = used
        return MetricsBody(parts: parts, gzip: nil)
    }

    private static func gzipBody(_ layout: MetricsLayout, _ s: inout State) -> MetricsBody? {
        var parts = [ByteBuffer(bytes: Gzip.header)]
        var crc: UInt = 0
        var length = 0
        var used: [MetricsLayout.ChunkKey: GzipChunk] = [:]
        var usedFixed: [ByteKey: DeflateSegment] = [:]
        for part in layout.parts {
            let segment: DeflateSegment
            switch part {
            case .fixed(let b):
                let key = ByteKey(b)
                guard let seg = s.fixedGzip[key] ?? Gzip.segment(b, level: fixedLevel) else { return nil }
                usedFixed[key] = seg
                segment = seg
            case .chunk(let c):
                if let old = Self.kept(s.gzip, c) {
                    segment = old.segment
                    s.last.reused += 1
                } else {
                    s.last.rendered += 1
                    let text = Self.kept(s.text, c).map { Array($0.text.readableBytesView) } ?? layout.text(c)
                    guard let seg = Gzip.segment(text, level: chunkLevel) else { return nil }
                    segment = seg
                }
                used[c.key] = GzipChunk(signature: c.signature, segment: segment)
            }
            crc = Gzip.combine(crc, segment)
            length += segment.length
            parts.append(segment.bytes)
        }
        s.gzip = used
        s.fixedGzip = usedFixed
        return MetricsBody(parts: parts, gzip: OpenGzip(crc: crc, length: length))
    }
}
