import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The deep look on its own, on real sockets in a namespace of the test's:
/// connections waiting in an accept queue are counted per listener, an accept
/// between two looks is progress (and seen as an accept), no accept is none,
/// an early look at one port keeps the other listeners' numbers, and a namespace
/// with nothing waiting, unread or half-closed is quiet.
@Suite struct DeepCollectorTests {
    struct Look: Sendable {
        var unaccepted: [UInt16: Int] = [:]
        var progress: [UInt16: Bool] = [:]
        var acceptedSeen: [UInt16: Bool] = [:]
        var acceptedOpen: [UInt16: Int] = [:]
        var quiet = false
        var up = false
    }

    @Test func waitingAcceptedAndQuiet() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let a = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            let b = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag) }
            let clientsA = try ns.enter { try Clients.connect(3, port: a.port, bag: bag) }
            let clientsB = try ns.enter { try Clients.connect(2, port: b.port, bag: bag) }
            try waitUntil("the handshakes") { Clients.connected(clientsA + clientsB) }
            let looks = try ns.enter {
                try BlockingWait.run { () async -> [Look] in
                    let deep = DeepCollector(netns: "t")
                    var queued: [UInt16: UInt32] = [a.port: 3, b.port: 2]
                    func listeners() -> [Listener] {
                        [a.port, b.port].enumerated().map { i, p in
                            Listener(family: .inet, address: "127.0.0.1", port: p, inode: UInt32(i + 1), queueLength: queued[p]!, queueMax: 8)
                        }
                    }
                    func look(_ now: Double, only: Set<UInt16>? = nil) async -> Look {
                        let ls = listeners()
                        let r = await deep.collect(listeners: ls, now: now, onlyPorts: only)
                        var out = Look(quiet: r.isQuiet, up: r.status.up)
                        for l in ls {
                            let p = l.port!
                            out.unaccepted[p] = r.stats[l.groupKey]?.unaccepted.count
                            out.progress[p] = r.acceptProgress[l.groupKey]
                            out.acceptedSeen[p] = r.acceptedSeen[l.groupKey]
                            out.acceptedOpen[p] = r.acceptedOpen[l.groupKey]
                        }
                        return out
                    }
                    var out: [Look] = []
                    out.append(await look(1))                      // 0: the first look
                    let accepted = bag.keep(accept(a.fd, nil, nil))
                    queued[a.port] = 2
                    out.append(await look(2))                      // 1: one accepted on A
                    out.append(await look(3))                      // 2: nothing accepted since
                    var more: [Int32] = [accepted]
                    while queued[b.port]! > 0 {
                        more.append(bag.keep(accept(b.fd, nil, nil)))
                        queued[b.port]! -= 1
                    }
                    out.append(await look(4, only: [b.port]))      // 3: an early look at B alone
                    while queued[a.port]! > 0 {
                        more.append(bag.keep(accept(a.fd, nil, nil)))
                        queued[a.port]! -= 1
                    }
                    for fd in more + clientsA + clientsB { bag.close(fd) }
                    out.append(await look(5))                      // 4: nothing left anywhere
                    return out
                }
            }
            #expect(looks.allSatisfy { $0.up })
            #expect(looks[0].unaccepted == [a.port: 3, b.port: 2], "as ss: 3 and 2 waiting")
            #expect(looks[0].progress[a.port] == nil, "no earlier look to compare with")
            #expect(!looks[0].quiet)
            #expect(looks[1].unaccepted[a.port] == 2)
            #expect(looks[1].progress[a.port] == true && looks[1].acceptedSeen[a.port] == true, "one left the queue by accept()")
            #expect(looks[1].acceptedOpen[a.port] == 1)
            #expect(looks[1].progress[b.port] == false, "B accepted nothing")
            #expect(looks[2].progress[a.port] == false && looks[2].acceptedSeen[a.port] == false, "nothing since the last look")
            #expect(looks[3].unaccepted[b.port] == 0 && looks[3].progress[b.port] == true, "the early look saw B's accepts")
            #expect(looks[3].unaccepted[a.port] == 2, "and kept A's numbers from the last full look")
            #expect(looks[4].unaccepted == [a.port: 0, b.port: 0])
            #expect(looks[4].quiet, "nothing waiting, unread or half-closed: \(looks[4])")
        }
    }
}
