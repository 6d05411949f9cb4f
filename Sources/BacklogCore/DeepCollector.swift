#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag

/// What one deep dump found, per listener group (Listener.groupKey).
public struct DeepResult: Sendable {
    public var stats: [GroupKey: ConnectionStats] = [:]
    /// Groups whose half-open request sockets grew (now minus the fewest seen over
    /// the window), held for the window after they last grew; the growth.
    public var halfOpenGrowth: [GroupKey: Int] = [:]
    /// Per group: did any connection that waited in the accept queue at the
    /// previous look leave it (accepted, or gone)? Missing when there was no
    /// previous look with waiting connections.
    public var acceptProgress: [GroupKey: Bool] = [:]
    /// Per group, as acceptProgress, but only what accept() did: a connection waiting
    /// at the previous look is now seen accepted (an inode of its own), or more of
    /// them vanished than the queue's hidden part grew. A child its client reset
    /// (HAProxy's checks close with RST) leaves the socket tables but stays in the
    /// accept queue until accept() takes it: the listener's own queue length (the
    /// LISTEN socket, in the same dump) counts it while the dump no longer shows it.
    public var acceptedSeen: [GroupKey: Bool] = [:]
    /// Per group with connections waiting at this look and the previous: whether the
    /// application read or wrote on an accepted connection seen at both (received −
    /// unread, acked + unacked: bytes the peer sends to a hung process do not count).
    public var bytesMoved: [GroupKey: Bool] = [:]
    /// Accepted connections open (ESTABLISHED or CLOSE_WAIT, accepted) per group.
    public var acceptedOpen: [GroupKey: Int] = [:]
    public var status: SourceStatus
    /// CPU time (user + system, this thread) the dump took, summed over its
    /// stretches between pauses: the kernel's work filling the dump runs in our
    /// recv() calls, so it is included; what ran in the pauses is not.
    public var cpuSeconds: Double
    /// Connections the stall tracker could not remember (it was full), since start.
    public var trackingDropped: UInt64
    /// Accepted connections with unread bytes (the stall tracker watches them).
    public var acceptedUnread = 0

    /// Nothing found that time can change without a segment arriving: no request
    /// socket, no child in an accept queue, no CLOSE_WAIT, no unread bytes. While the
    /// namespace receives nothing and the listeners stay as they were, a new look
    /// would find the same (NamespaceCollector.deepTick).
    public var isQuiet: Bool {
        status.up && acceptedUnread == 0 && halfOpenGrowth.isEmpty && stats.values.allSatisfy { $0 == ConnectionStats() }
    }
}

/// The deep tick: one inet_diag dump (both families in one walk) of SYN-RECV, ESTABLISHED and
/// CLOSE_WAIT sockets, filtered in the kernel to the ports that listen, folded
/// into per-listener ConnectionStats. Memory is per listener plus the bounded
/// stall tracker. Owns its netlink socket; owned and run by the namespace's actor
/// (NamespaceCollector, hence the isolated parameter), pausing between batches so
/// that the actor's fast ticks go on meanwhile.
public final class DeepCollector {
    /// Batches (256 records each) between pauses: a few milliseconds of work.
    static let yieldEvery = 16
    public let netns: String
    public var thresholds: Thresholds
    /// How long "growing" looks back and a half-open alarm is held (the peak window).
    public var window: Double
    private let socket: Result<SockDiagSocket, SockDiagError>
    private var stall = StallTracker()
    private var requests = RequestTracker()
    private var halfOpenSeen: [GroupKey: [(time: Double, count: Int)]] = [:]
    private var halfOpenAlarm: [GroupKey: (until: Double, growth: Int)] = [:]
    private var previousUnaccepted: [GroupKey: Set<UInt64>] = [:]
    /// Bytes the application moved, per accepted connection, of groups with connections waiting.
    private var previousIO: [GroupKey: [UInt64: UInt64]] = [:]
    /// Children in each group's accept queue that the dump does not show (reset by their clients), at the last look.
    private var previousHidden: [GroupKey: Int] = [:]
    /// UNIX listeners' pending queues at the last look: the oldest's inode and since when it was seen there.
    private var unixHeads: [UInt32: (head: UInt32, since: Double, count: UInt32, at: Double)] = [:]
    private var lastGood: DeepResult?
    private var lastCount = 0
    /// Accepted connections with unread bytes in the dump in progress.
    private var unreadSeen = 0
    /// Kept between dumps (its storage is reused); moved out while a dump runs.
    private var cookies = CookieSet()
    /// The same for early looks at a few ports (sized for them, not for the whole table).
    private var portCookies = CookieSet()
    /// Where CookieSet.touch's result goes (so its loads are kept).
    private var cookieTouch: UInt64 = 0
    private var errorsTotal: UInt64 = 0
    private var lastSuccess: Double?

