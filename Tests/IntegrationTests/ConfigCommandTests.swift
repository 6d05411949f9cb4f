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

    /// A FIFO as the config used to hold --check-config until someone wrote to it.
    @Test func checkConfigRefusesAFifoAtOnce() throws {
        let fifo = temporaryPath("fifo.yaml")
        guard mkfifo(fifo, 0o600) == 0 else { throw POSIXFailure("mkfifo \(fifo)") }
        defer { unlink(fifo) }
        let r = try run([backlogdPath(), "--check-config", "--config", fifo], check: false, timeout: 20)
        #expect(r.status == 1 && r.stderr == "backlogd: config: \(fifo): not a regular file (fifo)\n", "\(r.status) \(r.stderr)")
        // --once reads the same file the same way (its exit status for an unusable config is 3).
        let once = try run([backlogdPath(), "--once", "--window", "0", "--config", fifo], check: false, timeout: 20)
        #expect(once.status == 3 && once.stderr.contains("not a regular file (fifo)"), "\(once.status) \(once.stderr)")
    }

    /// /dev/zero's 1 MiB of NULs and a 1 MB line used to come back whole on stderr.
    @Test func checkConfigErrorsAreShort() throws {
        let zero = try run([backlogdPath(), "--check-config", "--config", "/dev/zero"], check: false, timeout: 20)
        #expect(zero.status == 1 && zero.stderr == "backlogd: config: /dev/zero: not a regular file (character device)\n",
                "\(zero.status) \(zero.stderr.prefix(300))")
        let file = temporaryPath("long.yaml")
        defer { unlink(file) }
        try ("interval: " + String(repeating: "7", count: 1_000_000) + "s\n").write(toFile: file, atomically: true, encoding: .utf8)
        let long = try run([backlogdPath(), "--check-config", "--config", file], check: false, timeout: 20)
        #expect(long.status == 1 && long.stderr.utf8.count < 250, "\(long.stderr.utf8.count) bytes: \(long.stderr.prefix(300))")
        #expect(long.stderr == "backlogd: config: \(file):1: interval: \(String(repeating: "7", count: 80))… is out of range 10ms–60s\n",
                "\(long.stderr.prefix(300))")
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
            try waitForStartupLine(daemon)
            #expect(daemon.log.contains("listening=127.0.0.1:24519,[::1]:24519"), "\(daemon.log)")
            let v6 = try ns.enter { try HTTPProbe.get(24519, "/healthz", host: "::1") }
            #expect(v6.status == 200)
            #expect(try scrape(ns, "/healthz").status == 200)
        }
    }
}
