import BacklogCore

public enum JSONRenderer {
    /// Pretty, key-sorted JSON; nil fields are omitted.
    /// `commandLines`: process command lines are for --once (local) only, not for /snapshot.
    /// Several namespaces: the first at the top, the others under `namespaces`.
    public static func render(_ p: Publication, version: String, commandLines: Bool = true) -> String {
        String(decoding: SnapshotJSON.render(p, version: version, commandLines: commandLines), as: UTF8.self)
    }
}
