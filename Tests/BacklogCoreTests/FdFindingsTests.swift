import BacklogCore
import Foundation
import Testing

/// fd_limit_reached over given numbers, and reading a real process's numbers.
@Suite struct FdFindingsTests {
    static func listener(queue: UInt32, open: UInt64, limit: UInt64?, pid: Int32 = 12, ownerPid: Int32 = 10) -> Listener {
        var l = Listener(family: .inet, address: "127.0.0.1", port: 80, inode: 1, queueLength: queue, queueMax: 511)
        l.owner = Owner(pid: ownerPid, comm: "nginx", cmdline: "nginx", unit: nil, container: nil)
        l.fdUsage = FdUsage(pid: pid, comm: "nginx", open: open, limit: limit)
        return l
    }

    @Test func criticalWithinTwoOfTheLimitWarningFromNinetyPercent() {
        let at = FdFindings.evaluate(listeners: [Self.listener(queue: 5, open: 62, limit: 64)])
        #expect(at.map(\.severity) == [.critical])
        let m = at.first?.message ?? ""
        #expect(m.contains("pid 12 (nginx) has 62 of 64 file descriptors open") && m.contains("5 connections wait for accept()"), "\(m)")
        #expect(m.contains("EMFILE"), "\(m)")
        #expect(FdFindings.evaluate(listeners: [Self.listener(queue: 1, open: 61, limit: 64)]).map(\.severity) == [.warning])
        #expect(FdFindings.evaluate(listeners: [Self.listener(queue: 1, open: 57, limit: 64)]).isEmpty, "under 90 %")
        #expect(FdFindings.evaluate(listeners: [Self.listener(queue: 1, open: 900, limit: 1000)]).map(\.severity) == [.warning])
        #expect(FdFindings.evaluate(listeners: [Self.listener(queue: 1, open: 5000, limit: nil)]).isEmpty, "unlimited")
    }

    @Test func onlyWhileConnectionsWait() {
        #expect(FdFindings.evaluate(listeners: [Self.listener(queue: 0, open: 64, limit: 64)]).isEmpty)
        var l = Self.listener(queue: 0, open: 64, limit: 64)
        var c = ConnectionStats()
        c.unaccepted = AgedCount(count: 2, oldestSeconds: 1)
        l.connections = c
        #expect(FdFindings.evaluate(listeners: [l]).first?.message.contains("2 connections wait") == true)
    }

    @Test func theOwnerItselfIsCalledIt() {
        let f = FdFindings.evaluate(listeners: [Self.listener(queue: 1, open: 32, limit: 32, pid: 10)])
        #expect(f.first?.message.contains("(pid 10 nginx): it has 32 of 32") == true, "\(f)")
    }

    /// This process: its soft limit as the kernel tells it.
    @Test func readsThisProcess() throws {
        let u = try #require(FdUsage.read(pid: getpid()))
        var lim = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
        let soft: UInt64? = lim.rlim_cur == rlim_t.max ? nil : UInt64(lim.rlim_cur)
        #expect(u.limit == soft)
        #expect(u.open >= 3)
        #expect(FdUsage.read(pid: 999_999_999) == nil)
    }

    /// The counting and the limits line, over a /proc tree written here.
    @Test func countsEntriesAndReadsTheSoftLimit() throws {
        let root = NSTemporaryDirectory() + "bd-fdproc-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        func process(_ pid: Int32, fds: Int, limits: String) throws {
            try fm.createDirectory(atPath: "\(root)/\(pid)/fd", withIntermediateDirectories: true)
            for n in 0..<fds { try fm.createSymbolicLink(atPath: "\(root)/\(pid)/fd/\(n)", withDestinationPath: "socket:[\(n + 100)]") }
            try limits.write(toFile: "\(root)/\(pid)/limits", atomically: false, encoding: .utf8)
            try "worker\n".write(toFile: "\(root)/\(pid)/comm", atomically: false, encoding: .utf8)
        }
        let header = "Limit                     Soft Limit           Hard Limit           Units     \n"
        try process(10, fds: 7, limits: header + "Max processes             63432                63432                processes \nMax open files            64                   524288               files     \n")
        try process(11, fds: 3, limits: header + "Max open files            unlimited            unlimited            files     \n")
        try process(12, fds: 3, limits: header + "Max open files            lots                 1                    files     \n")
        #expect(FdUsage.read(pid: 10, procRoot: root) == FdUsage(pid: 10, comm: "worker", open: 7, limit: 64))
        #expect(FdUsage.read(pid: 11, procRoot: root)?.limit == nil)
        #expect(FdUsage.read(pid: 12, procRoot: root) == nil, "an odd limits file is not a number")
        var cache: [Int32: FdUsage?] = [:]
        #expect(FdUsage.closest([11, 10, 12], cache: &cache, procRoot: root)?.pid == 10, "7/64 beats unlimited")
    }
}
