import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real servers that hang, each its own way, in their own namespaces: backlogd
/// must call each not_accepting (hung), take it out (/probe 503, the agent's
/// `down`) and say why. Those a cause proves are judged with `--hung-after 300s`,
/// so that the finding can only have come from the evidence (stopped, traced,
/// frozen, idle), not from the hang clock; the time it took is printed.
@Suite struct HungServerTests {
    static let evidenceOnly = ["--hung-after", "300s", "--agent-listen", "127.0.0.1:\(BusyWatch.agentPort)"]

    /// Waits for not_accepting on 127.0.0.1:8080 and returns its sentence; checks that
    /// /probe and the agent take the listener out.
    static func waitForHung(_ ns: NetNamespace, since start: Date, _ what: String, timeout: Double = 30) throws -> String {
        var message = ""
        try waitUntil("not_accepting for \(what)", timeout: timeout) {
            let doc = try OnceDocument.decode(try scrape(ns, "/snapshot").text)
            message = doc.findings("not_accepting", port: 8080).first?.message ?? ""
            return !message.isEmpty
        }
        print("\(what): not_accepting \(String(format: "%.1f", Date().timeIntervalSince(start))) s after the hang: \(message)")
        let probe = try ns.enter { try HTTPProbe.get(24519, "/probe?port=8080") }
        #expect(probe.status == 503 && probe.text.hasPrefix("down: not_accepting: "), "\(probe.status) \(probe.text)")
        let agent = try ns.enter { try AgentClient.ask("8080\n", port: BusyWatch.agentPort) }
        #expect(agent.hasPrefix("down #not_accepting: 127.0.0.1:8080") && agent.utf8.count <= "down #\n".utf8.count + 100, "\(agent)")
        return message
    }

    /// A single-process Apache with clients, then `hang` applied to its process.
    /// `hostMounts`: the daemon joins only the namespace's network (nsenter), not
    /// `ip netns exec`'s private mounts, whose /sys has no cgroup hierarchy: it sees
    /// the host's /sys/fs/cgroup, as a daemon started by systemd does.
    func withBusyApache(_ args: [String] = evidenceOnly, hostMounts: Bool = false,
                        _ body: (NetNamespace, ApacheServer) throws -> Void) throws {
        try withNamespace { ns in
            let apache = try ApacheServer(in: ns, port: 8080, workers: nil)
            defer { apache.stop() }
            let daemon: BackgroundProcess
            if hostMounts {
                daemon = try BackgroundProcess(["nsenter", "--net=/run/netns/\(ns.name)", backlogdPath(),
                                                "--listen", "127.0.0.1:24519"] + args)
                do {
                    try waitUntil("backlogd to serve /healthz", timeout: 60) {
                        if let status = daemon.poll() { throw DaemonExited(status: status, log: daemon.log) }
                        return (try? ns.enter { try HTTPProbe.get(24519, "/healthz").status }) == 200
                    }
                } catch {
                    daemon.stop()
                    throw error
                }
            } else {
                daemon = try startDaemon(in: ns, args)
            }
            defer { daemon.stop() }
            let clients = try TestServers.start("requests", port: 8080, ["3"], in: ns)
            defer { clients.stop() }
            try body(ns, apache)
        }
    }

