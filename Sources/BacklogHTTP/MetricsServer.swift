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
    private let servers = Mutex<[ListenAddress: Channel]>([:])

    /// One event loop is plenty: every response is a cached buffer.
    public init(store: SnapshotStore, limits: HTTPLimits) {
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.pool = NIOThreadPool(numberOfThreads: 1)
        self.pool.start()
        self.store = store
        self.limits = Mutex(limits)
    }

    /// New limits apply to connections accepted from now on.
    public func update(limits new: HTTPLimits) {
        limits.withLock { $0 = new }
    }

    /// Binds what is not bound yet and closes what is no longer wanted. If any new
    /// address fails to bind, nothing changes and the error is thrown.
    /// Returns the bound local addresses (with the real port when 0 was asked for).
    @discardableResult
    public func listen(on wanted: [ListenAddress]) throws -> [String] {
        let current = servers.withLock { $0 }
        var removed = current.filter { !wanted.contains($0.key) }
        var added: [ListenAddress: Channel] = [:]
        var closedEarly: [ListenAddress] = []
        do {
            for address in wanted where current[address] == nil {
                do {
                    added[address] = try bind(address)
                } catch let e as IOError where e.errnoCode == EADDRINUSE {
                    // Same port, other host (`:24519` -> `127.0.0.1:24519`): the old socket must go first.
                    let samePort = removed.filter { $0.key.port == address.port }
                    guard !samePort.isEmpty else { throw e }
                    for (k, ch) in samePort {
                        try? ch.close().wait()
                        removed[k] = nil
                        closedEarly.append(k)
                    }
                    added[address] = try bind(address)
                }
            }
        } catch {
            for ch in added.values { try? ch.close().wait() }
            // Put back what was closed early; if that fails too, the error says so in the log.
            let restored = closedEarly.compactMap { k in (try? bind(k)).map { (k, $0) } }
            servers.withLock { s in
                for k in closedEarly { s[k] = nil }
                for (k, ch) in restored { s[k] = ch }
            }
            throw error
        }
        for ch in removed.values { try? ch.close().wait() }
        servers.withLock { s in for k in closedEarly { s[k] = nil } }
        let all = servers.withLock { s in
            for k in removed.keys { s[k] = nil }
            s.merge(added) { $1 }
            return s
        }
        return wanted.compactMap { all[$0]?.localAddress.map(Self.text) }
    }

    /// Open client connections (for tests and the fd budget).
    public var connectionCount: Int { registry.count }
    public var refusedConnections: UInt64 { registry.counts.refused }

    /// Stops accepting, closes idle connections at once, lets responses in
    /// progress finish (each connection closes once the kernel has its last
    /// byte) and cuts what is still sending after `grace` seconds.
    public func shutdown(grace: Double = 5) {
        let listening = servers.withLock { s in
            defer { s = [:] }
            return Array(s.values)
        }
        for ch in listening { try? ch.close().wait() }
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

    private func bind(_ address: ListenAddress) throws -> Channel {
        if address.host.isEmpty {
            // Every address: dual-stack `::`, or IPv4 alone where the host has no IPv6.
            do {
                return try bootstrap()
                    .serverChannelOption(.socket(SocketOptionLevel(IPPROTO_IPV6), SocketOptionName(IPV6_V6ONLY)), value: 0)
                    .bind(host: "::", port: address.port).wait()
            } catch let e as IOError where e.errnoCode == EAFNOSUPPORT || e.errnoCode == EADDRNOTAVAIL {
                return try bootstrap().bind(host: "0.0.0.0", port: address.port).wait()
            }
        }
        return try bootstrap().bind(host: address.host, port: address.port).wait()
    }

    private func bootstrap() -> ServerBootstrap {
        let registry = self.registry
        let store = self.store
        let pool = self.pool
        return ServerBootstrap(group: group)
            // Out of fds (EMFILE/ENFILE) accept() fails while the queue stays readable:
            // without a pause the event loop would retry at once, forever.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler { error in
                        guard [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else { return nil }
                        registry.countAcceptBackoff()
                        return .milliseconds(500)
                    })
                }
            }
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A response waits (and reading stops) while this much is unsent.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024))
            .childChannelInitializer { [self] channel in
                // Read per connection, so a reload's new limits reach new connections.
                let limits = self.limits.withLock { $0 }
                let routes = Routes(store: store, limits: limits, connections: registry)
                let cap = min(limits.maxConnections, fdBudget.connectionsAllowed(open: registry.count))
                switch registry.admit(channel, cap: cap) {
                case .refused:
                    return channel.close()
                case .admitted(let evicted):
                    for old in evicted { old.close(promise: nil) }
                }
                channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(RequestHeadGuard(limits: limits))
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    try sync.addHandler(HTTPHandler(routes: routes, pool: pool))
                }
            }
    }

    static func text(_ a: SocketAddress) -> String {
        switch a {
        case .v6: "[\(a.ipAddress ?? "?")]:\(a.port ?? 0)"
        default: "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
        }
    }
}
