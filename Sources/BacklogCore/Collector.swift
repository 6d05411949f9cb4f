import CSockDiag

/// Collects one network namespace: listeners (TCP, UNIX), TcpExt counters and
/// sysctls, each source independent, so one failing does not hide the others.
/// Owns its netlink socket; use it from one thread at a time.
public final class Collector {
    public let netns: String
    private let socket: Result<SockDiagSocket, SockDiagError>
    private let tcp: TCPListenerSource
    private let unix: UnixListenerSource
    private let netstat: NetstatSource
    private let sysctl: SysctlSource
    private var errorsTotal: [String: UInt64] = [:]
    private var skippedTotal: [String: UInt64] = [:]
    private var lastSuccess: [String: Double] = [:]
    /// Which TCP listeners to report; may change between collections (config reload).
    public var filter: PortFilter
    public var thresholds: Thresholds
    /// Address/process/unit filters and the series cap; may change between collections.
    public var selection = ListenerSelection()
    private var attribution = OverflowAttribution()
    private var lastCookies: UInt64?
    private var lastCookieGrowth: UInt64?
    private var cookieFindingUntil: Double?
    private var cachedSysctls: ([String: Int64], SourceStatus)?
    private var cachedNetstat: (NetstatCounters?, SourceStatus)?
    private var netstatReadAt = 0.0
    private var sysctlsReadAt = 0.0
    private var ownerFailures: [Unattributed: UInt64]?
    private var ownerScanSkipped: UInt64?
    /// The last tick's listeners before the address/process/unit filters and the
    /// cap: the owner lookup and the deep dumps need the ones left out too, or an
    /// excluded listener would lose its owner and come back unfiltered.
    public private(set) var lastSeen: [Listener] = []

    public init(
        netns: String = "host", filter: PortFilter = .all, thresholds: Thresholds = Thresholds(),
        netstat: NetstatSource = NetstatSource(), sysctl: SysctlSource = SysctlSource()
    ) {
        self.netns = netns
        self.filter = filter
        self.thresholds = thresholds
        self.socket = Result { () throws(SockDiagError) in try SockDiagSocket() }
        self.tcp = TCPListenerSource(netns: netns)
        self.unix = UnixListenerSource(netns: netns)
        self.netstat = netstat
        self.sysctl = sysctl
    }

    /// Samples listeners over `window` seconds (every `interval`) so that a queue
    /// that filled and drained in between still shows in the peak, and counter
    /// growth over the window is known. Connections are dumped at the start and
    /// the end of the window (so "growing" rules have two looks); `window` 0 is
    /// a single dump of each.
    public func collect(window: Double = 0, interval: Double = 0.25, owners: SharedOwnerIndex = SharedOwnerIndex()) -> Snapshot {
        let start = ContinuousClock.now
        let first = window > 0 ? readNetstat().counters : nil
        let deep = DeepCollector(netns: netns, thresholds: thresholds, window: window + 1)
        // The window's samples go through the same history as the daemon's ticks.
        var history = QueueHistory(window: window + 1)
        var listeners: [Listener]
        var statuses: [SourceStatus]
        var counters: NetstatCounters?
        var netstatStatus: SourceStatus
        var deepResult: DeepResult?
        while true {
            (listeners, statuses) = readListeners()
            let elapsed = (ContinuousClock.now - start).seconds
            listeners = history.record(listeners, at: elapsed, maxStep: interval * 2)
            (counters, netstatStatus) = readNetstat()
            listeners = attribution.record(listeners, overflows: counters?.value(section: "TcpExt", field: ListenCounter.listenOverflows.rawValue))
            if deepResult == nil && window > 0 {
                deepResult = deep.collect(listeners: listeners, now: elapsed)
            }
            if elapsed >= window { break }
            WallClock.sleep(seconds: min(interval, window - elapsed))
        }
        deepResult = deep.collect(listeners: listeners, now: (ContinuousClock.now - start).seconds)
        let resolved = owners.resolve(Set(listeners.map(\.inode)), now: 0)
        listeners = Self.apply(resolved.byInode, to: listeners)
        ownerFailures = resolved.failures
        ownerScanSkipped = resolved.skipped
        let (sysctls, sysctlStatus) = readSysctls()
        var deltas: [ListenCounter: UInt64]?
        if let first, let counters {
            deltas = [:]
            for c in ListenCounter.allCases {
                if let a = first.value(section: "TcpExt", field: c.rawValue),
                   let b = counters.value(section: "TcpExt", field: c.rawValue) {
                    deltas?[c] = b >= a ? b - a : 0
                }
            }
        }
        return assemble(listeners: listeners, statuses: statuses + [netstatStatus, sysctlStatus], counters: counters,
                        deltas: deltas, cookieGrowth: deltas?[.reqQFullDoCookies], sysctls: sysctls, deep: deepResult,
                        window: window, deepInterval: nil)
    }

