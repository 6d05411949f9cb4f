import BacklogCore
import BacklogExposition
import NIOCore
import Synchronization

/// Something that writes a body in pieces (SnapshotJSON, a /metrics text body).
protocol BodyPieces: Sendable {
    /// Appends at least `atLeast` bytes to `out`, or what is left; false once the body has ended.
    mutating func next(into out: inout [UInt8], atLeast: Int) -> Bool
}

extension SnapshotJSON: BodyPieces {}

/// A body made while it is sent: the handler asks for the next piece (on the
/// thread pool) once the kernel has taken the one before, so a large body is
/// never held whole, however slowly the client reads, and it costs no more
/// memory than a piece.
final class StreamedBody: Sendable {
    static let pieceBytes = 128 * 1024
    private let pieces: Mutex<(any BodyPieces)?>
    private let meter: RenderMeter?
    /// The body's length when it is known before it is written (Content-Length); nil: sent chunked.
    let length: Int?

    init(_ pieces: sending any BodyPieces, length: Int? = nil, meter: RenderMeter? = nil) {
        self.pieces = Mutex(pieces)
        self.length = length
        self.meter = meter
    }

    /// The next piece, nil once the body has ended.
    func next() -> ByteBuffer? {
        let make = {
            self.pieces.withLock { state -> ByteBuffer? in
                guard var p = state else { return nil }
                var out: [UInt8] = []
                out.reserveCapacity(Self.pieceBytes + 16 * 1024)
                var more = true
                while more && out.isEmpty { more = p.next(into: &out, atLeast: Self.pieceBytes) }
                state = more ? p : nil
                return out.isEmpty ? nil : ByteBuffer(bytes: out)
            }
        }
        return meter.map { $0.measure(make) } ?? make()
    }
}

/// The /metrics text of one layout in one format, part after part.
struct MetricsText: BodyPieces {
    let shared: SharedLayout
    let format: ExpositionFormat
    var at = 0

    mutating func next(into out: inout [UInt8], atLeast: Int) -> Bool {
        let layout = shared.layout
        let target = out.count + atLeast
        while at < layout.parts.count && out.count < target {
            layout.append(layout.parts[at], format, to: &out)
            at += 1
        }
        return at < layout.parts.count
    }
}

/// CPU time spent rendering bodies (the collection budgets count it).
final class RenderMeter: Sendable {
    private let nanoseconds = Atomic<UInt64>(0)

    var seconds: Double { Double(nanoseconds.load(ordering: .relaxed)) / 1e9 }

    func measure<T>(_ body: () -> T) -> T {
        let t0 = ThreadCPU.seconds()
        defer { nanoseconds.wrappingAdd(UInt64(max(0, ThreadCPU.seconds() - t0) * 1e9), ordering: .relaxed) }
        return body()
    }
}
