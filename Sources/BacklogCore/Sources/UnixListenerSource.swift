import CSockDiag

/// Listening UNIX stream and seqpacket sockets from unix_diag (SHOW_NAME | SHOW_RQLEN).
public struct UnixListenerSource {
    public var netns: String

    public init(netns: String = "host") {
        self.netns = netns
    }

    public func read(using socket: SockDiagSocket) throws -> [Listener] {
        var seen = Set<UInt32>()
        var out: [Listener] = []
        try socket.dumpUnix(states: TCPStates.listen) { batch in
            for rec in batch where rec.state == BD_TCP_LISTEN && rec.has_rqlen == 1 {
                guard seen.insert(rec.inode).inserted else { continue }
                out.append(listener(from: rec))
            }
        }
        return ReuseportIndex.assign(out)
    }

    func listener(from rec: bd_unix_record) -> Listener {
        let path = withUnsafeBytes(of: rec.path) { raw in
            AddressText.unixPath(raw.prefix(Int(rec.path_len)))
        }
        return Listener(
            netns: netns,
            family: .unix,
            address: path,
            port: nil,
            inode: rec.inode,
            queueLength: rec.rqueue,
            queueMax: rec.wqueue,
            unixType: rec.type == 5 ? "seqpacket" : "stream"
        )
    }
}
