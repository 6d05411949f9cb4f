import BacklogCore
import BacklogExposition
import NIOCore
import Synchronization

/// One published snapshot and its bodies, each rendered at most once, on the
/// first request that needs it (ticks that nobody scrapes cost no rendering),
/// from the chunks the store's MetricsCache kept from earlier snapshots.
public final class ServedSnapshot: Sendable {
    /// One snapshot per watched namespace (host first) and the process-wide facts.
    public let publication: Publication
    public var snapshots: [Snapshot] { publication.snapshots }
    public let version: String
    /// Monotonic seconds when it was published (for /healthz staleness).
    public let publishedAt: ContinuousClock.Instant
    private let cache: MetricsCache

    struct BodyKey: Hashable {
        let format: ExpositionFormat
        let gzip: Bool
    }

    private struct Bodies {
        var metrics: [BodyKey: MetricsBody] = [:]
        var json: ByteBuffer?
        var status: ByteBuffer?
    }
    private let bodies = Mutex(Bodies())

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

    /// The body in `format`; with `gzip` nil if zlib failed (the caller serves it plain).
    func metrics(_ format: ExpositionFormat, gzip: Bool) -> MetricsBody? {
        let key = BodyKey(format: format, gzip: gzip)
        if let m = bodies.withLock({ $0.metrics[key] }) { return m }
        guard let m = cache.body(publication, version: version, format: format, gzip: gzip) else { return nil }
        return bodies.withLock { b in
            if b.metrics[key] == nil { b.metrics[key] = m }
            return b.metrics[key]
        }
    }

    func hasMetrics(_ format: ExpositionFormat, gzip: Bool) -> Bool {
        bodies.withLock { $0.metrics[BodyKey(format: format, gzip: gzip)] != nil }
    }

    var hasJSON: Bool { bodies.withLock { $0.json != nil } }

    var hasStatusPage: Bool { bodies.withLock { $0.status != nil } }

    /// `/`: the status page (StatusPage), at most `StatusPage.maxRows` listeners.
    var statusPage: ByteBuffer {
        if let p = bodies.withLock({ $0.status }) { return p }
        let p = ByteBuffer(string: StatusPage.render(publication, version: version))
        return bodies.withLock { b in
            if b.status == nil { b.status = p }
            return b.status!
        }
    }

    public var json: ByteBuffer {
        if let j = bodies.withLock({ $0.json }) { return j }
        let j = ByteBuffer(string: JSONRenderer.render(publication, version: version, commandLines: false))
        return bodies.withLock { b in
            if b.json == nil { b.json = j }
            return b.json!
        }
    }
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
