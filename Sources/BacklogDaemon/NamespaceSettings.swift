import BacklogCore

/// Which network namespaces besides backlogd's own are watched.
public struct NamespaceSettings: Sendable, Equatable {
    /// Watch every namespace (named ones under /run/netns, those of processes), not only backlogd's own.
    public var all = false
    /// Patterns on the `netns` label (`host`, a name, `ns:<inode>`).
    public var filter = PatternFilter()

    public init(all: Bool = false, filter: PatternFilter = PatternFilter()) {
        self.all = all
        self.filter = filter
    }
}
