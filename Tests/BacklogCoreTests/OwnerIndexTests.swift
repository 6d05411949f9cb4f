import BacklogCore
import Foundation
import Testing

/// OwnerIndex's choices over a /proc tree written by the test: which holder wins,
/// when a cached owner is looked up again, how often a socket nobody holds is
/// looked for, and that a scan cut short resumes where it stopped. (Pid 1 holding
/// a socket, or a process with a given start time, cannot be made for real here;
/// the real-process behaviour is in IntegrationTests/OwnershipTests.)
@Suite struct OwnerIndexTests {
    final class FakeProc {
        let root: String
        init() throws {
            root = NSTemporaryDirectory() + "bd-proc-\(getpid())-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// A process holding sockets with these inodes, started at `start` (clock ticks).
        func process(_ pid: Int32, _ comm: String, unit: String, start: UInt64 = 1000, state: String = "S", sockets: [UInt32]) throws {
            let dir = "\(root)/\(pid)"
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: "\(dir)/fd", withIntermediateDirectories: true)
            try "\(comm)\n".write(toFile: "\(dir)/comm", atomically: false, encoding: .utf8)
            try "/usr/bin/\(comm)\0--flag\0".write(toFile: "\(dir)/cmdline", atomically: false, encoding: .utf8)
            try "0::/system.slice/\(unit)\n".write(toFile: "\(dir)/cgroup", atomically: false, encoding: .utf8)
            // The name may hold ") " itself: the start time is counted after the last ')'.
            let after = [state, "1"] + Array(repeating: "0", count: 17) + ["\(start)", "0"]
            try "\(pid) (\(comm)) x) \(after.joined(separator: " "))\n".write(toFile: "\(dir)/stat", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: "\(dir)/fd/0", withDestinationPath: "/dev/null")
            for (n, inode) in sockets.enumerated() {
                try FileManager.default.createSymbolicLink(atPath: "\(dir)/fd/\(n + 3)", withDestinationPath: "socket:[\(inode)]")
            }
        }

        func exit(_ pid: Int32) { try? FileManager.default.removeItem(atPath: "\(root)/\(pid)") }

        /// /proc/<pid>/task/<pid>/children, as the kernel writes it: pids and a space each.
        func children(_ pid: Int32, _ kids: [Int32]) throws {
            let dir = "\(root)/\(pid)/task/\(pid)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try kids.map { "\($0) " }.joined().write(toFile: "\(dir)/children", atomically: false, encoding: .utf8)
        }

        func moveCgroup(_ pid: Int32, unit: String) throws {
            try "0::/system.slice/\(unit)\n".write(toFile: "\(root)/\(pid)/cgroup", atomically: false, encoding: .utf8)
        }
    }

    private func pid(_ r: Result<Owner, UnattributedError>?) -> Int32? {
        if case .success(let o) = r { return o.pid }
        return nil
    }

    /// systemd holds every socket it activates; the service it started is the owner.
    @Test func theServiceWinsOverPid1AndTheParentOverItsChildren() throws {
        let proc = try FakeProc()
        try proc.process(1, "systemd", unit: "init.scope", sockets: [100, 200])
        try proc.process(70, "worker", unit: "web.service", sockets: [300])
        try proc.process(60, "master", unit: "web.service", sockets: [300])
        try proc.process(50, "sshd", unit: "ssh.service", sockets: [100])
        let index = OwnerIndex(procRoot: proc.root)
        let r = index.resolve([100, 200, 300], now: 0)
        #expect(pid(r[100]) == 50)
        #expect(pid(r[200]) == 1, "held by pid 1 alone: pid 1")
        #expect(pid(r[300]) == 60)
        if case .success(let o) = r[100] {
            #expect(o.comm == "sshd" && o.unit == "ssh.service" && o.cmdline == "/usr/bin/sshd --flag")
            #expect(o.cgroup == "/system.slice/ssh.service")
        }
    }

