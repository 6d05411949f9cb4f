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
        #expect(check.stdout.contains("SUCCESS: 4 rules found"))
        let test = try run(["sh", "-c", "cd '\(Self.configDir)' && promtool test rules alerts.test.yml"], check: false)
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
        #expect(test.stdout.contains("SUCCESS"))
    }
}
