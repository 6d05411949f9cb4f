import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// fd_limit_reached: the process holding the listener that is out of descriptors
/// (accept() fails with EMFILE, the queue fills) is named, with its numbers.
@Suite struct FdLimitTests {
    /// nginx's workers run under worker_rlimit_nofile while the master, the owner,
    /// does not: the finding names the worker.
    @Test func nginxWorkerOutOfDescriptorsIsNamed() throws {
        try withNamespace { ns in
            let port: UInt16 = 7301
            let nginx = try NginxServer(in: ns, port: port, backlog: 128, main: "worker_rlimit_nofile 64;", workerConnections: 1024)
            defer { nginx.stop() }
            let worker = try #require(nginx.workers.first)
            let bag = SocketBag()
            defer { bag.closeAll() }
            // Idle clients: nginx keeps each open (waiting for its request) until 64 fds are used.
            _ = try ns.enter { try Clients.connect(120, port: port, bag: bag) }
            try waitUntil("the worker to log EMFILE") { nginx.errorLog.contains("accept4() failed (24: Too many open files)") }
            var finding: OnceDocument.Finding?
            try waitUntil("fd_limit_reached on nginx's listener") {
                let doc = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"], check: false).stdout)
                finding = doc.findings("fd_limit_reached", port: port).first
                return finding != nil
            }
            let f = try #require(finding)
            #expect(f.severity == "critical")
            #expect(f.message.contains("pid \(worker) (nginx) has ") && f.message.contains(" of 64 file descriptors open"), "\(f.message)")
            #expect(f.message.contains("EMFILE"))
            #expect(f.listener?.owner?.pid == nginx.master.pid, "the owner is the master; the worker is the holder named")
            let text = try ns.exec([backlogdPath(), "--once", "--format", "prometheus", "--window", "0"], check: false).stdout
            #expect(MetricsText.value(text, "backlogd_owner_fd_limit", ["port": "\(port)"]) == 64)
            #expect((MetricsText.value(text, "backlogd_owner_open_fds", ["port": "\(port)"]) ?? 0) >= 62)
        }
    }

    /// A small server that accepts and never closes, under `ulimit -n 32`: the owner
    /// itself runs out, and the daemon (its deep looks re-read the numbers) says so.
    @Test func serverThatNeverClosesUnderUlimitIsNamed() throws {
        try withNamespace { ns in
            let port: UInt16 = 7302
            let server = try BackgroundProcess(["bash", "-c", """
                ulimit -n 32; exec python3 -c '
                import errno, socket, time
                l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                l.bind(("127.0.0.1", \(port))); l.listen(64); print("ready", flush=True)
                kept = []
                while True:
                    try: kept.append(l.accept()[0])
                    except OSError as e:
                        if e.errno != errno.EMFILE: raise
                        time.sleep(0.05)
                '
                """], in: ns)
            defer { server.stop() }
            try waitUntil("the server to listen") { server.log.contains("ready") }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon)
            defer { daemon.stop() }
            let bag = SocketBag()
            defer { bag.closeAll() }
            _ = try ns.enter { try Clients.connect(50, port: port, bag: bag) }
            try waitUntil("fd_limit_reached on /metrics") {
                MetricsText.value(try scrape(ns).text, "backlogd_finding", ["port": "\(port)", "kind": "fd_limit_reached", "severity": "critical"]) == 1
            }
            let doc = try OnceDocument.decode(try scrape(ns, "/snapshot").text)
            let f = try #require(doc.findings("fd_limit_reached", port: port).first)
            #expect(f.message.contains("(pid \(server.pid) python3): it has ") && f.message.contains(" of 32 file descriptors open"), "\(f.message)")
            let text = try scrape(ns).text
            #expect(MetricsText.value(text, "backlogd_owner_fd_limit", ["port": "\(port)", "process": "python3"]) == 32)
        }
    }
}
