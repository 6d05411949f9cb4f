import BacklogCore
import Dispatch
import Foundation
import Testing

/// `--once`'s owner batch: every caller returns, whoever comes last.
@Suite struct OwnerBatchTests {
    /// Runs `resolve` on a thread of its own; the semaphore is signalled when it returned.
    private func resolveOnThread(_ owners: SharedOwnerIndex) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = owners.resolve([], now: 0)
            done.signal()
        }
        return done
    }

    private func waitFor(_ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(30)
        while !condition() {
            guard Date() < deadline else { throw Timeout(what: what) }
            usleep(10_000)
        }
    }

    struct Timeout: Error { var what: String }

    @Test func waitersAreReleasedWhenTheLastOneWithdraws() throws {
        let owners = SharedOwnerIndex.batch(of: 3)
        let a = resolveOnThread(owners)
        let b = resolveOnThread(owners)
        try waitFor("both to arrive") { owners.arrived == 2 }
        owners.withdraw()
        #expect(a.wait(timeout: .now() + 30) == .success)
        #expect(b.wait(timeout: .now() + 30) == .success)
    }

    @Test func waitersAreReleasedByTheLastCaller() throws {
        let owners = SharedOwnerIndex.batch(of: 3)
        owners.withdraw()
        let a = resolveOnThread(owners)
        try waitFor("one to arrive") { owners.arrived == 1 }
        _ = owners.resolve([], now: 0)
        #expect(a.wait(timeout: .now() + 30) == .success)
    }
}
