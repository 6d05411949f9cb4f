import BacklogCore
import Foundation
import Testing

/// The daemon's HTTP endpoint against real queues: /metrics follows them,
/// /snapshot is the --once document, and every path answers as documented.
@Suite struct DaemonEndpointTests {
    @Test func metricsFollowAFillingQueueAndForgetAClosedListener() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--interval", "100ms"])
            defer { daemon.stop() }
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { () throws -> UInt16 in
                let l = try TestSockets.listenTCP("127.0.0.1", backlog: 4, bag: bag)
                for _ in 0..<10 { _ = try TestSockets.connectTCP("127.0.0.1", port: l.port, bag: bag) }
                return l.port
            }
            let series = ["address": "127.0.0.1", "port": "\(port)", "family": "inet", "netns": "host", "socket": "0"]
            var text = ""
            try waitUntil("/metrics to show the queue at 5/4") {
                text = try scrape(ns).text
                return MetricsText.value(text, "backlogd_listen_queue_length", series) == 5
            }
            #expect(MetricsText.value(text, "backlogd_listen_queue_max", series) == 4)
            #expect(MetricsText.value(text, "backlogd_listen_queue_peak", series) == 5)
            // The same numbers ss shows.
            let ss = SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).first { $0.port == port }
            #expect(ss?.recvQ == 5 && ss?.sendQ == 4)
            try waitUntil("seconds-full to grow") {
                (MetricsText.value(try scrape(ns).text, "backlogd_listen_queue_full_seconds_total", series) ?? 0) > 0.2
            }
            text = try scrape(ns).text
            for family in ["backlogd_collect_last_success_timestamp_seconds", "backlogd_source_up", "backlogd_build_info", "backlogd_tcp_listen_overflows_total"] {
                #expect(text.contains("# TYPE \(family) "), "missing \(family)")
            }
            #expect(MetricsText.value(text, "backlogd_source_up", ["source": "tcp"]) == 1)

            // /snapshot is the --once JSON document: same listeners, same numbers.
            let snap = try OnceDocument.decode(try scrape(ns, "/snapshot").text)
            let once = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"], check: false).stdout)
            #expect(snap.schema == once.schema && snap.version == once.version)
            func rows(_ d: OnceDocument) -> Set<String> {
                // Not the daemon's own port: a scrape may sit in its queue for a moment.
                Set(d.listeners.filter { $0.port != 24519 }.map { "\($0.family) \($0.address) \($0.port ?? 0) \($0.inode) \($0.queue.length)/\($0.queue.max)" })
            }
            #expect(rows(snap) == rows(once))
            #expect(rows(snap).contains { $0.hasPrefix("inet 127.0.0.1 \(port) ") && $0.hasSuffix(" 5/4") })

            bag.closeAll()
            try waitUntil("the closed listener's series to disappear") {
                !(try scrape(ns).text.contains("port=\"\(port)\""))
            }
            daemon.signal(SIGTERM)
            #expect(try daemon.wait() == 0)
        }
    }

    @Test func pathsMethodsAndEncodings() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            // One start-up line with the effective settings; nothing per scrape at the default level.
            try waitForStartupLine(daemon)
            #expect(daemon.log.contains("info backlogd:") && daemon.log.contains("settings=listen=127.0.0.1:24519 interval=250ms"), "\(daemon.log)")
            let linesBefore = daemon.log.split(separator: "\n").count
            let metrics = try scrape(ns)
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(metrics.headers["content-encoding"] == nil)
            #expect(Int(metrics.headers["content-length"] ?? "") == metrics.body.count)

            // gzip for a client that asks, as Prometheus does; plain for q=0.
            let gz = try scrape(ns, headers: ["Accept-Encoding": "gzip"])
            #expect(gz.headers["content-encoding"] == "gzip" && gz.body.prefix(2) == [0x1f, 0x8b])
            let file = temporaryPath("gz")
            defer { unlink(file) }
            try Data(gz.body).write(to: URL(fileURLWithPath: file))
            let inflated = try run(["gzip", "-dc", file]).stdout
            #expect(inflated.contains("# TYPE backlogd_listen_queue_length gauge"))
            #expect(try scrape(ns, headers: ["Accept-Encoding": "gzip;q=0"]).headers["content-encoding"] == nil)

            // Both bodies pass promtool, the per-scrape connection block included, once each.
            for (name, text) in [("plain", metrics.text), ("gzip", inflated)] {
                let check = temporaryPath("prom")
                defer { unlink(check) }
                try text.write(toFile: check, atomically: true, encoding: .utf8)
                let promtool = try run(["sh", "-c", "promtool check metrics < '\(check)'"], check: false)
                #expect(promtool.status == 0, "\(name): promtool: \(promtool.stdout) \(promtool.stderr)")
                for family in ["backlogd_http_connections_open", "backlogd_http_connections_refused_total",
                               "backlogd_http_connections_evicted_total", "backlogd_http_accept_backoffs_total"] {
                    #expect(text.components(separatedBy: "# TYPE \(family) ").count == 2, "\(name): \(family) once")
                }
                #expect((MetricsText.value(text, "backlogd_http_connections_open", [:]) ?? 0) >= 1, "\(name): the scrape's own connection")
            }

            // The absolute form of a request target names the same path (RFC 9112 §3.2.2).
            let absolute = try ns.enter { () throws -> HTTPReply in
                let fd = try HTTPProbe.connect("127.0.0.1", 24519)
                defer { close(fd) }
                try HTTPProbe.send(fd, "GET http://127.0.0.1:24519/metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:24519\r\nConnection: close\r\n\r\n")
                return try HTTPProbe.parse(try HTTPProbe.readAll(fd))
            }
            #expect(absolute.status == 200 && absolute.text.contains("# TYPE backlogd_build_info gauge"), "\(absolute.status)")

            let head = try ns.enter { try HTTPProbe.request("127.0.0.1", 24519, method: "HEAD", path: "/metrics") }
            #expect(head.status == 200 && head.body.isEmpty && Int(head.headers["content-length"] ?? "0")! > 0)

            let index = try scrape(ns, "/")
            #expect(index.status == 200 && index.headers["content-type"]?.hasPrefix("text/html") == true)
            for link in ["metrics", "snapshot", "healthz"] { #expect(index.text.contains("href=\"\(link)\"")) }
            #expect(try scrape(ns, "/healthz").text == "ok\n")
            #expect(try scrape(ns, "/snapshot").headers["content-type"] == "application/json")
            #expect(try scrape(ns, "/metrics?x=1").status == 200)
            #expect(try scrape(ns, "/nope").status == 404)
            let post = try ns.enter { try HTTPProbe.request("127.0.0.1", 24519, method: "POST", path: "/metrics") }
            #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD")
            #expect(try ns.enter { try HTTPProbe.request("127.0.0.1", 24519, method: "DELETE", path: "/healthz") }.status == 405)

            // Keep-alive: two requests on one connection, both answered.
            let both = try ns.enter { () throws -> String in
                let fd = try HTTPProbe.connect("127.0.0.1", 24519)
                defer { close(fd) }
                try HTTPProbe.send(fd, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                return String(decoding: try HTTPProbe.readAll(fd), as: UTF8.self)
            }
            #expect(both.components(separatedBy: "HTTP/1.1 200 OK").count == 3, "\(both)")
            #expect(daemon.log.split(separator: "\n").count == linesBefore, "log lines per scrape: \(daemon.log)")
        }
    }
}
