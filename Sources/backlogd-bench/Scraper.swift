import CSockDiag
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Concurrent scrapers, each on its own thread inside the namespace, timing
/// every GET of /metrics from connect to the last byte.
enum Scraper {
    /// Prometheus' own Accept header (2.x): OpenMetrics first.
    static let prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    /// How a scrape asks: gzip or not, and an Accept header (nil: none, text).
    struct Ask: Sendable {
        var gzip = true
        var accept: String?
        var path = "/metrics"
        static let prometheus = Ask(gzip: true, accept: prometheusAccept)
        static let identity = Ask(gzip: false, accept: nil)
    }

    static func latencies(namespace: String, port: UInt16, scrapers: Int, each: Int, ask: Ask = Ask()) throws -> [Double] {
        let shared = Collected()
        let group = DispatchGroup()
        for _ in 0..<scrapers {
            group.enter()
            Thread {
                defer { group.leave() }
                let fd = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
                guard fd >= 0, bd_enter_netns(fd) == 0 else {
                    shared.fail("setns \(namespace)")
                    return
                }
                close(fd)
                var mine: [Double] = []
                for _ in 0..<each {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    guard let bytes = get(port: port, ask: ask), bytes > 0 else {
                        shared.fail("scrape of port \(port) failed")
                        return
                    }
                    mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                shared.add(mine)
            }.start()
        }
        group.wait()
        if let failure = shared.failure { throw BenchError(failure) }
        return shared.values
    }

    /// Until `process` answers GET /metrics on `port` in `namespace` (60 s at most).
    static func waitServing(namespace: String, port: UInt16, process: Spawned) throws {
        let deadline = Date().addingTimeInterval(60)
        while true {
            if process.exited { throw BenchError("exited: \(process.text)") }
            let ok = (try? Measure.inNamespace(namespace) { get(port: port) }) ?? nil
            if let ok, ok > 0 { return }
            if Date() > deadline { throw BenchError("nothing serves port \(port): \(process.text)") }
            usleep(100_000)
        }
    }

    /// The plain /metrics text.
    static func body(port: UInt16) -> String? {
        let fd = BenchSockets.blockingConnect(port: port)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let req = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        guard req.withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) > 0 else { return nil }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every endpoint in every way a client may ask: /metrics in both formats, /snapshot, the status page, each plain and gzip.
    static let everyEndpoint: [Ask] = ["/metrics", "/snapshot", "/"].flatMap { path in
        [false, true].flatMap { gzip in
            (path == "/metrics" ? [nil, prometheusAccept] : [nil]).map { Ask(gzip: gzip, accept: $0, path: path) }
        }
    }

    /// One GET (/metrics unless asked otherwise) with `Connection: close`, gzip unless told otherwise; returns bytes read (headers included).
    static func get(port: UInt16, ask: Ask = Ask()) -> Int? {
        let fd = BenchSockets.blockingConnect(port: port)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let req = "GET \(ask.path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (ask.gzip ? "Accept-Encoding: gzip\r\n" : "")
            + (ask.accept.map { "Accept: \($0)\r\n" } ?? "") + "Connection: close\r\n\r\n"
        guard req.withCString({ send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }) > 0 else { return nil }
        var total = 0
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return n == 0 ? total : nil }
            total += n
        }
    }
}

extension BenchSockets {
    static func blockingConnect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sa = address(port)
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 {
            close(fd)
            return -1
        }
        return fd
    }
}

/// Medians and percentiles of seconds.
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))]
}

/// What the scraper threads hand back.
final class Collected: Sendable {
    private let state = Mutex<(all: [Double], error: String?)>(([], nil))

    func add(_ v: [Double]) { state.withLock { $0.all += v } }
    func fail(_ e: String) { state.withLock { $0.error = e } }
    var values: [Double] { state.withLock { $0.all } }
    var failure: String? { state.withLock { $0.error } }
}

func mean(_ values: [Double]) -> Double {
    values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
}
