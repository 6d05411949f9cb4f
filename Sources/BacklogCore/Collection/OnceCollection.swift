/// `--once`: each namespace is sampled by its own NamespaceCollector (on a thread
/// that joined it), all at the same time, so N namespaces take one window, not N;
/// then one owner lookup for all of them (socket inodes are unique host-wide),
/// the same assembly as the daemon's tick, and one Publication with the cap.
public enum OnceCollection {
    /// `unreadable`: processes the discovery could not read, reported with the counters.
    /// A namespace that is gone by the time it is joined (its last process exited
    /// after the discovery) is counted and left out, not reported as a failure,
    /// unless it is the only one asked for (`--netns NAME`).
    /// `netstat`/`sysctl`: where the sources read (tests point them elsewhere).
    public static func collect(
        _ namespaces: [WatchedNamespace], window: Double, settings: CollectorSettings, unreadable: Int? = nil,
        netstat: NetstatSource = NetstatSource(), sysctl: SysctlSource = SysctlSource()
    ) async -> Publication {
        var collectors: [(Int, NamespaceCollector)] = []
        var unreachable: [Int: Snapshot] = [:]
        var failures: [String: UInt64] = [:]
        for (i, ns) in namespaces.enumerated() {
            do throws(NetnsError) {
                collectors.append((i, try NamespaceCollector(ns, netstat: netstat, sysctl: sysctl)))
            } catch {
                failures[error.reason, default: 0] += 1
                if error.reason != "gone" || namespaces.count == 1 {
                    unreachable[i] = .unreachable(ns, error: "\(error)", errorsTotal: 1)
                }
            }
        }
        var readings: [Int: NamespaceReadings] = [:]
        await withTaskGroup(of: (Int, NamespaceReadings).self) { group in
            for (i, c) in collectors {
                group.addTask { (i, await c.once(window: window, settings: settings)) }
            }
            for await (i, r) in group { readings[i] = r }
        }
        let inodes = Set(readings.values.flatMap { $0.listeners.map(\.inode) })
        let owners = OwnerSnapshot.resolve(inodes, with: OwnerIndex(podsDir: settings.podsDir), now: 0)
        var snapshots: [Snapshot] = []
        for i in namespaces.indices {
            if var r = readings[i] {
                ListenerTable.apply(owners: owners.byInode, to: &r.listeners)
                ListenerTable.applyFdUsage(to: &r.listeners)
                snapshots.append(SnapshotAssembly.assemble(r, settings: settings))
            } else if let s = unreachable[i] {
                snapshots.append(s)
            }
        }
        let onlyOwn = namespaces.count == 1 && namespaces[0].isHost && unreadable == nil
        let facts = ProcessFacts(ownerFailures: owners.failures, ownerScanSkipped: owners.skipped,
                                 netnsOpenFailures: onlyOwn ? nil : failures, netnsUnreadableProcesses: unreadable,
                                 podUIDConflicts: owners.podUIDConflicts)
        return Publication(snapshots: snapshots, process: facts, maxListeners: settings.selection.maxListeners)
    }
}
