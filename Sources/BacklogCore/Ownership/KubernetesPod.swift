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

    /// The UID of the pod cgroup in a path where the kubelet puts pods: `kubepods`
    /// (`kubepods.slice`) at the root of the hierarchy, then at most a QoS level, then
    /// the pod; or, seen from inside a cgroup namespace (paths of other cgroups start
    /// above its root: `/../../kubepods-besteffort-pod<uid>.slice/…`), any of those
    /// levels directly under the `..`s. Never below another slice or service: with
    /// systemd delegation a user can make `…/user@1000.service/kubepods/pod<uid>` and
    /// would otherwise be labelled as someone else's pod.
    static func uid(inPath path: Substring) -> String? {
        var rest = path.split(separator: "/")[...]
        var aboveRoot = false
        while rest.first == ".." {
            rest = rest.dropFirst()
            aboveRoot = true
        }
        if let first = rest.first, first == "kubepods" || first == "kubepods.slice" {
            rest = rest.dropFirst()
        } else if !aboveRoot {
            return nil
        }
        guard let level = rest.first else { return nil }
        if let uid = podUID(level) { return uid }
        guard qos(level), let pod = rest.dropFirst().first else { return nil }
        return podUID(pod)
    }

    /// `kubepods-[<qos>-]pod<uid>.slice` (systemd driver, the UID's dashes as `_`) or `pod<uid>` (cgroupfs).
    static func podUID(_ component: Substring) -> String? {
        if component.hasPrefix("kubepods-"), component.hasSuffix(".slice") {
            let stem = component.dropLast(".slice".count)
            guard let dash = stem.lastIndex(of: "-"), stem[stem.index(after: dash)...].hasPrefix("pod") else { return nil }
            return valid(String(stem[stem.index(dash, offsetBy: 4)...].map { $0 == "_" ? "-" : $0 }))
        }
        return component.hasPrefix("pod") ? valid(String(component.dropFirst(3))) : nil
    }

    /// A QoS class's cgroup: `burstable`, `besteffort` (cgroupfs) or `kubepods-<class>.slice` (systemd).
    static func qos(_ component: Substring) -> Bool {
        ["burstable", "besteffort", "kubepods-burstable.slice", "kubepods-besteffort.slice"].contains(component)
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
