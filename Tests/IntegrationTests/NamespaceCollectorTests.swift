import BacklogCore
import Foundation
import Testing

/// One namespace's collector on its own: a fast tick reads the listener as `ss`
/// would and says when the set of listeners changed (for the owner lookup); a
/// deep tick takes the owners the deep side hands it, keeps them for later
/// ticks, and makes the snapshot again with what it found.
@Suite struct NamespaceCollectorTests {
    static func owners(_ inode: UInt32, pid: Int32, comm: String, generation: UInt64) -> OwnerSnapshot {
        OwnerSnapshot(byInode: [inode: .success(Owner(pid: pid, comm: comm, cmdline: comm, unit: nil, container: nil))],
                      failures: [:], skipped: 0, generation: generation)
    }

    @Test func ticksReadTheQueueAndDeepTicksHandOwnersOver() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let l = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            _ = try ns.enter { try Clients.connect(3, port: l.port, bag: bag) }
            let path = "/run/netns/\(ns.name)"
            let collector = try NamespaceCollector(WatchedNamespace(label: ns.name, inode: NetnsInode.of(path: path) ?? 0, path: path))
            let tick = { @Sendable (now: Double) throws -> NamespaceCollector.Assembled in
                try BlockingWait.run {
                    await collector.fastTick(now: now, settings: CollectorSettings(), peakWindow: 15, maxStep: 1,
                                             deepInterval: 1, fastInterval: 0.25)
                }
            }
            // Nothing to make again before the first tick.
            #expect(try BlockingWait.run { await collector.deepTick(now: 0, owners: nil).assembled } == nil)
            let first = try tick(0)
            let listener = try #require(first.snapshot.listeners.first { $0.port == l.port })
            #expect(listener.queueLength == 3 && listener.queueMax == 8, "as ss -lt: Recv-Q 3, Send-Q 8")
            #expect(first.inodes == [listener.inode], "the first tick says which inodes there are")
            let quiet = try tick(0.25)
            #expect(quiet.inodes == nil, "nothing changed: no inodes")
            #expect(quiet.sequence > first.sequence)

            // The deep side hands over an owner: the snapshot made again carries it, with the look's numbers.
            let given = Self.owners(listener.inode, pid: 4711, comm: "fake", generation: 1)
            let deep = try BlockingWait.run { await collector.deepTick(now: 0.5, owners: given).assembled }
            let made = try #require(deep)
            #expect(made.sequence > quiet.sequence)
            let owned = try #require(made.snapshot.listeners.first { $0.port == l.port })
            #expect(owned.owner?.pid == 4711)
            #expect(owned.connections?.unaccepted.count == 3, "the look found the three waiting connections")
            // Later ticks keep it without being handed it again.
            #expect(try tick(0.75).snapshot.listeners.first { $0.port == l.port }?.owner?.pid == 4711)

            // A new listener: the next tick says the inodes changed.
            let second = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            let t = try tick(1)
            #expect(t.inodes?.count == 2)
            #expect(t.snapshot.listeners.contains { $0.port == second.port })
        }
    }

    /// A quiet namespace (no request socket, nothing unaccepted, no CLOSE_WAIT, no
    /// unread bytes) that has received no segment since its last look is not dumped
    /// again; a connection (a SYN arrives) or a new listener makes it look again.
    @Test func aQuietNamespaceSkipsItsLookUntilSomethingArrives() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let l = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            let path = "/run/netns/\(ns.name)"
            let collector = try NamespaceCollector(WatchedNamespace(label: ns.name, inode: NetnsInode.of(path: path) ?? 0, path: path))
            struct Step: Sendable {
                var skipped: Int
                var unaccepted: Int?
            }
            let step = { @Sendable (now: Double) throws -> Step in
                try BlockingWait.run {
                    _ = await collector.fastTick(now: now, settings: CollectorSettings(), peakWindow: 15, maxStep: 1,
                                                 deepInterval: 1, fastInterval: 0.25)
                    let a = await collector.deepTick(now: now, owners: nil).assembled
                    return Step(skipped: await collector.deepLooksSkipped,
                                unaccepted: a?.snapshot.listeners.first { $0.port == l.port }?.connections?.unaccepted.count)
                }
            }
            #expect(try step(0).skipped == 0, "the first look is made")
            let quiet = try step(1)
            #expect(quiet.skipped == 1 && quiet.unaccepted == nil, "quiet and nothing arrived: skipped, nothing to publish")
            #expect(try step(2).skipped == 2)
            // A client: segments arrive, the look is made and finds it waiting.
            _ = try ns.enter { try Clients.connect(1, port: l.port, bag: bag) }
            let busy = try step(3)
            #expect(busy.skipped == 2 && busy.unaccepted == 1)
            // Not quiet now (a connection waits): looked at every time.
            #expect(try step(4).skipped == 2)
            _ = try ns.enter { close(accept(l.fd, nil, nil)) }
            _ = try step(5)
            // Accepted and closed: quiet again once a look saw it so and nothing more arrived.
            var skipped = try step(6).skipped
            skipped = try step(7).skipped
            #expect(skipped >= 3, "quiet again: skipped")
            // A new listener: looked at.
            _ = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            #expect(try step(8).skipped == skipped)
        }
    }

    /// Backlogd's own namespace can be collected on the collection queue: the
    /// tick runs there when called from it, and its CPU is counted there.
    @Test func backlogdsOwnNamespaceRunsOnTheCollectionQueue() throws {
        let queue = CollectionQueue(label: "test.collection")
        let host = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: NetnsInode.ofProcess() ?? 0, path: nil)
        let collector = try NamespaceCollector(host, on: queue)
        #expect(collector.runs(on: queue))
        #expect(!collector.runs(on: CollectionQueue(label: "test.other")))
        let before = queue.cpuSeconds
        let sequence = queue.queue.sync {
            queue.metered {
                collector.assumeIsolated {
                    $0.fastTick(now: 0, settings: CollectorSettings(), peakWindow: 15, maxStep: 1, deepInterval: nil, fastInterval: 0.25)
                        .sequence
                }
            }
        }
        #expect(sequence == 1)
        #expect(queue.cpuSeconds > before, "its CPU is counted on the queue")
        #expect(!queue.isCurrent, "not on the queue here")
    }
}
