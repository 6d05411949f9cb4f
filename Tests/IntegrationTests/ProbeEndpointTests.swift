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

    /// The listeners and their clients, in a process that holds them: prints their ports
    /// as JSON; on SIGUSR1 accepts the two clients of the full one.
    static let fixture = #"""
import json, signal, socket, sys, time
unix_full, unix_fine = sys.argv[1], sys.argv[2]
keep = []
def tcp(addr, port=0, backlog=1, reuse=False, v6only=None):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    s.bind((addr, port)); s.listen(backlog); keep.append(s)
    return s
def connect(addr, port, n=1, family=None):
    out = []
    for _ in range(n):
        c = socket.socket(family or (socket.AF_INET6 if ":" in addr else socket.AF_INET))
        c.connect((addr, port)); keep.append(c); out.append(c)
    return out
full = tcp("127.0.0.1"); connect("127.0.0.1", full.getsockname()[1], 2)
v6 = tcp("::1", backlog=8); v6clients = connect("::1", v6.getsockname()[1], 6)
wildcard = tcp("0.0.0.0", backlog=8, reuse=True); wport = wildcard.getsockname()[1]
tcp("127.0.0.2", wport, reuse=True); connect("127.0.0.2", wport, 2)
member0 = tcp("127.0.0.3", reuse=True); gport = member0.getsockname()[1]
connect("127.0.0.3", gport, 2); tcp("127.0.0.3", gport, backlog=16, reuse=True)
excluded = tcp("127.0.0.1", backlog=8)
mapped = tcp("::ffff:127.0.0.4", v6only=False); connect("127.0.0.4", mapped.getsockname()[1], 2, socket.AF_INET)
u = socket.socket(socket.AF_UNIX); u.bind(unix_full); u.listen(1); keep.append(u)
for _ in range(2):
    c = socket.socket(socket.AF_UNIX); c.setblocking(False)
    try: c.connect(unix_full)
    except BlockingIOError: pass
    keep.append(c)
f = socket.socket(socket.AF_UNIX); f.bind(unix_fine); f.listen(4); keep.append(f)
def drain(*_):
    for _ in range(2): full.accept()[0].close()
signal.signal(signal.SIGUSR1, drain)
print(json.dumps({"full": full.getsockname()[1], "v6": v6.getsockname()[1], "wildcard": wport, "group": gport,
                  "excluded": excluded.getsockname()[1], "mapped": mapped.getsockname()[1]}), flush=True)
v6.setblocking(False)
while True:
    time.sleep(0.3)
    try: v6.accept()[0].close()
    except BlockingIOError: continue
    v6clients.pop(0).close(); v6clients += connect("::1", v6.getsockname()[1])
"""#

    @Test func probeAndAgentJudgeEachKindOfListener() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let unixFull = temporaryPath("full.sock"), unixFine = temporaryPath("fine.sock")
            defer { unlink(unixFull); unlink(unixFine) }
            // The listeners are held by a process of their own that does nothing else (the
            // test process runs other tests: its CPU would count as the holders running).
            // Those over their max are never accepted from (hung: idle); the IPv6 one is
            // busy: one of its six accepted every 0.3 s, another arriving.
            let fixture = try BackgroundProcess(["python3", "-u", "-c", Self.fixture, unixFull, unixFine], in: ns)
            defer { fixture.stop() }
            try waitUntil("the fixture's listeners") {
                if let s = fixture.poll() { throw DaemonExited(status: s, log: fixture.log) }
                return fixture.log.contains("}")
            }
            struct Ports: Decodable { var full, v6, wildcard, group, excluded, mapped: UInt16 }
            let json = try #require(fixture.log.split(separator: "\n").first { $0.hasPrefix("{") })
            let p = try JSONDecoder().decode(Ports.self, from: Data(json.utf8))
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(Self.agentPort)", "--exclude-port", "\(p.excluded)"])
            defer { daemon.stop() }

            // Over its max and never accepted from (its holder idle): hung, out, with the finding's sentence.
            let down = try expectProbe(ns, "port=\(p.full)", 503, "down: not_accepting: 127.0.0.1:\(p.full) (pid ")
            #expect(down.contains("queue 2/1"), "\(down)")
            #expect(try agent(ns, "\(p.full)").hasPrefix("down #not_accepting: 127.0.0.1:\(p.full) (pid "))
            #expect(try agent(ns, "127.0.0.1:\(p.full)").hasPrefix("down #"))

            // IPv6, three quarters full: in, at 55 % (the weight rule), by address in brackets or not.
            try expectProbe(ns, "port=\(p.v6)&address=%5B::1%5D", 200, "up 55%: [::1]:\(p.v6)")
            try expectProbe(ns, "port=\(p.v6)&address=0:0:0:0:0:0:0:1", 200, "up 55%")
            #expect(try agent(ns, "[::1]:\(p.v6)") == "55% up\n")
            #expect(try agent(ns, "host/[::1]:\(p.v6)\r") == "55% up\n", "CRLF and the netns")

            // Wildcard + specific: the port as a whole is as bad as its worst; an
            // address only the wildcard takes is fine.
            try expectProbe(ns, "port=\(p.wildcard)", 503, "down: not_accepting: 127.0.0.2:\(p.wildcard)")
            try expectProbe(ns, "port=\(p.wildcard)&address=127.0.0.2", 503, "down")
            try expectProbe(ns, "port=\(p.wildcard)&address=127.0.0.1", 200, "up 100%: 0.0.0.0:\(p.wildcard)")
            // A v4-mapped address is the IPv4 address it reaches (an AF_INET6 client's view).
            try expectProbe(ns, "port=\(p.wildcard)&address=::ffff:127.0.0.2", 503, "down: not_accepting: 127.0.0.2:\(p.wildcard)")
            try expectProbe(ns, "port=\(p.full)&address=%5B::ffff:127.0.0.1%5D", 503, "down: not_accepting: 127.0.0.1:\(p.full)")
            #expect(try agent(ns, "[::ffff:127.0.0.1]:\(p.wildcard)") == "100% up\n")
            // And the reverse: the IPv4 address names the listener bound to its mapped form.
            try expectProbe(ns, "port=\(p.mapped)&address=127.0.0.4", 503, "down: not_accepting: ")
            #expect(try agent(ns, "127.0.0.4:\(p.mapped)").hasPrefix("down #not_accepting: "))
            #expect(try agent(ns, "127.0.0.1:\(p.wildcard)") == "100% up\n")
            #expect(try agent(ns, "\(p.wildcard)").hasPrefix("down #not_accepting: 127.0.0.2:\(p.wildcard)"))

            // SO_REUSEPORT: both members watched; the full one decides.
            try waitUntil("both members of the group in /snapshot") {
                let doc = try OnceDocument.decode(try scrape(ns, "/snapshot").text)
                return Set(doc.listeners.filter { $0.port == p.group }.map(\.socket)) == [0, 1]
            }
            try expectProbe(ns, "port=\(p.group)", 503, "down: not_accepting: 127.0.0.3:\(p.group)")

            // UNIX listeners by path: their accepted connections are not followed, so one over its
            // max whose queue does not move is out as accept_queue_full (hung only at hung_after).
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

            // Drained: back in once its queue has been empty for probe.recover_after (2 s), at half
            // weight while the peak window remembers the full queue.
            fixture.signal(SIGUSR1)
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
