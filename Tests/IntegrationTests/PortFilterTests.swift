import BacklogCore
import CSockDiag
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The port set compiled to INET_DIAG_REQ_BYTECODE, against the real kernel.
@Suite struct PortFilterTests {
    struct Dumped: Sendable {
        var ports: [UInt16]
        var error: SockDiagError?
    }

    static func dumpPorts(_ ns: NetNamespace, family: Int32 = AF_INET, ports: [UInt16]) throws -> [UInt16] {
        try ns.enter {
            let sock = try SockDiagSocket()
            var seen: [UInt16] = []
            try sock.dumpTCP(family: family, states: TCPStates.listen, ports: ports) { batch in
                seen += batch.map(\.local_port)
            }
            return seen.sorted()
        }
    }

    @Test func onlyTheAskedPortsComeBack() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let ports = try ns.enter {
                try (0..<6).map { _ in try TestSockets.listenTCP("127.0.0.1", backlog: 5, bag: bag).port }
            }
            #expect(try Self.dumpPorts(ns, ports: []) == ports.sorted())
            #expect(try Self.dumpPorts(ns, ports: [ports[2]]) == [ports[2]])
            #expect(try Self.dumpPorts(ns, ports: [ports[0], ports[4]]) == [ports[0], ports[4]].sorted())
            // A large set in which only some ports listen.
            let many = (1...200).map { UInt16(40000 + $0) } + [ports[1], ports[3], ports[5]]
            // (Ephemeral listener ports can fall into 40001...40200 too.)
            #expect(try Self.dumpPorts(ns, ports: many) == ports.filter(many.contains).sorted())
            #expect(try Self.dumpPorts(ns, ports: [1, 2]) == [])
            #expect(try Self.dumpPorts(ns, family: AF_INET6, ports: [ports[0]]) == [])
        }
    }

    @Test func malformedProgramsAreRefused() throws {
        try withNamespace { ns in
            // Opcodes of linux/inet_diag.h (the enum is not imported into Swift).
            let jmp: UInt8 = 1, sEq: UInt8 = 11
            // Ops are {code u8, yes u8, no u16 LE}. An unknown opcode; a `no` target
            // that no `yes` path reaches; a jump past the end.
            let programs: [[UInt8]] = [
                [0xEE, 4, 8, 0],
                [sEq, 16, 12, 0, 0, 0, 80, 0, sEq, 8, 12, 0, 0, 0, 81, 0],
                [jmp, 4, 40, 0],
            ]
            for program in programs {
                let error = try ns.enter { () -> SockDiagError? in
                    let sock = try SockDiagSocket()
                    do {
                        try sock.dumpTCP(family: AF_INET, states: TCPStates.listen, bytecode: program) { _ in }
                        return nil
                    } catch let e as SockDiagError {
                        return e
                    }
                }
                #expect(error?.errno == EINVAL, "program \(program) gave \(String(describing: error))")
            }
            // The socket stays usable after a refused request: the next dump on it
            // gets the listeners, not the refusal's leftovers.
            let bag = SocketBag()
            defer { bag.closeAll() }
            let after = try ns.enter { () throws -> (SockDiagError?, [UInt16], [UInt16]) in
                let ports = try (0..<2).map { _ in try TestSockets.listenTCP("127.0.0.1", backlog: 5, bag: bag).port }
                let sock = try SockDiagSocket()
                var refused: SockDiagError?
                do {
                    try sock.dumpTCP(family: AF_INET, states: TCPStates.listen, bytecode: programs[0]) { _ in }
                } catch let e as SockDiagError {
                    refused = e
                }
                var seen: [UInt16] = []
                try sock.dumpTCP(family: AF_INET, states: TCPStates.listen) { batch in seen += batch.map(\.local_port) }
                return (refused, ports.sorted(), seen.sorted())
            }
            #expect(after.0?.errno == EINVAL, "\(String(describing: after.0))")
            #expect(after.2 == after.1, "the dump after the refused one")
        }
    }

    @Test func builderRefusesEmptyAndOversizedSets() {
        var buf = [UInt8](repeating: 0, count: 8192)
        #expect(bd_build_port_bytecode(nil, 0, &buf, buf.count) == -EINVAL)
        let tooMany = [UInt16](repeating: 80, count: Int(BD_MAX_FILTER_PORTS) + 1)
        #expect(bd_build_port_bytecode(tooMany, tooMany.count, &buf, buf.count) == -EINVAL)
        #expect(bd_build_port_bytecode([80, 81], 2, &buf, 8) == -ENOSPC)
        // Two ports: S_EQ, port, JMP, S_EQ, port = 5 ops of 4 bytes.
        #expect(bd_build_port_bytecode([80, 81], 2, &buf, buf.count) == 20)
    }
}
