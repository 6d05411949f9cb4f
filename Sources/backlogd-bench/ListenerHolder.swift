#if canImport(Glibc)
import Glibc
#endif

/// `backlogd-bench hold-listeners`: one process holding `count` listeners on
/// consecutive ports from `port`, alternately 127.0.0.1 and [::1], one in every
/// `pendingEvery` (of either family in turn) with `pending` connections nobody
/// accepts (they wait in its accept queue). It raises its own fd limit to what it holds.
enum ListenerHolder {
    static func run(port: UInt16, count: Int, pendingEvery: Int, pending: Int) -> Never {
        let pendingListeners = pendingEvery > 0 ? (count + pendingEvery - 1) / pendingEvery : 0
        raiseFileLimit(to: UInt(count + pendingListeners * pending + 64))
        var held: [Int32] = []
        held.reserveCapacity(count + pendingListeners * pending)
        var queued = 0
        for i in 0..<count {
            let p = port + UInt16(i)
            let v6 = i % 2 == 1
            held.append(v6 ? BenchSockets.listen6(port: p, backlog: 128) : BenchSockets.listen(port: p, backlog: 128))
            // One in each block of `pendingEvery`: its first in even blocks (IPv4), its second in odd ones (IPv6).
            if pendingEvery > 0 && i % pendingEvery == (i / pendingEvery) % 2 {
                for _ in 0..<pending {
                    held.append(v6 ? BenchSockets.connect6(port: p) : BenchSockets.connect(port: p))
                    queued += 1
                }
            }
        }
        // write(2): the parent waits for this line in the output file.
        let line = "ready \(count) listeners \(queued) pending\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        while true { pause() }
    }

    /// Soft and hard RLIMIT_NOFILE up to `needed` (root may raise the hard one).
    static func raiseFileLimit(to needed: UInt) {
        var l = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
        guard l.rlim_cur < needed else { return }
        l.rlim_max = max(l.rlim_max, rlim_t(needed))
        l.rlim_cur = rlim_t(needed)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) != 0 {
            Holder.fatal("setrlimit(RLIMIT_NOFILE, \(needed)): errno \(errno)")
        }
    }
}
