#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed sock_diag call: what was being done and the kernel's errno.
public struct SockDiagError: Error, Sendable, Hashable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.errno = code < 0 ? -code : code
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno)))"
    }
}
