import BacklogCore
@testable import BacklogDaemon
import Foundation
import Synchronization
import Testing

/// The collection machinery end to end in this process's own namespace, with a
/// real listening socket: the clock publishes, a deep result publishes by itself
/// (not at the next fast tick), a reload is in force when `update` returns, and
/// nothing is published once `stop` returned.
@Suite(.serialized) struct CollectionLoopTests {
    /// Publications as they arrive, and a wait for one that holds.
    final class Published: Sendable {
        private let all = Mutex<[(at: ContinuousClock.Instant, p: Publication)]>([])
        func add(_ p: Publication) { all.withLock { $0.append((.now, p)) } }
        var count: Int { all.withLock { $0.count } }
        func since(_ i: Int) -> [Publication] { all.withLock { Array($0[i...].map(\.p)) } }

        func wait(_ what: String, within seconds: Double = 30, _ holds: (Publication) -> Bool) throws -> ContinuousClock.Instant {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < deadline {
                // Copied out first: `holds` may ask for the count (the lock is not recursive).
                if let hit = all.withLock({ $0 }).first(where: { holds($0.p) }) { return hit.at }
                Thread.sleep(forTimeInterval: 0.02)
            }
            throw TestFailure("no publication with \(what) within \(seconds) s")
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// A TCP listener on 127.0.0.1 and an ephemeral port; its fd and port.
    static func listen() throws -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && Glibc.listen(fd, 8) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw TestFailure("cannot listen: errno \(errno)") }
        return (fd, UInt16(bigEndian: a.sin_port))
    }

    /// A connection to 127.0.0.1:`port` (it waits in the accept queue).
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = port.bigEndian
        let ok = withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { throw TestFailure("cannot connect: errno \(errno)") }
        return fd
    }

    /// Where nothing changes, nothing is published again until the collector makes its
    /// snapshot anew (every 5 s); a connection in the queue makes every tick publish.
    @Test func anUnchangedTickPublishesNothing() throws {
        let l = try Self.listen()
        defer { close(l.fd) }
        let published = Published()
        let ticks = Atomic<Int>(0)
        var s = CollectionLoop.Settings()
        s.interval = 0.05
        // Ticks as often as asked, however slow the build (a sanitizer's): counted, not timed.
        s.fastCPUBudget = 1
        // Only this listener: the rest of this namespace is left out (other tests may listen here).
        s.collector.ports = PortFilter(include: [l.port...l.port])
        let loop = try CollectionLoop(settings: s, publish: { published.add($0) },
                                      afterTick: { _ in ticks.wrappingAdd(1, ordering: .relaxed) })
        loop.start()
        defer { loop.stop() }
        _ = try published.wait("the listener") { Self.listener($0, port: l.port) != nil }
        // Let the deep tick and the owner lookup settle, then count over 2 s.
        Thread.sleep(forTimeInterval: 1.5)
        func count(for seconds: Double) -> (ticks: Int, published: Int) {
            let (t0, p0) = (ticks.load(ordering: .relaxed), published.count)
            Thread.sleep(forTimeInterval: seconds)
            return (ticks.load(ordering: .relaxed) - t0, published.count - p0)
        }
        let quiet = count(for: 2)
        let client = try Self.connect(port: l.port)
        defer { close(client) }
        _ = try published.wait("the connection waiting") { Self.listener($0, port: l.port)?.queueLength == 1 }
        let busy = count(for: 2)
        #expect(quiet.ticks >= 8 && busy.ticks >= 8, "ticks: \(quiet.ticks), \(busy.ticks)")
        // Quiet: the deep tick's and the 5-second republications at most.
        #expect(quiet.published <= quiet.ticks / 4 + 2, "\(quiet.ticks) quiet ticks published \(quiet.published) times")
        #expect(busy.published >= busy.ticks * 3 / 4, "\(busy.ticks) ticks with a connection waiting published \(busy.published) times")
    }

    static func listener(_ p: Publication, port: UInt16) -> Listener? {
        p.snapshots.first?.listeners.first { $0.port == port && $0.address == "127.0.0.1" }
    }

    /// With a fast tick every 10 s, the owner (this process) shows up well before
    /// the second tick: the deep tick's result is published when it is done.
    @Test func aDeepResultPublishesByItself() throws {
        let l = try Self.listen()
        defer { close(l.fd) }
        let published = Published()
        var s = CollectionLoop.Settings()
        s.interval = 10
        s.deepMinInterval = 1
        let loop = try CollectionLoop(settings: s, publish: { published.add($0) })
        let start = ContinuousClock.now
        loop.start()
        defer { loop.stop() }
        _ = try published.wait("the listener") { Self.listener($0, port: l.port) != nil }
        let owned = try published.wait("its owner", within: 9) { Self.listener($0, port: l.port)?.owner?.pid == getpid() }
        #expect(owned - start < .seconds(9), "published by the deep tick, not by the fast tick 10 s later")
        #expect(published.count >= 2)
    }

    /// A reload is in force when `update` returns: the next publication has the new port filter.
    @Test func settingsApplyFromTheNextTick() throws {
        let l = try Self.listen()
        defer { close(l.fd) }
        let published = Published()
        var s = CollectionLoop.Settings()
        s.interval = 0.1
        let loop = try CollectionLoop(settings: s, publish: { published.add($0) })
        loop.start()
        defer { loop.stop() }
        _ = try published.wait("the listener") { Self.listener($0, port: l.port) != nil }
        s.collector.ports = PortFilter(exclude: [l.port...l.port])
        loop.update(s)
        let after = published.count
        // New settings make a new snapshot at the next tick (even where nothing else changed).
        _ = try published.wait("a publication after the update") { _ in published.count >= after + 1 }
        Thread.sleep(forTimeInterval: 0.5)
        // Every publication made after the update returned (fast or deep) leaves the port out.
        #expect(published.since(after).allSatisfy { Self.listener($0, port: l.port) == nil })
    }

    /// After `stop` returns, nothing more is published (a deep tick in flight is dropped).
    @Test func nothingIsPublishedAfterStop() throws {
        // A connection waits in the queue: every tick has something that moves (its wait), so it publishes.
        let l = try Self.listen()
        defer { close(l.fd) }
        let client = try Self.connect(port: l.port)
        defer { close(client) }
        let published = Published()
        var s = CollectionLoop.Settings()
        s.interval = 0.05
        let loop = try CollectionLoop(settings: s, publish: { published.add($0) })
        loop.start()
        _ = try published.wait("five publications") { _ in published.count >= 5 }
        loop.stop()
        let stoppedAt = published.count
        Thread.sleep(forTimeInterval: 1.5)
        #expect(published.count == stoppedAt)
    }
}
