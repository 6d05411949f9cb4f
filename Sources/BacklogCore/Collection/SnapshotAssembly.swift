/// The one pipeline step from readings to a namespace's Snapshot: the address,
/// process and unit filters, then every finding rule. A pure function, shared by
/// the daemon's tick and `--once`; the Snapshot it returns is never changed
/// afterwards. The series cap is not here: it is applied once, over all
/// namespaces, when a Publication is made.
public enum SnapshotAssembly {
    public static func assemble(_ r: NamespaceReadings, settings: CollectorSettings) -> Snapshot {
        let selection = settings.selection
        // Without patterns nothing is left out: the table's array is shared, not copied.
        let listeners = selection.filtersAnything ? r.listeners.filter(selection.admits) : r.listeners
        var sources = r.sources
        if let deep = r.deep { sources.append(deep.status) }
        let findings = QueueFindings.evaluate(listeners: listeners, somaxconn: r.sysctls["net.core.somaxconn"],
                                              thresholds: settings.thresholds, window: r.windowSeconds)
            + ConnectionFindings.evaluate(listeners: listeners, halfOpenGrowth: r.deep?.halfOpenGrowth ?? [:],
                                          oneShot: r.oneShot,
                                          cookieGrowth: r.cookieGrowth, netns: r.netns, thresholds: settings.thresholds,
                                          window: r.windowSeconds)
            + FdFindings.evaluate(listeners: listeners)
        var s = Snapshot(
            netns: r.netns, timestamp: r.timestamp, windowSeconds: r.windowSeconds, listeners: listeners,
            netstat: r.netstat, counterDeltas: r.counterDeltas, sysctls: r.sysctls, sources: sources,
            findings: QueueFindings.sorted(findings))
        s.deepIntervalSeconds = r.deepIntervalSeconds
        s.fastIntervalSeconds = r.fastIntervalSeconds
        s.unattributedOverflows = r.unattributedOverflows
        s.trackingDropped = r.deep?.trackingDropped
        s.occupant = r.occupant
        s.thresholds = settings.thresholds
        return s
    }
}
