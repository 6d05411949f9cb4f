import BacklogCore
import Testing

/// Peak over a sliding window and seconds observed full, fed with listener records.
@Suite struct QueueHistoryTests {
    func listener(_ length: UInt32, max: UInt32 = 4, inode: UInt32 = 7) -> Listener {
        Listener(family: .inet, address: "127.0.0.1", port: 80, inode: inode, cookie: UInt64(inode), queueLength: length, queueMax: max)
    }

    @Test func peakSlidesAndFullSecondsAccumulate() {
        var h = QueueHistory(window: 2)
        var t = 0.0
        func tick(_ len: UInt32) -> Listener {
            defer { t += 0.5 }
            return h.record([listener(len)], at: t, maxStep: 1)[0]
        }
        #expect(tick(1).queuePeak == 1)
        #expect(tick(5).queuePeak == 5)          // t=0.5: full
        let l = tick(0)                           // t=1.0
        #expect(l.queuePeak == 5 && l.fullSeconds == 0.5)
        #expect(tick(2).queuePeak == 5)          // t=1.5
        #expect(tick(0).queuePeak == 5)          // t=2.0
        #expect(tick(0).queuePeak == 5)          // t=2.5: the 5 at 0.5 is exactly window old, still in
        #expect(tick(0).queuePeak == 2)          // t=3.0: the 5 has left; the 2 at 1.5 is the peak
        #expect(tick(0).queuePeak == 2)          // t=3.5
        #expect(tick(0).queuePeak == 0)          // t=4.0
        #expect(tick(5).fullSeconds == 1.0)      // t=4.5: full again, one more step
    }

    @Test func gapsAreCappedAndVanishedListenersForgotten() {
        var h = QueueHistory(window: 10)
        _ = h.record([listener(5)], at: 0, maxStep: 1)
        let l = h.record([listener(5)], at: 100, maxStep: 1)[0]
        #expect(l.fullSeconds == 1, "a 100 s gap counts as maxStep")
        _ = h.record([listener(0, inode: 8)], at: 101, maxStep: 1)
        #expect(h.count == 1)
        let back = h.record([listener(0)], at: 102, maxStep: 1)[0]
        #expect(back.fullSeconds == 0 && back.queuePeak == 0, "a listener that went away starts over")
    }
}
