import Foundation

/// What a load balancer and an operator would have seen of one listener, sampled
/// every half second: the findings on /metrics, /probe's answers, the agent's.
struct BusyWatch: CustomStringConvertible {
    var samples = 0
    var slow = 0
    var critical = 0
    var probe503 = 0
    var agentDown = 0
    var weights: [Int] = []
    var seen: [String] = []

    var description: String {
        "\(samples) samples: accept_slow in \(slow), not_accepting in \(critical), /probe 503 in \(probe503), agent down in \(agentDown); weights \(Set(weights).sorted()); \(seen.prefix(3))"
    }

    static let agentPort: UInt16 = 24520

    /// Samples for `seconds`: `labels` select the listener's series, `probe` is /probe's query,
    /// `agent` the agent-send text (nil: no agent asked).
    static func watch(_ ns: NetNamespace, seconds: Double, labels: [String: String], probe: String, agent: String?) throws -> BusyWatch {
        var w = BusyWatch()
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            w.samples += 1
            let text = try scrape(ns).text
            if MetricsText.value(text, "backlogd_finding", labels.merging(["kind": "not_accepting"]) { $1 }) == 1 {
                w.critical += 1
                if let doc = try? OnceDocument.decode(try scrape(ns, "/snapshot").text) {
                    w.seen += doc.findings("not_accepting").map(\.message)
                }
            }
            if MetricsText.value(text, "backlogd_finding", labels.merging(["kind": "accept_slow"]) { $1 }) == 1 { w.slow += 1 }
            let p = try ns.enter { try HTTPProbe.get(24519, "/probe?\(probe)") }
            if p.status == 503 {
                w.probe503 += 1
                w.seen.append(p.text)
            } else if let weight = p.headers["x-backlogd-weight"].flatMap({ Int($0) }) {
                w.weights.append(weight)
            }
            if let agent {
                let a = try ns.enter { try AgentClient.ask(agent + "\n", port: agentPort) }
                if a.hasPrefix("down") {
                    w.agentDown += 1
                    w.seen.append(a)
                }
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return w
    }
}
