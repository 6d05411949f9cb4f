import BacklogDaemon
import Foundation
import Testing

/// The flags and the settings table agree: every config key has exactly one
/// flag, whose `--help` text names the key and the table's default; bad values
/// from flags are usage errors (64) with the same checks as the file's.
@Suite struct FlagsTests {
    /// `--help`'s option blocks, each joined into one line: `--flag <value> help…`.
    static func optionBlocks(_ help: String) -> [String] {
        var blocks: [String] = []
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("-") { blocks.append(t) } else if !t.isEmpty, !blocks.isEmpty, line.hasPrefix("    ") {
                blocks[blocks.count - 1] += " " + t
            }
        }
        return blocks
    }

    @Test func everyKeyHasOneFlagNamingItsDefault() throws {
        let help = try run([backlogdPath(), "--help"]).stdout
        let blocks = Self.optionBlocks(help)
        for s in SettingsTable.all {
            let naming = blocks.filter { $0.contains("(config: \(s.key);") }
            #expect(naming.count == 1, "\(s.key): \(naming.count) flags name it")
            guard let block = naming.first else { continue }
            #expect(block.hasPrefix("--\(s.flag) ") || block.hasPrefix("--\(s.flag)\t") || block == "--\(s.flag)"
                    || block.hasPrefix("--\(s.flag) <"), "\(s.key) is documented on another flag: \(block)")
            let words = block.split(whereSeparator: { $0 == " " }).joined(separator: " ")
            #expect(words.contains("(config: \(s.key); default \(s.defaultText))"), "\(s.key): \(block)")
        }
    }

    @Test(arguments: [
        (["--interval", "0"], "--interval: 0 is out of range"),
        (["--max-connections", "x5"], "--max-connections: 'x5' is not a whole number"),
        (["--near-full-ratio", "2"], "--near-full-ratio: 2 is out of range"),
        (["--listen", "nowhere"], "--listen: 'nowhere' is not HOST:PORT"),
        (["--log-level", "loud"], "--log-level: 'loud' is not one of"),
        (["--include-port", "70000"], "--include-port: '70000' is not a port"),
    ] as [([String], String)])
    func badFlagValuesAreUsageErrors(args: [String], message: String) throws {
        let r = try run([backlogdPath(), "--check-config", "--config", "/dev/null"] + args, check: false)
        #expect(r.status == 64, "\(args): \(r.status) \(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    /// `--interval 0` is a usage error however backlogd is started, not only with
    /// --check-config (the issue saw exit 1; on main it already was 64: this keeps it so).
    @Test(arguments: [["--once", "--window", "0"], ["--listen", "127.0.0.1:1"], ["--check-config"]])
    func intervalZeroIsAUsageErrorInEveryMode(mode: [String]) throws {
        let r = try run([backlogdPath()] + mode + ["--interval", "0"], check: false, timeout: 20)
        #expect(r.status == 64 && r.stderr.contains("--interval: 0 is out of range 10ms–60s"), "\(mode): \(r.status) \(r.stderr)")
    }

    @Test func flagsWinOverTheFile() throws {
        let file = temporaryPath("flags") + ".yaml"
        defer { unlink(file) }
        try "interval: 1s\nthresholds:\n  half_open_min: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run([backlogdPath(), "--check-config", "--config", file, "--interval", "2s", "--close-wait-min", "7"])
        #expect(r.stdout.contains(" interval=2s "), "\(r.stdout)")
        #expect(r.stdout.contains(" thresholds.half_open_min=3 ") && r.stdout.contains(" thresholds.close_wait_min=7 "), "\(r.stdout)")
    }
}
