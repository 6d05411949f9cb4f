#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum ResourceLimits {
    /// Soft open-files limit up to the hard one, so the HTTP connection cap (not
    /// a default 1024 fds) is what bounds clients.
    static func raiseOpenFiles() {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0, lim.rlim_cur < lim.rlim_max else { return }
        lim.rlim_cur = lim.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
    }
}
