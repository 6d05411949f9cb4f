import BacklogCore

/// /metrics of one publication as a sequence of parts: family headers (the
/// only bytes that differ between the two formats), fixed sample lines (the
/// namespace-wide and process-wide families) and chunks of per-listener lines.
/// One layout serves every format and encoding of its publication.
/// A chunk carries a signature (a digest of its listeners' label ids and
/// values) so that a renderer that keeps chunks between snapshots (the HTTP
/// endpoint keeps their gzip) reuses those that did not change and compresses
/// only the others: an idle listener's lines are not rebuilt every snapshot.
public struct MetricsLayout: Sendable {
    public struct ChunkKey: Hashable, Sendable {
        let family: Int
        let first: UInt64
    }

    public struct Chunk: Sendable {
        public let key: ChunkKey
        /// Equal signatures, equal text.
        public let signature: ChunkDigest
        let family: Int
        let members: [Int32]
    }

    /// A family's `# HELP` and `# TYPE` lines, written per format.
    public struct Header: Sendable {
        let name: String
        let type: MetricType
        let help: String
    }

    public enum Part: Sendable {
        case header(Header)
        case samples([UInt8])
        case chunk(Chunk)
    }

    public private(set) var parts: [Part] = []
    private let families: [ListenerFamily]
    private var labels: [[UInt8]] = []
    /// What the info series adds to the listener's labels (`pid`, `container`, `k8s_*`), per listener;
    /// written only for chunks that are rendered.
    private var infos: [ListenerFamilies.Info] = []
    /// values[listener * stride + offsets[family] + line], nil where the listener has no
    /// line in that family: read once per listener here, not once per family and line.
    private var values: [SampleValue?] = []
    private let offsets: [Int]
    private let stride: Int

    /// At most this many listeners in one chunk, whatever their label hashes.
    static let maxChunk = 1024

    public init(_ p: Publication, version: String, labels table: inout LabelTable) {
        let owners = p.process.ownerFailures != nil
        let families = ListenerFamilies.all(owners: owners)
        self.families = families
        var offsets: [Int] = []
        var next = 0
        for f in families {
            offsets.append(next)
            next += f.lines
        }
        self.offsets = offsets
        stride = next
        let count = p.snapshots.reduce(0) { $0 + $1.listeners.count }
        values.reserveCapacity(count * stride)
        labels.reserveCapacity(count)
        infos.reserveCapacity(owners ? count : 0)
        var ids: [UInt64] = []
        var ends: [Bool] = []
        ids.reserveCapacity(count)
        ends.reserveCapacity(count)
        var unique = Set<UInt64>(minimumCapacity: count)
        for s in p.snapshots {
            for l in s.listeners {
                let e = table.entry(l)
                // The same labels twice would be the same series twice: the first is kept
                // (the collector's socket index makes them unique; this is a guard).
                guard unique.insert(e.id).inserted else { continue }
                if owners { infos.append(ListenerFamilies.Info(l.owner)) }
                labels.append(e.text)
                ids.append(e.id)
                ends.append(e.endsChunk)
                ListenerFamilies.values(l, owners: owners, into: &values)
                precondition(values.count == labels.count * stride, "ListenerFamilies.values and .all disagree")
            }
        }
        table.finishRender()

        var generic: [String: MetricFamily] = [:]
        for f in MetricsRenderer.genericFamilies(p, version: version) {
            if generic[f.name] == nil { generic[f.name] = f } else { generic[f.name]!.samples += f.samples }
        }
        var perListener: [String: Int] = [:]
        for (i, f) in families.enumerated() { perListener[f.name] = i }

        var out: [Part] = []
        for name in Set(generic.keys).union(perListener.keys).sorted() {
            if let f = generic[name] {
                out.append(.header(Header(name: f.name, type: f.type, help: f.help)))
                out.append(.samples(PrometheusText.samples(f)))
                continue
            }
            let fi = perListener[name]!
            let f = families[fi]
            let lines = f.lines
            let base = offsets[fi]
            var chunks: [Chunk] = []
            var members: [Int32] = []
            var signature = ChunkDigest()
            func close() {
                guard !members.isEmpty else { return }
                signature.add(UInt64(members.count))
                chunks.append(Chunk(key: ChunkKey(family: fi, first: ids[Int(members[0])]), signature: signature,
                                    family: fi, members: members))
                members = []
                signature = ChunkDigest()
            }
            for i in 0..<labels.count {
                let at = i * stride + base
                guard values[at] != nil else { continue }
                members.append(Int32(i))
                signature.add(ids[i])
                if case .owner = f.extra { signature.add(infos[i].signature) }
                for line in 0..<lines { signature.add(values[at + line]!) }
                if ends[i] || members.count == Self.maxChunk { close() }
            }
            close()
            // Families a snapshot always has keep their header with no listener (as before chunks).
            guard !chunks.isEmpty || f.always else { continue }
            out.append(.header(Header(name: f.name, type: f.type, help: f.help)))
            out += chunks.map { .chunk($0) }
        }
        // Each family's fixed part stays apart: one that did not change (a header, the
        // findings) keeps its compressed form while its neighbours' numbers move.
        parts = out
    }

    /// The lines of one chunk.
    public func text(_ c: Chunk) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(c.members.count * families[c.family].lines * 160)
        append(c, to: &out)
        return out
    }

    /// Appends the lines of one chunk (a streamed body writes them straight into its piece).
    public func append(_ c: Chunk, to out: inout [UInt8]) {
        let f = families[c.family]
        let lines = f.lines
        var w = ByteWriter()
        swap(&w.bytes, &out)
        defer { swap(&w.bytes, &out) }
        for m in c.members {
            let i = Int(m)
            for line in 0..<lines {
                w.append(f.name)
                w.append(byte: 0x7B)
                w.append(labels[i])
                f.suffix(info: f.extra == .owner ? infos[i] : nil, line: line, into: &w)
                w.append(byte: 0x7D)
                w.append(byte: 0x20)
                w.append(values[i * stride + offsets[c.family] + line]!)
                w.append(byte: 0x0A)
            }
        }
    }

    /// Appends a part in `format`.
    public func append(_ part: Part, _ format: ExpositionFormat, to out: inout [UInt8]) {
        switch part {
        case .header(let h): out += format.header(h.name, h.type, help: h.help)
        case .samples(let b): out += b
        case .chunk(let c): append(c, to: &out)
        }
    }

    /// The bytes of a part in `format` (a chunk's lines are the same in both).
    public func bytes(_ part: Part, _ format: ExpositionFormat) -> [UInt8] {
        var out: [UInt8] = []
        append(part, format, to: &out)
        return out
    }

    /// The whole body, every chunk rendered (`--once --format prometheus`), without the closing `end`.
    public func bytes(_ format: ExpositionFormat) -> [UInt8] {
        var out: [UInt8] = []
        for part in parts { append(part, format, to: &out) }
        return out
    }
}
