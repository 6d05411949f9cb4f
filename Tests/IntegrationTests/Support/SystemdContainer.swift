import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// This machine's own /usr booted under a live systemd by systemd-nspawn, as a
/// throw-away container: `--volatile=yes` (a fresh tmpfs root and /etc),
/// `--private-network` (its services cannot touch this machine's ports), and
/// writable overlays of /usr and /var (so `dpkg -i` works inside while the
/// machine stays untouched). Commands run inside through `nsenter` into the
/// container's namespaces, each with a deadline. `powerOff()` ends it (always
/// call it, defer): poweroff, then SIGKILL of the container's pid 1 (which ends
/// every process in it) if it does not stop in time.
final class SystemdContainer: @unchecked Sendable {
    /// Host folder bound writable at `/bd-test` inside: files to copy in.
    let hostDir: String
    let name: String
    private let nspawn: BackgroundProcess
    /// The container's pid 1 (systemd), as this machine numbers it.
    let leader: pid_t

    /// `readOnly` binds: host path → path inside.
    init(readOnly binds: [String: String] = [:]) throws {
        try requireRootImpl()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-nspawn") else {
            throw MissingTool(tool: "systemd-nspawn", package: "systemd-container")
        }
        Self.sweepOnce
        name = "bd-test-\(getpid())-\(nextUniqueNumber())"
        hostDir = temporaryPath("nspawn")
        try FileManager.default.createDirectory(atPath: hostDir, withIntermediateDirectories: true)
        // A machine id of its own: without one systemd treats the boot as its
        // first and enables every unit by preset (nginx, prometheus, …).
        let machineID = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try (machineID + "\n").write(toFile: hostDir + "/machine-id", atomically: true, encoding: .utf8)
        var args = ["systemd-nspawn", "--quiet", "--keep-unit", "--register=no", "--machine=\(name)",
                    "--volatile=yes", "--directory=/", "--boot", "--console=pipe", "--private-network",
                    "--overlay=/usr::/usr", "--overlay=/var::/var",
                    "--bind=\(hostDir)/machine-id:/etc/machine-id", "--bind=\(hostDir):/bd-test"]
        for (host, inside) in binds.sorted(by: { $0.key < $1.key }) { args.append("--bind-ro=\(host):\(inside)") }
        let process = try BackgroundProcess(args)
        var found: pid_t = 0
        do {
            try waitUntil("systemd-nspawn to start the container's systemd", timeout: 30) {
                if let code = process.poll() { throw ContainerFailed(what: "systemd-nspawn exited \(code): \(process.log)") }
                found = Self.systemdChild(of: process.pid) ?? 0
                return found != 0
            }
        } catch {
            process.stop(grace: 10)
            try? FileManager.default.removeItem(atPath: hostDir)
            throw error
        }
        nspawn = process
        leader = found
        do {
            // Boot done (degraded is fine: the fresh /etc leaves some units failing).
            // Until systemd has made its socket, systemctl cannot ask: try again.
            var state = CommandResult(status: 0, stdout: "", stderr: "")
            do {
                try waitUntil("the container's boot to finish", timeout: 90) {
                    state = try exec(["systemctl", "is-system-running", "--wait"], check: false, timeout: 90)
                    return ["running", "degraded"].contains(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            } catch {
                throw ContainerFailed(what: "boot ended \(state.stdout) \(state.stderr)")
            }
        } catch {
            if found != 0 { kill(found, SIGKILL) }
            nspawn.stop(grace: 10)
            try? FileManager.default.removeItem(atPath: hostDir)
            throw error
        }
    }

    /// Containers left by an earlier test process that died (its pid, in the
    /// machine name, is gone): their systemd gets SIGKILL, which ends them.
    private static let sweepOnce: Void = {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for entry in entries {
            guard let pid = pid_t(entry),
                  let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let args = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard args.first?.hasSuffix("systemd-nspawn") == true,
                  let machine = args.first(where: { $0.hasPrefix("--machine=bd-test-") }) else { continue }
            let parts = machine.dropFirst("--machine=".count).split(separator: "-")
            guard parts.count == 4, let owner = pid_t(parts[2]), owner != getpid(),
                  kill(owner, 0) != 0, errno == ESRCH else { continue }
            if let child = systemdChild(of: pid) { kill(child, SIGKILL) }
        }
    }()

    /// nspawn's child once it has exec'd systemd (the inner child is nspawn too).
    private static func systemdChild(of pid: pid_t) -> pid_t? {
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ pid_t($0) }) {
            let comm = (try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8)) ?? ""
            if comm.hasPrefix("systemd") && !comm.hasPrefix("systemd-nspawn") { return child }
        }
        return nil
    }

    /// Runs `args` inside the container (its mount, pid, network, … namespaces), as root.
    @discardableResult
    func exec(_ args: [String], check: Bool = true, timeout: Double = 60) throws -> CommandResult {
        try run(["nsenter", "--target", "\(leader)", "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup",
                 "--wd=/", "env", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"] + args, check: check, timeout: timeout)
    }

    /// `sh -c script` inside.
    @discardableResult
    func sh(_ script: String, check: Bool = true, timeout: Double = 60) throws -> CommandResult {
        try exec(["sh", "-c", script], check: check, timeout: timeout)
    }

    /// Writes `text` to `path` inside (through the bound folder).
    func write(_ text: String, to path: String, mode: String = "0644") throws {
        let staged = "staged-\(UUID().uuidString)"
        try text.write(toFile: "\(hostDir)/\(staged)", atomically: true, encoding: .utf8)
        try exec(["install", "-D", "-m", mode, "/bd-test/\(staged)", path])
        unlink("\(hostDir)/\(staged)")
    }

    /// `systemctl show -p NAME --value unit`.
    func property(_ unit: String, _ name: String) throws -> String {
        try exec(["systemctl", "show", "-p", name, "--value", unit]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The unit's journal since the container booted.
    func journal(_ unit: String) -> String {
        (try? exec(["journalctl", "--no-pager", "-o", "cat", "-u", unit], check: false))?.stdout ?? ""
    }

    /// GET http://127.0.0.1:PORT/PATH from inside the container; nil when nothing answers.
    /// Patient (20 s): a loaded machine can make an answer slow, and some calls are not retried.
    func get(_ path: String = "/metrics", port: Int = 24519) -> String? {
        guard let r = try? exec(["curl", "-sf", "--max-time", "20", "http://127.0.0.1:\(port)\(path)"], check: false, timeout: 30),
              r.status == 0 else { return nil }
        return r.stdout
    }

    /// Stops the container and removes its folder: poweroff, else SIGKILL of its pid 1.
    func powerOff() {
        _ = try? exec(["systemctl", "poweroff", "--no-block"], check: false, timeout: 15)
        if (try? nspawn.wait(timeout: 30)) == nil {
            kill(leader, SIGKILL)
            nspawn.stop(grace: 10)
        }
        nspawn.stop()
        try? FileManager.default.removeItem(atPath: hostDir)
    }

    /// Before `dpkg -i` inside: this machine image's `exit 101` policy-rc.d
    /// would make deb-systemd-invoke refuse to start services (it lives in the
    /// /usr overlay, so removing it leaves the machine's alone), and the copied
    /// dpkg database's statoverride names groups the fresh /etc lacks.
    func prepareForDpkg() throws {
        try sh("rm -f /usr/sbin/policy-rc.d && : > /var/lib/dpkg/statoverride")
    }
}

struct ContainerFailed: Error, CustomStringConvertible {
    var what: String
    var description: String { "systemd container: \(what)" }
}

/// A tool the tests need is not installed: fail with the package to add (CI installs it via .ci/run).
struct MissingTool: Error, CustomStringConvertible {
    var tool: String
    var package: String
    var description: String { "\(tool) is missing: install the Debian package \(package) (.ci/run does)" }
}

