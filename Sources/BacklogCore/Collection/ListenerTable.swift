#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag

/// The listeners of one namespace, kept from tick to tick so that a tick costs
/// work in proportion to what changed: a listener seen before only has its
/// numbers written (no address text, no key strings, no allocation); text is
/// built once, when a socket first appears; SO_REUSEPORT indexes are assigned
/// again only when the set of sockets changed. Its order is the order in which
/// sockets appeared: stable, so nothing is re-sorted on the tick.
///
/// A tick: `begin`, the records of each dump (`observe`), then `finish`, which
/// drops what was not seen and updates peaks, seconds full and overflow shares.
public struct ListenerTable: Sendable {
    public let netns: String
    /// Length of the peak window in seconds.
    public var window: Double
    public private(set) var listeners: [Listener] = []
    private var slots: [ListenerKey: Int] = [:]
    private var tracking: [Tracking] = []
    private var generation: UInt32 = 0
    /// Where the next record is probably found: dumps walk the listening hash in
    /// the same order each time, so most records are found without hashing a key.
    private var cursor = 0
    private var membershipChanged = false
    private var lastTick: Double?
    /// The last deep look's numbers per group, put on member 0 (also of groups that change).
    private var deep: [GroupKey: ConnectionStats]?
    private var overflows = OverflowAttribution()
    /// A TCP listener was seen full since ListenOverflows was last read: its
    /// growth can be attributed, so the counter is worth reading now.
    public private(set) var fullSinceCounterRead = false

    /// Per-slot state that is not part of the published listener.
    struct Tracking: Sendable {
        var seen: UInt32
        var peak = PeakWindow()
        var fullSeconds = 0.0
        var overflow = OverflowAttribution.Slot()
        var drops = DropWindow()
        /// Fast ticks in a row with a non-empty queue that did not shrink.
        var steady = 0
        var lastLength: UInt32 = 0
    }

    /// A queue that has held connections and not shrunk for this many fast ticks
    /// may belong to a server that stopped calling accept(): worth an early deep look.
    public static let steadyTicks = 4
    /// TCP groups with a member whose queue is steady (see `steadyTicks`) at the last tick; usually none.
    public private(set) var steadyGroups: [GroupKey] = []

    public init(netns: String, window: Double) {
        self.netns = netns
        self.window = window
    }

    /// Starts a tick.
    public mutating func begin() {
        generation &+= 1
        cursor = 0
    }

    /// The slot of `key`: the one after the last found, if it is that one, else by lookup.
    private mutating func slot(_ key: ListenerKey) -> Int? {
        if cursor < listeners.count, (listeners[cursor].cookie ?? 0) == key.cookie, listeners[cursor].inode == key.inode,
           listeners[cursor].family == key.family {
            cursor += 1
            return cursor - 1
        }
        guard let i = slots[key] else { return nil }
        cursor = i + 1
        return i
    }

    /// One inet_diag record of a LISTEN dump. Records of other states, and
    /// duplicates (a dump is not a snapshot), are ignored.
    public mutating func observe(tcp rec: bd_tcp_record) {
        guard rec.state == BD_TCP_LISTEN else { return }
        let family: AddressFamily = Int32(rec.family) == AF_INET6 ? .inet6 : .inet
        let key = ListenerKey(family: family, inode: rec.inode, cookie: rec.cookie)
        if let i = slot(key), listeners[i].boundInterface == rec.bound_ifindex {
            return refresh(i, length: rec.rqueue, max: rec.wqueue, drops: rec.has_drops != 0 ? UInt64(rec.drops) : nil)
        }
        insert(key, Self.listener(netns: netns, from: rec))
    }

    /// One unix_diag record of a LISTEN dump.
    public mutating func observe(unix rec: bd_unix_record) {
        guard rec.state == BD_TCP_LISTEN, rec.has_rqlen == 1 else { return }
        let key = ListenerKey(family: .unix, inode: rec.inode, cookie: 0)
        if let i = slot(key) { return refresh(i, length: rec.rqueue, max: rec.wqueue) }
        insert(key, Self.listener(netns: netns, from: rec))
    }

    /// A listener made elsewhere (tests, fixtures), observed like a record.
    public mutating func observe(_ l: Listener) {
        let key = l.key
        if let i = slots[key] { return refresh(i, length: l.queueLength, max: l.queueMax, drops: l.drops) }
        insert(key, l)
    }

    /// A listener seen before: only its numbers, and only if they changed (the
    /// first of duplicates in one dump counts).
    private mutating func refresh(_ i: Int, length: UInt32, max: UInt32, drops: UInt64? = nil) {
        guard tracking[i].seen != generation else { return }
        tracking[i].seen = generation
        if listeners[i].queueLength != length { listeners[i].queueLength = length }
        if listeners[i].queueMax != max { listeners[i].queueMax = max }
        if listeners[i].drops != drops { listeners[i].drops = drops }
        if length > max && listeners[i].family != .unix { fullSinceCounterRead = true }
    }

