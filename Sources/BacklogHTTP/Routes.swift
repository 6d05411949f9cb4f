import BacklogCore
import BacklogExposition
import NIOCore
import NIOHTTP1

/// A finished response: status, headers and body, before HEAD strips the body.
struct Reply {
    var status: HTTPResponseStatus
    var contentType: String
    /// The body as written, part after part (a /metrics body's cached chunks, not joined).
    var parts: [ByteBuffer]
    var extraHeaders: [(String, String)] = []
    /// Written piece by piece after `parts` (identity /metrics and /snapshot). When its length
    /// is not known before (/snapshot), HTTP/1.1 sends it chunked and an HTTP/1.0 response ends with the connection.
    var stream: StreamedBody?
    /// Sent after `parts` and `stream` (the per-scrape connection counters after a /metrics body).
    var tail: ByteBuffer?

    init(status: HTTPResponseStatus, contentType: String, body: ByteBuffer, extraHeaders: [(String, String)] = []) {
        self.init(status: status, contentType: contentType, parts: [body], extraHeaders: extraHeaders)
    }

    init(status: HTTPResponseStatus, contentType: String, parts: [ByteBuffer], extraHeaders: [(String, String)] = [],
         stream: StreamedBody? = nil, tail: ByteBuffer? = nil) {
        self.status = status
        self.contentType = contentType
        self.parts = parts
        self.extraHeaders = extraHeaders
        self.stream = stream
        self.tail = tail
    }

    /// Nil for a streamed body of unknown length.
    var contentLength: Int? {
        let known = parts.reduce(0) { $0 + $1.readableBytes } + (tail?.readableBytes ?? 0)
        guard let stream else { return known }
        return stream.length.map { $0 + known }
    }

    static func text(_ status: HTTPResponseStatus, _ text: String, headers: [(String, String)] = []) -> Reply {
        Reply(status: status, contentType: "text/plain; charset=utf-8", body: ByteBuffer(string: text + "\n"), extraHeaders: headers)
    }
}

/// What each path serves. Everything comes from the latest published snapshot;
/// nothing here collects.
struct Routes {
    let store: SnapshotStore
    let limits: HTTPLimits
    let connections: ConnectionRegistry
    /// Authentication and the web config's headers (their counters shown while it is on).
    let gates: GateBox

