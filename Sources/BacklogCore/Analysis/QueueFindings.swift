/// The accept-queue rules that need only listener numbers: full, near full,
/// and clamped by somaxconn. Connection rules are in ConnectionFindings.
public enum QueueFindings {
    /// `window`: what the listeners' drops-in-window cover (0: a single dump).
    public static func evaluate(listeners: [Listener], somaxconn: Int64?, thresholds: Thresholds = Thresholds(),
                                window: Double = 0) -> [Finding] {
        var findings: [Finding] = []
        for i in listeners.indices {
            // Read in place; the listener is copied only when a rule fires (most ticks: none).
            let (length, max, peak) = (listeners[i].queueLength, listeners[i].queueMax, listeners[i].queuePeak)
            let clamped = somaxconn.map { Int64(max) == $0 } ?? false
            let near = max > 0 && Double(length) >= thresholds.nearFullRatio * Double(max)
            guard length > max || peak > max || near || clamped else { continue }
            let l = listeners[i]
            if l.isFull || l.queuePeak > l.queueMax {
                let dropped = l.droppedText(window: window).map { ", \($0)" } ?? ""
                let message = l.isFull
                    ? "accept queue full \(l.queueLength)/\(l.queueMax)\(dropped): new connections are refused or dropped; the process is not accepting fast enough"
                    : "accept queue was full during the window (peak \(l.queuePeak)/\(l.queueMax)), now \(l.queueLength)/\(l.queueMax)\(dropped): connections were refused or dropped meanwhile"
                findings.append(Finding(kind: "accept_queue_full", severity: .warning, listener: l,
                                        message: "\(l.describedAddress): \(message)"))
            } else if l.queueMax > 0, Double(l.queueLength) >= thresholds.nearFullRatio * Double(l.queueMax) {
                var message = "\(l.describedAddress): accept queue near full \(l.queueLength)/\(l.queueMax) — the process is falling behind"
                if let somaxconn, Int64(l.queueMax) == somaxconn {
                    message += "; its max is net.core.somaxconn (\(somaxconn)): raising the backlog needs the sysctl raised too"
                }
                findings.append(Finding(kind: "accept_queue_near_full", severity: .warning, listener: l, message: message))
            }
            // listen() clamps every socket type, UNIX included, to somaxconn.
            if let somaxconn, Int64(l.queueMax) == somaxconn {
                findings.append(Finding(
                    kind: "backlog_clamped", severity: .info, listener: l,
                    message: "\(l.describedAddress): backlog may be clamped by net.core.somaxconn (max \(l.queueMax) = somaxconn)"))
            }
        }
        return sorted(findings)
    }

    /// Most severe first, then by kind.
    public static func sorted(_ findings: [Finding]) -> [Finding] {
        findings.sorted { ($0.severity, $1.kind) > ($1.severity, $0.kind) }
    }
}
