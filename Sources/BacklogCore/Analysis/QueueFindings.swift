/// The accept-queue rules that need only listener numbers: full, and clamped by somaxconn.
/// Connection-level rules (not accepting, SYN-RECV kinds, …) come with the analysis.
public enum QueueFindings {
    public static func evaluate(listeners: [Listener], somaxconn: Int64?) -> [Finding] {
        var findings: [Finding] = []
        for l in listeners {
            if l.isFull || l.queuePeak > l.queueMax {
                let now = l.isFull ? "full \(l.queueLength)/\(l.queueMax)" : "was full (peak \(l.queuePeak)/\(l.queueMax)), now \(l.queueLength)/\(l.queueMax)"
                findings.append(Finding(
                    kind: "accept_queue_full", severity: .warning, listener: l,
                    message: "\(l.displayAddress): accept queue \(now): new connections are refused or dropped; the process is not accepting fast enough"))
            }
            if let somaxconn, l.family != .unix, Int64(l.queueMax) == somaxconn {
                findings.append(Finding(
                    kind: "backlog_clamped", severity: .info, listener: l,
                    message: "\(l.displayAddress): backlog may be clamped by net.core.somaxconn (max \(l.queueMax) = somaxconn)"))
            }
        }
        return findings.sorted { ($0.severity, $1.kind) > ($1.severity, $0.kind) }
    }
}
