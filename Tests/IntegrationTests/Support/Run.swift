import Foundation

/// Result of running a command to completion.
struct CommandResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct CommandFailed: Error, CustomStringConvertible {
    var command: [String]
    var result: CommandResult
    var description: String { "\(command.joined(separator: " ")) exited \(result.status): \(result.stderr)" }
}

/// Runs a command and waits for it. Output goes to temporary files, so a chatty
/// child cannot block on a full pipe.
@discardableResult
func run(_ args: [String], check: Bool = true) throws -> CommandResult {
    let dir = FileManager.default.temporaryDirectory
    let out = dir.appendingPathComponent("bd-out-\(UUID().uuidString)")
    let err = dir.appendingPathComponent("bd-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0].hasPrefix("/") ? args[0] : "/usr/bin/env")
    p.arguments = args[0].hasPrefix("/") ? Array(args.dropFirst()) : args
    p.standardInput = FileHandle.nullDevice
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    try p.run()
    p.waitUntilExit()
    let result = CommandResult(
        status: p.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    if check && result.status != 0 { throw CommandFailed(command: args, result: result) }
    return result
}

/// The backlogd executable built next to this test bundle (or $BACKLOGD_BIN).
func backlogdPath() -> String {
    if let p = ProcessInfo.processInfo.environment["BACKLOGD_BIN"] { return p }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // The test runner is .build/<triple>/debug/<Package>PackageTests.xctest
    while dir.path != "/" && !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("backlogd").path) {
        dir.deleteLastPathComponent()
    }
    return dir.appendingPathComponent("backlogd").path
}

/// Polls `condition` until it holds; fails after `timeout` seconds with `what`.
func waitUntil(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return }
        if Date() > deadline { throw TimedOut(what: what) }
        Thread.sleep(forTimeInterval: 0.1)
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}