    private mutating func insert(_ key: ListenerKey, _ l: Listener) {
        var l = l
        // A listener that appears after a deep look shows zeros until the next, not gaps.
        if l.family != .unix, deep != nil { l.connections = ConnectionStats() }
        if l.family != .unix && l.isFull { fullSinceCounterRead = true }
        if let i = slots[key] {
            // Same identity, changed device binding: rebuilt (its text changed).
            listeners[i] = l
            tracking[i].seen = generation
        } else {
            slots[key] = listeners.count
            listeners.append(l)
            tracking.append(Tracking(seen: generation))
        }
        membershipChanged = true
    }

    /// Ends a tick at monotonic time `now`: forgets listeners not seen (closed,
    /// or filtered out), assigns SO_REUSEPORT indexes if the set changed, and
    /// updates peaks and seconds full. A gap longer than `maxStep` (a stalled
    /// timer, a suspended host) counts as `maxStep` at most. `listenOverflows`
    /// is TcpExt ListenOverflows when it was read at this tick. Returns whether
    /// the set of listeners changed.
    @discardableResult
    public mutating func finish(now: Double, maxStep: Double, listenOverflows: UInt64?) -> Bool {
        let step = lastTick.map { min(max(now - $0, 0), maxStep) } ?? 0
        lastTick = now
        if tracking.contains(where: { $0.seen != generation }) { removeUnseen() }
        let changed = membershipChanged
        if membershipChanged {
            membershipChanged = false
            listeners = ReuseportIndex.assign(listeners)
            if let deep { apply(deep) }
        }
        // One pass over the table per tick (it is large: passes cost memory bandwidth).
        if !steadyGroups.isEmpty { steadyGroups.removeAll(keepingCapacity: true) }
        for i in listeners.indices {
            let length = listeners[i].queueLength
            if length > 0 && listeners[i].family != .unix {
                tracking[i].steady = length >= tracking[i].lastLength ? tracking[i].steady + 1 : 0
                if tracking[i].steady >= Self.steadyTicks { steadyGroups.append(listeners[i].groupKey) }
            } else if tracking[i].steady != 0 {
                tracking[i].steady = 0
            }
            if tracking[i].lastLength != length { tracking[i].lastLength = length }
            let full = length > listeners[i].queueMax
            let peak = tracking[i].peak.add(length, at: now, window: window)
            if listeners[i].queuePeak != peak { listeners[i].queuePeak = peak }
            if full { tracking[i].fullSeconds += step }
            // Written only when changed: an unchanged table is not copied (the last snapshot shares it).
            if listeners[i].fullSeconds != tracking[i].fullSeconds { listeners[i].fullSeconds = tracking[i].fullSeconds }
            if let d = listeners[i].drops {
                let grown = tracking[i].drops.add(d, at: now, window: window)
                if listeners[i].dropsInWindow != grown { listeners[i].dropsInWindow = grown }
            }
            if listeners[i].family != .unix {
                if full { tracking[i].overflow.fullSinceRead = true }
                if listeners[i].overflowsEstimated == nil { listeners[i].overflowsEstimated = tracking[i].overflow.share }
            }
        }
        // The counter is read every few ticks, and at once when a listener is full: its growth is shared out then.
        if let listenOverflows {
            overflows.read(listeners, &tracking, counter: listenOverflows)
            OverflowAttribution.shares(&listeners, tracking)
            fullSinceCounterRead = false
        }
        return changed
    }

    private mutating func removeUnseen() {
        var kept: [Listener] = []
        var keptTracking: [Tracking] = []
        kept.reserveCapacity(listeners.count)
        keptTracking.reserveCapacity(listeners.count)
        slots.removeAll(keepingCapacity: true)
        for i in listeners.indices where tracking[i].seen == generation {
            slots[listeners[i].key] = kept.count
            kept.append(listeners[i])
            keptTracking.append(tracking[i])
        }
        listeners = kept
        tracking = keptTracking
        membershipChanged = true
    }

    /// Puts a deep look's numbers on the listeners: a group's on its member 0,
    /// zeros on the others (the kernel does not say which member a connection goes to).
    public mutating func apply(_ stats: [GroupKey: ConnectionStats]) {
        deep = stats
        // Written only when changed, and found first (see OverflowAttribution.shares):
        // a quiet deep look does not copy the table.
        var changed: [(Int, ConnectionStats)] = []
        for i in listeners.indices where listeners[i].family != .unix {
            let c = listeners[i].socket == 0 ? (stats[listeners[i].groupKey] ?? ConnectionStats()) : ConnectionStats()
            if listeners[i].connections != c { changed.append((i, c)) }
        }
        for (i, c) in changed { listeners[i].connections = c }
    }

