import BacklogCore
import Testing

/// A /run/netns name is the `netns` label unless it would pass for another kind of label.
@Suite struct NetnsLabelTests {
    @Test func namesThatLookLikeOtherLabelsAreLabelledByInode() {
        #expect(NetnsDiscovery.label(name: "blue", inode: 7) == "blue")
        #expect(NetnsDiscovery.label(name: "host", inode: 7) == "ns:7")
        #expect(NetnsDiscovery.label(name: "ns:123", inode: 7) == "ns:7")
        #expect(NetnsDiscovery.label(name: "a\nb", inode: 7) == "a?b")
    }
}
