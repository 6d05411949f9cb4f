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

    /// Reads `pids` (those gone are left out); nil when none could be read.
    /// `waits`: read each thread's wait channel too (only when a finding may need it).
    public static func read(_ pids: [Int32], waits: Bool, procRoot: String = "/proc",
                            cgroupRoot: String = "/sys/fs/cgroup") -> HolderSample? {
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
            if isFrozen(pid: pid, procRoot: procRoot, cgroupRoot: cgroupRoot, cache: &frozenCache) { frozen += 1 }
            for tid in taskIDs("\(procRoot)/\(pid)/task").prefix(maxThreads) {
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

    /// cgroup v2: `frozen 1` in the cgroup.events of the process's cgroup (the `0::` line).
    static func isFrozen(pid: Int32, procRoot: String, cgroupRoot: String, cache: inout [String: Bool]) -> Bool {
        guard let text = try? ProcFile.read("\(procRoot)/\(pid)/cgroup", limit: 1 << 16) else { return false }
        let prefix = Array("0::".utf8)
        guard let line = text.split(separator: 0x0a).first(where: { $0.starts(with: prefix) }) else { return false }
        let path = String(decoding: line.dropFirst(prefix.count), as: UTF8.self)
        // Outside our cgroup namespace (`/..`) the file is not where the path says.
        guard path.hasPrefix("/"), !path.contains("/..") else { return false }
        if let known = cache[path] { return known }
        let events = (try? ProcFile.read("\(cgroupRoot)\(path == "/" ? "" : path)/cgroup.events", limit: 4096)) ?? []
        let frozen = events.split(separator: 0x0a).contains { $0.elementsEqual("frozen 1".utf8) }
        cache[path] = frozen
        return frozen
    }
}