    /// Each listener's hang evidence, for the groups looked at (`only`, or all): nil where none.
    public mutating func apply(acceptance: [GroupKey: AcceptEvidence], only: Set<GroupKey>?) {
        let changed = listeners.indices.filter { i in
            if let only, !only.contains(listeners[i].groupKey) { return false }
            return listeners[i].acceptance != acceptance[listeners[i].groupKey]
        }
        for i in changed { listeners[i].acceptance = acceptance[listeners[i].groupKey] }
    }

    /// Puts each listener's owner (or the reason there is none) on it.
    public mutating func apply(owners: [UInt32: Result<Owner, UnattributedError>]) {
        Self.apply(owners: owners, to: &listeners)
    }

    /// Owners change rarely, so only what differs is written.
    public static func apply(owners: [UInt32: Result<Owner, UnattributedError>], to listeners: inout [Listener]) {
        // Found before anything is written (see OverflowAttribution.shares).
        let changed = listeners.indices.filter { i in
            switch owners[listeners[i].inode] {
            case .success(let o): return listeners[i].owner != o || listeners[i].unattributed != nil
            case .failure(let e): return listeners[i].owner != nil || listeners[i].unattributed != e.reason
            case nil: return false
            }
        }
        for i in changed {
            switch owners[listeners[i].inode] {
            case .success(let o):
                if listeners[i].owner != o { listeners[i].owner = o }
                if listeners[i].unattributed != nil { listeners[i].unattributed = nil }
            case .failure(let e):
                if listeners[i].owner != nil { listeners[i].owner = nil }
                if listeners[i].unattributed != e.reason { listeners[i].unattributed = e.reason }
            case nil: break
            }
        }
    }

    /// Reads the descriptors of the processes holding each listener (for the groups
    /// in `only`, or all) and keeps, per listener, the holder closest to its limit.
    /// True when a listener's numbers changed.
    @discardableResult
    public mutating func applyFdUsage(only: Set<GroupKey>? = nil) -> Bool {
        Self.applyFdUsage(to: &listeners, only: only)
    }

    /// Each holder is read once per call, however many listeners it holds.
    @discardableResult
    public static func applyFdUsage(to listeners: inout [Listener], only: Set<GroupKey>? = nil, procRoot: String = "/proc") -> Bool {
        var cache: [Int32: FdUsage?] = [:]
        var changed: [(Int, FdUsage?)] = []
        for i in listeners.indices {
            if let only, !only.contains(listeners[i].groupKey) { continue }
            let holders = listeners[i].owner?.holders ?? []
            let u = holders.isEmpty ? nil : FdUsage.closest(holders, cache: &cache, procRoot: procRoot)
            if listeners[i].fdUsage != u { changed.append((i, u)) }
        }
        for (i, u) in changed { listeners[i].fdUsage = u }
        return !changed.isEmpty
    }

    /// ListenOverflows growth while no listener was full, since the table was made.
    public var unattributedOverflows: Double { overflows.unattributed }

    public var count: Int { listeners.count }

    static func listener(netns: String, from rec: bd_tcp_record) -> Listener {
        let family = Int32(rec.family)
        var address = AddressText.numeric(family: family, bytes: rec.local_addr)
        if rec.bound_ifindex != 0 {
            address += "%" + AddressText.interfaceName(rec.bound_ifindex)
        }
        var l = Listener(
            netns: netns, family: family == AF_INET6 ? .inet6 : .inet, address: address, port: rec.local_port,
            inode: rec.inode, cookie: rec.cookie, queueLength: rec.rqueue, queueMax: rec.wqueue,
            v6Only: family == AF_INET6 && rec.v6only >= 0 ? rec.v6only == 1 : nil, uid: rec.uid)
        l.boundInterface = rec.bound_ifindex
        if rec.has_drops != 0 { l.drops = UInt64(rec.drops) }
        return l
    }

    static func listener(netns: String, from rec: bd_unix_record) -> Listener {
        let path = withUnsafeBytes(of: rec.path) { raw in
            AddressText.unixPath(raw.prefix(Int(min(rec.path_len, UInt8(BD_UNIX_PATH_MAX)))))
        }
        return Listener(
            netns: netns, family: .unix, address: path, port: nil, inode: rec.inode,
            queueLength: rec.rqueue, queueMax: rec.wqueue, unixType: rec.type == 5 ? "seqpacket" : "stream")
    }
}
