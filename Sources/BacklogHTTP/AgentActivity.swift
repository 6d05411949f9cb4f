import BacklogExposition
import Synchronization

/// What the HAProxy agent responder has done, for /metrics: its connections
/// (their registry) and its answers. Shared by the agent server, which counts,
/// and the HTTP endpoint, which shows the counts while the agent listens.
final class AgentActivity: Sendable {
    enum Answer: String, CaseIterable, Sendable {
        case up, down
        case noSuchListener = "no_such_listener"
        case badRequest = "bad_request"
    }

    /// Connections closed without an answer.
    enum Unanswered: String, CaseIterable, Sendable {
        /// No full line within the read timeout.
        case timeout
        /// More than the line limit without a newline.
        case tooLong = "too_long"
    }

    let registry = ConnectionRegistry()

    private struct State {
        var listening = false
        var answers: [Answer: UInt64] = [:]
        var unanswered: [Unanswered: UInt64] = [:]
    }
    private let state = Mutex(State())

    func setListening(_ on: Bool) { state.withLock { $0.listening = on } }
    func count(_ a: Answer) { state.withLock { $0.answers[a, default: 0] += 1 } }
    func count(_ u: Unanswered) { state.withLock { $0.unanswered[u, default: 0] += 1 } }

    /// The agent's families; none while it does not listen (it is off by default).
    var families: [MetricFamily] {
        let s = state.withLock { $0 }
        guard s.listening else { return [] }
        let c = registry.counts
        return [
            MetricFamily("backlogd_agent_connections_open", .gauge, help: "HAProxy agent-check connections open now.",
                         samples: [Sample([], .int(Int64(c.open)))]),
            MetricFamily("backlogd_agent_connections_evicted_total", .counter,
                         help: "Agent connections closed at agent.max_connections to make room for a new one (the oldest).",
                         samples: [Sample([], .uint(c.evicted))]),
            MetricFamily("backlogd_agent_connections_refused_total", .counter,
                         help: "Agent connections closed at once (the open-files limit less a reserve, or stopping).",
                         samples: [Sample([], .uint(c.refused))]),
            MetricFamily("backlogd_agent_answers_total", .counter,
                         help: "Agent answers by kind: up (with a weight), down (a listener not accepting or full), no_such_listener, bad_request (a line that names no listener).",
                         samples: Answer.allCases.map { Sample([("answer", $0.rawValue)], .uint(s.answers[$0] ?? 0)) }),
            MetricFamily("backlogd_agent_unanswered_total", .counter,
                         help: "Agent connections closed without an answer: timeout (no line within 2 s), too_long (over 256 bytes without a newline).",
                         samples: Unanswered.allCases.map { Sample([("reason", $0.rawValue)], .uint(s.unanswered[$0] ?? 0)) }),
        ]
    }
}
