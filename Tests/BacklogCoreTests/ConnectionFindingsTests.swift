import BacklogCore
import Testing

/// The connection rules (ConnectionFindings): each fires on its own numbers and
/// thresholds, and not one step short of them.
@Suite struct ConnectionFindingsTests {
    static let group = GroupKey(family: .inet, address: "0.0.0.0", port: 80)

    /// A listener on 0.0.0.0:`port` (member `socket` of its group) with `connections`.
    static func listener(port: UInt16 = 80, socket: Int = 0, inode: UInt32 = 1, queue: UInt32 = 0,
                         connections: ConnectionStats? = ConnectionStats()) -> Listener {
        var l = Listener(family: .inet, address: "0.0.0.0", port: port, socket: socket, inode: inode,
                         cookie: UInt64(inode), queueLength: queue, queueMax: 128)
        l.connections = connections
        return l
    }

    static func stats(_ change: (inout ConnectionStats) -> Void) -> ConnectionStats {
        var c = ConnectionStats()
        change(&c)
        return c
    }

    /// `acceptProgress`: per group, the evidence the looks gave (ProgressTracker): true,
    /// the queue moves (busy); false, nothing moved and the process is idle (hung).
    static func findings(_ listeners: [Listener], halfOpenGrowth: [GroupKey: Int] = [:],
                         acceptProgress: [GroupKey: Bool] = [:], cookieGrowth: UInt64? = nil,
                         thresholds: Thresholds = Thresholds(), window: Double = 15) -> [Finding] {
        let judged = listeners.map { l in
            var l = l
            if let moved = acceptProgress[l.groupKey], let u = l.connections?.unaccepted, u.count > 0 {
                let hung: HangCause? = moved || u.oldestSeconds < thresholds.notAcceptingAfter ? nil : .idle
                l.acceptance = AcceptEvidence(waiting: u.count, oldestWaitSeconds: u.oldestSeconds,
                                              noProgressSeconds: moved ? 0 : u.oldestSeconds, progressed: moved, hung: hung)
            }
            return l
        }
        return ConnectionFindings.evaluate(listeners: judged, halfOpenGrowth: halfOpenGrowth,
                                           cookieGrowth: cookieGrowth, netns: "ns:42", thresholds: thresholds, window: window)
    }

    static func kinds(_ f: [Finding]) -> [String] { f.map(\.kind).sorted() }

    @Test func aQuietListenerOrOneWithoutADeepLookHasNone() {
        #expect(Self.findings([Self.listener()]).isEmpty)
        #expect(Self.findings([Self.listener(queue: 100, connections: nil)], acceptProgress: [Self.group: false]).isEmpty)
    }

    @Test func notAcceptingNeedsNoProgressAndAnOldEnoughConnection() {
        let waiting = Self.listener(queue: 3, connections: Self.stats {
            $0.unaccepted = AgedCount(count: 3, oldestSeconds: 2)
            $0.unacceptedBytes = 120
        })
        // Exactly at the threshold (2 s by default), no progress since the previous look: critical.
        let f = Self.findings([waiting], acceptProgress: [Self.group: false])
        #expect(f.map(\.kind) == ["not_accepting"])
        #expect(f.first?.severity == .critical)
        #expect(f.first?.listener?.inode == 1)
        let message = f.first?.message ?? ""
        #expect(message.hasPrefix("0.0.0.0:80: 3 connections waiting for accept()"), "\(message)")
        #expect(message.contains("120 request bytes unread") && message.contains("queue 3/128"), "\(message)")
        #expect(message.hasSuffix("— the process is idle and not calling accept() (no CPU, no connection open)"), "\(message)")
        // A connection left the queue since the previous look: the process accepts, slowly (busy, a warning).
        let busy = Self.findings([waiting], acceptProgress: [Self.group: true])
        #expect(busy.map(\.kind) == ["accept_slow"] && busy.first?.severity == .warning, "\(busy)")
        #expect(busy.first?.message.contains("— busy, not hung: the queue moves") == true, "\(busy)")
        // No previous look with waiting connections: one look is not enough to judge.
        #expect(Self.findings([waiting]).isEmpty)
        // Another group's lack of progress does not count for this one.
        #expect(Self.findings([waiting], acceptProgress: [GroupKey(family: .inet, address: "0.0.0.0", port: 81): false]).isEmpty)
        // Younger than the threshold.
        let young = Self.listener(queue: 3, connections: Self.stats { $0.unaccepted = AgedCount(count: 3, oldestSeconds: 1.9) })
        #expect(Self.findings([young], acceptProgress: [Self.group: false]).isEmpty)
        var patient = Thresholds()
        patient.notAcceptingAfter = 5
        #expect(Self.findings([waiting], acceptProgress: [Self.group: false], thresholds: patient).isEmpty)
    }

