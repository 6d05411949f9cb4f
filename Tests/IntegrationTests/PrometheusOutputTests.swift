import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--format prometheus` against promtool and against what it must contain:
/// promtool alone accepts empty output and misses wrong values.
@Suite struct PrometheusOutputTests {
    @Test func passesPromtoolAndCarriesTheNumbers() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            // An untrusted name: quote, backslash, newline and an invalid UTF-8 byte.
            let hostile: [UInt8] = [0] + Array("bd-\"q\\b\nx".utf8) + [0xFF] + Array(".sock-\(getpid())".utf8)
            let port = try ns.enter {
                let l = try TestSockets.listenTCP("127.0.0.1", backlog: 2, bag: bag)
                for _ in 0..<5 { _ = try TestSockets.connectTCP("127.0.0.1", port: l.port, bag: bag) }
                _ = try TestSockets.listenUnix(bytes: hostile, backlog: 7, bag: bag)
                return l.port
            }
            try waitUntil("the queue to hold 3") {
                SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).first { $0.port == port }?.recvQ == 3
            }
            let result = try ns.exec([backlogdPath(), "--once", "--format", "prometheus", "--window", "0"], check: false)
            #expect(result.status == 1, "a full queue is a warning")
            let text = result.stdout

            let file = FileManager.default.temporaryDirectory.appendingPathComponent("bd-metrics-\(UUID().uuidString)")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let promtool = try run(["sh", "-c", "promtool check metrics < '\(file.path)'"], check: false)
            #expect(promtool.status == 0, "promtool: \(promtool.stdout) \(promtool.stderr)")

            // The test process holds the sockets: it is their owner.
            let me = SelfProcess.labels
            let labels = "netns=\"host\",family=\"inet\",address=\"127.0.0.1\",port=\"\(port)\",socket=\"0\",\(me)"
            let lines = Set(text.split(separator: "\n").map(String.init))
            #expect(lines.contains("backlogd_listen_queue_length{\(labels)} 3"))
            #expect(lines.contains("backlogd_listen_queue_max{\(labels)} 2"))
            #expect(lines.contains("backlogd_listen_queue_peak{\(labels)} 3"))
            #expect(lines.contains("backlogd_finding{\(labels),kind=\"accept_queue_full\",severity=\"warning\"} 1"))
            let escaped = "address=\"@bd-\\\"q\\\\b\\nx\u{FFFD}.sock-\(getpid())\""
            #expect(lines.contains("backlogd_listen_queue_max{netns=\"host\",family=\"unix\",\(escaped),port=\"\",socket=\"0\",\(me)} 7"),
                    "escaped unix name in \(text)")
            #expect(lines.contains { $0.hasPrefix("backlogd_tcp_listen_overflows_total{netns=\"host\"} ") && !$0.hasSuffix(" 0") })
            #expect(lines.contains("backlogd_sysctl{netns=\"host\",name=\"net.core.somaxconn\"} 4096"))
            for source in ["tcp", "unix", "netstat", "sysctl"] {
                #expect(lines.contains("backlogd_source_up{netns=\"host\",source=\"\(source)\"} 1"))
            }
            // Every family once, with HELP and TYPE, in sorted order; no duplicate series.
            let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
            #expect(types == types.sorted() && Set(types).count == types.count)
            for family in ["backlogd_listen_queue_length", "backlogd_listen_queue_max", "backlogd_listen_queue_peak",
                           "backlogd_tcp_listen_overflows_total", "backlogd_tcp_listen_drops_total",
                           "backlogd_tcp_syn_queue_drops_total", "backlogd_tcp_syn_queue_cookies_total",
                           "backlogd_tcp_syncookies_sent_total", "backlogd_tcp_syncookies_recv_total",
                           "backlogd_tcp_syncookies_failed_total", "backlogd_tcp_defer_accept_drops_total",
                           "backlogd_sysctl", "backlogd_finding", "backlogd_collect_duration_seconds",
                           "backlogd_collect_errors_total", "backlogd_source_up", "backlogd_build_info"] {
                #expect(types.contains(Substring(family)), "missing family \(family)")
                #expect(text.contains("# HELP \(family) "))
            }
            let samples = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").dropLast().joined() }
            #expect(Set(samples).count == samples.count)
        }
    }
}
