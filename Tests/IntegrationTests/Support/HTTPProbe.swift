import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response as it came off the wire.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A deliberately small HTTP/1.1 client over a plain socket, so tests control
/// every byte (trickling, oversized headers, idle connections). Call it on a
/// thread inside the namespace (NetNamespace.enter).
enum HTTPProbe {
    /// Connects (blocking, with a 30 s receive timeout) to `host:port`.
    static func connect(_ host: String, _ port: UInt16, bag: SocketBag? = nil) throws -> Int32 {
        var (family, ss, len) = TestSockets.socketAddress(host, port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXFailure("socket") }
        _ = bag?.keep(fd)
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, len) } }
        guard rc == 0 else {
            let e = POSIXFailure("connect \(host):\(port)")
            if bag == nil { close(fd) }
            throw e
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw POSIXFailure("send") }
            off += n
        }
    }

    /// Reads until the peer closes (responses here are sent with Connection: close).
    static func readAll(_ fd: Int32) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return out }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return out }
                throw POSIXFailure("recv")
            }
            out += buf[0..<n]
        }
    }

    /// Reads one response (head and Content-Length body) without waiting for the
    /// connection to close; nil if it closed first. A peer that closes while we
    /// still send makes the kernel reset the connection: that also ends the read.
    static func readResponse(_ fd: Int32) throws -> HTTPReply? {
        var raw: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            if let reply = try? parse(raw) {
                if let length = Int(reply.headers["content-length"] ?? ""), reply.body.count >= length { return reply }
                if reply.headers["transfer-encoding"]?.lowercased() == "chunked" { return reply }
            }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                raw += buf[0..<n]
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n == 0 || errno == ECONNRESET || errno == EPIPE { return try? parse(raw) }
            throw POSIXFailure("recv")
        }
    }

    static func parse(_ raw: [UInt8]) throws -> HTTPReply {
        let sep: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0...(max(0, raw.count - 4))).first(where: { raw.count >= 4 && Array(raw[$0..<$0 + 4]) == sep }) else {
            throw BadReply(raw: String(decoding: raw.prefix(200), as: UTF8.self))
        }
        let head = String(decoding: raw[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw BadReply(raw: head[0]) }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(raw[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            guard let whole = dechunk(body) else { throw BadReply(raw: "a chunked body cut short or malformed") }
            body = whole
        }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    /// A chunked body's data (RFC 9112 §7.1), nil until its last chunk and the empty trailer have arrived.
    static func dechunk(_ raw: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        func line() -> String? {
            guard let nl = raw[i...].firstIndex(of: 0x0A), nl > i, raw[nl - 1] == 0x0D else { return nil }
            defer { i = nl + 1 }
            return String(decoding: raw[i..<(nl - 1)], as: UTF8.self)
        }
        while true {
            guard let sizeLine = line(), let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else { return nil }
            if size == 0 { return line() == "" ? out : nil }
            guard raw.count >= i + size + 2, raw[i + size] == 0x0D, raw[i + size + 1] == 0x0A else { return nil }
            out += raw[i..<(i + size)]
            i += size + 2
        }
    }

    /// One request on a new connection, `Connection: close`.
    static func request(_ host: String, _ port: UInt16, method: String = "GET", path: String,
                        headers: [String: String] = [:]) throws -> HTTPReply {
        let fd = try connect(host, port)
        defer { close(fd) }
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (k, v) in headers { text += "\(k): \(v)\r\n" }
        try send(fd, text + "\r\n")
        return try parse(try readAll(fd))
    }

    static func get(_ port: UInt16, _ path: String, host: String = "127.0.0.1") throws -> HTTPReply {
        try request(host, port, path: path)
    }

    /// GET `path` on a connection kept open (HTTP/1.1 keep-alive): the whole response.
    static func get(on fd: Int32, _ path: String) throws -> HTTPReply {
        try send(fd, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
        guard let reply = try readResponse(fd) else { throw BadReply(raw: "closed before a response to \(path)") }
        return reply
    }
}

struct BadReply: Error, CustomStringConvertible {
    var raw: String
    var description: String { "not an HTTP response: \(raw)" }
}

/// Prometheus text: the value of the one sample whose name and labels match.
enum MetricsText {
    /// Samples of `name` with every label in `labels` (others ignored): label text -> value.
    static func samples(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let l = String(line)
            guard let space = l.lastIndex(of: " "), let v = Double(l[l.index(after: space)...]) else { continue }
            let series = String(l[..<space])
            if labels.allSatisfy({ series.contains("\($0.key)=\"\($0.value)\"") }) { out[series] = v }
        }
        return out
    }

    static func value(_ text: String, _ name: String, _ labels: [String: String]) -> Double? {
        let s = samples(text, name, labels)
        return s.count == 1 ? s.first!.value : nil
    }
}