    @Test func notAcceptingTellsHowLongTheQueueWasFullAndItsDrops() {
        var l = Self.listener(queue: 129, connections: Self.stats { $0.unaccepted = AgedCount(count: 1, oldestSeconds: 12) })
        l.fullSeconds = 7.5
        l.overflowsEstimated = 3.6
        l.drops = 40
        l.dropsInWindow = 12
        let message = Self.findings([l], acceptProgress: [Self.group: false]).first?.message ?? ""
        #expect(message.contains("1 connection waiting for accept(), the oldest for 12 s"), "\(message)")
        #expect(message.contains("(full for 7.5 s in all)") && message.contains("; 12 SYNs/ACKs dropped in the last 15 s"), "\(message)")
        #expect(!message.contains("overflows"), "the estimate is not in the sentence: \(message)")
        // A single dump has no window: the total since the socket was made.
        let once = Self.findings([l], acceptProgress: [Self.group: false], window: 0).first?.message ?? ""
        #expect(once.contains("; 40 SYNs/ACKs dropped since it opened"), "\(once)")
        l.dropsInWindow = 0
        let quiet = Self.findings([l], acceptProgress: [Self.group: false]).first?.message ?? ""
        #expect(!quiet.contains("dropped"), "\(quiet)")
    }

    @Test func deferredHoldsFromTheirMinimum() {
        let one = Self.listener(connections: Self.stats { $0.synRecv.deferred = AgedCount(count: 1, oldestSeconds: 3) })
        let f = Self.findings([one])
        #expect(f.map(\.kind) == ["deferred_accept_holds"])
        #expect(f.first?.severity == .info)
        #expect(f.first?.message.contains("1 TCP_DEFER_ACCEPT hold ") == true, "\(f.first?.message ?? "")")
        var t = Thresholds()
        t.deferredMin = 2
        #expect(Self.findings([one], thresholds: t).isEmpty)
        // Other kinds of request sockets are not holds.
        let new = Self.listener(connections: Self.stats { $0.synRecv.new = AgedCount(count: 5, oldestSeconds: 0.5) })
        #expect(Self.findings([new]).isEmpty)
    }

    @Test func halfOpenNeedsItsMinimumAndGrowth() {
        let ten = Self.listener(connections: Self.stats { $0.synRecv.halfOpen = AgedCount(count: 10, oldestSeconds: 4) })
        let f = Self.findings([ten], halfOpenGrowth: [Self.group: 4])
        #expect(f.map(\.kind) == ["half_open_growing"])
        #expect(f.first?.severity == .warning)
        #expect(f.first?.message.contains("10 half-open handshakes") == true && f.first?.message.contains("up 4 ") == true)
        // As many as the minimum but not growing: a steady state, not an alarm.
        #expect(Self.findings([ten]).isEmpty)
        #expect(Self.findings([ten], halfOpenGrowth: [Self.group: 0]).isEmpty)
        // Growing but one short of the minimum.
        let nine = Self.listener(connections: Self.stats { $0.synRecv.halfOpen = AgedCount(count: 9, oldestSeconds: 4) })
        #expect(Self.findings([nine], halfOpenGrowth: [Self.group: 4]).isEmpty)
        var t = Thresholds()
        t.halfOpenMin = 9
        #expect(Self.kinds(Self.findings([nine], halfOpenGrowth: [Self.group: 4], thresholds: t)) == ["half_open_growing"])
    }

    @Test func notReadingFromOneStalledConnection() {
        let stalled = Self.listener(connections: Self.stats { $0.stalled = AgedCount(count: 1, oldestSeconds: 15) })
        let f = Self.findings([stalled])
        #expect(f.map(\.kind) == ["not_reading"])
        #expect(f.first?.severity == .warning)
        #expect(f.first?.message.contains("1 accepted connection with unread request bytes") == true, "\(f.first?.message ?? "")")
    }

    @Test func closeWaitPileupNeedsCountAndAge() {
        func closeWait(_ count: Int, _ oldest: Double) -> Listener {
            Self.listener(connections: Self.stats { $0.closeWait = AgedCount(count: count, oldestSeconds: oldest) })
        }
        let f = Self.findings([closeWait(10, 30)])
        #expect(f.map(\.kind) == ["close_wait_pileup"])
        #expect(f.first?.severity == .warning)
        #expect(f.first?.message.contains("10 connections in CLOSE_WAIT, the oldest for 30 s") == true, "\(f.first?.message ?? "")")
        #expect(Self.findings([closeWait(9, 300)]).isEmpty, "one short of close_wait_min")
        #expect(Self.findings([closeWait(100, 29.9)]).isEmpty, "younger than close_wait_after")
        var t = Thresholds()
        t.closeWaitMin = 2
        t.closeWaitAfter = 5
        #expect(Self.kinds(Self.findings([closeWait(2, 5)], thresholds: t)) == ["close_wait_pileup"])
    }

