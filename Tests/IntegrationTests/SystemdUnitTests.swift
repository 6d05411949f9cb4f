import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// systemd/backlogd.service passes `systemd-analyze verify` without a word on
/// stderr (verify exits 0 on unknown keys and bad syscall groups, so the
/// silence is what counts), with ExecStart pointed at the built binary.
@Suite struct SystemdUnitTests {
    static var unitPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../systemd/backlogd.service").standardized.path
    }

    static var dropInPath: String {
        URL(fileURLWithPath: unitPath).deletingLastPathComponent().appendingPathComponent("backlogd.service.d/all-namespaces.conf").path
    }

    func verify(_ unit: String, dropIn: String? = nil) throws -> CommandResult {
        let dir = temporaryPath("unit")
        try FileManager.default.createDirectory(atPath: dir + "/backlogd.service.d", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try unit.write(toFile: "\(dir)/backlogd.service", atomically: true, encoding: .utf8)
        if let dropIn { try dropIn.write(toFile: "\(dir)/backlogd.service.d/all-namespaces.conf", atomically: true, encoding: .utf8) }
        return try run(["systemd-analyze", "verify", "\(dir)/backlogd.service"], check: false)
    }

    @Test func unitVerifiesCleanly() throws {
        let unit = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/local/bin/backlogd\n"))
        let local = unit.replacingOccurrences(of: "ExecStart=/usr/local/bin/backlogd", with: "ExecStart=\(backlogdPath())")
        let r = try verify(local)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        for line in ["Type=notify", "WatchdogSec=", "Restart=on-failure", "User=backlogd", "ProtectSystem=strict",
                     "NoNewPrivileges=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                     "SystemCallFilter=@system-service", "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE",
                     "AmbientCapabilities=CAP_DAC_READ_SEARCH CAP_SYS_PTRACE", "ExecReload="] {
            #expect(unit.contains("\n" + line), "unit lacks \(line)")
        }
        // Hardening that would break the daemon at run time, which verify cannot see.
        #expect(!unit.contains("\nProcSubset=pid"), "hides /proc/net and /proc/sys")
        #expect(!unit.contains("\nPrivateNetwork=yes"), "would show an empty namespace")
        #expect(!unit.contains("\nProtectProc=invisible"), "hides other users' processes: no owners")

        // The check can fail: a bad syscall group and an unknown key are reported.
        let broken = local.replacingOccurrences(of: "SystemCallFilter=@system-service", with: "SystemCallFilter=@no-such-group\nNoSuchKey=1")
        #expect(!(try verify(broken)).stderr.isEmpty)
    }

    /// The drop-in for namespaces.all adds CAP_SYS_ADMIN and allows network namespaces only.
    @Test func allNamespacesDropInVerifiesCleanly() throws {
        let unit = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
            .replacingOccurrences(of: "ExecStart=/usr/local/bin/backlogd", with: "ExecStart=\(backlogdPath())")
        let dropIn = try String(contentsOfFile: Self.dropInPath, encoding: .utf8)
        for line in ["CapabilityBoundingSet=CAP_SYS_ADMIN", "AmbientCapabilities=CAP_SYS_ADMIN", "RestrictNamespaces=net"] {
            #expect(dropIn.contains("\n" + line + "\n"), "drop-in lacks \(line)")
        }
        let r = try verify(unit, dropIn: dropIn)
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        // verify reads the drop-in: a bad key in it is reported.
        #expect(!(try verify(unit, dropIn: dropIn + "NoSuchKey=1\n")).stderr.isEmpty)
    }

    /// The unit names no config file: the default path is read if it exists,
    /// and a file named with --config must exist (the service crash-looped on
    /// a host without /etc/backlogd/config.yaml). LiveSystemdTests starts it so.
    @Test func execStartNamesNoConfigFile() throws {
        let unit = try String(contentsOfFile: Self.unitPath, encoding: .utf8)
        let exec = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        #expect(exec == "ExecStart=/usr/local/bin/backlogd", "\(exec)")
        let settings = unit.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!settings.contains { $0.contains("--config") })
    }
}
