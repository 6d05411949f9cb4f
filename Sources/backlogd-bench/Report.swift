import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The figures of a run, the ratios against the references measured in the
/// same run, the targets of the budget, and one machine-readable line.
struct Report {
    var machine = ""
    var sockets = 0
    var smallSockets = 0
    var fastTick = Double.nan, fastFloor = Double.nan
    var deepTick = Double.nan, deepFloor = Double.nan
    var once = Double.nan
    var fastParts = (listeners: Double.nan, netstat: Double.nan, sysctls: Double.nan, tick: Double.nan)
    var scrapeP50 = Double.nan, scrapeP99 = Double.nan, smallScrapeP99 = Double.nan
    var nodeP50 = Double.nan, nodeP99 = Double.nan
    var daemonRSS = Double.nan, nodeRSS = Double.nan
    var cpuFraction = Double.nan
    var deepInterval = Double.nan
    var hang = HangMeasure()
    /// Seconds to not_accepting by hang kind (stopped, traced, no_progress); the idle kind is `hang`.
    var hangKinds: [String: Double] = [:]
    /// The daemon's CPU (fraction of a core) with 50 busy listeners, and how many of them were accept_slow
    /// at the end (negative: that many were wrongly not_accepting).
    var busyCPU = Double.nan
    var busySlow = Double.nan
    var smallRSS = Double.nan
    var tlsSmall = TLSFigures(), tls = TLSFigures()

    var fastRatio: Double { fastTick / fastFloor }
    var deepRatio: Double { deepTick / deepFloor }
    var scrapeVsNode: Double { scrapeP99 / nodeP99 }
    var flatness: Double { scrapeP99 / smallScrapeP99 }

    func ms(_ s: Double) -> String { String(format: "%.3f ms", s * 1000) }
    func verdict(_ ok: Bool) -> String { ok ? "met" : "NOT MET" }

