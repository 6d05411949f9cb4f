import BacklogCore

/// `--once` exit status (CONTRACT.md): 0 nothing found (info does not count),
/// 1 warning findings, 2 critical findings, 3 a source could not be collected.
public enum OnceExitStatus {
    public static let collectionFailed: Int32 = 3

    /// The worst over several namespaces.
    public static func of(_ p: Publication) -> Int32 {
        p.snapshots.map(of).max() ?? 0
    }

    public static func of(_ s: Snapshot) -> Int32 {
        if !s.failedSources.isEmpty { return collectionFailed }
        switch s.findings.map(\.severity).max() {
        case .critical: return 2
        case .warning: return 1
        default: return 0
        }
    }
}
