import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The daemon's `/` in a real headless Chromium (Debian chromium): a listener whose
/// queue is full is marked, and a hostile process name is shown as text.
@Suite(.serialized) struct StatusPageBrowserTests {
    /// `chromium --headless` inside `ns` with its own profile directory; root needs --no-sandbox.
    static func chromium(_ ns: NetNamespace, profile: String, _ args: [String]) throws -> CommandResult {
        try ns.exec(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--user-data-dir=\(profile)", "--window-size=1280,720"] + args, check: false)
    }

    @Test func theFullListenerIsMarkedAndNamesAreEscaped() throws {
        try withNamespace { ns in
            let dir = temporaryPath("status")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            // comm is the executable's name: markup, an ampersand and both quotes.
            let hostile = "<i>x&\"y'"
            let server = try OwnershipTests.listenerProcess(hostile, port: 7090, in: ns, dir: dir)
            defer { server.stop() }
            let quiet = try OwnershipTests.listenerProcess("bdquiet", port: 7091, in: ns, dir: dir)
            defer { quiet.stop() }
            // listen(8), never accept()ed: 12 clients leave the queue at 9 > 8.
            let bag = SocketBag()
            defer { bag.closeAll() }
            try ns.enter { for _ in 0..<12 { _ = try TestSockets.connectTCP("127.0.0.1", port: 7090, bag: bag) } }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon)
            defer { daemon.stop() }
            try waitUntil("the listener to be full and owned") {
                let l = try OnceDocument.decode(try scrape(ns, "/snapshot").text).listener(port: 7090)
                return l?.queue.length ?? 0 > l?.queue.max ?? 0 && l?.owner?.comm == hostile
            }

            let dom = try Self.chromium(ns, profile: "\(dir)/profile", ["--dump-dom", "http://127.0.0.1:24519/"])
            #expect(dom.status == 0, "\(dom.stderr)")
            let page = dom.stdout
            let full = page.components(separatedBy: "<tr").first { $0.contains("data-port=\"7090\"") } ?? ""
            #expect(full.hasPrefix(" class=\"full\" data-state=\"full\""), "\(full)")
            #expect(full.contains("<td>9</td><td>8</td>"), "queue 9 of max 8: \(full)")
            #expect(full.contains("not_accepting") || full.contains("accept_queue_full"), "its finding: \(full)")
            let ok = page.components(separatedBy: "<tr").first { $0.contains("data-port=\"7091\"") } ?? ""
            #expect(ok.hasPrefix(" class=\"ok\""), "\(ok)")
            // Text, not markup: the browser parsed no <i> element out of the name.
            #expect(full.contains("<td class=\"process\">&lt;i&gt;x&amp;\"y' [\(server.pid)]</td>"), "\(full)")
            #expect(!page.contains("<i>x"))

            let png = "\(dir)/status.png"
            let shot = try Self.chromium(ns, profile: "\(dir)/profile", ["--screenshot=\(png)", "http://127.0.0.1:24519/"])
            #expect(shot.status == 0, "\(shot.stderr)")
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
            #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 10_000, "\(bytes.count) bytes")
            if let keep = ProcessInfo.processInfo.environment["BACKLOGD_KEEP_SCREENSHOT"] {
                try? FileManager.default.copyItem(atPath: png, toPath: keep)
            }
        }
    }
}
