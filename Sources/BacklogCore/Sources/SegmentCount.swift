#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// TCP segments the namespace has received (`Tcp: InSegs` of /proc/net/snmp,
/// per namespace; opened through /proc/thread-self, which follows the opening
/// thread's namespace, and kept open: the file stays the namespace's). Nothing the
/// deep look or the listen counters count can appear or change without a segment
/// arriving — a request socket needs a SYN, CLOSE_WAIT a FIN, unread bytes data, an
/// overflow an ACK — so an unchanged count lets a quiet namespace skip that work.
public final class SegmentCount {
    public static let path = "/proc/thread-self/net/snmp"
    private let path: String
    private var fd: Int32 = -1
    private var buffer = [UInt8](repeating: 0, count: 8192)

    /// Opened at the first read, on the caller's thread (so in its namespace).
    public init(path: String = SegmentCount.path) {
        self.path = path
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The count now; nil when the file cannot be read or has no InSegs.
    public func read() -> UInt64? {
        if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        // The file is generated anew at offset 0; 8 KiB holds it (about 1.5 KiB) whole.
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else {
            close(fd)
            fd = -1
            return nil
        }
        return buffer.withUnsafeBufferPointer { Self.parse(UnsafeBufferPointer(rebasing: $0[0..<n])) }
    }

    /// InSegs from the file's two `Tcp:` lines (names, then values).
    public static func parse(_ bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// Byte by byte, no allocation: the column of `InSegs` among the names, then that value.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        let tcp: [UInt8] = Array("Tcp: ".utf8)
        let name: [UInt8] = Array("InSegs".utf8)
        var column: Int?
        var i = 0
        while i < b.count {
            var end = i
            while end < b.count && b[end] != 0x0A { end += 1 }
            if end - i > tcp.count && (0..<tcp.count).allSatisfy({ b[i + $0] == tcp[$0] }) {
                // Fields after "Tcp:", separated by single spaces.
                var field = 0
                var start = i + tcp.count
                var p = start
                while p <= end {
                    if p == end || b[p] == 0x20 {
                        if let c = column {
                            if field == c { return number(b, start, p) }
                        } else if p - start == name.count && (0..<name.count).allSatisfy({ b[start + $0] == name[$0] }) {
                            column = field
                        }
                        field += 1
                        start = p + 1
                    }
                    p += 1
                }
                // Names without InSegs, or values fewer than names.
                if column == nil || field > 0 && columnSeen(column, field) { return nil }
            }
            i = end + 1
        }
        return nil
    }

    /// After a values line: the column was not reached (fewer values than names).
    private static func columnSeen(_ column: Int?, _ fields: Int) -> Bool { column.map { $0 >= fields } ?? true }

    private static func number(_ b: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UInt64? {
        guard from < to else { return nil }
        var v: UInt64 = 0
        for k in from..<to {
            let d = b[k] &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            v = s
        }
        return v
    }
}
