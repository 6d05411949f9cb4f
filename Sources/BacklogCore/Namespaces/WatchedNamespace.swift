/// A network namespace backlogd collects: its label (CONTRACT.md: `host`, the
/// /run/netns name, or `ns:<inode>`), its identity, and how to join it.
public struct WatchedNamespace: Sendable, Hashable {
    public static let hostLabel = "host"

    public var label: String
    /// The nsfs inode: the namespace's identity (two paths to one namespace share it).
    public var inode: UInt64
    /// Where to open it for setns(); nil for backlogd's own namespace.
    public var path: String?
    /// Who is in it, for `backlogd_netns_info`: the lowest pid and its unit/container.
    public var occupant: NetnsOccupant?

    public init(label: String, inode: UInt64, path: String?, occupant: NetnsOccupant? = nil) {
        self.label = label
        self.inode = inode
        self.path = path
        self.occupant = occupant
    }

    public var isHost: Bool { path == nil }
}

/// The process found in a namespace (lowest pid), and its systemd unit and container.
/// Not an Owner (the process holding a listening socket): a namespace has occupants.
public struct NetnsOccupant: Sendable, Hashable {
    public var pid: Int32
    public var unit: String?
    public var container: String?

    public init(pid: Int32, unit: String?, container: String?) {
        self.pid = pid
        self.unit = unit
        self.container = container
    }
}
