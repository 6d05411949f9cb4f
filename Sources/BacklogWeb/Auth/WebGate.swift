import BacklogHTTP
import ExtrasBase64
import NIOCore
import NIOHTTP1
import Synchronization

/// What the web-config file puts before every route (WebSettings): TLS on each
/// connection, then per request the rate limit and basic authentication. Made
/// anew on each reload (its password cache with it); the counters are the
/// server's, which outlive reloads.
package final class WebGate: RequestGate {
    let settings: WebSettings
    /// The TLS context new connections get; nil: plain HTTP.
    var tls: ServerTLS? { settings.tls }
    private let verifier: PasswordVerifier?
    private let bucket: SharedBucket?
    package let extraHeaders: [(String, String)]

    package init(_ settings: WebSettings) {
        self.settings = settings
        verifier = settings.users.isEmpty ? nil : PasswordVerifier()
        bucket = settings.rateLimit.flatMap { r in r.interval > 0 ? SharedBucket(TokenBucket(r)) : nil }
        extraHeaders = settings.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    package var servesTLS: Bool { tls != nil }
    package var guardsAccess: Bool { !settings.users.isEmpty || tls != nil }

    package func addConnectionHandlers(to pipeline: ChannelPipeline.SynchronousOperations, readTimeout: Double,
                                       counters: AuthCounters) throws {
        guard let tls else { return }
        try pipeline.addHandler(tls.makeHandler())
        try pipeline.addHandler(TLSHandshakeGuard(timeout: readTimeout, allowedSANs: tls.settings.allowedSANs, counters: counters))
    }

    package func check(_ head: HTTPRequestHead, on loop: EventLoop, counters: AuthCounters) -> EventLoopFuture<GateVerdict> {
        if let bucket, !bucket.take() {
            return loop.makeSucceededFuture(.refuse(.tooManyRequests, "too many requests", headers: []))
        }
        guard let verifier else { return loop.makeSucceededFuture(.pass) }
        let challenge = [("WWW-Authenticate", "Basic realm=\"backlogd\", charset=\"UTF-8\"")]
        guard let (user, password) = Self.credentials(head.headers["Authorization"]) else {
            counters.countBasicAuthFailure()
            return loop.makeSucceededFuture(.refuse(.unauthorized, "unauthorized", headers: challenge))
        }
        // An unknown user costs a bcrypt too, so that timing does not tell which users exist.
        let hash = settings.users[user] ?? Self.unknownUserHash
        let known = settings.users[user] != nil
        return verifier.check(user: user, password: password, hash: hash, on: loop).map { [counters] outcome in
            switch outcome {
            case .allowed where known: return .pass
            case .busy:
                counters.countShed()
                return .refuse(.serviceUnavailable, "busy checking passwords; try again", headers: [])
            default:
                counters.countBasicAuthFailure()
                return .refuse(.unauthorized, "unauthorized", headers: challenge)
            }
        }
    }

    /// `Basic <base64 of user:password>` (the scheme case-insensitive); nil when absent or malformed.
    static func credentials(_ values: [String]) -> (String, [UInt8])? {
        guard values.count == 1 else { return nil }
        let v = values[0].drop { $0 == " " }
        guard v.count > 6, v.prefix(6).lowercased() == "basic " else { return nil }
        let token = v.dropFirst(6).trimmingSpaces
        guard let bytes = try? String(token).base64decoded(), let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
              let user = String(validating: bytes[..<colon], as: UTF8.self) else { return nil }
        return (user, Array(bytes[(colon + 1)...]))
    }

    /// A valid bcrypt hash no password is known for (cost 10, as users' usually are).
    static let unknownUserHash = "$2y$10$TpLbIpq/lMCl6lwXcjZqfOT9GTGLMXU0tgXDB2VH2cSkIpNGbYCQu"
}

/// The one bucket all connections take from.
final class SharedBucket: Sendable {
    private let bucket: Mutex<TokenBucket>
    init(_ b: TokenBucket) { bucket = Mutex(b) }
    func take() -> Bool { bucket.withLock { $0.take() } }
}

/// `burst` requests at once, then one per `interval`.
struct TokenBucket {
    let interval: Double
    let burst: Double
    var tokens: Double
    var at = ContinuousClock.now

    init(_ r: WebSettings.RateLimit) {
        interval = r.interval
        burst = Double(max(1, r.burst))
        tokens = burst
    }

    mutating func take() -> Bool {
        let now = ContinuousClock.now
        tokens = min(burst, tokens + (now - at).seconds / interval)
        at = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
