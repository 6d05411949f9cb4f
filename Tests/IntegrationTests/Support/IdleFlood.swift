import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An attacker that holds `count` TCP connections to 127.0.0.1:`port` open
/// without sending a byte and opens a new one whenever one is closed. Runs on
/// its own thread inside the namespace until `stop()`, which closes every fd.
final class IdleFlood: @unchecked Sendable {
    private let ns: NetNamespace
    private let port: UInt16
    private let count: Int
    private let lock = NSLock()
    private var stopped = false
    private var reopenedCount = 0
    private var failure: String?
    private let finished = DispatchSemaphore(value: 0)

    init(in ns: NetNamespace, port: UInt16, count: Int) {
        self.ns = ns
        self.port = port
        self.count = count
    }

    /// Connections the daemon closed and the flood opened again.
    var reopened: Int { lock.withLock { reopenedCount } }
    var error: String? { lock.withLock { failure } }

    func start() {
        Thread { [self] in
            do {
                try ns.enter { [self] in try loop() }
            } catch {
                lock.withLock { failure = "\(error)" }
            }
            finished.signal()
        }.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        finished.wait()
    }

    private func open() throws -> Int32 {
        var (family, ss, len) = TestSockets.socketAddress("127.0.0.1", port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        guard rc == 0 || errno == EINPROGRESS else {
            let e = POSIXFailure("connect")
            close(fd)
            throw e
        }
        return fd
    }

    private func loop() throws {
        var fds: [pollfd] = []
        defer { for p in fds { close(p.fd) } }
        // Paced, so the daemon accepts them: a burst overflows its accept queue, and a
        // connection the kernel completed by syncookie only is never seen by the daemon.
        for i in 0..<count {
            fds.append(pollfd(fd: try open(), events: Int16(POLLIN), revents: 0))
            if i % 32 == 31 { Thread.sleep(forTimeInterval: 0.01) }
        }
        while !lock.withLock({ stopped }) {
            guard poll(&fds, nfds_t(fds.count), 100) >= 0 || errno == EINTR else { throw POSIXFailure("poll") }
            for i in fds.indices where fds[i].revents != 0 {
                // The daemon never writes to a connection without a request: this is its close.
                close(fds[i].fd)
                fds[i].fd = try open()
                fds[i].revents = 0
                lock.withLock { reopenedCount += 1 }
            }
        }
    }
}
