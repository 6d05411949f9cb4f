import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bad clients against the endpoint: idle connections, a trickling client,
/// oversized heads, more connections than the cap. Scrapes keep working and
/// every fd comes back.
@Suite struct HTTPRobustnessTests {
    @Test func idleAndTricklingClientsDoNotStopScrapes() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--read-timeout", "8s"])
            defer { daemon.stop() }
            _ = try scrape(ns)
            let baseline = daemon.openFilesAtRest()
            let bag = SocketBag()
            defer { bag.closeAll() }
            // 200 idle connections and one client sending its request head a byte a second.
            let trickle = try ns.enter { () throws -> Int32 in
                for _ in 0..<200 { _ = try HTTPProbe.connect("127.0.0.1", 24519, bag: bag) }
                return try HTTPProbe.connect("127.0.0.1", 24519, bag: bag)
            }
            try waitUntil("the daemon to hold the 201 connections") { daemon.openFiles >= baseline + 201 }
            // Its read timeout runs from its first byte: only once all 201 are counted.
            let trickler = Trickler(fd: trickle, text: "GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: " + String(repeating: "a", count: 100))
            trickler.start()
            defer { trickler.stop() }

            let statuses = try ns.enter { () throws -> [Int] in
                try (0..<100).map { _ in
                    let r = try HTTPProbe.get(24519, "/metrics")
                    return r.text.contains("backlogd_build_info") ? r.status : -r.status
                }
            }
            #expect(statuses == Array(repeating: 200, count: 100))

            // The trickler is cut off by the read timeout with 408.
            let answer = try HTTPProbe.readResponse(trickle).map { "HTTP/1.1 \($0.status) \($0.text)" } ?? "connection closed without a response"
            #expect(answer.hasPrefix("HTTP/1.1 408 "), "\(answer)")
            #expect(trickler.sentBytes < 30, "the daemon waited for \(trickler.sentBytes) bytes")

            // Heads over the caps: 431 for headers, 400 for a request line.
            let big = try ns.enter {
                try HTTPProbe.request("127.0.0.1", 24519, path: "/metrics", headers: ["X-Big": String(repeating: "b", count: 20000)])
            }
            #expect(big.status == 431)
            let longLine = try ns.enter { try HTTPProbe.get(24519, "/metrics?" + String(repeating: "q", count: 9000)) }
            #expect(longLine.status == 400)
            let garbage = try ns.enter { () throws -> String in
                let fd = try HTTPProbe.connect("127.0.0.1", 24519)
                defer { close(fd) }
                try HTTPProbe.send(fd, "\u{1}\u{2} nonsense\r\n\r\n")
                return String(decoding: try HTTPProbe.readAll(fd), as: UTF8.self)
            }
            #expect(garbage.hasPrefix("HTTP/1.1 400 "), "\(garbage)")

