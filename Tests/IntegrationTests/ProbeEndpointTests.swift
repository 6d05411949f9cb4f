import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `GET /probe` and the HAProxy agent on real listeners in a namespace of the
/// test's own: 503 / `down` while a queue is over its max, 200 / `NN% up`
/// otherwise (less than 100 % as it fills or after it was full), 404 for what is
/// not watched, 400 for a bad query; both answer alike.
@Suite struct ProbeEndpointTests {
    static let agentPort: UInt16 = 24520

    func probe(_ ns: NetNamespace, _ query: String) throws -> (status: Int, text: String) {
        let r = try scrape(ns, "/probe?" + query)
        return (r.status, r.text)
    }

    func agent(_ ns: NetNamespace, _ line: String) throws -> String {
        try ns.enter { try AgentClient.ask(line + "\n", port: Self.agentPort) }
    }

    /// Waits until the probe answers `status` with a body starting with `prefix`; returns the body.
    @discardableResult
    func expectProbe(_ ns: NetNamespace, _ query: String, _ status: Int, _ prefix: String) throws -> String {
        var last = (0, "")
        try waitUntil("/probe?\(query) to answer \(status) \(prefix)…") {
            last = try probe(ns, query)
            return last.0 == status && last.1.hasPrefix(prefix)
        }
        return last.1
    }

