import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Who owns a listener: the process holding its socket, and that process's unit.
@Suite struct OwnershipTests {
    /// python3 through a symlink of another name: its comm is that name.
    static func listenerProcess(_ name: String, port: UInt16, in ns: NetNamespace, dir: String) throws -> BackgroundProcess {
        let exe = "\(dir)/\(name)"
        if !FileManager.default.fileExists(atPath: exe) { try FileManager.default.createSymbolicLink(atPath: exe, withDestinationPath: "/usr/bin/python3") }
        let p = try BackgroundProcess([exe, "-c", """
            import socket, time
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(port))); s.listen(8); print("ready", flush=True); time.sleep(300)
            """], in: ns)
        try waitUntil("\(name) to listen") { p.log.contains("ready") }
        return p
    }

    @Test func ownerFollowsTheProcessThatHoldsThePort() throws {
        try withNamespace { ns in
            let dir = temporaryPath("owner")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let port: UInt16 = 7070
            let first = try Self.listenerProcess("bdowner1", port: port, in: ns, dir: dir)
            defer { first.stop() }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon)
            defer { daemon.stop() }
            var owner: OnceDocument.Owner?
            try waitUntil("bdowner1 to own port \(port)") {
                owner = try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: port)?.owner
                return owner?.comm == "bdowner1"
            }
            #expect(owner?.pid == first.pid)
            #expect(owner?.cmdline == nil, "/snapshot carries no command lines")
            let labels = ["port": "\(port)", "process": "bdowner1"]
            #expect(MetricsText.value(try scrape(ns).text, "backlogd_listener_info", labels.merging(["pid": "\(first.pid)"]) { $1 }) == 1)
            // --once (local) shows the command line.
            let once = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"]).stdout)
            #expect(once.listener(port: port)?.owner?.cmdline?.hasPrefix("\(dir)/bdowner1 -c") == true,
                    "\(String(describing: once.listener(port: port)?.owner))")

            // The process exits and another binds the same port: the new owner is shown.
            first.stop()
            let second = try Self.listenerProcess("bdowner2", port: port, in: ns, dir: dir)
            defer { second.stop() }
            try waitUntil("bdowner2 to own port \(port)") {
                owner = try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: port)?.owner
                return owner?.comm == "bdowner2" && owner?.pid == second.pid
            }
            #expect(!(try scrape(ns).text.contains("process=\"bdowner1\"")))
        }
    }

    /// Both layouts of this hybrid host: the unit from the name=systemd hierarchy,
    /// and from the v2 hierarchy alone (as on a pure cgroup v2 host).
    @Test func unitFromTheOwnersCgroup() throws {
        try withNamespace { ns in
            let dir = temporaryPath("unit")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let a = try Self.listenerProcess("bdunit1", port: 7071, in: ns, dir: dir)
            defer { a.stop() }
            let b = try Self.listenerProcess("bdunit2", port: 7072, in: ns, dir: dir)
            defer { b.stop() }
            let systemd = "/sys/fs/cgroup/systemd/bd-test-\(getpid()).service"
            let unified = "/sys/fs/cgroup/unified/bd-test-\(getpid()).scope"
            let layouts = [(systemd, a.pid), (unified, b.pid)].filter { FileManager.default.fileExists(atPath: URL(fileURLWithPath: $0.0).deletingLastPathComponent().path) }
            try #require(!layouts.isEmpty, "no writable cgroup hierarchy")
            for (cgroup, pid) in layouts {
                try FileManager.default.createDirectory(atPath: cgroup, withIntermediateDirectories: false)
                try "\(pid)\n".write(toFile: "\(cgroup)/cgroup.procs", atomically: false, encoding: .utf8)
            }
            defer {
                a.stop()
                b.stop()
                for (cgroup, _) in layouts { rmdir(cgroup) }
            }
            let doc = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"]).stdout)
            if layouts.contains(where: { $0.0 == systemd }) {
                #expect(doc.listener(port: 7071)?.owner?.unit == "bd-test-\(getpid()).service")
                #expect(doc.listener(port: 7071)?.owner?.cgroup == "/bd-test-\(getpid()).service")
            }
            if layouts.contains(where: { $0.0 == unified }) {
                #expect(doc.listener(port: 7072)?.owner?.unit == "bd-test-\(getpid()).scope")
            }
            let text = try ns.exec([backlogdPath(), "--once", "--format", "prometheus", "--window", "0"]).stdout
            #expect(text.contains("process=\"bdunit1\",unit=\"bd-test-\(getpid()).service\""))
        }
    }

    /// Without permission to read other users' fds: unattributed, with the
    /// reason and a counter, never a crash or a dropped listener.
    @Test func withoutPermissionListenersAreUnattributed() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("127.0.0.1", backlog: 4, bag: bag).port }
            let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", backlogdPath()]
            let r = try ns.exec(asNobody + ["--once", "--format", "json", "--window", "0"], check: false)
            #expect(r.status == 0, "\(r.stderr)")
            let doc = try OnceDocument.decode(r.stdout)
            #expect(doc.listener(port: port)?.owner == nil)
            #expect(doc.listener(port: port)?.unattributed == "no_permission")
            let text = try ns.exec(asNobody + ["--once", "--format", "prometheus", "--window", "0"], check: false).stdout
            #expect(MetricsText.value(text, "backlogd_owner_lookups_failed_total", ["reason": "no_permission"]).map { $0 >= 1 } == true)
            #expect(text.contains("port=\"\(port)\",socket=\"0\",process=\"\",unit=\"\""))

            // The two capabilities the systemd unit grants are what it takes.
            let withCaps = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all,+dac_read_search,+sys_ptrace", "--ambient-caps=+dac_read_search,+sys_ptrace",
                            backlogdPath(), "--once", "--format", "json", "--window", "0"]
            let granted = try OnceDocument.decode(try ns.exec(withCaps, check: false).stdout)
            #expect(granted.listener(port: port)?.owner?.pid == getpid(), "\(String(describing: granted.listener(port: port)))")
            for only in ["dac_read_search", "sys_ptrace"] {
                let one = withCaps.map {
                    $0.hasPrefix("--inh-caps") ? "--inh-caps=-all,+\(only)" : $0.hasPrefix("--ambient-caps") ? "--ambient-caps=+\(only)" : $0
                }
                let partial = try OnceDocument.decode(try ns.exec(one, check: false).stdout)
                #expect(partial.listener(port: port)?.unattributed == "no_permission", "with only \(only)")
            }
        }
    }

    /// The process backlogd has cached as the owner exits, and the socket lives on
    /// in another that holds it (a binary upgrade, a hot restart): the daemon shows
    /// the holder that is left, not the dead pid.
    @Test func ownerHandedOverWhenTheHolderExits() throws {
        try withNamespace { ns in
            let dir = temporaryPath("handover")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let exe = "\(dir)/bdhandover"
            try FileManager.default.createSymbolicLink(atPath: exe, withDestinationPath: "/usr/bin/python3")
            let port: UInt16 = 7077
            let parent = try BackgroundProcess([exe, "-c", """
                import os, socket, time
                s = socket.socket(); s.bind(("127.0.0.1", \(port))); s.listen(8)
                child = os.fork()
                if child == 0:
                    time.sleep(300); os._exit(0)
                print("child", child, flush=True); time.sleep(300)
                """], in: ns)
            var child: pid_t = 0
            defer {
                parent.stop()
                if child > 0 { kill(child, SIGKILL) }
            }
            try waitUntil("the child to start") {
                child = parent.log.split(separator: "\n").first { $0.hasPrefix("child ") }.flatMap { pid_t($0.dropFirst(6)) } ?? 0
                return child > 0
            }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon)
            defer { daemon.stop() }
            func ownerPid() throws -> Int32? {
                try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: port)?.owner?.pid
            }
            try waitUntil("the lower pid to own port \(port)") { try ownerPid() == min(parent.pid, child) }
            let survivor = parent.pid < child ? child : parent.pid
            kill(parent.pid < child ? parent.pid : child, SIGKILL)
            try waitUntil("pid \(survivor) to own port \(port)") { try ownerPid() == survivor }
            #expect(MetricsText.value(try scrape(ns).text, "backlogd_listener_info", ["port": "\(port)", "pid": "\(survivor)"]) == 1)
        }
    }

    /// Socket activation: pid 1 holds the socket and so does the service it
    /// started; the service is the owner. A PID namespace of the test's own gives
    /// a real pid 1 (python, named bdinit) and a child holding the same socket.
    @Test func theServiceNotPid1OwnsAnActivatedSocket() throws {
        try withNamespace { ns in
            let dir = temporaryPath("activation")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            for name in ["bdinit", "bdservice"] {
                try FileManager.default.createSymbolicLink(atPath: "\(dir)/\(name)", withDestinationPath: "/usr/bin/python3")
            }
            let port: UInt16 = 7078
            let initProcess = try BackgroundProcess(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "\(dir)/bdinit", "-c", """
                import os, socket, subprocess, time
                assert os.getpid() == 1
                s = socket.socket(); s.bind(("127.0.0.1", \(port))); s.listen(8)
                subprocess.Popen(["\(dir)/bdservice", "-c", "import time; time.sleep(300)"], pass_fds=[s.fileno()])
                print("ready", flush=True); time.sleep(300)
                """], in: ns)
            defer { initProcess.stop() }
            try waitUntil("bdinit to start its service") { initProcess.log.contains("ready") }
            // The host pid of the namespace's pid 1: unshare's child.
            let children = try String(contentsOfFile: "/proc/\(initProcess.pid)/task/\(initProcess.pid)/children", encoding: .utf8)
            let hostPid = try #require(children.split(separator: " ").first.flatMap { Int32($0) })
            // Its pid 1 ignores SIGTERM from outside; SIGKILL ends it and the namespace's every process.
            defer { kill(hostPid, SIGKILL) }
            let r = try run(["nsenter", "--target", "\(hostPid)", "--pid", "--mount", "--net",
                             backlogdPath(), "--once", "--format", "json", "--window", "0"], check: false)
            let owner = try OnceDocument.decode(r.stdout).listener(port: port)?.owner
            #expect(owner?.comm == "bdservice", "\(String(describing: owner)) \(r.stderr)")
            #expect(owner?.pid == 2)
        }
    }
}
