import BacklogCore
import Foundation
import Testing

/// dist/'s .deb (packaging/deb/build) without installing it: lintian finds no
/// errors, the files are where Debian wants them, the version is the binary's.
@Suite struct DebianPackageTests {
    @Test func lintianReportsNoErrors() throws {
        let deb = try DebianPackage.built()
        let r = try run(["lintian", "--fail-on", "error", deb], check: false, timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.split(separator: "\n").contains { $0.hasPrefix("E: ") }, "\(r.stdout)")
    }

    @Test func contentsVersionAndDepends() throws {
        let deb = try DebianPackage.built()
        #expect(try DebianPackage.field(deb, "Version") == "\(BacklogdVersion.current)-1")
        #expect(try DebianPackage.field(deb, "Package") == "backlogd")
        // From dpkg-shlibdeps: the libraries the static-stdlib binary still links.
        let depends = try DebianPackage.field(deb, "Depends")
        for lib in ["libc6", "libmnl0", "zlib1g", "libstdc++6", "libgcc-s1"] {
            #expect(depends.contains(lib), "Depends lacks \(lib): \(depends)")
        }
        let files = try run(["dpkg-deb", "--contents", deb]).stdout
        for path in ["./usr/bin/backlogd", "./lib/systemd/system/backlogd.service", "./usr/lib/sysusers.d/backlogd.conf",
                     "./etc/backlogd/config.yaml", "./usr/share/backlogd/alerts.yml", "./usr/share/backlogd/dashboard.json",
                     "./usr/share/doc/backlogd/examples/all-namespaces.conf", "./usr/share/doc/backlogd/copyright"] {
            #expect(files.contains(" \(path)\n"), "the package lacks \(path)")
        }
        #expect(!files.contains("/usr/local/"), "a package must not install into /usr/local")
        #expect(!files.contains("./etc/systemd/"), "the all-namespaces drop-in must not be active by default")

        let dir = temporaryPath("deb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["dpkg-deb", "-R", deb, dir])
        #expect(try String(contentsOfFile: "\(dir)/DEBIAN/conffiles", encoding: .utf8) == "/etc/backlogd/config.yaml\n")
        let unit = try String(contentsOfFile: "\(dir)/lib/systemd/system/backlogd.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=/usr/bin/backlogd\n"))
        // The binary runs without a Swift toolchain's runtime and reports the package's version.
        let ldd = try run(["ldd", "\(dir)/usr/bin/backlogd"]).stdout
        #expect(!ldd.contains("libswift") && !ldd.contains("libFoundation") && !ldd.contains("libdispatch"), "\(ldd)")
        #expect(try run(["\(dir)/usr/bin/backlogd", "--version"]).stdout == "\(BacklogdVersion.current)\n")
    }
}