    public init(netns: String = "host", thresholds: Thresholds = Thresholds(), window: Double = 15) {
        self.netns = netns
        self.thresholds = thresholds
        self.window = window
        self.socket = Result { () throws(SockDiagError) in try SockDiagSocket() }
    }

    /// `listeners` should carry recent peaks (a group that was full within the
    /// peak window classifies its re-sending requests as overflowed).
    /// `now`: monotonic seconds, for the stall clock. `onlyPorts`: an early look at
    /// these ports alone (every listener on them, so that a specific address still
    /// wins over a wildcard): its groups' numbers replace theirs in the last
    /// result, the other groups keep theirs, and the trackers forget nothing.
    public func collect(listeners all: [Listener], now: Double, onlyPorts: Set<UInt16>? = nil,
                        isolation: isolated (any Actor)? = #isolation) async -> DeepResult {
        let started = ContinuousClock.now
        var cpu = 0.0
        var sliceStart = ThreadCPU.seconds()
        let partial = onlyPorts != nil
        let listeners = onlyPorts.map { ports in all.filter { $0.port.map(ports.contains) ?? false } } ?? all
        let matcher = ListenerMatcher(listeners)
        var full = [Bool](repeating: false, count: matcher.groups.count)
        var groupOf: [GroupKey: Int] = [:]
        for (i, g) in matcher.groups.enumerated() { groupOf[g] = i }
        for l in listeners where l.family != .unix {
            if let g = groupOf[l.groupKey], l.isFull || l.queuePeak > l.queueMax { full[g] = true }
        }
        var stats = [ConnectionStats](repeating: ConnectionStats(), count: matcher.groups.count)
        var unaccepted = [Set<UInt64>](repeating: [], count: matcher.groups.count)
        // Groups whose accepted connections' bytes are remembered: those with a queue
        // now or waiting connections at the last look (a quiet listener costs nothing).
        var watched = [Bool](repeating: false, count: matcher.groups.count)
        for l in listeners where l.family != .unix && l.queueLength > 0 {
            if let g = groupOf[l.groupKey] { watched[g] = true }
        }
        for g in previousUnaccepted.keys { if let i = groupOf[g] { watched[i] = true } }
        var io = [[UInt64: UInt64]](repeating: [:], count: matcher.groups.count)
        var queued = [Int](repeating: 0, count: matcher.groups.count)
        var open = [Int](repeating: 0, count: matcher.groups.count)
        unreadSeen = 0
        var error: String?
        var skipped: UInt64 = 0
        let ports = matcher.ports
        var records = 0
        if !ports.isEmpty {
            // The dump's stretches are counted as they run (between pauses).
            cpu += ThreadCPU.seconds() - sliceStart
            if !partial {
                stall.begin()
                requests.begin()
            }
            do {
                let sock = try socket.get()
                let before = sock.malformedMessages
                var seen = CookieSet()
                if partial { swap(&seen, &portCookies) } else { swap(&seen, &cookies) }
                seen.reset(expecting: partial ? 0 : lastCount)
                defer { if partial { swap(&seen, &portCookies) } else { swap(&seen, &cookies) } }
                // Past the bytecode's port limit, ask for every port and match in Swift.
                let filter = ports.count <= Int(BD_MAX_FILTER_PORTS) ? ports : []
                try await sock.dumpTCP(family: SockDiagSocket.bothFamilies,
                                       states: TCPStates.synRecv | TCPStates.established | TCPStates.closeWait | TCPStates.listen,
                                       ports: filter, yieldEvery: Self.yieldEvery) { batch in
                    cookieTouch ^= seen.touch(batch.lazy.map(\.cookie))
                    for rec in batch {
                        // A dump is not a snapshot: a socket can be seen twice.
                        guard seen.insert(rec.cookie) else { continue }
                        fold(rec, matcher: matcher, full: full, into: &stats, unaccepted: &unaccepted,
                             watched: watched, io: &io, open: &open, queued: &queued, now: now)
                    }
                } slice: { starting in
                    let t = ThreadCPU.seconds()
                    if starting { sliceStart = t } else { cpu += t - sliceStart }
                }
                records = seen.count
                skipped = sock.malformedMessages - before
                if skipped > 0 { error = "\(skipped) malformed netlink messages skipped; connections may be missing" }
            } catch let e {
                error = "\(e)"
            }
            sliceStart = ThreadCPU.seconds()
            // A dump cut short must not make the trackers forget what it did not reach;
            // an early look reaches only its ports.
            if error == nil && !partial {
                stall.finish()
                requests.finish()
            }
        }
        if error != nil { errorsTotal += 1 } else { lastSuccess = WallClock.now() }
        let status = SourceStatus(
            name: "connections", up: error == nil, error: error,
            durationSeconds: (ContinuousClock.now - started).seconds, skipped: skipped,
            errorsTotal: errorsTotal, lastSuccess: lastSuccess)
        if error != nil {
            // Keep the last complete numbers rather than publish a partial dump.
            var kept = lastGood ?? DeepResult(status: status, cpuSeconds: 0, trackingDropped: 0)
            kept.status = status
            kept.cpuSeconds = cpu + ThreadCPU.seconds() - sliceStart
            return kept
        }
        if !partial { lastCount = records }
        // An early look amends the last result (its status is the last full look's).
        var result = partial ? (lastGood ?? DeepResult(status: status, cpuSeconds: 0, trackingDropped: 0))
                             : DeepResult(status: status, cpuSeconds: 0, trackingDropped: 0)
        result.trackingDropped = stall.dropped + requests.dropped
        result.acceptedUnread = partial ? max(result.acceptedUnread, unreadSeen) : unreadSeen
        var nextUnaccepted: [GroupKey: Set<UInt64>] = partial ? previousUnaccepted : [:]
        var nextIO: [GroupKey: [UInt64: UInt64]] = partial ? previousIO : [:]
        var nextHidden: [GroupKey: Int] = partial ? previousHidden : [:]
        for (i, g) in matcher.groups.enumerated() {
            result.stats[g] = stats[i]
            result.acceptedOpen[g] = open[i]
            // Bytes moved on a connection accepted at both looks.
            if stats[i].unaccepted.count > 0, let before = previousIO[g] {
                result.bytesMoved[g] = io[i].contains { cookie, moved in before[cookie].map { $0 != moved } ?? false }
            } else {
                result.bytesMoved[g] = nil
            }
            nextIO[g] = watched[i] && stats[i].unaccepted.count > 0 ? io[i] : nil
            // Accept progress: a connection waiting at the previous look has left the queue.
            let hidden = max(0, queued[i] - stats[i].unaccepted.count)
            nextHidden[g] = hidden
            if let before = previousUnaccepted[g], !before.isEmpty {
                result.acceptProgress[g] = !before.isSubset(of: unaccepted[i])
                let seen = before.contains { io[i][$0] != nil }
                let vanished = before.lazy.filter { !unaccepted[i].contains($0) && io[i][$0] == nil }.count
                result.acceptedSeen[g] = seen || vanished > hidden - (previousHidden[g] ?? 0)
            } else {
                result.acceptProgress[g] = nil
                result.acceptedSeen[g] = nil
            }
            nextUnaccepted[g] = unaccepted[i].isEmpty ? nil : unaccepted[i]
            // Half-open growth against the fewest seen over the window; the alarm is held for the window.
            let h = stats[i].syn(.halfOpen).count
            var history = (halfOpenSeen[g] ?? []).filter { now - $0.time <= window }
            if let least = history.map(\.count).min(), h - least > 0, h >= thresholds.halfOpenMin {
                halfOpenAlarm[g] = (now + window, h - least)
            }
            history.append((now, h))
            halfOpenSeen[g] = history
            result.halfOpenGrowth[g] = nil
            if let alarm = halfOpenAlarm[g] {
                if now <= alarm.until && h >= thresholds.halfOpenMin {
                    result.halfOpenGrowth[g] = alarm.growth
                } else {
                    halfOpenAlarm[g] = nil
                }
            }
        }
        previousUnaccepted = nextUnaccepted
        previousIO = nextIO
        previousHidden = nextHidden
        if !partial {
            let live = Set(matcher.groups)
            halfOpenSeen = halfOpenSeen.filter { live.contains($0.key) }
            halfOpenAlarm = halfOpenAlarm.filter { live.contains($0.key) }
        }
        result.cpuSeconds = cpu + ThreadCPU.seconds() - sliceStart
        lastGood = result
        return result
    }

