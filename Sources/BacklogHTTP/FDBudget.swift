#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// How many client connections the open-files limit leaves room for: the soft
/// RLIMIT_NOFILE, minus the fds the rest of the daemon holds (namespaces,
/// netlink, files; counted in /proc/self/fd at most once a second), minus a
/// reserve, so collection's own opens (netstat, sysctl, /proc) never fail
/// because clients took the last fds.
final class FDBudget: Sendable {
    static let reserve = 32

    private struct Measure {
        var others = 0
        var at: ContinuousClock.Instant?
    }
    private let measure = Mutex(Measure())

    /// Connections allowed now, given `open` client connections.
    func connectionsAllowed(open: Int) -> Int {
        let limit = Self.openFilesLimit
        let others = measure.withLock { m in
            if let at = m.at, ContinuousClock.now - at < .seconds(1) { return m.others }
            // The connection being admitted is already open but not yet counted: at most one too many.
            m.others = max(0, Self.openFDs() - open)
            m.at = .now
            return m.others
        }
        return limit - others - Self.reserve
    }

    static var openFilesLimit: Int {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0 else { return Int.max / 2 }
        return min(Int(clamping: lim.rlim_cur), Int.max / 2)
    }

    /// Open fds of this process (entries of /proc/self/fd, less the one reading it).
    static func openFDs() -> Int {
        // Out of fds already: as if every one were taken.
        guard let dir = opendir("/proc/self/fd") else { return errno == EMFILE || errno == ENFILE ? openFilesLimit : 0 }
        defer { closedir(dir) }
        var n = 0
        while let e = readdir(dir) {
            if e.pointee.d_name.0 != 0x2E { n += 1 }
        }
        return max(0, n - 1)
    }
}
