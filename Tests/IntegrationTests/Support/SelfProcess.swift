import BacklogCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// This test process, as backlogd names the owner of the sockets it makes.
enum SelfProcess {
    static var comm: String {
        ((try? String(contentsOfFile: "/proc/self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .newlines)
    }

    static var unit: String {
        CgroupUnit.parse((try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "").unit ?? ""
    }

    /// `process="…",unit="…"` as in a series.
    static var labels: String { "process=\"\(comm)\",unit=\"\(unit)\"" }

    /// How findings name a listener of this process: `ADDR (pid N comm[, unit])`.
    static func described(_ address: String) -> String {
        "\(address) (pid \(getpid()) \(comm)\(unit.isEmpty ? "" : ", \(unit)"))"
    }
}