    /// What the application has done on an accepted connection, in bytes: read
    /// (received − unread) plus written (acked + still queued to send). A peer
    /// that keeps sending to a hung process, or draining what it wrote before,
    /// leaves it unchanged. Without tcpi_bytes_received (before 4.1): unread bytes only.
    static func applicationBytes(_ rec: bd_tcp_record) -> UInt64 {
        guard rec.has_bytes_received != 0 else { return UInt64(rec.rqueue) }
        let read = rec.tcpi_bytes_received >= UInt64(rec.rqueue) ? rec.tcpi_bytes_received - UInt64(rec.rqueue) : 0
        return read &+ rec.tcpi_bytes_acked &+ UInt64(rec.wqueue)
    }

    /// UNIX listeners with connections pending (`inodes`, from the fast tick):
    /// how many wait, how long the oldest has (since it was first seen at the head
    /// of the queue) and whether the head of the last look has left it. One
    /// unix_diag dump with UDIAG_SHOW_ICONS, only when some UNIX queue holds connections.
    public func unixQueues(_ inodes: Set<UInt32>, now: Double) -> [UInt32: (waiting: Int, oldest: Double, accepted: Bool?)] {
        guard !inodes.isEmpty, let sock = try? socket.get() else {
            unixHeads = [:]
            return [:]
        }
        var seen: [UInt32: (count: UInt32, head: UInt32)] = [:]
        do {
            try sock.dumpUnix(states: TCPStates.listen, icons: true) { batch in
                for rec in batch where rec.has_icons != 0 && inodes.contains(rec.inode) {
                    seen[rec.inode] = (rec.icons_count, rec.icons_head)
                }
            }
        } catch {
            return [:]
        }
        var out: [UInt32: (waiting: Int, oldest: Double, accepted: Bool?)] = [:]
        var next: [UInt32: (head: UInt32, since: Double, count: UInt32, at: Double)] = [:]
        for (inode, q) in seen where q.count > 0 {
            let before = unixHeads[inode]
            var since = now
            var accepted: Bool?
            if let before {
                accepted = before.head != q.head
                // The queue is a FIFO: a new head was behind the old one, so queued at the last look if there were two.
                since = accepted == true ? (before.count > 1 ? before.at : now) : before.since
            }
            next[inode] = (q.head, since, q.count, now)
            out[inode] = (Int(q.count), now - since, accepted)
        }
        unixHeads = next
        return out
    }

