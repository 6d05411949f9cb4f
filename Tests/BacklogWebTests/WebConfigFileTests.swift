import BacklogDaemon
import BacklogWeb
import BacklogHTTP
import Testing

/// exporter-toolkit's web-config format, read as strictly as the main config.
@Suite struct WebConfigFileTests {
    /// htpasswd -bnBC 4 "" secret
    static let hash = "$2y$04$VZcLbJsXb.UQ89xZaoENKuPM9ohhsBIUB0oX0/S.yc.Tylexwgika"

    @Test func everyKeyThisVersionServes() throws {
        let w = try WebConfigFile.parse("""
            basic_auth_users:
              prom: "\(Self.hash)"
              alice: '\(Self.hash.replacingOccurrences(of: "$2y$", with: "$2b$"))'
            http_server_config:
              http2: true
              headers:
                X-Frame-Options: deny
                X-Content-Type-Options: nosniff
                Content-Security-Policy: "default-src 'self'"
                X-XSS-Protection: ""
                Strict-Transport-Security: max-age=31536000
            rate_limit:
              interval: 100ms
              burst: 5
            """)
        #expect(w.users.keys.sorted() == ["alice", "prom"])
        #expect(w.headers == ["X-Frame-Options": "deny", "X-Content-Type-Options": "nosniff",
                              "Content-Security-Policy": "default-src 'self'", "Strict-Transport-Security": "max-age=31536000"],
                "a blank header is unset")
        #expect(w.rateLimit == WebSettings.RateLimit(interval: 0.1, burst: 5))
        #expect(try WebConfigFile.parse("") == WebSettings())
        #expect(try WebConfigFile.parse("basic_auth_users:\nhttp_server_config:\n") == WebSettings(), "empty sections")
        #expect(try WebConfigFile.parse("rate_limit:\n  interval: 0\n  burst: 3\n").rateLimit == nil, "interval 0: off")
        // As exporter-toolkit: TLS is on only once a certificate, key, client CA or client_auth_type is set.
        #expect(try WebConfigFile.parse("tls_server_config:\n  min_version: TLS13\n  cipher_suites: []\n").tls == nil)
        #expect(try WebConfigFile.parse("tls_server_config:\n  cert_file: \"\"\n  key_file:\n").tls == nil)
    }

    @Test(arguments: [
        ("basic_auth_users:\n  prom: plaintext\n", 2, "basic_auth_users.prom: not a bcrypt hash"),
        ("basic_auth_users:\n  prom: \"$1$abc$def\"\n", 2, "not a bcrypt hash"),
        ("basic_auth_user:\n  prom: x\n", 1, "basic_auth_user: unknown key"),
        ("http_server_config:\n  headers:\n    Server: x\n", 3, "this header cannot be set"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", 3, "'allow' is not one of deny, sameorigin"),
        ("http_server_config:\n  http2: maybe\n", 2, "http_server_config.http2: expected true or false"),
        ("http_server_config:\n  http3: true\n", 2, "http_server_config.http3: unknown key"),
        ("rate_limit:\n  interval: soon\n", 2, "rate_limit.interval: 'soon' is not a duration"),
        ("rate_limit:\n  burst: -1\n", 2, "rate_limit.burst: '-1' is not a whole number"),
        ("tls_server_config:\n  cert_file: /nonexistent/a.pem\n  key_file: a.key\n", 2, "tls_server_config.cert_file: /nonexistent/a.pem: cannot read: No such file"),
        ("tls_server_config:\n  key_file: a.key\n", 1, "tls_server_config: missing one of cert or cert_file"),
        ("tls_server_config:\n  cert: x\n", 1, "missing one of key or key_file"),
        ("tls_server_config:\n  cert: x\n  cert_file: y\n  key: z\n", 3, "give cert or cert_file, not both"),
        ("tls_server_config:\n  client_auth_type: Sometimes\n  cert: x\n  key: y\n", 2, "'Sometimes' is not one of NoClientCert, RequestClientCert"),
        ("tls_server_config:\n  cert: x\n  key: y\n  min_version: TLS14\n", 4, "'TLS14' is not one of TLS10, TLS11, TLS12, TLS13"),
        ("tls_server_config:\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, RC4]\n", 2, "unknown cipher suite 'RC4'"),
        ("tls_server_config:\n  curve_preferences:\n    - CurveP999\n", 2, "unknown curve 'CurveP999'"),
        ("tls_server_config:\n  curve_preferences: X25519\n", 2, "expected a list"),
        ("tls_server_config:\n  prefer_server_cipher_suites: maybe\n", 2, "expected true or false"),
        ("tls_server_config:\n  cert: x\n  key: y\n", 2, "tls_server_config.cert: no PEM certificate could be read"),
        ("tls_server_config:\n  cert: x\n  key: y\n  client_ca: z\n", 1, "a client CA is given without a client_auth_type that asks for certificates"),
        ("tls_server_config:\n  cert: x\n  key: y\n  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [a]\n", 5,
         "client_allowed_sans: needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert"),
        ("tls_server_config:\n  certfile: a.pem\n", 2, "tls_server_config.certfile: unknown key"),
        ("basic_auth_users:\n  prom: x\n  prom: y\n", 2, "duplicate key"),
    ] as [(String, Int, String)])
    func errorsNameKeyAndLine(text: String, line: Int, message: String) {
        do {
            let w = try WebConfigFile.parse(text)
            Issue.record("accepted: \(w)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.description.contains(message), "\(error)")
        }
    }
}
