import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Client sockets for the scenarios: connect without waiting, then send what a
/// browser would once the handshake is done (from the client's side).
enum Clients {
    static let request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

    /// `count` non-blocking connects to 127.0.0.1:`port`; call inside the namespace.
    static func connect(_ count: Int, port: UInt16, bag: SocketBag) throws -> [Int32] {
        try (0..<count).map { _ in try TestSockets.connectTCP("127.0.0.1", port: port, bag: bag) }
    }

    /// Whether every socket's handshake has completed, from the client's side (writable).
    static func connected(_ fds: [Int32]) -> Bool {
        var polled = fds.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
        _ = poll(&polled, nfds_t(polled.count), 0)
        return polled.allSatisfy { $0.revents & Int16(POLLOUT) != 0 && $0.revents & Int16(POLLERR | POLLHUP) == 0 }
    }

    /// Sends `text` on each socket whose handshake completed (from the client's
    /// side) within `timeout` seconds; returns how many sent it. The deadline is
    /// generous: on a loaded machine a handshake can take a while.
    @discardableResult
    static func send(_ text: String, on fds: [Int32], timeout: Double = 30) -> Int {
        var pending = Set(fds)
        let deadline = Date().addingTimeInterval(timeout)
        while !pending.isEmpty && Date() < deadline {
            for fd in pending {
                let n = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n == text.utf8.count { pending.remove(fd) }
            }
            if !pending.isEmpty { usleep(20_000) }
        }
        return fds.count - pending.count
    }
}