    private func fold(_ rec: bd_tcp_record, matcher: ListenerMatcher, full: [Bool], into stats: inout [ConnectionStats],
                      unaccepted: inout [Set<UInt64>], watched: [Bool], io: inout [[UInt64: UInt64]], open: inout [Int],
                      queued: inout [Int], now: Double) {
        let g: Int? = withUnsafeBytes(of: rec.local_addr) {
            matcher.match(family: Int32(rec.family), address: $0, port: rec.local_port, interface: rec.bound_ifindex)
        }
        guard let g else { return }
        // Full sockets: the time since the peer last sent anything (tcp_info, same dump).
        let quiet = rec.has_info != 0 ? Double(min(rec.tcpi_last_data_recv, rec.tcpi_last_ack_recv)) / 1000 : 0
        switch rec.state {
        case UInt8(BD_TCP_LISTEN):
            // The listener itself (same walk): its accept queue, reset children included.
            queued[g] += Int(rec.rqueue)
        case UInt8(BD_TCP_SYN_RECV):
            let (kind, age) = requests.observe(cookie: rec.cookie, retrans: rec.retrans, expiresMs: rec.expires_ms,
                                               listenerFull: full[g], now: now)
            stats[g].synRecv[kind].add(ageSeconds: age)
        case _ where rec.inode == 0:
            // Still in the accept queue. A CLOSE_WAIT child's rqueue counts the client's FIN as a byte.
            stats[g].unaccepted.add(ageSeconds: quiet)
            unaccepted[g].insert(rec.cookie)
            let fin: UInt32 = rec.state == UInt8(BD_TCP_CLOSE_WAIT) ? 1 : 0
            stats[g].unacceptedBytes += UInt64(rec.rqueue > fin ? rec.rqueue - fin : 0)
        case UInt8(BD_TCP_CLOSE_WAIT):
            open[g] += 1
            if watched[g] { io[g][rec.cookie] = Self.applicationBytes(rec) }
            stats[g].closeWait.add(ageSeconds: quiet)
        default:
            open[g] += 1
            if watched[g] { io[g][rec.cookie] = Self.applicationBytes(rec) }
            guard rec.rqueue > 0 else { return }
            unreadSeen += 1
            let age = stall.observe(cookie: rec.cookie, rqueue: rec.rqueue,
                                    bytesReceived: rec.has_bytes_received != 0 ? rec.tcpi_bytes_received : nil,
                                    lastDataRecvMs: rec.has_info != 0 ? rec.tcpi_last_data_recv : 0, now: now)
            if age >= thresholds.stalledAfter { stats[g].stalled.add(ageSeconds: age) }
        }
    }
}
