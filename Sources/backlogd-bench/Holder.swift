#if canImport(Glibc)
import Glibc
#endif

/// `backlogd-bench hold`: one process holding `count` established loopback
/// connections (both ends) on its own listener, plus optional stuck listeners.
/// A process may hold at most 20 000 fds here, so the benchmark starts several.
enum Holder {
    static func run(port: UInt16, count: Int, stuck: Bool) -> Never {
        let l = BenchSockets.listen(port: port, backlog: 4096)
        var held: [Int32] = []
        held.reserveCapacity(count * 2)
        var connected = 0
        while connected < count {
            let batch = min(512, count - connected)
            for _ in 0..<batch { held.append(BenchSockets.connect(port: port)) }
            var accepted = 0
            while accepted < batch {
                let fd = accept(l, nil, nil)
                if fd >= 0 {
                    held.append(fd)
                    accepted += 1
                } else if errno != EINTR {
                    fatal("accept: errno \(errno)")
                }
            }
            connected += batch
        }
        if stuck {
            // A listener nobody accepts on (queue full) and one holding silent
            // TCP_DEFER_ACCEPT clients (SYN-RECV entries).
            let full = BenchSockets.listen(port: port &+ 1, backlog: 16)
            for _ in 0..<40 { held.append(BenchSockets.connect(port: port &+ 1)) }
            let deferred = BenchSockets.listen(port: port &+ 2, backlog: 64, deferAccept: 30)
            for _ in 0..<20 { held.append(BenchSockets.connect(port: port &+ 2)) }
            held += [full, deferred]
        }
        // write(2): the parent waits for this line in the output file.
        let line = "ready \(held.count)\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
        while true { pause() }
    }

    static func fatal(_ message: String) -> Never {
        let line = "backlogd-bench hold: \(message)\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }
}
