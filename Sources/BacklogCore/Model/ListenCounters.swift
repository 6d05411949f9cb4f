/// The TcpExt fields of /proc/net/netstat that concern listen queues, with the
/// metric each one is exported as. Every other field is kept by the parser too.
public enum ListenCounter: String, Sendable, CaseIterable, Codable {
    case listenOverflows = "ListenOverflows"
    case listenDrops = "ListenDrops"
    case reqQFullDrop = "TCPReqQFullDrop"
    case reqQFullDoCookies = "TCPReqQFullDoCookies"
    case syncookiesSent = "SyncookiesSent"
    case syncookiesRecv = "SyncookiesRecv"
    case syncookiesFailed = "SyncookiesFailed"
    case deferAcceptDrop = "TCPDeferAcceptDrop"

    /// Prometheus family name (CONTRACT.md).
    public var metricName: String {
        switch self {
        case .listenOverflows: "backlogd_tcp_listen_overflows_total"
        case .listenDrops: "backlogd_tcp_listen_drops_total"
        case .reqQFullDrop: "backlogd_tcp_syn_queue_drops_total"
        case .reqQFullDoCookies: "backlogd_tcp_syn_queue_cookies_total"
        case .syncookiesSent: "backlogd_tcp_syncookies_sent_total"
        case .syncookiesRecv: "backlogd_tcp_syncookies_recv_total"
        case .syncookiesFailed: "backlogd_tcp_syncookies_failed_total"
        case .deferAcceptDrop: "backlogd_tcp_defer_accept_drops_total"
        }
    }

    /// HELP text; keeps the kernel's name so people can grep for it.
    public var help: String {
        switch self {
        case .listenOverflows: "TcpExt ListenOverflows: accept queue full, SYN dropped or final ACK refused (per netns)."
        case .listenDrops: "TcpExt ListenDrops: every drop at a listener, including ListenOverflows."
        case .reqQFullDrop: "TcpExt TCPReqQFullDrop: SYN dropped because the SYN queue was full (no syncookies)."
        case .reqQFullDoCookies: "TcpExt TCPReqQFullDoCookies: SYN queue full, answered with a syncookie."
        case .syncookiesSent: "TcpExt SyncookiesSent: syncookies sent."
        case .syncookiesRecv: "TcpExt SyncookiesRecv: valid syncookies received."
        case .syncookiesFailed: "TcpExt SyncookiesFailed: invalid syncookies received."
        case .deferAcceptDrop: "TcpExt TCPDeferAcceptDrop: bare ACKs ignored by a TCP_DEFER_ACCEPT listener (per ACK)."
        }
    }
}
