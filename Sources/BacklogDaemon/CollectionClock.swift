import BacklogCore
import Dispatch

/// The one clock of collection: a Dispatch timer on the collection queue. Each
/// fire runs the fast tick there (and starts a deep tick when one is due); its
/// interval follows the fast tick's pacing. Used on the collection queue only.
final class CollectionClock: @unchecked Sendable {
    // @unchecked: the timer is made, re-armed and cancelled on the collection queue only.
    private let timer: any DispatchSourceTimer
    private(set) var interval: Double

    init(queue: CollectionQueue, interval: Double, fire: @escaping @Sendable () -> Void) {
        self.interval = interval
        timer = DispatchSource.makeTimerSource(queue: queue.queue)
        timer.setEventHandler { queue.metered(fire) }
    }

    /// First fire now, then every `interval`.
    func start() {
        arm(first: .now())
        timer.resume()
    }

    /// A new interval, from the next fire on (no re-arm when it is the same).
    func set(interval new: Double) {
        guard new != interval else { return }
        interval = new
        arm(first: .now() + .nanoseconds(Int(new * 1e9)))
    }

    func cancel() {
        timer.cancel()
    }

    private func arm(first: DispatchTime) {
        let ns = Int((interval * 1e9).rounded())
        // A tenth of the interval of slack lets the kernel batch wake-ups.
        timer.schedule(deadline: first, repeating: .nanoseconds(ns), leeway: .nanoseconds(max(1_000_000, ns / 10)))
    }
}
