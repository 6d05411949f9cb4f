import BacklogCore
import CSockDiag
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Accept queues of real listeners in a namespace of the test's own, checked
/// against `ss` in the same namespace.
@Suite struct ListenerQueueTests {
    @Test func fullTCPQueueMatchesSS() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter {
                let l = try TestSockets.listenTCP("127.0.0.1", backlog: 4, bag: bag)
                for _ in 0..<10 { _ = try TestSockets.connectTCP("127.0.0.1", port: l.port, bag: bag) }
                return l.port
            }
            var snap: Snapshot?
            try waitUntil("the accept queue to hold 5") {
                snap = try ns.collect().snapshots[0]
                return snap?.listeners.first { $0.port == port }?.queueLength == 5
            }
            let l = try #require(snap?.listeners.first { $0.port == port })
            #expect(l.family == .inet && l.address == "127.0.0.1")
            #expect(l.queueMax == 4)
            #expect(l.isFull)
            let ss = SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout)
            #expect(ss.contains(SSListener(family: "inet", address: "127.0.0.1", port: port, inode: l.inode, recvQ: 5, sendQ: 4)),
                    "ss shows \(ss)")
            // The namespace's own counters, read through /proc/thread-self.
            #expect((snap?.counter(.listenOverflows) ?? 0) > 0)
            #expect(snap?.findings.contains { $0.kind == "accept_queue_full" && $0.listener?.inode == l.inode } == true)

            // The raw records: tcp_info of a listener aliases the queue (unacked = length,
            // sacked = max); the unaccepted children are ESTABLISHED with inode 0 and a
            // tcp_info that ages them.
            struct Raw: Sendable { var unacked: UInt32; var sacked: UInt32; var children: [bd_tcp_record] }
            let raw = try ns.enter { () -> Raw in
                let sock = try SockDiagSocket()
                var listener: bd_tcp_record?
                var children: [bd_tcp_record] = []
                try sock.dumpTCP(family: AF_INET, states: TCPStates.listen | TCPStates.established, ports: [port]) { batch in
                    for r in batch {
                        if r.state == 10 { listener = r } else { children.append(r) }
                    }
                }
                return Raw(unacked: listener?.tcpi_unacked ?? 0, sacked: listener?.tcpi_sacked ?? 0, children: children)
            }
            #expect(raw.unacked == 5 && raw.sacked == 4)
            #expect(raw.children.count == 5)
            #expect(raw.children.allSatisfy { $0.inode == 0 && $0.has_info == 1 && $0.local_port == port })
            #expect(raw.children.allSatisfy { $0.tcpi_last_data_recv < 600_000 && $0.tcpi_last_ack_recv < 600_000 })

            let once = try ns.exec([backlogdPath(), "--once", "--window", "0"], check: false)
            #expect(once.status == 1, "a full queue is a warning: \(once.stderr)")
            #expect(once.stdout.contains("127.0.0.1:\(port)"))
            #expect(once.stdout.contains("FULL"))
        }
    }

    @Test func ipv6WildcardAndReuseportListenersAreSeparate() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            struct Ports: Sendable { var v6, wildcard, dual, reuse: UInt16; var filledInode: UInt32 }
            let p = try ns.enter {
                let v6 = try TestSockets.listenTCP("::1", backlog: 6, bag: bag)
                for _ in 0..<2 { _ = try TestSockets.connectTCP("::1", port: v6.port, bag: bag) }
                let wild = try TestSockets.listenTCP("0.0.0.0", backlog: 3, bag: bag)
                _ = try TestSockets.connectTCP("127.0.0.1", port: wild.port, bag: bag)
                // Dual-stack `::` takes IPv4 clients too.
                let dual = try TestSockets.listenTCP("::", backlog: 9, v6only: false, bag: bag)
                for _ in 0..<3 { _ = try TestSockets.connectTCP("127.0.0.1", port: dual.port, bag: bag) }
                // Two SO_REUSEPORT members: the first is filled before the second exists.
                let a = try TestSockets.listenTCP("127.0.0.1", backlog: 8, reusePort: true, bag: bag)
                for _ in 0..<4 { _ = try TestSockets.connectTCP("127.0.0.1", port: a.port, bag: bag) }
                _ = try TestSockets.listenTCP("127.0.0.1", port: a.port, backlog: 8, reusePort: true, bag: bag)
                var st = stat()
                guard fstat(a.fd, &st) == 0 else { throw POSIXFailure("fstat") }
                return Ports(v6: v6.port, wildcard: wild.port, dual: dual.port, reuse: a.port, filledInode: UInt32(st.st_ino))
            }
            var snap: Snapshot?
            try waitUntil("all connections to be queued") {
                snap = try ns.collect().snapshots[0]
                return snap?.listeners.reduce(0) { $0 + $1.queueLength } == 2 + 1 + 3 + 4
            }
            let ls = try #require(snap?.listeners)
            let v6 = try #require(ls.first { $0.port == p.v6 })
            #expect(v6.family == .inet6 && v6.address == "::1" && v6.queueLength == 2 && v6.queueMax == 6)
            let wild = try #require(ls.first { $0.port == p.wildcard })
            #expect(wild.family == .inet && wild.address == "0.0.0.0" && wild.queueLength == 1 && wild.queueMax == 3)
            let dual = try #require(ls.first { $0.port == p.dual })
            #expect(dual.family == .inet6 && dual.address == "::" && dual.v6Only == false && dual.queueLength == 3)
            let members = ls.filter { $0.port == p.reuse }.sorted { $0.socket < $1.socket }
            #expect(members.count == 2)
            #expect(members.map(\.socket) == [0, 1])
            // Each member has its own queue: the filled one is found by its fd's inode.
            #expect(members.map { $0.inode == p.filledInode ? 4 : 0 } == members.map(\.queueLength))
            #expect(members.contains { $0.inode == p.filledInode })
            #expect(members[0].inode < members[1].inode, "socket index follows inode order")

            // Same numbers in the JSON and in ss.
            let json = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"]).stdout)
            let ss = SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout)
            for l in json.listeners {
                #expect(ss.contains(SSListener(family: l.family, address: l.address, port: l.port, inode: l.inode,
                                               recvQ: l.queue.length, sendQ: l.queue.max)), "\(l) not in \(ss)")
            }
            #expect(json.listeners.count == ss.count)
            // In the table, the members are told apart by their socket index.
            let table = try ns.exec([backlogdPath(), "--once", "--window", "0"]).stdout.split(separator: "\n")
            for (i, m) in members.enumerated() {
                #expect(table.contains { $0.contains("127.0.0.1:\(p.reuse) #\(i) ") && $0.contains(" \(m.queueLength) ") }, "\(table)")
            }
        }
    }

    @Test func unixListenersPathAndAbstract() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            let path = "/tmp/bd-\(getpid())-\(UUID().uuidString.prefix(8)).sock"
            let abstract = "@bd-abstract-\(getpid())-\(UUID().uuidString.prefix(8))"
            defer {
                bag.closeAll()
                unlink(path)
            }
            let accepted = try ns.enter {
                _ = try TestSockets.listenUnix(path, backlog: 3, bag: bag)
                var ok = 0
                for _ in 0..<6 where try TestSockets.connectUnix(path, bag: bag) != nil { ok += 1 }
                _ = try TestSockets.listenUnix(abstract, backlog: 5, type: Int32(SOCK_SEQPACKET.rawValue), bag: bag)
                _ = try TestSockets.connectUnix(abstract, type: Int32(SOCK_SEQPACKET.rawValue), bag: bag)
                return ok
            }
            #expect(accepted == 4, "a UNIX listener also holds max+1")
            let snap = try ns.collect().snapshots[0]
            let file = try #require(snap.listeners.first { $0.address == path })
            #expect(file.family == .unix && file.port == nil && file.unixType == "stream")
            #expect(file.queueLength == 4 && file.queueMax == 3 && file.isFull)
            let abs = try #require(snap.listeners.first { $0.address == abstract })
            #expect(abs.unixType == "seqpacket" && abs.queueLength == 1 && abs.queueMax == 5)

            let ss = SSOracle.parseUnix(try ns.exec(["ss", "-xlH"]).stdout)
            #expect(ss.contains(SSListener(family: "unix", address: path, port: nil, inode: file.inode, recvQ: 4, sendQ: 3)), "\(ss)")
            #expect(ss.contains(SSListener(family: "unix", address: abstract, port: nil, inode: abs.inode, recvQ: 1, sendQ: 5)), "\(ss)")
        }
    }
}
