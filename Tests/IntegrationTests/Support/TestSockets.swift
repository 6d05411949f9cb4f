import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Real sockets for the tests, made with plain syscalls. Every fd a test makes
/// goes into a SocketBag, which closes them all at the end.
final class SocketBag: @unchecked Sendable {
    private let lock = NSLock()
    private var fds: [Int32] = []

    func keep(_ fd: Int32) -> Int32 {
        lock.lock()
        fds.append(fd)
        lock.unlock()
        return fd
    }

    /// Closes one fd now and forgets it, so closeAll() cannot close the number
    /// again after another test has been given it.
    func close(_ fd: Int32) {
        lock.lock()
        if let i = fds.firstIndex(of: fd) {
            fds.remove(at: i)
            Glibc.close(fd)
        }
        lock.unlock()
    }

    func closeAll() {
        lock.lock()
        for fd in fds { Glibc.close(fd) }
        fds.removeAll()
        lock.unlock()
    }

    deinit { closeAll() }
}

enum TestSockets {
    static func socketAddress(_ address: String, _ port: UInt16) -> (family: Int32, storage: sockaddr_storage, len: socklen_t) {
        var ss = sockaddr_storage()
        if address.contains(":") {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            precondition(inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1, "bad address \(address)")
            withUnsafeMutableBytes(of: &ss) { dst in withUnsafeBytes(of: sin6) { dst.copyMemory(from: $0) } }
            return (AF_INET6, ss, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        precondition(inet_pton(AF_INET, address, &sin.sin_addr) == 1, "bad address \(address)")
        withUnsafeMutableBytes(of: &ss) { dst in withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) } }
        return (AF_INET, ss, socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    static func setInt(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw POSIXFailure("setsockopt \(name)")
        }
    }

    /// A TCP listener; port 0 picks one. Returns the fd and the bound port.
    static func listenTCP(
        _ address: String, port: UInt16 = 0, backlog: Int32, v6only: Bool? = nil,
        reusePort: Bool = false, device: String? = nil, bag: SocketBag
    ) throws -> (fd: Int32, port: UInt16) {
        var (family, ss, len) = socketAddress(address, port)
        let fd = bag.keep(socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
        guard fd >= 0 else { throw POSIXFailure("socket") }
        try setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        if reusePort { try setInt(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
        if let v6only { try setInt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, v6only ? 1 : 0) }
        if let device {
            guard setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, device, socklen_t(device.utf8.count)) == 0 else {
                throw POSIXFailure("SO_BINDTODEVICE")
            }
        }
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else { throw POSIXFailure("bind \(address):\(port)") }
        guard listen(fd, backlog) == 0 else { throw POSIXFailure("listen") }
        return (fd, boundPort(fd))
    }

    static func boundPort(_ fd: Int32) -> UInt16 {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return withUnsafeBytes(of: ss) { raw in
            // sin_port and sin6_port are both at offset 2.
            UInt16(raw[2]) << 8 | UInt16(raw[3])
        }
    }

    /// A non-blocking connect: returns at once; the kernel completes the
    /// handshake (or drops the SYN when the accept queue is full).
    static func connectTCP(_ address: String, port: UInt16, bag: SocketBag) throws -> Int32 {
        var (family, ss, len) = socketAddress(address, port)
        let fd = bag.keep(socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
        guard fd >= 0 else { throw POSIXFailure("socket") }
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        guard rc == 0 || errno == EINPROGRESS else { throw POSIXFailure("connect \(address):\(port)") }
        return fd
    }

    /// A leading "@" means an abstract name (leading NUL), as ss shows it.
    static func unixAddress(_ path: String) -> (sockaddr_un, socklen_t) {
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        return unixAddress(bytes: bytes)
    }

    /// Any bytes, as an untrusted program may bind them.
    static func unixAddress(bytes: [UInt8]) -> (sockaddr_un, socklen_t) {
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        precondition(bytes.count < 108)
        withUnsafeMutableBytes(of: &sun.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return (sun, socklen_t(2 + bytes.count))
    }

    static func listenUnix(_ path: String, backlog: Int32, type: Int32 = Int32(SOCK_STREAM.rawValue), bag: SocketBag) throws -> Int32 {
        if !path.hasPrefix("@") { unlink(path) }
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        return try listenUnix(bytes: bytes, backlog: backlog, type: type, bag: bag)
    }

    static func listenUnix(bytes: [UInt8], backlog: Int32, type: Int32 = Int32(SOCK_STREAM.rawValue), bag: SocketBag) throws -> Int32 {
        let fd = bag.keep(socket(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0))
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var (sun, len) = unixAddress(bytes: bytes)
        let path = String(decoding: bytes, as: UTF8.self)
        let rc = withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard rc == 0 else { throw POSIXFailure("bind \(path)") }
        guard listen(fd, backlog) == 0 else { throw POSIXFailure("listen") }
        return fd
    }

    /// Non-blocking UNIX connect; returns nil when the queue is full (EAGAIN).
    static func connectUnix(_ path: String, type: Int32 = Int32(SOCK_STREAM.rawValue), bag: SocketBag) throws -> Int32? {
        let fd = bag.keep(socket(AF_UNIX, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
        guard fd >= 0 else { throw POSIXFailure("socket") }
        var (sun, len) = unixAddress(path)
        let rc = withUnsafePointer(to: &sun) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        if rc == 0 { return fd }
        if errno == EAGAIN { return nil }
        throw POSIXFailure("connect \(path)")
    }
}
