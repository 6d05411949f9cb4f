/// Rules over a listener's queue and connections: each finding names the
/// listener, gives the numbers, and the likely cause in one sentence.
public enum ConnectionFindings {
    /// Hung or busy comes from each listener's AcceptEvidence (the deep looks'
    /// ProgressTracker): not_accepting when it says hung, accept_slow when
    /// connections have waited not_accepting_after and it does not.
    /// `oneShot`: `--once`, whose looks span its window only.
    public static func evaluate(
        listeners: [Listener], halfOpenGrowth: [GroupKey: Int], oneShot: Bool = false,
        cookieGrowth: UInt64?, netns: String, thresholds t: Thresholds, window: Double = 0
    ) -> [Finding] {
        var out: [Finding] = []
        // A SO_REUSEPORT group's numbers are on member 0; its findings name the
        // member with the longest queue (the one most likely stuck). Worked out
        // only when a finding needs it: most ticks have none.
        // Only groups of more than one member have one to choose (members 1… exist).
        var representatives: [GroupKey: Listener]?
        func representative(of member0: Listener) -> Listener {
            if representatives == nil {
                let shared = Set(listeners.indices.lazy.filter { listeners[$0].socket > 0 }.map { listeners[$0].groupKey })
                var r: [GroupKey: Listener] = [:]
                for i in listeners.indices where !shared.isEmpty && listeners[i].family != .unix {
                    let l = listeners[i]
                    guard shared.contains(l.groupKey) else { continue }
                    if let have = r[l.groupKey], have.queueLength >= l.queueLength { continue }
                    r[l.groupKey] = l
                }
                representatives = r
            }
            return representatives?[member0.groupKey] ?? member0
        }
        for i in listeners.indices {
            if listeners[i].family == .unix {
                if let e = listeners[i].acceptance, e.waiting > 0, let f = acceptance(listeners[i], e, name: listeners[i].describedAddress,
                                                                                     t: t, oneShot: oneShot, window: window) {
                    out.append(f)
                }
                continue
            }
            // Read in place; the listener is copied only when a rule may fire.
            guard listeners[i].socket == 0, let c = listeners[i].connections, c.mayFind(t) else { continue }
            let member0 = listeners[i]
            var l = representative(of: member0)
            l.connections = c
            let name = l.describedAddress + (l.socket > 0 ? " #\(l.socket)" : "")
            if let e = member0.acceptance, e.waiting > 0, let f = acceptance(l, e, name: name, t: t, oneShot: oneShot, window: window) {
                out.append(f)
            }
            let d = c.syn(.deferred)
            if d.count >= t.deferredMin {
                out.append(Finding(kind: "deferred_accept_holds", severity: .info, listener: l,
                                   message: "\(name): \(d.count) TCP_DEFER_ACCEPT hold\(d.count == 1 ? "" : "s") (handshake done, no data yet), the oldest for at least \(seconds(d.oldestSeconds)) — clients connect and stay silent; the server does not see them until they send"))
            }
            let h = c.syn(.halfOpen)
            if h.count >= t.halfOpenMin, (halfOpenGrowth[l.groupKey] ?? 0) > 0 {
                out.append(Finding(kind: "half_open_growing", severity: .warning, listener: l,
                                   message: "\(name): \(h.count) half-open handshakes (SYN-ACK re-sent, no ACK), up \(halfOpenGrowth[l.groupKey]!) within the window, the oldest \(seconds(h.oldestSeconds)) — a SYN flood, lost ACKs or an asymmetric route"))
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
                               message: "netns \(netns): \(cookieGrowth) SYNs answered with cookies because a SYN queue was full (TcpExt TCPReqQFullDoCookies) — a SYN flood, or handshakes a listener cannot finish fast enough"))
        }
        return out
    }

    /// not_accepting (hung) or accept_slow (busy, or not decided yet) from the evidence.
    static func acceptance(_ l: Listener, _ e: AcceptEvidence, name: String, t: Thresholds, oneShot: Bool,
                           window: Double) -> Finding? {
        guard e.hung != nil || e.oldestWaitSeconds >= t.notAcceptingAfter else { return nil }
        let n = e.waiting
        var evidence: String
        if l.family == .unix {
            evidence = "\(n) connection\(n == 1 ? "" : "s") pending, the oldest for at least \(seconds(e.oldestWaitSeconds)); queue \(l.queueLength)/\(l.queueMax)"
        } else {
            let bytes = l.connections?.unacceptedBytes ?? 0
            evidence = "\(n) connection\(n == 1 ? "" : "s") waiting for accept(), the oldest for \(seconds(e.oldestWaitSeconds)), \(bytes) request bytes unread; queue \(l.queueLength)/\(l.queueMax)"
        }
        if let full = l.fullSeconds, full > 0 { evidence += " (full for \(seconds(full)) in all)" }
        if let d = l.droppedText(window: window) { evidence += "; \(d)" }
        if let cause = e.hung {
            return Finding(kind: "not_accepting", severity: .critical, listener: l,
                           message: "\(name): \(evidence) — \(cause.clause(threads: e.threads, waitsHidden: e.waitsHidden))")
        }
        var why: String
        if e.noProgressSeconds < e.oldestWaitSeconds || e.progressed {
            why = "busy, not hung: the queue moves (last progress \(seconds(e.noProgressSeconds)) ago)"
        } else {
            why = "not hung so far: nothing has moved for \(seconds(e.noProgressSeconds)); hung after \(seconds(t.hungAfter)) without progress"
            if oneShot { why += " (a --window longer than hung_after can tell)" }
        }
        return Finding(kind: "accept_slow", severity: .warning, listener: l, message: "\(name): \(evidence) — \(why)")
    }

    static func seconds(_ s: Double) -> String {
        s < 10 ? "\(Double(Int(s * 10)) / 10) s" : "\(Int(s)) s"
    }
}

extension ConnectionStats {
    /// Whether any rule could fire on these numbers: the common case, a quiet
    /// listener, is rejected without building anything.
    func mayFind(_ t: Thresholds) -> Bool {
        unaccepted.count > 0 || synRecv.deferred.count >= t.deferredMin || synRecv.halfOpen.count >= t.halfOpenMin
            || stalled.count > 0 || closeWait.count >= t.closeWaitMin
    }
}
