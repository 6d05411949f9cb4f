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
