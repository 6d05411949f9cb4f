#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which process holds each listening socket: its inode matched against the
/// `socket:[N]` links in /proc/<pid>/fd. Scanning every fd of every process is
/// what makes other tools slow on busy hosts, so: only inodes not yet known are
/// looked for, found owners are cached until their inode is gone or their process
/// is, a scan stops at its time budget (the rest is skipped and counted, and the
/// next scan starts where it stopped), and inodes nobody was found for are looked
/// for again after `retryAfter`, then less and less often. Use from one thread.
public final class OwnerIndex {
    public var budget: Double
    public var retryAfter: Double
    private let procRoot: String
    private var owners: [UInt32: Cached] = [:]
    private var missing: [UInt32: Missing] = [:]
    /// The last pid a scan cut short by its budget got to.
    private var resumeAfter: Int32?
    /// Processes a scan did not get to (time budget), since start.
    public private(set) var skippedProcesses: UInt64 = 0
    /// Lookups that ended without an owner, by reason, since start.
    public private(set) var failures: [Unattributed: UInt64] = [:]

    struct Cached {
        var owner: Owner
        /// /proc/<pid>/stat's start time: tells the process from a later one with its pid.
        var started: UInt64?
    }

    struct Missing {
        var reason: Unattributed
        var retryAt: Double
        var attempts: Int
    }

    public init(procRoot: String = "/proc", budget: Double = 0.2, retryAfter: Double = 10) {
        self.procRoot = procRoot
        self.budget = budget
        self.retryAfter = retryAfter
    }

    /// Owners (or reasons) for these listener inodes; `now` is monotonic seconds.
    public func resolve(_ inodes: Set<UInt32>, now: Double) -> [UInt32: Result<Owner, UnattributedError>] {
        owners = owners.filter { inodes.contains($0.key) }
        missing = missing.filter { inodes.contains($0.key) }
        // A socket outlives its holder when another process holds it too (nginx's
        // binary upgrade, a restarted socket-activated service): look again once
        // the cached process is gone or its pid belongs to another.
        var alive: [Int32: Bool] = [:]
        for (inode, c) in owners {
            let pid = c.owner.pid
            if alive[pid] == nil { alive[pid] = c.started != nil && Self.startTime(of: pid, procRoot: procRoot) == c.started }
            if alive[pid] == false { owners[inode] = nil }
        }
        let wanted = inodes.filter { owners[$0] == nil && (missing[$0].map { now >= $0.retryAt } ?? true) }
        if !wanted.isEmpty { scan(for: wanted, now: now) }
        var out: [UInt32: Result<Owner, UnattributedError>] = [:]
        for i in inodes {
            if let c = owners[i] {
                out[i] = .success(c.owner)
            } else {
                out[i] = .failure(UnattributedError(reason: missing[i]?.reason ?? .notFound))
            }
        }
        return out
    }

    private func scan(for wanted: Set<UInt32>, now: Double) {
        let started = ContinuousClock.now
        var found: [UInt32: Int32] = [:]
        // Found with a holder other than pid 1: pid 1 (systemd) holds every socket
        // it activates, and the service it started is the owner a user means.
        var settled = 0
        var denied = false
        var incomplete = false
        var pids = Self.pids(procRoot)
        if let last = resumeAfter, let cut = pids.firstIndex(where: { $0 > last }) {
            pids = Array(pids[cut...] + pids[..<cut])
        }
        resumeAfter = nil
        let deadline = started + .nanoseconds(Int64(max(budget, 0) * 1e9))
        for (n, pid) in pids.enumerated() {
            // The first process is read whole, whatever its size, so that every
            // scan gets somewhere; any other stops the scan when time is up, and
            // the next scan starts with it.
            switch Self.socketInodes(of: pid, procRoot: procRoot, wanted: wanted, deadline: n > 0 ? deadline : nil) {
            case .cutShort:
                skippedProcesses += UInt64(pids.count - n)
                incomplete = true
                resumeAfter = pids[n - 1]
            case .denied: denied = true
            case .inodes(let hits):
                for i in hits {
                    guard let held = found[i] else {
                        found[i] = pid
                        if pid != 1 { settled += 1 }
                        continue
                    }
                    // Otherwise the lowest pid: usually the parent (nginx's master).
                    if held == 1 && pid != 1 { settled += 1 }
                    if held == 1 || (pid != 1 && pid < held) { found[i] = pid }
                }
            }
            if incomplete || settled == wanted.count { break }
        }
        for i in wanted {
            if let pid = found[i], let owner = Self.describe(pid, procRoot: procRoot) {
                owners[i] = Cached(owner: owner, started: Self.startTime(of: pid, procRoot: procRoot))
                missing[i] = nil
            } else {
                let reason: Unattributed = incomplete ? .scanIncomplete : denied ? .noPermission : .notFound
                // Not found again and again (a kernel-held socket such as nfsd's): each
                // look is a whole scan, so look half as often each time, down to 8 x retryAfter.
                let attempts = reason == .scanIncomplete ? 0 : (missing[i]?.attempts ?? 0) + 1
                let wait = retryAfter * Double(1 << min(max(attempts - 1, 0), 3))
                missing[i] = Missing(reason: reason, retryAt: now + wait, attempts: attempts)
                failures[reason, default: 0] += 1
            }
        }
    }

