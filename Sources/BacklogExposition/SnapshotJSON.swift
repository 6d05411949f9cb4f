import BacklogCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON document of a publication written piece by piece: the document
/// without its findings and listeners is encoded once (each namespace's
/// `findings` and `listeners` a placeholder number), and each finding and
/// listener is encoded when the writer reaches it. A 5 000-listener /snapshot
/// (8 MB of text) is never held whole, and JSONEncoder never builds its tree of
/// the whole document. The bytes are those of encoding the whole document at
/// once (pretty, keys sorted).
public struct SnapshotJSON: Sendable {
    /// What stands in one placeholder's place.
    private enum Items: Sendable {
        case findings([Finding])
        /// A namespace's listeners and their order (fullest first).
        case listeners([Listener], order: [Int])

        var count: Int {
            switch self {
            case .findings(let f): f.count
            case .listeners(_, let order): order.count
            }
        }
    }

    /// The skeleton's bytes between placeholders: segments[i] is followed by lists[i].
    private let segments: [[UInt8]]
    /// Per placeholder: the indentation of its line, and what it stands for.
    private let lists: [(indent: Int, items: Items)]
    private let commandLines: Bool
    private var segment = 0
    private var item = 0
    private var inList = false
    private let encoder: JSONEncoder

    /// Far outside any count, pid or sysctl, and only ever the value of a `"findings"` or `"listeners"` key.
    static let placeholderBase: Int64 = -7_340_032_000_000_000_000

    public init(_ p: Publication, version: String, commandLines: Bool) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        self.encoder = encoder
        self.commandLines = commandLines
        // Namespace i's findings are placeholder 2i, its listeners 2i+1: in the
        // document's order, since keys are sorted and other namespaces follow the first's listeners.
        func number(_ i: Int, _ listeners: Bool) -> Int64 { Self.placeholderBase - Int64(2 * i + (listeners ? 1 : 0)) }
        var document = SnapshotDocument(p.snapshots, version: version, commandLines: commandLines, listeners: false)
        document.findings = .placeholder(number(0, false))
        document.listeners = .placeholder(number(0, true))
        for i in (document.namespaces ?? []).indices {
            document.namespaces![i].findings = .placeholder(number(i + 1, false))
            document.namespaces![i].listeners = .placeholder(number(i + 1, true))
        }
        // Every field is a plain value type: encoding cannot fail.
        let skeleton = Array((try? encoder.encode(document)) ?? Data("{}".utf8)) + [0x0A]
        var segments: [[UInt8]] = []
        var lists: [(Int, Items)] = []
        var rest = skeleton[...]
        for (i, s) in p.snapshots.enumerated() {
            for listeners in [false, true] {
                let value = Array(String(number(i, listeners)).utf8)
                let mark = Array("\"\(listeners ? "listeners" : "findings")\" : ".utf8) + value
                guard let at = rest.firstRange(of: mark)?.lowerBound else { continue }
                let lineStart = rest[..<at].lastIndex(of: 0x0A).map { $0 + 1 } ?? rest.startIndex
                segments.append(Array(rest[..<(at + mark.count - value.count)]))
                lists.append((at - lineStart, listeners ? .listeners(s.listeners, order: s.fullestFirstOrder) : .findings(s.findings)))
                rest = rest[(at + mark.count)...]
            }
        }
        segments.append(Array(rest))
        self.segments = segments
        self.lists = lists
    }

    private func encode(_ items: Items, _ j: Int) -> Data? {
        switch items {
        case .findings(let f): try? encoder.encode(SnapshotDocument.FindingEntry(f[j], commandLines: commandLines))
        case .listeners(let l, let order): try? encoder.encode(SnapshotDocument.ListenerEntry(l[order[j]], commandLines: commandLines))
        }
    }

    /// Appends the document's next bytes to `out` until it has grown by at least
    /// `atLeast` bytes or the document ends; false once it has ended.
    public mutating func next(into out: inout [UInt8], atLeast: Int) -> Bool {
        let target = out.count + atLeast
        while out.count < target {
            if !inList {
                guard segment < segments.count else { return false }
                out += segments[segment]
                guard segment < lists.count else {
                    segment += 1
                    return false
                }
                inList = true
                item = 0
                continue
            }
            let (indent, items) = lists[segment]
            let inner = Array(repeating: UInt8(0x20), count: indent + 2)
            if item == 0 { out += Array("[\n".utf8) }
            if item < items.count {
                if item > 0 { out += Array(",\n".utf8) }
                out += inner
                for b in encode(items, item) ?? Data("{}".utf8) {
                    out.append(b)
                    if b == 0x0A { out += inner }
                }
                item += 1
                if item < items.count { continue }
            }
            // Empty, this leaves a blank line inside the brackets, as JSONEncoder does.
            out.append(0x0A)
            out += Array(repeating: UInt8(0x20), count: indent)
            out.append(0x5D)
            inList = false
            segment += 1
        }
        return segment < segments.count
    }

    /// The whole document.
    public static func render(_ p: Publication, version: String, commandLines: Bool) -> [UInt8] {
        var w = SnapshotJSON(p, version: version, commandLines: commandLines)
        var out: [UInt8] = []
        while w.next(into: &out, atLeast: .max) {}
        return out
    }
}
