import BacklogCore
import BacklogDaemon
import Yams

/// Reads exporter-toolkit's web-config file (`--web.config.file`,
/// docs/web-configuration.md) into WebSettings, as strictly as the main config:
/// an unknown key or a bad value is an error with the file and line.
/// `tls_server_config` (WebTLSSection), `basic_auth_users`, `http_server_config`
/// (`headers`; `http2` accepted, HTTP/1.1 served) and `rate_limit`.
public enum WebConfigFile {
    /// The headers exporter-toolkit lets a file set, and the values it allows (nil: any).
    static let headers: [String: Set<String>?] = [
        "Content-Security-Policy": nil, "X-Frame-Options": ["deny", "sameorigin"],
        "X-Content-Type-Options": ["nosniff"], "X-XSS-Protection": nil, "Strict-Transport-Security": nil,
    ]
    /// `directory`: where relative certificate and key paths start (the file's own).
    public static func parse(_ text: String, directory: String = ".") throws(ConfigError) -> WebSettings {
        var web = WebSettings()
        guard let top = try ConfigFile.document(text) else { return web }
        for (key, value, keyLine) in try ConfigFile.pairs(top, prefix: "") {
            switch key {
            case "basic_auth_users":
                guard !isNull(value) else { continue }
                for (user, hash, line) in try ConfigFile.pairs(try ConfigFile.mapping(value, key: key), prefix: "") {
                    let h = try ConfigFile.string(hash, key: "\(key).\(user)")
                    guard WebSettings.isBcryptHash(h) else {
                        throw ConfigError(key: "\(key).\(user)", line: line, "not a bcrypt hash ($2y$10$…, as htpasswd -nBC 10 makes)")
                    }
                    web.users[user] = h
                }
            case "http_server_config":
                guard !isNull(value) else { continue }
                for (sub, v, line) in try ConfigFile.pairs(try ConfigFile.mapping(value, key: key), prefix: key + ".") {
                    switch sub {
                    case "http_server_config.http2":
                        guard ["true", "false"].contains(try ConfigFile.string(v, key: sub)) else {
                            throw ConfigError(key: sub, line: line, "expected true or false")
                        }
                    case "http_server_config.headers":
                        guard !isNull(v) else { continue }
                        for (name, hv, hLine) in try ConfigFile.pairs(try ConfigFile.mapping(v, key: sub), prefix: "") {
                            guard let allowed = headers[name] else {
                                throw ConfigError(key: "\(sub).\(name)", line: hLine, "this header cannot be set (only \(headers.keys.sorted().joined(separator: ", ")))")
                            }
                            let s = try ConfigFile.string(hv, key: "\(sub).\(name)")
                            if let allowed, !s.isEmpty, !allowed.contains(s.lowercased()) {
                                throw ConfigError(key: "\(sub).\(name)", line: hLine, "\(Setting.quote(s)) is not one of \(allowed.sorted().joined(separator: ", "))")
                            }
                            guard s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
                                throw ConfigError(key: "\(sub).\(name)", line: hLine, "a header value is printable ASCII")
                            }
                            // Blank: unset, as exporter-toolkit does.
                            if !s.isEmpty { web.headers[name] = s }
                        }
                    default:
                        throw ConfigFile.unknown(sub, line: line)
                    }
                }
            case "rate_limit":
                guard !isNull(value) else { continue }
                var interval = 0.0, burst = 0
                for (sub, v, line) in try ConfigFile.pairs(try ConfigFile.mapping(value, key: key), prefix: key + ".") {
                    let s = try ConfigFile.string(v, key: sub)
                    switch sub {
                    case "rate_limit.interval":
                        guard let d = DurationText.seconds(s), d >= 0 else { throw ConfigError(key: sub, line: line, "\(Setting.quote(s)) is not a duration (e.g. 1s, 100ms)") }
                        interval = d
                    case "rate_limit.burst":
                        guard let b = Int(s), b >= 0 else { throw ConfigError(key: sub, line: line, "\(Setting.quote(s)) is not a whole number") }
                        burst = b
                    default:
                        throw ConfigFile.unknown(sub, line: line)
                    }
                }
                web.rateLimit = interval > 0 ? .init(interval: interval, burst: burst) : nil
            case WebTLSSection.key:
                guard !isNull(value) else { continue }
                web.tls = try WebTLSSection.read(value, line: keyLine, directory: directory)
            default:
                throw ConfigFile.unknown(key, line: keyLine)
            }
        }
        return web
    }

    /// `key:` with nothing after it (YAML null), as sample files often leave sections.
    static func isNull(_ node: Node) -> Bool {
        node.scalar.map { ["", "~", "null"].contains($0.string) } ?? false
    }

    /// Reads the file (bounded, never blocking, as the main config) and parses it.
    public static func load(_ path: String) throws(ConfigError) -> WebSettings {
        let text = try ConfigLoader.text(of: path)
        do {
            return try parse(text, directory: directory(of: path))
        } catch {
            var e = error
            e.file = path
            throw e
        }
    }

    /// exporter-toolkit's filepath.Dir: "." for a bare name.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
