import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM with large responses in flight: those a client reads at a normal
/// pace complete, those still sending after the 5 s grace are cut, and the
/// daemon exits 0 without waiting for them.
@Suite struct HTTPShutdownDrainTests {
    @Test func sigtermDrainsResponsesInFlight() throws {
        try withNamespace { ns in
            // Send buffers of at most 64 KiB (this namespace only): the kernel cannot take
            // a whole 3 MB response off the daemon's hands, most of it stays in flight.
            try ns.exec(["sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 65536"])
            let bag = SocketBag()
            defer { bag.closeAll() }
            // About 3 KB of /metrics per TCP listener: 1 100 make a body over 3 MB.
            try ns.enter { for _ in 0..<1100 { _ = try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: bag) } }
            let daemon = try startDaemon(in: ns)
            defer { daemon.stop() }
            try waitUntil("a /metrics body over 3 MB") { try scrape(ns).body.count > 3_000_000 }

            // 10 readers that take about 1.5 s for the body, 10 that would take a minute.
            let readers = (0..<20).map { i in PacedReader(ns: ns, bytesPerSecond: i < 10 ? 2_200_000 : 55_000) }
            for r in readers { r.start() }
            try waitUntil("every reader to have its response started") { readers.allSatisfy { $0.received > 0 } }
            daemon.signal(SIGTERM)
            // A deadline, not a timing: far past the 5 s grace, well before the slow readers
            // could have their bodies (a minute at 55 KB/s; they catch up if they fall behind).
            let status: Int32
            do {
                status = try daemon.wait(timeout: 30)
            } catch {
                Issue.record("no exit 30 s after SIGTERM: it waited for the slow readers")
                throw error
            }
            for r in readers { r.join() }

            #expect(status == 0)
            let fast = readers.prefix(10).map { $0.outcome }
            let slow = readers.suffix(10).map { $0.outcome }
            #expect(fast.allSatisfy { $0 == "complete" }, "readers at 2.2 MB/s: \(fast)")
            #expect(slow.allSatisfy { $0 != "complete" }, "readers at 55 KB/s: \(slow)")
        }
    }
}

/// GET /metrics on its own connection, read at `bytesPerSecond` through a small
/// receive buffer, so the daemon's response stays in flight.
final class PacedReader: @unchecked Sendable {
    private let ns: NetNamespace
    private let rate: Double
    private let lock = NSLock()
    private var bytes = 0
    private var result = "not finished"
    private let done = DispatchSemaphore(value: 0)

    init(ns: NetNamespace, bytesPerSecond: Double) {
        self.ns = ns
        self.rate = bytesPerSecond
    }

    var received: Int { lock.withLock { bytes } }
    /// "complete", or what was missing.
    var outcome: String { lock.withLock { result } }

    func start() {
        Thread { [self] in
            let r = (try? ns.enter { [self] in try read() }) ?? "error"
            lock.withLock { result = r }
            done.signal()
        }.start()
    }

    func join() { done.wait() }

    private func read() throws -> String {
        var (family, ss, len) = TestSockets.socketAddress("127.0.0.1", 24519)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        defer { close(fd) }
        try TestSockets.setInt(fd, SOL_SOCKET, SO_RCVBUF, 16384)
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        guard rc == 0 else { throw POSIXFailure("connect") }
        try HTTPProbe.send(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        var raw: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        let start = Date()
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            raw += buf[0..<n]
            lock.withLock { bytes = raw.count }
            let due = Double(raw.count) / rate - Date().timeIntervalSince(start)
            if due > 0 { Thread.sleep(forTimeInterval: due) }
        }
        guard let reply = try? HTTPProbe.parse(raw), let length = Int(reply.headers["content-length"] ?? "") else {
            return "no response head in \(raw.count) bytes"
        }
        return reply.body.count == length ? "complete" : "\(reply.body.count) of \(length) bytes"
    }
}
