/// Sorts a request socket into a SynRecvKind and estimates its age from one
/// dump, using only `idiag_retrans` (SYN-ACKs re-sent) and `idiag_expires`
/// (ms until the request timer fires). KERNEL-NOTES.md: the timer first fires
/// at 1 s and is re-armed at 1 s << num_timeout (at most TCP_RTO_MAX, 120 s);
/// each firing re-sends the SYN-ACK unless the request is a deferred hold.
public enum SynRecvClassifier {
    static let rtoMax = 120.0

    /// `listenerFull`: the listener (group) is full now or was within the peak
    /// window. Its re-sending requests are then overflow victims (final ACK
    /// refused), not a SYN flood.
    public static func kind(retrans: UInt8, expiresMs: UInt32, listenerFull: Bool) -> SynRecvKind {
        if retrans == 0 {
            // The timer fired at least once without a re-send: acked and held back.
            return expiresMs > 1000 ? .deferred : .new
        }
        return listenerFull ? .overflowed : .halfOpen
    }

    /// Seconds since the request socket was made: the firings so far plus the
    /// part of the current period that has run. For deferred holds the number of
    /// firings is not in the dump; the smallest count that fits `expires` gives a
    /// lower bound.
    public static func ageSeconds(retrans: UInt8, expiresMs: UInt32) -> Double {
        let expires = Double(expiresMs) / 1000
        var firings = Int(retrans)
        if retrans == 0 && expires > 1 {
            firings = 1
            while period(firings) < expires && firings < 16 { firings += 1 }
        }
        var elapsed = 0.0
        for i in 0..<firings { elapsed += period(i) }
        return max(0, elapsed + period(firings) - expires)
    }

    static func period(_ n: Int) -> Double {
        n >= 7 ? rtoMax : min(Double(1 << n), rtoMax)
    }
}
