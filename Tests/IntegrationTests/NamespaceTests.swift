import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Every network namespace on the host: named ones, one that only a process is
/// in, one with nothing in it; each with numbers of its own, checked against
/// `ss` run inside it; all released when they go away.
@Suite struct NamespaceTests {
    /// (address, port) -> (Recv-Q, Send-Q) of `ss -ltnH` output.
    static func ssQueues(_ text: String) -> [String: [UInt32]] {
        var out: [String: [UInt32]] = [:]
        for l in SSOracle.parseTCP(text.split(separator: "\n").map { $0 + " ino:0" }.joined(separator: "\n")) {
            out["\(l.address):\(l.port ?? 0)"] = [l.recvQ, l.sendQ]
        }
        return out
    }

    /// Same from the metrics of one netns.
    static func metricQueues(_ text: String, netns: String) -> [String: [UInt32]] {
        var out: [String: [UInt32]] = [:]
        for (series, v) in MetricsText.samples(text, "backlogd_listen_queue_length", ["netns": netns]) {
            let address = label(series, "address"), port = label(series, "port")
            let max = MetricsText.value(text, "backlogd_listen_queue_max", ["netns": netns, "address": address, "port": port]) ?? -1
            out["\(address):\(port)"] = [UInt32(v), UInt32(max)]
        }
        return out
    }

    static func label(_ series: String, _ name: String) -> String {
        guard let r = series.range(of: "\(name)=\"") else { return "" }
        return String(series[r.upperBound...].prefix { $0 != "\"" })
    }

    static func netnsInfo(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for series in MetricsText.samples(text, "backlogd_netns_info").keys {
            out[label(series, "netns")] = label(series, "pid")
        }
        return out
    }

    @Test func thirtyNamespacesWatchedThenReleased() throws {
        try withNamespace { home in
            let bag = SocketBag()
            defer { bag.closeAll() }
            var named: [NetNamespace] = []
            defer { named.forEach { $0.remove() } }
            let tag = "w"
            let pattern = "bd-test-\(getpid())-*\(tag)"
            let config = temporaryPath("netns") + ".yaml"
            defer { unlink(config) }
            func writeConfig(_ patterns: [String]) throws {
                try "namespaces:\n  all: true\n  include: [\(patterns.map { "\"\($0)\"" }.joined(separator: ", "))]\nlisten: [\"127.0.0.1:24519\"]\n"
                    .write(toFile: config, atomically: true, encoding: .utf8)
            }
            try writeConfig([pattern])
            // Discovery runs on the deep tick: unbudgeted here, so that the 20 namespaces' early looks
            // (their queues hold connections from the start) do not pace it to tens of seconds.
            let daemon = try startDaemon(in: home, ["--config", config, "--interval", "100ms", "--deep-min-interval", "200ms",
                                                    "--deep-cpu-budget", "1"])
            defer { daemon.stop() }
            // Only its own namespace so far, and a deep tick (discovery) done: that is the fd baseline.
            try waitUntil("the daemon to watch only host, after a deep tick") {
                let text = try scrape(home).text
                return Self.netnsInfo(text).keys.sorted() == ["host"] && collectedAt(text, source: "connections") != nil
            }
            let baseline = daemon.openFilesAtRest()

            // 28 named namespaces with listeners, one named with nothing in it,
            // and one that only a process is in (no name).
            for _ in 0..<29 { named.append(try NetNamespace(tag: tag)) }
            let empty = named[0]
            let clamped = named[3]
            let overflowing = named[5]
            try clamped.exec(["sysctl", "-qw", "net.core.somaxconn=2"])
            for (i, ns) in named.enumerated() where i > 0 {
                try ns.enter {
                    let a = try TestSockets.listenTCP("127.0.0.1", port: UInt16(8000 + i), backlog: Int32(i % 5 + 3), bag: bag)
                    for _ in 0..<(i % 4) { _ = try TestSockets.connectTCP("127.0.0.1", port: a.port, bag: bag) }
                    if i % 3 == 0 { _ = try TestSockets.listenTCP("::1", port: UInt16(9000 + i), backlog: 7, bag: bag) }
                }
            }
            try overflowing.enter {
                let full = try TestSockets.listenTCP("127.0.0.1", port: 7000, backlog: 1, bag: bag)
                for _ in 0..<6 { _ = try TestSockets.connectTCP("127.0.0.1", port: full.port, bag: bag) }
            }
            let holder = try BackgroundProcess(["unshare", "--net", "sh", "-c", "ip link set lo up && echo up && exec sleep 600"])
            defer { holder.stop() }
            try waitUntil("the holder's namespace to be up") { holder.log.contains("up") }
            let holderInode = try #require(Self.inode("/proc/\(holder.pid)/ns/net"))
            let unnamed = "ns:\(holderInode)"
            try enterNetns(path: "/proc/\(holder.pid)/ns/net") {
                let l = try TestSockets.listenTCP("127.0.0.1", port: 8500, backlog: 4, bag: bag)
                for _ in 0..<2 { _ = try TestSockets.connectTCP("127.0.0.1", port: l.port, bag: bag) }
            }
            // The unnamed one's label is known only now: add it and reload.
            try writeConfig([pattern, unnamed])
            daemon.signal(SIGHUP)

