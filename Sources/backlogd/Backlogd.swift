import ArgumentParser
import BacklogCore
import BacklogExposition
#if canImport(Glibc)
import Glibc
#endif

@main
struct Backlogd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backlogd",
        abstract: "Watches the kernel's TCP and UNIX listen queues and exports them to Prometheus.",
        discussion: """
            backlogd --once prints every listener's accept queue (length/max, as `ss -lt` Recv-Q/Send-Q), \
            the TcpExt listen counters and the sysctls that bound the queues, then exits.

            Exit status of --once: 0 nothing found (info findings do not count), 1 warning findings \
            (e.g. an accept queue is full), 2 critical findings, 3 a source could not be collected \
            (a one-line reason goes to stderr; what was collected is still printed).
            """,
        version: BacklogdVersion.current
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, prometheus
    }

    @Flag(help: "Sample for --window, print a snapshot and exit.")
    var once = false

    @Option(help: "Output of --once: table (for people), json, or prometheus (exactly what /metrics serves).")
    var format: Format = .table

    @Option(help: ArgumentHelp(
        "How long --once samples the queues, e.g. 1s, 500ms, 2.5s; 0 = a single dump.",
        valueName: "duration"))
    var window: WindowDuration = WindowDuration(seconds: 1)

    mutating func run() throws {
        guard once else {
            throw ValidationError("the daemon is not built yet; run `backlogd --once`")
        }
        let snapshot = Collector().collect(window: window.seconds)
        let version = BacklogdVersion.current
        switch format {
        case .table: print(TableRenderer.render(snapshot, version: version), terminator: "")
        case .json: print(JSONRenderer.render(snapshot, version: version), terminator: "")
        case .prometheus: print(MetricsRenderer.render(snapshot, version: version), terminator: "")
        }
        let status = OnceExitStatus.of(snapshot)
        if status == OnceExitStatus.collectionFailed {
            let reasons = snapshot.failedSources.map { "\($0.name): \($0.error ?? "failed")" }
            StandardError.line("backlogd: could not collect: \(reasons.joined(separator: "; "))")
        }
        throw ExitCode(status)
    }
}
