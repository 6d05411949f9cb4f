import BacklogCore
import BacklogExposition
import Foundation
import Testing

/// The whole exposition of GoldenFixture compared byte for byte with committed
/// files (as node_exporter's e2e-output.txt): any change to a name, a label, a
/// HELP text, an order or a number's spelling shows in review as a diff of
/// Golden/. After an intended change: `BACKLOGD_UPDATE_GOLDEN=1 swift test
/// --filter GoldenTests`, then read the diff before committing it.
@Suite struct GoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func check(_ produced: String, against name: String) throws {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["BACKLOGD_UPDATE_GOLDEN"] == "1" {
            try produced.write(to: url, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if produced != expected {
            let a = produced.split(separator: "\n", omittingEmptySubsequences: false)
            let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            Issue.record("\(name) differs at line \(line + 1):\n got:  \(line < a.count ? String(a[line]) : "<end>")\n want: \(line < b.count ? String(b[line]) : "<end>")")
        }
    }

    @Test func prometheusText() throws {
        try Self.check(MetricsRenderer.render(GoldenFixture.publication(), version: "9.9.9"), against: "metrics.txt")
    }

    @Test func openMetrics() throws {
        try Self.check(MetricsRenderer.render(GoldenFixture.publication(), version: "9.9.9", format: .openMetrics),
                       against: "metrics.openmetrics.txt")
    }

    /// The two formats differ in the family headers and the end only: every sample line is the same.
    @Test func openMetricsHasTheSameSamples() {
        let p = GoldenFixture.publication()
        func samples(_ f: ExpositionFormat) -> [Substring] {
            MetricsRenderer.render(p, version: "v", format: f).split(separator: "\n").filter { !$0.hasPrefix("#") }
        }
        #expect(samples(.text) == samples(.openMetrics))
        #expect(MetricsRenderer.render(p, version: "v", format: .openMetrics).hasSuffix("\n# EOF\n"))
    }

    @Test func snapshotJSON() throws {
        try Self.check(JSONRenderer.render(GoldenFixture.publication(), version: "9.9.9", commandLines: false), against: "snapshot.json")
    }
}
