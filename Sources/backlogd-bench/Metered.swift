import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process's CPU in nanoseconds, threads that ended included: it is moved into
/// a cgroup of its own (v2 `cpu.stat` usage_usec, or v1 `cpuacct.usage`), whose
/// count starts then. Without a cgroup hierarchy it can write to, the sum of its
/// live threads' /proc schedstat (threads that ended are lost: said in `how`).
final class Metered {
    let pid: pid_t
    private let dir: String?
    private let v2: Bool
    /// Where the count comes from, for the report.
    let how: String

    init(pid: pid_t, name: String) throws {
        self.pid = pid
        for (root, v2) in Self.hierarchies() {
            let dir = "\(root)/\(name)"
            guard mkdir(dir, 0o755) == 0 || errno == EEXIST else { continue }
            if Self.put("\(pid)\n", to: "\(dir)/cgroup.procs") {
                self.dir = dir
                self.v2 = v2
                how = v2 ? "cgroup v2 cpu.stat" : "cgroup v1 cpuacct.usage"
                return
            }
            rmdir(dir)
        }
        dir = nil
        v2 = false
        how = "schedstat of live threads"
    }

    /// CPU seconds since it was moved (or, without a cgroup, since start).
    func cpu() -> Double {
        guard let dir else { return schedstat() }
        if v2 {
            let text = (try? String(contentsOfFile: "\(dir)/cpu.stat", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("usage_usec ") } ?? ""
            return (Double(line.split(separator: " ").last ?? "") ?? .nan) / 1e6
        }
        let text = (try? String(contentsOfFile: "\(dir)/cpuacct.usage", encoding: .utf8)) ?? ""
        return (Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan) / 1e9
    }

    /// Resident set now, in MB.
    func rss() -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan) / 1024
    }

    /// Removes the cgroup (once its process is gone).
    func remove() {
        if let dir { rmdir(dir) }
    }

    private func schedstat() -> Double {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0.0) { sum, t in
            let s = (try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/schedstat", encoding: .utf8)) ?? ""
            return sum + (Double(s.split(separator: " ").first ?? "") ?? 0) / 1e9
        }
    }

    /// The v2 hierarchy first, then v1's cpuacct, from this process's mount table.
    static func hierarchies() -> [(root: String, v2: Bool)] {
        let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        var v2: [String] = []
        var v1: [String] = []
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count > 4, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            if right[0] == "cgroup2" { v2.append(mountPoint) }
            if right[0] == "cgroup", right[2].split(separator: ",").contains("cpuacct") { v1.append(mountPoint) }
        }
        return v2.map { ($0, true) } + v1.map { ($0, false) }
    }

    /// Writes `text` to a cgroup file; false if it cannot be opened or written whole.
    static func put(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { Glibc.write(fd, $0, strlen($0)) } == text.utf8.count
    }
}
