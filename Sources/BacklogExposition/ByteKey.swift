/// Bytes as a dictionary key, hashed eight bytes at a time into one word that
/// the (seeded) Hasher then takes: `[UInt8]`'s own Hashable feeds the hasher
/// byte by byte, which made hashing label texts the largest cost of a render.
/// The word hash is seeded per process too, so label texts chosen to collide
/// (process names, socket paths are untrusted) cannot be computed in advance.
public struct ByteKey: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    static let seed = UInt64.random(in: 1...UInt64.max)

    public func hash(into hasher: inout Hasher) {
        hasher.combine(Self.word(bytes))
    }

    static func word(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            var h = seed ^ UInt64(raw.count)
            var i = 0
            while i + 8 <= raw.count {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
                h ^= h >> 29
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < raw.count {
                tail |= UInt64(raw[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* 0x9E37_79B9_7F4A_7C15
            return h ^ (h >> 32)
        }
    }

    public static func == (a: ByteKey, b: ByteKey) -> Bool { a.bytes == b.bytes }
}
