#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Names of readdir entries. The kernel packs entries to their name's length, so
/// the last one in readdir's buffer can end well before the 256 bytes `d_name`
/// declares: copying the field (`withUnsafeBytes(of: e.pointee.d_name)`) reads past
/// the buffer (AddressSanitizer: heap-buffer-overflow). Read up to the NUL instead.
enum DirectoryEntry {
    static func name(_ entry: UnsafePointer<dirent>) -> String {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        return String(cString: (UnsafeRawPointer(entry) + offset).assumingMemoryBound(to: CChar.self))
    }
}
