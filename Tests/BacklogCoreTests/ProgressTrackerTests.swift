import BacklogCore
import Testing

/// Hung or busy, judged on recorded sequences of looks (one a second, as the deep
/// tick on a small host): what ProgressTracker decides at each.
@Suite struct ProgressTrackerTests {
    static let g = GroupKey(family: .inet, address: "127.0.0.1", port: 80)

    /// A holder sample: `cpu` seconds used so far, optionally halted.
    static func holders(cpu: Double = 0, halt: HolderSample.Halt? = nil, pids: [Int32] = [100]) -> HolderSample {
        var w = ThreadWaits()
        w.add(state: UInt8(ascii: "S"), wchan: "futex_do_wait")
        return HolderSample(pids: pids, cpuSeconds: cpu, halt: halt, threads: w)
    }

    /// Runs looks at t = 0, 1, 2 … with `facts(t)`; returns the evidence of each.
    static func run(_ seconds: Int, thresholds: Thresholds = Thresholds(), _ facts: (Int) -> LookFacts) -> [AcceptEvidence?] {
        var tracker = ProgressTracker()
        return (0...seconds).map { tracker.look(g, facts($0), thresholds: thresholds) }
    }

    /// The first look whose evidence says hung, if any.
    static func hungAt(_ e: [AcceptEvidence?]) -> Int? { e.firstIndex { $0?.hung != nil } }

    @Test func aQueueThatMovesEveryFourSecondsIsBusy() {
        // A prefork server whose workers are held by keep-alive clients: a connection
        // is accepted every 4 s, the oldest waits up to 4 s, the holders do not run.
        let e = Self.run(60) { t in
            LookFacts(now: Double(t), waiting: 3, oldestWait: Double(t % 4) + 0.5, accepted: t > 0 && t % 4 == 0,
                      bytesMoved: false, acceptedOpen: 2, holders: Self.holders())
        }
        #expect(Self.hungAt(e) == nil, "never hung")
        #expect(e.compactMap { $0?.noProgressSeconds }.max()! < 5, "the hang clock restarts at each accept")
    }

