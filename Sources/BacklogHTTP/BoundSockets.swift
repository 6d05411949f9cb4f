import BacklogCore
import NIOCore
import NIOPosix
import Synchronization

/// The listening sockets of one server (the HTTP endpoint, the agent), by
/// address, changed as a whole on reload: what is not bound yet is bound, what is
/// no longer wanted is closed; if a new address fails to bind, nothing changes.
final class BoundSockets: Sendable {
    private let servers = Mutex<[ListenAddress: Channel]>([:])

    /// `bootstrap` makes the bootstrap each new address is bound with.
    /// Returns the bound local addresses (with the real port when 0 was asked for).
    func listen(on wanted: [ListenAddress], bootstrap: () -> ServerBootstrap) throws -> [String] {
        func bind(_ address: ListenAddress) throws -> Channel { try Self.bind(address, bootstrap) }
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

    /// The addresses bound now.
    var addresses: [ListenAddress] { servers.withLock { Array($0.keys) } }

    /// Closes every listening socket (connections stay open).
    func closeAll() {
        let listening = servers.withLock { s in
            defer { s = [:] }
            return Array(s.values)
        }
        for ch in listening { try? ch.close().wait() }
    }

    private static func bind(_ address: ListenAddress, _ bootstrap: () -> ServerBootstrap) throws -> Channel {
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

    static func text(_ a: SocketAddress) -> String {
        switch a {
        case .v6: "[\(a.ipAddress ?? "?")]:\(a.port ?? 0)"
        default: "\(a.ipAddress ?? "?"):\(a.port ?? 0)"
        }
    }
}

extension ServerBootstrap {
    /// Out of fds (EMFILE/ENFILE) accept() fails while the queue stays readable:
    /// without a pause the event loop would retry at once, forever.
    func backingOffAccept(counting registry: ConnectionRegistry) -> ServerBootstrap {
        serverChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler { error in
                    guard [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else { return nil }
                    registry.countAcceptBackoff()
                    return .milliseconds(500)
                })
            }
        }
    }
}
