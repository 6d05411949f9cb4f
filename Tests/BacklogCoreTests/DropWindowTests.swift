import BacklogCore
import Testing

/// The growth of a listener's drop counter over the peak window, and how findings say it.
@Suite struct DropWindowTests {
    @Test func growthOverTheWindowOnly() {
        var w = DropWindow()
        #expect(w.add(100, at: 0, window: 15) == 0, "first sight: no growth known yet")
        #expect(w.add(100, at: 5, window: 15) == 0)
        #expect(w.add(112, at: 10, window: 15) == 12)
        #expect(w.add(130, at: 14, window: 15) == 30)
        // At 20 the window starts at 5, when the value was still 100.
        #expect(w.add(130, at: 20, window: 15) == 30)
        // At 25.5 it starts at 10.5: the reading in force then is 112.
        #expect(w.add(130, at: 25.5, window: 15) == 18)
        #expect(w.add(130, at: 29.5, window: 15) == 0)
        #expect(w.add(131, at: 30, window: 15) == 1)
    }

    @Test func aWrappedCounterStartsAfresh() {
        var w = DropWindow()
        _ = w.add(UInt64(UInt32.max) - 1, at: 0, window: 15)
        #expect(w.add(3, at: 1, window: 15) == 0)
        #expect(w.add(5, at: 2, window: 15) == 2)
    }

    @Test func aSteadyDropperKeepsOneReadingPerChange() {
        var w = DropWindow()
        for t in 0..<10_000 { _ = w.add(UInt64(t), at: Double(t) * 0.25, window: 15) }
        #expect(w.add(10_000, at: 2500, window: 15) == 60, "60 ticks of 0.25 s in 15 s: from 9 940 at 2 485 s")
    }

    @Test func findingsText() {
        var l = Listener(family: .inet, address: "127.0.0.1", port: 80, inode: 1, queueLength: 5, queueMax: 4)
        #expect(l.droppedText(window: 15) == nil)
        l.drops = 1
        l.dropsInWindow = 1
        #expect(l.droppedText(window: 15) == "1 SYN/ACK dropped in the last 15 s")
        l.dropsInWindow = 12
        #expect(l.droppedText(window: 2.5) == "12 SYNs/ACKs dropped in the last 2.5 s")
        l.drops = 42
        #expect(l.droppedText(window: 0) == "42 SYNs/ACKs dropped since it opened")
        let full = QueueFindings.evaluate(listeners: [l], somaxconn: nil, window: 15)
        #expect(full.first?.message.contains("accept queue full 5/4, 12 SYNs/ACKs dropped in the last 15 s:") == true, "\(full)")
    }

    /// The table keeps each listener's count as the dumps report it and its growth over the window.
    @Test func theTableTracksEachListenersDrops() {
        var table = ListenerTable(netns: "host", window: 15)
        func tick(_ drops: [UInt64], at t: Double) -> [UInt64?] {
            table.begin()
            for (i, d) in drops.enumerated() {
                var l = Listener(family: .inet, address: "127.0.0.1", port: UInt16(80 + i), inode: UInt32(i + 1),
                                 cookie: UInt64(i + 1), queueLength: 0, queueMax: 4)
                l.drops = d
                table.observe(l)
            }
            table.finish(now: t, maxStep: 1, listenOverflows: nil)
            return table.listeners.map(\.dropsInWindow)
        }
        #expect(tick([0, 7], at: 0) == [0, 0])
        #expect(tick([3, 7], at: 1) == [3, 0])
        #expect(tick([9, 8], at: 2) == [9, 1])
        #expect(table.listeners.map(\.drops) == [9, 8])
        #expect(tick([9, 8], at: 20) == [0, 0])
    }
}
