import BacklogCore

/// What HAProxy's `agent-send` names, one line: `P`, `A:P` or `N/A:P` (`[::1]:8080`
/// for IPv6; N is split off at the first `/`, the port taken after the last `:`).
/// Also `N/P`: any address of namespace N.
enum AgentRequest {
    /// A line's bytes (without its `\n`) as text: a `\r` and blanks around it dropped, invalid UTF-8 replaced.
    static func text(_ line: [UInt8]) -> Substring {
        var text = Substring(decoding: line, as: UTF8.self)
        while let last = text.last, last == "\r" || last == " " || last == "\t" { text = text.dropLast() }
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        return text
    }

    static func parse(_ line: Substring) -> ProbeTarget? {
        // A NUL or another control character names nothing (and would cut C strings).
        guard !line.unicodeScalars.contains(where: PrintableText.needsEscape) else { return nil }
        var rest = line
        var netns = WatchedNamespace.hostLabel
        if let slash = rest.firstIndex(of: "/") {
            netns = String(rest[..<slash])
            rest = rest[rest.index(after: slash)...]
            guard !netns.isEmpty else { return nil }
        }
        guard let colon = rest.lastIndex(of: ":") else {
            return ProbeQuery.port(rest).map { ProbeTarget(netns: netns, socket: .tcp(address: nil, port: $0)) }
        }
        guard let port = ProbeQuery.port(rest[rest.index(after: colon)...]) else { return nil }
        var address = rest[..<colon]
        if address.hasPrefix("["), address.hasSuffix("]") { address = address.dropFirst().dropLast() }
        guard let a = ProbeTarget.numericAddress(address) else { return nil }
        return ProbeTarget(netns: netns, socket: .tcp(address: a, port: port))
    }

    /// The answer in HAProxy's agent grammar, one line: `75% up`, or `down #<why>`
    /// (HAProxy shows the text after `#` as the reason). Untrusted text in the
    /// reason (process names) is escaped and the line kept short.
    static func answer(_ v: ProbeVerdict) -> String {
        switch v.state {
        case .up: "\(v.weight)% up\n"
        case .down, .unknown: "down #\(ProbeVerdict.cut(PrintableText.quoted(v.reason, limit: 400)))\n"
        }
    }
}
