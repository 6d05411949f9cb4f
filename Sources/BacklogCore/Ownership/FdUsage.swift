#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How close a process holding a listener is to its descriptor limit: when it
/// gets there, accept() fails with EMFILE and the accept queue fills although
/// the process is running. Read from /proc/<pid>/fd (its size, or its entries
/// counted; no link is read) and /proc/<pid>/limits ("Max open files", the soft limit).
public struct FdUsage: Sendable, Hashable, Codable {
    public var pid: Int32
    /// /proc/<pid>/comm (untrusted, escaped where printed).
    public var comm: String
    public var open: UInt64
    /// Soft RLIMIT_NOFILE; nil when unlimited.
    public var limit: UInt64?

    public init(pid: Int32, comm: String, open: UInt64, limit: UInt64?) {
        self.pid = pid
        self.comm = comm
        self.open = open
        self.limit = limit
    }

    /// open / limit (0 when unlimited).
    public var fill: Double {
        guard let limit, limit > 0 else { return 0 }
        return Double(open) / Double(limit)
    }

    /// One process's numbers now; nil when it is gone or its fds cannot be read.
    public static func read(pid: Int32, procRoot: String = "/proc") -> FdUsage? {
        guard let limits = try? ProcFile.read("\(procRoot)/\(pid)/limits", limit: 1 << 14),
              let soft = SoftLimit(limits) else { return nil }
        guard let open = openCount("\(procRoot)/\(pid)/fd") else { return nil }
        return FdUsage(pid: pid, comm: OwnerIndex.comm(of: pid, procRoot: procRoot) ?? "", open: open, limit: soft.value)
    }

    /// procfs's device: sizes of directories elsewhere (tests' trees) are not counts.
    static let procDevice: UInt64? = {
        var st = stat()
        return stat("/proc/self/fd", &st) == 0 ? UInt64(st.st_dev) : nil
    }()

    /// Since Linux 6.2 stat(2) of /proc/<pid>/fd gives the number of open fds as its
    /// size, without listing them (a holder of 20 000 connections costs one call);
    /// before, the size is 0 and the entries are counted (so they are outside procfs).
    static func openCount(_ path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        if st.st_size > 0, UInt64(st.st_dev) == procDevice { return UInt64(st.st_size) }
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var open: UInt64 = 0
        while let e = readdir(dir) {
            if e.pointee.d_name.0 != 0x2e { open += 1 }  // not "." or ".."
        }
        return open
    }

    /// The soft limit of the "Max open files" line: a number, or `unlimited` (value nil).
    struct SoftLimit {
        var value: UInt64?

        init?(_ text: [UInt8]) {
            let name = Array("Max open files".utf8)
            guard let line = text.split(separator: 0x0a).first(where: { $0.starts(with: name) }),
                  let first = line.dropFirst(name.count).split(separator: 0x20).first else { return nil }
            let word = String(decoding: first, as: UTF8.self)
            if word == "unlimited" {
                value = nil
            } else if let v = UInt64(word) {
                value = v
            } else {
                return nil
            }
        }
    }

    /// The holder closest to its limit among `pids` (each read once per call via `cache`).
    public static func closest(_ pids: [Int32], cache: inout [Int32: FdUsage?], procRoot: String = "/proc") -> FdUsage? {
        var best: FdUsage?
        for pid in pids {
            let u: FdUsage?
            if let c = cache[pid] { u = c } else {
                u = read(pid: pid, procRoot: procRoot)
                cache[pid] = u
            }
            guard let u else { continue }
            if best == nil || u.fill > best!.fill { best = u }
        }
        return best
    }
}
