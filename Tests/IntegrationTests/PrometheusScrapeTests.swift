import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus server (Debian package) scrapes the daemon in the test's
/// namespace; its query API must return the queue length `ss` shows, and every
/// series of a few hundred listeners. Prometheus 2.42 asks for OpenMetrics
/// first and gzip: this is the body it gets (OpenMetricsTests checks the format).
@Suite struct PrometheusScrapeTests {
    static let idle = 300

    @Test func prometheusScrapesTheListenerQueue() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { () throws -> UInt16 in
                let l = try TestSockets.listenTCP("127.0.0.1", backlog: 3, bag: bag)
                for _ in 0..<7 { _ = try TestSockets.connectTCP("127.0.0.1", port: l.port, bag: bag) }
                for i in 0..<Self.idle { _ = try TestSockets.listenTCP(i % 2 == 0 ? "127.0.0.1" : "::1", backlog: 16, bag: bag) }
                return l.port
            }
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }

            let prometheus = try PrometheusServer(in: ns)
            defer { prometheus.stop() }
            func query(_ q: String) throws -> [(labels: [String: String], value: String)] { try prometheus.query(q) }
            var length: [(labels: [String: String], value: String)] = []
            try waitUntil("Prometheus to have scraped backlogd", timeout: 90) {
                length = try query("backlogd_listen_queue_length{port=\"\(port)\",address=\"127.0.0.1\"}")
                return !length.isEmpty
            }
            let ss = SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).first { $0.port == port }
            #expect(ss?.recvQ == 4 && ss?.sendQ == 3)
            #expect(length.count == 1 && length.first?.value == "4", "\(length)")
            #expect(length.first?.labels["address"] == "127.0.0.1" && length.first?.labels["job"] == "backlogd")
            #expect(try query("backlogd_listen_queue_max{port=\"\(port)\",address=\"127.0.0.1\"}").first?.value == "3")
            let up = try query("up{job=\"backlogd\"}")
            #expect(up.count == 1 && up.first?.value == "1", "\(up)")
            // Every listener's series, counters under their _total names (OpenMetrics' samples).
            var counts: [String] = []
            let n = "\(Self.idle + 1)"
            // Some series come with the daemon's first deep look, paced by its CPU budget.
            try? waitUntil("Prometheus to have every listener", timeout: 90) {
                counts = try ["backlogd_listen_queue_length", "backlogd_listen_syn_recv", "backlogd_listen_drops_total",
                              "backlogd_listen_unaccepted_oldest_seconds", "backlogd_listener_info"].map {
                    try query("count(\($0){job=\"backlogd\",port!=\"24519\",port!=\"9090\"})").first?.value ?? "0"
                }
                return counts == [n, "\(4 * (Self.idle + 1))", n, n, n]
            }
            #expect(counts == [n, "\(4 * (Self.idle + 1))", n, n, n], "queue length, syn_recv, drops, unaccepted age, info")
            let samples = try query("scrape_samples_scraped{job=\"backlogd\"}").first.flatMap { Double($0.value) } ?? 0
            #expect(samples > Double(20 * Self.idle), "\(samples)")
        }
    }
}
