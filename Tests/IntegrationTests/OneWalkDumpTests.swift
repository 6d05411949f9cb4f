import BacklogCore
import CSockDiag
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The one-walk request (both families at once, TCPDIAG_GETSOCK) must answer
/// exactly what the two per-family requests answer, with and without the port
/// filter, on the real kernel.
@Suite struct OneWalkDumpTests {
    struct Seen: Sendable, Equatable {
        var oneWalk: Set<[UInt64]>
        var perFamily: Set<[UInt64]>
        var families: Set<UInt8>
        var malformed: UInt64
    }

    /// (family, local port, inode, remote port, state, rqueue, wqueue) of each record.
    static func key(_ r: bd_tcp_record) -> [UInt64] {
        [UInt64(r.family), UInt64(r.local_port), UInt64(r.inode), UInt64(r.remote_port),
         UInt64(r.state), UInt64(r.rqueue), UInt64(r.wqueue)]
    }

    static func dumps(states: UInt32, ports: [UInt16]) throws -> Seen {
        let sock = try SockDiagSocket()
        var one = Set<[UInt64]>(), per = Set<[UInt64]>(), families = Set<UInt8>()
        try sock.dumpTCP(family: SockDiagSocket.bothFamilies, states: states, ports: ports) { batch in
            for r in batch { one.insert(key(r)); families.insert(r.family) }
        }
        for family in [AF_INET, AF_INET6] {
            try sock.dumpTCP(family: family, states: states, ports: ports) { batch in
                for r in batch { per.insert(key(r)) }
            }
        }
        return Seen(oneWalk: one, perFamily: per, families: families, malformed: sock.malformedMessages)
    }

    @Test func oneWalkAnswersWhatBothFamiliesAnswer() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let ports = try ns.enter { () -> [UInt16] in
                var ports: [UInt16] = []
                for i in 0..<40 {
                    let address = i % 3 == 0 ? "::1" : "127.0.0.1"
                    let l = try TestSockets.listenTCP(address, backlog: 8, bag: bag)
                    ports.append(l.port)
                    // Queued (and so ESTABLISHED) connections on some of them.
                    if i % 4 == 0 { for _ in 0..<2 { _ = try TestSockets.connectTCP(address, port: l.port, bag: bag) } }
                }
                return ports
            }
            try waitUntil("the queued connections") {
                SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).reduce(0) { $0 + $1.recvQ } == 20
            }
            let listen = try ns.enter { try Self.dumps(states: TCPStates.listen, ports: []) }
            #expect(listen.oneWalk.count == 40)
            #expect(listen.oneWalk == listen.perFamily)
            #expect(listen.families == [UInt8(AF_INET), UInt8(AF_INET6)])
            #expect(listen.malformed == 0)

            // The deep tick's request: connection states, filtered to some ports in the kernel.
            let some = Array(ports.prefix(20))
            let deep = try ns.enter {
                try Self.dumps(states: TCPStates.synRecv | TCPStates.established | TCPStates.closeWait, ports: some)
            }
            // 5 of the first 20 listeners have 2 queued connections: the server ends only.
            #expect(deep.oneWalk.count == 10)
            #expect(deep.oneWalk == deep.perFamily)
            #expect(deep.oneWalk.allSatisfy { some.contains(UInt16($0[1])) })
            #expect(deep.families == [UInt8(AF_INET), UInt8(AF_INET6)])
            #expect(deep.malformed == 0)
        }
    }
}
