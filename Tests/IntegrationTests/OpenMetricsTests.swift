import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The daemon answers a scraper that asks for OpenMetrics (Prometheus' own
/// Accept header) with OpenMetrics 1.0.0, plain and gzip, that the strict
/// parser of python3-prometheus-client accepts, with the same samples as the
/// text format that promtool accepts; a client that does not ask gets text.
@Suite struct OpenMetricsTests {
    static let prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// Families and samples as the OpenMetrics parser reads them (exit 1 with its message when it refuses).
    static func parseOpenMetrics(_ text: String) throws -> (families: Int, samples: Set<String>) {
        let file = temporaryPath("om")
        defer { unlink(file) }
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        // /usr/bin/python3: Debian's, which has the package (a pyenv python3 may come first on PATH).
        let script = """
            import sys
            from prometheus_client.openmetrics.parser import text_string_to_metric_families
            fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
            print(len(fams))
            for f in fams:
                for s in f.samples:
                    print(s.name + "|" + ",".join(k + "=" + repr(v) for k, v in sorted(s.labels.items())))
            """
        let r = try run(["/usr/bin/python3", "-c", script, file])
        let lines = r.stdout.split(separator: "\n")
        return (Int(lines.first ?? "") ?? 0, Set(lines.dropFirst().map(String.init)))
    }

    @Test func openMetricsWhenAskedTextOtherwise() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter {
                for _ in 0..<20 { _ = try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
                let l = try TestSockets.listenTCP("::1", backlog: 2, bag: bag)
                for _ in 0..<4 { _ = try TestSockets.connectTCP("::1", port: l.port, bag: bag) }
            }
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            try waitUntil("the listeners on /metrics") { try scrape(ns).text.contains("address=\"::1\"") }

            // The bodies below are compared series by series, and each is a scrape of its own:
            // while the first deep looks add series (owners, connections, not_accepting) two
            // scrapes a moment apart may differ. Scraped again until they agree, then judged.
            var om = HTTPReply(status: 0, headers: [:], body: [])
            var gz = om
            var text = om
            var inflated = ""
            var plain: (families: Int, samples: Set<String>) = (0, [])
            var zipped = plain
            var textSeries: Set<String> = []
            let file = temporaryPath("omgz")
            defer { unlink(file) }
            do {
                try waitUntil("OpenMetrics, gzip and text bodies of the same series") {
                    om = try scrape(ns, headers: ["Accept": Self.prometheusAccept])
                    gz = try scrape(ns, headers: ["Accept": Self.prometheusAccept, "Accept-Encoding": "gzip"])
                    text = try scrape(ns)
                    try Data(gz.body).write(to: URL(fileURLWithPath: file))
                    inflated = try run(["gzip", "-dc", file]).stdout
                    plain = try Self.parseOpenMetrics(om.text)
                    zipped = try Self.parseOpenMetrics(inflated)
                    textSeries = Set(text.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line -> String in
                        String(line[..<(line.lastIndex(of: " ") ?? line.endIndex)])
                    })
                    return plain.samples == zipped.samples && textSeries.count == plain.samples.count
                }
            } catch is TimedOut {
                // Judged below on the last three, which say how they differ.
            }
            #expect(om.status == 200)
            #expect(om.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            #expect(om.text.hasSuffix("\n# EOF\n"), "\(om.text.suffix(80))")
            #expect(om.text.contains("# TYPE backlogd_listen_drops counter\n"))
            #expect(om.text.contains("\nbacklogd_listen_drops_total{"))
            #expect(om.headers["vary"] == "Accept, Accept-Encoding")

            #expect(gz.headers["content-encoding"] == "gzip")
            #expect(gz.headers["content-type"] == om.headers["content-type"])
            #expect(inflated.hasSuffix("\n# EOF\n"))

            #expect(text.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(!text.text.contains("# EOF"))
            #expect(try scrape(ns, headers: ["Accept": "text/plain;version=0.0.4"]).headers["content-type"] == text.headers["content-type"])
            let check = temporaryPath("prom")
            defer { unlink(check) }
            try text.text.write(toFile: check, atomically: true, encoding: .utf8)
            let promtool = try run(["sh", "-c", "promtool check metrics < '\(check)'"], check: false)
            #expect(promtool.status == 0, "promtool: \(promtool.stdout) \(promtool.stderr)")

            // Both OpenMetrics bodies parse; their series are the text body's (values move between scrapes).
            #expect(plain.families > 30 && plain.families == zipped.families)
            #expect(plain.samples == zipped.samples)
            #expect(textSeries.count == plain.samples.count, "text \(textSeries.count), OpenMetrics \(plain.samples.count)")
            #expect(plain.samples.contains { $0.hasPrefix("backlogd_listen_queue_length|") && $0.contains("address='::1'") })
        }
    }
}
