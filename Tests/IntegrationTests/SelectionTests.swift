import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Address, process and unit filters and the series cap, through the executable.
@Suite struct SelectionTests {
    @Test func filtersAndCap() throws {
        try withNamespace { ns in
            let bag = SocketBag()
            defer { bag.closeAll() }
            let dir = temporaryPath("select")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let (a, b) = try ns.enter { () throws -> (UInt16, UInt16) in
                let full = try TestSockets.listenTCP("127.0.0.1", backlog: 1, bag: bag)
                for _ in 0..<3 { _ = try TestSockets.connectTCP("127.0.0.1", port: full.port, bag: bag) }
                return (full.port, try TestSockets.listenTCP("127.0.0.2", backlog: 8, bag: bag).port)
            }
            let other = try OwnershipTests.listenerProcess("bdfilter", port: 7073, in: ns, dir: dir)
            defer { other.stop() }
            func ports(_ args: [String]) throws -> [UInt16] {
                let out = try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0"] + args, check: false).stdout
                return try OnceDocument.decode(out).listeners.compactMap(\.port).sorted()
            }
            let all = try ports([])
            #expect(Set(all) == [a, b, 7073])
            #expect(try ports(["--exclude-address", "127.0.0.2"]) == [a, 7073].sorted())
            #expect(try ports(["--include-address", "127.0.0.[2-9]"]) == [b])
            #expect(try ports(["--exclude-process", "bdfil*"]) == [a, b].sorted())
            #expect(try ports(["--include-process", "bdfilter"]) == [7073])
            // The cap keeps the fullest and says how many it left out.
            #expect(try ports(["--max-listeners", "1"]) == [a])
            let capped = try ns.exec([backlogdPath(), "--once", "--format", "json", "--window", "0", "--max-listeners", "1"], check: false).stdout
            #expect(try OnceDocument.decode(capped).listeners_left_out == 2)
            let table = try ns.exec([backlogdPath(), "--once", "--window", "0", "--max-listeners", "1"], check: false).stdout
            #expect(table.contains("(2 more listeners left out by max_listeners"), "\(table)")
            let text = try ns.exec([backlogdPath(), "--once", "--format", "prometheus", "--window", "0", "--max-listeners", "1"], check: false).stdout
            #expect(MetricsText.value(text, "backlogd_listeners_left_out", ["netns": "host"]) == 2)
            #expect(MetricsText.samples(text, "backlogd_listen_queue_length").count == 1)
        }
    }

    /// In the daemon the owners are looked up on the deep tick: a listener its
    /// process filter leaves out must stay out on every tick after, not come back
    /// (unfiltered, with no owner) whenever the lookup forgot it.
    @Test func daemonKeepsAnExcludedProcessOut() throws {
        try withNamespace { ns in
            let dir = temporaryPath("select-daemon")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let hidden = try OwnershipTests.listenerProcess("bdhidden", port: 7075, in: ns, dir: dir)
            defer { hidden.stop() }
            let shown = try OwnershipTests.listenerProcess("bdshown", port: 7076, in: ns, dir: dir)
            defer { shown.stop() }
            let daemon = try startDaemon(in: ns, StuckConnectionScenarioTests.fastDaemon + ["--exclude-process", "bdhidden"])
            defer { daemon.stop() }
            func shows(_ text: String, _ port: UInt16) -> Bool {
                !MetricsText.samples(text, "backlogd_listen_queue_max", ["port": "\(port)"]).isEmpty
            }
            try waitUntil("bdshown attributed and bdhidden left out") {
                let text = try scrape(ns).text
                return text.contains("process=\"bdshown\"") && !shows(text, 7075)
            }
            // Every scrape over more than ten deep ticks (owner lookups), however slowly they come.
            var scrapes = 0
            var deepTicks: Set<Double> = []
            do {
                try waitUntil("more than ten deep ticks", timeout: 60) {
                    let text = try scrape(ns).text
                    #expect(!shows(text, 7075), "scrape \(scrapes): bdhidden is back")
                    #expect(shows(text, 7076))
                    scrapes += 1
                    if let t = collectedAt(text, source: "connections") { deepTicks.insert(t) }
                    return deepTicks.count > 10
                }
            } catch is TimedOut {
                // Judged below.
            }
            #expect(deepTicks.count > 10, "\(scrapes) scrapes saw \(deepTicks.count) deep ticks")
        }
    }
}
