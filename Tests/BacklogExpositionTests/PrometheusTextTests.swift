import BacklogCore
import BacklogExposition
import Testing

@Suite struct PrometheusTextTests {
    @Test func escapingOfLabelValuesAndHelp() {
        #expect(PrometheusText.escapeLabelValue(#"a"b\c"# + "\nd") == #"a\"b\\c\nd"#)
        #expect(PrometheusText.escapeLabelValue("plain") == "plain")
        #expect(PrometheusText.escapeHelp("x\\y\nz \"q\"") == "x\\\\y\\nz \"q\"")
    }

    @Test func valuesAreSpelledCanonically() {
        #expect(PrometheusText.format(.double(.infinity)) == "+Inf")
        #expect(PrometheusText.format(.double(-.infinity)) == "-Inf")
        #expect(PrometheusText.format(.double(.nan)) == "NaN")
        #expect(PrometheusText.format(.double(3)) == "3")
        #expect(PrometheusText.format(.double(0.25)) == "0.25")
        #expect(PrometheusText.format(.uint(UInt64.max)) == "18446744073709551615")
        #expect(PrometheusText.format(.int(-1)) == "-1")
    }

    @Test func familiesSortedMergedAndSeriesUnique() {
        let text = PrometheusText.render([
            MetricFamily("b_metric", .gauge, help: "B.", samples: [Sample([("x", "1")], .int(1)), Sample([("x", "1")], .int(2))]),
            MetricFamily("a_total", .counter, help: "A.", samples: [Sample([], .uint(7))]),
            MetricFamily("b_metric", .gauge, help: "B again.", samples: [Sample([("x", "2")], .int(3))]),
        ])
        #expect(text == """
            # HELP a_total A.
            # TYPE a_total counter
            a_total 7
            # HELP b_metric B.
            # TYPE b_metric gauge
            b_metric{x="1"} 1
            b_metric{x="2"} 3

            """)
    }

    @Test func snapshotFamiliesAndLabelOrder() {
        let l = Listener(family: .unix, address: "/run/\"x\"\n.sock", port: nil, inode: 9, queueLength: 4, queueMax: 3)
        let snap = Snapshot(
            timestamp: 0, windowSeconds: 0, listeners: [l],
            netstat: NetstatCounters(sections: ["TcpExt": ["ListenOverflows": 12, "ListenDrops": 13]]),
            sysctls: ["net.core.somaxconn": 4096],
            sources: [SourceStatus(name: "tcp", up: true, durationSeconds: 0.5)],
            findings: QueueFindings.evaluate(listeners: [l], somaxconn: 4096))
        let text = MetricsRenderer.render(Publication(snapshots: [snap]), version: "9.9")
        let labels = #"netns="host",family="unix",address="/run/\"x\"\n.sock",port="",socket="0",process="",unit="""#
        #expect(text.contains("backlogd_listen_queue_length{\(labels)} 4\n"))
        #expect(text.contains("backlogd_listen_queue_max{\(labels)} 3\n"))
        #expect(text.contains("backlogd_finding{\(labels),kind=\"accept_queue_full\",severity=\"warning\"} 1\n"))
        #expect(text.contains("backlogd_tcp_listen_overflows_total{netns=\"host\"} 12\n"))
        #expect(text.contains("backlogd_tcp_listen_drops_total{netns=\"host\"} 13\n"))
        // A counter the kernel did not report is absent, not zero.
        #expect(!text.contains("backlogd_tcp_syncookies_sent_total"))
        #expect(text.contains("# HELP backlogd_tcp_listen_overflows_total TcpExt ListenOverflows"))
        #expect(text.contains("backlogd_build_info{version=\"9.9\"} 1\n"))
        #expect(text.contains("backlogd_collect_duration_seconds{netns=\"host\",source=\"tcp\"} 0.5\n"))
    }

    @Test func tableShowsFullAndEscapesControlCharacters() {
        let l = Listener(family: .inet, address: "127.0.0.1", port: 8080, inode: 1, queueLength: 5, queueMax: 4)
        let evil = Listener(family: .unix, address: "/tmp/a\nFAKE LINE", port: nil, inode: 2, queueLength: 0, queueMax: 1)
        let snap = Snapshot(timestamp: 0, windowSeconds: 1, listeners: [l, evil], netstat: nil, sysctls: [:],
                            sources: [], findings: QueueFindings.evaluate(listeners: [l], somaxconn: nil))
        let table = TableRenderer.render(snap, version: "t")
        #expect(table.contains("WARNING  127.0.0.1:8080: accept queue full 5/4"))
        #expect(table.split(separator: "\n").contains { $0.hasPrefix("tcp") && $0.contains("127.0.0.1:8080") && $0.hasSuffix("FULL") })
        #expect(table.contains("/tmp/a\\x0aFAKE LINE"))
        #expect(!table.contains("\nFAKE LINE"))
        #expect(OnceExitStatus.of(snap) == 1)
    }
}
