#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which process holds each listening socket: its inode matched against the
/// `socket:[N]` links in /proc/<pid>/fd. Scanning every fd of every process is
/// what makes other tools slow on busy hosts, so: only inodes not yet known are
/// looked for, found owners are cached until their inode is gone, a scan stops
/// at its time budget (the rest is skipped and counted), and inodes nobody was
/// found for are looked for again only after `retryAfter`. Use from one thread.
public final class OwnerIndex {
    public var budget: Double
    public var retryAfter: Double
    private let procRoot: String
    private var owners: [UInt32: Owner] = [:]
    private var missing: [UInt32: (reason: Unattributed, since: Double)] = [:]
    /// Processes a scan did not get to (time budget), since start.
    public private(set) var skippedProcesses: UInt64 = 0
    /// Lookups that ended without an owner, by reason, since start.
    public private(set) var failures: [Unattributed: UInt64] = [:]

    public init(procRoot: String = "/proc", budget: Double = 0.2, retryAfter: Double = 10) {
        self.procRoot = procRoot
        self.budget = budget
        self.retryAfter = retryAfter
    }

    /// Owners (or reasons) for these listener inodes; `now` is monotonic seconds.
    public func resolve(_ inodes: Set<UInt32>, now: Double) -> [UInt32: Result<Owner, UnattributedError>] {
        owners = owners.filter { inodes.contains($0.key) }
        missing = missing.filter { inodes.contains($0.key) }
        let wanted = inodes.filter { owners[$0] == nil && (missing[$0].map { now - $0.since >= retryAfter } ?? true) }
        if !wanted.isEmpty { scan(for: wanted, now: now) }
        var out: [UInt32: Result<Owner, UnattributedError>] = [:]
        for i in inodes {
            if let o = owners[i] {
                out[i] = .success(o)
            } else {
                out[i] = .failure(UnattributedError(reason: missing[i]?.reason ?? .notFound))
            }
        }
        return out
    }

    private func scan(for wanted: Set<UInt32>, now: Double) {
        let started = ContinuousClock.now
        var found: [UInt32: Int32] = [:]
        var denied = false
        var incomplete = false
        let pids = Self.pids(procRoot)
        for (n, pid) in pids.enumerated() {
            if (ContinuousClock.now - started).seconds > budget {
                skippedProcesses += UInt64(pids.count - n)
                incomplete = true
                break
            }
            switch Self.socketInodes(of: pid, procRoot: procRoot, wanted: wanted) {
            case .denied: denied = true
            case .inodes(let hits):
                // The lowest pid wins when several share a socket (usually the parent: nginx's master).
                for i in hits where found[i].map({ pid < $0 }) ?? true { found[i] = pid }
            }
            if found.count == wanted.count { break }
        }
        for i in wanted {
            if let pid = found[i], let owner = Self.describe(pid, procRoot: procRoot) {
                owners[i] = owner
                missing[i] = nil
            } else {
                let reason: Unattributed = incomplete ? .scanIncomplete : denied ? .noPermission : .notFound
                missing[i] = (reason, now)
                failures[reason, default: 0] += 1
            }
        }
    }

    enum FdScan {
        case denied
        case inodes([UInt32])
    }

    static func pids(_ root: String) -> [Int32] {
        guard let dir = opendir(root) else { return [] }
        defer { closedir(dir) }
        var out: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = Int32(name) { out.append(pid) }
        }
        return out.sorted()
    }

    /// The wanted socket inodes among the fds of `pid`.
    static func socketInodes(of pid: Int32, procRoot: String, wanted: Set<UInt32>) -> FdScan {
        let path = "\(procRoot)/\(pid)/fd"
        guard let dir = opendir(path) else { return errno == EACCES || errno == EPERM ? .denied : .inodes([]) }
        defer { closedir(dir) }
        var hits: [UInt32] = []
        var link = [CChar](repeating: 0, count: 64)
        let prefix = Array("socket:[".utf8)
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
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
        let (unit, container) = CgroupUnit.parse(cgroup)
        return Owner(
            pid: pid,
            comm: String(decoding: comm.last == 0x0a ? comm.dropLast() : comm[...], as: UTF8.self),
            cmdline: String(decoding: cmdline.split(separator: 0, omittingEmptySubsequences: false)
                .joined(separator: [0x20]).reversed().drop { $0 == 0x20 }.reversed(), as: UTF8.self),
            unit: unit, container: container)
    }
}

public struct UnattributedError: Error, Sendable, Hashable {
    public var reason: Unattributed
}

/// The latest owner lookup, handed from the slow queue to the fast tick.
public struct OwnerSnapshot: Sendable {
    public var byInode: [UInt32: Result<Owner, UnattributedError>]
    public var failures: [Unattributed: UInt64]
    public var skipped: UInt64

    public init(byInode: [UInt32: Result<Owner, UnattributedError>], failures: [Unattributed: UInt64], skipped: UInt64) {
        self.byInode = byInode
        self.failures = failures
        self.skipped = skipped
    }
}
