#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Errors reading /proc and /sys files: the caller sees them, never a zero.
public struct ProcFileError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String { "\(path): \(String(cString: strerror(errno)))" }
}

/// Reads small kernel files (/proc, /proc/sys) with plain read(2): no Foundation,
/// and a hard cap so an odd file cannot make us allocate without bound.
public enum ProcFile {
    public static func read(_ path: String, limit: Int = 4 << 20) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ProcFileError(path: path, errno: errno) }
        defer { close(fd) }
        return try read(fd: fd, path: path, limit: limit)
    }

    /// The same from an open descriptor (the caller checked what it is); at most
    /// `limit` bytes, so a caller that must refuse larger files asks for one more.
    public static func read(fd: Int32, path: String, limit: Int) throws(ProcFileError) -> [UInt8] {
        var out: [UInt8] = []
        // Scratch memory as malloc gives it: a zeroed array here cost a 16 KiB memset
        // per file, most of what reading a small /proc file costs in user space.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 1)
        defer { chunk.deallocate() }
        while out.count < limit {
            let want = min(chunk.count, limit - out.count)
            let n = Glibc.read(fd, chunk.baseAddress, want)
            if n < 0 {
                if errno == EINTR { continue }
                throw ProcFileError(path: path, errno: errno)
            }
            if n == 0 { break }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
        }
        return out
    }

    public static func readString(_ path: String) throws -> String {
        String(decoding: try read(path), as: UTF8.self)
    }
}
