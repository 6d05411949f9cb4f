import BacklogCore
import Foundation
import Testing

/// The Debian package and its unit under a live systemd: this machine's /usr
/// booted as a throw-away container (SystemdContainer), the package from
/// dist/ installed with dpkg inside. One boot per test; serialized, so two
/// boots never compete for the two cores.
@Suite(.serialized) struct LiveSystemdTests {
    /// Boots a container with dist/ bound in, installs the package, waits for the service.
    func withInstalledPackage(_ body: (SystemdContainer, String) throws -> Void) throws {
        let deb = try DebianPackage.built()
        let debDir = URL(fileURLWithPath: deb).deletingLastPathComponent().path
        let c = try SystemdContainer(readOnly: [debDir: "/bd-pkg"])
        defer { c.powerOff() }
        try c.prepareForDpkg()
        let inside = "/bd-pkg/" + URL(fileURLWithPath: deb).lastPathComponent
        let r = try c.exec(["dpkg", "-i", inside], check: false, timeout: 120)
        try #require(r.status == 0, "dpkg -i: \(r.stdout) \(r.stderr)")
        try waitForActive(c)
        try body(c, deb)
    }

    /// Generous: a start under a loaded machine's systemd (its first collection first) can be slow.
    func waitForActive(_ c: SystemdContainer, timeout: Double = 60) throws {
        do {
            try waitUntil("backlogd.service active and /metrics answering", timeout: timeout) {
                let state = try c.property("backlogd.service", "ActiveState")
                return state == "active" && c.get() != nil
            }
        } catch {
            Issue.record("\(error); journal:\n\(c.journal("backlogd.service"))")
            throw error
        }
    }

    /// A root-owned listener in a unit of its own (python3's http.server on 127.0.0.1:PORT).
    func startRootListener(_ c: SystemdContainer, unit: String, port: Int, netns: String? = nil) throws {
        let server = ["/usr/bin/python3", "-m", "http.server", "\(port)", "--bind", "127.0.0.1"]
        try c.exec(["systemd-run", "--unit=\(unit)", "--property=Type=exec"]
                   + (netns.map { ["ip", "netns", "exec", $0] } ?? []) + server)
    }

    /// Waits for `text` in the unit's journal (journald may lag behind the state).
    func waitForJournal(_ c: SystemdContainer, _ text: String, unit: String = "backlogd.service") throws {
        do {
            try waitUntil("\(text) in the journal of \(unit)", timeout: 60) { c.journal(unit).contains(text) }
        } catch {
            Issue.record("\(error); journal:\n\(c.journal(unit))")
            throw error
        }
    }

    /// The first line of `text` that contains every one of `parts`.
    func line(_ text: String?, with parts: [String]) -> String? {
        text?.split(separator: "\n").map(String.init).first { l in parts.allSatisfy { l.contains($0) } }
    }

