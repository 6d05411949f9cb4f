@testable import BacklogWeb
import Foundation
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

    /// One check from `source` (each of these from an address of its own unless said).
    static func check(_ v: PasswordVerifier, _ password: String, hash: String = hash, source: String) throws -> PasswordVerifier.Outcome {
        try v.check(user: "prom", password: Array(password.utf8), hash: hash, source: source,
                    on: MultiThreadedEventLoopGroup.singleton.next()).wait()
    }

    @Test func successesAreRememberedByPasswordNotByUser() throws {
        let v = PasswordVerifier(memory: AuthMemory())
        #expect(try Self.check(v, "secret", source: "10.0.0.1") == .allowed)
        #expect(try Self.check(v, "secret", source: "10.0.0.2") == .allowed, "cached")
        #expect(try Self.check(v, "Secret", source: "10.0.0.3") == .denied)
        #expect(try Self.check(v, "secret\u{0}x", source: "10.0.0.4") == .denied, "a NUL does not cut the password")
        let b = Self.hash.replacingOccurrences(of: "$2y$", with: "$2b$")
        #expect(try Self.check(v, "secret", hash: b, source: "10.0.0.5") == .allowed, "$2b$ too")
        #expect(try Self.check(v, "secre", source: "10.0.0.6") == .denied, "a prefix is not the password")
        #expect(SuccessCache.Key(user: Array("a".utf8), hash: Array("bc".utf8), password: [])
                 != SuccessCache.Key(user: Array("ab".utf8), hash: Array("c".utf8), password: []))
    }

    /// A failure backs its address off (0.5 s, doubling); other addresses and passwords
    /// verified before are not held back.
    @Test func failuresBackTheirAddressOffButNeverACachedPassword() throws {
        let v = PasswordVerifier(memory: AuthMemory())
        #expect(try Self.check(v, "wrong", source: "10.0.0.1") == .denied)
        guard case .backedOff(let wait) = try Self.check(v, "secret", source: "10.0.0.1") else {
            Issue.record("not backed off")
            return
        }
        #expect(wait > 0 && wait <= FailureBackoff.first)
        #expect(try Self.check(v, "secret", source: "10.0.0.2") == .allowed, "another address is checked")
        #expect(try Self.check(v, "secret", source: "10.0.0.1") == .allowed, "a verified password is never held back")
        // After the wait, the next failure earns twice as long.
        Thread.sleep(forTimeInterval: FailureBackoff.first + 0.05)
        #expect(try Self.check(v, "wrong", source: "10.0.0.1") == .denied)
        guard case .backedOff(let longer) = try Self.check(v, "other", source: "10.0.0.1") else {
            Issue.record("not backed off")
            return
        }
        #expect(longer > FailureBackoff.first && longer <= 2 * FailureBackoff.first, "\(longer)")
    }

    /// The cache belongs to the daemon: a reload keeps the users whose hash is unchanged.
    @Test func verifiedPasswordsSurviveAReloadWhenTheHashIsUnchanged() throws {
        let memory = AuthMemory()
        let v = PasswordVerifier(memory: memory)
        #expect(try Self.check(v, "secret", source: "10.0.0.1") == .allowed)
        memory.cache.keep(users: ["prom": Self.hash, "new": Self.hash])
        #expect(memory.cache.count == 1)
        let after = PasswordVerifier(memory: memory)
        #expect(try Self.check(after, "secret", source: "10.0.0.2") == .allowed)
        memory.cache.keep(users: ["prom": Self.hash.replacingOccurrences(of: "$2y$", with: "$2b$")])
        #expect(memory.cache.count == 0, "its hash changed: forgotten")
    }

    /// Addresses that failed before wait for the CPU budget; clean ones may run it into a small debt.
    @Test func theBudgetHoldsBackAddressesThatFailed() {
        let b = VerifyBudget()
        let now = ContinuousClock.now
        #expect(b.mayStart(suspect: true, now: now))
        b.spent(VerifyBudget.burst + 1, now: now)
        #expect(!b.mayStart(suspect: true, now: now) && b.mayStart(suspect: false, now: now))
        b.spent(VerifyBudget.debt, now: now)
        #expect(!b.mayStart(suspect: false, now: now))
        // It refills at `share` of a core: after enough seconds both may start again.
        let later = now + .seconds((VerifyBudget.debt + 2) / VerifyBudget.share)
        #expect(b.mayStart(suspect: true, now: later))
    }

    /// An unknown user's password is checked against a hash of the dearest configured cost.
    @Test func unknownUsersCostWhatTheDearestUserCosts() throws {
        let cost12 = "$2y$12$" + Self.hash.dropFirst(7)
        let standIn = WebGate.standIn(for: ["a": Self.hash, "b": cost12])
        #expect(standIn.hasPrefix("$2y$12$") && Bcrypt.isHash(standIn))
        #expect(WebGate.standIn(for: ["a": Self.hash]).hasPrefix("$2y$04$"))
        #expect(WebGate.standIn(for: [:]).hasPrefix("$2y$10$"))
        let v = PasswordVerifier(memory: AuthMemory())
        for (i, pw) in ["", "secret", "x"].enumerated() {
            #expect(try Self.check(v, pw, hash: WebGate.standIn(for: ["a": Self.hash]), source: "10.0.1.\(i)") == .denied)
        }
    }

    @Test func credentialsAreReadFromTheHeader() {
        #expect(WebGate.credentials(["Basic cHJvbTpzM2NyZXQ="])! == ("prom", Array("s3cret".utf8)))
        #expect(WebGate.credentials(["basic cHJvbTphOmI="])! == ("prom", Array("a:b".utf8)), "the password may hold a colon")
        for bad in [[], ["Bearer x"], ["Basic"], ["Basic !!!"], ["Basic cHJvbQ=="], ["Basic cHJvbTpz", "Basic cHJvbTpz"]] {
            #expect(WebGate.credentials(bad) == nil, "\(bad)")
        }
    }
}
