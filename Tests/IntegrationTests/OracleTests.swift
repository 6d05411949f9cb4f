import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// ~50 random listeners in a fresh namespace; every one of them in
/// `backlogd --once --format json` must equal what `ss` prints for it.
@Suite struct OracleTests {
    /// A small deterministic generator, so a failure can be replayed from its seed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Plan: Sendable {
        var address: String   // where to bind
        var connectTo: String // where clients connect
        var v6only: Bool?
        var device: String?
        var backlog: Int32
        var clients: Int
    }

    @Test func everyListenerEqualsSS() throws {
        let seed = UInt64(UInt32(truncatingIfNeeded: Int(Date().timeIntervalSince1970)))
        var rng = SplitMix(state: seed)
        let kinds: [(String, String, Bool?, String?)] = [
            ("127.0.0.1", "127.0.0.1", nil, nil),
            ("0.0.0.0", "127.0.0.1", nil, nil),
            ("127.0.0.2", "127.0.0.2", nil, nil),
            ("0.0.0.0", "127.0.0.1", nil, "lo"),
            ("::1", "::1", nil, nil),
            ("::", "::1", true, nil),
            ("::", "127.0.0.1", false, nil),
        ]
        let plans: [Plan] = (0..<50).map { _ in
            let k = kinds[Int.random(in: 0..<kinds.count, using: &rng)]
            let backlog = Int32.random(in: 0...12, using: &rng)
            return Plan(address: k.0, connectTo: k.1, v6only: k.2, device: k.3, backlog: backlog,
                        clients: Int.random(in: 0...Int(backlog) + 3, using: &rng))
        }
        let unixBacklogs = (0..<6).map { _ in Int32.random(in: 0...8, using: &rng) }
        // Each queue holds at most backlog+1 (somaxconn is far above these backlogs).
        let expectedQueued = plans.reduce(0) { $0 + min($1.clients, Int($1.backlog) + 1) }

        try withNamespace { ns in
            let bag = SocketBag()
            let dir = "/tmp/bd-oracle-\(getpid())-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer {
                bag.closeAll()
                try? FileManager.default.removeItem(atPath: dir)
            }
            try ns.enter {
                for plan in plans {
                    let l = try TestSockets.listenTCP(plan.address, backlog: plan.backlog, v6only: plan.v6only,
                                                      device: plan.device, bag: bag)
                    for _ in 0..<plan.clients { _ = try TestSockets.connectTCP(plan.connectTo, port: l.port, bag: bag) }
                }
                for (i, backlog) in unixBacklogs.enumerated() {
                    let path = i % 2 == 0 ? "\(dir)/s\(i).sock" : "@bd-oracle-\(getpid())-\(i)"
                    _ = try TestSockets.listenUnix(path, backlog: backlog, bag: bag)
                    for _ in 0..<(i + 1) { _ = try TestSockets.connectUnix(path, bag: bag) }
                }
            }
            try waitUntil("all \(expectedQueued) connections to be queued (seed \(seed))") {
                SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout).reduce(0) { $0 + Int($1.recvQ) } == expectedQueued
            }
            let doc = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"], check: false).stdout)
            let ssTCP = SSOracle.parseTCP(try ns.exec(["ss", "-ltnHe"]).stdout)
            let ssUnix = SSOracle.parseUnix(try ns.exec(["ss", "-xlH"]).stdout)

            let ours = Set(doc.listeners.map {
                SSListener(family: $0.family, address: $0.address, port: $0.port, inode: $0.inode,
                           recvQ: $0.queue.length, sendQ: $0.queue.max)
            })
            let theirs = Set(ssTCP + ssUnix)
            #expect(ssTCP.count == plans.count, "ss shows every TCP listener (seed \(seed))")
            #expect(ssUnix.count == unixBacklogs.count)
            #expect(ours.subtracting(theirs).isEmpty, "only in backlogd (seed \(seed)): \(ours.subtracting(theirs))")
            #expect(theirs.subtracting(ours).isEmpty, "only in ss (seed \(seed)): \(theirs.subtracting(ours))")
            #expect(doc.listeners.count == theirs.count)
            for l in doc.listeners {
                #expect(l.queue.full == (l.queue.length > l.queue.max))
                #expect(l.netns == "host")
            }
        }
    }
}
