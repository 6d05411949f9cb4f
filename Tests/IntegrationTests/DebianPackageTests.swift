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

    /// The release binary's `--once` — with and without a window, with a listener
    /// whose queue is full (the early deep look) — runs to its end, three times each.
    /// Its malloc has one arena, where a never-initialised value in
    /// NamespaceCollector.once crashed every run (SIGSEGV in swift_release); a
    /// debug build and ASan never showed it.
    @Test func releaseOnceRunsToItsEnd() throws {
        let deb = try DebianPackage.built()
        let dir = temporaryPath("deb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try run(["dpkg-deb", "-x", deb, dir])
        let bag = SocketBag()
        defer { bag.closeAll() }
        let (_, port) = try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: bag)
        let clients = try Clients.connect(3, port: port, bag: bag)
        Clients.send(Clients.request, on: clients)
        for args in [["--once"], ["--once", "--window", "1", "--include-address", "127.0.0.1:\(port)"]] {
            for _ in 0..<3 {
                let r = try run(["\(dir)/usr/bin/backlogd"] + args, check: false, timeout: 60)
                // 0–3: the worst finding's severity; a crash reads as 128 + the signal.
                #expect((0...3).contains(r.status), "\(args) exited \(r.status): \(r.stderr)")
            }
        }
    }
}
