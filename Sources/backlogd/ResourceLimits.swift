#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

import CProcess

enum ResourceLimits {
    /// Soft open-files limit up to the hard one, so the HTTP connection cap (not
    /// a default 1024 fds) is what bounds clients.
    static func raiseOpenFiles() {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0, lim.rlim_cur < lim.rlim_max else { return }
        lim.rlim_cur = lim.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    }

    /// The soft address-space limit (`ulimit -v`) in KiB, nil when unlimited.
    static func addressSpaceKiB() -> Int? {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &lim) == 0, lim.rlim_cur != rlim_t.max else { return nil }  // RLIM_INFINITY
        return Int(clamping: lim.rlim_cur / 1024)
    }

    /// One malloc arena: glibc makes up to 8 per core, one per thread that
    /// allocates at the same time as another, and backlogd has a thread per watched
    /// namespace (each arena keeps its own free pages: resident memory, and 64 MiB of
    /// address space each). Collection threads allocate little, so sharing costs nothing.
    /// (One arena once made a release `--once` crash in every run: not the arena's
    /// fault but a never-initialised value it exposed, NamespaceCollector.once;
    /// DebianPackageTests runs the release build's `--once` to keep it so.)
    static func capMallocArenas() {
        _ = bd_cap_malloc_arenas(1)
        // Blocks of 1 MiB and more (a 5 000-listener table, a deep dump's buffers)
        // are mapped apart and given back when freed. glibc's default raises this
        // threshold after the first large free (up to 32 MiB), and then such blocks
        // come from the heap, whose holes stay resident: 3–5 MB of peak RSS at
        // 5 000 listeners. Not lower: a streamed body's pieces (128–450 KiB) would
        // then each be mapped and faulted in anew (an identity scrape 2 × slower).
        _ = bd_fix_malloc_mmap_threshold(1024 * 1024)
    }
}
