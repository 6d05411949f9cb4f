import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HAProxy (Debian package) in a test namespace: one HTTP frontend on
/// 127.0.0.1:`front`, round robin over `servers`, a runtime API socket for
/// `show stat`. Everything under a temporary directory; `stop()` ends it by PID.
final class HAProxyServer: @unchecked Sendable {
    struct Server {
        var name: String
        var port: UInt16
        /// The rest of its `server` line: its checks (a TCP check by default).
        var options: String = "check inter 500ms"
    }

    let process: BackgroundProcess
    let dir: String
    let front: UInt16

    /// `serverTimeout`: how long a request waits for a backend's response (the hang a client sees);
    /// `backend`: more lines of the backend section (`option httpchk …`).
    init(in ns: NetNamespace, front: UInt16, servers: [Server], serverTimeout: String, backend: [String] = []) throws {
        self.front = front
        dir = temporaryPath("haproxy")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let lines = backend.map { "    " + $0 } + servers.map { "    server \($0.name) 127.0.0.1:\($0.port) \($0.options)" }
        try """
            global
                stats socket \(dir)/admin.sock mode 600 level admin
            defaults
                mode http
                timeout connect 2s
                timeout client 30s
                timeout server \(serverTimeout)
                timeout check 2s
            frontend web
                bind 127.0.0.1:\(front)
                default_backend app
            backend app
                balance roundrobin
            \(lines.joined(separator: "\n"))

            """.write(toFile: "\(dir)/haproxy.cfg", atomically: true, encoding: .utf8)
        _ = try run(["haproxy", "-c", "-f", "\(dir)/haproxy.cfg"])
        process = try BackgroundProcess(["haproxy", "-db", "-f", "\(dir)/haproxy.cfg"], in: ns)
        do {
            try waitUntil("haproxy to see every server UP (or unchecked)") {
                if let s = process.poll() { throw DaemonExited(status: s, log: process.log) }
                let stat = try? self.stat()
                return servers.allSatisfy { ["UP", "no check"].contains(stat?[$0.name]?["status"]) }
            }
        } catch {
            stop()
            throw error
        }
    }

    /// `show stat` of the backend's servers: server name -> CSV field -> value
    /// (`status`: `UP`, `DOWN`, `DOWN (agent)`; `check_status`, `agent_status`,
    /// `last_agt`: `via agent : down (<the agent's reason>…)`).
    func stat() throws -> [String: [String: String]] {
        let text = try runtime("show stat")
        let lines = text.split(separator: "\n")
        guard let header = lines.first, header.hasPrefix("# ") else { throw BadReply(raw: String(text.prefix(200))) }
        let names = Self.fields(header.dropFirst(2))
        var out: [String: [String: String]] = [:]
        for line in lines.dropFirst() {
            let values = Self.fields(line)
            guard values.count >= 2, values[0] == "app", !["FRONTEND", "BACKEND"].contains(values[1]) else { continue }
            out[values[1]] = Dictionary(zip(names, values), uniquingKeysWith: { a, _ in a })
        }
        return out
    }

    /// A CSV line's fields; a quoted field may hold commas (`"a, b"`, `""` for a quote).
    static func fields(_ line: Substring) -> [String] {
        let chars = Array(line)
        var out: [String] = []
        var i = 0
        while i <= chars.count {
            var field = ""
            if i < chars.count && chars[i] == "\"" {
                i += 1
                while i < chars.count {
                    if chars[i] == "\"" {
                        if i + 1 < chars.count && chars[i + 1] == "\"" {
                            field.append("\"")
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    field.append(chars[i])
                    i += 1
                }
            }
            while i < chars.count && chars[i] != "," {
                field.append(chars[i])
                i += 1
            }
            out.append(field)
            i += 1
        }
        return out
    }

    /// One command on the runtime API (a UNIX socket: HAProxy answers and closes).
    func runtime(_ command: String) throws -> String {
        let path = "\(dir)/admin.sock"
        // A filesystem path: reachable from any namespace.
        let bag = SocketBag()
        defer { bag.closeAll() }
        guard let fd = try TestSockets.connectUnix(path, bag: bag) else { throw POSIXFailure("connect \(path)") }
        _ = fcntl(fd, F_SETFL, 0)
        do {
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            try HTTPProbe.send(fd, command + "\n")
            return String(decoding: try HTTPProbe.readAll(fd), as: UTF8.self)
        }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// One request to the frontend from inside `ns`: the backend's body (which one answered), or what went wrong.
    func answer(in ns: NetNamespace) -> String {
        Self.answer(in: ns, port: front)
    }

    static func answer(in ns: NetNamespace, port: UInt16) -> String {
        do {
            let r = try ns.enter { try HTTPProbe.get(port, "/") }
            return r.status == 200 ? r.text.trimmingCharacters(in: .newlines) : "status \(r.status)"
        } catch {
            return "\(error)"
        }
    }
}
