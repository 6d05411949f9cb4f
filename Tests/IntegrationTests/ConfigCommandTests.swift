import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// --check-config, --config and the flags on top of the file, through the executable.
@Suite struct ConfigCommandTests {
    @Test func checkConfigReportsErrorsWithKeyAndLine() throws {
        let file = temporaryPath("check.yaml")
        defer { unlink(file) }
        try "interval: 1s\nhttp:\n  idle_timeout: forever\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try run([backlogdPath(), "--check-config", "--config", file], check: false)
        #expect(bad.status == 1)
        #expect(bad.stderr == "backlogd: config: \(file):3: http.idle_timeout: 'forever' is not a duration (e.g. 250ms, 15s, 1m)\n")

        let missing = try run([backlogdPath(), "--check-config", "--config", file + ".missing"], check: false)
        #expect(missing.status == 1 && missing.stderr.contains("No such file"))

        // Flags win over the file.
        try "interval: 1s\nports:\n  exclude: [22]\n".write(toFile: file, atomically: true, encoding: .utf8)
        let ok = try run([backlogdPath(), "--check-config", "--config", file, "--interval", "2s", "--listen", "[::1]:9999"])
        #expect(ok.stdout.contains("listen=[::1]:9999 interval=2s peak_window=15s ports.exclude=22 "), "\(ok.stdout)")
        // Flags have the file's ranges: accepted where the file accepts, refused where it refuses,
        // as a usage error (64) like any other bad flag.
        #expect(try run([backlogdPath(), "--check-config", "--config", file, "--close-wait-after", "2h"], check: false).status == 0)
        let slow = try run([backlogdPath(), "--check-config", "--config", file, "--interval", "2m"], check: false)
        #expect(slow.status == 64 && slow.stderr.contains("--interval: 2m is out of range 10ms–60s"), "\(slow.stderr)")
        // A daemon flag with a bad value is a usage error.
        #expect(try run([backlogdPath(), "--check-config", "--listen", "::1:80"], check: false).status == 64)
        #expect(try run([backlogdPath(), "--check-config", "--log-level", "loud"], check: false).status == 64)
    }

    @Test func onceAppliesPortFilters() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let (a, b) = try ns.enter {
                (try TestSockets.listenTCP("127.0.0.1", backlog: 5, bag: bag).port,
                 try TestSockets.listenTCP("127.0.0.1", backlog: 5, bag: bag).port)
            }
            func ports(_ args: [String]) throws -> Set<UInt16> {
                let out = try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"] + args).stdout
                return Set(try OnceDocument.decode(out).listeners.compactMap(\.port))
            }
            #expect(try ports([]) == [a, b])
            #expect(try ports(["--exclude-port", "\(a)"]) == [b])
            #expect(try ports(["--include-port", "\(min(a, b))-\(max(a, b))", "--exclude-port", "\(b)"]) == [a])
            let file = temporaryPath("once.yaml")
            defer { unlink(file) }
            try "ports:\n  include: [\(b)]\n".write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try ports(["--config", file]) == [b])
        }
    }

    @Test func daemonServesIPv6AndSeveralAddresses() throws {
        try withNamespace { ns in
            let daemon = try startDaemon(in: ns, ["--listen", "[::1]:24519"])
            defer { daemon.stop() }
            #expect(daemon.log.contains("listening=127.0.0.1:24519,[::1]:24519"), "\(daemon.log)")
            let v6 = try ns.enter { try HTTPProbe.get(24519, "/healthz", host: "::1") }
            #expect(v6.status == 200)
            #expect(try scrape(ns, "/healthz").status == 200)
        }
    }
}
