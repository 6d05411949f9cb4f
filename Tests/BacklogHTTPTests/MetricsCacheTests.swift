@testable import BacklogHTTP
import BacklogCore
import BacklogExposition
import NIOCore
import Testing

/// /metrics bodies made from the chunks MetricsCache kept: a new snapshot in
/// which one listener changed compresses about one chunk, and every body (text,
/// OpenMetrics, gzip of either, the identity ones streamed) is exactly what a
/// fresh render of that snapshot gives, whatever came and went in between.
@Suite struct MetricsCacheTests {
    static func listener(_ i: Int, queue: UInt32 = 0, pid: Int32? = nil) -> Listener {
        var l = Listener(family: i % 2 == 0 ? .inet : .inet6, address: i % 2 == 0 ? "10.0.0.1" : "fd00::1",
                         port: UInt16(10_000 + i), inode: UInt32(1000 + i), cookie: UInt64(i), queueLength: queue, queueMax: 128)
        l.fullSeconds = 0
        l.drops = 0
        l.connections = ConnectionStats()
        l.owner = Owner(pid: pid ?? Int32(100 + i / 50), comm: "srv\(i / 50)", cmdline: "", unit: "srv\(i / 50).service", container: nil)
        l.fdUsage = FdUsage(pid: 100, comm: "srv", open: 10, limit: 1024)
        return l
    }

    static func publication(_ listeners: [Listener]) -> Publication {
        Publication(snapshots: [Snapshot(timestamp: 1, windowSeconds: 15, listeners: listeners, netstat: nil, sysctls: [:],
                                         sources: [SourceStatus(name: "tcp", up: true, durationSeconds: 0.001)])],
                    process: ProcessFacts(ownerFailures: [:], ownerScanSkipped: 0))
    }

    static func bytes(_ parts: [ByteBuffer]) -> [UInt8] {
        parts.flatMap { Array($0.readableBytesView) }
    }

    @Test func aSnapshotWithOneListenerChangedRendersAboutOneChunk() throws {
        let store = SnapshotStore(version: "t")
        var ls = (0..<2000).map { Self.listener($0) }
        store.publish(Self.publication(ls))
        _ = try #require(store.latest?.metricsGzip(.text))
        let first = store.cache.lastRender
        #expect(first.reused == 0 && first.rendered > 17, "\(first)")
        // What renders cost is counted (the collection budgets take it out of the deep tick's share).
        #expect(store.renderCPUSeconds > 0)

        ls[700].queueLength = 5
        ls[700].queuePeak = 5
        store.publish(Self.publication(ls))
        let served = try #require(store.latest)
        _ = try #require(served.metricsGzip(.openMetrics))
        let second = store.cache.lastRender
        #expect(second.rendered == 2, "queue length and peak: \(second)")
        #expect(second.reused == first.rendered - 2, "the chunks are the same in both formats")
        #expect(String(decoding: Self.drain(served.metricsText(.text)), as: UTF8.self) == MetricsRenderer.render(served.publication, version: "t"))

        ls[700].queueLength = 6
        store.publish(Self.publication(ls))
        _ = store.latest?.metricsGzip(.text)
        #expect(store.cache.lastRender.rendered == 1, "\(store.cache.lastRender)")
    }

    /// Every piece of a streamed body, joined; no piece is larger than a piece and a part.
    static func drain(_ stream: StreamedBody) -> [UInt8] {
        var out: [UInt8] = []
        while let p = stream.next() {
            #expect(p.readableBytes > 0)
            out += Array(p.readableBytesView)
        }
        #expect(stream.next() == nil, "an ended body stays ended")
        return out
    }

    /// A sequence of snapshots: values change, listeners go and come, an owner
    /// changes (the pid label of the info series); each body in each format and
    /// encoding against a fresh render of that snapshot.
    @Test func everyBodyIsWhatAFreshRenderGives() throws {
        let store = SnapshotStore(version: "t")
        var ls = (0..<600).map { Self.listener($0) }
        var steps: [[Listener]] = [ls]
        ls[3].queueLength = 9
        ls[599].connections?.unaccepted = AgedCount(count: 2, oldestSeconds: 1.5)
        steps.append(ls)
        ls.remove(at: 300)
        ls.remove(at: 10)
        steps.append(ls)
        ls.insert(Self.listener(10), at: 10)
        ls.append(Self.listener(5000))
        steps.append(ls)
        ls[42] = Self.listener(42, pid: 9999)
        steps.append(ls)
        steps.append([])
        steps.append(ls)
        for (n, step) in steps.enumerated() {
            store.publish(Self.publication(step))
            let served = try #require(store.latest)
            for format in ExpositionFormat.allCases {
                let expected = Array(MetricsRenderer.render(served.publication, version: "t", format: format).utf8)
                #expect(Self.drain(served.metricsText(format)) + format.end == expected, "step \(n) \(format)")
                let gz = try #require(served.metricsGzip(format))
                let open = try #require(gz.gzip)
                let whole = Self.bytes(gz.parts) + (try #require(Gzip.close(open, tail: format.end)))
                #expect(Self.inflate(whole) == expected, "step \(n) \(format) gzip")
            }
        }
    }

    static func inflate(_ input: [UInt8]) -> [UInt8]? { Inflate.gzip(input) }
}
