/// Everything one collection of one namespace saw. Built by SnapshotAssembly and
/// never changed afterwards, except by the series cap when a Publication is made.
public struct Snapshot: Sendable {
    public let netns: String
    /// Unix time of the last sample.
    public let timestamp: Double
    /// How long the collection sampled (0 = a single dump).
    public let windowSeconds: Double
    /// In the order the sockets appeared (stable); `fullestFirst` for people.
    public internal(set) var listeners: [Listener]
    /// Every /proc/net/netstat field, by section (`TcpExt`, `IpExt`, …); nil when the source failed.
    public let netstat: NetstatCounters?
    /// Growth of each netstat listen counter over the window (nil for a single dump).
    public let counterDeltas: [ListenCounter: UInt64]?
    /// sysctl name -> value; names that could not be read are missing.
    public let sysctls: [String: Int64]
    public let sources: [SourceStatus]
    public internal(set) var findings: [Finding]
    /// The deep tick's current interval (seconds), paced by its CPU budget; nil without deep ticks.
    public var deepIntervalSeconds: Double?
    /// The fast tick's current interval (seconds), paced by its CPU budget; nil for `--once`.
    public internal(set) var fastIntervalSeconds: Double?
    /// ListenOverflows growth seen while no listener was full (not attributed), since start.
    public internal(set) var unattributedOverflows: Double?
    /// Connections the stall tracker could not remember (it was full), since start.
    public internal(set) var trackingDropped: UInt64?
    /// Listeners left out by the series cap (`max_listeners`) in this collection.
    public internal(set) var listenersLeftOut = 0
    /// Who is in the namespace (not for `host`), for `backlogd_netns_info`.
    public internal(set) var occupant: NetnsOccupant?
    /// The thresholds the findings were judged with (the load-balancer verdict reads them).
    public internal(set) var thresholds = Thresholds()
    /// Groups a load balancer keeps out although no longer hung: they were, and have not
    /// yet shown progress with short waits for `recoverAfter` (RotationMemory).
    public var heldOut: [GroupKey: HeldOut] = [:]

    public init(
        netns: String = "host", timestamp: Double, windowSeconds: Double, listeners: [Listener],
        netstat: NetstatCounters?, counterDeltas: [ListenCounter: UInt64]? = nil,
        sysctls: [String: Int64], sources: [SourceStatus], findings: [Finding] = [],
        occupant: NetnsOccupant? = nil, deepIntervalSeconds: Double? = nil, trackingDropped: UInt64? = nil
    ) {
        self.netns = netns
        self.timestamp = timestamp
        self.windowSeconds = windowSeconds
        self.listeners = listeners
        self.netstat = netstat
        self.counterDeltas = counterDeltas
        self.sysctls = sysctls
        self.sources = sources
        self.findings = findings
        self.occupant = occupant
        self.deepIntervalSeconds = deepIntervalSeconds
        self.trackingDropped = trackingDropped
    }

    /// The value of a listen counter, if the netstat source worked and had it.
    public func counter(_ c: ListenCounter) -> UInt64? {
        netstat?.value(section: "TcpExt", field: c.rawValue)
    }

    public var failedSources: [SourceStatus] { sources.filter { !$0.up } }

    /// Listeners fullest first (by fill, then length), then by address: how people read them.
    public var listenersFullestFirst: [Listener] { fullestFirstOrder.map { listeners[$0] } }

    /// The indices of `listeners` in that order (a large snapshot's listeners are not copied).
    public var fullestFirstOrder: [Int] {
        listeners.indices.sorted { Listener.fullestFirst(listeners[$0], listeners[$1]) }
    }

    /// The snapshot of a namespace that could not be joined: no numbers, one failed source;
    /// `errorsTotal` counts the failed joins of this namespace so far.
    public static func unreachable(_ ns: WatchedNamespace, error: String, errorsTotal: UInt64) -> Snapshot {
        Snapshot(netns: ns.label, timestamp: WallClock.now(), windowSeconds: 0, listeners: [], netstat: nil, sysctls: [:],
                 sources: [SourceStatus(name: "netns", up: false, error: error, durationSeconds: 0, errorsTotal: errorsTotal)],
                 occupant: ns.occupant)
    }
}

extension Listener {
    /// Fullest first (by fill, then length), then by address for a stable order.
    public static func fullestFirst(_ a: Listener, _ b: Listener) -> Bool {
        if a.fill != b.fill { return a.fill > b.fill }
        if a.queueLength != b.queueLength { return a.queueLength > b.queueLength }
        return (a.family, a.address, a.port ?? 0, a.socket) < (b.family, b.address, b.port ?? 0, b.socket)
    }
}