            bag.closeAll()
            try waitUntil("the daemon's fds to return to \(baseline)") { daemon.openFiles == baseline }
            #expect(try scrape(ns).status == 200)
        }
    }

    @Test func connectionCapAndIdleTimeout() throws {
        try withNamespace { ns in
            // An idle timeout long enough that none of the 20 is closed before the scrape at the
            // cap, however slow the machine; short enough for the reads below (30 s timeout).
            let daemon = try startDaemon(in: ns, ["--max-connections", "20", "--idle-timeout", "15s"])
            defer { daemon.stop() }
            _ = try scrape(ns)
            let baseline = daemon.openFilesAtRest()
            let bag = SocketBag()
            defer { bag.closeAll() }
            let idle = try ns.enter { try (0..<20).map { _ in try HTTPProbe.connect("127.0.0.1", 24519, bag: bag) } }
            try waitUntil("20 connections held") { daemon.openFiles == baseline + 20 }
            // At the cap a new connection evicts the one longest without a request (the first) and is served.
            let served = try scrape(ns)
            #expect(served.status == 200)
            #expect(MetricsText.value(served.text, "backlogd_http_connections_evicted_total", [:]) == 1)
            #expect(MetricsText.value(served.text, "backlogd_http_connections_open", [:]) == 20)
            #expect(try HTTPProbe.readAll(idle[0]).isEmpty, "the evicted connection reads end-of-file")
            // The others are closed by the idle timeout: each reads end-of-file.
            for fd in idle.dropFirst() {
                #expect(try HTTPProbe.readAll(fd).isEmpty)
            }
            try waitUntil("the daemon's fds to return to \(baseline)") { daemon.openFiles == baseline }
            #expect(try scrape(ns).status == 200)
        }
    }

    /// At the cap with every connection answering a request (clients that ask for
    /// /metrics and do not read it), nothing can be evicted: a new connection is closed at once.
    @Test func connectionCapWithEveryConnectionBusyRefuses() throws {
        try withNamespace { ns in
            // Small send buffers and a body of some 300 KB: a response nobody reads stays in flight.
            try ns.exec(["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 65536"])
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter { for _ in 0..<100 { _ = try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: bag) } }
            let daemon = try startDaemon(in: ns, ["--max-connections", "2", "--idle-timeout", "30s"])
            defer { daemon.stop() }
            func busyClient() throws -> Int32 {
                try ns.enter { () throws -> Int32 in
                    let fd = try HTTPProbe.connect("127.0.0.1", 24519, bag: bag)
                    try TestSockets.setInt(fd, SOL_SOCKET, SO_RCVBUF, 4096)
                    return fd
                }
            }
            // Every scrape here goes over the first busy client's own connection (keep-alive):
            // a scrape on a connection of its own would still be open for a moment after its
            // answer (more so on a loaded machine) and be evicted, correctly, for a busy client.
            // Beside it, at most the start-up check's connection, still closing: within the cap.
            let first = try busyClient()
            try waitUntil("a /metrics body over 200 KB, and only this connection open") {
                let r = try HTTPProbe.get(on: first, "/metrics")
                return r.body.count > 200_000 && MetricsText.value(r.text, "backlogd_http_connections_open", [:]) == 1
            }
            try HTTPProbe.send(first, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let second = try busyClient()
            try HTTPProbe.send(second, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let busy = [first, second]
            // Both responses started: their first bytes arrived.
            for fd in busy {
                var b: UInt8 = 0
                #expect(recv(fd, &b, 1, Int32(MSG_PEEK)) == 1)
            }
            let refused = try ns.enter { () throws -> [UInt8] in
                let fd = try HTTPProbe.connect("127.0.0.1", 24519)
                defer { close(fd) }
                try? HTTPProbe.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                return try HTTPProbe.readAll(fd)
            }
            #expect(refused.isEmpty, "closed without a response")
            for fd in busy { bag.close(fd) }
            // The daemon has let them go (none of its connections is open or half-closed) before the
            // scrape below opens one: else, at the cap, it would evict one whose answer just finished.
            try waitUntil("the daemon to close the busy connections") {
                try ns.exec(["ss", "-tnH", "state", "established", "state", "close-wait", "( sport = :24519 )"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            }
            var text = ""
            try waitUntil("a scrape once the busy clients are gone") {
                text = (try? scrape(ns).text) ?? ""
                return text.contains("backlogd_build_info")
            }
            // At least that one (a scrape may be refused too before the daemon sees the busy clients go).
            #expect((MetricsText.value(text, "backlogd_http_connections_refused_total", [:]) ?? 0) >= 1)
            #expect(MetricsText.value(text, "backlogd_http_connections_evicted_total", [:]) == 0)
        }
    }
}

extension HTTPRobustnessTests {
    /// A client that pipelines requests and never reads: the daemon stops reading
    /// from it (memory stays bounded), others are served, the idle timeout ends it.
    @Test func pipeliningClientThatNeverReadsIsBounded() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--idle-timeout", "3s"])
            defer { daemon.stop() }
            _ = try scrape(ns)
            let baseline = daemon.openFilesAtRest()
            let rssBefore = daemon.residentKiB
            let bag = SocketBag()
            defer { bag.closeAll() }
            let fd = try ns.enter { () throws -> Int32 in
                let fd = try HTTPProbe.connect("127.0.0.1", 24519, bag: bag)
                var small: Int32 = 4096
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            var sent = 0
            // Sends that would block: the daemon stopped reading (its responses are unread).
            var blocked = 0
            // Scrapes by another client while this one floods, each answered.
            var servedMeanwhile = 0
            var lastCheck = Date.distantPast
            // At least 4 s of flood, and on until the daemon has stopped reading and the other
            // client was checked meanwhile (slow scrapes on a loaded machine), 60 s at most.
            let start = Date()
            while Date().timeIntervalSince(start) < 4 || ((blocked == 0 || servedMeanwhile < 4) && Date().timeIntervalSince(start) < 60) {
                let n = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n > 0 {
                    sent += n
                } else {
                    blocked += 1
                    Thread.sleep(forTimeInterval: 0.01)
                }
                if Date().timeIntervalSince(lastCheck) >= 0.5 {
                    lastCheck = Date()
                    #expect(try scrape(ns, "/healthz").status == 200, "after \(sent) bytes of pipelined requests")
                    servedMeanwhile += 1
                }
            }
            #expect(servedMeanwhile >= 4, "the other client was checked during the flood")
            #expect(blocked > 0, "the daemon read all \(sent) bytes of requests whose responses nobody read")
            #expect(try scrape(ns).status == 200, "another client is still served")
            let grown = daemon.residentKiB - rssBefore
            #expect(grown < 50_000, "RSS grew by \(grown) KiB for \(sent) bytes of pipelined requests")
            try waitUntil("the idle timeout to close the non-reading client") { daemon.openFiles == baseline }
        }
    }

    /// Blank lines are not requests: they do not keep a connection open.
    @Test func blankLinesDoNotKeepAConnectionAlive() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--idle-timeout", "2s"])
            defer { daemon.stop() }
            // Closed within a deadline far past the 2 s idle timeout.
            let closed = try ns.enter { () throws -> Bool in
                let fd = try HTTPProbe.connect("127.0.0.1", 24519)
                defer { close(fd) }
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline {
                    guard (try? HTTPProbe.send(fd, "\r\n")) != nil else { return true }
                    var b: UInt8 = 0
                    if recv(fd, &b, 1, Int32(MSG_DONTWAIT)) == 0 { return true }
                    Thread.sleep(forTimeInterval: 0.5)
                }
                return false
            }
            #expect(closed, "a client sending only CR/LF was never closed")
        }
    }

    /// A refused client (408 here) that never reads its answer is still closed.
    @Test func refusedClientThatDoesNotReadIsClosed() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--read-timeout", "1s", "--idle-timeout", "60s"])
            defer { daemon.stop() }
            _ = try scrape(ns)
            let baseline = daemon.openFilesAtRest()
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter {
                let fd = try HTTPProbe.connect("127.0.0.1", 24519, bag: bag)
                var small: Int32 = 4096
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
                // Fill both directions (until a send would block; 30 s at most), then leave a
                // request head unfinished.
                let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline {
                    let n = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                    if n < 0 { break }
                }
                _ = "GET /metr".withCString { send(fd, $0, 9, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            }
            try waitUntil("the refused connection to be closed") { daemon.openFiles == baseline }
        }
    }

    @Test func bodiesAndHTTP10() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            func exchange(_ text: String) throws -> String {
                try ns.enter {
                    let fd = try HTTPProbe.connect("127.0.0.1", 24519)
                    defer { close(fd) }
                    try HTTPProbe.send(fd, text)
                    return String(decoding: try HTTPProbe.readAll(fd), as: UTF8.self)
                }
            }
            // HTTP/1.0 without keep-alive: answered as 1.0 and closed (readAll returns).
            let old = try exchange("GET /healthz HTTP/1.0\r\n\r\n")
            #expect(old.hasPrefix("HTTP/1.0 200 OK") && old.hasSuffix("ok\n"), "\(old)")
            // /snapshot is written as it is encoded, its length unknown before: chunked for
            // HTTP/1.1, ended by the connection's end for HTTP/1.0 (even one asking for keep-alive).
            try waitUntil("a snapshot") { try scrape(ns, "/healthz").status == 200 }
            let chunked = try scrape(ns, "/snapshot")
            #expect(chunked.headers["transfer-encoding"] == "chunked" && chunked.headers["content-length"] == nil, "\(chunked.headers)")
            #expect((try? JSONSerialization.jsonObject(with: Data(chunked.body))) != nil, "the whole document")
            let snapshot10 = try HTTPProbe.parse(Array(exchange("GET /snapshot HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").utf8))
            #expect(snapshot10.status == 200 && snapshot10.headers["connection"] == "close", "\(snapshot10.headers)")
            #expect(snapshot10.body == chunked.body || (try? JSONSerialization.jsonObject(with: Data(snapshot10.body))) != nil)
            // A body is refused at once, without waiting for it.
            let post = try exchange("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
            #expect(post.hasPrefix("HTTP/1.1 405 "), "\(post)")
            let get = try exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            #expect(get.hasPrefix("HTTP/1.1 413 "), "\(get)")
        }
    }
}

/// Sends `text` one byte a second from its own thread until stopped or refused.
final class Trickler: @unchecked Sendable {
    let fd: Int32
    let text: [UInt8]
    private let lock = NSLock()
    private var stopped = false
    private var sent = 0

    init(fd: Int32, text: String) {
        self.fd = fd
        self.text = Array(text.utf8)
    }

    var sentBytes: Int { lock.withLock { sent } }

    func start() {
        Thread { [self] in
            for byte in text {
                if lock.withLock({ stopped }) { return }
                var b = byte
                guard send(fd, &b, 1, Int32(MSG_NOSIGNAL)) == 1 else { return }
                lock.withLock { sent += 1 }
                Thread.sleep(forTimeInterval: 1)
            }
        }.start()
    }

    func stop() {
        lock.withLock { stopped = true }
    }
}
