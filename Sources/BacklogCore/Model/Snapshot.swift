/// Everything one collection saw, immutable once built.
public struct Snapshot: Sendable {
    public var netns: String
    /// Unix time of the last sample.
    public var timestamp: Double
    /// How long the collection sampled (0 = a single dump).
    public var windowSeconds: Double
    public var listeners: [Listener]
    /// Every /proc/net/netstat field, by section (`TcpExt`, `IpExt`, …); nil when the source failed.
    public var netstat: NetstatCounters?
    /// Growth of each netstat listen counter over the window (nil for a single dump).
    public var counterDeltas: [ListenCounter: UInt64]?
    /// sysctl name -> value; names that could not be read are missing.
    public var sysctls: [String: Int64]
    public var sources: [SourceStatus]
    public var findings: [Finding]
    /// The deep tick's current interval (seconds), paced by its CPU budget; nil without deep ticks.
    public var deepIntervalSeconds: Double?
    /// ListenOverflows growth seen while no listener was full (not attributed), since start.
    public var unattributedOverflows: Double?
    /// Connections the stall tracker could not remember (it was full), since start.
    public var trackingDropped: UInt64?
    /// Listeners left out by the series cap (`max_listeners`) in this collection.
    public var listenersLeftOut = 0
    /// Owner lookups that found no process, by reason, since start; nil when owners are not looked up.
    public var ownerFailures: [Unattributed: UInt64]?
    /// Processes an owner scan did not get to (time budget), since start.
    public var ownerScanSkipped: UInt64?
    /// Namespaces that could not be joined, by reason, since start (set on the first snapshot of a tick).
    public var netnsOpenFailures: [String: UInt64]?
    /// Processes whose network namespace the last discovery could not read (no CAP_SYS_PTRACE).
    public var netnsUnreadableProcesses: Int?
    /// Who is in the namespace (not for `host`), for `backlogd_netns_info`.
    public var netnsOwner: NetnsOwner?

    public init(
        netns: String = "host", timestamp: Double, windowSeconds: Double, listeners: [Listener],
        netstat: NetstatCounters?, counterDeltas: [ListenCounter: UInt64]? = nil,
        sysctls: [String: Int64], sources: [SourceStatus], findings: [Finding] = []
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
    }

    /// The value of a listen counter, if the netstat source worked and had it.
    public func counter(_ c: ListenCounter) -> UInt64? {
        netstat?.value(section: "TcpExt", field: c.rawValue)
    }

    public var failedSources: [SourceStatus] { sources.filter { !$0.up } }

    /// The snapshot of a namespace that could not be joined: no numbers, one failed source.
    public static func unreachable(_ ns: WatchedNamespace, error: String, errorsTotal: UInt64 = 1) -> Snapshot {
        var s = Snapshot(netns: ns.label, timestamp: WallClock.now(), windowSeconds: 0, listeners: [], netstat: nil, sysctls: [:],
                         sources: [SourceStatus(name: "netns", up: false, error: error, durationSeconds: 0, errorsTotal: errorsTotal)])
        s.netnsOwner = ns.owner
        return s
    }
}
