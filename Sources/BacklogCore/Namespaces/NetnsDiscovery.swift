#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds the network namespaces on the host: backlogd's own (`host`), the named
/// ones under /run/netns (`ip netns add`), and those of running processes
/// (containers), one entry per namespace inode. A named namespace keeps its
/// name even when processes are in it. Reading another user's /proc/PID/ns/net
/// needs CAP_SYS_PTRACE; without it those namespaces are not seen (counted).
public struct NetnsDiscovery: Sendable {
    public var procRoot: String
    public var runNetns: String

    public init(procRoot: String = "/proc", runNetns: String = "/run/netns") {
        self.procRoot = procRoot
        self.runNetns = runNetns
    }

    public struct Result: Sendable {
        /// Host first, then named ones by name, then the others by inode.
        public var namespaces: [WatchedNamespace]
        /// Processes whose namespace could not be read (permission).
        public var unreadable: Int
    }

    public func scan() -> Result {
        let hostInode = NetnsInode.of(path: "\(procRoot)/self/ns/net") ?? 0
        var byInode: [UInt64: WatchedNamespace] = [:]
        var labels: Set<String> = []
        // Names that print as they are first: they keep them when another prints alike.
        let names = Self.entries(runNetns).filter { $0 != "." && $0 != ".." }
            .sorted { a, b in (Self.printableName(a) != a ? 1 : 0, a) < (Self.printableName(b) != b ? 1 : 0, b) }
        for name in names {
            let path = "\(runNetns)/\(name)"
            // A bind mount of an nsfs file; a plain file left by a failed `ip netns add` has another fs.
            guard Self.isNetns(path), let inode = NetnsInode.of(path: path), inode != hostInode,
                  byInode[inode] == nil else { continue }
            // Two names can print the same (invalid UTF-8, control characters): the second
            // is labelled by inode, so no two namespaces share a label.
            var label = Self.label(name: name, inode: inode)
            if !labels.insert(label).inserted { label = "ns:\(inode)" }
            byInode[inode] = WatchedNamespace(label: label, inode: inode, path: path)
        }
        var unreadable = 0
        var firstPid: [UInt64: Int32] = [:]
        for pid in OwnerIndex.pids(procRoot) {
            let path = "\(procRoot)/\(pid)/ns/net"
            guard let inode = NetnsInode.of(path: path) else {
                if errno == EACCES || errno == EPERM { unreadable += 1 }
                continue
            }
            // Pids come sorted: the first seen is the lowest.
            if firstPid[inode] == nil { firstPid[inode] = pid }
            if inode != hostInode && byInode[inode] == nil {
                byInode[inode] = WatchedNamespace(label: "ns:\(inode)", inode: inode, path: path)
            }
        }
        for (inode, pid) in firstPid where byInode[inode] != nil {
            let cgroup = (try? ProcFile.readString("\(procRoot)/\(pid)/cgroup")) ?? ""
            let (unit, container) = CgroupUnit.parse(cgroup)
            byInode[inode]!.occupant = NetnsOccupant(pid: pid, unit: unit, container: container)
        }
        let others = byInode.values.sorted { a, b in
            let an = a.label.hasPrefix("ns:"), bn = b.label.hasPrefix("ns:")
            if an != bn { return !an }
            return an ? a.inode < b.inode : a.label < b.label
        }
        return Result(namespaces: [WatchedNamespace(label: WatchedNamespace.hostLabel, inode: hostInode, path: nil)] + others,
                      unreadable: unreadable)
    }

    /// The named namespace NAME, for `--netns NAME`.
    public func named(_ name: String) -> WatchedNamespace? {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        let path = "\(runNetns)/\(name)"
        guard Self.isNetns(path), let inode = NetnsInode.of(path: path) else { return nil }
        return WatchedNamespace(label: Self.label(name: name, inode: inode), inode: inode, path: path)
    }

    /// The file is a namespace (a bind mount of /proc/PID/ns/net): it lives on nsfs,
    /// the one filesystem every namespace file shares, as our own does.
    static func isNetns(_ path: String) -> Bool {
        var a = stat(), b = stat()
        return stat(path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_dev == b.st_dev
    }

    static func entries(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            out.append(DirectoryEntry.name(e))
        }
        return out
    }

    /// A name is the label, unless it would pass for backlogd's own (`host`) or an
    /// unnamed one (`ns:…`): those are labelled by inode, as if unnamed.
    public static func label(name: String, inode: UInt64) -> String {
        name == WatchedNamespace.hostLabel || name.hasPrefix("ns:") ? "ns:\(inode)" : printableName(name)
    }

    /// Names are labels: keep them printable (invalid UTF-8 was already replaced).
    static func printableName(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) })
    }
}