    var text: String {
        var out = "backlogd benchmark — \(machine)\n"
        out += "sockets: \(sockets) TCP in the big namespace, \(smallSockets) in the small one\n\n"
        out += "fast tick   \(ms(fastTick))   floor \(ms(fastFloor))   ratio \(String(format: "%.2f", fastRatio))   (target ≤ 1.2: \(verdict(fastRatio <= 1.2)))\n"
        out += "            parts: listener dumps \(ms(fastParts.listeners)), /proc/net/netstat \(ms(fastParts.netstat)), sysctls \(ms(fastParts.sysctls)) (read every 10 s); tick in the same loop \(ms(fastParts.tick))\n"
        out += "deep tick   \(ms(deepTick))   floor \(ms(deepFloor))   ratio \(String(format: "%.2f", deepRatio))   (target ≤ 1.2: \(verdict(deepRatio <= 1.2)))\n"
        out += "--once      \(ms(once)) per process (window 0)\n"
        out += "scrape p50  \(ms(scrapeP50))   node_exporter \(ms(nodeP50))\n"
        out += "scrape p99  \(ms(scrapeP99))   node_exporter \(ms(nodeP99))   ratio \(String(format: "%.4f", scrapeVsNode))   (target ≤ 0.01: \(verdict(scrapeVsNode <= 0.01)))\n"
        out += "scrape p99 at \(sockets) vs \(smallSockets) sockets: \(ms(scrapeP99)) vs \(ms(smallScrapeP99))   ratio \(String(format: "%.2f", flatness))   (target ≤ 1.5: \(verdict(flatness <= 1.5)))\n"
        out += "peak RSS    backlogd \(String(format: "%.1f", daemonRSS)) MB   node_exporter \(String(format: "%.1f", nodeRSS)) MB   (target ≤ 30 MB: \(verdict(daemonRSS <= 30)))\n"
        out += "TLS scrape  p99 \(ms(tls.tlsP99)) (p50 \(ms(tls.tlsP50))) on a kept-alive connection, plain \(ms(tls.plainP99)) (p50 \(ms(tls.plainP50))), both by curl, gzip   ratio \(String(format: "%.2f", tls.ratio))   (target ≤ 2: \(verdict(tls.ratio <= 2)))\n"
        out += "            handshake p50 \(ms(tls.handshakeP50)) p99 \(ms(tls.handshakeP99)) on a new connection, \(TLSFigures.keyType); small scale: TLS p99 \(ms(tlsSmall.tlsP99)) vs plain \(ms(tlsSmall.plainP99))\n"
        out += "            peak RSS with TLS at \(smallSockets) sockets \(String(format: "%.1f", tlsSmall.rss)) MB (plain daemon \(String(format: "%.1f", smallRSS)) MB)   (target ≤ 30 MB: \(verdict(tlsSmall.rss <= 30))); at \(sockets) \(String(format: "%.1f", tls.rss)) MB\n"
        out += "daemon CPU  \(String(format: "%.2f", cpuFraction * 100)) % of one core at default settings, deep interval \(String(format: "%.2f", deepInterval)) s   (target ≤ 2 %: \(verdict(cpuFraction <= 0.02)))\n"
        out += "hang        not_accepting on /metrics \(String(format: "%.1f", hang.seconds)) s after a server stopped calling accept()   (target ≤ 10 s: \(verdict(hang.seconds <= 10)))\n"
        out += "            daemon CPU \(String(format: "%.2f", hang.cpuHealthy * 100)) % before (a healthy server, nothing stuck; deep interval \(String(format: "%.2f", hang.deepIntervalHealthy)) s), \(String(format: "%.2f", hang.cpuHung * 100)) % from the hang on   (target ≤ 2 %: \(verdict(max(hang.cpuHealthy, hang.cpuHung) <= 0.02)))\n"
        let kinds = ["stopped", "traced", "no_progress"].map { k in "\(k) \(hangKinds[k].map { String(format: "%.1f", $0) } ?? "-") s" }
        out += "            other hangs: \(kinds.joined(separator: ", "))   (targets: stopped/traced ≤ 5 s, no progress ≤ hung_after + 3 s = 13 s: \(verdict((hangKinds["stopped"] ?? 99) <= 5 && (hangKinds["traced"] ?? 0) <= 5 && (hangKinds["no_progress"] ?? 99) <= 13)))\n"
        out += "busy        daemon CPU \(String(format: "%.2f", busyCPU * 100)) % with 50 busy listeners (queues always waiting, the queue moving); accept_slow on \(busySlow < 0 ? "-" : String(Int(busySlow))) of 50\(busySlow < 0 ? ", \(Int(-busySlow)) WRONGLY not_accepting" : "")   (target ≤ 2 %: \(verdict(busyCPU <= 0.02 && busySlow >= 0)))\n"
        let fields: [(String, Double)] = [
            ("sockets", Double(sockets)), ("fast_tick_s", fastTick), ("fast_floor_s", fastFloor), ("fast_ratio", fastRatio),
            ("deep_tick_s", deepTick), ("deep_floor_s", deepFloor), ("deep_ratio", deepRatio), ("once_s", once),
            ("scrape_p50_s", scrapeP50), ("scrape_p99_s", scrapeP99), ("node_p50_s", nodeP50), ("node_p99_s", nodeP99),
            ("scrape_vs_node_p99", scrapeVsNode), ("small_sockets", Double(smallSockets)), ("small_scrape_p99_s", smallScrapeP99),
            ("scrape_flatness", flatness), ("rss_mb", daemonRSS), ("node_rss_mb", nodeRSS), ("cpu_fraction", cpuFraction),
            ("deep_interval_s", deepInterval), ("hang_to_not_accepting_s", hang.seconds), ("cpu_fraction_healthy", hang.cpuHealthy),
            ("cpu_fraction_hung", hang.cpuHung), ("deep_interval_healthy_s", hang.deepIntervalHealthy),
            ("hang_stopped_s", hangKinds["stopped"] ?? .nan), ("hang_traced_s", hangKinds["traced"] ?? .nan),
            ("hang_no_progress_s", hangKinds["no_progress"] ?? .nan), ("busy_cpu_fraction", busyCPU), ("busy_accept_slow", busySlow),
            ("tls_scrape_p99_s", tls.tlsP99), ("tls_plain_scrape_p99_s", tls.plainP99), ("tls_vs_plain_p99", tls.ratio),
            ("tls_handshake_p50_s", tls.handshakeP50), ("tls_handshake_p99_s", tls.handshakeP99),
            ("small_rss_mb", smallRSS), ("tls_small_rss_mb", tlsSmall.rss), ("tls_rss_mb", tls.rss),
        ]
        let json = fields.map { "\"\($0.0)\":\($0.1.isFinite ? String(format: "%.6g", $0.1) : "null")" }.joined(separator: ",")
        out += "BENCH_SUMMARY {\(json)}"
        return out
    }
}

enum Machine {
    static func describe() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(sysconf(Int32(_SC_NPROCESSORS_ONLN))) × \(model), Linux \(release)"
    }
}
