import BacklogDaemon
import Foundation
import Testing

/// What the config loader accepts as a file, how much it reads, and how much of
/// the file an error may quote. (A FIFO, which used to hang the read, is tested
/// through the executable with a deadline: ConfigCommandTests.)
@Suite struct ConfigFileReadingTests {
    static func file(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bd-cfg-\(UUID().uuidString).yaml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func error(_ path: String) -> ConfigError? {
        do {
            _ = try ConfigLoader.load(path: path)
            return nil
        } catch {
            return error
        }
    }

    /// A key past the first MiB used to be cut off and the rest reported OK.
    @Test func fileOverTheLimitIsAnErrorNotACutRead() throws {
        let limit = 1 << 20
        var text = Array("interval: 1s\n".utf8)
        text += Array(repeating: UInt8(ascii: "#"), count: limit - text.count - 1) + [UInt8(ascii: "\n")]
        #expect(text.count == limit)
        let atLimit = try Self.file(text)
        defer { unlink(atLimit) }
        #expect(try ConfigLoader.load(path: atLimit).collection.interval == 1, "a file of exactly 1 MiB is read")

        let over = try Self.file(text + Array("bogus_key: 1\n".utf8))
        defer { unlink(over) }
        let e = try #require(Self.error(over), "a key past 1 MiB was ignored")
        #expect(e.description == "\(over): larger than 1 MiB limit (1048576 bytes)")
    }

    /// Files in /proc report size 0: the bytes read decide, not fstat.
    @Test func sizeLimitCountsTheBytesReadNotTheReportedSize() throws {
        var st = stat()
        #expect(stat("/proc/kallsyms", &st) == 0 && st.st_size == 0)
        let e = try #require(Self.error("/proc/kallsyms"))
        #expect(e.description == "/proc/kallsyms: larger than 1 MiB limit (1048576 bytes)")
    }

    @Test func onlyRegularFilesAreRead() throws {
        #expect(Self.error("/dev/zero")?.description == "/dev/zero: not a regular file (character device)")
        // /dev/null alone among devices: the usual "no file, defaults".
        #expect(try ConfigLoader.load(path: "/dev/null") == DaemonConfig())
        let dir = FileManager.default.temporaryDirectory.path
        #expect(Self.error(dir)?.description == "\(dir): not a regular file (directory)")
    }

    /// A 1 MB line used to come back whole in the error (2 MB of message).
    @Test func oneMegabyteLineGivesAShortError() throws {
        let long = String(repeating: "x", count: 1_000_000)
        let key = try Self.file(Array("? \(long)\n: 1\n".utf8))  // an explicit key: a plain one is limited to 1024
        defer { unlink(key) }
        let keyError = try #require(Self.error(key)).description
        // Explicit keys are refused before YAML is composed (YAMLShapeGuard): short too.
        #expect(keyError == "\(key):1: complex keys (`? …`) are not allowed: keys are plain names", "\(keyError.prefix(300))")

        let value = try Self.file(Array("interval: \(long)\n".utf8))
        defer { unlink(value) }
        let valueError = try #require(Self.error(value)).description
        #expect(valueError == "\(value):1: interval: '\(String(repeating: "x", count: 80))…' is not a duration (e.g. 250ms, 15s, 1m)",
                "\(valueError.prefix(300))")
    }

    /// NUL bytes (what /dev/zero gave, read whole into the message) and other control bytes.
    @Test func controlBytesAreNamedNotEchoed() throws {
        let zeros = try Self.file(Array("interval: 1s\n".utf8) + [UInt8](repeating: 0, count: 1_000_000))
        defer { unlink(zeros) }
        let zeroError = try #require(Self.error(zeros)).description
        #expect(zeroError.count < 200 && !zeroError.contains("\0"), "\(zeroError.count) characters: \(zeroError.prefix(300))")
        #expect(zeroError == "\(zeros):2: not valid YAML: control characters are not allowed (character U+0000)", "\(zeroError.prefix(300))")

        // Raw control characters are a YAML error; YAML's own escapes put them into a value.
        let escape = try Self.file(Array(#"interval: "\e[2J\x9b31m\u202Egnp.exe""#.utf8) + [10])
        defer { unlink(escape) }
        let escapeError = try #require(Self.error(escape)).description
        #expect(escapeError == #"\#(escape):1: interval: '\x1b[2J\xc2\x9b31m\xe2\x80\xaegnp.exe' is not a duration (e.g. 250ms, 15s, 1m)"#)
    }

    /// /proc/self/environ's content used to appear in the error: NUL-separated text
    /// is not YAML, and the error says so without quoting it.
    @Test func procEnvironContentDoesNotAppear() throws {
        let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/self/environ"))
        let first = String(decoding: environ.prefix { $0 != 0 }, as: UTF8.self)
        try #require(first.count >= 4, "the test needs an environment")
        let e = try #require(Self.error("/proc/self/environ")).description
        #expect(!e.contains(first) && e.count < 200, "\(e.prefix(300))")
    }
}
