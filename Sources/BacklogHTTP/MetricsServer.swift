import BacklogCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The HTTP endpoint: binds the configured addresses on one event loop and serves
/// the SnapshotStore. Addresses can be changed while running (config reload).
public final class MetricsServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    /// Renders bodies off the event loop.
    private let pool: NIOThreadPool
    private let store: SnapshotStore
    private let registry = ConnectionRegistry()
    private let fdBudget = FDBudget()
    private let limits: Mutex<HTTPLimits>
    private let sockets = BoundSockets()
    private let gates = GateBox()

    /// One event loop is plenty: it only moves bytes made on the pool.
    public init(store: SnapshotStore, limits: HTTPLimits) {
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Two: two clients' streamed bodies are written side by side (a 5 000-listener
        // text body takes ~15 ms to write), and a render does not hold up a stream.
        self.pool = NIOThreadPool(numberOfThreads: 2)
        self.pool.start()
        self.store = store
        self.limits = Mutex(limits)
    }

    /// New limits apply to connections accepted from now on.
    public func update(limits new: HTTPLimits) {
        limits.withLock { $0 = new }
    }

    /// The web config's gate (BacklogWeb's WebGate): its authentication, headers and
    /// rate limit apply from the next request on (on every connection); its TLS
    /// context serves connections accepted from now on.
    package func update(gate: any RequestGate) {
        gates.replace(gate)
    }

    /// Binds what is not bound yet and closes what is no longer wanted. If any new
    /// address fails to bind, nothing changes and the error is thrown.
    /// Returns the bound local addresses (with the real port when 0 was asked for).
    @discardableResult
    public func listen(on wanted: [ListenAddress]) throws -> [String] {
        try sockets.listen(on: wanted, bootstrap: bootstrap)
    }

    /// Open client connections (for tests and the fd budget).
    public var connectionCount: Int { registry.count }
    public var refusedConnections: UInt64 { registry.counts.refused }

    /// Stops accepting, closes idle connections at once, lets responses in
    /// progress finish (each connection closes once the kernel has its last
    /// byte) and cuts what is still sending after `grace` seconds.
    public func shutdown(grace: Double = 5) {
        sockets.closeAll()
        // Not NIO's quiescing event: its pipelining handler counts a response as
        // done once it is queued, and closing then drops what is still unsent.
        let (idle, busy) = registry.beginDrain()
        for ch in idle { ch.close(promise: nil) }
        let open = idle + busy
        let deadline = ContinuousClock.now + .milliseconds(Int(grace * 1000))
        for ch in open {
            let remaining = deadline - .now
            let scheduled = ch.eventLoop.scheduleTask(in: .nanoseconds(Int64(max(0, remaining.seconds) * 1e9))) {
                ch.close(promise: nil)
            }
            try? ch.closeFuture.wait()
            scheduled.cancel()
        }
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }

    private func bootstrap() -> ServerBootstrap {
        let registry = self.registry
        let store = self.store
        let pool = self.pool
        return ServerBootstrap(group: group)
            .backingOffAccept(counting: registry)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A response waits (and reading stops) while this much is unsent.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
            .childChannelInitializer { [self] channel in
                // Read per connection, so a reload's new limits reach new connections.
                let limits = self.limits.withLock { $0 }
                let routes = Routes(store: store, limits: limits, connections: registry, gates: gates)
                let cap = min(limits.maxConnections, fdBudget.connectionsAllowed(open: registry.count))
                guard registry.register(channel, cap: cap) else { return channel.close() }
                let gate = gates.current
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try gate.addConnectionHandlers(to: sync, readTimeout: limits.readTimeout, counters: gates.counters)
                    try sync.addHandler(RequestHeadGuard(limits: limits))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(HTTPHandler(routes: routes, pool: pool))
                }
            }
    }
}
