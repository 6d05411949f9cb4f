import BacklogCore
import Testing

@Suite struct ReuseportIndexTests {
    @Test func reuseportIndexFollowsInodeOrder() {
        let a = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 30, queueLength: 0, queueMax: 10)
        let b = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 10, queueLength: 5, queueMax: 10)
        let c = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 20, queueLength: 1, queueMax: 10)
        let other = Listener(family: .inet6, address: "::", port: 80, inode: 5, queueLength: 0, queueMax: 10)
        let out = ReuseportIndex.assign([a, b, c, other])
        #expect(out.map(\.socket) == [2, 0, 1, 0])
    }
}