            let expected = Set(named.map(\.name) + [unnamed, "host"])
            var text = ""
            // Thirty joins and their first ticks, and each look runs ss in 30 namespaces: slow under load.
            try waitUntil("all 30 namespaces to be watched with ss's numbers", timeout: 120) {
                text = try scrape(home).text
                guard Set(Self.netnsInfo(text).keys) == expected else { return false }
                for ns in named where Self.metricQueues(text, netns: ns.name) != Self.ssQueues(try ns.exec(["ss", "-ltnH"]).stdout) {
                    return false
                }
                let ss = try run(["nsenter", "-t", "\(holder.pid)", "-n", "ss", "-ltnH"]).stdout
                return Self.metricQueues(text, netns: unnamed) == Self.ssQueues(ss)
            }
            // Every listener once, with its namespace's label.
            var total = 0
            for ns in named { total += Self.ssQueues(try ns.exec(["ss", "-ltnH"]).stdout).count }
            let ours = MetricsText.samples(text, "backlogd_listen_queue_length").keys.filter { expected.contains(Self.label($0, "netns")) && Self.label($0, "netns") != "host" }
            #expect(ours.count == total + 1)
            #expect(Self.metricQueues(text, netns: named[1].name) == ["127.0.0.1:8001": [1, 4]])
            #expect(Self.metricQueues(text, netns: unnamed) == ["127.0.0.1:8500": [2, 4]])
            // Who is in a namespace: the holder for the unnamed one, nobody for the empty named one.
            #expect(Self.netnsInfo(text)[unnamed] == "\(holder.pid)")
            #expect(Self.netnsInfo(text)[empty.name] == "")
            #expect(Self.metricQueues(text, netns: empty.name).isEmpty)
            // Each namespace's own sysctls and counters, read on its thread.
            // Sysctls are re-read every max(10 s, 40 fast ticks) — up to 80 s when a loaded machine
            // paces the tick to 2 s: the namespace may have been seen before it was set.
            try waitUntil("somaxconn 2 in \(clamped.name)", timeout: 90) {
                text = try scrape(home).text
                return MetricsText.value(text, "backlogd_sysctl", ["netns": clamped.name, "name": "net.core.somaxconn"]) == 2
            }
            #expect(Self.metricQueues(text, netns: clamped.name)["127.0.0.1:8003"]?[1] == 2)
            let defaultMax = Double(try named[4].exec(["sysctl", "-n", "net.core.somaxconn"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(MetricsText.value(text, "backlogd_sysctl", ["netns": named[4].name, "name": "net.core.somaxconn"]) == defaultMax)
            #expect(MetricsText.value(text, "backlogd_sysctl", ["netns": empty.name, "name": "net.core.somaxconn"]) == defaultMax)
            // The counters are read every 4th paced tick: 8 s apart when 31 namespaces pace it to 2 s.
            try waitUntil("ListenOverflows in the overflowing namespace", timeout: 60) {
                text = try scrape(home).text
                return (MetricsText.value(text, "backlogd_tcp_listen_overflows_total", ["netns": overflowing.name]) ?? 0) > 0
            }
            #expect(MetricsText.value(text, "backlogd_tcp_listen_overflows_total", ["netns": named[1].name]) == 0)
            #expect(MetricsText.value(text, "backlogd_tcp_listen_overflows_total", ["netns": empty.name]) == 0)
            #expect(MetricsText.value(text, "backlogd_source_up", ["netns": empty.name, "source": "netstat"]) == 1)

            // --once sees the same namespaces, each in its own document.
            let once = try OnceDocument.decode(try home.exec([backlogdPath(), "--once", "--all-namespaces", "--format", "json", "--window", "0",
                                                               "--include-netns", pattern, "--include-netns", unnamed], check: false).stdout)
            #expect(once.netns == "host")
            let docs = once.namespaces ?? []
            #expect(Set(docs.map(\.netns)) == expected.subtracting(["host"]))
            #expect(docs.first { $0.netns == named[2].name }?.listener(port: 8002)?.queue.length == 2)
            #expect(docs.first { $0.netns == unnamed }?.netns_owner?.pid == holder.pid)
            // One owner lookup for all namespaces finds this process behind the listeners of each.
            let listenersOfOurs = docs.flatMap(\.listeners)
            #expect(listenersOfOurs.count == total + 1)
            #expect(listenersOfOurs.allSatisfy { $0.owner?.pid == getpid() }, "\(listenersOfOurs.filter { $0.owner?.pid != getpid() }.map { "\($0.netns) \($0.port ?? 0): \($0.unattributed ?? "?")" })")
            // The config's namespaces.all is the daemon's: a plain --once stays at home.
            let plain = try OnceDocument.decode(try home.exec([backlogdPath(), "--once", "--config", config, "--format", "json", "--window", "0"],
                                                              check: false).stdout)
            #expect(plain.netns == "host" && plain.namespaces == nil)
            // /snapshot has them too; the exclude filter leaves one out.
            let served = try OnceDocument.decode(try scrape(home, "/snapshot").text)
            #expect(Set((served.namespaces ?? []).map(\.netns)) == expected.subtracting(["host"]))
            let excluded = try OnceDocument.decode(try home.exec([backlogdPath(), "--once", "--all-namespaces", "--format", "json", "--window", "0",
                                                                   "--include-netns", pattern, "--exclude-netns", clamped.name], check: false).stdout)
            #expect(Set((excluded.namespaces ?? []).map(\.netns)) == Set(named.map(\.name)).subtracting([clamped.name]))
            // The series cap counts every namespace together and keeps the fullest.
            let capped = try home.exec([backlogdPath(), "--once", "--all-namespaces", "--format", "prometheus", "--window", "0",
                                        "--include-netns", pattern, "--include-netns", unnamed, "--max-listeners", "5"], check: false).stdout
            let kept = MetricsText.samples(capped, "backlogd_listen_queue_length")
            #expect(kept.count == 5)
            #expect(kept.keys.contains { Self.label($0, "netns") == overflowing.name && Self.label($0, "port") == "7000" }, "the full one is kept")
            let leftOut = MetricsText.samples(capped, "backlogd_listeners_left_out").values.reduce(0, +)
            let seen = docs.reduce(once.listeners.count) { $0 + $1.listeners.count }
            #expect(Int(leftOut) == seen - 5)
            // --netns NAME: that namespace alone.
            let one = try OnceDocument.decode(try home.exec([backlogdPath(), "--once", "--netns", clamped.name, "--format", "json", "--window", "0"], check: false).stdout)
            #expect(one.netns == clamped.name && one.namespaces == nil)
            #expect(one.listener(port: 8003)?.queue.max == 2)
            #expect(one.sysctls["net.core.somaxconn"] == 2)

            // All gone: their series go, and so do the daemon's threads' sockets.
            bag.closeAll()
            holder.stop()
            named.forEach { $0.remove() }
            named = []
            try waitUntil("the namespaces' series to disappear", timeout: 60) {
                text = try scrape(home).text
                return Self.netnsInfo(text).keys.sorted() == ["host"]
                    && MetricsText.samples(text, "backlogd_sysctl").keys.allSatisfy { Self.label($0, "netns") == "host" }
            }
            try waitUntil("the daemon's fds to return to \(baseline) (now \(daemon.openFiles))", timeout: 60) { daemon.openFiles == baseline }
        }
    }

    @Test func withoutCapSysAdminNamespacesAreReportedNotFatal() throws {
        try withNamespace { home in
            try withNamespace { other in
                let bag = SocketBag()
                defer { bag.closeAll() }
                let port = try home.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 3, bag: bag).port }
                let noAdmin = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"]
                let single = try home.exec(noAdmin + [backlogdPath(), "--once", "--netns", other.name, "--window", "0"], check: false)
                #expect(single.status == 3)
                #expect(single.stderr.contains("CAP_SYS_ADMIN"), "\(single.stderr)")
                // Our own namespace is still collected; the other is a failed source and a counter.
                let all = try home.exec(noAdmin + [backlogdPath(), "--once", "--all-namespaces", "--include-netns", other.name,
                                                   "--format", "prometheus", "--window", "0"], check: false)
                #expect(all.status == 3)
                #expect(MetricsText.value(all.stdout, "backlogd_listen_queue_length", ["netns": "host", "port": "\(port)"]) == 0)
                #expect(MetricsText.value(all.stdout, "backlogd_source_up", ["netns": other.name, "source": "netns"]) == 0)
                #expect(MetricsText.value(all.stdout, "backlogd_netns_open_failed_total", ["reason": "no_permission"]) == 1)
                // With the capability it works (the test can fail).
                let ok = try home.exec([backlogdPath(), "--once", "--netns", other.name, "--window", "0"], check: false)
                #expect(ok.status == 0, "\(ok.stderr)")
                // The daemon keeps serving its own namespace and reports the other.
                let daemon = try BackgroundProcess(noAdmin + [backlogdPath(), "--listen", "127.0.0.1:24519", "--all-namespaces",
                                                              "--include-netns", other.name, "--deep-min-interval", "200ms"], in: home)
                defer { daemon.stop() }
                // No readiness wait before: its start (first collection first) counts against this one.
                try waitUntil("the daemon to report the namespace it cannot join", timeout: 60) {
                    guard let text = try? scrape(home).text else { return false }
                    return MetricsText.value(text, "backlogd_netns_open_failed_total", ["reason": "no_permission"]) == 1
                        && MetricsText.value(text, "backlogd_source_up", ["netns": other.name, "source": "netns"]) == 0
                        && MetricsText.value(text, "backlogd_listen_queue_length", ["netns": "host", "port": "\(port)"]) == 0
                }
                #expect(daemon.poll() == nil)
            }
        }
    }

    /// As an unprivileged user (the systemd unit's situation): the unit's capabilities
    /// plus the drop-in's CAP_SYS_ADMIN watch both kinds of namespace; without
    /// CAP_SYS_PTRACE a root process's namespace is not seen (and counted);
    /// without CAP_SYS_ADMIN none can be joined.
    @Test func capabilitiesEachNamespaceFeatureNeeds() throws {
        try withNamespace { home in
            try withNamespace { other in
                let bag = SocketBag()
                defer { bag.closeAll() }
                _ = try other.enter { try TestSockets.listenTCP("127.0.0.1", port: 7101, backlog: 3, bag: bag) }
                let holder = try BackgroundProcess(["unshare", "--net", "sh", "-c", "echo up && exec sleep 600"])
                defer { holder.stop() }
                try waitUntil("the holder's namespace") { holder.log.contains("up") }
                let unnamed = "ns:\(try #require(Self.inode("/proc/\(holder.pid)/ns/net")))"
                try enterNetns(path: "/proc/\(holder.pid)/ns/net") { _ = try TestSockets.listenTCP("0.0.0.0", port: 7102, backlog: 3, bag: bag) }
                func once(_ caps: [String]) throws -> (OnceDocument, String) {
                    let list = caps.map { "+" + $0 }.joined(separator: ",")
                    let r = try home.exec(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                           "--inh-caps=-all" + (caps.isEmpty ? "" : "," + list)] + (caps.isEmpty ? [] : ["--ambient-caps=" + list])
                                          + [backlogdPath(), "--once", "--all-namespaces", "--include-netns", other.name,
                                             "--include-netns", unnamed, "--format", "json", "--window", "0"], check: false)
                    return (try OnceDocument.decode(r.stdout), r.stderr)
                }
                func joined(_ doc: OnceDocument, _ label: String) -> Bool? {
                    (doc.namespaces ?? []).first { $0.netns == label }.map { d in d.sources.allSatisfy(\.up) }
                }
                let all = ["dac_read_search", "sys_ptrace", "sys_admin"]
                let (granted, err) = try once(all)
                #expect(joined(granted, other.name) == true, "\(err)")
                #expect(joined(granted, unnamed) == true, "\(err)")
                #expect(granted.namespaces?.first { $0.netns == unnamed }?.listener(port: 7102) != nil)
                let (noPtrace, _) = try once(["dac_read_search", "sys_admin"])
                #expect(joined(noPtrace, other.name) == true)
                #expect(joined(noPtrace, unnamed) == nil, "a root process's namespace is not visible without CAP_SYS_PTRACE")
                let (noAdmin, _) = try once(["dac_read_search", "sys_ptrace"])
                #expect(joined(noAdmin, other.name) == false)
                #expect(joined(noAdmin, unnamed) == false)
                #expect(noAdmin.netns == "host" && noAdmin.sources.allSatisfy(\.up), "its own namespace is still collected")
                // The processes it could not look into are counted.
                let text = try home.exec(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                          backlogdPath(), "--once", "--all-namespaces", "--include-netns", unnamed,
                                          "--format", "prometheus", "--window", "0"], check: false).stdout
                #expect((MetricsText.value(text, "backlogd_netns_unreadable_processes", [:]) ?? 0) >= 1)
            }
        }
    }

    static func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }
}
