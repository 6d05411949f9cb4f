#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The processes holding a listening socket, read at one look: their CPU time,
/// whether they can run at all, and (when asked) what their threads wait on.
/// Bounded: at most `maxProcesses` holders and `maxThreads` threads each.
public struct HolderSample: Sendable, Hashable {
    /// Why none of the holders can run, if that is so at this look.
    public enum Halt: Sendable, Hashable {
        case stopped, traced, frozen
        case uninterruptible(wchan: String)
    }

    /// The pids read (sorted): a different set at the next look is activity in itself.
    public var pids: [Int32]
    /// utime + stime of all of them, in seconds.
    public var cpuSeconds: Double
    public var halt: Halt?
    public var threads: ThreadWaits

    public init(pids: [Int32], cpuSeconds: Double, halt: Halt? = nil, threads: ThreadWaits = ThreadWaits()) {
        self.pids = pids
        self.cpuSeconds = cpuSeconds
        self.halt = halt
        self.threads = threads
    }

    public static let maxProcesses = 64
    public static let maxThreads = 128
    static let ticksPerSecond: Double = {
        let t = sysconf(Int32(_SC_CLK_TCK))
        return t > 0 ? Double(t) : 100
    }()

    /// Threads read per look at most, over every group (a look at many waiting
    /// listeners of many-threaded holders must stay cheap); past it, holders' CPU only.
    public static let threadsPerLook = 1024

    /// Reads `pids` (those gone are left out); nil when none could be read.
    /// `waits`: read each thread's wait channel too (only when a finding may need it).
    /// `threadBudget`: threads this look may still read (each read one is taken off);
    /// with none left, states and waits are not read (no halt can be seen).
    public static func read(_ pids: [Int32], waits: Bool, procRoot: String = "/proc",
                            cgroups: CgroupMounts = .host, threadBudget: inout Int) -> HolderSample? {
        var read: [Int32] = []
        var ticks: UInt64 = 0
        var threads = ThreadWaits()
        var states: [UInt8: Int] = [:]
        var dWchan: [String: Int] = [:]
        var frozen = 0
        var frozenCache: [String: Bool] = [:]
        for pid in pids.sorted().prefix(maxProcesses) {
            guard let stat = Stat(pid: pid, path: "\(procRoot)/\(pid)/stat") else { continue }
            read.append(pid)
            ticks += stat.ticks
            if isFrozen(pid: pid, procRoot: procRoot, cgroups: cgroups, cache: &frozenCache) { frozen += 1 }
            guard threadBudget > 0 else { continue }
            for tid in taskIDs("\(procRoot)/\(pid)/task").prefix(min(maxThreads, threadBudget)) {
                threadBudget -= 1
                guard let t = Stat(pid: tid, path: "\(procRoot)/\(pid)/task/\(tid)/stat") else { continue }
                let needsWchan = waits || t.state == UInt8(ascii: "D")
                let wchan = needsWchan ? (try? ProcFile.read("\(procRoot)/\(pid)/task/\(tid)/wchan", limit: 256))
                    .map { Self.cleanName($0) } : nil
                threads.add(state: t.state, wchan: wchan)
                states[t.state, default: 0] += 1
                if t.state == UInt8(ascii: "D"), let wchan { dWchan[wchan, default: 0] += 1 }
            }
        }
        guard !read.isEmpty else { return nil }
        var halt: Halt?
        let all = threads.total
        if frozen == read.count {
            halt = .frozen
        } else if all > 0, states[UInt8(ascii: "T"), default: 0] == all {
            halt = .stopped
        } else if all > 0, states[UInt8(ascii: "t"), default: 0] + states[UInt8(ascii: "T"), default: 0] == all,
                  states[UInt8(ascii: "t"), default: 0] > 0 {
            halt = .traced
        } else if all > 0, states[UInt8(ascii: "D"), default: 0] == all {
            halt = .uninterruptible(wchan: dWchan.max { $0.value < $1.value }?.key ?? "an unknown place")
        }
        return HolderSample(pids: read, cpuSeconds: Double(ticks) / ticksPerSecond, halt: halt, threads: threads)
    }

    /// `read` with a budget of its own (tests, one-off reads).
    public static func read(_ pids: [Int32], waits: Bool, procRoot: String = "/proc", cgroups: CgroupMounts = .host) -> HolderSample? {
        var budget = threadsPerLook
        return read(pids, waits: waits, procRoot: procRoot, cgroups: cgroups, threadBudget: &budget)
    }

    /// A kernel symbol from wchan: printable identifier characters only, at most 48.
    static func cleanName(_ bytes: [UInt8]) -> String {
        let ok = bytes.prefix { $0 != 0x0a && $0 != 0 }.filter {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f || $0 == 0x2e
        }
        return String(decoding: ok.prefix(48), as: UTF8.self)
    }

    /// The fields of /proc/<pid>/stat this needs: the state letter and utime + stime.
    struct Stat {
        var state: UInt8
        var ticks: UInt64

