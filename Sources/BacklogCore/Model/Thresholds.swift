/// Where numbers become findings. Config file: `thresholds.*`.
public struct Thresholds: Sendable, Hashable {
    /// accept_queue_near_full: length ≥ this fraction of max (and not yet full).
    public var nearFullRatio: Double = 0.8
    /// accept_slow: the oldest unaccepted connection has waited this long; from then
    /// on not_accepting too when the holders cannot run or are plainly idle.
    public var notAcceptingAfter: Double = 2
    /// not_accepting: connections wait and nothing has moved for this long (≥ notAcceptingAfter).
    public var hungAfter: Double = 10
    /// A load balancer's backend that was out comes back after progress with the
    /// oldest wait under notAcceptingAfter for this long (config `probe.recover_after`).
    public var recoverAfter: Double = 2
    /// A connection is stalled when its unread bytes have not shrunk for this long.
    public var stalledAfter: Double = 10
    /// close_wait_pileup: at least `closeWaitMin` accepted CLOSE_WAIT connections,
    /// the oldest for at least `closeWaitAfter` seconds.
    public var closeWaitMin: Int = 10
    public var closeWaitAfter: Double = 30
    /// half_open_growing: at least this many half-open request sockets, more than at the previous deep tick.
    public var halfOpenMin: Int = 10
    /// deferred_accept_holds: at least this many deferred holds.
    public var deferredMin: Int = 1

    public init() {}
}
