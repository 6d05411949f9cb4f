import BacklogCore
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
    private let buckets: SourceBuckets?
    package let extraHeaders: [(String, String)]

    package init(_ settings: WebSettings) {
        self.settings = settings
        verifier = settings.users.isEmpty ? nil : PasswordVerifier()
        buckets = settings.rateLimit.flatMap { r in r.interval > 0 ? SourceBuckets(r) : nil }
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

    package func check(_ head: HTTPRequestHead, source: String?, on loop: EventLoop,
                       counters: AuthCounters) -> EventLoopFuture<GateVerdict> {
        if let buckets, !buckets.take(source: source) {
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

/// `rate_limit` per client address: each source has its own token bucket, so one
/// client's flood spends its own budget and not a scraper's (exporter-toolkit keeps one
/// bucket for the whole endpoint). At most `maxSources` are remembered: when full,
/// buckets that have refilled are forgotten (a new one starts full anyway), at most
/// once per `interval` so that a flood from many addresses does not sweep the table
/// on every request, and sources beyond that share one overflow bucket.
final class SourceBuckets: Sendable {
    private struct State {
        var buckets: [String: TokenBucket] = [:]
        var overflow: TokenBucket
        var sweptAt: ContinuousClock.Instant?
    }
    private let state: Mutex<State>
    private let limit: WebSettings.RateLimit
    let maxSources: Int

    init(_ limit: WebSettings.RateLimit, maxSources: Int = 4096, now: ContinuousClock.Instant = .now) {
        self.limit = limit
        self.maxSources = maxSources
        state = Mutex(State(overflow: TokenBucket(limit, now: now)))
    }

    /// Whether a request from `source` (its IP address; nil: unknown, the overflow bucket's) may go on.
    func take(source: String?, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { s in
            guard let source else { return s.overflow.take(now: now) }
            if s.buckets[source] == nil {
                if s.buckets.count >= maxSources, s.sweptAt.map({ (now - $0).seconds >= limit.interval }) ?? true {
                    s.sweptAt = now
                    s.buckets = s.buckets.filter { !$0.value.isFull(now: now) }
                }
                guard s.buckets.count < maxSources else { return s.overflow.take(now: now) }
                s.buckets[source] = TokenBucket(limit, now: now)
            }
            return s.buckets[source]!.take(now: now)
        }
    }
}

/// `burst` requests at once, then one per `interval`.
struct TokenBucket {
    let interval: Double
    let burst: Double
    var tokens: Double
    var at: ContinuousClock.Instant

    init(_ r: WebSettings.RateLimit, now: ContinuousClock.Instant = .now) {
        interval = r.interval
        burst = Double(max(1, r.burst))
        tokens = burst
        at = now
    }

    mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
        tokens = min(burst, tokens + max(0, (now - at).seconds) / interval)
        at = max(at, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether it has refilled by `now` (forgetting it changes nothing).
    func isFull(now: ContinuousClock.Instant) -> Bool {
        tokens + max(0, (now - at).seconds) / interval >= burst
    }
}
