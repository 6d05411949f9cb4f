import BacklogCore
import Testing

/// What a load balancer is told (ProbeVerdict): which listeners a target
/// matches, when it is down, and the weight rule.
@Suite struct ProbeVerdictTests {
    static func listener(_ address: String, _ port: UInt16, family: AddressFamily = .inet, inode: UInt32,
                         length: UInt32 = 0, max: UInt32 = 128, peak: UInt32? = nil, v6Only: Bool? = nil) -> Listener {
        Listener(family: family, address: address, port: port, inode: inode, queueLength: length, queueMax: max,
                 queuePeak: peak, v6Only: v6Only)
    }

    static func publication(_ listeners: [Listener], findings: [Finding] = [], netns: String = "host") -> Publication {
        Publication(snapshots: [Snapshot(netns: netns, timestamp: 0, windowSeconds: 0, listeners: listeners, netstat: nil,
                                         sysctls: [:], sources: [], findings: findings)])
    }

    static func tcp(_ port: UInt16, _ address: String? = nil, netns: String = "host") -> ProbeTarget {
        ProbeTarget(netns: netns, socket: .tcp(address: address, port: port))
    }

    @Test func weightFallsFromHalfFullAndAFullPeakHalvesIt() {
        func w(_ length: UInt32, _ max: UInt32, peak: UInt32? = nil) -> Int {
            ProbeVerdict.weight(Self.listener("0.0.0.0", 80, inode: 1, length: length, max: max, peak: peak))
        }
        #expect(w(0, 128) == 100 && w(64, 128) == 100)
        #expect(w(96, 128) == 55, "three quarters: half way from 100 to 10")
        #expect(w(128, 128) == 10)
        #expect(w(0, 128, peak: 129) == 50, "full within the peak window")
        #expect(w(96, 128, peak: 129) == 50 && w(120, 128, peak: 129) == 21)
        #expect(w(0, 0) == 100 && w(1, 0, peak: 1) == 10)
    }

    @Test func addressesMatchTheListenersThatTakeTheirConnections() {
        let any4 = Self.listener("0.0.0.0", 80, inode: 1)
        let lo = Self.listener("127.0.0.1", 80, inode: 2)
        let dual = Self.listener("::", 80, family: .inet6, inode: 3, v6Only: false)
        let only6 = Self.listener("::", 80, family: .inet6, inode: 4, v6Only: true)
        let lo6 = Self.listener("::1", 80, family: .inet6, inode: 5)
        let other = Self.listener("127.0.0.1", 81, inode: 6)
        let unix = Listener(family: .unix, address: "/run/app.sock", port: nil, inode: 7, queueLength: 0, queueMax: 5)
        let all = [any4, lo, dual, only6, lo6, other, unix]
        func matched(_ t: ProbeTarget) -> [UInt32] { all.filter(t.matches).map(\.inode) }
        #expect(matched(Self.tcp(80)) == [1, 2, 3, 4, 5], "no address: every listener on the port")
        #expect(matched(Self.tcp(80, "127.0.0.1")) == [1, 2, 3], "0.0.0.0 and a dual-stack :: take it too")
        #expect(matched(Self.tcp(80, "10.0.0.5")) == [1, 3])
        #expect(matched(Self.tcp(80, "::1")) == [3, 4, 5])
        #expect(matched(Self.tcp(80, "0.0.0.0")) == [1, 3])
        #expect(matched(ProbeTarget(socket: .unix(path: "/run/app.sock"))) == [7])
        #expect(matched(Self.tcp(82)).isEmpty)
        // A v4-mapped address is the IPv4 address it reaches, on either side.
        #expect(matched(Self.tcp(80, "::ffff:127.0.0.1")) == [1, 2, 3], "as 127.0.0.1")
        #expect(matched(Self.tcp(80, "::ffff:10.0.0.5")) == [1, 3])
        let mapped = Self.listener("::ffff:127.0.0.2", 80, family: .inet6, inode: 8, v6Only: false)
        #expect((all + [mapped]).filter(Self.tcp(80, "127.0.0.2").matches).map(\.inode) == [1, 3, 8])
        #expect((all + [mapped]).filter(Self.tcp(80, "::ffff:127.0.0.2").matches).map(\.inode) == [1, 3, 8])
    }

