/// A 128-bit fingerprint of a chunk's label ids and values, built word by word:
/// two lanes with different mixing, seeded per process. Each step is a
/// bijection of the lane's state, so two chunks that differ in one word never
/// collide, and otherwise collide with a chance of about 2^-128. Kept instead
/// of the words themselves (2.6 MB at 5 000 listeners, live in the cache and
/// again in every render).
public struct ChunkDigest: Hashable, Sendable {
    private var a: UInt64
    private var b: UInt64

    private static let seeds = (UInt64.random(in: 1...UInt64.max), UInt64.random(in: 1...UInt64.max))

    init() {
        (a, b) = Self.seeds
    }

    mutating func add(_ w: UInt64) {
        a = (a ^ w) &* 0x9E37_79B9_7F4A_7C15
        a ^= a >> 32
        b = (b &+ w) &* 0xC2B2_AE3D_27D4_EB4F
        b ^= b >> 29
    }

    mutating func add(_ v: SampleValue) {
        switch v {
        case .int(let i): add(1); add(UInt64(bitPattern: i))
        case .uint(let u): add(2); add(u)
        case .double(let d): add(3); add(d.bitPattern)
        }
    }
}
