import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real Apache httpd (Debian package) in a test namespace, as Debian ships it:
/// KeepAlive on, KeepAliveTimeout 5 s. `workers` prefork children, or `nil` for
/// one process that serves every request itself (`apache2 -X`). Everything under a
/// temporary directory; `stop()` ends every process of it by PID.
final class ApacheServer: @unchecked Sendable {
    let master: BackgroundProcess
    let dir: String
    let port: UInt16

    init(in ns: NetNamespace, port: UInt16, workers: Int?, body: String = "ok", keepAliveTimeout: Int = 5) throws {
        self.port = port
        dir = temporaryPath("apache")
        try FileManager.default.createDirectory(atPath: dir + "/htdocs", withIntermediateDirectories: true)
        chmod(dir, 0o755)
        chmod(dir + "/htdocs", 0o755)
        try (body + "\n").write(toFile: "\(dir)/htdocs/index.html", atomically: true, encoding: .utf8)
        chmod("\(dir)/htdocs/index.html", 0o644)
        let n = workers ?? 1
        try """
            ServerRoot /etc/apache2
            ServerName backlogd-test
            LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
            LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
            LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
            User www-data
            Group www-data
            PidFile \(dir)/httpd.pid
            ErrorLog \(dir)/error.log
            Mutex file:\(dir) default
            Listen 127.0.0.1:\(port)
            KeepAlive On
            MaxKeepAliveRequests 100
            KeepAliveTimeout \(keepAliveTimeout)
            StartServers \(n)
            MinSpareServers \(n)
            MaxSpareServers \(n)
            ServerLimit \(n)
            MaxRequestWorkers \(n)
            MaxConnectionsPerChild 0
            DocumentRoot \(dir)/htdocs
            DirectoryIndex index.html
            <Directory \(dir)/htdocs>
                Require all granted
            </Directory>

            """.write(toFile: "\(dir)/httpd.conf", atomically: true, encoding: .utf8)
        let single = workers == nil ? ["-X"] : []
        // A session of its own: a prefork parent that shuts down signals its whole process
        // group (killpg SIGTERM), which in the foreground would be the test process's.
        master = try BackgroundProcess(["setsid", "/usr/sbin/apache2", "-f", "\(dir)/httpd.conf", "-DFOREGROUND"] + single, in: ns)
        do {
            try waitUntil("apache to answer") {
                if let s = master.poll() { throw DaemonExited(status: s, log: master.log + errorLog) }
                return (try? ns.enter { try HTTPProbe.get(port, "/") }.status) == 200
            }
        } catch {
            stop()
            throw error
        }
    }

    var errorLog: String { (try? String(contentsOfFile: "\(dir)/error.log", encoding: .utf8)) ?? "" }

    /// The master and its children: what a hang stops.
    var processes: [pid_t] { [master.pid] + TestProcesses.children(of: master.pid) }

    func stop() {
        for p in processes { kill(p, SIGCONT) }
        let children = TestProcesses.children(of: master.pid)
        master.stop()
        for c in children { kill(c, SIGKILL) }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

enum TestProcesses {
    /// Direct children of `pid` (from /proc/*/stat's ppid).
    static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { p in
            guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }
}
