/// What keeps the endpoint alive against slow, idle, oversized or too many clients.
public struct HTTPLimits: Sendable, Equatable {
    public var maxConnections: Int
    /// Seconds without a byte from a client that has no request in progress.
    public var idleTimeout: Double
    /// Seconds a request head may take to arrive, counted from its first byte.
    public var readTimeout: Double
    /// Request line plus headers.
    public var maxHeaderBytes: Int
    /// /healthz fails when the last snapshot is older than this.
    public var staleAfter: Double

    public init(maxConnections: Int = 1024, idleTimeout: Double = 60, readTimeout: Double = 10,
                maxHeaderBytes: Int = 16384, staleAfter: Double = 30) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.readTimeout = readTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.staleAfter = staleAfter
    }

    /// The request line alone may not take more than this.
    public var maxRequestLineBytes: Int { min(8192, maxHeaderBytes) }
}
