#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BacklogCore

/// Reads the config file's bytes without ever blocking or reading without bound:
/// a FIFO would hold `--check-config`, a reload (and with it SIGTERM) until
/// someone writes to it, and a device such as /dev/zero never ends.
enum ConfigFileReader {
    /// Larger files are refused, never parsed from a cut read.
    static let limit = 1 << 20
    /// Device 1:3, as makedev(1, 3) encodes it (major << 8 | minor for small numbers).
    static let devNull: dev_t = (1 << 8) | 3

    enum Failure: Error {
        /// open(2) or read(2) failed.
        case system(Int32)
        case notRegular(String)
        case tooLarge
    }

    static func read(_ path: String) throws(Failure) -> [UInt8] {
        // O_NONBLOCK: opening a FIFO returns at once (a write lease cannot hold it either);
        // O_NOCTTY: a terminal named as the config does not become ours.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 { throw .system(errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .system(errno) }
        // /dev/null is the usual way to say "no file, defaults": read as empty.
        if st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == Self.devNull { return [] }
        if st.st_mode & S_IFMT != S_IFREG { throw .notRegular(kind(st.st_mode)) }
        // Up to one byte past the limit: the bytes actually read decide (files in /proc say size 0).
        let bytes: [UInt8]
        do {
            bytes = try ProcFile.read(fd: fd, path: path, limit: limit + 1)
        } catch {
            throw .system(error.errno)
        }
        if bytes.count > limit { throw .tooLarge }
        return bytes
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "fifo"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFDIR: "directory"
        case S_IFSOCK: "socket"
        default: "mode \(String(mode & S_IFMT, radix: 8))"
        }
    }
}
