#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The sd_notify datagram protocol, spoken directly: READY=1, WATCHDOG=1,
/// RELOADING=1, STOPPING=1 to $NOTIFY_SOCKET (a path, or `@name` for an abstract
/// socket). Without NOTIFY_SOCKET every call does nothing.
public final class SystemdNotifier: Sendable {
    private let address: [UInt8]?
    /// Send WATCHDOG=1 at least this often (half of WATCHDOG_USEC), nil when no watchdog is set.
    public let watchdogInterval: Double?

    public init(environment: [String: String] = SystemdNotifier.processEnvironment()) {
        if let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108,
           path.hasPrefix("/") || path.hasPrefix("@") {
            var bytes = Array(path.utf8)
            if bytes[0] == UInt8(ascii: "@") { bytes[0] = 0 }
            address = bytes
        } else {
            address = nil
        }
        // WATCHDOG_PID, when set, says which process the watchdog is for.
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, address != nil, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogInterval = Double(usec) / 2e6
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends one state message; returns false (and does nothing else) on failure,
    /// since a missing systemd must never stop the daemon.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let address else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { dst in
            for (i, b) in address.enumerated() { dst[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + address.count)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sp, length) }
            }
        }
        return sent == bytes.count
    }

    /// RELOADING=1 carries the monotonic time, as systemd 253+ asks of notify-reload services.
    public func reloading() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        notify("RELOADING=1\nMONOTONIC_USEC=\(UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000)")
    }

    public static func processEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let v = getenv(name) { out[name] = String(cString: v) }
        }
        return out
    }
}
