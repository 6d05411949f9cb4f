import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Signals and the systemd notify protocol, against the real daemon process.
@Suite struct DaemonLifecycleTests {
    @Test func sighupAppliesAGoodConfigAndKeepsTheOldOneOnABadFile() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag).port }
            let config = temporaryPath("config")
            defer { unlink(config) }
            try "listen: [\"127.0.0.1:24519\"]\ninterval: 100ms\n".write(toFile: config, atomically: true, encoding: .utf8)
            let daemon = try startDaemon(in: ns, ["--config", config])
            defer { daemon.stop() }
            #expect(try scrape(ns).text.contains("port=\"\(port)\""))

            // A valid change: leave the port out, and serve on a second address too.
            try "listen: [\"127.0.0.1:24519\", \"127.0.0.1:24520\"]\ninterval: 100ms\nports:\n  exclude: [\(port)]\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            daemon.signal(SIGHUP)
            try waitUntil("the reload to drop port \(port)") { !(try scrape(ns).text.contains("port=\"\(port)\"")) }
            #expect(try scrape(ns, port: 24520).status == 200)
            // Logged once the new config is applied: the collection may show it first.
            try waitUntil("the reload in the log") { daemon.log.contains("config reloaded") }

            // A broken file: logged with key and line, the running config stays.
            try "listen: [\"127.0.0.1:24519\"]\ninterval: 100ms\nports:\n  exclude: [\(port), eighty]\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            daemon.signal(SIGHUP)
            try waitUntil("the reload error in the log") { daemon.log.contains("config reload failed") }
            #expect(daemon.log.contains("\(config):4: ports.exclude: 'eighty' is not a port"), "\(daemon.log)")
            // Two collections after the failed reload: the second began after it.
            let text = try waitForCollections(2, of: "tcp", in: ns)
            #expect(!text.contains("port=\"\(port)\""), "the old exclude filter is still in force")
            #expect(try scrape(ns, port: 24520).status == 200, "the old listen addresses are still served")
            #expect(daemon.poll() == nil)
        }
    }

    /// The agent responder follows reloads: on, moved, off; an address the HTTP
    /// endpoint cannot bind leaves the agent's addresses as they were too.
    @Test func sighupStartsMovesAndStopsTheAgent() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 8, bag: bag).port }
            let config = temporaryPath("config")
            defer { unlink(config) }
            func write(_ agent: String, listen: String = "127.0.0.1:24519") throws {
                try "listen: [\"\(listen)\"]\ninterval: 100ms\nagent:\n  listen: [\(agent)]\n".write(toFile: config, atomically: true, encoding: .utf8)
            }
            func ask(_ agentPort: UInt16) -> String? { try? ns.enter { try AgentClient.ask("\(port)\n", port: agentPort) } }
            try write("")
            let daemon = try startDaemon(in: ns, ["--config", config])
            defer { daemon.stop() }
            #expect(ask(24530) == nil)
            try write("\"127.0.0.1:24530\"")
            daemon.signal(SIGHUP)
            try waitUntil("the agent to answer on 24530") { ask(24530) == "100% up\n" }
            try write("\"127.0.0.1:24531\"")
            daemon.signal(SIGHUP)
            try waitUntil("the agent to move to 24531") { ask(24531) == "100% up\n" && ask(24530) == nil }
            // The HTTP endpoint's new address is taken by a listener of the test: the whole reload fails.
            let taken = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: bag).port }
            try write("\"127.0.0.1:24532\"", listen: "127.0.0.1:\(taken)")
            daemon.signal(SIGHUP)
            try waitUntil("the reload error in the log") { daemon.log.contains("config reload failed: cannot listen;") }
            #expect(ask(24531) == "100% up\n" && ask(24532) == nil, "the agent keeps its addresses")
            try write("")
            daemon.signal(SIGHUP)
            try waitUntil("the agent to stop") { ask(24531) == nil }
            #expect(!(try scrape(ns).text.contains("backlogd_agent_")))
            #expect(daemon.poll() == nil)
        }
    }

    /// A FIFO put in the config's place used to hold the reload in open(2) and,
    /// behind it on the control queue, SIGTERM: the daemon could not be stopped.
    @Test func reloadFromAFifoFailsAndSigtermStillStops() throws {
        try withNamespace { ns in
            let config = temporaryPath("config")
            defer { unlink(config) }
            try "listen: [\"127.0.0.1:24519\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
            let daemon = try startDaemon(in: ns, ["--config", config])
            defer { daemon.stop() }
            let fifo = temporaryPath("fifo")
            guard mkfifo(fifo, 0o600) == 0 else { throw POSIXFailure("mkfifo \(fifo)") }
            #expect(rename(fifo, config) == 0)
            daemon.signal(SIGHUP)
            try waitUntil("the reload error in the log") { daemon.log.contains("config reload failed") || daemon.poll() != nil }
            #expect(daemon.log.contains("\(config): not a regular file (fifo)"), "\(daemon.log)")
            #expect(try scrape(ns, "/healthz").status == 200, "the running config stays in force")
            daemon.signal(SIGTERM)
            #expect(try daemon.wait(timeout: 20) == 0, "\(daemon.log)")
        }
    }

    /// From the moment its code runs, a reload request (SIGHUP, whose default
    /// action ends a process) does not end the daemon, all through start-up: it is
    /// blocked (DaemonSignals) and taken once the daemon serves, as a reload.
    /// The daemon is held inside its config file's open(2) (a fanotify permission
    /// mark: after the first lines of run(), before its signal handlers exist) for
    /// as long as the test sends SIGHUPs; then SIGHUPs go on until it serves.
    /// (A FIFO used to hold it there; FIFOs are refused now, see ConfigCommandTests.)
    @Test func signalsDuringStartup() throws {
        try withNamespace { ns in
            let config = temporaryPath("config")
            try "# defaults\n".write(toFile: config, atomically: false, encoding: .utf8)
            defer { unlink(config) }
            let hold = try OpenHold(config)
            defer { hold.release() }
            let daemon = try BackgroundProcess([backlogdPath(), "--listen", "127.0.0.1:24519", "--config", config], in: ns)
            defer { daemon.stop() }
            try waitUntil("the daemon to open its config") { hold.heldPid != nil || daemon.poll() != nil }
            try #require(hold.heldPid == daemon.pid, "not held in its config read: \(daemon.log)")
            #expect(Self.blocksSIGHUP(daemon.pid), "SIGHUP is not blocked while the config is read")
            for _ in 0..<20 {
                daemon.signal(SIGHUP)
                usleep(5_000)
            }
            usleep(200_000)
            #expect(daemon.poll() == nil, "a SIGHUP while reading the config ended the daemon (status \(daemon.poll() ?? 0))")
            hold.release()
            // Its start (first collection first) is in this wait: as patient as startDaemon's.
            try waitUntil("it to serve, with SIGHUPs all the way", timeout: 60) {
                daemon.signal(SIGHUP)
                return daemon.poll() != nil || (try? scrape(ns, "/healthz").status) == 200
            }
            #expect(daemon.poll() == nil, "ended by SIGHUP during start-up (status \(daemon.poll() ?? 0)): \(daemon.log)")
            // The SIGHUPs held during start-up were taken as a reload once it served.
            try waitUntil("the held SIGHUP's reload") { daemon.log.contains("config reloaded") }
            daemon.signal(SIGTERM)
            #expect(try daemon.wait() == 0, "\(daemon.log)")
        }
    }

    /// SIGHUP (signal 1) in the SigBlk mask of /proc/PID/status (its main thread's).
    static func blocksSIGHUP(_ pid: pid_t) -> Bool {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").contains { line in
            line.hasPrefix("SigBlk:") && (line.split(separator: "\t").last.flatMap { UInt64($0, radix: 16) }.map { $0 & 1 == 1 } ?? false)
        }
    }

    @Test func sigtermDuringScrapesExitsZeroAndFreesThePort() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            // Scrapes keep coming from another thread while the daemon stops.
            let scraper = ScrapeLoop(ns: ns)
            scraper.start()
            try waitUntil("some scrapes to succeed") { scraper.succeeded >= 20 }
            daemon.signal(SIGTERM)
            #expect(try daemon.wait() == 0, "\(daemon.log)")
            scraper.stop()
            #expect(scraper.garbled == 0, "a scrape got a partial response")
            #expect(daemon.log.contains("stopped"))
            // The port is free: another socket can listen on it at once.
            let bag = SocketBag()
            defer { bag.closeAll() }
            #expect(try ns.enter { try TestSockets.listenTCP("127.0.0.1", port: 24519, backlog: 1, bag: bag).port } == 24519)
        }
    }

    @Test func notifyProtocolReadyWatchdogReloadingStopping() throws {
        try withNamespace { ns in
            let path = temporaryPath("notify")
            let sock = try NotifySocket(path: path)
            defer { sock.close() }
            let daemon = try startDaemon(in: ns, ["--interval", "100ms"],
                                         environment: ["NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"])
            defer { daemon.stop() }
            var messages: [String] = []
            try waitUntil("READY=1 and then 3 WATCHDOG=1") {
                messages += sock.receiveAll()
                guard let ready = messages.firstIndex(where: { $0.hasPrefix("READY=1") }) else { return false }
                return messages[ready...].filter { $0 == "WATCHDOG=1" }.count >= 3
            }
            daemon.signal(SIGHUP)
            try waitUntil("RELOADING=1 then READY=1") {
                messages += sock.receiveAll()
                guard let reloading = messages.firstIndex(where: { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }) else { return false }
                return messages[reloading...].contains { $0.hasPrefix("READY=1") }
            }
            daemon.signal(SIGTERM)
            #expect(try daemon.wait() == 0)
            messages += sock.receiveAll()
            #expect(messages.last == "STOPPING=1", "\(messages)")
        }
    }
}

