import Foundation

/// The quiet host's figures: each run and the medians, against node_exporter
/// and the dump floor measured beside them, the targets of issue 32, and one
/// machine-readable line.
struct IdleReport {
    static let cpuTarget = 0.001, nodeRatioTarget = 2.0

    var samples: [Idle.Sample]
    var listeners: Int
    var seconds: Double
    var scrapeEvery: Double
    var how = ""

    func median(_ k: KeyPath<Idle.Sample, Double>) -> Double { percentile(samples.map { $0[keyPath: k] }, 0.5) }
    func pct(_ f: Double) -> String { String(format: "%.3f %%", f * 100) }
    func mb(_ m: Double) -> String { String(format: "%.1f MB", m) }
    func verdict(_ ok: Bool) -> String { ok ? "met" : "NOT MET" }

    var text: String {
        let cpu = median(\.backlogd), node = median(\.node), floor = median(\.floor), paced = median(\.pacedFloor)
        let rss = median(\.backlogdRSS), nodeRSS = median(\.nodeRSS)
        let ratio = cpu / node
        var out = "backlogd benchmark, quiet host — \(Machine.describe())\n"
        out += "\(listeners) idle TCP listeners per namespace, \(samples.count) runs side by side, each scraped with gzip every "
        out += "\(Int(scrapeEvery)) s, CPU over \(Int(seconds)) s (\(how))\n\n"
        for (i, s) in samples.enumerated() {
            out += "run \(i + 1): backlogd \(pct(s.backlogd)) \(mb(s.backlogdRSS))   node_exporter \(pct(s.node)) \(mb(s.nodeRSS))   floor \(pct(s.floor)), paced \(pct(s.pacedFloor))\n"
        }
        out += "\nCPU        backlogd \(pct(cpu)) of one core (median)   (target ≤ \(pct(Self.cpuTarget)): \(verdict(cpu <= Self.cpuTarget)))\n"
        out += "           node_exporter \(pct(node)), all default collectors: ratio \(String(format: "%.2f", ratio))   "
        out += "(target ≤ \(Self.nodeRatioTarget)×: \(verdict(ratio <= Self.nodeRatioTarget)))\n"
        out += "           floor: backlogd-floor's LISTEN + UNIX dumps, 4 a second: \(pct(floor)) back to back; \(pct(paced)) "
        out += "paced every 250 ms by one sleeping thread (its wake-ups included): backlogd = \(String(format: "%.2f", cpu / paced)) × that\n"
        out += "RSS        backlogd \(mb(rss))   node_exporter \(mb(nodeRSS))   (target ≤ node_exporter's: \(verdict(rss <= nodeRSS)))\n"
        let summary: [String: Double] = [
            "idle_cpu_fraction": cpu, "idle_node_cpu_fraction": node, "idle_cpu_ratio": ratio, "idle_floor_fraction": floor, "idle_paced_floor_fraction": paced,
            "idle_rss_mb": rss, "idle_node_rss_mb": nodeRSS, "idle_listeners": Double(listeners), "idle_seconds": seconds,
            "idle_runs": Double(samples.count),
        ]
        let json = summary.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value.isFinite ? String($0.value) : "null")" }
        out += "IDLE_SUMMARY {\(json.joined(separator: ", "))}\n"
        return out
    }
}
