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
        /// The fd it was found at: one readlink tells whether the process still holds it
        /// (a process that handed its listener to another and closed its copy does not).
        var fd: Int32
        /// /proc/<pid>/cgroup as it was read: a process moved to another cgroup is described again.
        var cgroup: [UInt8]
    }

    /// A descendant of an owner, scanned once for the owner's listeners it holds.
    struct Descendant {
        var started: UInt64?
        /// The owner's inodes at the time of the scan (a new listener makes it scan again).
        var lookedFor: Set<UInt32>
        var holds: Set<UInt32>
    }
    private var descendants: [Int32: Descendant] = [:]
    /// Cached owners whose fd was checked last; the check goes round when there are many.
    private var verifyCursor = 0
    /// Most cached owners whose fd link is read again per resolve (5 000 listeners: each every 5th deep tick).
    public var verifyPerResolve = 1024
    /// Most descendants of one owner looked at (a fork server with thousands of children).
    public var descendantsMax = 256

    struct Missing {
        var reason: Unattributed
        var retryAt: Double
        var attempts: Int
    }

    /// Where the kubelet keeps a directory per pod (`kubernetes.pods_dir`): pod namespaces and names.
    public var podsDir: String {
        get { pods.path }
        set { pods.path = newValue }
    }
    private let pods: PodDirectory
    /// Pod UIDs that more than one pods-directory entry claims (their pods are not named).
    public var podUIDConflicts: Int { pods.claimedTwice.count }

    public init(procRoot: String = "/proc", budget: Double = 0.2, retryAfter: Double = 10, podsDir: String = PodDirectory.defaultPath) {
        self.procRoot = procRoot
        pods = PodDirectory(path: podsDir)
        self.budget = budget
        self.retryAfter = retryAfter
    }

    /// Owners (or reasons) for these listener inodes; `now` is monotonic seconds.
    public func resolve(_ inodes: Set<UInt32>, now: Double) -> [UInt32: Result<Owner, UnattributedError>] {
        owners = owners.filter { inodes.contains($0.key) }
        missing = missing.filter { inodes.contains($0.key) }
        verify()
        let wanted = inodes.filter { owners[$0] == nil && (missing[$0].map { now >= $0.retryAt } ?? true) }
        if !wanted.isEmpty { scan(for: wanted, now: now) }
        let holders = findHolders()
        var out: [UInt32: Result<Owner, UnattributedError>] = [:]
        for i in inodes {
            if var o = owners[i]?.owner {
                o.holders = [o.pid] + (holders[i] ?? [])
                // Looked up each time, not cached with the owner: the kubelet may make the directory later.
                if let uid = o.pod?.uid, let known = pods.lookup(uid, now: now) {
                    o.pod?.namespace = known.namespace
                    o.pod?.name = known.name
                }
                out[i] = .success(o)
            } else {
                out[i] = .failure(UnattributedError(reason: missing[i]?.reason ?? .notFound))
            }
        }
        return out
    }

    /// Re-checks cached owners cheaply: a socket outlives its holder when another
    /// process holds it too (nginx's binary upgrade, a restarted socket-activated
    /// service), and a holder can hand it on over SCM_RIGHTS and close its copy
    /// while it keeps running (HAProxy's seamless reload, Envoy's hot restart). So
    /// an owner is looked for again once its process is gone, its pid belongs to
    /// another, or its fd no longer links to the socket; one that moved to another
    /// cgroup is described again.
    private func verify() {
        var alive: [Int32: Bool] = [:]
        var moved: [Int32: (cgroup: [UInt8], owner: Owner?)] = [:]
        for (inode, c) in owners {
            let pid = c.owner.pid
            if alive[pid] == nil {
                alive[pid] = c.started != nil && Self.startTime(of: pid, procRoot: procRoot) == c.started
                if alive[pid] == true, let now = try? ProcFile.read("\(procRoot)/\(pid)/cgroup", limit: 1 << 16), now != c.cgroup {
                    moved[pid] = (now, Self.describe(pid, procRoot: procRoot))
                }
            }
            if alive[pid] == false {
                owners[inode] = nil
            } else if let m = moved[pid] {
                if let o = m.owner { owners[inode]?.owner = o } else { owners[inode] = nil }
                owners[inode]?.cgroup = m.cgroup
            }
        }
        // The fd links, a bounded number per resolve (in inode order, going round).
        let cached = owners.keys.sorted()
        guard !cached.isEmpty else { return }
        let count = min(cached.count, max(verifyPerResolve, 1))
        if verifyCursor >= cached.count { verifyCursor = 0 }
        for k in 0..<count {
            let inode = cached[(verifyCursor + k) % cached.count]
            guard let c = owners[inode] else { continue }
            if !Self.links(pid: c.owner.pid, fd: c.fd, to: inode, procRoot: procRoot) { owners[inode] = nil }
        }
        verifyCursor = (verifyCursor + count) % cached.count
    }

    /// Whether /proc/<pid>/fd/<fd> is `socket:[inode]`.
    static func links(pid: Int32, fd: Int32, to inode: UInt32, procRoot: String) -> Bool {
        var link = [CChar](repeating: 0, count: 64)
        let n = readlink("\(procRoot)/\(pid)/fd/\(fd)", &link, link.count - 1)
        guard n > 0 else { return false }
        return Array(link[0..<n].map { UInt8(bitPattern: $0) }) == Array("socket:[\(inode)]".utf8)
    }

    /// The other processes holding each owner's listeners: its descendants (the
    /// workers of nginx, apache, gunicorn, php-fpm), which may run out of
    /// descriptors while the owner does not. A descendant's fds are read once
    /// (again when its owner has new listeners); known ones are kept while alive.
    private func findHolders() -> [UInt32: [Int32]] {
        var byOwner: [Int32: Set<UInt32>] = [:]
        for (inode, c) in owners where c.owner.pid != 1 { byOwner[c.owner.pid, default: []].insert(inode) }
        var out: [UInt32: [Int32]] = [:]
        var live = Set<Int32>()
        for (owner, inodes) in byOwner.sorted(by: { $0.key < $1.key }) {
            for pid in Self.descendants(of: owner, procRoot: procRoot, max: descendantsMax) {
                live.insert(pid)
                let started = Self.startTime(of: pid, procRoot: procRoot)
                if let d = descendants[pid], d.started == started, inodes.isSubset(of: d.lookedFor) {
                    for i in d.holds.intersection(inodes) { out[i, default: []].append(pid) }
                    continue
                }
                guard started != nil, case .inodes(let hits) = Self.socketInodes(of: pid, procRoot: procRoot, wanted: inodes) else { continue }
                let holds = Set(hits.map(\.inode))
                descendants[pid] = Descendant(started: started, lookedFor: inodes, holds: holds)
                for i in holds { out[i, default: []].append(pid) }
            }
        }
        descendants = descendants.filter { live.contains($0.key) }
        return out.mapValues { $0.sorted() }
    }

    /// Children, grandchildren… of `pid` (/proc/<pid>/task/<tid>/children), breadth first, at most `max`.
    static func descendants(of pid: Int32, procRoot: String, max: Int) -> [Int32] {
        var out: [Int32] = []
        var queue = [pid]
        var seen: Set<Int32> = [pid]
        while let p = queue.first, out.count < max {
            queue.removeFirst()
            guard let dir = opendir("\(procRoot)/\(p)/task") else { continue }
            var tids: [String] = []
            while let e = readdir(dir) {
                let name = DirectoryEntry.name(e)
                if name.first != "." { tids.append(name) }
            }
            closedir(dir)
            for tid in tids {
                guard let text = try? ProcFile.read("\(procRoot)/\(p)/task/\(tid)/children", limit: 1 << 16) else { continue }
                for field in text.split(whereSeparator: { $0 == 0x20 || $0 == 0x0a }) {
                    guard let child = Int32(String(decoding: field, as: UTF8.self)), seen.insert(child).inserted else { continue }
                    if out.count < max { out.append(child) }
                    queue.append(child)
                }
            }
        }
        return out
    }

    private func scan(for wanted: Set<UInt32>, now: Double) {
        let started = ContinuousClock.now
        var found: [UInt32: (pid: Int32, fd: Int32)] = [:]
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
                for (i, fd) in hits {
                    guard let held = found[i]?.pid else {
                        found[i] = (pid, fd)
                        if pid != 1 { settled += 1 }
                        continue
                    }
                    // Otherwise the lowest pid: usually the parent (nginx's master).
                    if held == 1 && pid != 1 { settled += 1 }
                    if held == 1 || (pid != 1 && pid < held) { found[i] = (pid, fd) }
                }
            }
            if incomplete || settled == wanted.count { break }
        }
        for i in wanted {
            if let (pid, fd) = found[i], let owner = Self.describe(pid, procRoot: procRoot) {
                let cgroup = (try? ProcFile.read("\(procRoot)/\(pid)/cgroup", limit: 1 << 16)) ?? []
                owners[i] = Cached(owner: owner, started: Self.startTime(of: pid, procRoot: procRoot), fd: fd, cgroup: cgroup)
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
        /// The wanted inodes found, each with the fd number it is open at.
        case inodes([(inode: UInt32, fd: Int32)])
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
        var hits: [(inode: UInt32, fd: Int32)] = []
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
            if ok && wanted.contains(inode), let fd = Int32(name) { hits.append((inode, fd)) }
        }
        return .inodes(hits)
    }

    /// /proc/<pid>/comm without its newline (untrusted text); nil when the process is gone.
    static func comm(of pid: Int32, procRoot: String) -> String? {
        guard let bytes = try? ProcFile.read("\(procRoot)/\(pid)/comm", limit: 64) else { return nil }
        return String(decoding: bytes.last == 0x0a ? bytes.dropLast() : bytes[...], as: UTF8.self)
    }

    static func describe(_ pid: Int32, procRoot: String) -> Owner? {
        guard let comm = comm(of: pid, procRoot: procRoot) else { return nil }
        let cmdline = (try? ProcFile.read("\(procRoot)/\(pid)/cmdline", limit: 4096)) ?? []
        let cgroup = (try? ProcFile.read("\(procRoot)/\(pid)/cgroup", limit: 1 << 16)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let (unit, container, path) = CgroupUnit.parseWithPath(cgroup)
        // On cgroup v1 without systemd as PID 1 the pod's path is only in the controllers' lines.
        let pod = KubernetesPod.locate(inCgroup: cgroup)
        return Owner(
            pid: pid,
            comm: comm,
            cmdline: String(decoding: cmdline.split(separator: 0, omittingEmptySubsequences: false)
                .joined(separator: [0x20]).reversed().drop { $0 == 0x20 }.reversed(), as: UTF8.self),
            unit: unit, container: container ?? pod.flatMap { CgroupUnit.container(inPath: $0.path) }, cgroup: path ?? pod.map { String($0.path) },
            pod: pod.map { KubernetesPod(uid: $0.uid) })
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
    /// Pod UIDs claimed by more than one pods-directory entry, at its last listing.
    public var podUIDConflicts: Int
    /// Which lookup this is (they count up): a tick re-applies owners only when it changed.
    public var generation: UInt64

    public init(byInode: [UInt32: Result<Owner, UnattributedError>], failures: [Unattributed: UInt64], skipped: UInt64,
                podUIDConflicts: Int = 0, generation: UInt64 = 0) {
        self.byInode = byInode
        self.failures = failures
        self.skipped = skipped
        self.podUIDConflicts = podUIDConflicts
        self.generation = generation
    }

    /// Looks up `inodes` now (a /proc scan for the ones not cached, bounded in time).
    public static func resolve(_ inodes: Set<UInt32>, with index: OwnerIndex, now: Double, generation: UInt64 = 0) -> OwnerSnapshot {
        let byInode = index.resolve(inodes, now: now)
        return OwnerSnapshot(byInode: byInode, failures: index.failures, skipped: index.skippedProcesses,
                             podUIDConflicts: index.podUIDConflicts, generation: generation)
    }
}
