import BacklogCore
import Testing

/// The accept-queue rules (QueueFindings): full, near full, clamped by somaxconn.
@Suite struct QueueFindingsTests {
    @Test func queueFindings() {
        let full = Listener(family: .inet, address: "127.0.0.1", port: 8080, inode: 1, queueLength: 5, queueMax: 4)
        let clamped = Listener(family: .inet6, address: "::", port: 80, inode: 2, queueLength: 0, queueMax: 4096)
        let wasFull = Listener(family: .unix, address: "/s", port: nil, inode: 3, queueLength: 0, queueMax: 3, queuePeak: 4)
        let atMax = Listener(family: .inet, address: "0.0.0.0", port: 22, inode: 4, queueLength: 4, queueMax: 4)
        let ok = Listener(family: .inet, address: "0.0.0.0", port: 23, inode: 5, queueLength: 3, queueMax: 4)
        let f = QueueFindings.evaluate(listeners: [full, clamped, wasFull, atMax, ok], somaxconn: 4096)
        #expect(f.map(\.kind).sorted() == ["accept_queue_full", "accept_queue_full", "accept_queue_near_full", "backlog_clamped"])
        #expect(f.contains { $0.kind == "accept_queue_near_full" && $0.listener?.inode == 4 && $0.severity == .warning })
        #expect(f.first?.severity == .warning)
        #expect(f.contains { $0.kind == "backlog_clamped" && $0.severity == .info && $0.message.contains("somaxconn") })
        #expect(f.contains { $0.listener?.inode == 1 && $0.message.contains("5/4") })
        #expect(f.contains { $0.listener?.inode == 3 && $0.message.contains("peak 4/3") })
    }

    @Test func nearFullFollowsTheThresholdsRatio() {
        let half = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 50, queueMax: 100)
        #expect(QueueFindings.evaluate(listeners: [half], somaxconn: 4096).isEmpty, "0.5 is below the default 0.8")
        var t = Thresholds()
        t.nearFullRatio = 0.5
        let f = QueueFindings.evaluate(listeners: [half], somaxconn: 4096, thresholds: t)
        #expect(f.map(\.kind) == ["accept_queue_near_full"])
        #expect(f.first?.message == "0.0.0.0:80: accept queue near full 50/100 — the process is falling behind")
        t.nearFullRatio = 0.51
        #expect(QueueFindings.evaluate(listeners: [half], somaxconn: 4096, thresholds: t).isEmpty)
        // An empty queue of max 0 (listen(fd, 0)) is never "near" full.
        let zero = Listener(family: .inet, address: "0.0.0.0", port: 81, inode: 2, queueLength: 0, queueMax: 0)
        #expect(QueueFindings.evaluate(listeners: [zero], somaxconn: 4096, thresholds: t).isEmpty)
    }

    @Test func aClampedQueueNearFullSaysTheSysctlMustBeRaised() {
        let l = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 110, queueMax: 128)
        let f = QueueFindings.evaluate(listeners: [l], somaxconn: 128)
        #expect(f.map(\.kind) == ["accept_queue_near_full", "backlog_clamped"])
        #expect(f.first?.message.contains("its max is net.core.somaxconn (128)") == true, "\(f.first?.message ?? "")")
        // Not clamped: no word about the sysctl, and no clamp finding.
        let g = QueueFindings.evaluate(listeners: [l], somaxconn: 4096)
        #expect(g.map(\.kind) == ["accept_queue_near_full"])
        #expect(g.first?.message.contains("somaxconn") == false)
    }

    @Test func withoutSomaxconnNothingIsClamped() {
        let l = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 0, queueMax: 4096)
        #expect(QueueFindings.evaluate(listeners: [l], somaxconn: nil).isEmpty)
        #expect(QueueFindings.evaluate(listeners: [l], somaxconn: 4096).map(\.kind) == ["backlog_clamped"])
    }

    @Test func fullNowOrDuringTheWindow() {
        // length > max is full (the kernel's sk_acceptq_is_full); length == max is not.
        let full = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 9, queueMax: 8)
        #expect(QueueFindings.evaluate(listeners: [full], somaxconn: nil).first?.message
            == "0.0.0.0:80: accept queue full 9/8: new connections are refused or dropped; the process is not accepting fast enough")
        let peaked = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 0, queueMax: 8, queuePeak: 9)
        let f = QueueFindings.evaluate(listeners: [peaked], somaxconn: nil)
        #expect(f.map(\.kind) == ["accept_queue_full"])
        #expect(f.first?.message.contains("peak 9/8), now 0/8") == true, "\(f.first?.message ?? "")")
        // Peak at max, never over: not full.
        let atMax = Listener(family: .inet, address: "0.0.0.0", port: 80, inode: 1, queueLength: 0, queueMax: 8, queuePeak: 8)
        #expect(QueueFindings.evaluate(listeners: [atMax], somaxconn: nil).isEmpty)
    }

    @Test func sortedMostSevereFirstThenByKind() {
        func f(_ kind: String, _ s: Finding.Severity) -> Finding { Finding(kind: kind, severity: s, listener: nil, message: kind) }
        let sorted = QueueFindings.sorted([
            f("backlog_clamped", .info), f("not_reading", .warning), f("accept_queue_full", .warning),
            f("not_accepting", .critical), f("deferred_accept_holds", .info),
        ])
        #expect(sorted.map(\.kind) == ["not_accepting", "accept_queue_full", "not_reading", "backlog_clamped", "deferred_accept_holds"])
    }
}
