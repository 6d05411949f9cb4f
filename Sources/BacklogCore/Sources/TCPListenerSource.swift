#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag

/// TCP listeners (v4 and v6) from a LISTEN-only inet_diag dump: cheap, the
/// kernel walks only the listening hash.
public struct TCPListenerSource {
    public var netns: String

    public init(netns: String = "host") {
        self.netns = netns
    }

    public func read(using socket: SockDiagSocket) throws -> [Listener] {
        var seen = Set<UInt64>()
        var out: [Listener] = []
        for family in [AF_INET, AF_INET6] {
            try socket.dumpTCP(family: family, states: TCPStates.listen) { batch in
                for rec in batch where rec.state == BD_TCP_LISTEN {
                    // A dump is not a snapshot: a socket can be seen twice.
                    guard seen.insert(rec.cookie).inserted else { continue }
                    out.append(listener(from: rec))
                }
            }
        }
        return ReuseportIndex.assign(out)
    }

    func listener(from rec: bd_tcp_record) -> Listener {
        let family: Int32 = Int32(rec.family)
        var address = AddressText.numeric(family: family, bytes: rec.local_addr)
        if rec.bound_ifindex != 0 {
            address += "%" + AddressText.interfaceName(rec.bound_ifindex)
        }
        var l = Listener(
            netns: netns,
            family: family == AF_INET6 ? .inet6 : .inet,
            address: address,
            port: rec.local_port,
            inode: rec.inode,
            cookie: rec.cookie,
            queueLength: rec.rqueue,
            queueMax: rec.wqueue,
            v6Only: family == AF_INET6 && rec.v6only >= 0 ? rec.v6only == 1 : nil,
            uid: rec.uid
        )
        l.boundInterface = rec.bound_ifindex
        return l
    }
}
