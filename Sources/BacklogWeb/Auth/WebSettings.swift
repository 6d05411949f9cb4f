/// What the web-config file (`web.config_file`, exporter-toolkit's format) asks of
/// the HTTP endpoint: TLS, who may ask, extra response headers, a rate limit.
public struct WebSettings: Sendable, Equatable {
    /// User -> bcrypt hash (`basic_auth_users`); empty: no authentication.
    public var users: [String: String]
    /// `http_server_config.headers`, added to every response.
    public var headers: [String: String]
    /// `rate_limit`: a token bucket of `burst` requests refilled one per `interval` seconds.
    public var rateLimit: RateLimit?
    /// `tls_server_config`, already made into a context (the reader checks it so,
    /// and the server uses that one); nil: plain HTTP.
    public var tls: ServerTLS?

    public struct RateLimit: Sendable, Equatable {
        public var interval: Double
        public var burst: Int

        public init(interval: Double, burst: Int) {
            self.interval = interval
            self.burst = burst
        }
    }

    public init(users: [String: String] = [:], headers: [String: String] = [:], rateLimit: RateLimit? = nil, tls: ServerTLS? = nil) {
        self.users = users
        self.headers = headers
        self.rateLimit = rateLimit
        self.tls = tls
    }

    /// Whether a bcrypt hash is one crypt_r can check (the web-config reader refuses others).
    public static func isBcryptHash(_ s: String) -> Bool { Bcrypt.isHash(s) }
}
