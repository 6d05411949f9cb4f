import BacklogCore
import CSockDiag
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The shim's per-message parsers fed crafted bytes: right fields from a good
/// message, an error (never a read past the end) from a bad one.
@Suite struct DiagMessageParserTests {
    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }

    static func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var a = le16(UInt16(4 + payload.count)) + le16(type) + payload
        while a.count % 4 != 0 { a.append(0) }
        return a
    }

    /// struct tcp_info: unacked @24, sacked @28, last_data_sent @44, last_data_recv @52, last_ack_recv @56.
    static func tcpInfo(length: Int = 104) -> [UInt8] {
        var info = [UInt8](repeating: 0, count: length)
        info[0] = 10
        func put(_ off: Int, _ v: UInt32) { if off + 4 <= length { info.replaceSubrange(off..<off + 4, with: le32(v)) } }
        put(24, 5); put(28, 4); put(44, 1000); put(52, 2000); put(56, 3000)
        return info
    }

    static func nlmsg(_ payload: [UInt8]) -> [UInt8] {
        le32(UInt32(16 + payload.count)) + le16(20) + le16(2) + le32(1) + le32(0) + payload
    }

    static func inetMessage(attrs: [UInt8]) -> [UInt8] {
        var m: [UInt8] = [UInt8(AF_INET6), 10, 0, 2]
        m += be16(8080) + be16(0)
        m += [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] // ::1
        m += [UInt8](repeating: 0, count: 16)
        m += le32(1)                                    // idiag_if
        m += le32(0xDEAD_BEEF) + le32(0x1)              // cookie
        m += le32(1500) + le32(5) + le32(4) + le32(1000) + le32(4242) // expires rq wq uid inode
        return nlmsg(m + attrs)
    }

    static func parseTCP(_ bytes: [UInt8]) -> (Int32, bd_tcp_record) {
        var rec = bd_tcp_record()
        // Exactly-sized storage: a read past the end would be a read past the array.
        let rc = bytes.withUnsafeBytes { bd_parse_tcp_message($0.baseAddress, $0.count, &rec) }
        return (rc, rec)
    }

    @Test func goodInetMessage() {
        let msg = Self.inetMessage(attrs: Self.attr(2, Self.tcpInfo()) + Self.attr(11, [1]))
        let (rc, r) = Self.parseTCP(msg)
        #expect(rc == 0)
        #expect(r.family == UInt8(AF_INET6) && r.state == 10 && r.retrans == 2)
        #expect(r.local_port == 8080 && r.bound_ifindex == 1)
        #expect(r.cookie == 0x1_DEAD_BEEF)
        #expect(r.expires_ms == 1500 && r.rqueue == 5 && r.wqueue == 4 && r.uid == 1000 && r.inode == 4242)
        #expect(r.has_info == 1 && r.tcpi_unacked == 5 && r.tcpi_sacked == 4)
        #expect(r.tcpi_last_data_sent == 1000 && r.tcpi_last_data_recv == 2000 && r.tcpi_last_ack_recv == 3000)
        #expect(r.v6only == 1)
        #expect(AddressText.numeric(family: AF_INET6, bytes: r.local_addr) == "::1")
    }

    @Test func everyTruncationIsRejectedOrEndsAtAnAttribute() {
        let info = Self.attr(2, Self.tcpInfo())
        let full = Self.inetMessage(attrs: info + Self.attr(11, [0]))
        // The last attribute (5 bytes, padded to 8) is complete from 5 bytes on.
        let boundaries = Set([88, 88 + info.count]).union((88 + info.count + 5)...full.count)
        for cut in 0...full.count {
            var bytes = Array(full[..<cut])
            if cut >= 4 { bytes.replaceSubrange(0..<4, with: Self.le32(UInt32(cut))) } // consistent framing
            let (rc, _) = Self.parseTCP(bytes)
            if boundaries.contains(cut) {
                #expect(rc == 0, "cut \(cut)")
            } else {
                #expect(rc == -EBADMSG, "cut \(cut)")
            }
            // A header that claims more than the buffer holds is never trusted.
            let (rc2, _) = Self.parseTCP(Array(full[..<cut]))
            #expect(cut == full.count ? rc2 == 0 : rc2 == -EBADMSG, "claimed \(full.count), have \(cut)")
        }
    }

    @Test func malformedAttributesAreRejected() {
        let bad: [[UInt8]] = [
            Self.attr(2, Self.tcpInfo(length: 40)),          // tcp_info too short for the ages
            Self.attr(11, []),                                // SKV6ONLY without its byte
            Self.le16(2) + Self.le16(2),                      // nla_len < 4
            Self.le16(200) + Self.le16(2) + [0, 0, 0, 0],     // nla_len past the message
        ]
        for attrs in bad {
            #expect(Self.parseTCP(Self.inetMessage(attrs: attrs)).0 == -EBADMSG, "\(attrs.prefix(8))")
        }
        var wrongFamily = Self.inetMessage(attrs: [])
        wrongFamily[16] = 99
        #expect(Self.parseTCP(wrongFamily).0 == -EBADMSG)
        // An older kernel's shorter tcp_info still parses when it holds the ages.
        #expect(Self.parseTCP(Self.inetMessage(attrs: Self.attr(2, Self.tcpInfo(length: 60)))).0 == 0)
    }

    static func unixMessage(attrs: [UInt8]) -> [UInt8] {
        nlmsg([UInt8(AF_UNIX), 5, 10, 0] + le32(777) + le32(0) + le32(0) + attrs)
    }

    static func parseUnix(_ bytes: [UInt8]) -> (Int32, bd_unix_record) {
        var rec = bd_unix_record()
        let rc = bytes.withUnsafeBytes { bd_parse_unix_message($0.baseAddress, $0.count, &rec) }
        return (rc, rec)
    }

    @Test func unixMessages() {
        let name: [UInt8] = [0] + Array("abs\u{0}x".utf8)
        let (rc, r) = Self.parseUnix(Self.unixMessage(attrs: Self.attr(0, name) + Self.attr(4, Self.le32(4) + Self.le32(3))))
        #expect(rc == 0)
        #expect(r.type == 5 && r.state == 10 && r.inode == 777 && r.has_rqlen == 1 && r.rqueue == 4 && r.wqueue == 3)
        let path = withUnsafeBytes(of: r.path) { AddressText.unixPath($0.prefix(Int(r.path_len))) }
        #expect(path == "@abs@x")

        #expect(Self.parseUnix(Self.unixMessage(attrs: Self.attr(0, [UInt8](repeating: 65, count: 109)))).0 == -EBADMSG)
        #expect(Self.parseUnix(Self.unixMessage(attrs: Self.attr(4, Self.le32(4)))).0 == -EBADMSG)
        let short = Self.unixMessage(attrs: [])
        #expect(Self.parseUnix(Array(short.dropLast())).0 == -EBADMSG)
    }
}
