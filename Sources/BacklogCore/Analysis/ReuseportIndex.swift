/// Gives each listener its `socket` label: the 0-based index among listeners
/// that share family/address/port (SO_REUSEPORT members, each with its own
/// queue), ordered by inode: stable while the sockets live, and creation order
/// for sockets made on one CPU (inodes come from per-CPU batches). Cookies are
/// assigned lazily in dump order, so they are not used.
public enum ReuseportIndex {
    public static func assign(_ listeners: [Listener]) -> [Listener] {
        var groups: [GroupKey: [Int]] = [:]
        for (i, l) in listeners.enumerated() {
            groups[l.groupKey, default: []].append(i)
        }
        var out = listeners
        for indices in groups.values where indices.count > 1 {
            let ordered = indices.sorted { out[$0].inode < out[$1].inode }
            for (n, i) in ordered.enumerated() {
                out[i].socket = n
            }
        }
        return out
    }
}
