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
        for item in HeaderItem.items(values) where item.q > 0 {
            let version = item.parameters["version"]
            let format: ExpositionFormat
            switch item.token {
            case "application/openmetrics-text" where version == nil || version == "1.0.0": format = .openMetrics
            case "text/plain" where version == nil || version == "0.0.4": format = .text
            case "text/*", "*/*": format = .text
            default: continue
            }
            if best == nil || item.q > best!.q { best = (item.q, format) }
        }
        return best?.format ?? .text
    }
}
