import NIOCore
import NIOSSL

/// TLSSettings made into a BoringSSL context: built once per load or reload, off
/// the event loop (it may read the system's trust store), and shared by every
/// connection accepted while it is in force.
public final class ServerTLS: Sendable, Equatable {
    public let settings: TLSSettings
    private let context: NIOSSLContext

    /// What could not be made of the settings, and which part of the file it came from.
    public struct SetupError: Error, CustomStringConvertible {
        public enum Part: Sendable { case certificate, key, clientCA, versions, context }
        public let part: Part
        public let description: String
    }

    public init(_ s: TLSSettings) throws(SetupError) {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(s.certificatePEM) } catch {
            throw SetupError(part: .certificate, description: "no PEM certificate could be read (\(error))")
        }
        guard !chain.isEmpty else { throw SetupError(part: .certificate, description: "holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: s.keyPEM, format: .pem) } catch {
            throw SetupError(part: .key, description: "no unencrypted PEM private key could be read (\(error))")
        }
        guard s.minVersion <= s.maxVersion else {
            throw SetupError(part: .versions, description: "min_version \(s.minVersion.rawValue) is above max_version \(s.maxVersion.rawValue)")
        }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        c.minimumTLSVersion = Self.version(s.minVersion)
        c.maximumTLSVersion = Self.version(s.maxVersion)
        // HTTP/1.1 is what is served: say so, so an HTTP/2 client does not try h2.
        c.applicationProtocols = ["http/1.1"]
        let suites = s.cipherSuites.filter { !TLSSettings.tls13Suites.contains($0) }
        if !suites.isEmpty { c.cipherSuiteValues = suites.map(NIOTLSCipher.init(rawValue:)) }
        if !s.curves.isEmpty { c.curves = s.curves.map(NIOTLSCurve.init(rawValue:)) }
        if let pem = s.clientCAPEM {
            let cas: [NIOSSLCertificate]
            do { cas = try NIOSSLCertificate.fromPEMBytes(pem) } catch {
                throw SetupError(part: .clientCA, description: "no PEM certificate could be read (\(error))")
            }
            guard !cas.isEmpty else { throw SetupError(part: .clientCA, description: "holds no PEM certificate") }
            c.trustRoots = .certificates(cas)
            // As Go does with ClientCAs: the client is told which CAs are wanted.
            c.sendCANameList = true
        } else if s.clientAuth.verifiesCertificate {
            // As Go, whose empty ClientCAs means the system's roots.
            c.trustRoots = .default
        } else {
            // Nothing is verified against it: no trust store to load.
            c.trustRoots = .certificates([])
        }
        switch s.clientAuth {
        case .noClientCert: c.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven: c.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert: c.certificateVerification = .noHostnameVerification
        }
        do { context = try NIOSSLContext(configuration: c) } catch NIOSSLError.failedToLoadPrivateKey {
            // BoringSSL compares the key with the leaf certificate's public key.
            throw SetupError(part: .key, description: "the private key does not belong to the certificate")
        } catch {
            throw SetupError(part: .context, description: "BoringSSL refused the settings (\(error))")
        }
        settings = s
    }

    /// The same settings make the same context.
    public static func == (a: ServerTLS, b: ServerTLS) -> Bool { a.settings == b.settings }

    /// The handler that speaks TLS on one new connection. Policies that take a
    /// certificate without verifying it get a callback that accepts whatever came.
    func makeHandler() -> NIOSSLServerHandler {
        switch settings.clientAuth {
        case .requestClientCert, .requireAnyClientCert:
            return NIOSSLServerHandler(context: context, customVerificationCallback: { _, promise in
                promise.succeed(.certificateVerified)
            })
        default:
            return NIOSSLServerHandler(context: context)
        }
    }

    private static func version(_ v: TLSSettings.Version) -> TLSVersion {
        switch v {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        }
    }
}