    /// The cached holder exits (or its pid is reused): the next lookup finds who holds it now.
    @Test func aCachedOwnerIsCheckedAgainWhenItsProcessIsGone() throws {
        let proc = try FakeProc()
        try proc.process(40, "nginx", unit: "nginx.service", start: 500, sockets: [100])
        try proc.process(41, "nginx", unit: "nginx.service", start: 900, sockets: [100])
        let index = OwnerIndex(procRoot: proc.root)
        #expect(pid(index.resolve([100], now: 0)[100]) == 40)
        // Still there: the cache answers even if the files change under it.
        try proc.process(41, "renamed", unit: "nginx.service", start: 900, sockets: [100])
        #expect(pid(index.resolve([100], now: 1)[100]) == 40)
        // A zombie: exited, not yet reaped; its fds are closed.
        try proc.process(40, "nginx", unit: "nginx.service", start: 500, state: "Z", sockets: [])
        #expect(pid(index.resolve([100], now: 2)[100]) == 41)
        proc.exit(40)
        #expect(pid(index.resolve([100], now: 2.5)[100]) == 41)
        // Pid 41 reused by another process (another start time) that holds the socket too.
        try proc.process(41, "other", unit: "other.service", start: 4000, sockets: [100])
        let r = index.resolve([100], now: 3)
        if case .success(let o) = r[100] { #expect(o.comm == "other") } else { Issue.record("\(String(describing: r[100]))") }
    }

    /// A socket no process holds is looked for after retryAfter, then half as often, at most 8×.
    @Test func aSocketNobodyHoldsIsLookedForLessAndLessOften() throws {
        let proc = try FakeProc()
        try proc.process(10, "app", unit: "app.service", sockets: [1])
        let index = OwnerIndex(procRoot: proc.root, retryAfter: 10)
        var scans: [Double] = []
        for t in stride(from: 0.0, through: 400, by: 5) {
            let before = index.failures[.notFound] ?? 0
            let r = index.resolve([1, 2049], now: t)
            if case .failure(let e) = r[2049] { #expect(e.reason == .notFound) } else { Issue.record("2049 found?") }
            #expect(pid(r[1]) == 10)
            if (index.failures[.notFound] ?? 0) > before { scans.append(t) }
        }
        #expect(scans == [0, 10, 30, 70, 150, 230, 310, 390])
    }

    /// With no time to spare, each scan reads one process; the next starts after it,
    /// so a holder at a high pid is reached.
    @Test func aScanCutShortResumesWhereItStopped() throws {
        let proc = try FakeProc()
        for p: Int32 in [2, 3, 4, 5] { try proc.process(p, "p\(p)", unit: "p.service", sockets: []) }
        try proc.process(6, "late", unit: "late.service", sockets: [77])
        let index = OwnerIndex(procRoot: proc.root, budget: 0, retryAfter: 0)
        var reasons: [Unattributed] = []
        var found: Int32?
        for t in 0..<10 {
            let r = index.resolve([77], now: Double(t))
            if let p = pid(r[77]) { found = p; break }
            if case .failure(let e) = r[77] { reasons.append(e.reason) }
        }
        #expect(found == 6)
        #expect(reasons == Array(repeating: .scanIncomplete, count: 4))
        #expect(index.skippedProcesses > 0)
    }

    /// A process with many fds past the first is cut short when time is up, and
    /// read whole as the first of the next scan.
    @Test func aProcessWithManyFdsIsReadWholeAsTheFirstOfAScan() throws {
        let proc = try FakeProc()
        try proc.process(2, "small", unit: "s.service", sockets: [])
        try proc.process(3, "huge", unit: "h.service", sockets: Array(1000..<4000) + [88])
        let index = OwnerIndex(procRoot: proc.root, budget: 0, retryAfter: 0)
        let first = index.resolve([88], now: 0)
        if case .failure(let e) = first[88] { #expect(e.reason == .scanIncomplete) } else { Issue.record("found in the first scan") }
        #expect(pid(index.resolve([88], now: 1)[88]) == 3)
    }

    /// fd handoff (HAProxy's seamless reload): the owner passes the socket on and
    /// closes its copy but keeps running; its fd link tells, at the next resolve.
    @Test func anOwnerThatClosedItsCopyIsReplacedWhileItRuns() throws {
        let proc = try FakeProc()
        try proc.process(40, "haproxy", unit: "haproxy.service", start: 500, sockets: [100])
        let index = OwnerIndex(procRoot: proc.root)
        #expect(pid(index.resolve([100], now: 0)[100]) == 40)
        try proc.process(41, "haproxy", unit: "haproxy.service", start: 900, sockets: [100])
        try proc.process(40, "haproxy", unit: "haproxy.service", start: 500, sockets: [])
        #expect(pid(index.resolve([100], now: 1)[100]) == 41, "40 runs on (same start time) but no longer holds it")
    }

    /// A process moved to another cgroup after it was first seen gets its new unit.
    @Test func anOwnerMovedToAnotherCgroupIsDescribedAgain() throws {
        let proc = try FakeProc()
        try proc.process(40, "app", unit: "old.service", sockets: [100])
        let index = OwnerIndex(procRoot: proc.root)
        if case .success(let o) = index.resolve([100], now: 0)[100] { #expect(o.unit == "old.service") }
        try proc.moveCgroup(40, unit: "new.service")
        if case .success(let o) = index.resolve([100], now: 1)[100] { #expect(o.unit == "new.service" && o.pid == 40) } else { Issue.record("lost") }
    }

    /// The owner's descendants that hold the socket are its holders (nginx's workers).
    @Test func descendantsHoldingTheSocketAreHolders() throws {
        let proc = try FakeProc()
        try proc.process(60, "master", unit: "web.service", sockets: [300, 301])
        try proc.process(70, "worker", unit: "web.service", sockets: [300, 301])
        try proc.process(71, "worker", unit: "web.service", sockets: [301])
        try proc.process(72, "helper", unit: "web.service", sockets: [])
        try proc.process(80, "grandchild", unit: "web.service", sockets: [300])
        try proc.children(60, [70, 71, 72])
        try proc.children(72, [80])
        let index = OwnerIndex(procRoot: proc.root)
        func holders(_ r: Result<Owner, UnattributedError>?) -> [Int32] {
            if case .success(let o) = r { return o.holders }
            return []
        }
        var r = index.resolve([300, 301], now: 0)
        #expect(holders(r[300]) == [60, 70, 80])
        #expect(holders(r[301]) == [60, 70, 71])
        // A worker exits and a new one (another pid) starts: read once it appears.
        proc.exit(71)
        try proc.process(73, "worker", unit: "web.service", sockets: [300, 301])
        try proc.children(60, [70, 72, 73])
        r = index.resolve([300, 301], now: 1)
        #expect(holders(r[300]) == [60, 70, 73, 80])
        #expect(holders(r[301]) == [60, 70, 73])
    }
}
