#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BacklogCore

/// Start-up touches much more of the binary than a running daemon uses (argument
/// parsing, config and YAML, the Swift runtime's first look at its metadata), and
/// the kernel maps file pages around each fault, so the executable's code
/// mapping holds ~13 MB after start-up. Once serving, it is let go (MADV_DONTNEED: the page tables forget them; the page cache keeps them, so a
/// page used again comes back with a minor fault): resident memory is then what
/// the daemon uses, not what it once touched. Data mappings are left alone.
enum StartupPages {
    /// Returns the bytes of mappings let go (0 when none could be).
    @discardableResult
    static func release() -> Int {
        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { return 0 }
        let path = String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let bytes = try? ProcFile.read("/proc/self/maps") else { return 0 }
        let maps = String(decoding: bytes, as: UTF8.self)
        var released = 0
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            // Code only: a read-only data mapping may hold pages the loader wrote (relocations, then
            // RELRO's mprotect); letting those go would bring back the file's unrelocated bytes.
            guard f.count >= 6, f[5] == path, f[1] == "r-xp" else { continue }
            let range = f[0].split(separator: "-")
            guard range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start,
                  let p = UnsafeMutableRawPointer(bitPattern: start) else { continue }
            if madvise(p, Int(end - start), MADV_DONTNEED) == 0 { released += Int(end - start) }
        }
        return released
    }
}

