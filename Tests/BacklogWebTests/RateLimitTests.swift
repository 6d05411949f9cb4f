@testable import BacklogWeb
import Testing

/// `rate_limit` per client address: one source's flood does not spend another's budget.
@Suite struct RateLimitTests {
    let limit = WebSettings.RateLimit(interval: 10, burst: 3)

    @Test func eachSourceHasItsOwnBucket() {
        let t0 = ContinuousClock.now
        let b = SourceBuckets(limit, now: t0)
        #expect((0..<5).map { _ in b.take(source: "10.0.0.2", now: t0) } == [true, true, true, false, false])
        #expect(b.take(source: "10.0.0.1", now: t0), "the scraper still has its burst")
        #expect(b.take(source: "10.0.0.2", now: t0 + .seconds(10)), "one back per interval")
        #expect(!b.take(source: "10.0.0.2", now: t0 + .seconds(11)))
    }

    @Test func sourcesBeyondTheLimitShareTheOverflowBucket() {
        let t0 = ContinuousClock.now
        let b = SourceBuckets(limit, maxSources: 2, now: t0)
        #expect(b.take(source: "a", now: t0) && b.take(source: "b", now: t0))
        // Full: a third source takes from the overflow bucket, and so does a fourth.
        #expect((0..<3).map { _ in b.take(source: "c", now: t0) } == [true, true, true])
        #expect(!b.take(source: "d", now: t0), "the overflow bucket is shared")
        #expect(b.take(source: "a", now: t0), "a remembered source keeps its own")
        // Once a and b have refilled they are forgotten, and a new source gets a bucket of its own.
        let later = t0 + .seconds(30)
        #expect((0..<3).map { _ in b.take(source: "d", now: later) } == [true, true, true])
        #expect(!b.take(source: "d", now: later))
        #expect(b.take(source: nil, now: later), "an unknown source: the overflow bucket, refilled by now")
    }
}