    @Test func bytesMovingWithoutAnAcceptIsBusy() {
        // One request takes a slow client's upload: nothing is accepted for 30 s, but it reads.
        let e = Self.run(30) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil,
                      bytesMoved: t > 0, acceptedOpen: 1, holders: Self.holders())
        }
        #expect(Self.hungAt(e) == nil)
        #expect(e.last??.progressed == true && e.last??.noProgressSeconds == 0)
    }

    @Test func cpuAboveHousekeepingIsProgressAndATimerThreadIsNot() {
        // 15 s of CPU per request: the holder runs flat out.
        let busy = Self.run(30) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil,
                      bytesMoved: false, acceptedOpen: 1, holders: Self.holders(cpu: Double(t)))
        }
        #expect(Self.hungAt(busy) == nil)
        // A hung server whose timer thread wakes each second (0.1 ms of CPU a second): hung at hung_after.
        let hung = Self.run(30) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil,
                      bytesMoved: false, acceptedOpen: 1, holders: Self.holders(cpu: Double(t) * 0.0001))
        }
        let at = Self.hungAt(hung)
        #expect(at == 10, "no progress for hung_after (10 s): \(String(describing: at))")
        if case .noProgress(let s)? = hung[at ?? 0]?.hung { #expect(s >= 10) } else { Issue.record("\(String(describing: hung[at ?? 0]))") }
        #expect(hung[at ?? 0]?.threads == "its only thread waits on a lock (futex)")
    }

    @Test func nothingMovingIsHungAtHungAfter() {
        var t = Thresholds()
        t.hungAfter = 6
        let e = Self.run(20, thresholds: t) { s in
            LookFacts(now: Double(s), waiting: 4, oldestWait: Double(s) + 0.2, accepted: s > 0 ? false : nil,
                      bytesMoved: false, acceptedOpen: 3, holders: nil)
        }
        #expect(Self.hungAt(e) == 6)
        // Before, it has waited ≥ 2 s with nothing decided: the rules call that accept_slow.
        #expect(e[3]?.hung == nil && (e[3]?.oldestWaitSeconds ?? 0) >= 2)
    }

    @Test func stoppedAtEveryLookIsHungFromNotAcceptingAfter() {
        let e = Self.run(10) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil,
                      bytesMoved: false, acceptedOpen: 1, holders: Self.holders(halt: .stopped))
        }
        #expect(Self.hungAt(e) == 2, "the oldest waited 2.5 s, stopped at two looks in a row")
        #expect(e[2]?.hung == .stopped)
        let traced = Self.run(4) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: Double(t) + 2, accepted: t > 0 ? false : nil,
                      acceptedOpen: 1, holders: Self.holders(halt: .traced))
        }
        #expect(Self.hungAt(traced) == 1 && traced[1]?.hung == .traced)
    }

    /// The look before the stop can be a deep tick ago, and see progress since: the stop
    /// is then told at the next look, not one later.
    @Test func progressBeforeAStopDoesNotDelayIt() {
        var tracker = ProgressTracker()
        _ = tracker.look(Self.g, LookFacts(now: 0, waiting: 1, oldestWait: 0.5, acceptedOpen: 0, holders: Self.holders()),
                         thresholds: Thresholds())
        // 40 s later (a deep tick on a busy host): it accepted meanwhile, then stopped.
        let a = tracker.look(Self.g, LookFacts(now: 40, waiting: 3, oldestWait: 2.2, accepted: true, acceptedSeen: true,
                                               acceptedOpen: 0, holders: Self.holders(cpu: 1, halt: .stopped)), thresholds: Thresholds())
        #expect(a?.hung == nil && a?.progressed == true)
        let b = tracker.look(Self.g, LookFacts(now: 42, waiting: 4, oldestWait: 4.2, accepted: false, acceptedSeen: false,
                                               acceptedOpen: 0, holders: Self.holders(cpu: 1, halt: .stopped)), thresholds: Thresholds())
        #expect(b?.hung == .stopped, "\(String(describing: b))")
    }

    @Test func stoppedAtOneLookOnlyIsNot() {
        // An strace stop, an fsync in D: brief; the looks around it see it run.
        let e = Self.run(8) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: Double(t) + 2, accepted: t > 0 ? false : nil,
                      acceptedOpen: 1, holders: Self.holders(cpu: Double(t) * 0.5, halt: t == 4 ? .uninterruptible(wchan: "folio_wait_bit") : nil))
        }
        #expect(Self.hungAt(e) == nil)
        // Halted at alternate looks: never two in a row.
        let flicker = Self.run(8) { t in
            LookFacts(now: Double(t), waiting: 2, oldestWait: 3, accepted: t > 0 ? false : nil, acceptedOpen: 1,
                      holders: Self.holders(cpu: Double(t), halt: t % 2 == 0 ? .stopped : nil))
        }
        #expect(Self.hungAt(flicker) == nil)
    }

    @Test func anIdleProcessThatStoppedAcceptingIsHungFromNotAcceptingAfter() {
        let e = Self.run(6) { t in
            LookFacts(now: Double(t), waiting: 1, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil,
                      bytesMoved: nil, acceptedOpen: 0, holders: Self.holders(cpu: 1))
        }
        #expect(Self.hungAt(e) == 2 && e[2]?.hung == .idle)
        // The same with a connection accepted and open (a keep-alive client): not idle, only the hang clock.
        let kept = Self.run(6) { t in
            LookFacts(now: Double(t), waiting: 1, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil,
                      bytesMoved: false, acceptedOpen: 1, holders: Self.holders(cpu: 1))
        }
        #expect(Self.hungAt(kept) == nil)
        // Holders unknown (no owner): idle cannot be told.
        let unknown = Self.run(6) { t in
            LookFacts(now: Double(t), waiting: 1, oldestWait: Double(t) + 0.5, accepted: t > 0 ? false : nil, acceptedOpen: 0)
        }
        #expect(Self.hungAt(unknown) == nil)
    }

    @Test func connectionsThatClientsResetAreNotProgress() {
        // HAProxy's checks close with RST: their connections leave the accept queue
        // of a stopped server although nothing accepted them.
        let e = Self.run(6) { t in
            LookFacts(now: Double(t), waiting: 3, oldestWait: Double(t) + 0.5, accepted: t > 0 ? true : nil,
                      acceptedSeen: t > 0 ? false : nil, bytesMoved: false, acceptedOpen: 2, holders: Self.holders(halt: .stopped))
        }
        #expect(Self.hungAt(e) == 2 && e[2]?.hung == .stopped, "\(e.map { $0?.hung })")
        // The same gone connections while the holders run: accepted and closed in between.
        let running = Self.run(12) { t in
            LookFacts(now: Double(t), waiting: 3, oldestWait: 3, accepted: t > 0 ? true : nil,
                      acceptedSeen: t > 0 ? false : nil, bytesMoved: false, acceptedOpen: 2, holders: Self.holders(cpu: Double(t) * 0.03))
        }
        #expect(Self.hungAt(running) == nil)
    }

    @Test func anEpisodeEndsWhenNothingWaits() {
        var tracker = ProgressTracker()
        let f = LookFacts(now: 0, waiting: 1, oldestWait: 1, acceptedOpen: 0)
        #expect(tracker.look(Self.g, f, thresholds: Thresholds()) != nil && tracker.count == 1)
        #expect(tracker.look(Self.g, LookFacts(now: 1, waiting: 0, oldestWait: 0), thresholds: Thresholds()) == nil)
        #expect(tracker.count == 0)
    }

    @Test func threadWaitsInWords() {
        var w = ThreadWaits()
        w.add(state: UInt8(ascii: "S"), wchan: "futex_do_wait")
        w.add(state: UInt8(ascii: "S"), wchan: "futex_wait_queue")
        w.add(state: UInt8(ascii: "S"), wchan: "hrtimer_nanosleep")
        #expect(w.summary == "2 of 3 threads wait on locks (futex), 1 sleeps")
        var hidden = ThreadWaits()
        hidden.add(state: UInt8(ascii: "S"), wchan: "0")
        #expect(hidden.hidden == 1 && hidden.summary == "its only thread waits on something unknown")
        #expect(ThreadWaits.activity("do_epoll_wait") == .poll && ThreadWaits.activity("inet_csk_accept") == .accept)
    }
}

