import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The incident the hung-or-busy judgement is for, end to end: two single-process
/// Apache backends (KeepAlive on, as Debian ships it) behind HAProxy with `check`
/// and `agent-check` on backlogd, under client traffic. HAProxy keeps idle
/// connections to them, so its own checks wait behind kept-alive connections for
/// seconds: the healthy one is busy, and must never be taken out. One is
/// SIGSTOPped: it goes DOWN, every request after that is answered by the other,
/// and after SIGCONT it comes back UP and stays.
@Suite struct HungBackendTests {
    static let front: UInt16 = 8080

    @Test func oneHungApacheIsTakenOutAndTheBusyOneNever() throws {
        try withNamespace { ns in
            let b1 = try ApacheServer(in: ns, port: 8081, workers: nil, body: "b1")
            defer { b1.stop() }
            let b2 = try ApacheServer(in: ns, port: 8082, workers: nil, body: "b2")
            defer { b2.stop() }
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(BusyWatch.agentPort)"])
            defer { daemon.stop() }
            // weight 100: the agent's percentages apply to it (HAProxy's default weight 1 turns
            // any answer below 100 % into 0, which drains the server).
            let agent = { (port: UInt16) in
                "weight 100 check inter 500ms agent-check agent-port \(BusyWatch.agentPort) agent-inter 1s agent-send \"\(port)\\n\""
            }
            let lb = try HAProxyServer(in: ns, front: Self.front, servers: [
                .init(name: "b1", port: 8081, options: agent(8081)), .init(name: "b2", port: 8082, options: agent(8082)),
            ], serverTimeout: "30s")
            defer { lb.stop() }
            let clients = try TestServers.start("requests", port: Self.front, ["4"], in: ns)
            defer { clients.stop() }
            // Traffic first: both busy, both in.
            Thread.sleep(forTimeInterval: 10)
            var stat = try lb.stat()
            #expect(stat["b1"]?["chkdown"] == "0" && stat["b2"]?["chkdown"] == "0", "busy is not down: \(stat)")

            for p in b1.processes { kill(p, SIGSTOP) }
            let stopped = Date()
            try waitUntil("HAProxy to mark b1 DOWN", timeout: 30) {
                stat = try lb.stat()
                if ProcessInfo.processInfo.environment["BD_DEBUG"] != nil {
                    let doc = try? OnceDocument.decode(try scrape(ns, "/snapshot").text)
                    print(String(format: "%.1f", Date().timeIntervalSince(stopped)), ["b1", "b2"].map { "\($0) \(stat[$0]?["status"] ?? "") w\(stat[$0]?["weight"] ?? "") \(stat[$0]?["last_agt"] ?? "")" },
                          doc?.listeners.filter { [8081, 8082].contains($0.port ?? 0) }.map { "\($0.port ?? 0) q\($0.queue.length) u\($0.connections?.unaccepted.count ?? -1)/\($0.connections?.unaccepted.oldest_seconds ?? -1)" } ?? [],
                          doc?.findings.map { "\($0.kind) \($0.message.suffix(60))" } ?? [])
                }
                return stat["b1"]?["status"] == "DOWN (agent)"
            }
            print("b1 DOWN \(String(format: "%.1f", Date().timeIntervalSince(stopped))) s after SIGSTOP: \(stat["b1"]?["last_agt"] ?? "")")
            #expect(stat["b1"]?["last_agt"]?.hasPrefix("via agent : down (not_accepting: 127.0.0.1:8081 (pid \(b1.master.pid) apache2): ") == true,
                    "\(stat["b1"]?["last_agt"] ?? "")")
            // For the rest of a minute: every request is answered (by b2), and b2 never goes down.
            var answers: [String] = []
            while Date().timeIntervalSince(stopped) < 60 {
                answers.append("\(String(format: "%.1f", Date().timeIntervalSince(stopped))) s: " + lb.answer(in: ns))
                Thread.sleep(forTimeInterval: 0.2)
            }
            stat = try lb.stat()
            #expect(!answers.isEmpty && answers.allSatisfy { $0.hasSuffix(" s: b2") }, "\(answers.count) requests: \(answers.filter { !$0.hasSuffix(" s: b2") }.prefix(5))")
            #expect(stat["b2"]?["chkdown"] == "0" && stat["b2"]?["status"]?.hasPrefix("UP") == true, "b2: \(stat["b2"] ?? [:])")

            for p in b1.processes { kill(p, SIGCONT) }
            let resumed = Date()
            try waitUntil("b1 UP again", timeout: 30) { try lb.stat()["b1"]?["status"]?.hasPrefix("UP") == true }
            print("b1 UP \(String(format: "%.1f", Date().timeIntervalSince(resumed))) s after SIGCONT")
            let downs = try lb.stat()["b1"]?["chkdown"]
            Thread.sleep(forTimeInterval: 10)
            stat = try lb.stat()
            #expect(stat["b1"]?["status"]?.hasPrefix("UP") == true && stat["b1"]?["chkdown"] == downs, "b1 stays UP: \(stat["b1"] ?? [:])")
            #expect(stat["b2"]?["chkdown"] == "0", "b2: \(stat["b2"] ?? [:])")
        }
    }
}
