import BacklogHTTP
import Glibc
import NIOCore
import NIOSSL
import NIOTLS

/// Sits behind the TLS handler: the handshake must end within the read timeout
/// of the accept (so a ClientHello trickled a byte at a time, or a connection
/// that never speaks, gives its slot back), failures are counted (those the
/// client certificate caused also as auth failures), and a client certificate
/// must carry one of `client_allowed_sans` when the file lists them.
final class TLSHandshakeGuard: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let timeout: Double
    private let allowedSANs: Set<String>?
    private let counters: AuthCounters
    private var deadline: Scheduled<Void>?
    private var finished = false

    init(timeout: Double, allowedSANs: [String]?, counters: AuthCounters) {
        self.timeout = timeout
        self.allowedSANs = allowedSANs.map(Set.init)
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(timeout * 1e9))) { [self] in
            guard !finished else { return }
            fail(context: context, certificate: false)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, !finished {
            deadline?.cancel()
            if let allowedSANs {
                // The policy (RequireAnyClientCert / RequireAndVerifyClientCert) made sure there is one.
                let leaf = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
                guard let leaf, !allowedSANs.isDisjoint(with: Self.sans(of: leaf)) else {
                    return fail(context: context, certificate: true)
                }
            }
            finished = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !finished else { return context.fireErrorCaught(error) }
        if case NIOSSLError.handshakeFailed(let e) = error {
            fail(context: context, certificate: Self.blamesClientCertificate(e))
        } else {
            // An EOF before the handshake ended (a TCP check, a client giving up): not counted.
            finished = true
            context.close(promise: nil)
        }
    }

    private func fail(context: ChannelHandlerContext, certificate: Bool) {
        finished = true
        deadline?.cancel()
        counters.countHandshakeFailure(clientCertificate: certificate)
        context.close(promise: nil)
    }

    /// BoringSSL's reasons when the client's certificate was missing or did not verify.
    static func blamesClientCertificate(_ e: BoringSSLError) -> Bool {
        let text = "\(e)"
        return ["CERTIFICATE_VERIFY_FAILED", "PEER_DID_NOT_RETURN_A_CERTIFICATE", "NO_CERTIFICATE"].contains { text.contains($0) }
    }

    /// The SANs as exporter-toolkit compares them: DNS names, e-mail addresses,
    /// IP addresses in their usual text form, URIs.
    static func sans(of cert: NIOSSLCertificate) -> Set<String> {
        var out = Set<String>()
        for san in cert._subjectAlternativeNames() {
            let bytes = san.contents.withUnsafeBufferPointer { Array($0) }
            switch san.nameType {
            case .dnsName, .email, .uri:
                out.insert(String(decoding: bytes, as: UTF8.self))
            case .ipAddress:
                if let ip = ipText(bytes) { out.insert(ip) }
            default:
                continue
            }
        }
        return out
    }

    /// Go's net.IP.String(): an IPv4-mapped IPv6 address prints as IPv4.
    static func ipText(_ b: [UInt8]) -> String? {
        var raw = b
        var family = AF_INET
        if b.count == 16 {
            if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
                raw = Array(b[12...])
            } else {
                family = AF_INET6
            }
        } else if b.count != 4 {
            return nil
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, raw, &text, socklen_t(text.count)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
