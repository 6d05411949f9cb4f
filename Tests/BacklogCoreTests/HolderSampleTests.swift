import BacklogCore
import Foundation
import Testing

/// HolderSample on a real process: its state letters, CPU and wait channels from /proc.
@Suite struct HolderSampleTests {
    static func waitFor(_ what: String, timeout: Double = 30, _ body: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while !body() {
            if Date() > end { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "timed out: \(what)"]) }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    @Test func aStoppedProcessIsStoppedAndAContinuedOneIsNot() throws {
        // posix_spawn, not Foundation's Process (which leaks a weak reference LeakSanitizer reports).
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("120"), nil]
        defer { argv.forEach { free($0) } }
        let rc = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
        guard rc == 0 else {
            Issue.record("posix_spawn: \(rc)")
            return
        }
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try Self.waitFor("sleep to sleep") { HolderSample.read([pid], waits: true)?.threads.summary == "its only thread sleeps" }
        #expect(HolderSample.read([pid], waits: true)?.halt == nil)
        kill(pid, SIGSTOP)
        try Self.waitFor("the stop") { HolderSample.read([pid], waits: false)?.halt == .stopped }
        kill(pid, SIGCONT)
        try Self.waitFor("the continue") { HolderSample.read([pid], waits: false)?.halt == nil }
        // A pid that is gone reads as nothing; with one that is there, only that one.
        #expect(HolderSample.read([Int32.max - 1], waits: false) == nil)
        #expect(HolderSample.read([pid, Int32.max - 1], waits: false)?.pids == [pid])
    }
}