    /// The path of a request target without its query. The absolute form
    /// (`http://host:port/metrics`, as sent to a proxy) names the same path: a
    /// server must accept it (RFC 9112 §3.2.2); the Host header is not checked.
    static func path(_ uri: String) -> String {
        var target = Substring(uri)
        if let colon = target.firstIndex(of: ":"), target[colon...].hasPrefix("://"),
           target[..<colon].lowercased() == "http" || target[..<colon].lowercased() == "https" {
            let authority = target[target.index(colon, offsetBy: 3)...]
            target = authority.firstIndex { $0 == "/" || $0 == "?" }.map { authority[$0...] } ?? ""
            if !target.hasPrefix("/") { target = "/" + target }
        }
        return String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? target)
    }

    /// The query of a request target (after the first `?`), empty without one.
    static func query(_ uri: String) -> Substring {
        uri.firstIndex(of: "?").map { uri[uri.index(after: $0)...] } ?? ""
    }

    /// What a request asks for, negotiated once: its path, query, format and encoding.
    struct Asked {
        var path: String
        var query: Substring
        var format: ExpositionFormat
        var gzip: Bool

        init(uri: String, headers: HTTPHeaders) {
            path = Routes.path(uri)
            query = Routes.query(uri)
            format = AcceptFormat.negotiate(headers["Accept"])
            gzip = AcceptEncoding.acceptsGzip(headers["Accept-Encoding"])
        }
    }

    func isReady(_ served: ServedSnapshot?, uri: String, headers: HTTPHeaders) -> Bool {
        isReady(served, Asked(uri: uri, headers: headers))
    }

    func reply(_ served: ServedSnapshot?, method: HTTPMethod, uri: String, headers: HTTPHeaders) -> Reply {
        reply(served, method: method, Asked(uri: uri, headers: headers))
    }

    /// True when `reply` for this snapshot will not have to render anything (cheap enough for the event loop).
    func isReady(_ served: ServedSnapshot?, _ asked: Asked) -> Bool {
        guard let served else { return true }
        switch asked.path {
        case "/metrics":
            return asked.gzip ? served.hasMetricsGzip(asked.format) : served.hasLayout
        // Even a streamed /snapshot encodes the document without its listeners first.
        case "/snapshot": return asked.gzip && served.hasJSONGzip
        case "/": return served.hasStatusPage
        default: return true
        }
    }

    /// `served`: the snapshot the caller took once (a newer one may be published meanwhile).
    func reply(_ served: ServedSnapshot?, method: HTTPMethod, _ asked: Asked) -> Reply {
        let path = asked.path
        let known = ["/", "/metrics", "/snapshot", "/healthz", "/probe"]
        guard known.contains(path) else { return .text(.notFound, "not found; try /metrics") }
        guard method == .GET || method == .HEAD else {
            return .text(.methodNotAllowed, "only GET and HEAD", headers: [("Allow", "GET, HEAD")])
        }
        switch path {
        // The status page once there is a snapshot; before it, the list of paths.
        case "/": return Reply(status: .ok, contentType: "text/html; charset=utf-8", body: served?.statusPage ?? store.indexPage)
        case "/healthz": return health()
        default: break
        }
        guard let served else { return .text(.serviceUnavailable, "no snapshot yet") }
        if path == "/snapshot" {
            let vary = ("Vary", "Accept-Encoding")
            if asked.gzip, let gz = served.jsonGzip {
                return Reply(status: .ok, contentType: "application/json", parts: gz.parts, extraHeaders: [("Content-Encoding", "gzip"), vary])
            }
            return Reply(status: .ok, contentType: "application/json", parts: [], extraHeaders: [vary], stream: served.json)
        }
        if path == "/probe" { return probe(served, query: asked.query) }
        let counts = connections.counts
        let agent = store.agent.families
        let gate = gates.current
        let auth = gate.guardsAccess ? gates.counters : nil
        let tls = gate.servesTLS
        let format = asked.format
        let vary = ("Vary", "Accept, Accept-Encoding")
        if asked.gzip, let gz = served.metricsGzip(format), let open = gz.gzip {
            // Without its tail a gzip body is cut short: serve plain if closing it failed.
            if let tail = ConnectionMetrics.block(counts, auth: auth, tls: tls, agent: agent, format: format, closing: open) {
                return Reply(status: .ok, contentType: format.contentType, parts: gz.parts,
                             extraHeaders: [("Content-Encoding", "gzip"), vary], tail: tail)
            }
        }
        return Reply(status: .ok, contentType: format.contentType, parts: [], extraHeaders: [vary],
                     stream: served.metricsText(format), tail: ConnectionMetrics.block(counts, auth: auth, tls: tls, agent: agent, format: format, closing: nil))
    }

    /// A load balancer's health check of one listener (ProbeVerdict): 200 in
    /// rotation, 503 out, 404 not watched, 400 a bad query. A stale snapshot
    /// judges nothing: 200, so that a hung collector takes no backend out.
    private func probe(_ served: ServedSnapshot, query: Substring) -> Reply {
        let target: ProbeTarget
        do {
            target = try ProbeQuery.parse(query)
        } catch {
            return .text(.badRequest, "bad probe: \(error.message)")
        }
        let age = (ContinuousClock.now - served.publishedAt).seconds
        if age > limits.staleAfter {
            return .text(.ok, "up: not judged, the last snapshot is \(Int(age)) s old")
        }
        let v = store.weights.answer(ProbeVerdict.judge(target, in: served.publication), for: target)
        let text = PrintableText.escaped(v.reason)
        switch v.state {
        case .up: return .text(.ok, "up \(v.weight)%: \(text)", headers: [("X-Backlogd-Weight", "\(v.weight)")])
        case .down: return .text(.serviceUnavailable, "down: \(text)")
        case .unknown: return .text(.notFound, text)
        }
    }

    /// Healthy while the collector keeps publishing: a hung collector fails it.
    private func health() -> Reply {
        guard let served = store.latest else { return .text(.serviceUnavailable, "starting: no snapshot yet") }
        let seconds = (ContinuousClock.now - served.publishedAt).seconds
        if seconds > limits.staleAfter {
            return .text(.serviceUnavailable, "stale: last snapshot \(Int(seconds)) s ago")
        }
        return .text(.ok, "ok")
    }
}

enum IndexPage {
    static func html(version: String) -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>backlogd</title></head>
        <body><h1>backlogd \(version)</h1>
        <p>Kernel listen queues, per listener.</p>
        <ul>
        <li><a href="metrics">/metrics</a> Prometheus text</li>
        <li><a href="snapshot">/snapshot</a> JSON, as <code>backlogd --once --format json</code></li>
        <li><a href="healthz">/healthz</a> health</li>
        <li><code>/probe?port=P[&amp;address=A][&amp;netns=N]</code> a load balancer's check of one listener: 200 in rotation, 503 out</li>
        </ul></body></html>

        """
    }
}
