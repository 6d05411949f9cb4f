@testable import BacklogWeb
import NIOPosix
import Testing

/// bcrypt through libxcrypt, and the verifier's cache of successes.
@Suite struct PasswordVerifierTests {
    /// htpasswd -bnBC 4 "" secret
    static let hash = "$2y$04$VZcLbJsXb.UQ89xZaoENKuPM9ohhsBIUB0oX0/S.yc.Tylexwgika"

    @Test func onlyBcryptHashesAreTaken() {
        #expect(Bcrypt.isHash(Self.hash))
        #expect(!Bcrypt.isHash("$1$abc$def") && !Bcrypt.isHash(String(Self.hash.dropLast())) && !Bcrypt.isHash(""))
    }

    @Test func successesAreRememberedByPasswordNotByUser() throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let v = PasswordVerifier()
        #expect(try v.check(user: "prom", password: Array("secret".utf8), hash: Self.hash, on: loop).wait() == .allowed)
        #expect(try v.check(user: "prom", password: Array("secret".utf8), hash: Self.hash, on: loop).wait() == .allowed, "cached")
        #expect(try v.check(user: "prom", password: Array("Secret".utf8), hash: Self.hash, on: loop).wait() == .denied)
        #expect(try v.check(user: "prom", password: Array("secret\u{0}x".utf8), hash: Self.hash, on: loop).wait() == .denied, "a NUL does not cut the password")
        let b = Self.hash.replacingOccurrences(of: "$2y$", with: "$2b$")
        #expect(try v.check(user: "prom", password: Array("secret".utf8), hash: b, on: loop).wait() == .allowed, "$2b$ too")
        #expect(try v.check(user: "prom", password: Array("secre".utf8), hash: Self.hash, on: loop).wait() == .denied, "a prefix is not the password")
        #expect(PasswordVerifier.Key(user: Array("a".utf8), hash: Array("bc".utf8), password: [])
                 != PasswordVerifier.Key(user: Array("ab".utf8), hash: Array("c".utf8), password: []))
    }

    @Test func credentialsAreReadFromTheHeader() {
        #expect(WebGate.credentials(["Basic cHJvbTpzM2NyZXQ="])! == ("prom", Array("s3cret".utf8)))
        #expect(WebGate.credentials(["basic cHJvbTphOmI="])! == ("prom", Array("a:b".utf8)), "the password may hold a colon")
        for bad in [[], ["Bearer x"], ["Basic"], ["Basic !!!"], ["Basic cHJvbQ=="], ["Basic cHJvbTpz", "Basic cHJvbTpz"]] {
            #expect(WebGate.credentials(bad) == nil, "\(bad)")
        }
    }
}
