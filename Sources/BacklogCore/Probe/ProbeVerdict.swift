/// What backlogd tells a load balancer about a listener, from the latest
/// publication: out of rotation (`down`) while it is hung (not_accepting), at
/// its fd limit (a critical finding), held out while it recovers from one
/// (RotationMemory), or over its max with no progress; otherwise in — busy
/// included — with a weight that falls as the queue nears full and as the
/// oldest connection's wait grows, at most half for a queue that was full within
/// the peak window (load lowers the share, it never takes a backend out).
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

    /// `text` cut to at most `bytes` UTF-8 bytes at a word, "…" marking the cut:
    /// HAProxy copies an agent's reason into a 128-byte buffer after "via agent : down (".
    public static func cut(_ text: String, bytes: Int = 100) -> String {
        guard text.utf8.count > bytes else { return text }
        let room = bytes - "…".utf8.count
        var end = text.startIndex
        var lastSpace: String.Index?
        var used = 0
        for i in text.indices {
            let n = text[i].utf8.count
            if used + n > room { break }
            used += n
            end = text.index(after: i)
            if text[i] == " " { lastSpace = i }
        }
        // At the last word's start, unless that throws away more than a few words' worth.
        let atWord = lastSpace.map { text.utf8.distance(from: text.startIndex, to: $0) >= room - 30 } ?? false
        var head = atWord ? text[..<lastSpace!] : text[..<end]
        while let c = head.last, c == " " || c == "," || c == ";" || c == ":" || c == "—" { head = head.dropLast() }
        return head + "…"
    }

    /// The weight a wait gives: 100 % with none, then down in a straight line to 10 % at `hungAfter`.
    public static func weight(waiting seconds: Double, hungAfter: Double) -> Int {
        guard seconds > 0, hungAfter > 0 else { return 100 }
        return max(10, Int((100 - 90 * min(1, seconds / hungAfter)).rounded()))
    }

    /// Weights move by at most `step` points per answer (from `previous`, the last one given).
    public func smoothed(from previous: Int?, step: Int = 25) -> ProbeVerdict {
        guard state == .up, let previous else { return self }
        var v = self
        v.weight = min(max(weight, previous - step), previous + step)
        return v
    }

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
        if let g = groups.first(where: { snapshot.heldOut[$0] != nil }), let held = snapshot.heldOut[g] {
            let l = matched.first { $0.groupKey == g }!
            return ProbeVerdict(state: .down, sentence: "\(l.describedAddress): was \(held.kind == "not_accepting" ? "hung" : held.kind), "
                                + "recovering: healthy for \(ConnectionFindings.seconds(held.healthySeconds)) of \(ConnectionFindings.seconds(snapshot.thresholds.recoverAfter))",
                                kind: "recovering")
        }
        // Over its max with no progress: the kernel refuses connections and nothing drains them.
        let t = snapshot.thresholds
        if let full = matched.first(where: { $0.isFull && $0.acceptance.map { !$0.progressed && $0.noProgressSeconds >= t.notAcceptingAfter } == true }) {
            let said = mine.first { $0.kind == "accept_queue_full" && $0.listener?.groupKey == full.groupKey }
            return ProbeVerdict(state: .down, sentence: said?.message
                                ?? "\(full.describedAddress): accept queue full \(full.queueLength)/\(full.queueMax)",
                                kind: "accept_queue_full")
        }
        func both(_ l: Listener) -> Int {
            min(weight(l), weight(waiting: l.acceptance?.oldestWaitSeconds ?? 0, hungAfter: t.hungAfter))
        }
        let worst = matched.min { both($0) < both($1) }!
        let w = both(worst)
        var sentence = "\(worst.describedAddress): queue \(worst.queueLength)/\(worst.queueMax), peak \(worst.queuePeak)"
        if worst.queuePeak > worst.queueMax { sentence += " (was full within the peak window)" }
        if let e = worst.acceptance, e.waiting > 0 {
            sentence += "; busy: the oldest of \(e.waiting) waiting for \(ConnectionFindings.seconds(e.oldestWaitSeconds))"
        }
        if matched.count > 1 { sentence += "; the worst of \(matched.count) listeners" }
        return ProbeVerdict(state: .up, weight: w, sentence: sentence)
    }

    private static func noSuch(_ target: ProbeTarget) -> String {
        "\(target) is not watched (nor is one that the filters or max_listeners leave out)"
    }
}
