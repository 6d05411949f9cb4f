import Foundation

/// The listener axis's figures, the ratio against the floor measured in the
/// same run, the targets of issue 13, and one machine-readable line.
struct ListenerReport {
    static let fastTarget = 1.5, cpuTarget = 0.02, rssTarget = 48.0
    static let gzipP99Target = 0.100, identityP99Target = 0.050, idleBytesTarget = 2000.0

    var machine = ""
    var listeners = 0, namespaces = 0, pending = 0
    var floorDumps = Double.nan, floorNetstat = Double.nan, floorDumpsWall = Double.nan
    var fastTick = Double.nan, fastRoundWall = Double.nan
    var probeListeners = 0
    /// Rounds of fast ticks timed.
    var ticks = 0
    var cpuFraction = Double.nan, daemonRSS = Double.nan
    var daemonThreads = 0, daemonListeners = 0, daemonNamespaces = 0
    var deepInterval = Double.nan
    var scrape = ListenerScrapes()
    var memoryLimit = "", oomKills = 0, alive = false

    /// Per tick: every namespace's dumps, and its counters read once in four ticks.
    var fastFloor: Double { floorDumps + floorNetstat / 4 }
    var fastRatio: Double { fastTick / fastFloor }

    /// Issue 32: 48 MB at 5 000 listeners, 64 MB at 8 000, whatever the clients ask.
    var scrapedRSSTarget: Double { listeners > 6000 ? 64 : 48 }

    func ms(_ s: Double) -> String { String(format: "%.3f ms", s * 1000) }
    func verdict(_ ok: Bool) -> String { ok ? "met" : "NOT MET" }