    /// One tick of the daemon: a single dump of listeners, counters and sysctls,
    /// with peak and seconds-full taken from `history` (updated in place) and
    /// the latest deep result merged in. `now` is monotonic seconds; `maxStep`
    /// bounds what one gap adds to seconds-full.
    public func tick(history: inout QueueHistory, now: Double, maxStep: Double, deep: DeepResult? = nil,
                     deepInterval: Double? = nil, owners: OwnerSnapshot? = nil) -> Snapshot {
        var (listeners, statuses) = readListeners()
        if let owners {
            listeners = Self.apply(owners.byInode, to: listeners)
            ownerFailures = owners.failures
            ownerScanSkipped = owners.skipped
        }
        listeners = history.record(listeners, at: now, maxStep: maxStep)
        // The counters once a second, not every tick: overflow growth between two
        // reads goes to the listeners seen full at any tick in between.
        var fresh = false
        if cachedNetstat == nil || now - netstatReadAt >= 1 || !(cachedNetstat?.1.up ?? false) {
            cachedNetstat = readNetstat()
            netstatReadAt = now
            fresh = true
        }
        let (counters, netstatStatus) = cachedNetstat!
        listeners = attribution.record(listeners, overflows: fresh ? counters?.value(section: "TcpExt", field: ListenCounter.listenOverflows.rawValue) : nil)
        var cookieGrowth: UInt64?
        if fresh {
            // TCPReqQFullDoCookies, not SyncookiesSent: with tcp_syncookies=2 every SYN gets a cookie.
            let cookies = counters?.value(section: "TcpExt", field: ListenCounter.reqQFullDoCookies.rawValue)
            if let cookies, let last = lastCookies, cookies > last { cookieGrowth = cookies - last }
            if cookies != nil { lastCookies = cookies }
        }
        // Keep the finding up for the peak window, as the queue findings are.
        if let g = cookieGrowth {
            cookieFindingUntil = now + history.window
            lastCookieGrowth = g
        } else if let until = cookieFindingUntil, now < until {
            cookieGrowth = lastCookieGrowth
        }
        // Sysctls change by hand, rarely: re-read every 10 s (or after a failure), not every tick.
        if cachedSysctls == nil || now - sysctlsReadAt >= 10 || !(cachedSysctls?.1.up ?? false) {
            cachedSysctls = readSysctls()
            sysctlsReadAt = now
        }
        let (sysctls, sysctlStatus) = cachedSysctls!
        lastSeen = listeners
        return assemble(listeners: listeners, statuses: statuses + [netstatStatus, sysctlStatus], counters: counters,
                        deltas: nil, cookieGrowth: cookieGrowth, sysctls: sysctls, deep: deep,
                        window: history.window, deepInterval: deepInterval)
    }

