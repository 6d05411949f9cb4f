/// Each source's failures, skipped messages and last success since the
/// collector started: what a SourceStatus reports beside this collection's outcome.
struct SourceHealth: Sendable {
    private var errorsTotal: [String: UInt64] = [:]
    private var skippedTotal: [String: UInt64] = [:]
    private var lastSuccess: [String: Double] = [:]

    mutating func status(_ name: String, _ started: ContinuousClock.Instant, error: String? = nil, skipped: UInt64 = 0) -> SourceStatus {
        if error != nil { errorsTotal[name, default: 0] += 1 } else { lastSuccess[name] = WallClock.now() }
        skippedTotal[name, default: 0] += skipped
        return SourceStatus(
            name: name, up: error == nil, error: error,
            durationSeconds: (ContinuousClock.now - started).seconds, skipped: skippedTotal[name] ?? 0,
            errorsTotal: errorsTotal[name] ?? 0, lastSuccess: lastSuccess[name])
    }
}