/// A datagram socket standing in for systemd's NOTIFY_SOCKET.
final class NotifySocket: @unchecked Sendable {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var (sa, len) = TestSockets.unixAddress(path)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else { throw POSIXFailure("bind \(path)") }
    }

    func receiveAll() -> [String] {
        var out: [String] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return out }
            out.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}

/// Scrapes /metrics in a loop on a thread inside the namespace until stopped,
/// counting full responses and partial ones (refused connections are expected
/// once the daemon has stopped listening).
final class ScrapeLoop: @unchecked Sendable {
    let ns: NetNamespace
    private let lock = NSLock()
    private var stopped = false
    private var ok = 0
    private var bad = 0
    private let done = DispatchSemaphore(value: 0)

    init(ns: NetNamespace) { self.ns = ns }

    var succeeded: Int { lock.withLock { ok } }
    var garbled: Int { lock.withLock { bad } }

    func start() {
        Thread { [self] in
            _ = try? ns.enter { [self] in
                while !lock.withLock({ stopped }) {
                    guard let fd = try? HTTPProbe.connect("127.0.0.1", 24519) else { continue }
                    defer { Glibc.close(fd) }
                    guard (try? HTTPProbe.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")) != nil else { continue }
                    if let r = try? HTTPProbe.readResponse(fd) {
                        let complete = r.status == 200 && r.body.count == Int(r.headers["content-length"] ?? "")
                            && r.text.hasSuffix("\n")
                        lock.withLock { if complete { ok += 1 } else { bad += 1 } }
                    }
                }
            }
            done.signal()
        }.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        done.wait()
    }
}
