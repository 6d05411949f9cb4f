import BacklogExposition
import NIOCore

/// The HTTP connection counters (and the agent's, while it listens). They change
/// independently of snapshots, so they are rendered per scrape as a small block after the cached body (for
/// gzip, the end of the body's gzip member: see OpenGzip). These families
/// appear nowhere else in /metrics.
enum ConnectionMetrics {
    /// `auth`: the gate's counters while basic auth or TLS is on (their families only
    /// then); `tls`: whether TLS is served (the handshake family only then).
    static func text(_ c: ConnectionRegistry.Counts, auth: AuthCounters? = nil, tls: Bool = false, agent: [MetricFamily] = [],
                     format: ExpositionFormat = .text) -> String {
        let authFamilies = auth.map { a in [
            MetricFamily("backlogd_http_auth_failures_total", .counter,
                         help: "Requests refused for their credentials: basic_auth (a 401), client_cert (a refused TLS handshake).",
                         samples: [Sample([("reason", "basic_auth")], .uint(a.basicAuthFailures)), Sample([("reason", "client_cert")], .uint(a.clientCertificateFailures))]),
            MetricFamily("backlogd_http_auth_shed_total", .counter,
                         help: "Requests answered 503 at once because 16 password checks were already waiting.",
                         samples: [Sample([], .uint(a.shed))]),
        ] + (tls ? [
            MetricFamily("backlogd_http_tls_handshake_failures_total", .counter,
                         help: "TLS handshakes that failed or did not end within http.read_timeout of the accept (plain HTTP to the TLS port, no common version or cipher, a refused client certificate).",
                         samples: [Sample([], .uint(a.handshakeFailures))]),
        ] : []) } ?? []
        return PrometheusText.render([
            MetricFamily("backlogd_http_connections_open", .gauge,
                         help: "HTTP client connections open now.",
                         samples: [Sample([], .int(Int64(c.open)))]),
            MetricFamily("backlogd_http_connections_refused_total", .counter,
                         help: "HTTP connections closed at once because of the connection limits (http.max_connections, or the open-files limit less a reserve) with no idle connection to evict, or while stopping.",
                         samples: [Sample([], .uint(c.refused))]),
            MetricFamily("backlogd_http_connections_evicted_total", .counter,
                         help: "Idle HTTP connections closed at the connection limit to make room for a new one (the one longest without a request).",
                         samples: [Sample([], .uint(c.evicted))]),
            MetricFamily("backlogd_http_accept_backoffs_total", .counter,
                         help: "Times accepting paused because accept() failed for lack of fds or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).",
                         samples: [Sample([], .uint(c.acceptBackoffs))]),
        ] + authFamilies + agent, format: format)
    }

    /// The block as served, with the format's end (OpenMetrics' `# EOF`): plain,
    /// or the end of the cached body's gzip member.
    static func block(_ c: ConnectionRegistry.Counts, auth: AuthCounters? = nil, tls: Bool = false, agent: [MetricFamily] = [],
                      format: ExpositionFormat, closing gzip: OpenGzip?) -> ByteBuffer? {
        let text = Array(Self.text(c, auth: auth, tls: tls, agent: agent, format: format).utf8) + format.end
        guard let gzip else { return ByteBuffer(bytes: text) }
        return Gzip.close(gzip, tail: text).map { ByteBuffer(bytes: $0) }
    }
}