    /// dpkg -i: the service runs enabled, hardened, as its own user, with
    /// READY sent, serves /metrics and attributes a root listener of another
    /// unit. The same binary repackaged as -2: the upgrade restarts it and
    /// keeps an edited conffile. dpkg -r stops it and keeps config and user;
    /// dpkg --purge takes the rest.
    @Test func packageInstallUpgradeRemovePurge() throws {
        try withInstalledPackage { c, deb in
            // Started by the package, enabled for the next boot, READY=1 seen
            // (a Type=notify unit is "active" and "Started" only after it).
            #expect(try c.property("backlogd.service", "UnitFileState") == "enabled")
            #expect(try c.property("backlogd.service", "SubState") == "running")
            #expect(try c.property("backlogd.service", "StatusText").hasPrefix("serving "))
            try waitForJournal(c, "Started backlogd.service")
            #expect(try c.property("backlogd.service", "ExecStart").contains("path=/usr/bin/backlogd "))
            let pid = try c.property("backlogd.service", "MainPID")
            let status = try c.exec(["cat", "/proc/\(pid)/status"]).stdout
            // CAP_DAC_READ_SEARCH (2) + CAP_SYS_PTRACE (19), nothing else; seccomp filter on.
            #expect(line(status, with: ["CapEff:"])?.hasSuffix("0000000000080004") == true, "\(status)")
            #expect(line(status, with: ["Seccomp:"])?.hasSuffix("2") == true)
            #expect(try c.exec(["ps", "-o", "user=", "-p", pid]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "backlogd")
            let metrics = c.get()
            #expect(line(metrics, with: ["backlogd_build_info{", "version=\"\(BacklogdVersion.current)\""]) != nil)

            // A listener of root in another unit: process and unit through the capabilities.
            try startRootListener(c, unit: "bd-root-listener", port: 8081)
            let parts = ["backlogd_listener_info{", "port=\"8081\"", "process=\"python3\"", "unit=\"bd-root-listener.service\""]
            try waitUntil("the root listener attributed in /metrics", timeout: 30) { line(c.get(), with: parts) != nil }

            // Upgrade to the same binary as -2: restarted (a new process), conffile edit kept.
            let dir = temporaryPath("deb2")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let deb2 = try DebianPackage.repackage(deb, revision: "2", into: dir)
            #expect(try DebianPackage.field(deb2, "Version") == "\(BacklogdVersion.current)-2")
            try FileManager.default.copyItem(atPath: deb2, toPath: c.hostDir + "/upgrade.deb")
            try c.sh("echo '# edited by the test' >> /etc/backlogd/config.yaml")
            let invocation = try c.property("backlogd.service", "InvocationID")
            let up = try c.exec(["dpkg", "-i", "/bd-test/upgrade.deb"], check: false, timeout: 120)
            try #require(up.status == 0, "upgrade: \(up.stdout) \(up.stderr)")
            try waitForActive(c)
            #expect(try c.property("backlogd.service", "InvocationID") != invocation, "not restarted by the upgrade")
            #expect(try c.property("backlogd.service", "MainPID") != pid)
            #expect(try c.exec(["cat", "/etc/backlogd/config.yaml"]).stdout.hasSuffix("# edited by the test\n"))
            #expect(try c.exec(["dpkg-query", "-W", "-f=${Version}", "backlogd"]).stdout == "\(BacklogdVersion.current)-2")
            #expect(try c.exec(["/usr/bin/backlogd", "--version"]).stdout == "\(BacklogdVersion.current)\n")

            // Remove: stopped, config and user kept.
            let rm = try c.exec(["dpkg", "-r", "backlogd"], check: false, timeout: 60)
            try #require(rm.status == 0, "dpkg -r: \(rm.stdout) \(rm.stderr)")
            #expect(try c.property("backlogd.service", "ActiveState") != "active")
            #expect(c.get() == nil, "something still serves :24519 after dpkg -r")
            #expect(try c.exec(["test", "-f", "/etc/backlogd/config.yaml"], check: false).status == 0)
            #expect(try c.exec(["getent", "passwd", "backlogd"], check: false).status == 0)

            // Purge: config, enablement and package gone.
            let purge = try c.exec(["dpkg", "--purge", "backlogd"], check: false, timeout: 60)
            try #require(purge.status == 0, "dpkg --purge: \(purge.stdout) \(purge.stderr)")
            #expect(try c.exec(["test", "-e", "/etc/backlogd"], check: false).status != 0)
            #expect(try c.exec(["test", "-e", "/etc/systemd/system/multi-user.target.wants/backlogd.service"], check: false).status != 0)
            #expect(try c.property("backlogd.service", "LoadState") == "not-found")
            #expect(try c.exec(["dpkg-query", "-W", "-f=${Status}", "backlogd"], check: false).stdout.contains("installed") == false)
        }
    }

    /// Without /etc/backlogd/config.yaml the service runs on the defaults (the
    /// unit names no --config). `systemctl reload` with a changed file applies
    /// it; with a broken one it logs, keeps the old config and stays active.
    @Test func runsOnDefaultsAndReloads() throws {
        try withInstalledPackage { c, _ in
            try c.exec(["rm", "/etc/backlogd/config.yaml"])
            let before = try c.property("backlogd.service", "NRestarts")
            try c.exec(["systemctl", "restart", "backlogd.service"])
            try waitForActive(c)
            try startRootListener(c, unit: "bd-root-listener", port: 8081)
            try waitUntil("port 8081 in /metrics", timeout: 30) { line(c.get(), with: ["port=\"8081\""]) != nil }
            // Still the same process: no crash loop on a missing file.
            #expect(try c.property("backlogd.service", "NRestarts") == before)
            #expect(try c.property("backlogd.service", "ActiveState") == "active")
            #expect(!c.journal("backlogd.service").contains("cannot read"))

            // A valid change: port 8081 filtered out.
            try c.write("ports:\n  exclude: [8081]\n", to: "/etc/backlogd/config.yaml")
            try c.exec(["systemctl", "reload", "backlogd.service"])
            try waitUntil("the reload to drop port 8081", timeout: 30) {
                guard let m = c.get() else { return false }
                return line(m, with: ["port=\"8081\""]) == nil
            }
            try waitForJournal(c, "config reloaded")

            // A broken file: logged, the running config (8081 excluded) stays, still active.
            let pid = try c.property("backlogd.service", "MainPID")
            try c.write("ports: [broken\n", to: "/etc/backlogd/config.yaml")
            try c.exec(["systemctl", "reload", "backlogd.service"])
            try waitForJournal(c, "config reload failed")
            #expect(try c.property("backlogd.service", "ActiveState") == "active")
            #expect(try c.property("backlogd.service", "MainPID") == pid)
            // Two collections after the failed reload: the second began after it.
            let m = try waitForCollections(2, of: "tcp") { c.get() }
            #expect(line(m, with: ["port=\"8081\""]) == nil)
        }
    }

