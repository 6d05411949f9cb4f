/// `max_listeners`: which listeners become series when there are more than the cap.
/// The ones a warning or critical finding is about come first (the most severe
/// first), then the fullest: a listener that stopped reading or piles up
/// CLOSE_WAIT can have an empty accept queue, and it is the one a user needs.
/// The findings of a listener left out go with it (they would name a listener
/// that has no series).
public enum SeriesCap {
    /// The cap over every namespace together: N namespaces must not get N caps.
    /// Keeps `cap` of all and adds the rest to each namespace's left-out count.
    /// Listeners keep their order.
    static func apply(_ snapshots: inout [Snapshot], cap: Int?) {
        guard let cap else { return }
        let all = snapshots.indices.flatMap { s in snapshots[s].listeners.indices.map { (s, $0) } }
        guard all.count > cap else { return }
        let severity = severities(snapshots.flatMap(\.findings))
        let kept = all.sorted {
            keepsFirst(snapshots[$0.0].listeners[$0.1], snapshots[$1.0].listeners[$1.1], severity)
        }.prefix(cap)
        var keep = [Set<Int>](repeating: [], count: snapshots.count)
        for (s, l) in kept { keep[s].insert(l) }
        for s in snapshots.indices {
            let before = snapshots[s].listeners.count
            snapshots[s].listeners = snapshots[s].listeners.indices.filter { keep[s].contains($0) }.map { snapshots[s].listeners[$0] }
            snapshots[s].listenersLeftOut += before - snapshots[s].listeners.count
            dropFindings(&snapshots[s].findings, keeping: snapshots[s].listeners)
        }
    }

    /// The most severe warning or critical finding per listener inode (inodes are
    /// unique host-wide). Info findings (a somaxconn clamp) do not rank.
    static func severities(_ findings: [Finding]) -> [UInt32: Int] {
        var out: [UInt32: Int] = [:]
        for f in findings where f.severity >= .warning {
            guard let inode = f.listener?.inode else { continue }
            out[inode] = max(out[inode] ?? 0, f.severity.rank)
        }
        return out
    }

    static func keepsFirst(_ a: Listener, _ b: Listener, _ severity: [UInt32: Int]) -> Bool {
        let sa = severity[a.inode] ?? 0, sb = severity[b.inode] ?? 0
        if sa != sb { return sa > sb }
        return Listener.fullestFirst(a, b)
    }

    static func dropFindings(_ findings: inout [Finding], keeping listeners: [Listener]) {
        let inodes = Set(listeners.map(\.inode))
        findings.removeAll { f in f.listener.map { !inodes.contains($0.inode) } ?? false }
    }
}
