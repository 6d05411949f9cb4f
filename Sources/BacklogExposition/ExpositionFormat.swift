/// The two exposition formats /metrics serves: Prometheus text 0.0.4 (the
/// default) and OpenMetrics 1.0.0 (when the scraper asks for it, as Prometheus
/// does first). Sample lines are the same in both; the differences are in the
/// family headers (an OpenMetrics counter's family name has no `_total`, HELP
/// also escapes `"`) and OpenMetrics' closing `# EOF`.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    case text
    case openMetrics

    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// `# HELP` and `# TYPE` lines of a family.
    func header(_ name: String, _ type: MetricType, help: String) -> [UInt8] {
        var w = ByteWriter(capacity: 2 * name.utf8.count + help.utf8.count + 32)
        var family = name
        var typeName = type.rawValue
        if self == .openMetrics {
            switch type {
            case .counter:
                // A counter's samples are <family>_total; one without the suffix cannot be an OpenMetrics counter.
                if name.hasSuffix("_total") { family = String(name.dropLast(6)) } else { typeName = "unknown" }
            case .untyped: typeName = "unknown"
            case .gauge: break
            }
        }
        w.append("# HELP ")
        w.append(family)
        w.append(byte: 0x20)
        w.append(self == .openMetrics ? PrometheusText.escapeLabelValue(help) : PrometheusText.escapeHelp(help))
        w.append("\n# TYPE ")
        w.append(family)
        w.append(byte: 0x20)
        w.append(typeName)
        w.append(byte: 0x0A)
        return w.bytes
    }

    /// What ends a body (after the per-scrape lines).
    public var end: [UInt8] { self == .openMetrics ? Array("# EOF\n".utf8) : [] }
}
