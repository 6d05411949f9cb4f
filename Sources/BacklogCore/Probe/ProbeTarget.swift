#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The listener a load balancer asks about (`/probe`, the HAProxy agent): a TCP
/// port, optionally one address, in one namespace; or a UNIX socket by path.
public struct ProbeTarget: Sendable, Hashable, CustomStringConvertible {
    public enum Socket: Sendable, Hashable {
        /// `address`: numeric, as backlogd labels it (no brackets; `%ifname` kept); nil for any.
        case tcp(address: String?, port: UInt16)
        case unix(path: String)
    }

    /// `host`, a /run/netns name or `ns:<inode>`: the `netns` label.
    public var netns: String
    public var socket: Socket

    public init(netns: String = "host", socket: Socket) {
        self.netns = netns
        self.socket = socket
    }

    /// Whether `l` can be receiving the connections asked about. Without an address
    /// every listener on the port; with one, a listener bound to it and the
    /// wildcards that also take it (`0.0.0.0`, and `::` unless IPV6_V6ONLY, for an
    /// IPv4 address; `::` for an IPv6 one). A v4-mapped address (`::ffff:a.b.c.d`)
    /// is the IPv4 address it reaches, on either side: the kernel carries such
    /// traffic as IPv4.
    public func matches(_ l: Listener) -> Bool {
        switch socket {
        case .unix(let path):
            return l.family == .unix && l.address == path
        case .tcp(let address, let port):
            guard l.family != .unix, l.port == port else { return false }
            guard let address else { return true }
            let wanted = Self.unmapped(address)
            let bound = Self.unmapped(l.address)
            if wanted == bound { return true }
            let v4 = !wanted.contains(":")
            if l.address == "::" { return l.family == .inet6 && (!v4 || l.v6Only != true) }
            return v4 && bound == "0.0.0.0"
        }
    }

    /// `::ffff:a.b.c.d` (as inet_ntop prints it, `%ifname` kept) as `a.b.c.d`; anything else unchanged.
    static func unmapped(_ address: String) -> String {
        let prefix = "::ffff:"
        guard address.hasPrefix(prefix) else { return address }
        let rest = address.dropFirst(prefix.count)
        guard rest.contains("."), !rest.contains(":") else { return address }
        return String(rest)
    }

    /// What a person reads: `127.0.0.1:80 (netns host)`, `[::1]:80`, `*:80` (any address), `/run/x.sock`.
    public var description: String {
        switch socket {
        case .unix(let path): return "\(path) (netns \(netns))"
        case .tcp(let address, let port):
            let a = address.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "*"
            return "\(a):\(port) (netns \(netns))"
        }
    }

    /// `text` as backlogd labels addresses (inet_ntop's form: `::1`, not `0:0::1`),
    /// `%ifname` kept; nil when it is not a numeric IPv4 or IPv6 address. A control
    /// character anywhere refuses it: inet_pton would stop at a NUL and take the rest
    /// (`127.0.0.1\0junk`) for a good address.
    public static func numericAddress(_ text: some StringProtocol) -> String? {
        guard !text.unicodeScalars.contains(where: PrintableText.needsEscape) else { return nil }
        let parts = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        let host = String(parts[0])
        let device = parts.count > 1 ? "%" + parts[1] : ""
        guard !host.isEmpty, device != "%", device.utf8.count <= Int(IF_NAMESIZE),
              device.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" }) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return AddressText.numeric(family: AF_INET, bytes: v4) + device }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return AddressText.numeric(family: AF_INET6, bytes: v6) + device }
        return nil
    }
}
