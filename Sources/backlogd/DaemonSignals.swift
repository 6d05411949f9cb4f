#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The daemon's signals — SIGHUP (reload), SIGTERM and SIGINT (stop) — without
/// handlers or a queue: they are blocked from the first line of `run`, before any
/// thread exists (threads inherit the mask, so none can take one), and the main
/// thread takes them one at a time with sigwait once the daemon serves. One that
/// arrives during start-up waits until then: a reload re-reads the file (it may
/// have changed after it was read), a stop stops right after start-up. Neither
/// can end the process by its default action at any point.
enum DaemonSignals {
    static let handled = [SIGHUP, SIGTERM, SIGINT]

    private static var set: sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        for sig in handled { sigaddset(&s, sig) }
        return s
    }

    /// The calling thread (main, before it starts any other) and every thread it starts hold them.
    static func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    /// Waits for the next one.
    static func next() -> Int32 {
        var s = set
        var sig: Int32 = 0
        while sigwait(&s, &sig) != 0 {}
        return sig
    }
}
