import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A memory limit around one process, as a DaemonSet's `resources.limits.memory`
/// sets one: a cgroup of its own (v2 `memory.max`, or v1's memory controller
/// `memory.limit_in_bytes`) under this process's own. Says whether the kernel
/// OOM-killed anything in it. Without a memory hierarchy it can write to, no
/// limit (said in `how`).
final class MemoryCgroup {
    private let dir: String?
    private let v2: Bool
    let limitMiB: Int
    /// How the limit is applied, for the report.
    let how: String

    init(pid: pid_t, name: String, limitMiB: Int) {
        self.limitMiB = limitMiB
        let bytes = "\(limitMiB * 1024 * 1024)\n"
        for (root, v2) in Self.hierarchies() {
            let dir = "\(root)/\(name)"
            guard mkdir(dir, 0o755) == 0 || errno == EEXIST else { continue }
            let limit = v2 ? "memory.max" : "memory.limit_in_bytes"
            if Metered.put(bytes, to: "\(dir)/\(limit)"), Metered.put("\(pid)\n", to: "\(dir)/cgroup.procs") {
                self.dir = dir
                self.v2 = v2
                how = "\(limitMiB) MiB, cgroup \(v2 ? "v2 memory.max" : "v1 memory.limit_in_bytes")"
                return
            }
            rmdir(dir)
        }
        dir = nil
        v2 = false
        how = "no limit: no memory cgroup hierarchy to write to"
    }

    var limited: Bool { dir != nil }

    /// Processes the kernel killed in it for lack of memory.
    var oomKills: Int {
        guard let dir else { return 0 }
        let file = v2 ? "memory.events" : "memory.oom_control"
        let text = (try? String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("oom_kill ") } ?? ""
        return Int(line.split(separator: " ").last ?? "") ?? 0
    }

    func remove() {
        if let dir { rmdir(dir) }
    }

    /// Under this process's own cgroup: v2 (its `0::` line) or v1's memory controller.
    static func hierarchies() -> [(root: String, v2: Bool)] {
        let mine = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? ""
        var out: [(String, Bool)] = []
        for line in mine.split(separator: "\n") {
            let f = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { continue }
            let path = f[2] == "/" ? "" : String(f[2])
            if f[1] == "memory" { out.append(("/sys/fs/cgroup/memory\(path)", false)) }
            if f[0] == "0", f[1] == "", FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") {
                out.insert(("/sys/fs/cgroup\(path)", true), at: 0)
            }
        }
        return out
    }
}
