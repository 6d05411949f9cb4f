import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The incident backlogd is for, with a real HAProxy in front of two real nginx
/// backends in a namespace of the test's own: a hung backend that TCP health
/// checks keep in rotation, and the agent check that takes it out.
@Suite struct LoadBalancerTests {
    static let front: UInt16 = 8080
    static let agentPort: UInt16 = 24520

    /// GET / through HAProxy: the status and body, or the error (a client timeout).
    func request(_ ns: NetNamespace) -> String {
        HAProxyServer.answer(in: ns, port: Self.front)
    }

    /// The problem, documented: the stopped backend's kernel still completes
    /// handshakes, so HAProxy's TCP check passes and it stays UP, while every
    /// request sent to it waits until HAProxy's `timeout server` (504).
    @Test func tcpChecksKeepAHungBackendInRotation() throws {
        try withNamespace { ns in
            let b1 = try NginxServer(in: ns, port: 8081, backlog: 511, body: "b1")
            defer { b1.stop() }
            let b2 = try NginxServer(in: ns, port: 8082, backlog: 511, body: "b2")
            defer { b2.stop() }
            let lb = try HAProxyServer(in: ns, front: Self.front, servers: [.init(name: "b1", port: 8081), .init(name: "b2", port: 8082)],
                                       serverTimeout: "1s")
            defer { lb.stop() }
            for pid in b1.processes { kill(pid, SIGSTOP) }
            let outcomes = (0..<10).map { _ in request(ns) }
            #expect(outcomes.filter { $0 == "status 504" }.count >= 3, "requests sent to the hung backend time out: \(outcomes)")
            #expect(outcomes.filter { $0 == "b2" }.count >= 3, "\(outcomes)")
            #expect(!outcomes.contains("b1"))
            // Ten requests took about five check intervals of 500 ms: every check passed.
            let stat = try lb.stat()["b1"]
            #expect(stat?["status"] == "UP" && stat?["check_status"] == "L4OK", "\(String(describing: stat))")
        }
    }

    /// How HAProxy asks backlogd in the fix below: README's "Load balancers" snippets.
    enum Check: String, CaseIterable, Sendable {
        /// `agent-check` on both servers, against the agent port (the recommended way).
        case agent
        /// `option httpchk GET /probe?port=8081` with `check port 24519` on b1; b2 unchecked.
        case httpProbe
    }

