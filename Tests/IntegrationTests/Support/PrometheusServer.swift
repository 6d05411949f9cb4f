import Foundation

/// A real Prometheus server (Debian package) in a test namespace on
/// 127.0.0.1:9090, scraping backlogd at 127.0.0.1:24519 every second as job
/// `backlogd`; `scrapeConfig`: more lines of that scrape config (`basic_auth: …`).
final class PrometheusServer: @unchecked Sendable {
    let process: BackgroundProcess
    let dir: String
    private let ns: NetNamespace

    convenience init(in ns: NetNamespace, scrapeConfig: String = "") throws {
        let extra = scrapeConfig.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
        try self.init(in: ns, config: { _ in """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: backlogd
                static_configs:
                  - targets: ["127.0.0.1:24519"]
            \(extra)

            """ })
    }

    /// `config`: the whole prometheus.yml, given the server's own directory (for rule and file_sd files).
    init(in ns: NetNamespace, arguments: [String] = [], config: (String) throws -> String) throws {
        self.ns = ns
        dir = temporaryPath("prometheus")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try config(dir).write(toFile: "\(dir)/prometheus.yml", atomically: true, encoding: .utf8)
        process = try BackgroundProcess([
            "prometheus", "--config.file=\(dir)/prometheus.yml", "--storage.tsdb.path=\(dir)/data",
            "--web.listen-address=127.0.0.1:9090",
        ] + arguments, in: ns)
    }

    /// An instant query's result; empty until Prometheus answers. Throws if it exited.
    func query(_ q: String) throws -> [(labels: [String: String], value: String)] {
        if let status = process.poll() { throw DaemonExited(status: status, log: process.log) }
        let encoded = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        guard let reply = try? ns.enter({ try HTTPProbe.get(9090, "/api/v1/query?query=\(encoded)") }), reply.status == 200,
              let json = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { return [] }
        return result.compactMap { r in
            guard let metric = r["metric"] as? [String: String], let value = r["value"] as? [Any], value.count == 2,
                  let v = value[1] as? String else { return nil }
            return (metric, v)
        }
    }

    /// Until Prometheus reports backlogd's target up (90 s at most).
    func waitUntilBacklogdIsUp(_ what: String) throws {
        try waitUntil(what, timeout: 90) { try query("up{job=\"backlogd\"}").first?.value == "1" }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}
