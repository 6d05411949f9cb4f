/// What a namespace's collection is told: which listeners, and where numbers become findings.
public struct CollectorSettings: Sendable, Equatable {
    public var ports: PortFilter
    public var selection: ListenerSelection
    public var thresholds: Thresholds
    /// The kubelet's pods directory (`kubernetes.pods_dir`): pod namespaces and names of owners.
    public var podsDir: String

    public init(ports: PortFilter = .all, selection: ListenerSelection = ListenerSelection(), thresholds: Thresholds = Thresholds(),
                podsDir: String = PodDirectory.defaultPath) {
        self.podsDir = podsDir
        self.ports = ports
        self.selection = selection
        self.thresholds = thresholds
    }
}
