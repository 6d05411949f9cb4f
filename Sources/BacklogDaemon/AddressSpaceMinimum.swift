/// The least address space (RLIMIT_AS, `ulimit -v`) backlogd needs, so that a
/// limit below it is refused at start with a clear message: Swift cannot
/// recover from a failed allocation (it aborts, and under such a limit the
/// crash report itself may fault), so running short later is a crash, or a
/// hang when a thread dies holding a lock.
///
/// Address space, not memory: most of it is reserved, never touched — each
/// worker thread's stack (8 MiB at the default `ulimit -s`; libdispatch and
/// SwiftNIO start several, more when threads block), a malloc arena's 64 MiB
/// heap reservation, 512 KiB per namespace thread, the Swift runtime and ICU
/// data mapped from disk. Measured on release and debug builds, 2 cores, default
/// stack limit: bisecting `ulimit -v` finds runs that get through with less
/// (--once over 24 namespaces once at 123 MiB, the daemon at 162 MiB), but
/// between that and the peak that backlogd reserves unlimited, whether a failed
/// reservation is survivable depends on which one fails first (crashes were seen
/// up to 180 MiB). So the minimum is the unlimited peak (VmSize) plus about 10 %.
public enum AddressSpaceMinimum {
    /// `--once`, backlogd's own namespace only (peak 165 MiB)…
    static let onceKiB = 180 << 10
    /// …and for each other namespace it samples (peak +0.6 MiB each: its thread, sockets, buffers).
    static let oncePerNamespaceKiB = 1 << 10
    /// The daemon, its own namespace only (peak 197 MiB)…
    static let daemonKiB = 216 << 10
    /// …and for each other namespace it watches (peak +0.6 MiB each).
    static let daemonPerNamespaceKiB = 1 << 10

    public static func kiB(daemon: Bool, otherNamespaces: Int) -> Int {
        daemon ? daemonKiB + daemonPerNamespaceKiB * otherNamespaces : onceKiB + oncePerNamespaceKiB * otherNamespaces
    }

    /// nil when `limitKiB` (nil: unlimited) is enough, else the one-line reason.
    public static func shortfall(limitKiB: Int?, daemon: Bool, otherNamespaces: Int) -> String? {
        let need = kiB(daemon: daemon, otherNamespaces: otherNamespaces)
        guard let limitKiB, limitKiB < need else { return nil }
        let what = otherNamespaces > 0 ? " for \(daemon ? "watching" : "sampling") \(otherNamespaces + 1) network namespaces" : ""
        return "the address-space limit (ulimit -v, RLIMIT_AS) is \(limitKiB) KiB; backlogd needs at least \(need) KiB\(what): raise or remove the limit"
    }
}
