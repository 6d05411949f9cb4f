/// The highest accept-queue length over a sliding window, for one listener.
/// Memory: at most window/interval samples, usually one or two (a monotonic
/// queue keeps only samples that can still become the peak).
public struct PeakWindow: Sendable {
    /// Lengths strictly decrease from `head` on, so the peak is at `head`.
    private var samples: [(time: Double, length: UInt32)] = []
    private var head = 0

    public init() {}

    /// Adds a sample at monotonic time `time` (seconds) and returns the peak of
    /// the samples no older than `window` (one exactly `window` old still counts).
    public mutating func add(_ length: UInt32, at time: Double, window: Double) -> UInt32 {
        while samples.count > head, samples[samples.count - 1].length <= length { samples.removeLast() }
        samples.append((time, length))
        while samples[head].time < time - window { head += 1 }
        if head > 16 && head * 2 > samples.count {
            samples.removeFirst(head)
            head = 0
        }
        return samples[head].length
    }
}