    var text: String {
        var out = "backlogd benchmark, listener axis — \(machine)\n"
        out += "listeners: \(listeners) over \(namespaces) namespace(s), IPv4 and IPv6 alternately, \(pending) connections pending unaccepted; "
        out += "the fast tick saw \(probeListeners), the daemon \(daemonListeners) (its own included) in \(daemonNamespaces) namespace(s)\n\n"
        out += "fast tick   \(ms(fastTick)) CPU   floor \(ms(fastFloor)) CPU   ratio \(String(format: "%.2f", fastRatio))   (target ≤ \(Self.fastTarget): \(verdict(fastRatio <= Self.fastTarget)))\n"
        out += "            backlogd in-process: BacklogCore's fast tick on a NetnsThread per namespace, all namespaces at once per round\n"
        out += "            as the daemon does, mean over \(ticks) rounds 250 ms apart on the tick's clock (counters every 4th, sysctls every 40th);\n"
        out += "            CPU time of the ticking threads, summed over namespaces; a round took \(ms(fastRoundWall)) wall\n"
        out += "            floor: backlogd-floor in each namespace, summed: LISTEN + UNIX dumps \(ms(floorDumps)) (\(ms(floorDumpsWall)) wall) + /proc/net/netstat read \(ms(floorNetstat)) / 4\n"
        out += "daemon CPU  \(String(format: "%.2f", cpuFraction * 100)) % of one core, default settings, no scrapes, deep tick included   (target ≤ \(Self.cpuTarget * 100) %: \(verdict(cpuFraction <= Self.cpuTarget)))\n"
        out += "            = \(ms(cpuFraction * 0.25)) of CPU per 250 ms tick, all included; \(daemonThreads) threads; longest deep interval \(String(format: "%.2f", deepInterval)) s\n"
        out += "peak RSS    \(String(format: "%.1f", daemonRSS)) MB (VmHWM), no scrapes   (target ≤ \(Int(Self.rssTarget)) MB: \(verdict(daemonRSS <= Self.rssTarget)))\n"
        let x = scrape
        out += "\nexposition (the same daemon afterwards; issue 17's targets)\n"
        out += "daemon CPU  \(String(format: "%.2f", x.cpuFraction * 100)) % of one core with one scrape every \(Int(ListenerScrapes.interval)) s as Prometheus asks (OpenMetrics, gzip), steady state (one scrape before)   (target ≤ 2 %: \(verdict(x.cpuFraction <= 0.02)))\n"
        out += "            of which the HTTP threads (event loop, render thread): \(String(format: "%.3f", x.httpCPUFraction * 100)) %; the rest is collection, as in the unscraped figure above\n"
        out += "peak RSS    \(String(format: "%.1f", x.rss)) MB (VmHWM) then   (target ≤ \(Int(scrapedRSSTarget)) MB: \(verdict(x.rss <= scrapedRSSTarget))); \(String(format: "%.1f", x.rssAfterConcurrent)) MB after the concurrent scrapes below\n"
        out += "            \(String(format: "%.1f", x.rssEveryEndpoint)) MB after every endpoint (/metrics text and OpenMetrics, /snapshot, /; each plain and gzip) 3 rounds, then 4 clients at once   (target ≤ \(Int(scrapedRSSTarget)) MB: \(verdict(x.rssEveryEndpoint <= scrapedRSSTarget)))\n"
        out += "            memory limit \(memoryLimit): \(alive ? "alive" : "EXITED"), \(oomKills) OOM kills\n"
        out += "scrape gzip      p50 \(ms(x.gzipP50))  p99 \(ms(x.gzipP99))   4 concurrent × \(x.scrapes), OpenMetrics as Prometheus asks, body \(x.gzipBytes) B   (target p99 ≤ 100 ms: \(verdict(x.gzipP99 <= Self.gzipP99Target)))\n"
        out += "scrape identity  p50 \(ms(x.identityP50))  p99 \(ms(x.identityP99))   4 concurrent × \(x.scrapes), text 0.0.4, body \(x.identityBytes) B   (target p99 ≤ 50 ms: \(verdict(x.identityP99 <= Self.identityP99Target)))\n"
        out += "static file      p50 \(ms(x.staticP50))  p99 \(ms(x.staticP99))   nginx (sendfile) serving that text body, 4 concurrent × \(x.scrapes); identity p99 ratio \(String(format: "%.2f", x.identityP99 / x.staticP99))\n"
        out += "node_exporter    p50 \(ms(x.nodeP50))  p99 \(ms(x.nodeP99))   same namespace, tcpstat + netstat, gzip body \(x.nodeBytes) B; gzip p99 ratio \(String(format: "%.3f", x.gzipP99 / x.nodeP99))\n"
        out += "idle listener    \(String(format: "%.0f", x.idleListenerBytes)) B of lines each (text, mean over \(x.idleListeners))   (target ≤ 2000 B: \(verdict(x.idleListenerBytes <= Self.idleBytesTarget)))\n"
        let fields: [(String, Double)] = [
            ("listeners", Double(listeners)), ("namespaces", Double(namespaces)), ("pending", Double(pending)),
            ("probe_listeners", Double(probeListeners)), ("daemon_listeners", Double(daemonListeners)),
            ("daemon_namespaces", Double(daemonNamespaces)),
            ("fast_tick_cpu_s", fastTick), ("fast_round_wall_s", fastRoundWall),
            ("floor_dumps_cpu_s", floorDumps), ("floor_dumps_wall_s", floorDumpsWall), ("floor_netstat_cpu_s", floorNetstat), ("fast_floor_cpu_s", fastFloor),
            ("fast_ratio", fastRatio), ("fast_ratio_target", Self.fastTarget),
            ("cpu_fraction", cpuFraction), ("cpu_fraction_target", Self.cpuTarget),
            ("rss_mb", daemonRSS), ("rss_mb_target", Self.rssTarget), ("deep_interval_s", deepInterval),
            ("scraped_cpu_fraction", x.cpuFraction), ("scraped_http_cpu_fraction", x.httpCPUFraction), ("scraped_rss_mb", x.rss), ("rss_after_concurrent_mb", x.rssAfterConcurrent),
            ("rss_every_endpoint_mb", x.rssEveryEndpoint), ("oom_kills", Double(oomKills)), ("alive", alive ? 1 : 0),
            ("gzip_p50_s", x.gzipP50), ("gzip_p99_s", x.gzipP99), ("gzip_p99_target_s", Self.gzipP99Target),
            ("identity_p50_s", x.identityP50), ("identity_p99_s", x.identityP99), ("identity_p99_target_s", Self.identityP99Target),
            ("node_p50_s", x.nodeP50), ("node_p99_s", x.nodeP99), ("static_p50_s", x.staticP50), ("static_p99_s", x.staticP99),
            ("gzip_bytes", Double(x.gzipBytes)), ("identity_bytes", Double(x.identityBytes)), ("node_bytes", Double(x.nodeBytes)),
            ("idle_listener_bytes", x.idleListenerBytes), ("idle_listener_bytes_target", Self.idleBytesTarget),
        ]
        let json = fields.map { "\"\($0.0)\":\($0.1.isFinite ? String(format: "%.6g", $0.1) : "null")" }.joined(separator: ",")
        out += "BENCH_SUMMARY {\(json)}"
        return out
    }

}
