import BacklogCore

/// The listener axis's only call into BacklogCore's fast tick: when the core's
/// API changes, this file is what to adapt. One probe per namespace, made and
/// used only on that namespace's NetnsThread, one job at a time (hence unchecked).
final class FastTickProbe: @unchecked Sendable {
    private let collector: Collector
    private var history = QueueHistory(window: 15)

    init(netns: String) {
        collector = Collector(netns: netns)
    }

    /// One fast tick at `now` (seconds; the daemon's are 250 ms apart, which
    /// paces the counters' and sysctls' reads): returns the listeners it saw.
    func tick(now: Double) -> Int {
        collector.tick(history: &history, now: now, maxStep: 1).listeners.count
    }
}
