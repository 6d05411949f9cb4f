/// What happened to each listener's queue between scrapes: the peak length over a
/// sliding window and the seconds it was sampled full. Keyed by socket identity, so
/// a listener that closes loses its history at the next tick (and its series with it).
/// Memory is per listener: at most window/interval samples each.
public struct QueueHistory: Sendable {
    /// Length of the peak window in seconds.
    public var window: Double
    private var entries: [Key: Entry] = [:]
    private var lastTick: Double?

    struct Key: Hashable {
        var netns: String
        var family: AddressFamily
        var inode: UInt32
        var cookie: UInt64
    }

    struct Entry {
        /// Monotonic queue: lengths strictly decrease from `head` on, so the peak is at `head`.
        var samples: [(time: Double, length: UInt32)] = []
        var head = 0
        var fullSeconds = 0.0

        mutating func add(_ length: UInt32, at time: Double, window: Double) -> UInt32 {
            while samples.count > head, samples[samples.count - 1].length <= length { samples.removeLast() }
            samples.append((time, length))
            while samples[head].time < time - window { head += 1 }
            if head > 16 && head * 2 > samples.count {
                samples.removeFirst(head)
                head = 0
            }
            return samples[head].length
        }
    }

    public init(window: Double) {
        self.window = window
    }

    /// Records one tick's listeners (at monotonic time `now`, seconds) and returns
    /// them with `queuePeak` and `fullSeconds` filled in. A gap longer than
    /// `maxStep` (a stalled timer, a suspended host) counts as `maxStep` at most.
    public mutating func record(_ listeners: [Listener], at now: Double, maxStep: Double) -> [Listener] {
        let step = lastTick.map { min(max(now - $0, 0), maxStep) } ?? 0
        lastTick = now
        var next: [Key: Entry] = [:]
        next.reserveCapacity(listeners.count)
        var out = listeners
        for i in out.indices {
            let l = out[i]
            let key = Key(netns: l.netns, family: l.family, inode: l.inode, cookie: l.cookie ?? 0)
            var e = entries[key] ?? next[key] ?? Entry()
            out[i].queuePeak = max(l.queuePeak, e.add(l.queueLength, at: now, window: window))
            if l.isFull { e.fullSeconds += step }
            out[i].fullSeconds = e.fullSeconds
            next[key] = e
        }
        entries = next
        return out
    }

    /// Listeners currently tracked.
    public var count: Int { entries.count }
}
