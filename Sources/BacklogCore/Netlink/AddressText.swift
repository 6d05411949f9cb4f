#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Numeric text of addresses and names taken from kernel records.
public enum AddressText {
    /// inet_ntop of the first 4 (AF_INET) or 16 (AF_INET6) bytes.
    public static func numeric<T>(family: Int32, bytes: T) -> String {
        withUnsafeBytes(of: bytes) { raw in
            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
            guard inet_ntop(family, raw.baseAddress, &buf, socklen_t(buf.count)) != nil else { return "?" }
            return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Interface name of an index in the calling thread's namespace, or the index itself.
    public static func interfaceName(_ index: UInt32) -> String {
        var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buf) != nil else { return String(index) }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A UNIX socket name from raw sun_path bytes: abstract names (leading NUL)
    /// get `@`, any NUL inside shows as `@` as ss does; invalid UTF-8 is replaced.
    public static func unixPath(_ bytes: some Collection<UInt8>) -> String {
        guard let first = bytes.first else { return "" }
        if first == 0 {
            return String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: "@") : $0 }, as: UTF8.self)
        }
        // A filesystem path ends at its first NUL.
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
