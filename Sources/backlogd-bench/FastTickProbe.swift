import BacklogCore

/// The listener axis's only call into BacklogCore's fast tick: the daemon's own
/// NamespaceCollector (an actor on a thread that joined the namespace).
struct FastTickProbe: Sendable {
    let collector: NamespaceCollector

    init(netns: String) throws {
        let path = "/run/netns/\(netns)"
        do {
            collector = try NamespaceCollector(WatchedNamespace(label: netns, inode: NetnsInode.of(path: path) ?? 0, path: path))
        } catch {
            throw BenchError("\(error)")
        }
    }

    /// One fast tick at `now` (seconds; the daemon's are 250 ms apart, which
    /// paces the counters' and sysctls' reads): the collector thread's CPU
    /// seconds and the listeners it saw.
    func tick(now: Double) async -> (cpu: Double, listeners: Int) {
        let r = await collector.tick(now: now, settings: CollectorSettings(), peakWindow: 15, maxStep: 1, owners: nil,
                                     deepInterval: nil, fastInterval: 0.25)
        return (r.cpuSeconds, r.snapshot.listeners.count)
    }
}
