import BacklogCore
import BacklogExposition
import Foundation
import Testing

/// The command line of CONTRACT.md: flags, help, exit statuses.
@Suite struct OnceCommandTests {
    @Test func emptyNamespaceExitsZeroWithAllFormats() throws {
        try withNamespace { ns in
            for format in ["table", "json", "prometheus"] {
                let r = try ns.exec([backlogdPath(), "--once", "--format", format, "--window", "0"], check: false)
                #expect(r.status == 0, "\(format): \(r.stderr)")
                #expect(!r.stdout.isEmpty)
            }
            let doc = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"]).stdout)
            #expect(doc.schema == 1 && doc.version == BacklogdVersion.current)
            #expect(doc.listeners.isEmpty)
            #expect(doc.counters.contains { $0.name == "ListenOverflows" && $0.value == 0 })
            #expect(doc.sysctls["net.core.somaxconn"] != nil)
        }
    }

    @Test func windowSamplesAndReportsCounterGrowth() throws {
        try withNamespace { ns in
            let r = try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "300ms"])
            #expect(r.stdout.contains("\"window_seconds\" : 0.3"))
            #expect(r.stdout.contains("\"window_delta\" : 0"))
        }
    }

    /// The namespace's own sysctls; a max equal to somaxconn is information, not a warning.
    @Test func clampedBacklogIsInfoAndSysctlsArePerNamespace() throws {
        try withNamespace { ns in
            try ns.exec(["sh", "-c", "echo 100 > /proc/sys/net/core/somaxconn"])
            let bag = SocketBag()
            defer { bag.closeAll() }
            let port = try ns.enter { try TestSockets.listenTCP("0.0.0.0", backlog: 4096, bag: bag).port }
            let r = try ns.exec([backlogdPath(), "--once", "--window", "0"], check: false)
            #expect(r.status == 0, "info findings do not count: \(r.stdout)")
            #expect(r.stdout.contains("INFO     \(SelfProcess.described("0.0.0.0:\(port)")): backlog may be clamped by net.core.somaxconn (max 100 = somaxconn)"), "\(r.stdout)")
            #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("  net.core.somaxconn") && $0.hasSuffix(" 100") })
            let doc = try OnceDocument.decode(try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"]).stdout)
            #expect(doc.sysctls["net.core.somaxconn"] == 100)
            #expect(doc.listeners.first?.queue.max == 100)
            #expect(doc.findings.map(\.kind) == ["backlog_clamped"])
        }
    }

    /// A real process names itself (prctl PR_SET_NAME) with C1 controls (NEL, CSI), a
    /// bidi override, a wide character and an invalid byte, and holds a full listener.
    /// The table shows the controls as `\xNN` UTF-8 bytes and keeps its columns.
    @Test func hostileProcessNameIsEscapedAndAligned() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            func holder(_ name: [UInt8]) throws -> (BackgroundProcess, UInt16) {
                let p = try BackgroundProcess(["python3", "-c", """
                    import ctypes, socket, sys, time
                    ctypes.CDLL(None).prctl(15, bytes.fromhex(sys.argv[1]), 0, 0, 0)
                    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
                    print("ready", s.getsockname()[1], flush=True); time.sleep(300)
                    """, name.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()], in: ns)
                try waitUntil("the listener") { p.log.contains("ready ") || p.poll() != nil }
                let port = try #require(p.log.split(separator: " ").last.flatMap { UInt16($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
                _ = try ns.enter { try TestSockets.connectTCP("127.0.0.1", port: port, bag: bag) }
                return (p, port)
            }
            let hostile: [UInt8] = [0x78, 0xC2, 0x85, 0xC2, 0x9B, 0xE2, 0x80, 0xAE, 0xE4, 0xBD, 0xA0, 0xFF, 0x79]
            let (evil, evilPort) = try holder(hostile)
            defer { evil.stop() }
            let (plain, plainPort) = try holder(Array("plain".utf8))
            defer { plain.stop() }
            var table = ""
            try waitUntil("both queues full, with their owners") {
                table = try ns.exec([backlogdPath(), "--once", "--window", "0"], check: false).stdout
                return table.split(separator: "\n").filter { $0.hasPrefix("tcp") && $0.hasSuffix("FULL") && $0.contains("]") }.count == 2
            }
            let rows = table.split(separator: "\n").filter { $0.hasPrefix("tcp") }
            let evilRow = try #require(rows.first { $0.contains(":\(evilPort) ") })
            #expect(evilRow.contains(#"x\xc2\x85\xc2\x9b\xe2\x80\xae你\#u{FFFD}y[\#(evil.pid)]"#), "\(table)")
            #expect(rows.contains { $0.contains("plain[\(plain.pid)]") && $0.contains(":\(plainPort) ") }, "\(table)")
            #expect(!table.unicodeScalars.contains { (0x80...0x9F).contains($0.value) || $0.value == 0x202E }, "\(table)")
            // FULL ends both rows at the same terminal column (你 is two columns).
            func columns(_ s: Substring) -> Int { s.unicodeScalars.reduce(0) { $0 + ($1.value == 0x4F60 ? 2 : 1) } }
            #expect(columns(evilRow) == columns(rows.first { $0.contains(":\(plainPort) ") }!), "\(table)")
        }
    }

    @Test func helpVersionAndBadFlags() throws {
        let help = try run([backlogdPath(), "--help"])
        for word in ["--once", "--format", "--window", "--version", "table", "json", "prometheus", "Exit status",
                     "--config", "--check-config", "--listen", "--log-level", "--interval", "--peak-window",
                     "--include-port", "--exclude-port", "--max-connections", "--idle-timeout", "--read-timeout",
                     "--max-header-bytes", "SIGHUP", "/metrics", "24519"] {
            #expect(help.stdout.contains(word), "--help lacks \(word)")
        }
        #expect(try run([backlogdPath(), "--version"]).stdout == BacklogdVersion.current + "\n")
        for bad in [["--once", "--window", "soon"], ["--once", "--format", "xml"], ["--once", "--window", "-1s"], ["--once", "--window", "0x10"],
                    ["--once", "--window", "1e3"], ["--bogus"]] {
            let r = try run([backlogdPath()] + bad, check: false)
            #expect(r.status == 64, "\(bad) exited \(r.status)")
            #expect(!r.stderr.isEmpty)
        }
    }

    /// The executable: status 3, one line on stderr naming the source, the rest still printed.
    @Test func unreadableSourceExitsThree() throws {
        try withNamespace { ns in
            let r = try ns.exec(["unshare", "-m", "sh", "-c",
                                 "mount -t tmpfs none /proc/sys && exec '\(backlogdPath())' --once --window 0"], check: false)
            #expect(r.status == 3)
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("backlogd: could not collect: sysctl: /proc/sys/net/core/somaxconn"), "\(r.stderr)")
            #expect(r.stdout.contains("ERROR    source sysctl failed"))
            #expect(r.stdout.contains("LISTEN COUNTERS"), "what was collected is still printed")
            #expect(r.stdout.contains("net.core.somaxconn              -"))
        }
    }

    /// A source that cannot be read is an error the caller sees (status 3), not zeros.
    @Test func failedSourceIsReportedNotZero() throws {
        try withNamespace { ns in
            let p = try ns.collect(netstat: NetstatSource(path: "/nonexistent/netstat"), sysctl: SysctlSource(root: "/nonexistent"))
            let snap = p.snapshots[0]
            #expect(OnceExitStatus.of(p) == 3)
            #expect(snap.failedSources.map(\.name) == ["netstat", "sysctl"])
            #expect(snap.failedSources.allSatisfy { $0.error?.contains("/nonexistent") == true })
            let text = MetricsRenderer.render(p, version: "test")
            #expect(!text.contains("backlogd_tcp_listen_overflows_total"), "no counter rather than a zero")
            #expect(text.contains("backlogd_source_up{netns=\"host\",source=\"netstat\"} 0"))
            #expect(text.contains("backlogd_collect_errors_total{netns=\"host\",source=\"netstat\"} 1"))
            #expect(text.contains("backlogd_source_up{netns=\"host\",source=\"tcp\"} 1"))
            let table = TableRenderer.render(p, version: "test")
            #expect(table.contains("ERROR    source netstat failed"))
        }
    }
}