    @Test func probeAndAgentJudgeEachKindOfListener() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let unixFull = temporaryPath("full.sock"), unixFine = temporaryPath("fine.sock")
            defer { unlink(unixFull); unlink(unixFine) }
            struct Ports: Sendable { var full, v6, wildcard, group, excluded, mapped: UInt16; var fullFd: Int32 }
            let p = try ns.enter { () throws -> Ports in
                // IPv4, max 1, two clients nobody accepts: over its max.
                let full = try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: bag)
                _ = try Clients.connect(2, port: full.port, bag: bag)
                // IPv6, max 8, six clients: three quarters full.
                let v6 = try TestSockets.listenTCP("::1", backlog: 8, bag: bag)
                for _ in 0..<6 { _ = try TestSockets.connectTCP("::1", port: v6.port, bag: bag) }
                // A wildcard and a specific address on one port; the specific one full.
                let wildcard = try TestSockets.listenTCP("0.0.0.0", backlog: 8, reusePort: true, bag: bag)
                _ = try TestSockets.listenTCP("127.0.0.2", port: wildcard.port, backlog: 1, reusePort: true, bag: bag)
                for _ in 0..<2 { _ = try TestSockets.connectTCP("127.0.0.2", port: wildcard.port, bag: bag) }
                // A SO_REUSEPORT group: member 0 filled before member 1 existed.
                let member0 = try TestSockets.listenTCP("127.0.0.3", backlog: 1, reusePort: true, bag: bag)
                for _ in 0..<2 { _ = try TestSockets.connectTCP("127.0.0.3", port: member0.port, bag: bag) }
                _ = try TestSockets.listenTCP("127.0.0.3", port: member0.port, backlog: 16, reusePort: true, bag: bag)
                let excluded = try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag)
                // IPv6 bound to a v4-mapped address (dual-stack): it takes IPv4 clients of 127.0.0.4.
                let mapped = try TestSockets.listenTCP("::ffff:127.0.0.4", backlog: 1, v6only: false, bag: bag)
                for _ in 0..<2 { _ = try TestSockets.connectTCP("127.0.0.4", port: mapped.port, bag: bag) }
                // UNIX: one over its max, one empty.
                _ = try TestSockets.listenUnix(unixFull, backlog: 1, bag: bag)
                for _ in 0..<2 { _ = try TestSockets.connectUnix(unixFull, bag: bag) }
                _ = try TestSockets.listenUnix(unixFine, backlog: 4, bag: bag)
                return Ports(full: full.port, v6: v6.port, wildcard: wildcard.port, group: member0.port,
                             excluded: excluded.port, mapped: mapped.port, fullFd: full.fd)
            }
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(Self.agentPort)", "--exclude-port", "\(p.excluded)"])
            defer { daemon.stop() }

            // Over its max now: out, with the finding's sentence.
            let down = try expectProbe(ns, "port=\(p.full)", 503, "down: accept_queue_full: 127.0.0.1:\(p.full) (pid ")
            #expect(down.contains("accept queue full 2/1"), "\(down)")
            #expect(try agent(ns, "\(p.full)").hasPrefix("down #accept_queue_full: 127.0.0.1:\(p.full) (pid "))
            #expect(try agent(ns, "127.0.0.1:\(p.full)").hasPrefix("down #"))

            // IPv6, three quarters full: in, at 55 % (the weight rule), by address in brackets or not.
            try expectProbe(ns, "port=\(p.v6)&address=%5B::1%5D", 200, "up 55%: [::1]:\(p.v6)")
            try expectProbe(ns, "port=\(p.v6)&address=0:0:0:0:0:0:0:1", 200, "up 55%")
            #expect(try agent(ns, "[::1]:\(p.v6)") == "55% up\n")
            #expect(try agent(ns, "host/[::1]:\(p.v6)\r") == "55% up\n", "CRLF and the netns")

            // Wildcard + specific: the port as a whole is as bad as its worst; an
            // address only the wildcard takes is fine.
            try expectProbe(ns, "port=\(p.wildcard)", 503, "down: accept_queue_full: 127.0.0.2:\(p.wildcard)")
            try expectProbe(ns, "port=\(p.wildcard)&address=127.0.0.2", 503, "down")
            try expectProbe(ns, "port=\(p.wildcard)&address=127.0.0.1", 200, "up 100%: 0.0.0.0:\(p.wildcard)")
            // A v4-mapped address is the IPv4 address it reaches (an AF_INET6 client's view).
            try expectProbe(ns, "port=\(p.wildcard)&address=::ffff:127.0.0.2", 503, "down: accept_queue_full: 127.0.0.2:\(p.wildcard)")
            try expectProbe(ns, "port=\(p.full)&address=%5B::ffff:127.0.0.1%5D", 503, "down: accept_queue_full: 127.0.0.1:\(p.full)")
            #expect(try agent(ns, "[::ffff:127.0.0.1]:\(p.wildcard)") == "100% up\n")
            // And the reverse: the IPv4 address names the listener bound to its mapped form.
            try expectProbe(ns, "port=\(p.mapped)&address=127.0.0.4", 503, "down: accept_queue_full: ")
            #expect(try agent(ns, "127.0.0.4:\(p.mapped)").hasPrefix("down #accept_queue_full: "))
            #expect(try agent(ns, "127.0.0.1:\(p.wildcard)") == "100% up\n")
            #expect(try agent(ns, "\(p.wildcard)").hasPrefix("down #accept_queue_full: 127.0.0.2:\(p.wildcard)"))

            // SO_REUSEPORT: both members watched; the full one decides.
            try waitUntil("both members of the group in /snapshot") {
                let doc = try OnceDocument.decode(try scrape(ns, "/snapshot").text)
                return Set(doc.listeners.filter { $0.port == p.group }.map(\.socket)) == [0, 1]
            }
            try expectProbe(ns, "port=\(p.group)", 503, "down: accept_queue_full: 127.0.0.3:\(p.group)")

            // UNIX listeners by path.
            try expectProbe(ns, "path=\(unixFull)", 503, "down: accept_queue_full: \(unixFull)")
            try expectProbe(ns, "path=\(unixFine)", 200, "up 100%: \(unixFine)")

            // Not watched: no listener, a namespace that is not watched, a listener the filters leave out.
            let closed = try ns.enter { () throws -> UInt16 in
                let once = SocketBag()
                defer { once.closeAll() }
                return try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: once).port
            }
            try expectProbe(ns, "port=\(closed)", 404, "no such listener: *:\(closed) (netns host) is not watched")
            #expect(try probe(ns, "port=\(p.v6)&netns=elsewhere") == (404, "no such listener: netns elsewhere is not watched\n"))
            let left = try probe(ns, "port=\(p.excluded)")
            #expect(left.status == 404 && left.text.contains("filters or max_listeners"), "\(left)")
            #expect(try agent(ns, "\(p.excluded)").hasPrefix("down #no such listener: *:\(p.excluded) (netns host)"))

            // Bad queries and lines.
            for q in ["port=abc", "port=80&bogus=1", "address=127.0.0.1", "port=80&address=example.com", "port=80&port=81",
                      "port=\(p.wildcard)&address=127.0.0.1%00junk", "port=\(p.wildcard)&netns=host%0a"] {
                let r = try probe(ns, q)
                #expect(r.status == 400 && r.text.hasPrefix("bad probe: "), "\(q): \(r)")
            }
            #expect(try probe(ns, "port=\(p.wildcard)&address=127.0.0.1%00junk").text.contains("address holds a control character (U+0000)"))
            #expect(try agent(ns, "example.com:80").hasPrefix("down #bad agent-send line 'example.com:80'"))
            #expect(try scrape(ns, "/probe?port=\(p.full)").headers["content-type"] == "text/plain; charset=utf-8")

            // Drained: back in at once, but at half weight while the peak window remembers the full queue.
            let fd = p.fullFd
            try ns.enter { for _ in 0..<2 { close(accept(fd, nil, nil)) } }
            let drained = try expectProbe(ns, "port=\(p.full)", 200, "up 50%: 127.0.0.1:\(p.full)")
            #expect(drained.contains("was full within the peak window"), "\(drained)")
            #expect(try agent(ns, "\(p.full)") == "50% up\n")

            let metrics = try scrape(ns).text
            #expect((MetricsText.value(metrics, "backlogd_agent_answers_total", ["answer": "down"]) ?? 0) >= 3)
            #expect((MetricsText.value(metrics, "backlogd_agent_answers_total", ["answer": "up"]) ?? 0) >= 4)
            #expect(MetricsText.value(metrics, "backlogd_agent_answers_total", ["answer": "no_such_listener"]) == 1)
            #expect(MetricsText.value(metrics, "backlogd_agent_answers_total", ["answer": "bad_request"]) == 1)
        }
    }

    /// Without `--agent-listen` there is no agent port and no agent series.
    @Test func theAgentIsOffByDefault() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            #expect(!(try scrape(ns).text.contains("backlogd_agent_")))
            #expect(throws: (any Error).self) { try ns.enter { try AgentClient.ask("1\n", port: Self.agentPort) } }
        }
    }
}
