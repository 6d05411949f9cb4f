import BacklogCore
import CSockDiag
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Dumps larger than one receive buffer and one record batch, and a dump
/// abandoned half-way, on the real kernel.
@Suite struct DumpStreamingTests {
    static let count = 1200

    struct Stop: Error {}

    @Test func manyListenersStreamInBatchesAndAbandonedDumpsRecover() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter {
                for i in 0..<Self.count {
                    let address = i % 2 == 0 ? "127.0.0.1" : "::1"
                    let l = try TestSockets.listenTCP(address, backlog: Int32(i % 50), bag: bag)
                    if i % 100 == 0 { _ = try TestSockets.connectTCP(address, port: l.port, bag: bag) }
                }
            }
            struct Seen: Sendable { var batches: [Int]; var afterAbandon: Int; var total: Int; var unique: Int }
            let seen = try ns.enter { () -> Seen in
                let sock = try SockDiagSocket()
                var batches: [Int] = []
                var cookies = Set<UInt64>()
                try sock.dumpTCP(family: AF_INET, states: TCPStates.listen) { batch in
                    batches.append(batch.count)
                    cookies.formUnion(batch.map(\.cookie))
                }
                // Stop reading after the first batch; the next dump must still work.
                do {
                    try sock.dumpTCP(family: AF_INET6, states: TCPStates.listen) { _ in throw Stop() }
                } catch is Stop {}
                var v6 = 0
                try sock.dumpTCP(family: AF_INET6, states: TCPStates.listen) { v6 += $0.count }
                return Seen(batches: batches, afterAbandon: v6, total: batches.reduce(0, +), unique: cookies.count)
            }
            #expect(seen.total == Self.count / 2 && seen.unique == seen.total)
            #expect(seen.batches.count >= 3, "several batches of at most \(SockDiagSocket.batchSize): \(seen.batches)")
            #expect(seen.batches.allSatisfy { $0 <= SockDiagSocket.batchSize })
            #expect(seen.afterAbandon == Self.count / 2)

            // And the whole path: every listener, numbers equal to ss.
            try waitUntil("the queued connections") {
                SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).reduce(0) { $0 + $1.recvQ } == 12
            }
            let snap = try ns.collect().snapshots[0]
            let ss = Set(SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout))
            let ours = Set(snap.listeners.map {
                SSListener(family: $0.family.rawValue, address: $0.address, port: $0.port, inode: $0.inode,
                           recvQ: $0.queueLength, sendQ: $0.queueMax)
            })
            #expect(ours.count == Self.count)
            #expect(ours == ss)
            #expect(snap.sources.allSatisfy { $0.up && $0.skipped == 0 })
        }
    }
}
