import BacklogCore
import BacklogExposition
import NIOCore
import Synchronization

/// One published snapshot and its bodies, each rendered at most once, on the
/// first request that needs it: scrapes cost the same however many sockets
/// the host has, and ticks that nobody scrapes cost no rendering.
public final class ServedSnapshot: Sendable {
    public let snapshot: Snapshot
    public let version: String
    /// Monotonic seconds when it was published (for /healthz staleness).
    public let publishedAt: ContinuousClock.Instant

    private struct Bodies {
        var metrics: ByteBuffer?
        var metricsGzip: ByteBuffer?
        var json: ByteBuffer?
    }
    private let bodies = Mutex(Bodies())

    public init(_ snapshot: Snapshot, version: String) {
        self.snapshot = snapshot
        self.version = version
        self.publishedAt = .now
    }

    public var metrics: ByteBuffer {
        bodies.withLock { b in
            if let m = b.metrics { return m }
            let m = ByteBuffer(string: MetricsRenderer.render(snapshot, version: version))
            b.metrics = m
            return m
        }
    }

    /// The gzip of `metrics`; nil if zlib failed (the caller serves it plain).
    public var metricsGzip: ByteBuffer? {
        let plain = metrics
        return bodies.withLock { b in
            if let g = b.metricsGzip { return g }
            guard let bytes = Gzip.compress(Array(plain.readableBytesView)) else { return nil }
            let g = ByteBuffer(bytes: bytes)
            b.metricsGzip = g
            return g
        }
    }

    func hasMetrics(gzip: Bool) -> Bool {
        bodies.withLock { gzip ? $0.metricsGzip != nil : $0.metrics != nil }
    }

    var hasJSON: Bool { bodies.withLock { $0.json != nil } }

    public var json: ByteBuffer {
        bodies.withLock { b in
            if let j = b.json { return j }
            let j = ByteBuffer(string: JSONRenderer.render(snapshot, version: version, commandLines: false))
            b.json = j
            return j
        }
    }
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

    public func publish(_ snapshot: Snapshot) {
        let served = ServedSnapshot(snapshot, version: version)
        current.withLock { $0 = served }
    }

    public var latest: ServedSnapshot? {
        current.withLock { $0 }
    }
}
