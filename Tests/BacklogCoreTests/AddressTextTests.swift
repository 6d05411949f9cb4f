import BacklogCore
import Testing

@Suite struct AddressTextTests {
    @Test func unixNames() {
        #expect(AddressText.unixPath(Array("/run/php/fpm.sock".utf8)) == "/run/php/fpm.sock")
        #expect(AddressText.unixPath([0] + Array("abstract".utf8)) == "@abstract")
        #expect(AddressText.unixPath(Array("/tmp/a".utf8) + [0, 0]) == "/tmp/a")
        #expect(AddressText.unixPath([]) == "")
        // Invalid UTF-8 from an untrusted program is replaced, never passed on.
        let name = AddressText.unixPath([0x2F, 0xFF, 0xC3, 0x28])
        #expect(name == "/\u{FFFD}\u{FFFD}(")
    }

    @Test func reuseportIndexFollowsInodeOrder() {
        let a = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 30, queueLength: 0, queueMax: 10)
        let b = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 10, queueLength: 5, queueMax: 10)
        let c = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 20, queueLength: 1, queueMax: 10)
        let other = Listener(family: .inet6, address: "::", port: 80, inode: 5, queueLength: 0, queueMax: 10)
        let out = ReuseportIndex.assign([a, b, c, other])
        #expect(out.map(\.socket) == [2, 0, 1, 0])
    }

    @Test func queueFindings() {
        let full = Listener(family: .inet, address: "127.0.0.1", port: 8080, inode: 1, queueLength: 5, queueMax: 4)
        let clamped = Listener(family: .inet6, address: "::", port: 80, inode: 2, queueLength: 0, queueMax: 4096)
        let wasFull = Listener(family: .unix, address: "/s", port: nil, inode: 3, queueLength: 0, queueMax: 3, queuePeak: 4)
        let atMax = Listener(family: .inet, address: "0.0.0.0", port: 22, inode: 4, queueLength: 4, queueMax: 4)
        let ok = Listener(family: .inet, address: "0.0.0.0", port: 23, inode: 5, queueLength: 3, queueMax: 4)
        let f = QueueFindings.evaluate(listeners: [full, clamped, wasFull, atMax, ok], somaxconn: 4096)
        #expect(f.map(\.kind).sorted() == ["accept_queue_full", "accept_queue_full", "accept_queue_near_full", "backlog_clamped"])
        #expect(f.contains { $0.kind == "accept_queue_near_full" && $0.listener?.inode == 4 && $0.severity == .warning })
        #expect(f.first?.severity == .warning)
        #expect(f.contains { $0.kind == "backlog_clamped" && $0.severity == .info && $0.message.contains("somaxconn") })
        #expect(f.contains { $0.listener?.inode == 1 && $0.message.contains("5/4") })
        #expect(f.contains { $0.listener?.inode == 3 && $0.message.contains("peak 4/3") })
    }
}
