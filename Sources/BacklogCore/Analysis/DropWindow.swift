/// Growth of one listener's drop counter over a sliding window. The counter
/// only grows (a socket's sk_drops), so only the readings where it changed are
/// kept: none for a listener that drops nothing, one per tick at most for one
/// that drops all the time.
public struct DropWindow: Sendable {
    /// Readings where the value changed, oldest first; the first is the value
    /// at the start of the window (or at first sight, if that is later).
    private var changes: [(time: Double, value: UInt64)] = []

    public init() {}

    /// Adds a reading at monotonic time `time` and returns the growth over the
    /// last `window` seconds. A value below the last (the 32-bit count wrapped)
    /// starts afresh.
    public mutating func add(_ value: UInt64, at time: Double, window: Double) -> UInt64 {
        if let last = changes.last {
            if value < last.value {
                changes = [(time, value)]
            } else if value > last.value {
                changes.append((time, value))
            }
        } else {
            changes.append((time, value))
        }
        // The reading in force at time - window is the base: drop those before it.
        var drop = 0
        while drop + 1 < changes.count && changes[drop + 1].time <= time - window { drop += 1 }
        if drop > 0 { changes.removeFirst(drop) }
        return value - changes[0].value
    }
}
