/// Growth of TcpExt TCPReqQFullDoCookies (a SYN queue overflowed into cookies)
/// between counter reads, held for `hold` seconds after it last grew, as the
/// queue findings are held for the peak window.
struct CookieGrowth: Sendable {
    private var last: UInt64?
    private var held: (growth: UInt64, until: Double)?

    /// `counter`: the value if it was read at this tick, else nil. Returns the growth to report.
    mutating func record(_ counter: UInt64?, now: Double, hold: Double) -> UInt64? {
        if let counter {
            if let last, counter > last { held = (counter - last, now + hold) }
            last = counter
        }
        guard let held, now < held.until else { return nil }
        return held.growth
    }
}
