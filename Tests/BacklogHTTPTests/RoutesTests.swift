@testable import BacklogHTTP
import BacklogCore
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// What each path answers (Routes), from a store with or without a snapshot.
@Suite struct RoutesTests {
    static func routes(publish: Bool, limits: HTTPLimits = HTTPLimits(), connections: ConnectionRegistry = ConnectionRegistry()) -> Routes {
        let store = SnapshotStore(version: "1.2.3")
        if publish {
            let l = Listener(family: .inet, address: "127.0.0.1", port: 8080, inode: 1, queueLength: 2, queueMax: 8)
            store.publish(Publication(snapshots: [Snapshot(timestamp: 1, windowSeconds: 0, listeners: [l], netstat: nil,
                                                           sysctls: [:], sources: [])]))
        }
        return Routes(store: store, limits: limits, connections: connections, gates: GateBox())
    }

    static func get(_ r: Routes, _ uri: String, method: HTTPMethod = .GET, headers: HTTPHeaders = [:]) -> Reply {
        r.reply(r.store.latest, method: method, uri: uri, headers: headers)
    }

    static func text(_ b: ByteBuffer?) -> String { b.map { String(buffer: $0) } ?? "" }

    static func header(_ reply: Reply, _ name: String) -> String? {
        reply.extraHeaders.first { $0.0 == name }?.1
    }

    @Test func requestTargetsNameTheirPath() {
        #expect(Routes.path("/metrics") == "/metrics")
        #expect(Routes.path("/metrics?x=1") == "/metrics")
        // Absolute form (RFC 9112 §3.2.2): the path after the authority; none is "/".
        #expect(Routes.path("http://127.0.0.1:24519/metrics") == "/metrics")
        #expect(Routes.path("HTTP://[::1]:24519/healthz?q") == "/healthz")
        #expect(Routes.path("https://host") == "/")
        #expect(Routes.path("http://host?x=1") == "/")
        // Not a scheme: left alone (and not found).
        #expect(Routes.path("ftp://host/metrics") == "ftp://host/metrics")
        #expect(Routes.path("/a://b") == "/a://b")
    }

    @Test func unknownPathsAndMethods() {
        let r = Self.routes(publish: true)
        for uri in ["/nope", "/metrics/", "/METRICS", "ftp://host/metrics", ""] {
            #expect(Self.get(r, uri).status == .notFound, "\(uri)")
        }
        // An unknown path is not found whatever the method.
        #expect(Self.get(r, "/nope", method: .POST).status == .notFound)
        for method in [HTTPMethod.POST, .PUT, .DELETE, .OPTIONS] {
            let reply = Self.get(r, "/metrics", method: method)
            #expect(reply.status == .methodNotAllowed)
            #expect(Self.header(reply, "Allow") == "GET, HEAD")
        }
        #expect(Self.get(r, "/metrics", method: .HEAD).status == .ok)
    }

