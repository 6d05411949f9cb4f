/// What one namespace's sources produced for one snapshot, before any rule ran:
/// the input of SnapshotAssembly. Values only.
public struct NamespaceReadings: Sendable {
    public var netns: String
    /// Unix time of the last sample.
    public var timestamp: Double
    /// How long the collection sampled (0 = a single dump); the daemon: its peak window.
    public var windowSeconds: Double
    /// With peaks, seconds full, overflow shares, the last deep look's numbers and owners.
    public var listeners: [Listener]
    public var sources: [SourceStatus]
    public var netstat: NetstatCounters?
    /// Growth of each listen counter over `--once`'s window (nil for the daemon and a single dump).
    public var counterDeltas: [ListenCounter: UInt64]?
    /// TCPReqQFullDoCookies growth to report (held for the peak window after it grew).
    public var cookieGrowth: UInt64?
    public var sysctls: [String: Int64]
    /// The last deep look's judgements over time, by group (nil before the first).
    public var deep: DeepResult?
    public var deepIntervalSeconds: Double?
    public var fastIntervalSeconds: Double?
    public var unattributedOverflows: Double?
    /// Who is in the namespace (not for `host`).
    public var occupant: NetnsOccupant?
    /// `--once`: its looks span one window, so a finding may say what a longer one would tell.
    public var oneShot = false

    public init(netns: String, timestamp: Double, windowSeconds: Double, listeners: [Listener], sources: [SourceStatus],
                netstat: NetstatCounters?, counterDeltas: [ListenCounter: UInt64]? = nil, cookieGrowth: UInt64? = nil,
                sysctls: [String: Int64], deep: DeepResult? = nil) {
        self.netns = netns
        self.timestamp = timestamp
        self.windowSeconds = windowSeconds
        self.listeners = listeners
        self.sources = sources
        self.netstat = netstat
        self.counterDeltas = counterDeltas
        self.cookieGrowth = cookieGrowth
        self.sysctls = sysctls
        self.deep = deep
    }
}
