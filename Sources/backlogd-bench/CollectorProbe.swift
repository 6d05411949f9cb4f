import BacklogCore

/// The daemon's own NamespaceCollector in the benchmark's namespace, driven
/// from the benchmark's synchronous code (each call waits for the actor).
struct CollectorProbe {
    let collector: NamespaceCollector

    init(namespace: String) throws {
        let path = "/run/netns/\(namespace)"
        let ns = WatchedNamespace(label: "bench", inode: NetnsInode.of(path: path) ?? 0, path: path)
        do {
            collector = try NamespaceCollector(ns)
        } catch {
            throw BenchError("\(error)")
        }
    }

    /// One fast tick at default settings: wall seconds, CPU seconds.
    func tick(now: Double) -> (wall: Double, cpu: Double) {
        let c = collector
        return Self.wait {
            let t0 = ContinuousClock.now
            let r = await c.tick(now: now, settings: CollectorSettings(), peakWindow: 15, maxStep: 1, owners: nil,
                                 deepInterval: nil, fastInterval: 0.25)
            return ((ContinuousClock.now - t0).seconds, r.cpuSeconds)
        }
    }

    /// One deep look: wall seconds.
    func deepLook(now: Double) -> Double {
        let c = collector
        return Self.wait {
            let t0 = ContinuousClock.now
            _ = await c.deepLook(now: now, thresholds: Thresholds(), window: 15)
            return (ContinuousClock.now - t0).seconds
        }
    }

    func timeSources() -> (listeners: Double, netstat: Double, sysctls: Double) {
        let c = collector
        return Self.wait { await c.timeSources() }
    }

    var listeners: [Listener] {
        let c = collector
        return Self.wait { await c.listeners }
    }

    static func wait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        // A thread can always be made here; the benchmark would fail at once otherwise.
        try! BlockingWait.run(body)
    }
}
