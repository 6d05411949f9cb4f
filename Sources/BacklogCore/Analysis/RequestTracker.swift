/// Remembers request sockets (SYN-RECV) by cookie across deep dumps, so that a
/// kind a single dump cannot tell stays right:
/// - a request seen before that has still re-sent nothing and is over 1 s old
///   is a deferred hold, even in the last second of a timer period (when its
///   `expires` is ≤ 1 s and one dump would call it new);
/// - once overflowed (re-sending while its listener was full), it stays
///   overflowed after the queue drains, instead of turning into a false
///   half-open alarm.
/// Bounded: past `cap` requests new ones are classified from one dump only.
public struct RequestTracker: Sendable {
    struct Entry {
        var firstSeen: Double
        var ageAtFirst: Double
        var overflowed: Bool
        var generation: UInt32
    }

    public let cap: Int
    private var entries: [UInt64: Entry] = [:]
    private var generation: UInt32 = 0
    /// Sightings of requests not remembered because the tracker was full.
    public private(set) var dropped: UInt64 = 0

    public init(cap: Int = 100_000) {
        self.cap = cap
    }

    public mutating func begin() { generation &+= 1 }

    public mutating func observe(cookie: UInt64, retrans: UInt8, expiresMs: UInt32, listenerFull: Bool, now: Double) -> (SynRecvKind, Double) {
        var kind = SynRecvClassifier.kind(retrans: retrans, expiresMs: expiresMs, listenerFull: listenerFull)
        let estimate = SynRecvClassifier.ageSeconds(retrans: retrans, expiresMs: expiresMs)
        guard var e = entries[cookie] else {
            if entries.count < cap {
                entries[cookie] = Entry(firstSeen: now, ageAtFirst: estimate, overflowed: kind == .overflowed, generation: generation)
            } else {
                dropped += 1
            }
            return (kind, estimate)
        }
        let age = max(estimate, e.ageAtFirst + now - e.firstSeen)
        if e.overflowed || kind == .overflowed {
            e.overflowed = true
            kind = .overflowed
        } else if retrans == 0 && age > 1 {
            kind = .deferred
        }
        e.generation = generation
        entries[cookie] = e
        return (kind, age)
    }

    public mutating func finish() {
        let g = generation
        entries = entries.filter { $0.value.generation == g }
    }

    public var count: Int { entries.count }
}
