/// `tls_server_config` of the web-config file, as read: the PEM material itself
/// (files already read, so a reload either has all of it or keeps the old), the
/// client-certificate policy and the protocol limits. Names are exporter-toolkit's
/// (Go's crypto/tls names), so a site's existing file means the same here.
public struct TLSSettings: Sendable, Equatable {
    /// Go's tls.ClientAuthType names, as exporter-toolkit reads them.
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        /// Asks for a certificate, takes any or none, verifies nothing.
        case requestClientCert = "RequestClientCert"
        /// A certificate is required, but not verified.
        case requireAnyClientCert = "RequireAnyClientCert"
        /// None is fine; one that is sent must verify against the client CA.
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// The name as a file spells it; "" is NoClientCert, and exporter-toolkit
        /// keeps the old "RequireClientCert" for RequireAnyClientCert.
        public init?(fileName: String) {
            switch fileName {
            case "": self = .noClientCert
            case "RequireClientCert": self = .requireAnyClientCert
            default: self.init(rawValue: fileName)
            }
        }

        public var requiresCertificate: Bool { self == .requireAnyClientCert || self == .requireAndVerifyClientCert }
        public var verifiesCertificate: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    public enum Version: String, Sendable, CaseIterable, Comparable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        public static func < (a: Version, b: Version) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    /// The server's certificate chain (leaf first) and its key, PEM.
    public var certificatePEM: [UInt8]
    public var keyPEM: [UInt8]
    /// The CAs client certificates are verified against, PEM.
    public var clientCAPEM: [UInt8]?
    public var clientAuth: ClientAuth
    /// A client certificate must carry one of these SANs (DNS, e-mail, IP or URI), exactly.
    public var allowedSANs: [String]?
    public var minVersion: Version
    public var maxVersion: Version
    /// IANA ids, in preference order; only TLS 1.2-and-older suites can be chosen
    /// (TLS 1.3's are fixed by BoringSSL, as by Go). Empty: the library's defaults.
    public var cipherSuites: [UInt16]
    /// TLS group ids, in preference order. Empty: the library's defaults.
    public var curves: [UInt16]

    public init(certificatePEM: [UInt8], keyPEM: [UInt8], clientCAPEM: [UInt8]? = nil,
                clientAuth: ClientAuth = .noClientCert, allowedSANs: [String]? = nil,
                minVersion: Version = .tls12, maxVersion: Version = .tls13,
                cipherSuites: [UInt16] = [], curves: [UInt16] = []) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.clientCAPEM = clientCAPEM
        self.clientAuth = clientAuth
        self.allowedSANs = allowedSANs
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.cipherSuites = cipherSuites
        self.curves = curves
    }

    /// Go's names of the suites tls.CipherSuites() lists (those exporter-toolkit takes).
    public static let cipherSuiteIDs: [String: UInt16] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": 0x002F, "TLS_RSA_WITH_AES_256_CBC_SHA": 0x0035,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C, "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
        "TLS_AES_128_GCM_SHA256": 0x1301, "TLS_AES_256_GCM_SHA384": 0x1302, "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": 0xC00A,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": 0xC013, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": 0xC014,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
    ]
    /// TLS 1.3's suites: accepted in `cipher_suites`, as Go accepts them, and without effect there.
    static let tls13Suites: Set<UInt16> = [0x1301, 0x1302, 0x1303]

    /// Go's tls.CurveID names exporter-toolkit takes.
    public static let curveIDs: [String: UInt16] = ["CurveP256": 0x17, "CurveP384": 0x18, "CurveP521": 0x19, "X25519": 0x1D]
}
