import CCrypt

/// bcrypt, as exporter-toolkit's `basic_auth_users` hold it, verified by
/// libxcrypt's crypt_r (a maintained implementation, not our own).
enum Bcrypt {
    /// `$2a$`, `$2b$` or `$2y$`, a cost of 04–31, then 53 characters of salt and hash.
    static func isHash(_ hash: String) -> Bool {
        let b = Array(hash.utf8)
        guard b.count == 60, b[0] == UInt8(ascii: "$"), b[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(b[2]), b[3] == UInt8(ascii: "$"),
              b[6] == UInt8(ascii: "$"), let cost = Int(String(decoding: b[4..<6], as: UTF8.self)), (4...31).contains(cost)
        else { return false }
        return b[7...].allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "/")
        }
    }

    /// Whether `password` hashes to `hash`. `scratch` is crypt_r's work area (one
    /// per thread that calls this). Compared in constant time.
    static func verify(_ password: [UInt8], hash: String, scratch: UnsafeMutablePointer<crypt_data>) -> Bool {
        // crypt_r reads a C string: a NUL would end the password early.
        guard isHash(hash), !password.contains(0) else { return false }
        let phrase = password.map { CChar(bitPattern: $0) } + [0]
        guard let out = crypt_r(phrase, hash, scratch) else { return false }
        let expected = Array(hash.utf8)
        var diff = 0
        for i in 0..<expected.count {
            let c = UInt8(bitPattern: out[i])
            diff |= Int(c ^ expected[i])
            if c == 0 { return false }
        }
        return diff == 0 && out[expected.count] == 0
    }
}
