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
    /// Unix time of this source's last successful collection; nil if it never succeeded.
    public var lastSuccess: Double?

    public init(
        name: String, up: Bool, error: String? = nil, durationSeconds: Double, skipped: UInt64 = 0,
        errorsTotal: UInt64 = 0, lastSuccess: Double? = nil
    ) {
        self.name = name
        self.up = up
        self.error = error
        self.durationSeconds = durationSeconds
        self.skipped = skipped
        self.errorsTotal = errorsTotal
        self.lastSuccess = lastSuccess
    }
}
