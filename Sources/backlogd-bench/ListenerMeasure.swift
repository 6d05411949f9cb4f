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

    /// backlogd's fast tick as the daemon runs it: a NamespaceCollector (an actor on
    /// a thread that joined it) per namespace, every namespace's tick started at
    /// once each round, ticks 250 ms apart on the tick's clock (run back to back).
    /// Returns the mean over rounds of the collectors' CPU seconds summed over
    /// namespaces, the mean wall time of a round, and the listeners the last round saw.
    static func fastTick(_ w: ListenerWorkload, rounds: Int) throws -> (cpu: Double, wall: Double, listeners: Int) {
        let probes = try w.namespaces.map { try FastTickProbe(netns: $0) }
        var cpu: [Double] = [], wall: [Double] = []
        var seen = 0
        for i in 0...rounds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try BlockingWait.run {
                await withTaskGroup(of: (cpu: Double, listeners: Int).self) { group in
                    for p in probes { group.addTask { await p.tick(now: Double(i) * 0.25) } }
                    var all: [(cpu: Double, listeners: Int)] = []
                    for await x in group { all.append(x) }
                    return all
                }
            }
            let t1 = DispatchTime.now().uptimeNanoseconds
            // Round 0 is cold (sockets opened, first reads): left out.
            if i > 0 {
                cpu.append(r.reduce(0) { $0 + $1.cpu })
                wall.append(Double(t1 - t0) / 1e9)
            }
            seen = r.reduce(0) { $0 + $1.listeners }
        }
        return (mean(cpu), mean(wall), seen)
    }
}
