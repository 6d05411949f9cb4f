@testable import BacklogHTTP
import BacklogCore
import BacklogExposition
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// HTTPHandler over a real loopback connection to a MetricsServer: streamed
/// bodies (identity /metrics with its length known, /snapshot chunked or, for
/// HTTP/1.0, ended by the close) arrive whole, and a kept-alive connection
/// serves the next request after a streamed one.
@Suite struct HTTPHandlerTests {
    /// A server on an ephemeral loopback port publishing `listeners` listeners.
    static func server(listeners: Int) throws -> (MetricsServer, SnapshotStore, UInt16) {
        let store = SnapshotStore(version: "t")
        store.publish(MetricsCacheTests.publication((0..<listeners).map { MetricsCacheTests.listener($0, queue: UInt32($0 % 3)) }))
        let server = MetricsServer(store: store, limits: HTTPLimits())
        let bound = try server.listen(on: [ListenAddress(host: "127.0.0.1", port: 0)])
        let port = try #require(bound.first.flatMap { UInt16($0.split(separator: ":").last ?? "") })
        return (server, store, port)
    }

    static func connect(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(fd); throw HTTPTestError("connect: \(errno)") }
        return fd
    }

    struct Response {
        var head: String
        var body: [UInt8]
        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }
        }
    }

    /// Reads one response: by Content-Length, by chunks, or (neither) to the close.
    static func read(_ fd: Int32, method: String = "GET") throws -> Response {
        var raw: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        func more() throws -> Bool {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 { throw HTTPTestError("recv: \(errno)") }
            raw += buf[0..<n]
            return n > 0
        }
        let sep = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            end = raw.count >= 4 ? (0...(raw.count - 4)).first { raw[$0..<$0 + 4].elementsEqual(sep) } : nil
            if end == nil, try !more() { throw HTTPTestError("closed before the head") }
        }
        let head = String(decoding: raw[..<end!], as: UTF8.self)
        var r = Response(head: head, body: [])
        let start = end! + 4
        if method == "HEAD" { return r }
        if let length = r.header("Content-Length").flatMap({ Int($0) }) {
            while raw.count - start < length { if try !more() { throw HTTPTestError("closed at \(raw.count - start) of \(length)") } }
            r.body = Array(raw[start..<(start + length)])
        } else if r.header("Transfer-Encoding") == "chunked" {
            while true {
                var body: [UInt8] = []
                var i = start
                var done = false
                parse: while true {
                    guard let nl = raw[i...].firstIndex(of: 0x0A) else { break }
                    guard let size = Int(String(decoding: raw[i..<(nl - 1)], as: UTF8.self), radix: 16) else { throw HTTPTestError("bad chunk size") }
                    if size == 0 {
                        done = raw.count >= nl + 3
                        break parse
                    }
                    guard raw.count >= nl + 1 + size + 2 else { break }
                    body += raw[(nl + 1)..<(nl + 1 + size)]
                    i = nl + 1 + size + 2
                }
                if done {
                    r.body = body
                    break
                }
                if try !more() { throw HTTPTestError("closed inside the chunks") }
            }
        } else {
            while try more() {}
            r.body = Array(raw[start...])
        }
        return r
    }

    static func send(_ fd: Int32, _ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    @Test func identityMetricsHasItsLengthAndKeepsTheConnection() throws {
        let (server, store, port) = try Self.server(listeners: 3000)
        defer { server.shutdown(grace: 0) }
        let fd = try Self.connect(port)
        defer { close(fd) }
        let expected = MetricsRenderer.render(try #require(store.latest).publication, version: "t")
        for _ in 0..<2 {
            Self.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let r = try Self.read(fd)
            #expect(r.head.hasPrefix("HTTP/1.1 200"))
            #expect(r.header("Transfer-Encoding") == nil)
            let text = String(decoding: r.body, as: UTF8.self)
            #expect(text.hasPrefix(expected), "the body, then the per-scrape connection lines")
            #expect(text.contains("backlogd_http_connections_open 1\n"))
        }
        Self.send(fd, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try Self.read(fd, method: "HEAD")
        #expect(Int(head.header("Content-Length") ?? "") ?? 0 > expected.utf8.count)
        // The connection still answers after a HEAD (no body was left in it).
        Self.send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(String(decoding: try Self.read(fd).body, as: UTF8.self) == "ok\n")
    }

    @Test func snapshotIsChunkedForHTTP11AndClosedForHTTP10() throws {
        let (server, store, port) = try Self.server(listeners: 3000)
        defer { server.shutdown(grace: 0) }
        let expected = SnapshotJSON.render(try #require(store.latest).publication, version: "t", commandLines: false)
        let fd = try Self.connect(port)
        defer { close(fd) }
        Self.send(fd, "GET /snapshot HTTP/1.1\r\nHost: x\r\n\r\n")
        let chunked = try Self.read(fd)
        #expect(chunked.header("Transfer-Encoding") == "chunked" && chunked.header("Content-Length") == nil)
        #expect(chunked.body == expected)
        Self.send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(String(decoding: try Self.read(fd).body, as: UTF8.self) == "ok\n", "kept alive after the last chunk")

        let old = try Self.connect(port)
        defer { close(old) }
        Self.send(old, "GET /snapshot HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let closed = try Self.read(old)
        #expect(closed.header("Connection") == "close" && closed.header("Transfer-Encoding") == nil)
        #expect(closed.body == expected, "read to the close")
    }
}

struct HTTPTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
