import BacklogCore
@testable import BacklogHTTP
import Testing

/// How `/probe`'s query and the agent's line name a listener, and the agent's answers.
@Suite struct ProbeRequestTests {
    func tcp(_ port: UInt16, _ address: String? = nil, netns: String = "host") -> ProbeTarget {
        ProbeTarget(netns: netns, socket: .tcp(address: address, port: port))
    }

    @Test func probeQueries() throws {
        #expect(try ProbeQuery.parse("port=8080") == tcp(8080))
        #expect(try ProbeQuery.parse("port=8080&address=127.0.0.1&netns=blue") == tcp(8080, "127.0.0.1", netns: "blue"))
        #expect(try ProbeQuery.parse("address=%5B::1%5D&port=443") == tcp(443, "::1"))
        #expect(try ProbeQuery.parse("port=443&address=fe80::1%25eth0") == tcp(443, "fe80::1%eth0"))
        #expect(try ProbeQuery.parse("path=/run/php/fpm.sock") == ProbeTarget(socket: .unix(path: "/run/php/fpm.sock")))
        #expect(try ProbeQuery.parse("path=@abstract&netns=ns:4026532000") == ProbeTarget(netns: "ns:4026532000", socket: .unix(path: "@abstract")))
        let bad: [(Substring, String)] = [
            ("", "port is missing"), ("port=", "port '' is not 1–65535"), ("port", "port has no value"),
            ("port=0", "not 1–65535"), ("port=65536", "not 1–65535"), ("port=+80", "not 1–65535"), ("port=080000", "not 1–65535"),
            ("port=80&port=81", "port is given twice"), ("port=80&addr=1.2.3.4", "unknown parameter 'addr'"),
            ("port=80&address=localhost", "not a numeric IPv4 or IPv6 address"), ("port=80&address=%zz", "bad percent-encoding"),
            ("port=80&address=%ff", "bad percent-encoding"), ("path=/x&port=80", "no port or address with it"),
            ("port=80&netns=", "netns is empty"),
            ("port=80&address=127.0.0.1%00junk", "address holds a control character (U+0000)"),
            ("port=80&netns=blue%0a", "netns holds a control character (U+000A)"),
            ("path=/run/x.sock%1b%5b2J", "path holds a control character (U+001B)"),
            ("port=80&address=127.0.0.1%C2%85", "address holds a control character (U+0085)"),
        ]
        for (query, message) in bad {
            do {
                let t = try ProbeQuery.parse(query)
                Issue.record("accepted \(query): \(t)")
            } catch {
                #expect(error.message.contains(message), "\(query): \(error.message)")
            }
        }
    }

    @Test func agentLines() {
        #expect(AgentRequest.parse("8080") == tcp(8080))
        #expect(AgentRequest.parse("127.0.0.1:8080") == tcp(8080, "127.0.0.1"))
        #expect(AgentRequest.parse("[::1]:8080") == tcp(8080, "::1"))
        #expect(AgentRequest.parse("blue/10.0.0.5:80") == tcp(80, "10.0.0.5", netns: "blue"))
        #expect(AgentRequest.parse("ns:4026532000/[fe80::1%eth0]:80") == tcp(80, "fe80::1%eth0", netns: "ns:4026532000"))
        #expect(AgentRequest.parse("blue/80") == tcp(80, netns: "blue"))
        for bad in ["", "x", "0", "70000", ":80", "/80", "blue/", "localhost:80", "1.2.3.4:", "[::1]", "a/b/1.2.3.4:80",
                    "127.0.0.1\u{0}junk:80", "blue\u{1b}/80", "80\u{0}"] {
            #expect(AgentRequest.parse(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func agentAnswersInHAProxysGrammar() {
        #expect(AgentRequest.answer(ProbeVerdict(state: .up, weight: 75, sentence: "fine")) == "75% up\n")
        #expect(AgentRequest.answer(ProbeVerdict(state: .up, sentence: "fine")) == "100% up\n")
        #expect(AgentRequest.answer(ProbeVerdict(state: .down, sentence: "127.0.0.1:80: not accepting")) == "down #127.0.0.1:80: not accepting\n")
        // A process name with a newline cannot end the line early; a long reason is cut.
        let hostile = AgentRequest.answer(ProbeVerdict(state: .down, sentence: "pid 1 evil\nup\r" + String(repeating: "x", count: 5000)))
        #expect(hostile.hasPrefix("down #pid 1 evil\\x0aup\\x0d") && hostile.filter { $0 == "\n" }.count == 1 && hostile.utf8.count <= "down #\n".utf8.count + 100, "\(hostile.prefix(60))")
        #expect(AgentRequest.answer(ProbeVerdict(state: .unknown, sentence: "no such listener: *:81 (netns host)")).hasPrefix("down #no such listener"))
    }
}
