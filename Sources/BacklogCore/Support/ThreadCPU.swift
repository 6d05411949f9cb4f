#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// CPU time (user + system) of the calling thread: what pacing by CPU budget measures.
public enum ThreadCPU {
    public static func seconds() -> Double {
        Double(nanoseconds()) / 1e9
    }

    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
