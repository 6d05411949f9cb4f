#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag

/// What one deep dump found, per listener group (Listener.groupKey).
public struct DeepResult: Sendable {
    public var stats: [String: ConnectionStats] = [:]
    /// Half-open request sockets now minus at the previous deep dump, per group.
    public var halfOpenGrowth: [String: Int] = [:]
    public var status: SourceStatus
    /// CPU time (user + system, this thread) the dump took: the kernel's work
    /// filling the dump runs in our recv() calls, so it is included.
    public var cpuSeconds: Double
    /// Connections the stall tracker could not remember (it was full), since start.
    public var trackingDropped: UInt64
}

/// The deep tick: one inet_diag dump per family of SYN-RECV, ESTABLISHED and
/// CLOSE_WAIT sockets, filtered in the kernel to the ports that listen, folded
/// into per-listener ConnectionStats. Memory is per listener plus the bounded
/// stall tracker. Owns its netlink socket; use it from one thread at a time.
public final class DeepCollector {
    public let netns: String
    public var stalledAfter: Double
    private let socket: Result<SockDiagSocket, SockDiagError>
    private var stall = StallTracker()
    private var previousHalfOpen: [String: Int] = [:]
    private var errorsTotal: UInt64 = 0
    private var lastSuccess: Double?

    public init(netns: String = "host", stalledAfter: Double = Thresholds().stalledAfter) {
        self.netns = netns
        self.stalledAfter = stalledAfter
        self.socket = Result { () throws(SockDiagError) in try SockDiagSocket() }
    }

    /// `listeners` should carry recent peaks (a group that was full within the
    /// peak window classifies its re-sending requests as overflowed).
    /// `now`: monotonic seconds, for the stall clock.
    public func collect(listeners: [Listener], now: Double) -> DeepResult {
        let started = ContinuousClock.now
        let cpuStart = Self.threadCPU()
        let matcher = ListenerMatcher(listeners)
        var full = [Bool](repeating: false, count: matcher.groups.count)
        var groupOf: [String: Int] = [:]
        for (i, g) in matcher.groups.enumerated() { groupOf[g] = i }
        for l in listeners where l.family != .unix {
            if let g = groupOf[l.groupKey], l.isFull || l.queuePeak > l.queueMax { full[g] = true }
        }
        var stats = [ConnectionStats](repeating: ConnectionStats(), count: matcher.groups.count)
        var error: String?
        var skipped: UInt64 = 0
        let ports = matcher.ports
        if !ports.isEmpty {
            stall.begin()
            do {
                let sock = try socket.get()
                let before = sock.malformedMessages
                var seen = Set<UInt64>()
                // Past the bytecode's port limit, ask for every port and match in Swift.
                let filter = ports.count <= Int(BD_MAX_FILTER_PORTS) ? ports : []
                for family in [AF_INET, AF_INET6] {
                    try sock.dumpTCP(family: family, states: TCPStates.synRecv | TCPStates.established | TCPStates.closeWait,
                                     ports: filter) { batch in
                        for rec in batch {
                            // A dump is not a snapshot: a socket can be seen twice.
                            guard seen.insert(rec.cookie).inserted else { continue }
                            fold(rec, matcher: matcher, full: full, into: &stats, now: now)
                        }
                    }
                }
                skipped = sock.malformedMessages - before
                if skipped > 0 { error = "\(skipped) malformed netlink messages skipped; connections may be missing" }
            } catch let e {
                error = "\(e)"
            }
            stall.finish()
        }
        var result = DeepResult(status: SourceStatus(name: "connections", up: true, durationSeconds: 0),
                                cpuSeconds: 0, trackingDropped: stall.dropped)
        var halfOpen: [String: Int] = [:]
        for (i, g) in matcher.groups.enumerated() {
            result.stats[g] = stats[i]
            let h = stats[i].syn(.halfOpen).count
            halfOpen[g] = h
            result.halfOpenGrowth[g] = h - (previousHalfOpen[g] ?? 0)
        }
        if error == nil { previousHalfOpen = halfOpen }
        if error != nil { errorsTotal += 1 } else { lastSuccess = WallClock.now() }
        result.status = SourceStatus(
            name: "connections", up: error == nil, error: error,
            durationSeconds: (ContinuousClock.now - started).seconds, skipped: skipped,
            errorsTotal: errorsTotal, lastSuccess: lastSuccess)
        result.cpuSeconds = Self.threadCPU() - cpuStart
        return result
    }

    private func fold(_ rec: bd_tcp_record, matcher: ListenerMatcher, full: [Bool], into stats: inout [ConnectionStats], now: Double) {
        let g: Int? = withUnsafeBytes(of: rec.local_addr) { matcher.match(family: Int32(rec.family), address: $0, port: rec.local_port) }
        guard let g else { return }
        // Full sockets: the time since the peer last sent anything (tcp_info, same dump).
        let quiet = rec.has_info != 0 ? Double(min(rec.tcpi_last_data_recv, rec.tcpi_last_ack_recv)) / 1000 : 0
        switch rec.state {
        case UInt8(BD_TCP_SYN_RECV):
            let kind = SynRecvClassifier.kind(retrans: rec.retrans, expiresMs: rec.expires_ms, listenerFull: full[g])
            stats[g].synRecv[kind, default: AgedCount()].add(ageSeconds: SynRecvClassifier.ageSeconds(retrans: rec.retrans, expiresMs: rec.expires_ms))
        case _ where rec.inode == 0:
            // Still in the accept queue. A CLOSE_WAIT child's rqueue counts the client's FIN as a byte.
            stats[g].unaccepted.add(ageSeconds: quiet)
            let fin: UInt32 = rec.state == UInt8(BD_TCP_CLOSE_WAIT) ? 1 : 0
            stats[g].unacceptedBytes += UInt64(rec.rqueue > fin ? rec.rqueue - fin : 0)
        case UInt8(BD_TCP_CLOSE_WAIT):
            stats[g].closeWait.add(ageSeconds: quiet)
        default:
            guard rec.rqueue > 0 else { return }
            let age = stall.observe(cookie: rec.cookie, rqueue: rec.rqueue, lastDataRecvMs: rec.has_info != 0 ? rec.tcpi_last_data_recv : 0, now: now)
            if age >= stalledAfter { stats[g].stalled.add(ageSeconds: age) }
        }
    }

    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
