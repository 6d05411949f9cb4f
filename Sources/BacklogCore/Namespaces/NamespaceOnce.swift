#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Dispatch
import Synchronization

/// What a collector is told: which listeners, and where numbers become findings.
public struct CollectorSettings: Sendable, Equatable {
    public var ports: PortFilter
    public var selection: ListenerSelection
    public var thresholds: Thresholds

    public init(ports: PortFilter = .all, selection: ListenerSelection = ListenerSelection(), thresholds: Thresholds = Thresholds()) {
        self.ports = ports
        self.selection = selection
        self.thresholds = thresholds
    }

    /// A collector for the namespace of the calling thread.
    public func makeCollector(netns: String) -> Collector {
        let c = Collector(netns: netns, filter: ports, thresholds: thresholds)
        c.selection = selection
        return c
    }
}

/// `--once` over several namespaces: each is sampled on a thread that joined it,
/// all at the same time, so N namespaces take one window, not N.
public enum NamespaceOnce {
    /// `unreadable`: processes the discovery could not read, reported with the counters.
    /// A namespace that is gone by the time it is joined (its last process exited
    /// after the discovery) is counted and left out, not reported as a failure,
    /// unless it is the only one asked for (`--netns NAME`).
    public static func collect(_ namespaces: [WatchedNamespace], window: Double, settings: CollectorSettings,
                               unreadable: Int? = nil) -> [Snapshot] {
        let owners = SharedOwnerIndex.batch(of: namespaces.count)
        let results = Mutex<[Int: Snapshot]>([:])
        let group = DispatchGroup()
        var threads: [NetnsThread] = []
        var failures: [String: UInt64] = [:]
        for (i, ns) in namespaces.enumerated() {
            let job: @Sendable () -> Void = {
                var s = settings.makeCollector(netns: ns.label).collect(window: window, owners: owners)
                s.netnsOwner = ns.owner
                results.withLock { $0[i] = s }
                group.leave()
            }
            group.enter()
            guard let path = ns.path else {
                DispatchQueue.global().async(execute: job)
                continue
            }
            do throws(NetnsError) {
                let t = try NetnsThread(path: path, inode: ns.inode)
                threads.append(t)
                if !t.async(job) { throw NetnsError(path: path, errno: ESRCH, step: "thread") }
            } catch {
                failures[error.reason, default: 0] += 1
                owners.withdraw()
                if error.reason != "gone" || namespaces.count == 1 {
                    results.withLock { $0[i] = .unreachable(ns, error: "\(error)") }
                }
                group.leave()
            }
        }
        group.wait()
        threads.forEach { $0.stop() }
        var all = results.withLock { r in namespaces.indices.compactMap { r[$0] } }
        SeriesCap.apply(&all, cap: settings.selection.maxListeners)
        if !all.isEmpty {
            all[0].netnsOpenFailures = failures
            all[0].netnsUnreadableProcesses = unreadable
        }
        return all
    }
}
