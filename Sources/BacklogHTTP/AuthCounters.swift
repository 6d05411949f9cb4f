import Synchronization

/// Refusals of the gate, since start (across reloads): served as
/// backlogd_http_auth_failures_total and its neighbours while a gate guards access.
package final class AuthCounters: Sendable {
    private struct Counts {
        var basicAuth: UInt64 = 0
        var shed: UInt64 = 0
        var clientCertificate: UInt64 = 0
        var handshakes: UInt64 = 0
    }
    private let counts = Mutex(Counts())

    package init() {}

    package func countBasicAuthFailure() { counts.withLock { $0.basicAuth += 1 } }
    package func countShed() { counts.withLock { $0.shed += 1 } }
    package var basicAuthFailures: UInt64 { counts.withLock { $0.basicAuth } }
    package var shed: UInt64 { counts.withLock { $0.shed } }
    /// A TLS handshake failed or ran out of time; `clientCertificate`: because of the client's certificate.
    package func countHandshakeFailure(clientCertificate: Bool) {
        counts.withLock {
            $0.handshakes += 1
            if clientCertificate { $0.clientCertificate += 1 }
        }
    }
    package var clientCertificateFailures: UInt64 { counts.withLock { $0.clientCertificate } }
    package var handshakeFailures: UInt64 { counts.withLock { $0.handshakes } }
}
