import BacklogCore
import Testing

/// `--once` over namespaces when one is gone by the time it is joined.
@Suite struct OnceCollectionTests {
    // A path that does not exist fails at open() with ENOENT: the namespace's last process exited.
    private let gone = WatchedNamespace(label: "ns:4026599999", inode: 4_026_599_999, path: "/proc/0/ns/net-not-there")
    private let host = WatchedNamespace(label: WatchedNamespace.hostLabel, inode: 0, path: nil)

    @Test func aNamespaceGoneInASweepIsCountedAndLeftOut() async {
        let p = await OnceCollection.collect([host, gone], window: 0, settings: CollectorSettings())
        let all = p.snapshots
        #expect(all.map(\.netns) == ["host"])
        #expect(p.process.netnsOpenFailures == ["gone": 1])
        #expect(all[0].failedSources.isEmpty, "\(all[0].failedSources)")
    }

    @Test func theOnlyNamespaceAskedForBeingGoneIsAFailure() async {
        let all = await OnceCollection.collect([gone], window: 0, settings: CollectorSettings()).snapshots
        #expect(all.map(\.netns) == [gone.label])
        #expect(all[0].failedSources.map(\.name) == ["netns"])
    }
}
