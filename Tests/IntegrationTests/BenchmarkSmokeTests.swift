import Foundation
import Testing

/// The benchmark still runs end to end (small N, short): every figure of its
/// summary line is there and finite. Timings are judged in README, not here.
@Suite struct BenchmarkSmokeTests {
    @Test func benchmarkRunsAtSmallScale() throws {
        let bench = URL(fileURLWithPath: backlogdPath()).deletingLastPathComponent().appendingPathComponent("backlogd-bench").path
        let r = try run([bench, "--connections", "300", "--small-connections", "50", "--per-holder", "200",
                         "--cpu-seconds", "1", "--scrapes", "5", "--ticks", "2"], check: false, timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("BENCH_SUMMARY ") })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("BENCH_SUMMARY ".count).utf8)) as? [String: Any])
        for key in ["fast_ratio", "deep_ratio", "scrape_vs_node_p99", "scrape_flatness", "rss_mb", "deep_interval_s", "once_s"] {
            let v = json[key] as? Double
            #expect(v.map { $0.isFinite && $0 > 0 } == true, "\(key) = \(String(describing: json[key]))")
        }
        // CPU over one second can round to 0 clock ticks.
        #expect((json["cpu_fraction"] as? Double).map { $0.isFinite && $0 >= 0 } == true)
        #expect((json["sockets"] as? Double ?? 0) >= 600, "two sockets per connection")
        #expect(r.stdout.contains("node_exporter"))
        // It cleans up after itself: no namespace of this run is left.
        let left = try run(["ip", "netns", "list"]).stdout.split(separator: "\n").filter { $0.hasPrefix("bd-bench-") }
        #expect(left.isEmpty, "\(left)")
    }
}
