/// The systemd unit in /proc/<pid>/cgroup. Two layouts exist on hosts:
/// - pure cgroup v2: one line `0::/system.slice/nginx.service`;
/// - hybrid: v1 controllers, a `name=systemd` line with the unit path, and
///   `0::` for the (often unused) v2 hierarchy at /sys/fs/cgroup/unified.
/// The `name=systemd` path wins when it is not the root; else the v2 path. The
/// unit is the innermost path component that is a service or a scope (a
/// service's own sub-cgroups, `…/nginx.service/worker`, belong to it).
public enum CgroupUnit {
    public static func parse(_ text: String) -> (unit: String?, container: String?) {
        let (unit, container, _) = parseWithPath(text)
        return (unit, container)
    }

    /// Also the cgroup path itself: the only clue where no unit is named
    /// (docker or kubelet with the cgroupfs driver: `/kubepods/burstable/pod…/<id>`).
    public static func parseWithPath(_ text: String) -> (unit: String?, container: String?, path: String?) {
        var systemd: Substring?
        var v2: Substring?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1] == "name=systemd" { systemd = parts[2] }
            if parts[0] == "0" && parts[1].isEmpty { v2 = parts[2] }
        }
        guard let path = [systemd, v2].compactMap({ $0 }).first(where: { $0 != "/" && !$0.isEmpty }) else { return (nil, nil, nil) }
        let components = path.split(separator: "/").reversed()
        let unit = components.first { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }
        return (unit.map(String.init), container(inPath: path), String(path))
    }

    /// The innermost component of `path` that names a container: any component, not just
    /// the unit (a container running systemd of its own puts its processes in `…/libpod-<id>.scope/init.scope`).
    public static func container(inPath path: Substring) -> String? {
        path.split(separator: "/").reversed().lazy.compactMap(Self.container(in:)).first
    }

    /// `docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`
    /// (systemd driver), or a bare 64-hex-digit component (cgroupfs driver: `/docker/<id>`).
    static func container(in component: Substring) -> String? {
        if component.count == 64, component.allSatisfy(\.isHexDigit) { return String(component) }
        guard component.hasSuffix(".scope") else { return nil }
        let stem = component.dropLast(".scope".count)
        guard let dash = stem.lastIndex(of: "-") else { return nil }
        let id = stem[stem.index(after: dash)...]
        guard id.count >= 12, id.allSatisfy(\.isHexDigit) else { return nil }
        return String(id)
    }
}
