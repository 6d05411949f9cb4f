import BacklogCore
import NIOCore
import NIOPosix
import Synchronization

/// The HAProxy agent-check responder's limits (`agent.*`).
public struct AgentLimits: Sendable, Equatable {
    /// Most agent connections open at once; at the cap the oldest makes room.
    public var maxConnections: Int
    /// Seconds from connecting to the end of the line.
    public var readTimeout: Double
    /// Longest line (without its newline).
    public var maxLineBytes: Int
    /// Older snapshots are not judged (full weight, as if backlogd were not there).
    public var staleAfter: Double

    public init(maxConnections: Int = 256, readTimeout: Double = 2, maxLineBytes: Int = 256, staleAfter: Double = 30) {
        self.maxConnections = maxConnections
        self.readTimeout = readTimeout
        self.maxLineBytes = maxLineBytes
        self.staleAfter = staleAfter
    }
}

/// The HAProxy agent-check responder (`agent.listen`): plain TCP on its own port
/// and its own event loop thread, so that agent clients, hostile ones included,
/// never wait behind /metrics and /metrics never waits behind them. It answers
/// from the latest published snapshot, like every HTTP path: nothing here collects.
public final class AgentServer: Sendable {
    /// Made when the agent first listens: off (the default), it costs no thread.
    private let group = Mutex<MultiThreadedEventLoopGroup?>(nil)
    private let store: SnapshotStore
    private let limits: Mutex<AgentLimits>
    private let sockets = BoundSockets()
    private let fdBudget = FDBudget()

    public init(store: SnapshotStore, limits: AgentLimits) {
        self.store = store
        self.limits = Mutex(limits)
    }

    /// New limits apply to connections accepted from now on.
    public func update(limits new: AgentLimits) {
        limits.withLock { $0 = new }
    }

    /// As MetricsServer.listen: binds what is new, closes what is gone, all or nothing.
    @discardableResult
    public func listen(on wanted: [ListenAddress]) throws -> [String] {
        let bound = try sockets.listen(on: wanted, bootstrap: bootstrap)
        store.agent.setListening(!wanted.isEmpty)
        return bound
    }

    /// The addresses it listens on now (none: off).
    public var addresses: [ListenAddress] { sockets.addresses }

    /// Stops listening and closes every agent connection (each is a few ms long).
    public func shutdown() {
        sockets.closeAll()
        store.agent.setListening(false)
        let (idle, busy) = store.agent.registry.beginDrain()
        for ch in idle + busy { ch.close(promise: nil) }
        try? group.withLock { $0 }?.syncShutdownGracefully()
    }

    private func bootstrap() -> ServerBootstrap {
        let registry = store.agent.registry
        let loop = group.withLock { g in
            if g == nil { g = MultiThreadedEventLoopGroup(numberOfThreads: 1) }
            return g!
        }
        return ServerBootstrap(group: loop)
            .backingOffAccept(counting: registry)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                let limits = self.limits.withLock { $0 }
                let cap = min(limits.maxConnections, fdBudget.connectionsAllowed(open: registry.count))
                guard registry.register(channel, cap: cap) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AgentHandler(store: store, limits: limits))
                }
            }
    }
}
