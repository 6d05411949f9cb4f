import BacklogCore
@testable import BacklogDaemon
import Foundation
import Testing

/// A namespace that cannot be joined is shown as a failed `netns` source whose
/// error count grows with each failed attempt (it was frozen at 1).
@Suite struct NamespaceRegistryTests {
    @Test func failedJoinsAreCountedPerNamespace() async throws {
        // A regular file where a namespace should be: open() works, setns() says EINVAL.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bd-not-a-netns-\(getpid())").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let host = try NamespaceSlot(WatchedNamespace(label: WatchedNamespace.hostLabel, inode: 0, path: nil), peakWindow: 15)
        let registry = NamespaceRegistry(host: host, retryAfter: .zero)
        let bogus = WatchedNamespace(label: "bogus", inode: 4_000_000_001, path: path)
        var counts: [UInt64] = []
        for _ in 0..<3 {
            await registry.reconcile([bogus], peakWindow: 15)
            let failed = try #require(registry.unreachable.first { $0.netns == "bogus" })
            let source = try #require(failed.sources.first { $0.name == "netns" })
            #expect(!source.up && source.error?.contains("setns") == true)
            counts.append(source.errorsTotal)
        }
        #expect(counts == [1, 2, 3])
        #expect(registry.current.count == 1, "only the host is open")
        // The first failure per reason is counted once in the process-wide counter.
        #expect(registry.openFailures == ["other": 1])

        // Not wanted any more: no longer shown.
        await registry.reconcile([], peakWindow: 15)
        #expect(registry.unreachable.isEmpty)
        registry.closeAll()
    }
}
