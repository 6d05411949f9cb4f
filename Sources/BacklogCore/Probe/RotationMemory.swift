/// A listener group a load balancer keeps out of rotation after a hang, until it
/// has shown `recoverAfter` of health (progress, the oldest wait under
/// not_accepting_after): so that one accepted connection does not flap it back in.
public struct HeldOut: Sendable, Hashable {
    /// The finding that took it out.
    public var kind: String
    /// Monotonic seconds: since when it has looked healthy (nil: not yet).
    public var healthySince: Double?
    /// How long it has looked healthy at the last tick.
    public var healthySeconds: Double

    public init(kind: String, healthySince: Double? = nil, healthySeconds: Double = 0) {
        self.kind = kind
        self.healthySince = healthySince
        self.healthySeconds = healthySeconds
    }
}

/// The up/down memory behind the probe and the agent, kept per namespace by its
/// collector and published with each snapshot (HAProxy opens a new agent
/// connection for every check, so the memory cannot live in one).
public struct RotationMemory: Sendable {
    private var out: [GroupKey: HeldOut] = [:]

    public init() {}

    /// After a tick: groups with a critical finding are out; a group that was out
    /// and has none stays out until it looks healthy for `recoverAfter`.
    public mutating func update(_ s: Snapshot, now: Double) -> [GroupKey: HeldOut] {
        let t = s.thresholds
        var critical: [GroupKey: String] = [:]
        for f in s.findings where f.severity == .critical {
            if let g = f.listener?.groupKey { critical[g] = f.kind }
        }
        guard !critical.isEmpty || !out.isEmpty else { return [:] }
        var next: [GroupKey: HeldOut] = [:]
        for (g, kind) in critical { next[g] = HeldOut(kind: kind) }
        if !out.isEmpty {
            // Where each held-out group's first socket is (an index, not a copy: a
            // Listener is large, and 5 000 of them made a transient 8 MB here).
            var byGroup: [GroupKey: Int] = [:]
            byGroup.reserveCapacity(out.count)
            for (i, l) in s.listeners.enumerated() where l.socket == 0 {
                let g = l.groupKey
                if out[g] != nil, next[g] == nil { byGroup[g] = i }
            }
            for (g, was) in out where next[g] == nil {
                guard let i = byGroup[g] else { continue }  // gone: nothing to hold out
                let l = s.listeners[i]
                // Healthy: the accept queue empty now (its length counts every child, those
                // reset by their clients too: a stopped server whose only connections are a
                // balancer's checks never empties it), or the looks see progress with short waits.
                let e = l.acceptance
                let healthy = l.queueLength == 0 || (e.map { $0.progressed && $0.oldestWaitSeconds < t.notAcceptingAfter } ?? false)
                var h = was
                if healthy {
                    let since = was.healthySince ?? now
                    h.healthySince = since
                    h.healthySeconds = now - since
                    if now - since >= t.recoverAfter { continue }
                } else {
                    h.healthySince = nil
                    h.healthySeconds = 0
                }
                next[g] = h
            }
        }
        out = next
        return next.filter { critical[$0.key] == nil }
    }
}