    @Test func indexPageNamesTheVersionAndThePaths() {
        let reply = Self.get(Self.routes(publish: false), "/")
        #expect(reply.status == .ok)
        #expect(reply.contentType == "text/html; charset=utf-8")
        let html = Self.text(reply.body)
        #expect(html.contains("backlogd 1.2.3"))
        for path in ["metrics", "snapshot", "healthz"] { #expect(html.contains("href=\"\(path)\""), "\(path)") }
    }

    @Test func statusPageOnceThereIsASnapshot() {
        let reply = Self.get(Self.routes(publish: true), "/")
        #expect(reply.status == .ok && reply.contentType == "text/html; charset=utf-8")
        let html = Self.text(reply.body)
        #expect(html.contains("<table id=\"listeners\">") && html.contains("data-port=\"8080\""))
        #expect(html.contains("<meta http-equiv=\"refresh\""))
        for path in ["metrics", "snapshot", "healthz"] { #expect(html.contains("href=\"\(path)\""), "\(path)") }
    }

    @Test func beforeTheFirstSnapshot() {
        let r = Self.routes(publish: false)
        for uri in ["/metrics", "/snapshot"] {
            let reply = Self.get(r, uri)
            #expect(reply.status == .serviceUnavailable, "\(uri)")
            #expect(Self.text(reply.body) == "no snapshot yet\n")
        }
        let health = Self.get(r, "/healthz")
        #expect(health.status == .serviceUnavailable)
        #expect(Self.text(health.body).hasPrefix("starting"))
        #expect(r.isReady(nil, uri: "/metrics", headers: [:]), "nothing to render")
    }

    @Test func healthFailsWhenTheSnapshotIsStale() {
        #expect(Self.get(Self.routes(publish: true), "/healthz").status == .ok)
        #expect(Self.text(Self.get(Self.routes(publish: true), "/healthz").body) == "ok\n")
        // Any age is over a negative limit: the check compares the snapshot's age with staleAfter.
        let stale = Self.get(Self.routes(publish: true, limits: HTTPLimits(staleAfter: -1)), "/healthz")
        #expect(stale.status == .serviceUnavailable)
        #expect(Self.text(stale.body).hasPrefix("stale: last snapshot"))
    }

    @Test func metricsPlainWithTheConnectionCounters() throws {
        let connections = ConnectionRegistry()
        let client = EmbeddedChannel()
        // Closed at the end: the registry's close callback and the channel hold each other.
        defer { _ = try? client.finish(acceptAlreadyClosed: true) }
        guard case .admitted = connections.admit(client, cap: 10) else { Issue.record("not admitted"); return }
        let r = Self.routes(publish: true, connections: connections)
        let reply = Self.get(r, "/metrics?debug=1")
        #expect(reply.status == .ok)
        #expect(reply.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(Self.header(reply, "Vary") == "Accept, Accept-Encoding")
        #expect(Self.header(reply, "Content-Encoding") == nil)
        let bytes = reply.body
        #expect(reply.contentLength == bytes.readableBytes + (reply.tail?.readableBytes ?? 0), "known before it is written")
        let body = Self.text(bytes)
        #expect(body.contains("backlogd_build_info"))
        #expect(body.contains("port=\"8080\""))
        #expect(!body.contains("backlogd_http_connections_open"), "the counters are the per-scrape tail")
        let tail = Self.text(reply.tail)
        #expect(tail.contains("backlogd_http_connections_open 1\n"), "\(tail)")
        #expect(tail.contains("backlogd_http_connections_refused_total 0\n"), "\(tail)")
        // The same bytes for every scrape of a snapshot.
        #expect(bytes == r.store.latest?.metrics)
        #expect(Self.get(r, "/metrics").body == bytes)
    }

    @Test func metricsGzipWhenAccepted() throws {
        let r = Self.routes(publish: true)
        let reply = Self.get(r, "/metrics", headers: ["Accept-Encoding": "gzip"])
        #expect(reply.status == .ok)
        #expect(Self.header(reply, "Content-Encoding") == "gzip")
        #expect(Self.header(reply, "Vary") == "Accept, Accept-Encoding")
        #expect(Array(reply.body.readableBytesView.prefix(2)) == [0x1f, 0x8b])
        #expect(reply.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(reply.tail != nil, "the member is closed by the tail")
        #expect(reply.contentLength == reply.body.readableBytes + (reply.tail?.readableBytes ?? 0))
        let refused = Self.get(r, "/metrics", headers: ["Accept-Encoding": "gzip;q=0"])
        #expect(Self.header(refused, "Content-Encoding") == nil)
        #expect(Self.text(refused.body).contains("backlogd_build_info"))
    }

    @Test func snapshotIsTheJSONDocument() throws {
        let reply = Self.get(Self.routes(publish: true), "http://localhost:24519/snapshot")
        #expect(reply.status == .ok)
        #expect(reply.contentType == "application/json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(Self.text(reply.body).utf8)) as? [String: Any])
        #expect(doc["schema"] as? Int == 1)
        #expect(doc["version"] as? String == "1.2.3")
        #expect((doc["listeners"] as? [[String: Any]])?.map { $0["port"] as? Int } == [8080])
        #expect(reply.tail == nil)
        #expect(reply.contentLength == nil, "written as it is encoded: chunked")
    }

    @Test func snapshotGzipWhenAccepted() throws {
        let r = Self.routes(publish: true)
        let reply = Self.get(r, "/snapshot", headers: ["Accept-Encoding": "gzip"])
        #expect(reply.status == .ok)
        #expect(Self.header(reply, "Content-Encoding") == "gzip")
        #expect(Self.header(reply, "Vary") == "Accept-Encoding")
        #expect(reply.contentLength == reply.body.readableBytes + (reply.tail?.readableBytes ?? 0))
        let whole = Array(reply.body.readableBytesView) + Array((reply.tail ?? ByteBuffer()).readableBytesView)
        let plain = Self.get(r, "/snapshot")
        #expect(Self.header(plain, "Content-Encoding") == nil)
        #expect(MetricsCacheTests.inflate(whole) == Array(plain.body.readableBytesView), "the same document")
    }

    @Test func readinessSaysWhetherABodyIsRenderedYet() throws {
        let r = Self.routes(publish: true)
        let served = try #require(r.store.latest)
        #expect(!r.isReady(served, uri: "/metrics", headers: [:]))
        #expect(!r.isReady(served, uri: "/snapshot", headers: [:]))
        #expect(!r.isReady(served, uri: "/", headers: [:]), "the status page is rendered off the event loop")
        #expect(r.isReady(served, uri: "/healthz", headers: [:]))
        #expect(r.isReady(served, uri: "/nope", headers: [:]))
        // Held here as a stream holds it (the snapshot keeps it only while something uses it).
        let layout = served.layout
        #expect(r.isReady(served, uri: "/metrics", headers: [:]), "identity text is written from the layout as it is sent")
        let om: HTTPHeaders = ["Accept": "application/openmetrics-text;version=1.0.0"]
        #expect(r.isReady(served, uri: "/metrics", headers: om), "one layout for both formats")
        #expect(!r.isReady(served, uri: "/metrics", headers: ["Accept-Encoding": "gzip"]), "gzip is a body of its own")
        _ = served.metricsGzip(.text)
        #expect(r.isReady(served, uri: "/metrics?x", headers: ["Accept-Encoding": "gzip"]))
        #expect(!r.isReady(served, uri: "/metrics", headers: ["Accept-Encoding": "gzip", "Accept": "application/openmetrics-text;version=1.0.0"]),
                "so is each format's")
        #expect(!r.isReady(served, uri: "/snapshot", headers: [:]), "the document's frame is encoded off the event loop")
        #expect(!r.isReady(served, uri: "/snapshot", headers: ["Accept-Encoding": "gzip"]))
        _ = served.jsonGzip
        #expect(r.isReady(served, uri: "/snapshot", headers: ["Accept-Encoding": "gzip"]))
        withExtendedLifetime(layout) {}
    }
}

/// Bodies joined into one buffer, to compare and read them in tests.
extension ByteBuffer {
    init(joining parts: [ByteBuffer]) {
        self.init()
        for p in parts { writeImmutableBuffer(p) }
    }
}

extension Reply {
    /// The parts and then every streamed piece (not the tail). Drains the stream: once per reply.
    var body: ByteBuffer {
        var b = ByteBuffer(joining: parts)
        while let piece = stream?.next() { b.writeImmutableBuffer(piece) }
        return b
    }
}

extension ServedSnapshot {
    /// The plain text body.
    var metrics: ByteBuffer { ByteBuffer(bytes: MetricsCacheTests.drain(metricsText(.text))) }
}
