import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--web.config.file` (exporter-toolkit's format) with real clients: basic auth on
/// every path, the file's headers, the same answers as Debian's node_exporter for
/// the same file, a flood of wrong passwords, reloads, and a real Prometheus.
@Suite struct WebConfigTests {
    /// A bcrypt hash made by htpasswd (apache2-utils), as operators make them.
    static func bcrypt(_ password: String) throws -> String {
        try run(["htpasswd", "-bnBC", "10", "", password]).stdout.trimmingCharacters(in: CharacterSet(charactersIn: ":\n"))
    }

    static func webConfig(users: [String: String], extra: String = "") throws -> String {
        let path = temporaryPath("web.yml")
        let lines = users.map { "  \($0.key): \"\($0.value)\"" }.sorted().joined(separator: "\n")
        try "basic_auth_users:\n\(lines)\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n\(extra)"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func basic(_ user: String, _ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    /// A daemon in a namespace of its own whose web config has user `prom`, password `s3cret`.
    func withGuardedDaemon(_ body: (NetNamespace, BackgroundProcess, String) throws -> Void) throws {
        let file = try Self.webConfig(users: ["prom": try Self.bcrypt("s3cret")])
        defer { unlink(file) }
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--web.config.file", file], ready: Self.basic("prom", "s3cret"))
            defer { daemon.stop() }
            try body(ns, daemon, file)
        }
    }

    /// `rate_limit` per client address: a client that floods gets 429 from its own bucket
    /// while another address's requests go on (one bucket for the whole endpoint, as
    /// exporter-toolkit has, gave the scraper the flood's 429s). Refilled one per 10 minutes:
    /// nothing comes back during the test however slow the machine.
    @Test func theRateLimitIsPerClientAddress() throws {
        let file = temporaryPath("web.yml")
        try "rate_limit:\n  interval: 10m\n  burst: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        try withNamespace { ns in
            // Its readiness checks come from 127.0.0.1: the clients below use other addresses.
            let daemon = try startDaemon(in: ns, ["--web.config.file", file])
            defer { daemon.stop() }
            func status(from address: String) throws -> Int {
                try Curl.get(ns, "/healthz", ["--interface", address], scheme: "http").status
            }
            #expect(try (0..<5).map { _ in try status(from: "127.0.0.2") } == [200, 200, 200, 429, 429], "the flooding client")
            #expect(try (0..<3).map { _ in try status(from: "127.0.0.3") } == [200, 200, 200], "the scraper: its own whole burst")
            #expect(try status(from: "127.0.0.2") == 429, "the flood's bucket is still empty")
        }
    }

    @Test func basicAuthGuardsEveryPathAsNodeExporterDoes() throws {
        try withGuardedDaemon { ns, _, file in
            for path in ["/metrics", "/healthz", "/probe?port=1", "/snapshot", "/"] {
                let none = try scrape(ns, path)
                #expect(none.status == 401 && none.headers["www-authenticate"]?.hasPrefix("Basic") == true, "\(path): \(none.status)")
                #expect(none.headers["x-content-type-options"] == "nosniff")
                #expect(try scrape(ns, path, headers: Self.basic("prom", "wrong")).status == 401, "\(path)")
                #expect(try scrape(ns, path, headers: Self.basic("nobody", "s3cret")).status == 401, "\(path)")
                let ok = try scrape(ns, path, headers: Self.basic("prom", "s3cret"))
                #expect([200, 404].contains(ok.status) && ok.headers["x-content-type-options"] == "nosniff", "\(path): \(ok.status)")
            }
            // After a success, a wrong password for the same user is still refused (the cache holds the password's hash).
            #expect(try scrape(ns, "/healthz", headers: Self.basic("prom", "s3cret2")).status == 401)
            let metrics = try scrape(ns, headers: Self.basic("prom", "s3cret")).text
            #expect((MetricsText.value(metrics, "backlogd_http_auth_failures_total", ["reason": "basic_auth"]) ?? 0) >= 16, "\(metrics.suffix(600))")

            // node_exporter with the same file answers alike.
            let exporter = try BackgroundProcess(["prometheus-node-exporter", "--web.config.file=\(file)",
                                                  "--web.listen-address=127.0.0.1:9100", "--collector.disable-defaults",
                                                  "--collector.loadavg"], in: ns)
            defer { exporter.stop() }
            try waitUntil("node_exporter to answer") {
                if let s = exporter.poll() { throw DaemonExited(status: s, log: exporter.log) }
                return (try? scrape(ns, "/metrics", port: 9100).status) == 401
            }
            for headers in [[:], Self.basic("prom", "wrong"), Self.basic("nobody", "s3cret"), Self.basic("prom", "s3cret")] {
                let theirs = try scrape(ns, "/metrics", port: 9100, headers: headers)
                let ours = try scrape(ns, "/metrics", headers: headers)
                #expect(ours.status == theirs.status, "\(headers): backlogd \(ours.status), node_exporter \(theirs.status)")
                #expect((ours.headers["www-authenticate"] != nil) == (theirs.headers["www-authenticate"] != nil))
            }
        }
    }

    /// 50 clients sending wrong passwords in a loop from the scraper's own address:
    /// after a failure the address is backed off (401, held up to a second) and one
    /// check at a time runs for it (the rest 503), yet the scraper, whose password
    /// was verified before, is answered throughout: a cached password is never held back.
    @Test func wrongPasswordsInALoopDoNotLockOutTheScraper() throws {
        try withGuardedDaemon { ns, daemon, _ in
            let stop = Flag()
            let attackers = DispatchGroup()
            // A thread each, all at once (a thread pool would run a few at a time).
            for i in 0..<50 {
                attackers.enter()
                Thread {
                    _ = try? ns.enter {
                        var n = 0
                        while !stop.isSet {
                            _ = try? HTTPProbe.request("127.0.0.1", 24519, path: "/metrics", headers: Self.basic("prom", "guess-\(i)-\(n)"))
                            n += 1
                        }
                    }
                    attackers.leave()
                }.start()
            }
            Thread.sleep(forTimeInterval: 1)
            var statuses: [Int] = []
            for _ in 0..<20 {
                statuses.append((try? scrape(ns, headers: Self.basic("prom", "s3cret")).status) ?? 0)
                Thread.sleep(forTimeInterval: 0.1)
            }
            stop.set()
            attackers.wait()
            #expect(statuses == Array(repeating: 200, count: 20), "\(statuses)")
            let metrics = try scrape(ns, headers: Self.basic("prom", "s3cret")).text
            #expect((MetricsText.value(metrics, "backlogd_http_auth_shed_total", [:]) ?? 0) > 0, "no request was shed")
            #expect((MetricsText.value(metrics, "backlogd_http_auth_failures_total", ["reason": "basic_auth"]) ?? 0) > 0)
            #expect(!daemon.log.contains("guess-"), "a password in the log")
        }
    }

    /// Twenty clients at 127.0.0.2 sending wrong passwords as fast as they are answered,
    /// through a restart: their address is backed off after each failure (0.5 s,
    /// doubling; answers 429 held up to a second), failed checks wait for a CPU budget of
    /// their own, and a scraper at 127.0.0.3 whose password is right gets its scrapes —
    /// right after the restart too, when its first check is a real bcrypt.
    @Test func aWrongPasswordFloodKeepsToItsBudgetAndTheScraperGetsIn() throws {
        let file = try Self.webConfig(users: ["prom": try Self.bcrypt("s3cret")])
        defer { unlink(file) }
        try withNamespace { ns in
            // Ready when it answers (401 without credentials): no check that would cache the password.
            func start() throws -> BackgroundProcess {
                try startDaemon(in: ns, ["--web.config.file", file], readyCheck: { ns in
                    (try? ns.enter { try HTTPProbe.get(24519, "/healthz").status }) == 401
                })
            }
            var daemon = try start()
            defer { daemon.stop() }
            let flood = try BackgroundProcess(["python3", "-c", """
                import http.client, threading, base64
                def client(i):
                    n = 0
                    while True:
                        n += 1
                        try:
                            c = http.client.HTTPConnection("127.0.0.1", 24519, timeout=10, source_address=("127.0.0.2", 0))
                            auth = base64.b64encode(("prom:guess-%d-%d" % (i, n)).encode()).decode()
                            c.request("GET", "/metrics", headers={"Authorization": "Basic " + auth})
                            c.getresponse().read()
                            c.close()
                        except Exception:
                            pass
                for i in range(20):
                    threading.Thread(target=client, args=(i,)).start()
                """], in: ns)
            defer { flood.stop() }
            Thread.sleep(forTimeInterval: 2)
            func scrapes(_ n: Int) throws -> [(status: Int, seconds: Double)] {
                try (0..<n).map { _ in
                    let r = try ns.exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}", "--interface", "127.0.0.3",
                                         "-m", "1", "-u", "prom:s3cret", "http://127.0.0.1:24519/metrics"], check: false)
                    let parts = r.stdout.split(separator: " ")
                    Thread.sleep(forTimeInterval: 0.5)
                    return (Int(parts.first ?? "") ?? 0, Double(parts.last ?? "") ?? 99)
                }
            }
            let cpu0 = Self.cpuSeconds(daemon.pid)
            let t0 = Date()
            let before = try scrapes(20)
            let cpu = (Self.cpuSeconds(daemon.pid) - cpu0) / Date().timeIntervalSince(t0)
            daemon.stop()
            daemon = try start()
            let after = try scrapes(20)
            func good(_ s: [(status: Int, seconds: Double)]) -> Int { s.filter { $0.status == 200 && $0.seconds <= 1 }.count }
            print("wrong-password flood: daemon CPU \(String(format: "%.1f", cpu * 100)) % of a core; scraper 200 within 1 s in \(good(before)) of 20, after a restart \(good(after)) of 20 (first: \(after[0]))")
            #expect(good(before) >= 19 && good(after) >= 19, "\(before) \(after)")
            #expect(after[0].status == 200, "the first scrape after the restart: \(after[0])")
            #expect(cpu <= 0.25, "the daemon's CPU under the flood: \(cpu)")
            let metrics = try scrape(ns, headers: Self.basic("prom", "s3cret")).text
            #expect((MetricsText.value(metrics, "backlogd_http_auth_failures_total", ["reason": "basic_auth"]) ?? 0) > 0)
        }
    }

    /// utime + stime of `pid`, in seconds.
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        guard f.count > 13, let u = Double(f[11]), let s = Double(f[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGHUP re-reads the web config: a new password works at once (on a new and on a
    /// kept-alive connection alike), the old one stops; a broken file keeps the running one.
    @Test func sighupRereadsTheWebConfig() throws {
        let file = try Self.webConfig(users: ["prom": try Self.bcrypt("first")])
        defer { unlink(file) }
        let config = temporaryPath("config")
        defer { unlink(config) }
        try "listen: [\"127.0.0.1:24519\"]\nweb:\n  config_file: \(file)\n".write(toFile: config, atomically: true, encoding: .utf8)
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--config", config], ready: Self.basic("prom", "first"))
            defer { daemon.stop() }
            let second = try Self.bcrypt("second")
            try "basic_auth_users:\n  prom: \"\(second)\"\n".write(toFile: file, atomically: true, encoding: .utf8)
            daemon.signal(SIGHUP)
            try waitUntil("the new password to work") { try scrape(ns, "/healthz", headers: Self.basic("prom", "second")).status == 200 }
            #expect(try scrape(ns, "/healthz", headers: Self.basic("prom", "first")).status == 401)
            try "basic_auth_users:\n  prom: not-a-hash\n".write(toFile: file, atomically: true, encoding: .utf8)
            daemon.signal(SIGHUP)
            try waitUntil("the reload error") { daemon.log.contains("config reload failed: the web config") }
            #expect(daemon.log.contains("\(file):2: basic_auth_users.prom: not a bcrypt hash"), "\(daemon.log)")
            #expect(try scrape(ns, "/healthz", headers: Self.basic("prom", "second")).status == 200)
        }
    }

    /// A real Prometheus scraping with `basic_auth`: up == 1.
    @Test func prometheusScrapesWithBasicAuth() throws {
        try withGuardedDaemon { ns, _, _ in
            let prometheus = try PrometheusServer(in: ns, scrapeConfig: """
                basic_auth:
                  username: prom
                  password: s3cret
                """)
            defer { prometheus.stop() }
            try prometheus.waitUntilBacklogdIsUp("Prometheus to scrape backlogd with basic auth")
        }
    }
}