    @Test func aStoppedServer() throws {
        try withBusyApache { ns, apache in
            let start = Date()
            for p in apache.processes { kill(p, SIGSTOP) }
            let message = try Self.waitForHung(ns, since: start, "SIGSTOP")
            #expect(message.hasSuffix("— the process is stopped (SIGSTOP)"), "\(message)")
            // /snapshot (and --once's JSON) carries the evidence.
            let accepting = try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: 8080)?.accepting
            #expect(accepting?.hung == "stopped" && (accepting?.waiting ?? 0) > 0 && accepting?.progressed == false, "\(String(describing: accepting))")
            #expect(accepting?.threads == "its only thread is stopped (SIGSTOP)", "\(String(describing: accepting))")
            // --once sees it within its one-second window: two looks, stopped at both.
            let once = try ns.exec([backlogdPath(), "--once", "--window", "1s", "--include-port", "8080"], check: false)
            #expect(once.status == 2 && once.stdout.contains("the process is stopped (SIGSTOP)"), "\(once.stdout)")
        }
    }

    @Test func aServerWithADebuggerAttached() throws {
        try withBusyApache { ns, apache in
            let start = Date()
            // gdb attaches (the process stops, traced) and waits in a shell command.
            let gdb = try BackgroundProcess(["gdb", "-q", "-nx", "-batch", "-p", "\(apache.master.pid)", "-ex", "shell sleep 600"])
            defer { gdb.stop() }
            let message = try Self.waitForHung(ns, since: start, "gdb attached")
            #expect(message.hasSuffix("— a debugger is attached to it (traced, stopped)"), "\(message)")
        }
    }

    @Test func aServerInAFrozenCgroup() throws {
        try withBusyApache(hostMounts: true) { ns, apache in
            let mounts = CgroupMounts.host
            let name = "bd-test-\(getpid())-\(nextUniqueNumber())"
            let v2 = mounts.v2.map { "\($0)/\(name)" }
            let v1 = mounts.v1Freezer.map { "\($0)/\(name)" }
            let dir = try #require(v2 ?? v1, "a cgroup hierarchy that can freeze (v2, or v1's freezer)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            let freeze = v2 != nil ? ("\(dir)/cgroup.freeze", "1", "0") : ("\(dir)/freezer.state", "FROZEN", "THAWED")
            defer {
                try? freeze.2.write(toFile: freeze.0, atomically: false, encoding: .utf8)
                apache.stop()
                _ = try? waitUntil("the cgroup to empty") {
                    ((try? String(contentsOfFile: "\(dir)/cgroup.procs", encoding: .utf8)) ?? "").isEmpty
                }
                rmdir(dir)
            }
            for p in apache.processes { try "\(p)".write(toFile: "\(dir)/cgroup.procs", atomically: false, encoding: .utf8) }
            let start = Date()
            try freeze.1.write(toFile: freeze.0, atomically: false, encoding: .utf8)
            let message = try Self.waitForHung(ns, since: start, "cgroup frozen")
            #expect(message.hasSuffix("— its cgroup is frozen"), "\(message)")
        }
    }

    /// A TestServers `mode` that hangs once its file exists, with clients, under a daemon
    /// started with `args`; returns the not_accepting sentence.
    func hangOnCue(_ mode: String, _ args: [String], what: String, timeout: Double = 30) throws -> String {
        try withNamespace { ns in
            let hang = temporaryPath("hang")
            defer { unlink(hang) }
            let server = try TestServers.start(mode, port: 8080, [hang], in: ns)
            defer { server.stop() }
            let daemon = try startDaemon(in: ns, args)
            defer { daemon.stop() }
            let clients = try TestServers.start("requests", port: 8080, ["3"], in: ns)
            defer { clients.stop() }
            Thread.sleep(forTimeInterval: 1)
            let start = Date()
            _ = FileManager.default.createFile(atPath: hang, contents: nil)
            return try Self.waitForHung(ns, since: start, what, timeout: timeout)
        }
    }

    /// A server that stops calling accept() and does nothing else.
    @Test func aServerThatStopsCallingAccept() throws {
        let message = try hangOnCue("idle", Self.evidenceOnly, what: "idle")
        #expect(message.contains("— the process is idle and not calling accept() (no CPU, no connection open)"), "\(message)")
    }

    /// An accept loop blocked on a lock another thread holds forever, while two more
    /// threads sleep and wake each second: nothing moves; found by hung_after at the
    /// latest (default 10 s), its sentence names the lock wait.
    @Test func anAcceptLoopBlockedOnALock() throws {
        let message = try hangOnCue("lock", ["--agent-listen", "127.0.0.1:\(BusyWatch.agentPort)"], what: "blocked on a lock", timeout: 60)
        #expect(message.contains("waits on a lock (futex)") || message.contains("wait on locks (futex)"), "\(message)")
    }
}
