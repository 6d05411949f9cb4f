import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// TLS from the web-config file (`tls_server_config`), with real clients: curl,
/// openssl s_client, node_exporter answering the same file, a real Prometheus.
/// Certificates are made in each test with openssl (TestPKI).
@Suite struct TLSTests {
    /// Writes the web config into the PKI's directory (so relative paths are tried).
    static func webConfig(_ pki: TestPKI, _ text: String) throws -> String {
        let path = "\(pki.dir)/web.yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A daemon serving TLS with `file`; ready once curl with the CA (and `ready` args) gets 200.
    func withTLSDaemon(_ file: String, _ pki: TestPKI, ready: [String] = [], extraArgs: [String] = [],
                       _ body: (NetNamespace, BackgroundProcess) throws -> Void) throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--web.config.file", file] + extraArgs, readyCheck: { ns in
                (try? Curl.get(ns, "/healthz", ["--cacert", pki.ca] + ready).status) == 200
            })
            defer { daemon.stop() }
            try body(ns, daemon)
        }
    }

    @Test func httpsWithBasicAuthRefusesPlainHTTPAndAnswersAsNodeExporter() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let hash = try WebConfigTests.bcrypt("s3cret")
        // Relative paths: taken from the web config's directory, not the daemon's working directory.
        let file = try Self.webConfig(pki, """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              min_version: TLS12
            basic_auth_users:
              prom: "\(hash)"
            """)
        try withTLSDaemon(file, pki, ready: ["-u", "prom:s3cret"]) { ns, daemon in
            let ca = ["--cacert", pki.ca]
            #expect(try Curl.get(ns, "/metrics", ca).status == 401)
            #expect(try Curl.get(ns, "/metrics", ca + ["-u", "prom:wrong"]).status == 401)
            #expect(try Curl.get(ns, "/metrics", ca + ["-u", "prom:s3cret"]).status == 200)
            #expect(try Curl.get(ns, "/probe?port=1", ca + ["-u", "prom:s3cret"]).status == 404)
            #expect(try Curl.get(ns, "/metrics", ca + ["-u", "prom:s3cret", "--tls-max", "1.2"]).status == 200)
            // Without the CA, curl does not trust the certificate.
            let untrusted = try Curl.get(ns, "/metrics", ["-u", "prom:s3cret"])
            #expect(untrusted.status == 0 && untrusted.exit == 60, "\(untrusted)")
            // Plain HTTP to the TLS port: no HTTP answer, the connection just ends; others are served.
            let plain = try Curl.get(ns, "/metrics", ["-u", "prom:s3cret"], scheme: "http")
            #expect(plain.status == 0 && plain.exit != 0, "\(plain)")
            #expect(try Curl.get(ns, "/metrics", ca + ["-u", "prom:s3cret"]).status == 200)
            let metrics = try Curl.text(ns, "/metrics", ca + ["-u", "prom:s3cret"])
            #expect((MetricsText.value(metrics, "backlogd_http_tls_handshake_failures_total", [:]) ?? 0) >= 2, "\(metrics.suffix(900))")
            #expect(MetricsText.value(metrics, "backlogd_http_auth_failures_total", ["reason": "basic_auth"]) == 2)
            #expect(daemon.poll() == nil)

            // node_exporter with the same file answers alike.
            let exporter = try BackgroundProcess(["prometheus-node-exporter", "--web.config.file=\(file)",
                                                  "--web.listen-address=127.0.0.1:9100", "--collector.disable-defaults",
                                                  "--collector.loadavg"], in: ns)
            defer { exporter.stop() }
            func theirs(_ args: [String]) throws -> Curl {
                let r = try ns.exec(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"] + args
                                    + ["https://127.0.0.1:9100/metrics"], check: false)
                return Curl(status: Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, exit: r.status, stderr: r.stderr)
            }
            try waitUntil("node_exporter to answer over TLS") {
                if let s = exporter.poll() { throw DaemonExited(status: s, log: exporter.log) }
                return (try? theirs(ca).status) == 401
            }
            for args in [ca, ca + ["-u", "prom:wrong"], ca + ["-u", "prom:s3cret"], ["-u", "prom:s3cret"], ca + ["--tls-max", "1.1"]] {
                let a = try Curl.get(ns, "/metrics", args), b = try theirs(args)
                #expect(a.status == b.status && (a.exit == 0) == (b.exit == 0), "\(args): backlogd \(a), node_exporter \(b)")
            }
        }
    }

    /// min/max_version and cipher_suites, as curl sees them.
    @Test func versionsAndCipherSuitesAreEnforced() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let only13 = try Self.webConfig(pki, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n")
        try withTLSDaemon(only13, pki) { ns, _ in
            let ca = ["--cacert", pki.ca]
            let old = try Curl.get(ns, "/healthz", ca + ["--tls-max", "1.2"])
            #expect(old.status == 0 && old.exit == 35, "a TLS 1.2 client: \(old)")
            #expect(try Curl.get(ns, "/healthz", ca + ["--tlsv1.3"]).status == 200)
        }
        let only12 = try Self.webConfig(pki, """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              max_version: TLS12
              cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
              curve_preferences: [X25519]
              prefer_server_cipher_suites: true
            """)
        try withTLSDaemon(only12, pki) { ns, _ throws in
            let ca = ["--cacert", pki.ca]
            #expect(try Curl.get(ns, "/healthz", ca + ["--tlsv1.3"]).exit == 35, "TLS 1.3 is above max_version")
            #expect(try Curl.get(ns, "/healthz", ca + ["--ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"]).status == 200)
            #expect(try Curl.get(ns, "/healthz", ca + ["--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"]).exit == 35, "a suite not listed")
            // (The certificate's own curve, P-256, must be offered too under TLS 1.2.)
            #expect(try Curl.get(ns, "/healthz", ca + ["--curves", "X25519:P-256"]).status == 200)
            #expect(try Curl.get(ns, "/healthz", ca + ["--curves", "P-256"]).exit == 35, "no curve in common for the key exchange")
        }
    }

    /// Each client_auth_type with no certificate, the right one, one from another CA,
    /// an expired one; client_allowed_sans; inline cert/key/client_ca.
    @Test func clientCertificatePoliciesAsGoDefinesThem() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let ca = ["--cacert", pki.ca]
        let none: [String] = []
        let right = ["--cert", pki.client.cert, "--key", pki.client.key]
        let wrong = ["--cert", pki.wrongCA.cert, "--key", pki.wrongCA.key]
        let expired = ["--cert", pki.expired.cert, "--key", pki.expired.key]
        // (policy, accepted with: none, right, wrong CA, expired)
        let cases: [(String, [Bool])] = [
            ("NoClientCert", [true, true, true, true]),
            ("RequestClientCert", [true, true, true, true]),
            ("RequireAnyClientCert", [false, true, true, true]),
            ("VerifyClientCertIfGiven", [true, true, false, false]),
            ("RequireAndVerifyClientCert", [false, true, false, false]),
        ]
        for (policy, accepted) in cases {
            let caLine = policy == "NoClientCert" ? "" : "  client_ca_file: \(pki.ca)\n"
            let file = try Self.webConfig(pki, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: \(policy)\n\(caLine)")
            let ready = accepted[0] ? none : right
            try withTLSDaemon(file, pki, ready: ready) { ns, _ in
                for (i, cert) in [none, right, wrong, expired].enumerated() {
                    let r = try Curl.get(ns, "/healthz", ca + cert)
                    #expect((r.status == 200) == accepted[i], "\(policy), client \(["none", "right", "wrong CA", "expired"][i]): \(r)")
                }
                let metrics = try Curl.text(ns, "/metrics", ca + right)
                let refused = accepted.filter { !$0 }.count
                #expect(MetricsText.value(metrics, "backlogd_http_auth_failures_total", ["reason": "client_cert"]).map(Int.init) == refused,
                        "\(policy): \(metrics.suffix(900))")
            }
        }
        // SANs, with the certificates inline.
        func inline(_ path: String) throws -> String {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        }
        for (sans, ok) in [("[scraper.test]", true), ("[\"spiffe://test/scraper\"]", true), ("[other.test, 127.0.0.1]", false)] {
            let file = try Self.webConfig(pki, """
                tls_server_config:
                  cert: |
                \(try inline(pki.serverCert))
                  key: |
                \(try inline(pki.serverKey))
                  client_ca: |
                \(try inline(pki.ca))
                  client_auth_type: RequireAndVerifyClientCert
                  client_allowed_sans: \(sans)
                """)
            try withNamespace { ns in
                let daemon = try startDaemon(in: ns, ["--web.config.file", file], readyCheck: { ns in
                    // Ready when the port answers TLS at all (a refused certificate is an answer too).
                    // (curl's 7: nothing listens yet.)
                    (try? Curl.get(ns, "/healthz", ca + right)).map { $0.exit != 7 } ?? false
                })
                defer { daemon.stop() }
                let r = try Curl.get(ns, "/healthz", ca + right)
                #expect((r.status == 200) == ok, "client_allowed_sans \(sans): \(r)")
                #expect(try Curl.get(ns, "/healthz", ca + wrong).status == 0)
            }
        }
    }

    /// SIGHUP re-reads the certificate files: new connections get the new certificate
    /// (openssl s_client sees its serial); a broken file keeps the one in force.
    @Test func sighupRotatesTheCertificate() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let file = try Self.webConfig(pki, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
        try withTLSDaemon(file, pki) { ns, daemon in
            func servedSerial() throws -> String {
                let r = try ns.exec(["sh", "-c", "openssl s_client -connect 127.0.0.1:24519 -CAfile \(pki.ca) </dev/null 2>/dev/null | openssl x509 -noout -serial"], check: false)
                return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(try servedSerial() == "serial=1001")
            // A new key and certificate, as a renewal writes them.
            try pki.issue("server", serial: "0x1002", ext: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth")
            daemon.signal(SIGHUP)
            try waitUntil("the renewed certificate to be served") { try servedSerial() == "serial=1002" }
            #expect(try Curl.get(ns, "/healthz", ["--cacert", pki.ca]).status == 200)
            // A key that does not belong to the certificate: refused, the running one stays.
            try pki.newKey("server")
            daemon.signal(SIGHUP)
            try waitUntil("the reload error") { daemon.log.contains("config reload failed: the web config") }
            #expect(daemon.log.contains("web.yml:3: tls_server_config.key_file: the private key does not belong to the certificate"), "\(daemon.log.suffix(800))")
            #expect(try servedSerial() == "serial=1002")
            #expect(try Curl.get(ns, "/healthz", ["--cacert", pki.ca]).status == 200)
        }
    }

    /// A ClientHello trickled byte by byte and 1000 connections that never finish a
    /// handshake, with wrong passwords sent over TLS beside them: each handshake
    /// gets http.read_timeout from the accept, and the scraper is answered throughout.
    @Test func hostileTLSClientsDoNotLockOutTheScraper() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let hash = try WebConfigTests.bcrypt("s3cret")
        let file = try Self.webConfig(pki, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prom: \"\(hash)\"\n")
        let config = "\(pki.dir)/config.yaml"
        try "listen: [\"127.0.0.1:24519\"]\nhttp:\n  read_timeout: 2s\nweb:\n  config_file: \(file)\n".write(toFile: config, atomically: true, encoding: .utf8)
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--config", config], readyCheck: { ns in
                (try? Curl.get(ns, "/healthz", ["--cacert", pki.ca, "-u", "prom:s3cret"]).status) == 200
            })
            defer { daemon.stop() }
            // The trickler: a TLS record header and then one byte every 100 ms, never a whole ClientHello.
            let trickleClosedAfter = try ns.enter { () -> Double? in
                var (family, ss, len) = TestSockets.socketAddress("127.0.0.1", 24519)
                let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                defer { close(fd) }
                let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
                guard fd >= 0, rc == 0 else { throw POSIXFailure("connect") }
                let start = Date()
                let bytes: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array(repeating: 0x41, count: 500)
                for b in bytes {
                    var one = b
                    if send(fd, &one, 1, Int32(MSG_NOSIGNAL)) != 1 { return Date().timeIntervalSince(start) }
                    usleep(100_000)
                    if Date().timeIntervalSince(start) > 30 { return nil }
                }
                return nil
            }
            #expect(trickleClosedAfter != nil, "the trickled handshake was never cut off")
            let flood = IdleFlood(in: ns, port: 24519, count: 1000)
            flood.start()
            defer { flood.stop() }
            // Five clients sending wrong passwords over TLS in a loop, each curl waited for (none outlives the test).
            let stop = Flag()
            let guessers = DispatchGroup()
            for i in 0..<5 {
                guessers.enter()
                Thread {
                    var n = 0
                    while !stop.isSet {
                        _ = try? Curl.get(ns, "/metrics", ["--cacert", pki.ca, "-u", "prom:guess\(i)-\(n)"])
                        n += 1
                    }
                    guessers.leave()
                }.start()
            }
            defer {
                stop.set()
                guessers.wait()
            }
            Thread.sleep(forTimeInterval: 1)
            var statuses: [Int] = []
            for _ in 0..<10 {
                statuses.append(try Curl.get(ns, "/metrics", ["--cacert", pki.ca, "-u", "prom:s3cret"]).status)
                Thread.sleep(forTimeInterval: 0.3)
            }
            #expect(statuses == Array(repeating: 200, count: 10), "\(statuses)")
            try waitUntil("the idle handshakes to be cut off at read_timeout") { flood.reopened >= 500 }
            #expect(flood.error == nil, "\(flood.error ?? "")")
            let metrics = try Curl.text(ns, "/metrics", ["--cacert", pki.ca, "-u", "prom:s3cret"])
            #expect((MetricsText.value(metrics, "backlogd_http_tls_handshake_failures_total", [:]) ?? 0) >= 500)
            #expect(!daemon.log.contains("guess"), "a password in the log")
        }
    }

    /// A real Prometheus scraping over `scheme: https` with the CA and basic auth: up == 1.
    @Test func prometheusScrapesOverHTTPSWithBasicAuth() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let hash = try WebConfigTests.bcrypt("s3cret")
        let file = try Self.webConfig(pki, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prom: \"\(hash)\"\n")
        try withTLSDaemon(file, pki, ready: ["-u", "prom:s3cret"]) { ns, _ in
            let prometheus = try PrometheusServer(in: ns, scrapeConfig: """
                scheme: https
                tls_config:
                  ca_file: \(pki.ca)
                basic_auth:
                  username: prom
                  password: s3cret
                """)
            defer { prometheus.stop() }
            try prometheus.waitUntilBacklogdIsUp("Prometheus to scrape backlogd over https")
        }
    }
}
