import BacklogCore
@testable import BacklogDaemon
import Foundation
import Testing

/// The registry the fast ticker owns: namespaces the deep tick joined are added,
/// those no longer wanted dropped; one that cannot be joined is shown as a failed
/// `netns` source whose error count grows with each failed attempt (it was frozen at 1).
@Suite struct NamespaceRegistryTests {
    @Test func failedJoinsAreCountedPerNamespace() throws {
        // A regular file where a namespace should be: open() works, setns() says EINVAL.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bd-not-a-netns-\(getpid())").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let host = try NamespaceCollector(WatchedNamespace(label: WatchedNamespace.hostLabel, inode: 0, path: nil))
        var registry = NamespaceRegistry(host: host, retryAfter: .zero)
        let bogus = WatchedNamespace(label: "bogus", inode: 4_000_000_001, path: path)
        var counts: [UInt64] = []
        for _ in 0..<3 {
            #expect(!registry.notToJoin().contains(NamespaceRegistry.key(bogus)), "tried again (retryAfter 0)")
            let (joined, failures) = NamespaceRegistry.join([bogus], peakWindow: 15)
            #expect(joined.isEmpty && failures.count == 1)
            registry.reconcile(.init(wanted: [bogus], unreadable: 0, joined: joined, failures: failures))
            let failed = try #require(registry.unreachable.first { $0.netns == "bogus" })
            let source = try #require(failed.sources.first { $0.name == "netns" })
            #expect(!source.up && source.error?.contains("setns") == true)
            counts.append(source.errorsTotal)
        }
        #expect(counts == [1, 2, 3])
        #expect(registry.slots.count == 1, "only the host is open")
        // The first failure per reason is counted once in the process-wide counter.
        #expect(registry.openFailures == ["other": 1])

        // Not wanted any more: no longer shown.
        registry.reconcile(.init(wanted: [], unreadable: 0, joined: [], failures: []))
        #expect(registry.unreachable.isEmpty)
    }

    /// A failed join is not tried again within retryAfter; a joined namespace is
    /// kept while wanted, dropped when not; the host is always kept.
    @Test func joinedNamespacesComeAndGo() throws {
        let name = "bd-reg-\(getpid())"
        #expect(ip(["netns", "add", name]) == 0)
        defer { _ = ip(["netns", "del", name]) }
        let path = "/run/netns/\(name)"
        let ns = WatchedNamespace(label: name, inode: NetnsInode.of(path: path) ?? 0, path: path)
        let host = try NamespaceCollector(WatchedNamespace(label: WatchedNamespace.hostLabel, inode: 0, path: nil))
        var registry = NamespaceRegistry(host: host)
        let (joined, failures) = NamespaceRegistry.join([ns], peakWindow: 15)
        #expect(joined.count == 1 && failures.isEmpty)
        registry.reconcile(.init(wanted: [ns], unreadable: 3, joined: joined, failures: failures))
        #expect(registry.slots.map(\.collector.namespace.label) == [WatchedNamespace.hostLabel, name])
        #expect(registry.notToJoin().contains(NamespaceRegistry.key(ns)), "open: not joined twice")
        #expect(registry.unreadableProcesses == 3)
        // Joined again by a discovery that raced the first (not possible with one deep tick at a time): still one.
        registry.reconcile(.init(wanted: [ns], unreadable: 0, joined: NamespaceRegistry.join([ns], peakWindow: 15).joined, failures: []))
        #expect(registry.slots.count == 2)
        registry.reconcile(.init(wanted: [], unreadable: 0, joined: [], failures: []))
        #expect(registry.slots.map(\.collector.namespace.label) == [WatchedNamespace.hostLabel])
        registry.hostOnly()
        #expect(registry.unreadableProcesses == nil)
    }
}

/// Runs `ip` with these arguments; its exit status. (posix_spawn, not Foundation's
/// Process, which leaks a weak reference LeakSanitizer reports.)
private func ip(_ args: [String]) -> Int32 {
    var pid: pid_t = 0
    let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/sbin/ip"] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    guard posix_spawn(&pid, "/usr/sbin/ip", nil, nil, argv, environ) == 0 else { return -1 }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return status
}
