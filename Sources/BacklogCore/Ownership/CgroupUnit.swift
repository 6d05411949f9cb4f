/// The systemd unit in /proc/<pid>/cgroup. Two layouts exist on hosts:
/// - pure cgroup v2: one line `0::/system.slice/nginx.service`;
/// - hybrid: v1 controllers, a `name=systemd` line with the unit path, and
///   `0::` for the (often unused) v2 hierarchy at /sys/fs/cgroup/unified.
/// The `name=systemd` path wins when it is not the root; else the v2 path. The
/// unit is the innermost path component that is a service or a scope (a
/// service's own sub-cgroups, `…/nginx.service/worker`, belong to it).
public enum CgroupUnit {
    public static func parse(_ text: String) -> (unit: String?, container: String?) {
        var systemd: Substring?
        var v2: Substring?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1] == "name=systemd" { systemd = parts[2] }
            if parts[0] == "0" && parts[1].isEmpty { v2 = parts[2] }
        }
        let path = [systemd, v2].compactMap { $0 }.first { $0 != "/" && !$0.isEmpty } ?? ""
        guard let unit = path.split(separator: "/").reversed().first(where: { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }) else {
            return (nil, nil)
        }
        return (String(unit), container(in: unit))
    }

    /// `docker-<64 hex>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`.
    static func container(in unit: Substring) -> String? {
        guard unit.hasSuffix(".scope") else { return nil }
        let stem = unit.dropLast(".scope".count)
        guard let dash = stem.lastIndex(of: "-") else { return nil }
        let id = stem[stem.index(after: dash)...]
        guard id.count >= 12, id.allSatisfy(\.isHexDigit) else { return nil }
        return String(id)
    }
}
