/// The outcome of one source in one collection: up or the error that took it down.
public struct SourceStatus: Sendable, Hashable, Codable {
    public var name: String
    public var up: Bool
    public var error: String?
    public var durationSeconds: Double
    /// Messages the source skipped as malformed since the collector started.
    public var skipped: UInt64
    /// Failed collections of this source since the collector started.
    public var errorsTotal: UInt64

    public init(
        name: String, up: Bool, error: String? = nil, durationSeconds: Double, skipped: UInt64 = 0,
        errorsTotal: UInt64 = 0
    ) {
        self.name = name
        self.up = up
        self.error = error
        self.durationSeconds = durationSeconds
        self.skipped = skipped
        self.errorsTotal = errorsTotal
    }
}
