import Foundation
import Testing

/// Tests/tiers puts every suite in exactly one tier, so that `.ci/run`'s fast
/// tier and the rest together run the whole suite once. Checked against the
/// test binary's own list of its tests (`--list-tests`), not a reading of sources.
@Suite struct TierTests {
    struct Entry {
        var tier: String
        var name: String
        var line: Int

        /// A module entry covers its suites; a Module.Suite entry that suite (and any nested in it).
        func covers(_ suite: String) -> Bool { suite == name || suite.hasPrefix(name + ".") }
    }

    static func entries() throws -> [Entry] {
        let text = try String(contentsOfFile: "\(DebianPackage.repoRoot)/Tests/tiers", encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = words.first, !first.hasPrefix("#") else { return nil }
            return Entry(tier: String(first), name: words.count == 2 ? String(words[1]) : "?", line: i + 1)
        }
    }

    /// Module.Suite of every test in this binary (IDs are Module.Suite/test()).
    static func suites() throws -> Set<String> {
        let r = try run(["/proc/self/exe", "--testing-library", "swift-testing", "--list-tests"])
        let ids = r.stdout.split(separator: "\n").filter { $0.contains("/") }
        return Set(ids.map { String($0[..<$0.firstIndex(of: "/")!]) })
    }

    @Test func everySuiteIsInExactlyOneTier() throws {
        let entries = try Self.entries()
        for e in entries {
            #expect(e.name.split(separator: ".").count <= 2 && e.name != "?", "Tests/tiers:\(e.line): expected 'TIER Module[.Suite]'")
        }
        #expect(Set(entries.map(\.tier)).contains("fast"))
        let suites = try Self.suites()
        #expect(suites.count > 70, "the binary listed \(suites.count) suites")
        for suite in suites.sorted() {
            let tiers = entries.filter { $0.covers(suite) }.map { "\($0.tier) (line \($0.line))" }
            #expect(tiers.count == 1, "\(suite) is in \(tiers.isEmpty ? "no tier" : tiers.joined(separator: ", ")) of Tests/tiers")
        }
        for e in entries where !suites.contains(where: e.covers) {
            Issue.record("Tests/tiers:\(e.line): \(e.name) names no suite")
        }
    }
}
