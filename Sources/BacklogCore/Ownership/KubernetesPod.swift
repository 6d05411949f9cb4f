/// The Kubernetes pod a process runs in, from its cgroup path. The kubelet makes
/// one cgroup per pod under `kubepods`, named by the pod's UID:
/// - systemd driver: `kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid>.slice/…`
///   (Guaranteed pods: `kubepods-pod<uid>.slice`), the UID's dashes written as `_`;
/// - cgroupfs driver: `kubepods/<qos>/pod<uid>/…` (Guaranteed: `kubepods/pod<uid>`).
/// The namespace and name are not in the cgroup: `PodDirectory` finds them.
public struct KubernetesPod: Sendable, Hashable, Codable {
    public var uid: String
    public var namespace: String?
    public var name: String?

    public init(uid: String, namespace: String? = nil, name: String? = nil) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
    }

    /// The pod of /proc/<pid>/cgroup, in any of its lines: on cgroup v1 each
    /// controller's hierarchy has the kubepods path, and the one CgroupUnit reads
    /// (name=systemd, else v2) may be at the root where systemd is not PID 1.
    public static func uid(inCgroup text: String) -> String? { locate(inCgroup: text)?.uid }

    /// The UID and the cgroup path it is in (whose last components name the container).
    public static func locate(inCgroup text: String) -> (uid: String, path: Substring)? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if let uid = uid(inPath: parts[2]) { return (uid, parts[2]) }
        }
        return nil
    }

    /// The UID of the pod cgroup in a path below a `kubepods` component (or above the
    /// reader's cgroup namespace root), if any.
    static func uid(inPath path: Substring) -> String? {
        var underKubepods = false
        for component in path.split(separator: "/") {
            // Inside a cgroup namespace (a container's, on cgroup v2) the paths of other
            // cgroups start above its root: `/../../kubepods-besteffort-pod<uid>.slice/…`.
            if component == "kubepods" || component == "kubepods.slice" || component == ".." {
                underKubepods = true
                continue
            }
            guard underKubepods else { continue }
            // systemd driver: kubepods-burstable-pod<uid>.slice, kubepods-pod<uid>.slice
            if component.hasPrefix("kubepods-"), component.hasSuffix(".slice") {
                let stem = component.dropLast(".slice".count)
                if let dash = stem.lastIndex(of: "-"), stem[stem.index(after: dash)...].hasPrefix("pod") {
                    let raw = stem[stem.index(dash, offsetBy: 4)...]
                    if let uid = valid(String(raw.map { $0 == "_" ? "-" : $0 })) { return uid }
                }
            }
            // cgroupfs driver: pod<uid>
            if component.hasPrefix("pod"), let uid = valid(String(component.dropFirst(3))) { return uid }
        }
        return nil
    }

    /// A UID as the API server makes them (`1b2c3d4e-aaaa-bbbb-cccc-1234567890ab`) or a
    /// static pod's (a 32-digit hash of its manifest): hex digits and dashes.
    static func valid(_ s: String) -> String? {
        let digits = s.filter { $0 != "-" }
        guard (32...36).contains(s.count), digits.count == 32,
              digits.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("a"..."f").contains($0) }) else { return nil }
        return s
    }
}
