#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockDiag

/// One NETLINK_SOCK_DIAG socket, bound to the network namespace of the thread
/// that opened it. Not shared between threads: a collector owns one per namespace.
public final class SockDiagSocket {
    /// Records handed over per call; the buffers are allocated once and reused.
    public static let batchSize = 256
    /// `family` for both families in one walk of the kernel's tables (see tcp_dump.c).
    public static let bothFamilies: Int32 = AF_UNSPEC

    private let handle: OpaquePointer
    private let tcpBatch: UnsafeMutablePointer<bd_tcp_record>
    private let unixBatch: UnsafeMutablePointer<bd_unix_record>
    /// Set when the kernel refused the one-walk request: ask per family from then on.
    private var oneWalkRefused = false

    public init() throws(SockDiagError) {
        var err: Int32 = 0
        guard let h = bd_diag_open(&err) else {
            throw SockDiagError("open NETLINK_SOCK_DIAG socket", code: err)
        }
        handle = h
        tcpBatch = .allocate(capacity: Self.batchSize)
        unixBatch = .allocate(capacity: Self.batchSize)
    }

    deinit {
        bd_diag_close(handle)
        tcpBatch.deallocate()
        unixBatch.deallocate()
    }

    /// Messages skipped as malformed since the socket was opened.
    public var malformedMessages: UInt64 { bd_diag_malformed(handle) }

    /// Streams a TCP dump of one family, or of `bothFamilies`; `body` sees each batch while it is valid.
    public func dumpTCP(
        family: Int32, states: UInt32, ports: [UInt16] = [],
        _ body: (UnsafeBufferPointer<bd_tcp_record>) throws -> Void
    ) throws {
        var delivered = false
        do {
            for f in requests(for: family) {
                try drainTCP(start: ports.withUnsafeBufferPointer {
                    bd_tcp_dump_start(handle, UInt8(f), states, $0.baseAddress, $0.count)
                }) { delivered = true; try body($0) }
            }
        } catch let e as SockDiagError where refusesOneWalk(family, e, delivered: delivered) {
            try dumpTCP(family: family, states: states, ports: ports, body)
        }
    }

    /// The same, for long dumps on an actor: after every `yieldEvery` batches it
    /// suspends (`Task.yield`), so that other work for the actor (a fast tick on
    /// another socket) runs in between instead of waiting for the whole dump.
    /// `slice` is called around each stretch run without a pause (for CPU accounting).
    public func dumpTCP(
        family: Int32, states: UInt32, ports: [UInt16] = [], yieldEvery: Int,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (UnsafeBufferPointer<bd_tcp_record>) throws -> Void,
        slice: (_ starting: Bool) -> Void = { _ in }
    ) async throws {
        var delivered = false
        do {
            for f in requests(for: family) {
                try await dumpOneTCP(family: f, states: states, ports: ports, yieldEvery: yieldEvery,
                                     { delivered = true; try body($0) }, slice: slice)
            }
        } catch let e as SockDiagError where refusesOneWalk(family, e, delivered: delivered) {
            try await dumpTCP(family: family, states: states, ports: ports, yieldEvery: yieldEvery, body, slice: slice)
        }
    }

    private func dumpOneTCP(
        family: Int32, states: UInt32, ports: [UInt16], yieldEvery: Int,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (UnsafeBufferPointer<bd_tcp_record>) throws -> Void,
        slice: (_ starting: Bool) -> Void
    ) async throws {
        // The stretch starts before the request: the kernel fills the first part of
        // the dump (a whole table walk, when few sockets match) inside sendto().
        slice(true)
        defer { slice(false) }
        let rc = ports.withUnsafeBufferPointer {
            bd_tcp_dump_start(handle, UInt8(family), states, $0.baseAddress, $0.count)
        }
        if rc < 0 { throw SockDiagError("inet_diag dump request", code: rc) }
        var batches = 0
        while true {
            let n = bd_tcp_dump_next(handle, tcpBatch, Self.batchSize)
            if n < 0 { throw SockDiagError("inet_diag dump", code: n) }
            if n == 0 { return }
            try body(UnsafeBufferPointer(start: tcpBatch, count: Int(n)))
            batches += 1
            if batches % max(yieldEvery, 1) == 0 {
                slice(false)
                await Task.yield()
                slice(true)
            }
        }
    }

    /// The requests that answer `family`: one, or two where the one walk was refused.
    private func requests(for family: Int32) -> [Int32] {
        family == Self.bothFamilies && oneWalkRefused ? [AF_INET, AF_INET6] : [family]
    }

    /// A kernel without the old request (or with it filtered) answers before any
    /// record; ask per family from then on. Once only: the retry cannot recurse.
    private func refusesOneWalk(_ family: Int32, _ error: SockDiagError, delivered: Bool) -> Bool {
        guard family == Self.bothFamilies, !oneWalkRefused, !delivered,
              [EINVAL, EOPNOTSUPP, ENOENT, EPROTONOSUPPORT, EACCES, EPERM].contains(error.errno) else { return false }
        oneWalkRefused = true
        return true
    }

    /// Same with a raw bytecode program (the kernel audits it).
    public func dumpTCP(
        family: Int32, states: UInt32, bytecode: [UInt8],
        _ body: (UnsafeBufferPointer<bd_tcp_record>) throws -> Void
    ) throws {
        try drainTCP(start: bytecode.withUnsafeBytes {
            bd_tcp_dump_start_bytecode(handle, UInt8(family), states, $0.baseAddress, $0.count)
        }, body)
    }

    /// Checks the start call's result, then hands out batches until the dump ends.
    private func drainTCP(start rc: Int32, _ body: (UnsafeBufferPointer<bd_tcp_record>) throws -> Void) throws {
        if rc < 0 { throw SockDiagError("inet_diag dump request", code: rc) }
        while true {
            let n = bd_tcp_dump_next(handle, tcpBatch, Self.batchSize)
            if n < 0 { throw SockDiagError("inet_diag dump", code: n) }
            if n == 0 { return }
            try body(UnsafeBufferPointer(start: tcpBatch, count: Int(n)))
        }
    }

    /// Streams a unix_diag dump of the sockets in `states`.
    /// `icons`: each listener's pending connections too (count and the oldest's inode).
    public func dumpUnix(states: UInt32, icons: Bool = false, _ body: (UnsafeBufferPointer<bd_unix_record>) throws -> Void) throws {
        let rc = icons ? bd_unix_dump_start_icons(handle, states) : bd_unix_dump_start(handle, states)
        if rc < 0 { throw SockDiagError("unix_diag dump request", code: rc) }
        while true {
            let n = bd_unix_dump_next(handle, unixBatch, Self.batchSize)
            if n < 0 { throw SockDiagError("unix_diag dump", code: n) }
            if n == 0 { return }
            try body(UnsafeBufferPointer(start: unixBatch, count: Int(n)))
        }
    }
}

/// TCP state bits for `idiag_states` masks.
public enum TCPStates {
    public static let listen: UInt32 = 1 << 10
    public static let synRecv: UInt32 = 1 << 3
    public static let established: UInt32 = 1 << 1
    public static let closeWait: UInt32 = 1 << 8
}
