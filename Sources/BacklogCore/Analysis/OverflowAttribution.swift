/// Splits the growth of TcpExt ListenOverflows (one counter per namespace) among
/// the TCP listeners seen full at any sample since the previous counter read, or
/// at that read: an estimate, exported as such. Growth while none was full is
/// kept as unattributed. The counter need not be read at every sample.
public struct OverflowAttribution: Sendable {
    private var lastCounter: UInt64?
    private var previouslyFull: Set<Key> = []
    private var fullSinceRead: Set<Key> = []
    private var shares: [Key: Double] = [:]
    public private(set) var unattributed: Double = 0

    struct Key: Hashable {
        var family: AddressFamily
        var inode: UInt32
        var cookie: UInt64
    }

    public init() {}

    /// Records one sample; `overflows` is the counter if it was read at this
    /// sample, nil if not. Returns the listeners with `overflowsEstimated` set (TCP only).
    public mutating func record(_ listeners: [Listener], overflows: UInt64?) -> [Listener] {
        let tcp = listeners.indices.filter { listeners[$0].family != .unix }
        let keys = tcp.map { Key(family: listeners[$0].family, inode: listeners[$0].inode, cookie: listeners[$0].cookie ?? 0) }
        let fullNow = Set(zip(tcp, keys).filter { listeners[$0.0].isFull }.map(\.1))
        fullSinceRead.formUnion(fullNow)
        if let overflows {
            if let last = lastCounter, overflows > last {
                let growth = Double(overflows - last)
                let targets = keys.filter { fullSinceRead.contains($0) || previouslyFull.contains($0) }
                if targets.isEmpty {
                    unattributed += growth
                } else {
                    for k in targets { shares[k, default: 0] += growth / Double(targets.count) }
                }
            }
            lastCounter = overflows
            previouslyFull = fullNow
            fullSinceRead = []
        }
        // Listeners that are gone take their share with them.
        let live = Set(keys)
        shares = shares.filter { live.contains($0.key) }
        var out = listeners
        for (i, k) in zip(tcp, keys) { out[i].overflowsEstimated = shares[k] ?? 0 }
        return out
    }
}