    /// Field 22 of /proc/<pid>/stat (start time, in clock ticks since boot); nil
    /// when the process is gone, a zombie (its fds are closed, its pid not yet
    /// reaped) or the file is odd. The fields are counted after the last ')',
    /// since the name before it may hold spaces and parentheses.
    static func startTime(of pid: Int32, procRoot: String) -> UInt64? {
        guard let bytes = try? ProcFile.read("\(procRoot)/\(pid)/stat", limit: 4096),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // After the name: state is field 3, so start time (22) is the 20th.
        guard fields.count >= 20, fields[0] != [UInt8(ascii: "Z")], fields[0] != [UInt8(ascii: "X")] else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }

    enum FdScan {
        case denied
        case inodes([UInt32])
        /// Time ran out while reading the process's fds.
        case cutShort
    }

    static func pids(_ root: String) -> [Int32] {
        guard let dir = opendir(root) else { return [] }
        defer { closedir(dir) }
        var out: [Int32] = []
        while let e = readdir(dir) {
            let name = DirectoryEntry.name(e)
            if let pid = Int32(name) { out.append(pid) }
        }
        return out.sorted()
    }

    /// The wanted socket inodes among the fds of `pid`.
    static func socketInodes(of pid: Int32, procRoot: String, wanted: Set<UInt32>,
                             deadline: ContinuousClock.Instant? = nil) -> FdScan {
        let path = "\(procRoot)/\(pid)/fd"
        guard let dir = opendir(path) else { return errno == EACCES || errno == EPERM ? .denied : .inodes([]) }
        defer { closedir(dir) }
        var hits: [UInt32] = []
        var link = [CChar](repeating: 0, count: 64)
        let prefix = Array("socket:[".utf8)
        var read = 0
        while let e = readdir(dir) {
            // A clock read before the first fd and per 256 after: a process with
            // 200k of them must not hold the scan far past its budget.
            if let deadline, read % 256 == 0, ContinuousClock.now > deadline { return .cutShort }
            read += 1
            let name = DirectoryEntry.name(e)
            guard name.first != "." else { continue }
            let n = readlink("\(path)/\(name)", &link, link.count - 1)
            if n < 0 {
                if errno == EACCES || errno == EPERM { return .denied }
                continue
            }
            guard n > prefix.count + 1 else { continue }
            let bytes = link[0..<n].map { UInt8(bitPattern: $0) }
            guard Array(bytes[0..<prefix.count]) == prefix, bytes[n - 1] == UInt8(ascii: "]") else { continue }
            var inode: UInt32 = 0
            var ok = true
            for b in bytes[prefix.count..<(n - 1)] {
                guard b >= 0x30 && b <= 0x39 else { ok = false; break }
                let (m, o1) = inode.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt32(b - 0x30))
                guard !o1 && !o2 else { ok = false; break }
                inode = a
            }
            if ok && wanted.contains(inode) { hits.append(inode) }
        }
        return .inodes(hits)
    }

    static func describe(_ pid: Int32, procRoot: String) -> Owner? {
        guard let comm = try? ProcFile.read("\(procRoot)/\(pid)/comm", limit: 64) else { return nil }
        let cmdline = (try? ProcFile.read("\(procRoot)/\(pid)/cmdline", limit: 4096)) ?? []
        let cgroup = (try? ProcFile.readString("\(procRoot)/\(pid)/cgroup")) ?? ""
        let (unit, container, path) = CgroupUnit.parseWithPath(cgroup)
        return Owner(
            pid: pid,
            comm: String(decoding: comm.last == 0x0a ? comm.dropLast() : comm[...], as: UTF8.self),
            cmdline: String(decoding: cmdline.split(separator: 0, omittingEmptySubsequences: false)
                .joined(separator: [0x20]).reversed().drop { $0 == 0x20 }.reversed(), as: UTF8.self),
            unit: unit, container: container, cgroup: path)
    }
}

public struct UnattributedError: Error, Sendable, Hashable {
    public var reason: Unattributed
}

/// The latest owner lookup, handed from the deep loop to the fast tick.
public struct OwnerSnapshot: Sendable {
    public var byInode: [UInt32: Result<Owner, UnattributedError>]
    public var failures: [Unattributed: UInt64]
    public var skipped: UInt64
    /// Which lookup this is (they count up): a tick re-applies owners only when it changed.
    public var generation: UInt64

    public init(byInode: [UInt32: Result<Owner, UnattributedError>], failures: [Unattributed: UInt64], skipped: UInt64,
                generation: UInt64 = 0) {
        self.byInode = byInode
        self.failures = failures
        self.skipped = skipped
        self.generation = generation
    }

    /// Looks up `inodes` now (a /proc scan for the ones not cached, bounded in time).
    public static func resolve(_ inodes: Set<UInt32>, with index: OwnerIndex, now: Double, generation: UInt64 = 0) -> OwnerSnapshot {
        OwnerSnapshot(byInode: index.resolve(inodes, now: now), failures: index.failures, skipped: index.skippedProcesses,
                      generation: generation)
    }
}
