/// An id per listener label text, kept between renders by whoever renders
/// repeatedly (the HTTP endpoint): a chunk of lines is the same as last time
/// when its listeners' ids and values are, so labels are compared by id, and a
/// listener whose labels change (a new owner) gets a new id.
public struct LabelTable: Sendable {
    struct Entry: Sendable {
        let id: UInt64
        /// Whether a chunk ends after this listener: decided by its label text alone,
        /// so that a listener coming or going moves only the chunk it is in.
        let endsChunk: Bool
    }

    private var entries: [[UInt8]: Entry] = [:]
    private var seen: [[UInt8]: Entry] = [:]
    private var nextID: UInt64 = 1

    public init() {}

    /// The entry of `labels`, nil when it was already seen in this render (a duplicate series).
    mutating func entry(_ labels: [UInt8]) -> Entry? {
        guard seen[labels] == nil else { return nil }
        let e = entries[labels] ?? Entry(id: nextID, endsChunk: Self.fnv1a(labels) % Self.meanChunk == 0)
        if e.id == nextID { nextID += 1 }
        seen[labels] = e
        return e
    }

    /// Ends a render: entries not seen in it are forgotten.
    mutating func finishRender() {
        entries = seen
        seen = [:]
    }

    /// Listeners per chunk on average.
    static let meanChunk: UInt64 = 128

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
