import ExtrasBase64
import NIOCore
import NIOHTTP1
import Synchronization

/// What every request passes before its route (WebSettings): the rate limit, then
/// basic authentication. Made anew on each reload (its cache with it); the
/// counters live in AuthCounters, which outlive reloads.
final class WebGate: Sendable {
    let settings: WebSettings
    /// The TLS context new connections get; nil: plain HTTP.
    var tls: ServerTLS? { settings.tls }
    private let verifier: PasswordVerifier?
    private let bucket: SharedBucket?
    let counters: AuthCounters

    enum Verdict {
        case pass
        /// Answer this instead of the route.
        case refuse(Reply)
    }

    init(_ settings: WebSettings, counters: AuthCounters) {
        self.settings = settings
        self.counters = counters
        verifier = settings.users.isEmpty ? nil : PasswordVerifier()
        bucket = settings.rateLimit.flatMap { r in r.interval > 0 ? SharedBucket(TokenBucket(r)) : nil }
    }

    var extraHeaders: [(String, String)] { settings.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    func check(_ head: HTTPRequestHead, on loop: EventLoop) -> EventLoopFuture<Verdict> {
        if let bucket, !bucket.take() {
            return loop.makeSucceededFuture(.refuse(.text(.tooManyRequests, "too many requests")))
        }
        guard let verifier else { return loop.makeSucceededFuture(.pass) }
        let challenge = [("WWW-Authenticate", "Basic realm=\"backlogd\", charset=\"UTF-8\"")]
        guard let (user, password) = Self.credentials(head.headers["Authorization"]) else {
            counters.countBasicAuthFailure()
            return loop.makeSucceededFuture(.refuse(.text(.unauthorized, "unauthorized", headers: challenge)))
        }
        // An unknown user costs a bcrypt too, so that timing does not tell which users exist.
        let hash = settings.users[user] ?? Self.unknownUserHash
        let known = settings.users[user] != nil
        return verifier.check(user: user, password: password, hash: hash, on: loop).map { [counters] outcome in
            switch outcome {
            case .allowed where known: return .pass
            case .busy:
                counters.countShed()
                return .refuse(.text(.serviceUnavailable, "busy checking passwords; try again"))
            default:
                counters.countBasicAuthFailure()
                return .refuse(.text(.unauthorized, "unauthorized", headers: challenge))
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

/// Refusals of the gate, since start (across reloads).
final class AuthCounters: Sendable {
    private struct Counts {
        var basicAuth: UInt64 = 0
        var shed: UInt64 = 0
        var clientCertificate: UInt64 = 0
        var handshakes: UInt64 = 0
    }
    private let counts = Mutex(Counts())

    func countBasicAuthFailure() { counts.withLock { $0.basicAuth += 1 } }
    func countShed() { counts.withLock { $0.shed += 1 } }
    var basicAuthFailures: UInt64 { counts.withLock { $0.basicAuth } }
    var shed: UInt64 { counts.withLock { $0.shed } }
    /// A TLS handshake failed or ran out of time; `clientCertificate`: because of the client's certificate.
    func countHandshakeFailure(clientCertificate: Bool) {
        counts.withLock {
            $0.handshakes += 1
            if clientCertificate { $0.clientCertificate += 1 }
        }
    }
    var clientCertificateFailures: UInt64 { counts.withLock { $0.clientCertificate } }
    var handshakeFailures: UInt64 { counts.withLock { $0.handshakes } }
}

/// The gate in force; a reload replaces it, and every request reads it anew
/// (a keep-alive connection does not keep an old password working).
final class GateBox: Sendable {
    private let gate: Mutex<WebGate>
    let counters = AuthCounters()

    init() {
        gate = Mutex(WebGate(WebSettings(), counters: counters))
    }

    var current: WebGate { gate.withLock { $0 } }

    func replace(_ settings: WebSettings) {
        let new = WebGate(settings, counters: counters)
        gate.withLock { $0 = new }
    }
}
