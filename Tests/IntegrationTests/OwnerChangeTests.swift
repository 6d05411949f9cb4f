import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Owners that change without exiting: the daemon's cached owner is re-verified
/// at each deep tick (its fd link, its cgroup), not only when it exits.
@Suite struct OwnerChangeTests {
    static func listenerInfo(_ ns: NetNamespace, port: UInt16) throws -> [String: Double] {
        MetricsText.samples(try scrape(ns).text, "backlogd_listener_info", ["port": "\(port)"])
    }

    /// HAProxy's seamless reload: the new process gets the listening socket from
    /// the old one over its stats socket (`expose-fd listeners`, `-x`), the old one
    /// closes its copy and keeps running to drain a held connection.
    @Test func haproxySeamlessReloadMovesTheOwnerWhileTheOldProcessRuns() throws {
        try withNamespace { ns in
            let dir = temporaryPath("haproxy")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (front, back): (UInt16, UInt16) = (7401, 7402)
            // The backend accepts and holds every connection, answering nothing.
            let backend = try BackgroundProcess(["python3", "-c", """
                import socket, time
                l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                l.bind(("127.0.0.1", \(back))); l.listen(16); print("ready", flush=True)
                kept = []
                while True: kept.append(l.accept()[0])
                """], in: ns)
            defer { backend.stop() }
            try waitUntil("the backend") { backend.log.contains("ready") }
            let config = "\(dir)/haproxy.cfg"
            try """
                global
                    stats socket \(dir)/admin.sock mode 600 level admin expose-fd listeners
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 120s
                    timeout server 120s
                frontend fe
                    bind 127.0.0.1:\(front)
                    default_backend be
                backend be
                    server s1 127.0.0.1:\(back)

                """.write(toFile: config, atomically: true, encoding: .utf8)
            let old = try BackgroundProcess(["haproxy", "-db", "-f", config], in: ns)
            defer { old.stop() }
            try waitUntil("haproxy to listen") {
                if let s = old.poll() { throw DaemonExited(status: s, log: old.log) }
                return FileManager.default.fileExists(atPath: "\(dir)/admin.sock")
                    && ((try? ns.exec(["ss", "-ltnH", "sport = :\(front)"]).stdout) ?? "").contains("LISTEN")
            }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon)
            defer { daemon.stop() }
            try waitUntil("the old haproxy to own :\(front)") {
                try Self.listenerInfo(ns, port: front).keys.contains { $0.contains("pid=\"\(old.pid)\"") }
            }
            let inodeBefore = try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: front)?.inode
            // A client connection through the old process keeps it draining.
            let bag = SocketBag()
            defer { bag.closeAll() }
            let held = try ns.enter { try TestSockets.connectTCP("127.0.0.1", port: front, bag: bag) }
            _ = held
            try waitUntil("the held connection to reach the backend") {
                ((try? ns.exec(["ss", "-tnH", "state", "established", "dport = :\(back)"]).stdout) ?? "").contains("127.0.0.1")
            }
            let new = try BackgroundProcess(["haproxy", "-db", "-f", config, "-x", "\(dir)/admin.sock", "-sf", "\(old.pid)"], in: ns)
            defer { new.stop() }
            try waitUntil("the new haproxy to own :\(front)") {
                if let s = new.poll() { throw DaemonExited(status: s, log: new.log) }
                return try Self.listenerInfo(ns, port: front).keys.contains { $0.contains("pid=\"\(new.pid)\"") }
            }
            // The old process is still running (draining): the exit path is not what found the new owner.
            #expect(old.poll() == nil && kill(old.pid, 0) == 0, "old haproxy \(old.pid) exited: \(old.log)")
            let stat = (try? String(contentsOfFile: "/proc/\(old.pid)/stat", encoding: .utf8)) ?? ""
            #expect(!stat.isEmpty && !stat.contains(") Z "), "old haproxy is a zombie: \(stat)")
            // The same socket, handed over: not a new listener.
            let after = try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: front)
            #expect(after?.inode == inodeBefore && after?.owner?.pid == new.pid)
            #expect(try Self.listenerInfo(ns, port: front).count == 1)
        }
    }

    /// A process moved into another cgroup after it was first seen: /metrics shows its new unit.
    @Test func ownerMovedToAnotherCgroupShowsItsNewUnit() throws {
        try withNamespace { ns in
            let dir = temporaryPath("move")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let port: UInt16 = 7403
            let p = try OwnershipTests.listenerProcess("bdmove", port: port, in: ns, dir: dir)
            defer { p.stop() }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon)
            defer { daemon.stop() }
            try waitUntil("bdmove to be the owner") {
                try Self.listenerInfo(ns, port: port).keys.contains { $0.contains("process=\"bdmove\"") }
            }
            let unit = "bd-test-\(getpid())-move.service"
            // The hybrid hierarchy's name=systemd tree where there is one (this machine), else the v2 tree.
            let parent = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"].first {
                FileManager.default.fileExists(atPath: "\($0)/cgroup.procs")
            }
            let cgroup = "\(try #require(parent, "no writable cgroup hierarchy"))/\(unit)"
            try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
            defer {
                p.stop()
                rmdir(cgroup)
            }
            try "\(p.pid)\n".write(toFile: "\(cgroup)/cgroup.procs", atomically: false, encoding: .utf8)
            try waitUntil("the new unit on /metrics") {
                try Self.listenerInfo(ns, port: port).keys.contains { $0.contains("process=\"bdmove\",unit=\"\(unit)\"") }
            }
        }
    }
}
