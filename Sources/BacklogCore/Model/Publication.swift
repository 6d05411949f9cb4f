/// What the daemon publishes after a tick, and what `--once` prints: every
/// watched namespace's snapshot (backlogd's own first) and the facts that belong
/// to the process, not to one namespace. Made once; the series cap is applied here.
public struct Publication: Sendable {
    public private(set) var snapshots: [Snapshot]
    public let process: ProcessFacts

    /// Applies `maxListeners` over all namespaces together (N namespaces must not get N caps).
    public init(snapshots: [Snapshot], process: ProcessFacts = ProcessFacts(), maxListeners: Int? = nil) {
        self.snapshots = snapshots
        self.process = process
        if let maxListeners { SeriesCap.apply(&self.snapshots, cap: maxListeners) }
    }
}

/// Process-wide facts of a collection.
public struct ProcessFacts: Sendable, Equatable {
    /// Owner lookups that found no process, by reason, since start; nil when owners are not looked up.
    public var ownerFailures: [Unattributed: UInt64]?
    /// Processes an owner scan did not get to (time budget), since start.
    public var ownerScanSkipped: UInt64?
    /// Namespaces that could not be joined, by reason, since start.
    public var netnsOpenFailures: [String: UInt64]?
    /// Processes whose network namespace the last discovery could not read (no CAP_SYS_PTRACE).
    public var netnsUnreadableProcesses: Int?
    /// Pod UIDs more than one pods-directory entry claims (their pods are not named); with ownerFailures.
    public var podUIDConflicts: Int?

    public init(ownerFailures: [Unattributed: UInt64]? = nil, ownerScanSkipped: UInt64? = nil,
                netnsOpenFailures: [String: UInt64]? = nil, netnsUnreadableProcesses: Int? = nil, podUIDConflicts: Int? = nil) {
        self.ownerFailures = ownerFailures
        self.ownerScanSkipped = ownerScanSkipped
        self.podUIDConflicts = podUIDConflicts
        self.netnsOpenFailures = netnsOpenFailures
        self.netnsUnreadableProcesses = netnsUnreadableProcesses
    }
}
