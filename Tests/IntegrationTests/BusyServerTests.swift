import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real servers that are only busy, each for 30 s under load in its own namespace:
/// connections wait for accept() for seconds, and backlogd must say accept_slow
/// (busy) — never not_accepting, never /probe 503, never the agent's `down`.
@Suite struct BusyServerTests {
    static let seconds = 30.0

    static func expectBusy(_ w: BusyWatch, _ what: String) {
        #expect(w.critical == 0 && w.probe503 == 0 && w.agentDown == 0, "\(what): \(w)")
        #expect(w.slow > 0, "\(what): accept_slow was raised: \(w)")
        print("\(what): \(w)")
    }

    /// Prefork Apache with 2 workers and 4 browser-like clients (one request, then
    /// idle until Apache's KeepAliveTimeout closes the connection): new connections
    /// wait up to 5 s for a worker.
    @Test func preforkApacheHeldByKeepAliveClients() throws {
        try withNamespace { ns in
            let apache = try ApacheServer(in: ns, port: 8080, workers: 2)
            defer { apache.stop() }
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(BusyWatch.agentPort)"])
            defer { daemon.stop() }
            let clients = try TestServers.start("keepalive", port: 8080, ["4"], in: ns)
            defer { clients.stop() }
            let w = try BusyWatch.watch(ns, seconds: Self.seconds, labels: ["port": "8080"], probe: "port=8080", agent: "8080")
            Self.expectBusy(w, "prefork apache, 2 workers, 4 keep-alive clients")
        }
    }

    /// One process whose requests each take 15 s of CPU, three clients at a time.
    @Test func aServerWhoseRequestsTakeFifteenSecondsOfCPU() throws {
        try withNamespace { ns in
            let server = try TestServers.start("cpu", port: 8080, ["15"], in: ns)
            defer { server.stop() }
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(BusyWatch.agentPort)"])
            defer { daemon.stop() }
            let clients = try TestServers.start("requests", port: 8080, ["3"], in: ns)
            defer { clients.stop() }
            let w = try BusyWatch.watch(ns, seconds: Self.seconds, labels: ["port": "8080"], probe: "port=8080", agent: "8080")
            Self.expectBusy(w, "15 s of CPU per request")
        }
    }

    /// One process reading a slow client's upload (a byte every 0.1 s for 15 s)
    /// while two more clients wait: nothing is accepted, but it reads.
    @Test func aServerReadingASlowUpload() throws {
        try withNamespace { ns in
            let server = try TestServers.start("upload", port: 8080, in: ns)
            defer { server.stop() }
            let daemon = try startDaemon(in: ns, ["--agent-listen", "127.0.0.1:\(BusyWatch.agentPort)"])
            defer { daemon.stop() }
            let slow = try TestServers.start("trickle", port: 8080, ["15"], in: ns)
            defer { slow.stop() }
            Thread.sleep(forTimeInterval: 0.5)
            let clients = try TestServers.start("requests", port: 8080, ["2"], in: ns)
            defer { clients.stop() }
            let w = try BusyWatch.watch(ns, seconds: Self.seconds, labels: ["port": "8080"], probe: "port=8080", agent: "8080")
            Self.expectBusy(w, "a slow upload")
        }
    }

    /// php-fpm with pm.max_children (2) reached behind nginx: requests of 3 s, six
    /// clients; judged on php-fpm's UNIX listener (its pending connections' inodes).
    @Test func phpFpmAtMaxChildrenBehindNginx() throws {
        try withNamespace { ns in
            let dir = temporaryPath("php")
            try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            chmod(dir, 0o755)
            try "<?php usleep(3000000); echo \"ok\\n\";\n".write(toFile: "\(dir)/slow.php", atomically: true, encoding: .utf8)
            chmod("\(dir)/slow.php", 0o644)
            let socketPath = "\(dir)/php.sock"
            try """
                [global]
                pid = \(dir)/php-fpm.pid
                error_log = \(dir)/php-fpm.log
                daemonize = no
                [www]
                user = www-data
                group = www-data
                listen = \(socketPath)
                listen.mode = 0666
                pm = static
                pm.max_children = 2

                """.write(toFile: "\(dir)/php-fpm.conf", atomically: true, encoding: .utf8)
            let fpmBinary = try #require((try? FileManager.default.contentsOfDirectory(atPath: "/usr/sbin"))?
                .filter { $0.hasPrefix("php-fpm") }.sorted().last, "php-fpm is installed (.ci/run)")
            let fpm = try BackgroundProcess(["/usr/sbin/\(fpmBinary)", "-F", "-n", "-y", "\(dir)/php-fpm.conf"], in: ns)
            defer {
                let children = TestProcesses.children(of: fpm.pid)
                fpm.stop()
                for c in children { kill(c, SIGKILL) }
            }
            try waitUntil("php-fpm's socket") { FileManager.default.fileExists(atPath: socketPath) }
            try """
                daemon off;
                master_process on;
                worker_processes 1;
                pid \(dir)/nginx.pid;
                error_log \(dir)/logs/error.log;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path \(dir)/body;
                    fastcgi_temp_path \(dir)/fastcgi;
                    proxy_temp_path \(dir)/proxy;
                    uwsgi_temp_path \(dir)/uwsgi;
                    scgi_temp_path \(dir)/scgi;
                    server {
                        listen 127.0.0.1:8080 backlog=64;
                        location / {
                            fastcgi_pass unix:\(socketPath);
                            fastcgi_read_timeout 120s;
                            fastcgi_param SCRIPT_FILENAME \(dir)/slow.php;
                            fastcgi_param REQUEST_METHOD $request_method;
                        }
                    }
                }
                """.write(toFile: "\(dir)/nginx.conf", atomically: true, encoding: .utf8)
            let nginx = try BackgroundProcess(["nginx", "-p", dir, "-c", "\(dir)/nginx.conf"], in: ns)
            defer {
                let workers = TestProcesses.children(of: nginx.pid)
                nginx.stop()
                for w in workers { kill(w, SIGKILL) }
            }
            try waitUntil("nginx and php-fpm to answer", timeout: 60) {
                if let s = nginx.poll() { throw DaemonExited(status: s, log: nginx.log) }
                return (try? ns.enter { try HTTPProbe.get(8080, "/") })?.text.contains("ok") == true
            }
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            let clients = try TestServers.start("requests", port: 8080, ["6"], in: ns)
            defer { clients.stop() }
            let w = try BusyWatch.watch(ns, seconds: Self.seconds, labels: ["family": "unix", "address": socketPath],
                                        probe: "path=\(socketPath)", agent: nil)
            Self.expectBusy(w, "php-fpm at max_children")
        }
    }
}
