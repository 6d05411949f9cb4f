#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Pod namespaces and names without an API call: the kubelet keeps one
/// directory per pod on every node, `/var/log/pods/<namespace>_<name>_<uid>/`
/// (namespaces and pod names are DNS names: no `_`). Listed again only when a UID
/// is not in the last listing, at most every `relistAfter` seconds. A UID that two
/// entries claim names no pod: which one is right cannot be told, and a guess would
/// blame another team's pod. Use from one thread.
public final class PodDirectory {
    public var path: String {
        didSet { if path != oldValue { byUID = [:]; listedAt = nil } }
    }
    public static let defaultPath = "/var/log/pods"
    public var relistAfter: Double = 10
    private var byUID: [String: (namespace: String, name: String)] = [:]
    /// UIDs claimed by more than one entry in the last listing.
    public private(set) var claimedTwice: Set<String> = []
    private var listedAt: Double?
    /// Most entries kept from one listing (a node runs at most a few hundred pods).
    static let maxEntries = 65_536

    public init(path: String) {
        self.path = path
    }

    /// `now`: monotonic seconds.
    public func lookup(_ uid: String, now: Double) -> (namespace: String, name: String)? {
        if let hit = byUID[uid] { return hit }
        if let at = listedAt, now - at < relistAfter { return nil }
        list(now: now)
        return byUID[uid]
    }

    private func list(now: Double) {
        listedAt = now
        byUID = [:]
        claimedTwice = []
        guard let dir = opendir(path) else { return }
        defer { closedir(dir) }
        while let e = readdir(dir), byUID.count + claimedTwice.count < Self.maxEntries {
            guard let (uid, namespace, name) = Self.parse(DirectoryEntry.name(e)), !claimedTwice.contains(uid) else { continue }
            if byUID.updateValue((namespace, name), forKey: uid) != nil {
                byUID[uid] = nil
                claimedTwice.insert(uid)
            }
        }
    }

    /// `<namespace>_<name>_<uid>`: the namespace up to the first `_`, the UID after the last.
    static func parse(_ entry: String) -> (uid: String, namespace: String, name: String)? {
        guard let first = entry.firstIndex(of: "_"), let last = entry.lastIndex(of: "_"), first < last else { return nil }
        let namespace = entry[..<first]
        let name = entry[entry.index(after: first)..<last]
        // DNS names (RFC 1123): nothing that needs escaping anywhere it is printed.
        func dns(_ s: Substring) -> Bool { !s.isEmpty && s.count <= 253 && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E } }
        guard dns(namespace), dns(name), let uid = KubernetesPod.valid(String(entry[entry.index(after: last)...])) else { return nil }
        return (uid, String(namespace), String(name))
    }
}
