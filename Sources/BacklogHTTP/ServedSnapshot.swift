import BacklogCore
import BacklogExposition
import NIOCore
import Synchronization

/// One published snapshot and its bodies, each rendered at most once, on the
/// first request that needs it: scrapes cost the same however many sockets
/// the host has, and ticks that nobody scrapes cost no rendering.
public final class ServedSnapshot: Sendable {
    /// One snapshot per watched namespace (host first) and the process-wide facts.
    public let publication: Publication
    public var snapshots: [Snapshot] { publication.snapshots }
    public let version: String
    /// Monotonic seconds when it was published (for /healthz staleness).
    public let publishedAt: ContinuousClock.Instant

    private struct Bodies {
        var metrics: ByteBuffer?
        var metricsGzip: GzipBody?
        var json: ByteBuffer?
    }
    private let bodies = Mutex(Bodies())

    public init(_ publication: Publication, version: String) {
        precondition(!publication.snapshots.isEmpty, "host is always collected")
        self.publication = publication
        self.version = version
        self.publishedAt = .now
    }

    // Bodies are rendered outside the lock (on the thread pool), so a request on
    // the event loop that only asks whether one is ready never waits for a render.
    // Two renders of the same body may race; the first stored wins.

    public var metrics: ByteBuffer {
        if let m = bodies.withLock({ $0.metrics }) { return m }
        let m = ByteBuffer(string: MetricsRenderer.render(publication, version: version))
        return bodies.withLock { b in
            if b.metrics == nil { b.metrics = m }
            return b.metrics!
        }
    }

    /// The gzip member of `metrics`, left open for the per-scrape tail; nil if zlib failed (the caller serves it plain).
    var metricsGzip: GzipBody? {
        if let g = bodies.withLock({ $0.metricsGzip }) { return g }
        guard let open = Gzip.open(Array(metrics.readableBytesView)) else { return nil }
        let g = GzipBody(bytes: ByteBuffer(bytes: open.bytes), open: OpenGzip(bytes: [], crc: open.crc, length: open.length))
        return bodies.withLock { b in
            if b.metricsGzip == nil { b.metricsGzip = g }
            return b.metricsGzip
        }
    }

    func hasMetrics(gzip: Bool) -> Bool {
        bodies.withLock { gzip ? $0.metricsGzip != nil : $0.metrics != nil }
    }

    var hasJSON: Bool { bodies.withLock { $0.json != nil } }

    public var json: ByteBuffer {
        if let j = bodies.withLock({ $0.json }) { return j }
        let j = ByteBuffer(string: JSONRenderer.render(publication, version: version, commandLines: false))
        return bodies.withLock { b in
            if b.json == nil { b.json = j }
            return b.json!
        }
    }
}

/// A cached gzip body as served (`bytes`) and what closing its member needs (`open`, without a second copy of the bytes).
struct GzipBody: Sendable {
    let bytes: ByteBuffer
    let open: OpenGzip
}

/// The latest published snapshot. The collector replaces it; handlers read it.
/// Neither waits on the other beyond a pointer swap.
public final class SnapshotStore: Sendable {
    private let current = Mutex<ServedSnapshot?>(nil)
    public let version: String
    let indexPage: ByteBuffer

    public init(version: String) {
        self.version = version
        self.indexPage = ByteBuffer(string: IndexPage.html(version: version))
    }

    public func publish(_ publication: Publication) {
        let served = ServedSnapshot(publication, version: version)
        current.withLock { $0 = served }
    }

    public var latest: ServedSnapshot? {
        current.withLock { $0 }
    }
}