    @Test func downForACriticalFindingOrAQueueOverItsMaxWithoutProgress() {
        let hung = Self.listener("127.0.0.1", 8080, inode: 1, length: 3, max: 128)
        let notAccepting = Finding(kind: "not_accepting", severity: .critical, listener: hung,
                                   message: "127.0.0.1:8080: 3 connections waiting for accept() — the process is not calling accept()")
        let near = Finding(kind: "accept_queue_near_full", severity: .warning, listener: hung, message: "near")
        var v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([hung], findings: [near, notAccepting]))
        #expect(v.state == .down && v.sentence == notAccepting.message && v.kind == "not_accepting")
        #expect(v.reason == "not_accepting: " + notAccepting.message, "the kind first: balancers cut long reasons")
        // A wildcard beside it that is fine: the worst wins.
        let fine = Self.listener("0.0.0.0", 8080, inode: 2)
        v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([fine, hung], findings: [notAccepting]))
        #expect(v.state == .down)
        // A finding on another listener does not count.
        let elsewhere = Self.listener("127.0.0.1", 9090, inode: 3)
        v = ProbeVerdict.judge(Self.tcp(9090), in: Self.publication([hung, elsewhere], findings: [notAccepting]))
        #expect(v.state == .up && v.weight == 100, "\(v)")

        // Over its max and nothing moves: down. Over its max but it accepts (a burst): in, at the least weight.
        var full = Self.listener("127.0.0.1", 8080, inode: 1, length: 5, max: 4)
        full.acceptance = AcceptEvidence(waiting: 5, oldestWaitSeconds: 2.5, noProgressSeconds: 2.5, progressed: false)
        v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([full]))
        #expect(v.state == .down && v.sentence.contains("accept queue full 5/4") && v.kind == "accept_queue_full", "\(v)")
        full.acceptance = AcceptEvidence(waiting: 5, oldestWaitSeconds: 2.5, noProgressSeconds: 0.4, progressed: true)
        v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([full]))
        #expect(v.state == .up && v.weight == 10, "\(v)")
        full.acceptance = nil
        v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([full]))
        #expect(v.state == .up && v.weight == 10, "not known to be stuck before a deep look: \(v)")
    }

    @Test func aFullQueueEarlierInTheWindowOnlyLowersTheWeight() {
        let drained = Self.listener("127.0.0.1", 8080, inode: 1, length: 1, max: 4, peak: 5)
        let v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([drained]))
        #expect(v.state == .up && v.weight == 50 && v.sentence.contains("was full within the peak window"), "\(v)")
    }

    @Test func SOReuseportMembersAreJudgedTogether() {
        // The group's numbers are on member 0; a finding names the member most likely stuck.
        var member0 = Self.listener("0.0.0.0", 8080, inode: 1, length: 0, max: 16)
        member0.socket = 0
        var member1 = Self.listener("0.0.0.0", 8080, inode: 2, length: 12, max: 16)
        member1.socket = 1
        var v = ProbeVerdict.judge(Self.tcp(8080), in: Self.publication([member0, member1]))
        #expect(v.state == .up && v.weight == 55 && v.sentence.contains("the worst of 2 listeners"), "\(v)")
        let finding = Finding(kind: "not_accepting", severity: .critical, listener: member1, message: "stuck")
        v = ProbeVerdict.judge(Self.tcp(8080, "127.0.0.1"), in: Self.publication([member0, member1], findings: [finding]))
        #expect(v.state == .down && v.sentence == "stuck")
    }

    @Test func unknownListenersAndNamespaces() {
        let l = Self.listener("127.0.0.1", 80, inode: 1)
        var v = ProbeVerdict.judge(Self.tcp(81), in: Self.publication([l]))
        #expect(v.state == .unknown && v.sentence.hasPrefix("no such listener: *:81 (netns host) is not watched"), "\(v)")
        v = ProbeVerdict.judge(Self.tcp(80, netns: "blue"), in: Self.publication([l]))
        #expect(v.state == .unknown && v.sentence == "no such listener: netns blue is not watched")
    }

    @Test func numericAddressesAreWrittenAsLabelsWriteThem() {
        #expect(ProbeTarget.numericAddress("0:0:0:0:0:0:0:1") == "::1")
        #expect(ProbeTarget.numericAddress("127.0.0.1") == "127.0.0.1")
        #expect(ProbeTarget.numericAddress("fe80::1%eth0") == "fe80::1%eth0")
        #expect(ProbeTarget.numericAddress("0.0.0.0%lo") == "0.0.0.0%lo")
        #expect(ProbeTarget.numericAddress("::ffff:127.0.0.1") == "::ffff:127.0.0.1", "kept as given; matching maps it")
        #expect(ProbeTarget.numericAddress("::FFFF:7f00:1") == "::ffff:127.0.0.1", "in the form inet_ntop prints")
        for bad in ["", "localhost", "1.2.3", "::1%", "%lo", "1.2.3.4%a/b", "::1%thisnameistoolongforalinuxif",
                    "127.0.0.1\u{0}junk", "127.0.0.1\u{0}", "::1\n", "127.0.0.1%lo\u{1b}"] {
            #expect(ProbeTarget.numericAddress(bad) == nil, "\(bad)")
        }
    }
}
