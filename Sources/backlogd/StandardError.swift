#if canImport(Glibc)
import Glibc
#endif

/// One line to stderr with write(2): `stderr` is a C global that strict concurrency rejects.
enum StandardError {
    static func line(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