    @Test func synCookiesAreANamespaceFinding() {
        let f = Self.findings([Self.listener()], cookieGrowth: 5)
        #expect(f.map(\.kind) == ["syn_cookies"])
        #expect(f.first?.listener == nil)
        #expect(f.first?.severity == .warning)
        #expect(f.first?.message.hasPrefix("netns ns:42: 5 SYNs answered with cookies") == true, "\(f.first?.message ?? "")")
        // Even with no listener at all (the cookies were sent at a port that is gone).
        #expect(Self.kinds(Self.findings([], cookieGrowth: 1)) == ["syn_cookies"])
        #expect(Self.findings([Self.listener()], cookieGrowth: 0).isEmpty)
        #expect(Self.findings([Self.listener()], cookieGrowth: nil).isEmpty)
    }

    @Test func severalRulesOnOneListener() {
        let l = Self.listener(connections: Self.stats {
            $0.stalled = AgedCount(count: 2, oldestSeconds: 20)
            $0.closeWait = AgedCount(count: 12, oldestSeconds: 40)
            $0.synRecv.deferred = AgedCount(count: 1, oldestSeconds: 1)
        })
        #expect(Self.kinds(Self.findings([l])) == ["close_wait_pileup", "deferred_accept_holds", "not_reading"])
    }

    /// A SO_REUSEPORT group's numbers are on member 0 (the kernel does not say
    /// which member a connection goes to); the finding names the member with
    /// the longest queue, with the group's numbers, once per group.
    @Test func aReuseportGroupIsNamedByItsLongestQueue() {
        let c = Self.stats { $0.unaccepted = AgedCount(count: 9, oldestSeconds: 8) }
        let members = [
            Self.listener(socket: 0, inode: 10, queue: 1, connections: c),
            Self.listener(socket: 1, inode: 11, queue: 7, connections: ConnectionStats()),
            Self.listener(socket: 2, inode: 12, queue: 3, connections: ConnectionStats()),
        ]
        // Same port, other family: a group of its own, with a longer queue that must not be chosen.
        var v6 = Self.listener(socket: 1, inode: 20, queue: 50, connections: ConnectionStats())
        v6.family = .inet6
        v6.address = "::"
        let f = Self.findings(members + [v6], acceptProgress: [Self.group: false])
        #expect(f.map(\.kind) == ["not_accepting"], "one finding for the group")
        #expect(f.first?.listener?.inode == 11)
        #expect(f.first?.listener?.socket == 1)
        #expect(f.first?.listener?.connections == c, "the group's numbers go with the member named")
        #expect(f.first?.message.hasPrefix("0.0.0.0:80 #1: 9 connections") == true, "\(f.first?.message ?? "")")
        #expect(f.first?.message.contains("queue 7/128") == true, "\(f.first?.message ?? "")")
        // Member 0 with the longest queue is named itself (member 0 goes without an index).
        let first = [Self.listener(socket: 0, inode: 10, queue: 9, connections: c), members[1], members[2]]
        let g = Self.findings(first, acceptProgress: [Self.group: false])
        #expect(g.first?.listener?.inode == 10)
        #expect(g.first?.message.hasPrefix("0.0.0.0:80: 9 connections") == true, "\(g.first?.message ?? "")")
        // A single listener has no index in its name.
        let single = Self.findings([members[0]], acceptProgress: [Self.group: false])
        #expect(single.first?.listener?.inode == 10)
        #expect(single.first?.message.hasPrefix("0.0.0.0:80: ") == true, "\(single.first?.message ?? "")")
    }

    @Test func numbersOnOtherMembersAreNotJudgedTwice() {
        // Only member 0 carries the group's numbers; stats on member 1 are ignored.
        let c = Self.stats { $0.stalled = AgedCount(count: 1, oldestSeconds: 30) }
        let f = Self.findings([Self.listener(socket: 0, inode: 1), Self.listener(socket: 1, inode: 2, connections: c)])
        #expect(f.isEmpty)
    }

    @Test func theOwnerIsInTheName() {
        var l = Self.listener(connections: Self.stats { $0.stalled = AgedCount(count: 1, oldestSeconds: 30) })
        l.owner = Owner(pid: 4711, comm: "nginx", cmdline: "nginx: worker", unit: "nginx.service", container: nil)
        let message = Self.findings([l]).first?.message ?? ""
        #expect(message.hasPrefix("0.0.0.0:80 (pid 4711 nginx, nginx.service): "), "\(message)")
    }
}
