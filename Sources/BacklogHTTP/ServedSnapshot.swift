import BacklogCore
import BacklogExposition
import NIOCore
import Synchronization

/// One published snapshot and what its bodies are made from, each made at most
/// once, on the first request that needs it (ticks that nobody scrapes cost no
/// rendering): one MetricsLayout for every format and encoding of /metrics,
/// the gzip bodies (small: kept), the status page. Identity /metrics and
/// /snapshot are written from the layout or the snapshot as they are sent
/// (StreamedBody), never kept whole.
public final class ServedSnapshot: Sendable {
    /// One snapshot per watched namespace (host first) and the process-wide facts.
    public let publication: Publication
    public var snapshots: [Snapshot] { publication.snapshots }
    public let version: String
    /// Monotonic seconds when it was published (for /healthz staleness).
    public let publishedAt: ContinuousClock.Instant
    private let cache: MetricsCache

    private struct Bodies {
        /// Weak: kept while a stream or a maker uses it. A gzip body, once made,
        /// no longer needs it, and 8 000 listeners' layout is ~5 MB.
        weak var layout: SharedLayout?
        var metricsGzip: [ExpositionFormat: MetricsBody] = [:]
        var jsonGzip: MetricsBody?
        var status: ByteBuffer?
    }
    private let bodies = Mutex(Bodies())
    /// One maker per kind of body at a time: four clients asking at once for a
    /// body not made yet make it once, not four times side by side (each a large
    /// transient). Apart per kind, since a gzip body's maker asks for the layout.
    private let makingLayout = Mutex(())
    private let makingGzip = Mutex(())
    private let makingJSON = Mutex(())
    private let makingStatus = Mutex(())

    init(_ publication: Publication, version: String, cache: MetricsCache) {
        precondition(!publication.snapshots.isEmpty, "host is always collected")
        self.publication = publication
        self.version = version
        self.publishedAt = .now
        self.cache = cache
    }

    // Bodies are rendered outside this lock (on the thread pool, one render at a
    // time in the cache), so a request on the event loop that only asks whether
    // one is ready never waits for a render.

    /// Made once (under `maker`) and stored.
    private func once<T: Sendable>(_ maker: borrowing Mutex<Void>, _ get: (inout Bodies) -> T?, _ set: (inout Bodies, T) -> Void,
                         make: () -> T?) -> T? {
        if let v = bodies.withLock({ get(&$0) }) { return v }
        return maker.withLock { _ in
            if let v = bodies.withLock({ get(&$0) }) { return v }
            guard let v = make() else { return nil }
            bodies.withLock { set(&$0, v) }
            return v
        }
    }

    var layout: SharedLayout {
        once(makingLayout, { $0.layout }, { $0.layout = $1 }) { SharedLayout(cache.layout(publication, version: version)) }!
    }

    var hasLayout: Bool { bodies.withLock { $0.layout != nil } }

    /// The gzip body in `format`; nil if zlib failed (the caller serves it plain).
    func metricsGzip(_ format: ExpositionFormat) -> MetricsBody? {
        once(makingGzip, { $0.metricsGzip[format] }, { $0.metricsGzip[format] = $1 }) { cache.gzipBody(layout.layout, format: format) }
    }

    func hasMetricsGzip(_ format: ExpositionFormat) -> Bool { bodies.withLock { $0.metricsGzip[format] != nil } }

    /// The identity body in `format`, written as it is sent (its length known before).
    func metricsText(_ format: ExpositionFormat) -> StreamedBody {
        let shared = layout
        return StreamedBody(MetricsText(shared: shared, format: format), length: cache.textLength(shared.layout, format: format),
                            meter: cache.meter)
    }

    /// /snapshot as one whole gzip member (it has no per-request tail); nil if zlib failed.
    var jsonGzip: MetricsBody? {
        once(makingJSON, { $0.jsonGzip }, { $0.jsonGzip = $1 }) {
            cache.meter.measure {
                var pieces = SnapshotJSON(publication, version: version, commandLines: false)
                guard let body = MetricsCache.gzip(&pieces), let open = body.gzip, let end = Gzip.close(open, tail: []) else { return nil }
                return MetricsBody(parts: body.parts + [ByteBuffer(bytes: end)], gzip: nil)
            }
        }
    }

    var hasJSONGzip: Bool { bodies.withLock { $0.jsonGzip != nil } }

    /// /snapshot, written as it is sent.
    var json: StreamedBody {
        StreamedBody(SnapshotJSON(publication, version: version, commandLines: false), meter: cache.meter)
    }

    var hasStatusPage: Bool { bodies.withLock { $0.status != nil } }

    /// `/`: the status page (StatusPage), at most `StatusPage.maxRows` listeners.
    var statusPage: ByteBuffer {
        once(makingStatus, { $0.status }, { $0.status = $1 }) { ByteBuffer(string: StatusPage.render(publication, version: version)) }!
    }
}

/// A publication's layout, shared by the bodies made from it while any of them is being made or sent.
final class SharedLayout: Sendable {
    let layout: MetricsLayout
    init(_ layout: MetricsLayout) { self.layout = layout }
}

/// The latest published snapshot. The collector replaces it; handlers read it.
/// Neither waits on the other beyond a pointer swap.
public final class SnapshotStore: Sendable {
    private let current = Mutex<ServedSnapshot?>(nil)
    let cache = MetricsCache()
    /// The HAProxy agent's connections and answers, shown in /metrics while it listens.
    let agent = AgentActivity()
    /// The weights the agent and /probe last answered (at most 25 points a step).
    let weights = AnsweredWeights()
    public let version: String
    let indexPage: ByteBuffer

    public init(version: String) {
        self.version = version
        self.indexPage = ByteBuffer(string: IndexPage.html(version: version))
    }

    public func publish(_ publication: Publication) {
        let served = ServedSnapshot(publication, version: version, cache: cache)
        current.withLock { $0 = served }
    }

    /// CPU seconds spent rendering /metrics bodies since start (the collection budgets count it).
    public var renderCPUSeconds: Double { cache.cpuSeconds }

    public var latest: ServedSnapshot? {
        current.withLock { $0 }
    }
}
