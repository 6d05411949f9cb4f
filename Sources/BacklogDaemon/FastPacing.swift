/// The fast tick's interval: max(floor, its CPU cost / budget), at most
/// CollectionLoop.slowestInterval. The cost is smoothed over ticks so that one
/// slow tick (a page fault storm, a busy core) does not swing the interval, and
/// it changes only when it moved by more than a tenth.
struct FastPacing: Sendable, Equatable {
    /// The configured interval: the fastest it goes.
    var floor: Double
    var budget: Double
    private(set) var interval: Double
    private var cost: Double?

    init(interval: Double, budget: Double) {
        self.floor = interval
        self.budget = budget
        self.interval = interval
    }

    /// Records one tick's CPU seconds (all namespaces); returns the interval when it changed.
    @discardableResult
    mutating func record(cpuSeconds: Double) -> Double? {
        let c = cost.map { 0.8 * $0 + 0.2 * cpuSeconds } ?? cpuSeconds
        cost = c
        let wanted = min(max(floor, c / max(budget, 1e-6)), max(floor, CollectionLoop.slowestInterval))
        guard abs(wanted - interval) > interval * 0.1 || (wanted == floor && interval != floor) else { return nil }
        interval = wanted
        return wanted
    }
}
