/// What a listener's SYN-RECV request sockets are waiting for (CONTRACT.md).
public enum SynRecvKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The first request timer (1 s) has not fired yet: too young to judge.
    case new
    /// The SYN-ACK was re-sent: the client's ACK never came (SYN flood, lost ACK, asymmetric route).
    case halfOpen = "half_open"
    /// TCP_DEFER_ACCEPT hold: the handshake is done, the client has not sent data yet.
    case deferred
    /// Handshake done but the final ACK was refused while the accept queue was full.
    case overflowed

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A count and the age of the oldest member.
public struct AgedCount: Sendable, Hashable, Codable {
    public var count: Int = 0
    /// Seconds; 0 when count is 0.
    public var oldestSeconds: Double = 0

    public init(count: Int = 0, oldestSeconds: Double = 0) {
        self.count = count
        self.oldestSeconds = oldestSeconds
    }

    public mutating func add(ageSeconds: Double) {
        count += 1
        oldestSeconds = max(oldestSeconds, ageSeconds)
    }
}

/// Where a listener's connections are stuck, from one deep dump (SYN-RECV,
/// ESTABLISHED, CLOSE_WAIT on its port). For a SO_REUSEPORT group the numbers
/// belong to the whole group: the kernel does not say which member a child
/// or request socket will go to.
public struct ConnectionStats: Sendable, Hashable, Codable {
    public var synRecv = SynRecvCounts()
    /// Children not yet accept()ed (inode 0): ESTABLISHED, or CLOSE_WAIT when the client gave up.
    public var unaccepted = AgedCount()
    /// Request bytes the unaccepted children have received that nobody read.
    public var unacceptedBytes: UInt64 = 0
    /// Accepted connections whose unread bytes have not shrunk for longer than the threshold.
    public var stalled = AgedCount()
    /// Accepted connections in CLOSE_WAIT: the peer closed, the application did not.
    public var closeWait = AgedCount()

    public init() {}

    public func syn(_ kind: SynRecvKind) -> AgedCount { synRecv[kind] }
}

/// Request sockets by kind: four plain fields, not a dictionary (one per listener
/// per deep look, no allocation).
public struct SynRecvCounts: Sendable, Hashable, Codable {
    public var new = AgedCount()
    public var halfOpen = AgedCount()
    public var deferred = AgedCount()
    public var overflowed = AgedCount()

    public init() {}

    public subscript(kind: SynRecvKind) -> AgedCount {
        get {
            switch kind {
            case .new: new
            case .halfOpen: halfOpen
            case .deferred: deferred
            case .overflowed: overflowed
            }
        }
        set {
            switch kind {
            case .new: new = newValue
            case .halfOpen: halfOpen = newValue
            case .deferred: deferred = newValue
            case .overflowed: overflowed = newValue
            }
        }
    }
}
