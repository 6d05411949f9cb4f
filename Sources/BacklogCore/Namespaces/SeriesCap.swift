/// `max_listeners` over every namespace together: the cap bounds the series an
/// exporter produces, so N namespaces must not get N caps. Each collector has
/// already kept at most `cap` of its own (fullest first); this keeps the `cap`
/// fullest of all and adds the rest to each namespace's left-out count.
public enum SeriesCap {
    public static func apply(_ snapshots: inout [Snapshot], cap: Int?) {
        guard let cap else { return }
        let all = snapshots.indices.flatMap { s in snapshots[s].listeners.indices.map { (s, $0) } }
        guard all.count > cap else { return }
        let kept = all.sorted { Collector.fullestFirst(snapshots[$0.0].listeners[$0.1], snapshots[$1.0].listeners[$1.1]) }.prefix(cap)
        var keep = [Set<Int>](repeating: [], count: snapshots.count)
        for (s, l) in kept { keep[s].insert(l) }
        for s in snapshots.indices {
            let before = snapshots[s].listeners.count
            snapshots[s].listeners = snapshots[s].listeners.indices.filter { keep[s].contains($0) }.map { snapshots[s].listeners[$0] }
            snapshots[s].listenersLeftOut += before - snapshots[s].listeners.count
            // A finding about a listener left out would name one that has no series.
            let inodes = Set(snapshots[s].listeners.map(\.inode))
            snapshots[s].findings.removeAll { f in f.listener.map { !inodes.contains($0.inode) } ?? false }
        }
    }
}
