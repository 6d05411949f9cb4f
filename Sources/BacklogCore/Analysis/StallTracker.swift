/// Remembers, per accepted connection (by socket cookie), since when the
/// application has not read from it. The first sighting starts the clock at the
/// peer's last data (`tcpi_last_data_recv`): the newest unread byte is that old,
/// so one dump already gives an age (CONTRACT.md). Later sightings restart the
/// clock when the application has read: bytes received minus unread bytes grew
/// (`tcpi_bytes_received`, Linux 4.1+; else when the unread bytes shrank), so a
/// peer that sends as fast as the application reads is not a stall. Bounded:
/// past `cap` connections new ones are not remembered (counted in `dropped`).
public struct StallTracker: Sendable {
    struct Entry {
        var since: Double
        var rqueue: UInt32
        /// Bytes the application has read: received − unread; nil without tcpi_bytes_received.
        var consumed: UInt64?
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
    public mutating func observe(cookie: UInt64, rqueue: UInt32, bytesReceived: UInt64? = nil, lastDataRecvMs: UInt32, now: Double) -> Double {
        let consumed = bytesReceived.map { $0 >= UInt64(rqueue) ? $0 - UInt64(rqueue) : 0 }
        if var e = entries[cookie] {
            let read = if let consumed, let before = e.consumed { consumed > before } else { rqueue < e.rqueue }
            if read { e.since = now }
            e.rqueue = rqueue
            e.consumed = consumed
            e.generation = generation
            entries[cookie] = e
            return now - e.since
        }
        let since = now - Double(lastDataRecvMs) / 1000
        if entries.count < cap {
            entries[cookie] = Entry(since: since, rqueue: rqueue, consumed: consumed, generation: generation)
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
