import BacklogCore
import Dispatch
import Synchronization

/// Everything the daemon keeps for one network namespace: a thread that joined
/// it (none for backlogd's own), the fast collector and the deep collector with
/// their sock_diag sockets (opened on that thread, so bound to the namespace),
/// and the latest results. Closing it ends the thread and drops the sockets,
/// which lets the kernel free a namespace that is gone.
final class NamespaceCollection: @unchecked Sendable {
    let namespace: WatchedNamespace
    private let thread: NetnsThread?
    // Used only by fast-tick jobs, which never overlap (`busy`).
    private let collector: Collector
    private var history: QueueHistory
    // Used only on the deep queue.
    let deep: DeepCollector
    /// The last fast tick's listeners (with peaks), before the filters and the cap:
    /// for the deep tick to match against and to look owners up for.
    let lastListeners = LockedBox<[Listener]>([])
    /// The latest snapshot, published with the others.
    let latest = LockedBox<Snapshot?>(nil)
    let deepResult = LockedBox<DeepResult?>(nil)
    /// Who is in it, refreshed by each discovery.
    let owner = LockedBox<NetnsOwner?>(nil)
    private let busy = Atomic<Bool>(false)

    private struct Made: @unchecked Sendable {
        let collector: Collector
        let deep: DeepCollector
    }

    /// Joins the namespace (on a new thread, unless it is backlogd's own) and opens its collectors there.
    init(_ ns: WatchedNamespace, settings: CollectionLoop.Settings) throws(NetnsError) {
        namespace = ns
        let make: @Sendable () -> Made = {
            Made(collector: settings.collector.makeCollector(netns: ns.label),
                 deep: DeepCollector(netns: ns.label, thresholds: settings.collector.thresholds, window: settings.peakWindow))
        }
        let made: Made
        if let path = ns.path {
            let t = try NetnsThread(path: path, inode: ns.inode)
            guard let m = t.sync(make) else { throw NetnsError(path: path, errno: 0, step: "thread") }
            thread = t
            made = m
        } else {
            thread = nil
            made = make()
        }
        collector = made.collector
        deep = made.deep
        history = QueueHistory(window: settings.peakWindow)
    }

    /// Starts a fast tick (on the namespace's thread, or here for backlogd's own)
    /// unless the last one is still running; `done` is called when it finished or was skipped.
    func tick(now: Double, settings: CollectionLoop.Settings, deepInterval: Double?, owners: OwnerSnapshot?,
              done: @escaping @Sendable () -> Void) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            done()
            return
        }
        let job: @Sendable () -> Void = { [self] in
            runTick(now: now, settings: settings, deepInterval: deepInterval, owners: owners)
            busy.store(false, ordering: .releasing)
            done()
        }
        if let thread {
            if !thread.async(job) {
                busy.store(false, ordering: .releasing)
                done()
            }
        } else {
            job()
        }
    }

    private func runTick(now: Double, settings: CollectionLoop.Settings, deepInterval: Double?, owners: OwnerSnapshot?) {
        collector.filter = settings.collector.ports
        collector.selection = settings.collector.selection
        collector.thresholds = settings.collector.thresholds
        history.window = settings.peakWindow
        var snapshot = collector.tick(history: &history, now: now, maxStep: max(settings.interval * 4, 1),
                                      deep: deepResult.value, deepInterval: deepInterval, owners: owners)
        snapshot.netnsOwner = owner.value
        lastListeners.value = collector.lastSeen
        latest.value = snapshot
    }

    /// Ends the thread after a tick in progress; the sockets close with the last reference.
    func close() {
        thread?.stop()
    }
}
