/// One listening socket and its accept queue, as read from sock_diag.
public struct Listener: Sendable, Hashable, Codable {
    /// `host` for the collector's own network namespace.
    public var netns: String
    public var family: AddressFamily
    /// Numeric local address without brackets (`%ifname` when bound to a device);
    /// for UNIX sockets the path, abstract names with a leading `@`.
    public var address: String
    /// Local port; nil for UNIX sockets.
    public var port: UInt16?
    /// 0-based index among listeners sharing family/address/port (SO_REUSEPORT), by inode.
    public var socket: Int
    public var inode: UInt32
    /// sock_diag cookie (TCP); nil for UNIX sockets.
    public var cookie: UInt64?
    /// Accept-queue length now (ss Recv-Q).
    public var queueLength: UInt32
    /// Accept-queue max = min(backlog, somaxconn) (ss Send-Q).
    public var queueMax: UInt32
    /// Highest length sampled over the collection window.
    public var queuePeak: UInt32
    /// Seconds the queue was sampled full (length > max) since the daemon first saw
    /// this listener (`--once`: within its window); nil before any history.
    public var fullSeconds: Double?
    /// Where its connections are stuck (TCP, after a deep dump); nil otherwise.
    /// A SO_REUSEPORT group's numbers are on its member `socket` 0; the others show zeros.
    public var connections: ConnectionStats?
    /// Share of TcpExt ListenOverflows growth attributed to this listener (an
    /// estimate: growth during a tick is split among the listeners seen full then).
    /// Deprecated by `drops`, which is exact.
    public var overflowsEstimated: Double?
    /// The socket's own drop count (sk_drops: SK_MEMINFO_DROPS, ss -m `d`), TCP
    /// only: segments the kernel dropped against this listener (README, "Drops").
    public var drops: UInt64?
    /// Growth of `drops` over the peak window (`--once`: over its window).
    public var dropsInWindow: UInt64?
    /// IPV6_V6ONLY of an inet6 listener; a `::` listener without it also takes IPv4.
    public var v6Only: Bool?
    public var uid: UInt32?
    /// `stream` or `seqpacket` for UNIX sockets.
    public var unixType: String?
    /// SO_BINDTODEVICE interface index of a TCP listener (0: none).
    public var boundInterface: UInt32 = 0
    /// The process that holds it, once looked up; nil with `unattributed` saying why.
    public var owner: Owner?
    public var unattributed: Unattributed?
    /// Of the processes holding it (Owner.holders), the one closest to its fd limit,
    /// as read at the last deep look.
    public var fdUsage: FdUsage?
    /// Hung or only busy: what the deep looks at its waiting connections tell (on
    /// every member of its group); nil while none waits.
    public var acceptance: AcceptEvidence?

    public init(
        netns: String = "host", family: AddressFamily, address: String, port: UInt16?,
        socket: Int = 0, inode: UInt32, cookie: UInt64? = nil, queueLength: UInt32,
        queueMax: UInt32, queuePeak: UInt32? = nil, v6Only: Bool? = nil, uid: UInt32? = nil,
        unixType: String? = nil
    ) {
        self.netns = netns
        self.family = family
        self.address = address
        self.port = port
        self.socket = socket
        self.inode = inode
        self.cookie = cookie
        self.queueLength = queueLength
        self.queueMax = queueMax
        self.queuePeak = queuePeak ?? queueLength
        self.v6Only = v6Only
        self.uid = uid
        self.unixType = unixType
    }

    /// The kernel refuses new connections once length > max (`sk_acceptq_is_full`).
    public var isFull: Bool { queueLength > queueMax }

    /// Length as a fraction of max (can exceed 1: the queue holds max+1).
    public var fill: Double {
        queueMax == 0 ? (queueLength > 0 ? Double.infinity : 0) : Double(queueLength) / Double(queueMax)
    }

    /// The drops as findings say them: `12 SYNs/ACKs dropped in the last 15 s`
    /// (`window` 0, a single dump: the total since the socket was made); nil when none.
    public func droppedText(window: Double) -> String? {
        let (n, when): (UInt64, String)
        if window > 0 {
            guard let w = dropsInWindow, w > 0 else { return nil }
            let s = window == window.rounded() ? "\(Int(window)) s" : "\((window * 10).rounded() / 10) s"
            (n, when) = (w, "in the last \(s)")
        } else {
            guard let d = drops, d > 0 else { return nil }
            (n, when) = (d, "since it opened")
        }
        return "\(n) SYN\(n == 1 ? "" : "s")/ACK\(n == 1 ? "" : "s") dropped \(when)"
    }

    /// The address:port group that SO_REUSEPORT members share (within one namespace).
    public var groupKey: GroupKey {
        GroupKey(family: family, address: address, port: port ?? 0)
    }

    /// The listener and its owner, as findings name them: `127.0.0.1:80 (pid 4711 nginx)`.
    public var describedAddress: String {
        guard let owner else { return displayAddress }
        return "\(displayAddress) (pid \(owner.pid) \(owner.comm)\(owner.unit.map { ", \($0)" } ?? ""))"
    }

    /// What a person reads: `127.0.0.1:80`, `[::1]:80`, `0.0.0.0%lo:80`, `/run/x.sock`.
    public var displayAddress: String {
        guard let port else { return address.isEmpty ? "*" : address }
        return family == .inet6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// What SO_REUSEPORT members share: family, address (with `%ifname`) and port.
/// A value key: hashing it costs one short string, and no key text is built.
public struct GroupKey: Sendable, Hashable {
    public var family: AddressFamily
    public var address: String
    public var port: UInt16

    public init(family: AddressFamily, address: String, port: UInt16) {
        self.family = family
        self.address = address
        self.port = port
    }
}

/// A listener's identity within its namespace: TCP sockets by cookie (unique
/// while the socket lives), UNIX sockets by inode.
public struct ListenerKey: Sendable, Hashable {
    public var family: AddressFamily
    public var inode: UInt32
    public var cookie: UInt64

    public init(family: AddressFamily, inode: UInt32, cookie: UInt64) {
        self.family = family
        self.inode = inode
        self.cookie = cookie
    }
}

extension Listener {
    public var key: ListenerKey { ListenerKey(family: family, inode: inode, cookie: cookie ?? 0) }
}
