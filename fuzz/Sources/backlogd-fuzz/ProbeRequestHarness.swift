import BacklogCore
@testable import BacklogHTTP

/// What a balancer sends, as `/probe`'s query and as an agent line (up to its
/// first newline, as AgentHandler reads it), judged
/// against a small fixed publication (a full listener, a fine one, a UNIX one):
/// whatever parses gives a verdict, and every answer is one line.
enum ProbeRequestHarness {
    static let publication: Publication = {
        var full = Listener(family: .inet, address: "127.0.0.1", port: 8080, inode: 1, queueLength: 5, queueMax: 4)
        full.owner = nil
        let fine = Listener(family: .inet6, address: "::", port: 8081, inode: 2, queueLength: 3, queueMax: 4, queuePeak: 5, v6Only: false)
        let unix = Listener(family: .unix, address: "/run/app.sock", port: nil, inode: 3, queueLength: 0, queueMax: 8)
        return Publication(snapshots: [Snapshot(netns: "host", timestamp: 0, windowSeconds: 0, listeners: [full, fine, unix],
                                                netstat: nil, sysctls: [:], sources: [])])
    }()

    static func run(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let target = try? ProbeQuery.parse(Substring(text)) {
            answer(ProbeVerdict.judge(target, in: publication))
        }
        // The agent's line as AgentHandler reads it: up to the first newline.
        let line = Array(bytes).split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        if let target = AgentRequest.parse(AgentRequest.text(Array(line))) {
            answer(ProbeVerdict.judge(target, in: publication))
        }
    }

    static func answer(_ v: ProbeVerdict) {
        check((1...100).contains(v.weight), "weight \(v.weight)")
        let line = AgentRequest.answer(v)
        check(line.hasSuffix("\n") && line.filter { $0 == "\n" || $0 == "\r" }.count == 1, "an answer of more than one line: \(line)")
        check(line.hasPrefix("down #") || line.hasSuffix("% up\n"), "answer \(line)")
        check(line.utf8.count < 2048, "an answer of \(line.utf8.count) bytes")
    }
}
