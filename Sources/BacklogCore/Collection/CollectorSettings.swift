/// What a namespace's collection is told: which listeners, and where numbers become findings.
public struct CollectorSettings: Sendable, Equatable {
    public var ports: PortFilter
    public var selection: ListenerSelection
    public var thresholds: Thresholds

    public init(ports: PortFilter = .all, selection: ListenerSelection = ListenerSelection(), thresholds: Thresholds = Thresholds()) {
        self.ports = ports
        self.selection = selection
        self.thresholds = thresholds
    }
}
