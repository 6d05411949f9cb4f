import BacklogExposition

/// Which exposition format a scraper asked for in `Accept` (RFC 9110 §12.5.1):
/// OpenMetrics 1.0.0 when `application/openmetrics-text` (version 1.0.0 or none)
/// has the highest q-value of what we can serve, as Prometheus sends it first;
/// otherwise text 0.0.4, also for no header, `*/*` or a version we do not
/// speak. On equal q-values the type listed first wins, as client_golang's
/// negotiation does.
enum AcceptFormat {
    static func negotiate(_ values: [String]) -> ExpositionFormat {
        var best: (q: Double, format: ExpositionFormat)?
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let first = parts.first else { continue }
                let type = first.trimmingSpaces.lowercased()
                var q = 1.0
                var version: String?
                for p in parts.dropFirst() {
                    let kv = p.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { continue }
                    let key = kv[0].trimmingSpaces.lowercased()
                    var v = kv[1].trimmingSpaces
                    if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = v.dropFirst().dropLast() }
                    if key == "q" { q = Double(v) ?? 0 }
                    if key == "version" { version = String(v) }
                }
                let format: ExpositionFormat
                switch type {
                case "application/openmetrics-text" where version == nil || version == "1.0.0": format = .openMetrics
                case "text/plain" where version == nil || version == "0.0.4": format = .text
                case "text/*", "*/*": format = .text
                default: continue
                }
                guard q > 0 else { continue }
                if best == nil || q > best!.q { best = (q, format) }
            }
        }
        return best?.format ?? .text
    }
}
