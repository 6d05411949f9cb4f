import BacklogCore
import Synchronization

/// The last weight answered per probe target (agent and /probe alike), so that a
/// weight moves by at most 25 points per answer: a balancer that shifts traffic
/// away all at once sends it all to the others. Bounded: past `capacity` targets
/// it starts afresh (a target then gets its weight unsmoothed once).
final class AnsweredWeights: Sendable {
    static let capacity = 4096
    private let last = Mutex<[ProbeTarget: Int]>([:])

    /// The verdict with its weight moved at most 25 points from the last answer for `target`.
    func answer(_ v: ProbeVerdict, for target: ProbeTarget) -> ProbeVerdict {
        last.withLock { m in
            let out = v.smoothed(from: m[target])
            if out.state == .up {
                if m.count >= Self.capacity, m[target] == nil { m.removeAll(keepingCapacity: true) }
                m[target] = out.weight
            } else {
                m[target] = nil
            }
            return out
        }
    }
}
