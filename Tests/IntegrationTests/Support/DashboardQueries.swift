import Foundation
import Testing

/// config/dashboard.json's queries, checked by Tests/Scripts/dashboard_queries.py (the
/// structure Grafana's import needs) and expanded with the template variables of one
/// listener, each asked of a real Prometheus: a query that returns nothing while a
/// host is hung is a broken panel.
enum DashboardQueries {
    static var repo: String { DebianPackage.repoRoot }

    /// (panel title, refId, expanded query) of every target.
    static func expanded(job: String, instance: String, netns: String, port: String) throws -> [(title: String, refId: String, expr: String)] {
        let r = try run(["/usr/bin/python3", "\(repo)/Tests/Scripts/dashboard_queries.py", "\(repo)/config/dashboard.json",
                         "--var", "job=\(job)", "--var", "instance=\(instance)", "--var", "netns=\(netns)", "--var", "port=\(port)"],
                        check: false)
        guard r.status == 0 else { throw CommandFailed(command: ["dashboard_queries.py"], result: r) }
        return r.stdout.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            return f.count == 4 ? (String(f[2]), String(f[1]), String(f[3])) : nil
        }
    }

    /// Every panel's every query returns at least one series from `prometheus`.
    static func expectData(from prometheus: PrometheusServer, job: String = "backlogd", instance: String, netns: String = "host",
                           port: String) throws {
        let queries = try expanded(job: job, instance: instance, netns: netns, port: port)
        #expect(queries.count >= 10, "\(queries.count) queries")
        for q in queries {
            // Rates need two samples in their window: a few seconds of scrapes at 1 s.
            var result: [(labels: [String: String], value: String)] = []
            try? waitUntil("panel '\(q.title)' \(q.refId) to return data", timeout: 20) {
                result = try prometheus.query(q.expr)
                return !result.isEmpty
            }
            #expect(!result.isEmpty, "panel '\(q.title)' \(q.refId) returns nothing: \(q.expr)")
        }
    }
}
