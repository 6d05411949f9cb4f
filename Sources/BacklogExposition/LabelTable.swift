import BacklogCore

/// Each listener's label text and an id for it, kept between renders by whoever
/// renders repeatedly (the HTTP endpoint). A chunk of lines is the same as last
/// time when its listeners' ids and values are, so labels are compared by id; a
/// listener whose labels change (a new owner) gets another id.
///
/// Listeners keep their order from one snapshot to the next, so the text is
/// looked up first where the same listener was last time (a comparison of the
/// label inputs, most of them the very same strings), and built and hashed only
/// for listeners that are new or changed.
public struct LabelTable: Sendable {
    struct Entry: Sendable {
        let id: UInt64
        /// Whether a chunk ends after this listener: decided by its label text alone
        /// (ByteKey's hash, seeded per process, so that label texts cannot be chosen
        /// to make chunks huge), so that a listener coming or going moves only its chunk.
        let endsChunk: Bool
        let text: [UInt8]
    }

    private var last: [(ListenerLabels, Entry)] = []
    private var current: [(ListenerLabels, Entry)] = []
    /// Where the last match was found relative to the listener's position (one came or went before it).
    private var shift = 0
    private var byText: [ByteKey: Entry] = [:]
    private var nextID: UInt64 = 1

    public init() {}

    /// The entry of the next listener of this render.
    mutating func entry(_ l: Listener) -> Entry {
        let inputs = ListenerLabels(l)
        let position = current.count
        for candidate in [position + shift, position] where candidate >= 0 && candidate < last.count {
            if last[candidate].0 == inputs {
                shift = candidate - position
                current.append(last[candidate])
                return last[candidate].1
            }
        }
        let text = ListenerFamilies.labels(inputs)
        let key = ByteKey(text)
        let e: Entry
        if let known = byText[key] {
            e = known
        } else {
            e = Entry(id: nextID, endsChunk: ByteKey.word(text) % Self.meanChunk == 0, text: text)
            nextID += 1
            byText[key] = e
        }
        current.append((inputs, e))
        return e
    }

    /// Ends a render. Texts of listeners that are gone are forgotten once they
    /// outnumber the listeners.
    mutating func finishRender() {
        last = current
        current = []
        current.reserveCapacity(last.count)
        shift = 0
        if byText.count > 2 * last.count + 1024 {
            byText = Dictionary(last.map { (ByteKey($0.1.text), $0.1) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Listeners per chunk on average.
    static let meanChunk: UInt64 = 256
}
