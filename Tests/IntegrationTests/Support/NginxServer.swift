import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real nginx (Debian package) in a test namespace: one worker, one listener
/// with a small backlog, everything under a temporary prefix.
final class NginxServer: @unchecked Sendable {
    let master: BackgroundProcess
    let prefix: String
    let port: UInt16

    /// `main`: extra directives of the main context (`worker_rlimit_nofile 64;`).
    /// `body`: what `/` answers (a balancer test tells its backends apart by it).
    init(in ns: NetNamespace, port: UInt16, backlog: Int, main: String = "", workerConnections: Int = 64,
         body: String = "ok") throws {
        self.port = port
        prefix = temporaryPath("nginx")
        try FileManager.default.createDirectory(atPath: prefix + "/logs", withIntermediateDirectories: true)
        try """
            daemon off;
            master_process on;
            worker_processes 1;
            \(main)
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/logs/error.log;
            events { worker_connections \(workerConnections); }
            http {
                access_log off;
                client_body_temp_path \(prefix)/body;
                proxy_temp_path \(prefix)/proxy;
                fastcgi_temp_path \(prefix)/fastcgi;
                uwsgi_temp_path \(prefix)/uwsgi;
                scgi_temp_path \(prefix)/scgi;
                server {
                    listen 127.0.0.1:\(port) backlog=\(backlog);
                    location / { return 200 "\(body)\\n"; }
                    client_header_timeout 120s;
                }
            }
            """.write(toFile: "\(prefix)/nginx.conf", atomically: true, encoding: .utf8)
        master = try BackgroundProcess(["nginx", "-p", prefix, "-c", "\(prefix)/nginx.conf"], in: ns)
        do {
            try waitUntil("nginx to answer") {
                if let s = master.poll() { throw DaemonExited(status: s, log: master.log) }
                return (try? ns.enter { try HTTPProbe.get(port, "/") }.status) == 200
            }
        } catch {
            stop()
            throw error
        }
    }

    /// PIDs of the worker processes (children of the master).
    var workers: [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == master.pid
        }
    }

    var errorLog: String { (try? String(contentsOfFile: "\(prefix)/logs/error.log", encoding: .utf8)) ?? "" }

    /// Every process of this nginx (master and workers): what a hang stops.
    var processes: [pid_t] { [master.pid] + workers }

    func stop() {
        for w in processes { kill(w, SIGCONT) }
        master.signal(SIGQUIT)
        if (try? master.wait(timeout: 10)) == nil { master.stop() }
        for w in workers { kill(w, SIGKILL) }
        master.stop()
        try? FileManager.default.removeItem(atPath: prefix)
    }
}
