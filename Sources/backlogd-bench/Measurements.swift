import BacklogCore
import CSockDiag
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The figures of one run, measured in the same namespace.
enum Measure {
    /// The floor: backlogd-floor's median seconds per dump set.
    static func floor(_ w: Workload, kind: String, repeat count: Int, ports: [UInt16] = []) throws -> Double {
        let out = try w.exec([sibling("backlogd-floor"), kind, "\(count)"] + ports.map(String.init))
        let times = out.split(separator: "\n").compactMap { Double($0.split(separator: " ").first ?? "") }
        guard times.count == count else { throw BenchError("backlogd-floor: \(out)") }
        return kind == "fast" ? mean(Array(times.dropFirst())) : percentile(Array(times.dropFirst()), 0.5)
    }

    /// backlogd's fast and deep ticks in this process, by the daemon's own
    /// NamespaceCollector (on a thread inside the namespace).
    /// Median seconds of each part of the fast tick: listener dumps, netstat, sysctls.
    static func fastParts(_ w: Workload, repeat count: Int) throws -> (listeners: Double, netstat: Double, sysctls: Double, tick: Double) {
        let c = try CollectorProbe(namespace: w.namespace)
        var l: [Double] = [], n: [Double] = [], s: [Double] = [], t: [Double] = []
        for i in 0...count {
            let parts = c.timeSources()
            l.append(parts.listeners)
            n.append(parts.netstat)
            s.append(parts.sysctls)
            t.append(c.tick(now: Double(i) * 0.25).cpu)
        }
        return (percentile(l, 0.5), percentile(n, 0.5), percentile(s, 0.5), percentile(t, 0.5))
    }

    static func ticks(_ w: Workload, repeat count: Int) throws -> (fast: Double, deep: Double, ports: [UInt16]) {
        let c = try CollectorProbe(namespace: w.namespace)
        var fast: [Double] = []
        var deepTimes: [Double] = []
        for i in 0...count {
            // Ticks 250 ms apart as the daemon's default: counters are read every 4th.
            // The tick's own CPU on the collector's thread (it never blocks, so that is its
            // time too), without the hop from this benchmark's thread to the actor's.
            let cpu = c.tick(now: Double(i) * 0.25).cpu
            if i > 0 { fast.append(cpu) }
        }
        for i in 0...max(3, count / 4) {
            let r = c.deepLook(now: Double(count) * 0.25 + Double(i))
            if i > 0 { deepTimes.append(r) }
        }
        let ports = Array(Set(c.listeners.compactMap(\.port))).sorted()
        // Mean, not median, for the fast tick: one tick in four also reads the counters.
        return (mean(fast), percentile(deepTimes, 0.5), ports)
    }

    /// `backlogd --once --window 0` as a whole process: median wall seconds.
    static func once(_ w: Workload, repeat count: Int) throws -> Double {
        var times: [Double] = []
        for _ in 0..<count {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let p = try w.start([sibling("backlogd"), "--once", "--window", "0", "--format", "prometheus"])
            var status: Int32 = 0
            waitpid(p.pid, &status, 0)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return percentile(times, 0.5)
    }

    /// user + system CPU seconds of a process so far.
    static func cpuSeconds(_ pid: pid_t) -> Double { statCPUSeconds("/proc/\(pid)/stat") ?? .nan }

    /// utime + stime of a /proc stat file (a process's or a thread's), in seconds.
    static func statCPUSeconds(_ path: String) -> Double? {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        guard f.count > 12 else { return nil }
        return ((Double(f[11]) ?? .nan) + (Double(f[12]) ?? .nan)) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Peak resident memory (VmHWM) in MB.
    /// CPU seconds (utime + stime) of the process's threads whose name starts with one of `prefixes`.
    static func threadCPUSeconds(_ pid: pid_t, prefixes: [String]) -> Double {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var total = 0.0
        for t in tasks {
            let comm = ((try? String(contentsOfFile: "/proc/\(pid)/task/\(t)/comm", encoding: .utf8)) ?? "")
            guard prefixes.contains(where: { comm.hasPrefix($0) }),
                  let cpu = statCPUSeconds("/proc/\(pid)/task/\(t)/stat") else { continue }
            total += cpu
        }
        return total
    }

    static func peakRSS(_ pid: pid_t) -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan) / 1024
    }

    /// The process `ip netns exec` became (it execs, so the PID is the same).
    static func inNamespace<T: Sendable>(_ namespace: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let fd = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
            let r: Result<T, any Error> = fd < 0 || bd_enter_netns(fd) != 0
                ? .failure(BenchError("setns \(namespace)")) : Result { try body() }
            if fd >= 0 { close(fd) }
            result.withLock { $0 = r }
            done.signal()
        }.start()
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