    /// Merges the deep result into the listeners, evaluates the findings, builds the snapshot.
    private func assemble(
        listeners: [Listener], statuses: [SourceStatus], counters: NetstatCounters?,
        deltas: [ListenCounter: UInt64]?, cookieGrowth: UInt64?, sysctls: [String: Int64], deep: DeepResult?,
        window: Double, deepInterval: Double?
    ) -> Snapshot {
        var listeners = listeners
        var statuses = statuses
        if let deep {
            statuses.append(deep.status)
            for i in listeners.indices where listeners[i].family != .unix {
                // The group's numbers go on member 0; the others show zeros, not gaps.
                listeners[i].connections = listeners[i].socket == 0 ? (deep.stats[listeners[i].groupKey] ?? ConnectionStats()) : ConnectionStats()
            }
        }
        listeners = listeners.filter(selection.admits)
        listeners.sort(by: Self.fullestFirst)
        var findings = QueueFindings.evaluate(listeners: listeners, somaxconn: sysctls["net.core.somaxconn"], thresholds: thresholds)
            + ConnectionFindings.evaluate(listeners: listeners, halfOpenGrowth: deep?.halfOpenGrowth ?? [:],
                                          acceptProgress: deep?.acceptProgress ?? [:],
                                          cookieGrowth: cookieGrowth, netns: netns, thresholds: thresholds)
        // After the findings: the cap keeps the listeners they are about first.
        let leftOut = selection.maxListeners.map { SeriesCap.trim(&listeners, findings: &findings, cap: $0) } ?? 0
        var snapshot = Snapshot(
            netns: netns, timestamp: WallClock.now(), windowSeconds: window, listeners: listeners,
            netstat: counters, counterDeltas: deltas, sysctls: sysctls, sources: statuses,
            findings: QueueFindings.sorted(findings))
        snapshot.deepIntervalSeconds = deepInterval
        snapshot.unattributedOverflows = attribution.unattributed
        snapshot.trackingDropped = deep?.trackingDropped
        snapshot.listenersLeftOut = leftOut
        snapshot.ownerFailures = ownerFailures
        snapshot.ownerScanSkipped = ownerScanSkipped
        return snapshot
    }

    /// Puts each listener's owner (or the reason there is none) on it.
    static func apply(_ owners: [UInt32: Result<Owner, UnattributedError>], to listeners: [Listener]) -> [Listener] {
        var out = listeners
        for i in out.indices {
            switch owners[out[i].inode] {
            case .success(let o): out[i].owner = o
            case .failure(let e): out[i].unattributed = e.reason
            case nil: break
            }
        }
        return out
    }

    /// Fullest first (by fill, then length), then by address for a stable order.
    public static func fullestFirst(_ a: Listener, _ b: Listener) -> Bool {
        if a.fill != b.fill { return a.fill > b.fill }
        if a.queueLength != b.queueLength { return a.queueLength > b.queueLength }
        return (a.family, a.address, a.port ?? 0, a.socket) < (b.family, b.address, b.port ?? 0, b.socket)
    }

    /// One dump of TCP and UNIX listeners (filtered), with a status per source.
    public func readListeners() -> ([Listener], [SourceStatus]) {
        var all: [Listener] = []
        var statuses: [SourceStatus] = []
        for (name, read) in [("tcp", tcp.read(using:)), ("unix", unix.read(using:))] {
            let started = ContinuousClock.now
            do {
                let sock = try socket.get()
                let before = sock.malformedMessages
                all += try read(sock).filter { filter.admits($0.port) }
                // A skipped message may have been a listener: say so rather than under-report.
                let skipped = sock.malformedMessages - before
                let error = skipped > 0 ? "\(skipped) malformed netlink messages skipped; listeners may be missing" : nil
                statuses.append(status(name, started, error: error, skipped: skipped))
            } catch {
                statuses.append(status(name, started, error: "\(error)"))
            }
        }
        return (all, statuses)
    }

    public func readNetstat() -> (counters: NetstatCounters?, status: SourceStatus) {
        let started = ContinuousClock.now
        do {
            return (try netstat.read(), status("netstat", started))
        } catch {
            return (nil, status("netstat", started, error: "\(error)"))
        }
    }

    public func readSysctls() -> ([String: Int64], SourceStatus) {
        let started = ContinuousClock.now
        let (values, errors) = sysctl.read()
        // One line: the first reason, and how many more there are.
        let error = errors.first.map { errors.count > 1 ? "\($0) (and \(errors.count - 1) more)" : $0 }
        return (values, status("sysctl", started, error: error))
    }

    private func status(_ name: String, _ started: ContinuousClock.Instant, error: String? = nil, skipped: UInt64 = 0) -> SourceStatus {
        if error != nil { errorsTotal[name, default: 0] += 1 } else { lastSuccess[name] = WallClock.now() }
        skippedTotal[name, default: 0] += skipped
        return SourceStatus(
            name: name, up: error == nil, error: error,
            durationSeconds: (ContinuousClock.now - started).seconds, skipped: skippedTotal[name] ?? 0,
            errorsTotal: errorsTotal[name] ?? 0, lastSuccess: lastSuccess[name])
    }
}