    /// WatchdogSec=3s (a drop-in) and the main process stopped with SIGSTOP:
    /// systemd kills it for the missed watchdog and starts it again.
    @Test func watchdogRestartsAStoppedDaemon() throws {
        try withInstalledPackage { c, _ in
            try c.write("[Service]\nWatchdogSec=3s\n", to: "/etc/systemd/system/backlogd.service.d/watchdog.conf")
            try c.exec(["systemctl", "daemon-reload"])
            try c.exec(["systemctl", "restart", "backlogd.service"])
            try waitForActive(c)
            #expect(try c.property("backlogd.service", "WatchdogUSec") == "3s")
            let restarts = Int(try c.property("backlogd.service", "NRestarts")) ?? -1
            let pid = try c.property("backlogd.service", "MainPID")
            try c.exec(["kill", "-STOP", pid])
            // 3 s watchdog, then SIGABRT, SIGKILL after TimeoutAbortSec (the unit's 15 s), 2 s RestartSec.
            try waitUntil("a restart after the watchdog fired", timeout: 90) {
                let now = Int(try c.property("backlogd.service", "NRestarts")) ?? -1
                let main = try c.property("backlogd.service", "MainPID")
                return now > restarts && main != pid && main != "0"
            }
            try waitForActive(c)
            try waitForJournal(c, "Watchdog timeout")
        }
    }

    /// `systemctl stop` while a client scrapes in a loop: a clean exit.
    @Test func stopDuringScrapesIsClean() throws {
        try withInstalledPackage { c, _ in
            try c.exec(["systemd-run", "--unit=bd-scraper", "sh", "-c",
                        "while :; do curl -s -o /dev/null http://127.0.0.1:24519/metrics && echo >> /run/bd-scrapes; done"])
            try waitUntil("scrapes under way", timeout: 30) {
                let n = try c.sh("wc -l < /run/bd-scrapes 2>/dev/null || echo 0").stdout
                return (Int(n.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 20
            }
            try c.exec(["systemctl", "stop", "backlogd.service"], timeout: 60)
            #expect(try c.property("backlogd.service", "ActiveState") == "inactive")
            #expect(try c.property("backlogd.service", "Result") == "success")
            #expect(try c.property("backlogd.service", "ExecMainStatus") == "0")
            _ = try? c.exec(["systemctl", "stop", "bd-scraper.service"], check: false)
        }
    }

    /// The packaged all-namespaces drop-in (installed inactive, as an example)
    /// with `namespaces.all: true`: a namespace made inside the container after
    /// the start is found and its listener watched.
    @Test func allNamespacesDropInWatchesANewNamespace() throws {
        try withInstalledPackage { c, _ in
            #expect(try c.exec(["test", "-e", "/etc/systemd/system/backlogd.service.d/all-namespaces.conf"], check: false).status != 0,
                    "the drop-in must not be active by default")
            try c.exec(["install", "-D", "-m", "0644", "/usr/share/doc/backlogd/examples/all-namespaces.conf",
                        "/etc/systemd/system/backlogd.service.d/all-namespaces.conf"])
            try c.sh("sed -i 's/^  all: false$/  all: true/' /etc/backlogd/config.yaml && grep -q '^  all: true$' /etc/backlogd/config.yaml")
            try c.exec(["systemctl", "daemon-reload"])
            try c.exec(["systemctl", "restart", "backlogd.service"])
            try waitForActive(c)
            try c.exec(["ip", "netns", "add", "bd-live"])
            try c.exec(["ip", "-n", "bd-live", "link", "set", "lo", "up"])
            try startRootListener(c, unit: "bd-ns-listener", port: 8082, netns: "bd-live")
            try waitUntil("namespace bd-live's listener in /metrics", timeout: 60) {
                line(c.get(), with: ["backlogd_listen_queue_length{", "netns=\"bd-live\"", "port=\"8082\""]) != nil
            }
            let m = c.get()
            #expect(line(m, with: ["backlogd_source_up{", "netns=\"bd-live\"", "source=\"tcp\"", "} 1"]) != nil)
            _ = try? c.exec(["systemctl", "stop", "bd-ns-listener.service"], check: false)
        }
    }
}
