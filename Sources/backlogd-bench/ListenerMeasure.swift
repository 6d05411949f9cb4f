import BacklogCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The listener axis's figures, each namespace measured from inside it.
enum ListenerMeasure {
    /// The floor of one fast tick over all namespaces, in CPU seconds:
    /// Σ `backlogd-floor fast` (LISTEN dumps + UNIX listeners) + Σ `backlogd-floor
    /// netstat` / 4 (the counters are read once a second, ticks are 250 ms).
    /// Also the dumps' wall time, for comparison with figures measured that way.
    static func floor(_ w: ListenerWorkload, repeat count: Int) throws -> (dumps: Double, netstat: Double, dumpsWall: Double) {
        var dumps = 0.0, netstat = 0.0, wall = 0.0
        for ns in w.namespaces {
            let d = try floorRun(w, ns, kind: "fast", repeat: count)
            dumps += d.cpu
            wall += d.wall
            netstat += try floorRun(w, ns, kind: "netstat", repeat: count).cpu
        }
        return (dumps, netstat, wall)
    }

    /// Mean CPU seconds (third column) and wall seconds (first) of one kind,
    /// the first (cold) repetition left out.
    static func floorRun(_ w: ListenerWorkload, _ ns: String, kind: String, repeat count: Int) throws -> (cpu: Double, wall: Double) {
        let out = try w.exec(in: ns, [sibling("backlogd-floor"), kind, "\(count + 1)"])
        let rows = out.split(separator: "\n").compactMap { line -> (Double, Double)? in
            let f = line.split(separator: " ")
            guard f.count >= 3, let wall = Double(f[0]), let cpu = Double(f[2]) else { return nil }
            return (cpu, wall)
        }
        guard rows.count == count + 1 else { throw BenchError("backlogd-floor \(kind) in \(ns): \(out)") }
        let warm = rows.dropFirst()
        return (mean(warm.map(\.0)), mean(warm.map(\.1)))
    }

    /// backlogd's fast tick as the daemon runs it: a NetnsThread per namespace,
    /// every namespace's tick started at once each round, ticks 250 ms apart on
    /// the tick's clock (run back to back). Returns the mean over rounds of the
    /// ticking threads' CPU seconds summed over namespaces, the mean wall time
    /// of a round, and the listeners the last round saw.
    static func fastTick(_ w: ListenerWorkload, rounds: Int) throws -> (cpu: Double, wall: Double, listeners: Int) {
        var threads: [NetnsThread] = []
        defer { threads.forEach { $0.stop() } }
        for ns in w.namespaces { threads.append(try NetnsThread(path: "/run/netns/\(ns)", inode: nil)) }
        let probes = zip(threads, w.namespaces).map { t, ns in t.sync { FastTickProbe(netns: ns) }! }
        var cpu: [Double] = [], wall: [Double] = []
        var seen = 0
        for i in 0...rounds {
            let results = RoundResults()
            let group = DispatchGroup()
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (t, probe) in zip(threads, probes) {
                group.enter()
                let accepted = t.async {
                    let c0 = threadCPU()
                    let n = probe.tick(now: Double(i) * 0.25)
                    let c = threadCPU() - c0
                    results.add(cpu: c, listeners: n)
                    group.leave()
                }
                if !accepted { group.leave() }
            }
            group.wait()
            let t1 = DispatchTime.now().uptimeNanoseconds
            let r = results.all
            guard r.count == threads.count else { throw BenchError("a namespace thread stopped") }
            // Round 0 is cold (sockets opened, first reads): left out.
            if i > 0 {
                cpu.append(r.reduce(0) { $0 + $1.cpu })
                wall.append(Double(t1 - t0) / 1e9)
            }
            seen = r.reduce(0) { $0 + $1.listeners }
        }
        return (mean(cpu), mean(wall), seen)
    }

    /// CPU seconds of the calling thread.
    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// What one round's namespace threads hand back.
final class RoundResults: Sendable {
    private let m = Mutex<[(cpu: Double, listeners: Int)]>([])
    func add(cpu: Double, listeners: Int) { m.withLock { $0.append((cpu, listeners)) } }
    var all: [(cpu: Double, listeners: Int)] { m.withLock { $0 } }
}
