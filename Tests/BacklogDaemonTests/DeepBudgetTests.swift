@testable import BacklogDaemon
import Testing

@Suite struct DeepBudgetTests {
    // Two live objects: two distinct identities.
    final class Thread {}
    let threads = (Thread(), Thread())
    var a: ObjectIdentifier { ObjectIdentifier(threads.0) }
    var b: ObjectIdentifier { ObjectIdentifier(threads.1) }

    @Test func ownBudgetUntilMeasuredAndOnASmallHost() {
        var d = DeepBudget()
        #expect(d.budget(deep: 0.01, fast: 0.01) == 0.01)
        d.record(threads: [(a, 1.0)], deepCPU: 0, now: 10)
        #expect(d.budget(deep: 0.01, fast: 0.01) == 0.01)
        // 10 s later: 0.03 s used, 0.02 s of it the deep tick: the rest is 0.1 % of a core.
        d.record(threads: [(a, 1.03)], deepCPU: 0.02, now: 20)
        #expect(abs(d.othersShare! - 0.001) < 1e-9)
        #expect(d.budget(deep: 0.01, fast: 0.01) == 0.01)
    }

    @Test func fastOverspendComesOutOfTheDeepBudget() {
        var d = DeepBudget()
        d.record(threads: [(a, 5.0), (b, 2.0)], deepCPU: 0, now: 100)
        // Over 30 s: 0.45 + 0.15 s used, 0.15 s of it deep: the rest is 1.5 % of a core.
        d.record(threads: [(a, 5.45), (b, 2.15)], deepCPU: 0.15, now: 130)
        #expect(abs(d.othersShare! - 0.015) < 1e-9)
        #expect(abs(d.budget(deep: 0.01, fast: 0.01) - 0.005) < 1e-9)
        // Never below a quarter of its own.
        d.record(threads: [(a, 7.0), (b, 3.0)], deepCPU: 0.01, now: 160)
        #expect(d.budget(deep: 0.01, fast: 0.01) == 0.0025)
    }

    @Test func threadsThatComeAndGo() {
        var d = DeepBudget()
        d.record(threads: [(a, 5.0)], deepCPU: 0, now: 0)
        // a went (its CPU is no longer seen), b is new: b's whole CPU counts, nothing goes negative.
        d.record(threads: [(b, 0.1)], deepCPU: 0, now: 10)
        #expect(abs(d.othersShare! - 0.01) < 1e-9)
        // A new thread at a freed one's identity, with less CPU than the old: counted whole.
        d.record(threads: [(b, 0.05)], deepCPU: 0.5, now: 20)
        #expect(d.othersShare! >= 0)
    }
}
