import BacklogCore
import BacklogDaemon
import Yams

/// `tls_server_config` of the web-config file, read as exporter-toolkit reads it:
/// TLS is on when any of the certificate, key, client CA or client_auth_type keys
/// is set; relative file paths are taken from the web-config file's directory;
/// the files are read here (bounded, as the config), so a reload has all of them
/// or keeps what runs. Then BoringSSL is asked to take the result, so that a key
/// that does not fit its certificate fails here, with its line; that context is
/// the one the server uses.
enum WebTLSSection {
    static let key = "tls_server_config"

    static func read(_ node: Node, line sectionLine: Int?, directory: String) throws(ConfigError) -> ServerTLS? {
        var inline: [String: (String, Int?)] = [:]
        var files: [String: (String, Int?)] = [:]
        var clientAuth: (String, Int?) = ("", nil)
        var sans: ([String], Int?)?
        var versions: [String: (TLSSettings.Version, Int?)] = [:]
        var suites: [UInt16] = []
        var curves: [UInt16] = []
        for (sub, v, line) in try ConfigFile.pairs(try ConfigFile.mapping(node, key: key), prefix: key + ".") {
            let name = String(sub.dropFirst(key.count + 1))
            switch name {
            case "cert", "key", "client_ca":
                if let s = try scalar(v, key: sub) { inline[name] = (s, line) }
            case "cert_file", "key_file", "client_ca_file":
                if let s = try scalar(v, key: sub) { files[String(name.dropLast(5))] = (s, line) }
            case "client_auth_type":
                clientAuth = (try scalar(v, key: sub) ?? "", line)
            case "client_allowed_sans":
                sans = (try list(v, key: sub), line)
            case "min_version", "max_version":
                guard let s = try scalar(v, key: sub) else { continue }
                guard let version = TLSSettings.Version(rawValue: s) else {
                    throw ConfigError(key: sub, line: line, "\(Setting.quote(s)) is not one of TLS10, TLS11, TLS12, TLS13")
                }
                versions[name] = (version, line)
            case "cipher_suites":
                suites = try list(v, key: sub).map { s throws(ConfigError) in
                    guard let id = TLSSettings.cipherSuiteIDs[s] else {
                        throw ConfigError(key: sub, line: line, "unknown cipher suite \(Setting.quote(s)) (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)")
                    }
                    return id
                }
            case "curve_preferences":
                curves = try list(v, key: sub).map { s throws(ConfigError) in
                    guard let id = TLSSettings.curveIDs[s] else {
                        throw ConfigError(key: sub, line: line, "unknown curve \(Setting.quote(s)) (one of \(TLSSettings.curveIDs.keys.sorted().joined(separator: ", ")))")
                    }
                    return id
                }
            case "prefer_server_cipher_suites":
                // Accepted and without effect: BoringSSL's server picks by its own order.
                guard let s = try scalar(v, key: sub) else { continue }
                guard ["true", "false"].contains(s) else { throw ConfigError(key: sub, line: line, "expected true or false") }
            default:
                throw ConfigFile.unknown(sub, line: line)
            }
        }
        // exporter-toolkit's test for "TLS is configured".
        guard !inline.isEmpty || !files.isEmpty || !clientAuth.0.isEmpty else { return nil }
        func pem(_ part: String, required: Bool) throws(ConfigError) -> [UInt8]? {
            switch (inline[part], files[part]) {
            case (.some(_), .some(let f)):
                throw ConfigError(key: "\(key).\(part)_file", line: f.1, "give \(part) or \(part)_file, not both")
            case (.some(let i), nil):
                return Array(i.0.utf8)
            case (nil, .some(let f)):
                let path = f.0.hasPrefix("/") ? f.0 : directory + "/" + f.0
                do { return try ConfigLoader.bytes(of: path)! } catch {
                    throw ConfigError(key: "\(key).\(part)_file", line: f.1, "\(path): \(error.message)")
                }
            case (nil, nil):
                guard !required else { throw ConfigError(key: key, line: sectionLine, "missing one of \(part) or \(part)_file") }
                return nil
            }
        }
        let cert = try pem("cert", required: true)!
        let privateKey = try pem("key", required: true)!
        let ca = try pem("client_ca", required: false)
        guard let auth = TLSSettings.ClientAuth(fileName: clientAuth.0) else {
            throw ConfigError(key: "\(key).client_auth_type", line: clientAuth.1,
                              "\(Setting.quote(clientAuth.0)) is not one of \(TLSSettings.ClientAuth.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if ca != nil, auth == .noClientCert {
            throw ConfigError(key: "\(key).client_auth_type", line: clientAuth.1 ?? sectionLine,
                              "a client CA is given without a client_auth_type that asks for certificates")
        }
        if let sans, !auth.requiresCertificate {
            throw ConfigError(key: "\(key).client_allowed_sans", line: sans.1,
                              "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert (the others let a client in without a certificate to match)")
        }
        let settings = TLSSettings(
            certificatePEM: cert, keyPEM: privateKey, clientCAPEM: ca, clientAuth: auth, allowedSANs: sans?.0,
            minVersion: versions["min_version"]?.0 ?? .tls12, maxVersion: versions["max_version"]?.0 ?? .tls13,
            cipherSuites: suites, curves: curves)
        do { return try ServerTLS(settings) } catch {
            let (k, l): (String, Int?) = switch error.part {
            case .certificate: inline["cert"] != nil ? ("cert", inline["cert"]?.1) : ("cert_file", files["cert"]?.1)
            case .key: inline["key"] != nil ? ("key", inline["key"]?.1) : ("key_file", files["key"]?.1)
            case .clientCA: inline["client_ca"] != nil ? ("client_ca", inline["client_ca"]?.1) : ("client_ca_file", files["client_ca"]?.1)
            case .versions: ("min_version", versions["min_version"]?.1)
            case .context: ("", sectionLine)
            }
            throw ConfigError(key: k.isEmpty ? key : "\(key).\(k)", line: l ?? sectionLine, error.description)
        }
    }

    /// One value; nil for an empty or null one (exporter-toolkit's "not set").
    private static func scalar(_ node: Node, key: String) throws(ConfigError) -> String? {
        let s = try ConfigFile.string(node, key: key)
        return WebConfigFile.isNull(node) || s.isEmpty ? nil : s
    }

    /// A YAML list of plain values (null: empty).
    private static func list(_ node: Node, key: String) throws(ConfigError) -> [String] {
        if WebConfigFile.isNull(node) { return [] }
        guard let seq = node.sequence else { throw ConfigError(key: key, line: ConfigFile.line(node), "expected a list") }
        return try seq.map { n throws(ConfigError) in try ConfigFile.string(n, key: key) }
    }
}
