#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds the listener (SO_REUSEPORT group) a connection or request socket
/// belongs to, by its local address and port, as the kernel's lookup does: a
/// listener on the exact address wins over a wildcard; an IPv4 client of a
/// dual-stack `::` listener appears in the AF_INET6 dump as `::ffff:a.b.c.d`.
/// Compares raw address bytes: it runs once per socket in a deep dump.
public struct ListenerMatcher {
    /// port -> candidate listeners (group representatives), specific addresses first.
    private var byPort: [UInt16: [Candidate]] = [:]

    struct Candidate {
        var inet6: Bool
        /// 4 (IPv4) or 16 bytes; empty for a wildcard.
        var address: [UInt8]
        var v6Only: Bool
        /// SO_BINDTODEVICE index, 0 when not bound.
        var interface: UInt32
        var group: Int

        /// A bound listener takes only sockets of its device; an unbound one any.
        func accepts(_ interface: UInt32) -> Bool { self.interface == 0 || self.interface == interface }
    }

    /// Group keys, indexed by the number `match` returns.
    public private(set) var groups: [GroupKey] = []

    public init(_ listeners: [Listener]) {
        var index: [GroupKey: Int] = [:]
        for l in listeners where l.family != .unix {
            guard let port = l.port else { continue }
            let group: Int
            if let g = index[l.groupKey] {
                group = g
            } else {
                group = groups.count
                index[l.groupKey] = group
                groups.append(l.groupKey)
            }
            guard l.socket == 0 || !(byPort[port]?.contains { $0.group == group } ?? false) else { continue }
            let text = String(l.address.split(separator: "%", maxSplits: 1).first ?? "")
            let inet6 = l.family == .inet6
            var bytes = Self.bytes(text, inet6: inet6)
            if bytes.allSatisfy({ $0 == 0 }) { bytes = [] }
            byPort[port, default: []].append(Candidate(inet6: inet6, address: bytes, v6Only: l.v6Only ?? false,
                                                       interface: l.boundInterface, group: group))
        }
        // The kernel's preference: a specific address, then a bound device.
        for k in byPort.keys {
            byPort[k]!.sort { ($0.address.isEmpty ? 1 : 0, $0.interface == 0 ? 1 : 0) < ($1.address.isEmpty ? 1 : 0, $1.interface == 0 ? 1 : 0) }
        }
    }

    /// Ports that have a TCP listener.
    public var ports: [UInt16] { byPort.keys.sorted() }

    /// The group (index into `groups`) of the listener that owns a socket with
    /// this local address (`bytes`: 16 bytes, IPv4 in the first 4) and device
    /// (`idiag_if`: the inherited bound device of a child, the incoming
    /// interface of a request socket).
    public func match(family: Int32, address bytes: UnsafeRawBufferPointer, port: UInt16, interface: UInt32 = 0) -> Int? {
        guard let candidates = byPort[port] else { return nil }
        if family == AF_INET {
            return candidates.first { !$0.inet6 && $0.accepts(interface) && ($0.address.isEmpty || Self.equal($0.address, bytes, count: 4)) }?.group
        }
        let mapped = (0..<10).allSatisfy { bytes[$0] == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
        if mapped {
            // An IPv4 client of an IPv6 socket: only a dual-stack `::` (or the mapped address itself) takes it.
            return candidates.first { $0.inet6 && $0.accepts(interface) && (Self.equal($0.address, bytes, count: 16) || ($0.address.isEmpty && !$0.v6Only)) }?.group
        }
        return candidates.first { $0.inet6 && $0.accepts(interface) && ($0.address.isEmpty || Self.equal($0.address, bytes, count: 16)) }?.group
    }

    static func equal(_ a: [UInt8], _ b: UnsafeRawBufferPointer, count: Int) -> Bool {
        guard a.count == count else { return false }
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }

    static func bytes(_ text: String, inet6: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: inet6 ? 16 : 4)
        let ok = out.withUnsafeMutableBytes { inet_pton(inet6 ? AF_INET6 : AF_INET, text, $0.baseAddress) }
        return ok == 1 ? out : []
    }
}
