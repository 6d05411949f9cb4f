/// Remembers, per accepted connection (by socket cookie), since when its unread
/// bytes have not shrunk. The first sighting starts the clock at the peer's last
/// data (`tcpi_last_data_recv`): unread bytes are at least that old, so one
/// dump already gives an age. Shrinking restarts the clock. Bounded: past `cap`
/// connections new ones are not remembered (counted in `dropped`).
public struct StallTracker: Sendable {
    struct Entry {
        var since: Double
        var rqueue: UInt32
        var generation: UInt32
    }

    public let cap: Int
    private var entries: [UInt64: Entry] = [:]
    private var generation: UInt32 = 0
    /// Connections not remembered because the tracker was full.
    public private(set) var dropped: UInt64 = 0

    public init(cap: Int = 100_000) {
        self.cap = cap
    }

    /// Starts a dump: entries not observed again before `finish()` are forgotten.
    public mutating func begin() {
        generation &+= 1
    }

    /// Seconds the connection's unread bytes have not shrunk.
    public mutating func observe(cookie: UInt64, rqueue: UInt32, lastDataRecvMs: UInt32, now: Double) -> Double {
        if var e = entries[cookie] {
            if rqueue < e.rqueue { e.since = now }
            e.rqueue = rqueue
            e.generation = generation
            entries[cookie] = e
            return now - e.since
        }
        let since = now - Double(lastDataRecvMs) / 1000
        if entries.count < cap {
            entries[cookie] = Entry(since: since, rqueue: rqueue, generation: generation)
        } else {
            dropped += 1
        }
        return now - since
    }

    public mutating func finish() {
        let g = generation
        entries = entries.filter { $0.value.generation == g }
    }

    public var count: Int { entries.count }
}
