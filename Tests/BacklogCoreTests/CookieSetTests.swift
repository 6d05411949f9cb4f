@testable import BacklogCore
import Testing

@Suite struct CookieSetTests {
    /// Against Swift's Set, over sequential cookies (as the kernel hands them out),
    /// random ones, repeats and 0, across growth and resets.
    @Test func agreesWithSetAcrossGrowthAndResets() {
        var rng = SystemRandomNumberGenerator()
        var set = CookieSet()
        for round in 0..<4 {
            set.reset(expecting: round * 3000)
            var reference = Set<UInt64>()
            let base = UInt64.random(in: 1...(1 << 40), using: &rng)
            for i in 0..<20_000 {
                let cookie: UInt64 = switch i % 5 {
                case 0: 0
                case 1: UInt64.random(in: 0...UInt64.max, using: &rng)
                case 2: base &+ UInt64(i / 3)  // repeats of sequential cookies
                default: base &+ UInt64(i)
                }
                let inserted = set.insert(cookie)
                #expect(inserted == reference.insert(cookie).inserted)
            }
            #expect(set.count + (reference.contains(0) ? 1 : 0) == reference.count)
            for c in reference { #expect(set.contains(c)) }
            #expect(!set.contains(base &- 1))
        }
    }

    @Test func resetForgetsAndKeepsStorage() {
        var set = CookieSet()
        set.reset(expecting: 1000)
        for c in 1...1000 as ClosedRange<UInt64> { _ = set.insert(c) }
        _ = set.insert(0)
        let capacity = set.capacity
        set.reset(expecting: 1000)
        #expect(set.count == 0)
        #expect(set.capacity == capacity)
        #expect(!set.contains(5))
        #expect(!set.contains(0))
        let five = set.insert(5), zero = set.insert(0)
        #expect(five && zero)
        // A host that emptied gives the storage back.
        set.reset(expecting: 10)
        #expect(set.capacity < capacity)
    }
}