    /// The fix: HAProxy asks backlogd. After SIGSTOP the accept queue holds the
    /// requests sent there, backlogd finds `not_accepting`, the agent answers
    /// `down #…` (or /probe 503) and HAProxy takes the backend out: then every
    /// request is served by the other. After SIGCONT it comes back.
    @Test(arguments: Check.allCases)
    func haproxyAskingBacklogdTakesAHungBackendOutAndBringsItBack(check: Check) throws {
        try withNamespace { ns in
            let b1 = try NginxServer(in: ns, port: 8081, backlog: 511, body: "b1")
            defer { b1.stop() }
            let b2 = try NginxServer(in: ns, port: 8082, backlog: 511, body: "b2")
            defer { b2.stop() }
            // backlogd with its default thresholds and ticks: what README promises.
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(Self.agentPort)"])
            defer { daemon.stop() }
            let agent = { (port: UInt16) in "check inter 500ms agent-check agent-port \(Self.agentPort) agent-inter 1s agent-send \"\(port)\\n\"" }
            let lb = switch check {
            case .agent:
                try HAProxyServer(in: ns, front: Self.front, servers: [
                    .init(name: "b1", port: 8081, options: agent(8081)), .init(name: "b2", port: 8082, options: agent(8082)),
                ], serverTimeout: "60s")
            case .httpProbe:
                try HAProxyServer(in: ns, front: Self.front, servers: [
                    .init(name: "b1", port: 8081, options: "check port 24519 inter 1s fall 1 rise 2"), .init(name: "b2", port: 8082, options: ""),
                ], serverTimeout: "60s", backend: ["option httpchk GET /probe?port=8081", "http-check expect status 200"])
            }
            defer { lb.stop() }
            if check == .agent {
                try waitUntil("HAProxy to have heard the agent on both servers") {
                    let stat = try lb.stat()
                    return ["b1", "b2"].allSatisfy { stat[$0]?["agent_status"] == "L7OK" && stat[$0]?["last_agt"] == "via agent : up" }
                }
            }

            for pid in b1.processes { kill(pid, SIGSTOP) }
            let stopped = Date()
            // Clients keep coming: the ones HAProxy sends to b1 wait in its accept queue.
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter {
                for _ in 0..<6 {
                    let fd = try HTTPProbe.connect("127.0.0.1", Self.front, bag: bag)
                    try HTTPProbe.send(fd, "GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
                }
            }
            var stat: [String: String]?
            try waitUntil("HAProxy to mark b1 DOWN", timeout: 60) {
                stat = try lb.stat()["b1"]
                return stat?["status"]?.hasPrefix("DOWN") == true
            }
            let took = Date().timeIntervalSince(stopped)
            switch check {
            case .agent:
                // HAProxy keeps ~120 characters of the reason: the finding's kind comes first.
                let reason = stat?["last_agt"] ?? ""
                #expect(stat?["status"] == "DOWN (agent)")
                #expect(reason.hasPrefix("via agent : down (not_accepting: 127.0.0.1:8081 (pid \(b1.master.pid) nginx): "), "after \(took) s: \(reason)")
                #expect(reason.contains("waiting for accept()"), "\(reason)")
            case .httpProbe:
                #expect(stat?["check_status"] == "L7STS" && stat?["check_code"] == "503", "after \(took) s: \(String(describing: stat))")
            }
            #expect(try lb.stat()["b2"]?["status"]?.hasPrefix("DOWN") == false)
            let served = (0..<100).map { _ in request(ns) }
            #expect(served == Array(repeating: "b2", count: 100), "after b1 went DOWN: \(served.filter { $0 != "b2" })")

            for pid in b1.processes { kill(pid, SIGCONT) }
            try waitUntil("HAProxy to mark b1 UP again", timeout: 60) { try lb.stat()["b1"]?["status"] == "UP" }
            try waitUntil("b1 to serve again") { request(ns) == "b1" }
        }
    }

    /// Hostile agent clients (2 000 connections that send nothing, 1 MB lines,
    /// bytes trickled without a newline) meet the connection cap (256: the oldest
    /// makes room), the 256-byte line limit and the 2 s deadline: scrapes and a
    /// well-behaved agent client are answered meanwhile, and memory stays flat.
    @Test func hostileAgentClientsNeitherBlockNorGrowMemory() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 64, bag: bag).port }
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(Self.agentPort)"])
            defer { daemon.stop() }
            func ask() -> String { (try? ns.enter { try AgentClient.ask("\(port)\n", port: Self.agentPort) }) ?? "" }
            try waitUntil("the agent to answer") { ask() == "100% up\n" }
            // No line within 2 s: closed without an answer.
            let silent = try ns.enter { () throws -> [UInt8] in
                let fd = try HTTPProbe.connect("127.0.0.1", Self.agentPort)
                defer { close(fd) }
                try HTTPProbe.send(fd, "\(port)")
                return try HTTPProbe.readAll(fd)
            }
            #expect(silent.isEmpty)
            for _ in 0..<20 { _ = ask(); _ = try scrape(ns) }
            let before = daemon.residentKiB

            let flood = IdleFlood(in: ns, port: Self.agentPort, count: 2000)
            flood.start()
            defer { flood.stop() }
            let stop = Flag()
            let attackers = DispatchGroup()
            // 1 MB lines without a newline, one connection after another.
            DispatchQueue.global().async(group: attackers) {
                let line = String(repeating: "9", count: 1 << 20)
                while !stop.isSet {
                    _ = try? ns.enter { try AgentClient.ask(line, port: Self.agentPort) }
                }
            }
            // Bytes trickled, 10 a second, never a newline.
            DispatchQueue.global().async(group: attackers) {
                while !stop.isSet {
                    _ = try? ns.enter {
                        let fd = try HTTPProbe.connect("127.0.0.1", Self.agentPort)
                        defer { close(fd) }
                        for _ in 0..<50 where !stop.isSet {
                            try HTTPProbe.send(fd, "1")
                            Thread.sleep(forTimeInterval: 0.1)
                        }
                    }
                }
            }
            var peak = before
            var answers: [String] = []
            var scrapes: [Int] = []
            // At least 8 s of attack, and on until each attacker has been met (the flood reopened
            // after evictions, a 1 MB line refused as too long; slow on a loaded machine), 60 s at most.
            let start = Date()
            var met = false
            while Date().timeIntervalSince(start) < 8 || (!met && Date().timeIntervalSince(start) < 60) {
                // A well-behaved client may be evicted by 256 newer ones before its line is read: HAProxy asks again.
                answers.append((0..<3).lazy.map { _ in ask() }.first { $0 == "100% up\n" } ?? "no answer")
                let reply = try? scrape(ns)
                scrapes.append(reply?.status ?? 0)
                let text = reply?.text ?? ""
                met = flood.reopened > 0 && (MetricsText.value(text, "backlogd_agent_connections_evicted_total", [:]) ?? 0) > 0
                    && (MetricsText.value(text, "backlogd_agent_unanswered_total", ["reason": "too_long"]) ?? 0) > 0
                peak = max(peak, daemon.residentKiB)
                Thread.sleep(forTimeInterval: 0.3)
            }
            stop.set()
            attackers.wait()
            #expect(flood.error == nil)
            #expect(flood.reopened > 0, "the daemon closed none of the idle connections")
            #expect(answers.allSatisfy { $0 == "100% up\n" }, "\(answers)")
            #expect(scrapes.allSatisfy { $0 == 200 }, "\(scrapes)")
            #expect(peak - before < 16 * 1024, "RSS grew from \(before) KiB to \(peak) KiB")
            let metrics = try scrape(ns).text
            let open = MetricsText.value(metrics, "backlogd_agent_connections_open", [:]) ?? -1
            #expect(open >= 0 && open <= 256, "\(open)")
            #expect((MetricsText.value(metrics, "backlogd_agent_connections_evicted_total", [:]) ?? 0) > 0)
            #expect((MetricsText.value(metrics, "backlogd_agent_unanswered_total", ["reason": "too_long"]) ?? 0) > 0)
            #expect((MetricsText.value(metrics, "backlogd_agent_unanswered_total", ["reason": "timeout"]) ?? 0) >= 1)
        }
    }
}

/// A flag one thread sets and others read.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
