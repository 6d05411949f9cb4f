import BacklogCore

/// The human table of `backlogd --once`: findings first, then one row per
/// listener (fullest first), then counters and sysctls.
public enum TableRenderer {
    /// Several namespaces: one section each, separated by a blank line.
    public static func render(_ p: Publication, version: String) -> String {
        p.snapshots.map { render($0, version: version) }.joined(separator: "\n")
    }

    /// ` pod default/web-0` where the node named the pod (shorter than its `cri-containerd-<id>.scope`).
    static func podText(_ o: Owner) -> String? {
        guard let ns = o.pod?.namespace, let name = o.pod?.name else { return nil }
        return " pod " + printable(ns + "/" + name)
    }

    public static func render(_ s: Snapshot, version: String) -> String {
        var out = "backlogd \(version): netns \(printable(s.netns))"
        if let o = s.occupant {
            out += " (pid \(o.pid)" + (o.unit.map { ", " + printable($0) } ?? "") + ")"
        }
        out += ", " + counted(s.listeners.count, "listener")
        out += s.windowSeconds > 0 ? ", sampled over \(formatSeconds(s.windowSeconds))\n" : ", single dump\n"

        let failed = s.failedSources
        for src in failed {
            out += "ERROR    source \(src.name) failed: \(printable(src.error ?? "unknown error"))\n"
        }
        if !s.findings.isEmpty {
            out += "\nFINDINGS\n"
            for f in s.findings {
                out += pad(f.severity.rawValue.uppercased(), 9) + printable(f.message) + "\n"
            }
        }

        out += "\n"
        // SYN-RECV: new/half_open/deferred/overflowed; UNACCEPTED: count, oldest, unread bytes.
        var rows: [[String]] = [["PROTO", "LOCAL ADDRESS", "QUEUE", "MAX", "FILL", "PEAK", "DROPS", "SYN-RECV n/h/d/o", "UNACCEPTED", "STALLED", "CLOSE-WAIT", "PROCESS", ""]]
        // SO_REUSEPORT members share an address: `#n` is their `socket` label.
        var groupSizes: [GroupKey: Int] = [:]
        for l in s.listeners { groupSizes[l.groupKey, default: 0] += 1 }
        for l in s.listenersFullestFirst {
            let member = groupSizes[l.groupKey, default: 0] > 1 ? " #\(l.socket)" : ""
            rows.append([
                proto(l), printable(l.displayAddress) + member, String(l.queueLength), String(l.queueMax),
                fillText(l), String(l.queuePeak), dropsText(l, window: s.windowSeconds),
                l.connections.map { c in SynRecvKind.allCases.map { String(c.syn($0).count) }.joined(separator: "/") } ?? "",
                l.connections.map { c in c.unaccepted.count == 0 ? "0" : "\(c.unaccepted.count) \(formatSeconds(c.unaccepted.oldestSeconds)) \(c.unacceptedBytes)B" } ?? "",
                l.connections.map { aged($0.stalled) } ?? "",
                l.connections.map { aged($0.closeWait) } ?? "",
                l.owner.map { printable("\($0.comm)[\($0.pid)]") + (Self.podText($0) ?? $0.unit.map { " " + printable($0) } ?? "") }
                    ?? l.unattributed.map { "(\($0.rawValue))" } ?? "",
                l.isFull ? "FULL" : "",
            ])
        }
        out += table(rows, rightAligned: [2, 3, 4, 5, 6, 7, 8, 9, 10])
        if s.listenersLeftOut > 0 {
            out += "(\(counted(s.listenersLeftOut, "more listener")) left out by max_listeners: those with findings and the fullest are shown)\n"
        }
        if let dropped = s.trackingDropped, dropped > 0 {
            out += "(\(counted(dropped, "connection")) \(dropped == 1 ? "was" : "were") not tracked: the stall tracker was full)\n"
        }

        out += "\nLISTEN COUNTERS (TcpExt, /proc/net/netstat)\n"
        var counterRows: [[String]] = []
        for c in ListenCounter.allCases {
            let value = s.counter(c).map(String.init) ?? "-"
            let delta = s.counterDeltas?[c].map { "+\($0) in window" } ?? ""
            counterRows.append(["  " + c.rawValue, value, delta])
        }
        out += table(counterRows, rightAligned: [1])

        out += "\nSYSCTLS\n"
        out += table(SysctlSource.names.map { ["  " + $0, s.sysctls[$0].map(String.init) ?? "-"] }, rightAligned: [1])
        return out
    }

    static func proto(_ l: Listener) -> String {
        switch l.family {
        case .inet: "tcp"
        case .inet6: "tcp6"
        case .unix: l.unixType == "seqpacket" ? "u_seq" : "u_str"
        }
    }

    static func fillText(_ l: Listener) -> String {
        if l.queueMax == 0 { return l.queueLength > 0 ? "inf" : "0%" }
        return "\(Int((l.fill * 100).rounded()))%"
    }

    /// The socket's drop count, with its growth over the window when there was some: `42 +12`.
    static func dropsText(_ l: Listener, window: Double) -> String {
        guard let d = l.drops else { return "" }
        guard window > 0, let w = l.dropsInWindow, w > 0 else { return String(d) }
        return "\(d) +\(w)"
    }

    static func aged(_ a: AgedCount) -> String {
        a.count == 0 ? "0" : "\(a.count) \(formatSeconds(a.oldestSeconds))"
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\((s * 10).rounded() / 10) s"
    }

    /// `1 listener`, `2 listeners`.
    static func counted(_ n: some BinaryInteger, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    /// Socket and process names are untrusted: control characters would forge table
    /// lines, bidirectional controls reorder what follows (see PrintableText).
    static func printable(_ s: String) -> String {
        PrintableText.escaped(s)
    }

    static func pad(_ s: String, _ width: Int) -> String {
        let w = TerminalWidth.columns(s)
        return w >= width ? s + " " : s + String(repeating: " ", count: width - w)
    }

    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        guard let columns = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for r in rows {
            for (i, c) in r.enumerated() { widths[i] = max(widths[i], TerminalWidth.columns(c)) }
        }
        var out = ""
        for r in rows {
            var line = ""
            for (i, c) in r.enumerated() {
                let fill = String(repeating: " ", count: widths[i] - TerminalWidth.columns(c))
                line += rightAligned.contains(i) ? fill + c : c + fill
                if i < r.count - 1 { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