        init?(pid: Int32, path: String) {
            guard let bytes = try? ProcFile.read(path, limit: 4096),
                  let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
            // After the name: state (field 3) is the first; utime (14) and stime (15) the 12th and 13th.
            let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "), maxSplits: 14)
            guard fields.count >= 13, let state = fields[0].first,
                  let u = UInt64(String(decoding: fields[11], as: UTF8.self)),
                  let s = UInt64(String(decoding: fields[12], as: UTF8.self)) else { return nil }
            self.state = state
            self.ticks = u &+ s
        }
    }

    static func taskIDs(_ dir: String) -> [Int32] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [Int32] = []
        while let e = readdir(d) {
            if let tid = Int32(DirectoryEntry.name(e)) { out.append(tid) }
        }
        return out.sorted()
    }

    /// cgroup v2: `frozen 1` in the cgroup.events of the process's cgroup (the `0::`
    /// line; docker pause, systemctl freeze); cgroup v1: `FROZEN` in the freezer
    /// hierarchy's freezer.state. The threads of a frozen process show plain `S`.
    static func isFrozen(pid: Int32, procRoot: String, cgroups: CgroupMounts, cache: inout [String: Bool]) -> Bool {
        guard let text = try? ProcFile.read("\(procRoot)/\(pid)/cgroup", limit: 1 << 16) else { return false }
        for line in text.split(separator: 0x0a) {
            let parts = line.split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(decoding: parts[2], as: UTF8.self)
            // Outside our cgroup namespace (`/..`) the file is not where the path says.
            guard path.hasPrefix("/"), !path.contains("/..") else { continue }
            let file: String
            let frozenText: String
            if parts[0].elementsEqual("0".utf8), parts[1].isEmpty, let root = cgroups.v2 {
                file = "\(root)\(path == "/" ? "" : path)/cgroup.events"
                frozenText = "frozen 1"
            } else if parts[1].split(separator: UInt8(ascii: ",")).contains(where: { $0.elementsEqual("freezer".utf8) }),
                      let root = cgroups.v1Freezer {
                file = "\(root)\(path == "/" ? "" : path)/freezer.state"
                frozenText = "FROZEN"
            } else {
                continue
            }
            if let known = cache[file] {
                if known { return true }
                continue
            }
            let bytes = (try? ProcFile.read(file, limit: 4096)) ?? []
            let frozen = bytes.split(separator: 0x0a).contains { $0.elementsEqual(frozenText.utf8) }
            cache[file] = frozen
            if frozen { return true }
        }
        return false
    }
}

/// Where the cgroup hierarchies that can freeze a process are mounted (from
/// /proc/self/mountinfo): the v2 one (`/sys/fs/cgroup`, or `…/unified` on hybrid
/// hosts) and the v1 freezer controller's.
public struct CgroupMounts: Sendable, Hashable {
    public var v2: String?
    public var v1Freezer: String?

    public init(v2: String?, v1Freezer: String?) {
        self.v2 = v2
        self.v1Freezer = v1Freezer
    }

    /// This host's, read once: from our own mount table, else (a private mount
    /// namespace whose /sys has no cgroups, as under `ip netns exec`) from pid 1's,
    /// reached through /proc/1/root.
    public static let host: CgroupMounts = {
        let own = parse((try? ProcFile.read("/proc/self/mountinfo", limit: 1 << 20)) ?? [])
        if own.v2 != nil || own.v1Freezer != nil { return own }
        var first = parse((try? ProcFile.read("/proc/1/mountinfo", limit: 1 << 20)) ?? [])
        first.v2 = first.v2.map { "/proc/1/root" + $0 }
        first.v1Freezer = first.v1Freezer.map { "/proc/1/root" + $0 }
        return first
    }()

    /// mountinfo: `id parent major:minor root mountpoint options… - fstype source superoptions`.
    static func parse(_ text: [UInt8]) -> CgroupMounts {
        var m = CgroupMounts(v2: nil, v1Freezer: nil)
        for line in text.split(separator: 0x0a) {
            let words = line.split(separator: 0x20)
            guard let dash = words.firstIndex(where: { $0.elementsEqual("-".utf8) }), dash >= 5, words.count > dash + 3 else { continue }
            let point = String(decoding: words[4], as: UTF8.self)
            // Octal escapes (\040) in a mount point: not ours to guess; such a mount is skipped.
            guard !point.contains("\\") else { continue }
            let type = words[dash + 1]
            if type.elementsEqual("cgroup2".utf8), m.v2 == nil {
                m.v2 = point
            } else if type.elementsEqual("cgroup".utf8), m.v1Freezer == nil,
                      words[dash + 3].split(separator: UInt8(ascii: ",")).contains(where: { $0.elementsEqual("freezer".utf8) }) {
                m.v1Freezer = point
            }
        }
        return m
    }
}
