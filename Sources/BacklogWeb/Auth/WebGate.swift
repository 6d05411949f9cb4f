import BacklogCore
import BacklogHTTP
import ExtrasBase64
import NIOCore
import NIOHTTP1
import Synchronization

/// What the web-config file puts before every route (WebSettings): TLS on each
/// connection, then per request the rate limit and basic authentication. Made
/// anew on each reload; what the password checks remember (AuthMemory: verified
/// passwords of users whose hash did not change, failures per address) and the
/// counters are the daemon's, which outlive reloads.
package final class WebGate: RequestGate {
    let settings: WebSettings
    /// The TLS context new connections get; nil: plain HTTP.
    var tls: ServerTLS? { settings.tls }
    private let verifier: PasswordVerifier?
    private let buckets: SourceBuckets?
    /// What an unknown user's password is checked against: the cost of the dearest configured hash.
    let unknownUserHash: String
    package let extraHeaders: [(String, String)]

    package init(_ settings: WebSettings, memory: AuthMemory = AuthMemory()) {
        self.settings = settings
        memory.cache.keep(users: settings.users)
        verifier = settings.users.isEmpty ? nil : PasswordVerifier(memory: memory)
        unknownUserHash = Self.standIn(for: settings.users)
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
        // An unknown user costs a bcrypt of the same cost, so that timing does not tell which users exist.
        let hash = settings.users[user] ?? unknownUserHash
        let known = settings.users[user] != nil
        return verifier.check(user: user, password: password, hash: hash, source: source, on: loop).flatMap { [counters] outcome in
            switch outcome {
            case .allowed where known: return loop.makeSucceededFuture(.pass)
            case .busy:
                // Answered a moment later: a client that retries at once is slowed, not served faster.
                counters.countShed()
                return Self.later(.refuse(.serviceUnavailable, "busy checking passwords; try again", headers: [("Retry-After", "1")]),
                                  seconds: 0.25, on: loop)
            case .backedOff(let wait):
                // Not checked: 401 as for a wrong password (what clients expect of bad credentials,
                // and counted as one), held up to a second (no CPU meanwhile), so a flood from one
                // address slows to its pace.
                counters.countBasicAuthFailure()
                let retry = "\(max(1, Int(wait.rounded(.up))))"
                return Self.later(.refuse(.unauthorized, "unauthorized: too many failed passwords from this address; retry in \(retry) s",
                                          headers: challenge + [("Retry-After", retry)]), seconds: min(wait, 1), on: loop)
            default:
                counters.countBasicAuthFailure()
                return loop.makeSucceededFuture(.refuse(.unauthorized, "unauthorized", headers: challenge))
            }
        }
    }

    static func later(_ verdict: GateVerdict, seconds: Double, on loop: EventLoop) -> EventLoopFuture<GateVerdict> {
        loop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { verdict }.futureResult
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

    /// A bcrypt hash no password is known for, at the cost of the dearest configured
    /// hash (10 when none can be read): crypt_r does the whole work of that cost for
    /// it, and its 31 hash characters are not the result of any known password.
    static func standIn(for users: [String: String]) -> String {
        let cost = users.values.compactMap { h -> Int? in
            Bcrypt.isHash(h) ? Int(String(h.utf8.dropFirst(4).prefix(2))!) : nil
        }.max() ?? 10
        return "$2y$" + (cost < 10 ? "0\(cost)" : "\(cost)") + "$TpLbIpq/lMCl6lwXcjZqfOT9GTGLMXU0tgXDB2VH2cSkIpNGbYCQu"
    }
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