/// The load balancer's side: hysteresis after a hang, weights, the agent's reason.
@Suite struct RotationTests {
    static func snapshot(_ l: Listener, findings: [Finding] = []) -> Snapshot {
        Snapshot(timestamp: 0, windowSeconds: 15, listeners: [l], netstat: nil, sysctls: [:], sources: [], findings: findings)
    }

    @Test func aBackendThatWasOutComesBackAfterRecoverAfterOfHealth() {
        var l = Listener(family: .inet, address: "127.0.0.1", port: 80, inode: 1, queueLength: 3, queueMax: 128)
        l.acceptance = AcceptEvidence(waiting: 3, oldestWaitSeconds: 4, noProgressSeconds: 4, progressed: false, hung: .stopped)
        let hung = Finding(kind: "not_accepting", severity: .critical, listener: l, message: "stopped")
        var memory = RotationMemory()
        #expect(memory.update(Self.snapshot(l, findings: [hung]), now: 0).isEmpty, "the finding itself takes it out")
        // SIGCONT: it accepted one, but the oldest still waited 3 s: not healthy yet.
        l.acceptance = AcceptEvidence(waiting: 2, oldestWaitSeconds: 3, noProgressSeconds: 0, progressed: true)
        #expect(memory.update(Self.snapshot(l), now: 1)[l.groupKey]?.healthySince == nil)
        // Progress and short waits: held out for 2 s of that, then in.
        l.acceptance = AcceptEvidence(waiting: 1, oldestWaitSeconds: 0.2, noProgressSeconds: 0, progressed: true)
        #expect(memory.update(Self.snapshot(l), now: 2)[l.groupKey]?.healthySeconds == 0)
        #expect(memory.update(Self.snapshot(l), now: 3)[l.groupKey]?.healthySeconds == 1)
        #expect(memory.update(Self.snapshot(l), now: 4).isEmpty)
        #expect(memory.update(Self.snapshot(l), now: 5).isEmpty, "and stays in")

        // Still stopped, and a balancer's checks (reset by it: the deep look sees none of
        // them waiting) are all that reach it: its queue never empties, it stays out.
        var stopped = l
        stopped.acceptance = nil
        stopped.queueLength = 4
        memory = RotationMemory()
        _ = memory.update(Self.snapshot(stopped, findings: [hung]), now: 10)
        for t in 11...20 { #expect(memory.update(Self.snapshot(stopped), now: Double(t))[l.groupKey] != nil) }
        // Resumed: it accepts them all; an empty queue for 2 s brings it back.
        stopped.queueLength = 0
        #expect(memory.update(Self.snapshot(stopped), now: 21)[l.groupKey] != nil)
        #expect(memory.update(Self.snapshot(stopped), now: 23).isEmpty)
    }

    @Test func theVerdictHoldsOutARecoveringBackendAndWeighsABusyOne() {
        var l = Listener(family: .inet, address: "127.0.0.1", port: 80, inode: 1, queueLength: 2, queueMax: 128)
        l.acceptance = AcceptEvidence(waiting: 2, oldestWaitSeconds: 5, noProgressSeconds: 1, progressed: true)
        var s = Self.snapshot(l)
        let target = ProbeTarget(netns: "host", socket: .tcp(address: nil, port: 80))
        var v = ProbeVerdict.judge(target, in: Publication(snapshots: [s]))
        #expect(v.state == .up && v.weight == 55, "busy: up, the weight falls with the wait (5 s of hung_after 10 s): \(v)")
        #expect(v.smoothed(from: 100).weight == 75, "at most 25 points per answer")
        #expect(v.smoothed(from: 40).weight == 55)
        s.heldOut = [l.groupKey: HeldOut(kind: "not_accepting", healthySince: 0, healthySeconds: 1)]
        v = ProbeVerdict.judge(target, in: Publication(snapshots: [s]))
        #expect(v.state == .down && v.kind == "recovering" && v.sentence.hasSuffix("was hung, recovering: healthy for 1.0 s of 2.0 s"), "\(v)")
        // Over its max: down only while it makes no progress.
        l.queueLength = 129
        l.acceptance = AcceptEvidence(waiting: 129, oldestWaitSeconds: 3, noProgressSeconds: 0.5, progressed: true)
        v = ProbeVerdict.judge(target, in: Publication(snapshots: [Self.snapshot(l)]))
        #expect(v.state == .up && v.weight == 10, "\(v)")
        l.acceptance = AcceptEvidence(waiting: 129, oldestWaitSeconds: 3, noProgressSeconds: 3, progressed: false)
        v = ProbeVerdict.judge(target, in: Publication(snapshots: [Self.snapshot(l)]))
        #expect(v.state == .down && v.kind == "accept_queue_full", "\(v)")
    }

    @Test func theAgentsReasonFitsHAProxysBuffer() {
        let long = "not_accepting: 127.0.0.1:8081 (pid 4711 apache2): 3 connections waiting for accept(), the oldest for 12 s, 240 request bytes unread"
        let cut = ProbeVerdict.cut(long)
        #expect(cut.utf8.count <= 100, "\(cut.utf8.count) bytes")
        #expect(cut.hasPrefix("not_accepting: 127.0.0.1:8081 (pid 4711 apache2): 3 connections") && cut.hasSuffix("…"), "\(cut)")
        #expect(!cut.dropLast().hasSuffix(" "), "cut at a word: \(cut)")
        #expect(ProbeVerdict.cut("short") == "short")
        let multibyte = String(repeating: "é", count: 80)
        #expect(ProbeVerdict.cut(multibyte).utf8.count <= 100)
    }
}
