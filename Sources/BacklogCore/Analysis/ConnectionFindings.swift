/// Rules over a listener's queue and connections: each finding names the
/// listener, gives the numbers, and the likely cause in one sentence.
public enum ConnectionFindings {
    public static func evaluate(
        listeners: [Listener], halfOpenGrowth: [String: Int], cookieGrowth: UInt64?,
        netns: String, thresholds t: Thresholds
    ) -> [Finding] {
        var out: [Finding] = []
        for l in listeners {
            guard let c = l.connections, l.socket == 0 else { continue }
            let name = l.displayAddress
            let u = c.unaccepted
            if u.count > 0 && u.oldestSeconds >= t.notAcceptingAfter {
                var evidence = "\(u.count) connection\(u.count == 1 ? "" : "s") waiting for accept(), the oldest for \(seconds(u.oldestSeconds)), \(c.unacceptedBytes) request bytes unread; queue \(l.queueLength)/\(l.queueMax)"
                if let full = l.fullSeconds, full > 0 { evidence += " (full for \(seconds(full)) in all)" }
                if let o = l.overflowsEstimated, o >= 1 { evidence += "; ~\(Int(o)) overflows" }
                out.append(Finding(kind: "not_accepting", severity: .critical, listener: l,
                                   message: "\(name): \(evidence) — the process is not calling accept()"))
            }
            let d = c.syn(.deferred)
            if d.count >= t.deferredMin {
                out.append(Finding(kind: "deferred_accept_holds", severity: .info, listener: l,
                                   message: "\(name): \(d.count) TCP_DEFER_ACCEPT hold\(d.count == 1 ? "" : "s") (handshake done, no data yet), the oldest for at least \(seconds(d.oldestSeconds)) — clients connect and stay silent; the server does not see them until they send"))
            }
            let h = c.syn(.halfOpen)
            if h.count >= t.halfOpenMin, (halfOpenGrowth[l.groupKey] ?? 0) > 0 {
                out.append(Finding(kind: "half_open_growing", severity: .warning, listener: l,
                                   message: "\(name): \(h.count) half-open handshakes (SYN-ACK re-sent, no ACK), up \(halfOpenGrowth[l.groupKey]!) since the last look, the oldest \(seconds(h.oldestSeconds)) — a SYN flood, lost ACKs or an asymmetric route"))
            }
            if c.stalled.count > 0 {
                out.append(Finding(kind: "not_reading", severity: .warning, listener: l,
                                   message: "\(name): \(c.stalled.count) accepted connection\(c.stalled.count == 1 ? "" : "s") with unread request bytes not shrinking, the longest for \(seconds(c.stalled.oldestSeconds)) — the process accepted but stopped reading"))
            }
            let cw = c.closeWait
            if cw.count >= t.closeWaitMin && cw.oldestSeconds >= t.closeWaitAfter {
                out.append(Finding(kind: "close_wait_pileup", severity: .warning, listener: l,
                                   message: "\(name): \(cw.count) connections in CLOSE_WAIT, the oldest for \(seconds(cw.oldestSeconds)) — the peers closed and the process never closed its side (a descriptor leak or a stuck worker)"))
            }
        }
        if let cookieGrowth, cookieGrowth > 0 {
            out.append(Finding(kind: "syn_cookies", severity: .warning, listener: nil,
                               message: "netns \(netns): \(cookieGrowth) SYN cookies sent since the last look — a SYN queue overflowed (SYN flood or a listener too slow to finish handshakes)"))
        }
        return out
    }

    static func seconds(_ s: Double) -> String {
        s < 10 ? "\(Double(Int(s * 10)) / 10) s" : "\(Int(s)) s"
    }
}
