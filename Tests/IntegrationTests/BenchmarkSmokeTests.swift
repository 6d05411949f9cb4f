import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The benchmark still runs end to end (small N, short): every figure of its
/// summary line is there and finite. Timings are judged in README, not here.
@Suite(.serialized) struct BenchmarkSmokeTests {
    @Test func benchmarkRunsAtSmallScale() throws {
        let bench = URL(fileURLWithPath: backlogdPath()).deletingLastPathComponent().appendingPathComponent("backlogd-bench").path
        let r = try run([bench, "--connections", "300", "--small-connections", "50", "--per-holder", "200",
                         "--cpu-seconds", "1", "--scrapes", "5", "--ticks", "2", "--hang-settle-seconds", "2", "--tls-rounds", "2"],
                        check: false, timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("BENCH_SUMMARY ") })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("BENCH_SUMMARY ".count).utf8)) as? [String: Any])
        for key in ["fast_ratio", "deep_ratio", "scrape_vs_node_p99", "scrape_flatness", "rss_mb", "deep_interval_s", "once_s",
                    "hang_to_not_accepting_s", "hang_stopped_s", "hang_traced_s", "hang_no_progress_s", "tls_scrape_p99_s", "tls_vs_plain_p99", "tls_handshake_p50_s", "tls_small_rss_mb"] {
            let v = json[key] as? Double
            #expect(v.map { $0.isFinite && $0 > 0 } == true, "\(key) = \(String(describing: json[key]))")
        }
        // A second of CPU at small scale can round to 0; none of the busy listeners may be judged hung.
        for key in ["busy_cpu_fraction", "busy_accept_slow"] {
            let v = json[key] as? Double
            #expect(v.map { $0.isFinite && $0 >= 0 } == true, "\(key) = \(String(describing: json[key]))")
        }
        // CPU over one second can round to 0 clock ticks.
        #expect((json["cpu_fraction"] as? Double).map { $0.isFinite && $0 >= 0 } == true)
        #expect((json["sockets"] as? Double ?? 0) >= 600, "two sockets per connection")
        #expect(r.stdout.contains("node_exporter"))
        // It cleans up after itself: no namespace of this run is left.
        let left = try leftBehind()
        #expect(left.isEmpty, "\(left)")
    }

    /// The listener axis at small scale: 50 listeners over 3 namespaces; every
    /// figure is printed and finite, every listener was seen, nothing is left.
    @Test func listenerAxisRunsAtSmallScale() throws {
        let bench = URL(fileURLWithPath: backlogdPath()).deletingLastPathComponent().appendingPathComponent("backlogd-bench").path
        let r = try run([bench, "--listeners", "50", "--namespaces", "3", "--listeners-per-holder", "10",
                         "--cpu-seconds", "1", "--warm-up-seconds", "2", "--ticks", "2", "--scrapes", "3"], check: false, timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("BENCH_SUMMARY ") })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("BENCH_SUMMARY ".count).utf8)) as? [String: Any])
        for key in ["fast_tick_cpu_s", "fast_floor_cpu_s", "floor_dumps_cpu_s", "floor_netstat_cpu_s", "fast_ratio", "rss_mb",
                    "fast_ratio_target", "cpu_fraction_target", "rss_mb_target", "deep_interval_s",
                    "scraped_rss_mb", "gzip_p99_s", "identity_p99_s", "node_p99_s", "static_p99_s", "gzip_bytes", "identity_bytes", "node_bytes",
                    "idle_listener_bytes"] {
            let v = json[key] as? Double
            #expect(v.map { $0.isFinite && $0 > 0 } == true, "\(key) = \(String(describing: json[key]))")
        }
        #expect((json["cpu_fraction"] as? Double).map { $0.isFinite && $0 >= 0 } == true)
        #expect((json["scraped_cpu_fraction"] as? Double).map { $0.isFinite && $0 >= 0 } == true)
        // The text body is bigger than its gzip: both were really fetched.
        #expect((json["identity_bytes"] as? Double ?? 0) > 3 * (json["gzip_bytes"] as? Double ?? .infinity))
        // 50 listeners, 3 namespaces: 17 + 17 + 16, two of each (one IPv4, one IPv6) with 2 pending.
        #expect(json["listeners"] as? Double == 50)
        let pending = try #require(json["pending"] as? Double)
        #expect(pending == 12)
        #expect(json["probe_listeners"] as? Double == 50, "the in-process fast tick saw every listener")
        // The daemon also sees its own listener (127.0.0.1:24519 in the first namespace).
        #expect(json["daemon_listeners"] as? Double == 51, "the daemon saw every listener")
        #expect(json["daemon_namespaces"] as? Double == 3)
        for figure in ["fast tick", "floor", "daemon CPU", "peak RSS", "target ≤ 1.5", "target ≤ 2.0 %", "target ≤ 48 MB",
                       "scrape gzip", "scrape identity", "static file", "node_exporter", "idle listener"] {
            #expect(r.stdout.contains(figure), "\(figure) missing: \(r.stdout)")
        }
        let left = try leftBehind()
        #expect(left.isEmpty, "\(left)")
    }

    /// The quiet host at small scale: two runs side by side, a few seconds; every
    /// figure is there and finite, and nothing (namespace, cgroup) is left.
    @Test func idleAxisRunsAtSmallScale() throws {
        let bench = URL(fileURLWithPath: backlogdPath()).deletingLastPathComponent().appendingPathComponent("backlogd-bench").path
        let r = try run([bench, "idle", "--listeners", "3", "--runs", "2", "--seconds", "4", "--scrape-every", "2",
                         "--warm-up-seconds", "1", "--paced-floor-seconds", "2"], check: false, timeout: 180)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").last { $0.hasPrefix("IDLE_SUMMARY ") })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst("IDLE_SUMMARY ".count).utf8)) as? [String: Any])
        for key in ["idle_cpu_fraction", "idle_node_cpu_fraction", "idle_cpu_ratio", "idle_floor_fraction", "idle_paced_floor_fraction",
                    "idle_rss_mb", "idle_node_rss_mb"] {
            let v = json[key] as? Double
            #expect(v.map { $0.isFinite && $0 > 0 } == true, "\(key) = \(String(describing: json[key]))")
        }
        #expect(json["idle_runs"] as? Double == 2)
        for figure in ["run 1:", "run 2:", "node_exporter", "floor", "paced every 250 ms", "target ≤ 0.100 %"] {
            #expect(r.stdout.contains(figure), "\(figure) missing: \(r.stdout)")
        }
        let left = try leftBehind()
        #expect(left.isEmpty, "\(left)")
        // Where the benchmark makes its cgroups (the v2 hierarchy, or v1's cpuacct).
        let roots = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct"]
        let cgroups = roots.flatMap { root in
            ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("bd-bench-") && $0.contains("-idle") }
        }
        #expect(cgroups.filter { name in
            let pid = Int32(name.split(separator: "-")[2]) ?? 0
            return kill(pid, 0) != 0 && errno == ESRCH
        }.isEmpty, "cgroups left: \(cgroups)")
    }

    /// Benchmark namespaces (bd-bench-PID-…) whose benchmark has exited: after a
    /// run, its own would be among them. Those of a benchmark still running (a
    /// measurement on the same machine) are not.
    func leftBehind() throws -> [String] {
        try run(["ip", "netns", "list"]).stdout.split(separator: "\n").compactMap { line in
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard name.hasPrefix("bd-bench-"), parts.count >= 3, let pid = Int32(parts[2]) else { return nil }
            return kill(pid, 0) != 0 && errno == ESRCH ? name : nil
        }
    }

    /// The basic-auth timing script (Tests/Scripts/auth_timing.py) still runs: at
    /// cost 4 with a few samples, one line per cost, known and unknown overlapping.
    @Test func authTimingRunsAtSmallCost() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Scripts/auth_timing.py").standardized.path
        let r = try run(["python3", script, "--backlogd", backlogdPath(), "--costs", "4", "--samples", "8"], check: false, timeout: 120)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("AUTH_TIMING ") })
        #expect(line.contains("\"cost\": 4") && line.contains("\"overlap\": true"), "\(line)")
    }
}
