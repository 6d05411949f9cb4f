/// What backlogd tells a load balancer about a listener, from the latest
/// publication: out of rotation (`down`) while it has a critical finding or its
/// accept queue is over its max now; otherwise in, with a weight that falls as
/// the queue nears full and is at most half for a queue that was full within
/// the peak window (a burst lowers the share, it does not take a healthy backend out).
public struct ProbeVerdict: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case up
        case down
        /// No such listener is watched (not there, or left out by the filters or `max_listeners`).
        case unknown
    }

    public var state: State
    /// Percent of the balancer's configured weight, 1–100 (HAProxy agent `NN%`); 100 unless up.
    public var weight: Int
    /// One line: why, with the listener and its numbers.
    public var sentence: String
    /// What took it out: the finding's kind (`not_accepting`, `accept_queue_full`); nil unless down.
    public var kind: String?

    public init(state: State, weight: Int = 100, sentence: String, kind: String? = nil) {
        self.state = state
        self.weight = weight
        self.sentence = sentence
        self.kind = kind
    }

    /// The sentence with the kind first (balancers cut long reasons: HAProxy logs ~120 characters).
    public var reason: String { kind.map { "\($0): \(sentence)" } ?? sentence }

    /// The weight rule: 100 % while the queue is at most half full, then down in a
    /// straight line to 10 % when length = max; at most 50 % when the peak window
    /// saw it over max (`queuePeak > queueMax`).
    public static func weight(_ l: Listener) -> Int {
        var w = 100
        if l.queueMax == 0 {
            w = l.queueLength == 0 ? 100 : 10
        } else if 2 * UInt64(l.queueLength) > UInt64(l.queueMax) {
            let over = min(1, (l.fill - 0.5) / 0.5)
            w = max(10, Int((100 - 90 * over).rounded()))
        }
        if l.queuePeak > l.queueMax { w = min(w, 50) }
        return w
    }

    /// The verdict on every listener `target` matches in `publication`; with
    /// several (a wildcard and a specific address, SO_REUSEPORT members) the worst.
    public static func judge(_ target: ProbeTarget, in publication: Publication) -> ProbeVerdict {
        guard let snapshot = publication.snapshots.first(where: { $0.netns == target.netns }) else {
            return ProbeVerdict(state: .unknown, sentence: "no such listener: netns \(target.netns) is not watched")
        }
        let matched = snapshot.listeners.filter(target.matches)
        guard !matched.isEmpty else {
            return ProbeVerdict(state: .unknown, sentence: "no such listener: \(noSuch(target))")
        }
        let groups = Set(matched.map(\.groupKey))
        let mine = snapshot.findings.filter { f in f.listener.map { groups.contains($0.groupKey) } ?? false }
        if let critical = mine.first(where: { $0.severity == .critical }) {
            return ProbeVerdict(state: .down, sentence: critical.message, kind: critical.kind)
        }
        if let full = matched.first(where: \.isFull) {
            let said = mine.first { $0.kind == "accept_queue_full" && $0.listener?.groupKey == full.groupKey }
            return ProbeVerdict(state: .down, sentence: said?.message
                                ?? "\(full.describedAddress): accept queue full \(full.queueLength)/\(full.queueMax)",
                                kind: "accept_queue_full")
        }
        let worst = matched.min { weight($0) < weight($1) }!
        let w = weight(worst)
        var sentence = "\(worst.describedAddress): queue \(worst.queueLength)/\(worst.queueMax), peak \(worst.queuePeak)"
        if worst.queuePeak > worst.queueMax { sentence += " (was full within the peak window)" }
        if matched.count > 1 { sentence += "; the worst of \(matched.count) listeners" }
        return ProbeVerdict(state: .up, weight: w, sentence: sentence)
    }

    private static func noSuch(_ target: ProbeTarget) -> String {
        "\(target) is not watched (nor is one that the filters or max_listeners leave out)"
    }
}
