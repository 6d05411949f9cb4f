import Foundation
import Testing

/// The shipped alert rules are valid and fire as their promtool unit tests say.
@Suite struct AlertRulesTests {
    static var configDir: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config").standardized.path
    }

    @Test func rulesCheckAndUnitTestsPass() throws {
        let check = try run(["promtool", "check", "rules", "\(Self.configDir)/alerts.yml"], check: false)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 11 rules found"))
        let test = try run(["sh", "-c", "cd '\(Self.configDir)' && promtool test rules alerts.test.yml"], check: false)
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("SUCCESS"))
    }

    /// Every rule has a promtool case that expects it to fire.
    @Test func everyRuleIsTested() throws {
        let rules = try String(contentsOfFile: "\(Self.configDir)/alerts.yml", encoding: .utf8)
        let tests = try String(contentsOfFile: "\(Self.configDir)/alerts.test.yml", encoding: .utf8)
        let names = rules.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.hasPrefix("- alert: ") ? String(t.dropFirst("- alert: ".count)) : nil
        }
        #expect(names.count == 11)
        for name in names {
            // A case with exp_alerts that are not empty: the line after `alertname: X` is `exp_alerts:`.
            #expect(tests.contains("alertname: \(name)\n        exp_alerts:\n          - exp_labels:"), "\(name) has no case where it fires")
        }
    }
}
