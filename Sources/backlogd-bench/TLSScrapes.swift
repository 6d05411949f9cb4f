import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The TLS figures (README "Performance"): /metrics over TLS on a kept-alive
/// connection beside plain HTTP on one, both through curl (one client for both,
/// rounds interleaved so the machine's noise falls on both), the handshake on
/// fresh connections, and the TLS daemon's peak RSS. The TLS daemon is a second
/// backlogd in the same namespace, on 127.0.0.1:24520, with an EC P-256 key.
struct TLSFigures {
    static let keyType = "EC P-256 (ECDSA), TLS 1.3, X25519"
    var plainP50 = Double.nan, plainP99 = Double.nan
    var tlsP50 = Double.nan, tlsP99 = Double.nan
    var handshakeP50 = Double.nan, handshakeP99 = Double.nan
    var rss = Double.nan

    var ratio: Double { tlsP99 / plainP99 }
}

enum TLSScrapes {
    static let port: UInt16 = 24520

    /// `rounds` × (`perRound` plain + `perRound` TLS requests), then `handshakes` fresh connections.
    static func measure(_ w: Workload, plainPort: UInt16, rounds: Int, perRound: Int, handshakes: Int) throws -> TLSFigures {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-bench-tls-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try command(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", "\(dir)/key.pem", "-out", "\(dir)/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=IP:127.0.0.1"])
        try "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n".write(toFile: "\(dir)/web.yml", atomically: true, encoding: .utf8)
        let d = try w.start([sibling("backlogd"), "--listen", "127.0.0.1:\(port)", "--web.config.file", "\(dir)/web.yml"])
        defer { d.stop() }
        let tls = "https://127.0.0.1:\(port)/metrics"
        let deadline = Date().addingTimeInterval(60)
        while (try? curl(w, ["--cacert", "\(dir)/cert.pem", "-o", "/dev/null", tls])) == nil {
            if d.exited { throw BenchError("the TLS daemon exited: \(d.text)") }
            if Date() > deadline { throw BenchError("the TLS daemon does not serve: \(d.text)") }
            usleep(200_000)
        }
        // As Prometheus asks: gzip, its Accept header.
        let ask = ["--compressed", "-H", "Accept: \(Scraper.prometheusAccept)", "-w", "%{time_total}\n"]
        var plain: [Double] = [], secure: [Double] = []
        for _ in 0..<rounds {
            plain += try keptAlive(w, ask, "http://127.0.0.1:\(plainPort)/metrics", perRound)
            secure += try keptAlive(w, ask + ["--cacert", "\(dir)/cert.pem"], tls, perRound)
        }
        var f = TLSFigures()
        (f.plainP50, f.plainP99) = (percentile(plain, 0.5), percentile(plain, 0.99))
        (f.tlsP50, f.tlsP99) = (percentile(secure, 0.5), percentile(secure, 0.99))
        // Connection: close makes every transfer a new connection and handshake.
        let hs = try curl(w, ["--cacert", "\(dir)/cert.pem", "-H", "Connection: close", "-w", "%{time_connect} %{time_appconnect}\n"]
                             + Array(repeating: ["-o", "/dev/null", "https://127.0.0.1:\(port)/healthz"], count: handshakes).flatMap { $0 })
        let times = hs.split(separator: "\n").compactMap { line -> Double? in
            let v = line.split(separator: " ").compactMap { Double($0) }
            return v.count == 2 ? v[1] - v[0] : nil
        }
        (f.handshakeP50, f.handshakeP99) = (percentile(times, 0.5), percentile(times, 0.99))
        f.rss = Measure.peakRSS(d.pid)
        return f
    }

    /// `n` GETs of `url` on one connection; the first (which connects) is left out.
    private static func keptAlive(_ w: Workload, _ args: [String], _ url: String, _ n: Int) throws -> [Double] {
        let out = try curl(w, args + Array(repeating: ["-o", "/dev/null", url], count: n + 1).flatMap { $0 })
        let t = out.split(separator: "\n").compactMap { Double($0) }
        guard t.count == n + 1 else { throw BenchError("curl \(url): \(out.suffix(300))") }
        return Array(t.dropFirst())
    }

    private static func curl(_ w: Workload, _ args: [String]) throws -> String {
        try w.exec(["curl", "-sS", "--fail", "--max-time", "60"] + args)
    }
}
