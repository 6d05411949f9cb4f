import BacklogCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum JSONRenderer {
    /// Pretty, key-sorted JSON; nil fields are omitted.
    /// `commandLines`: process command lines are for --once (local) only, not for /snapshot.
    /// Several namespaces: the first at the top, the others under `namespaces`.
    public static func render(_ p: Publication, version: String, commandLines: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every field is a plain value type: encoding cannot fail.
        let data = (try? encoder.encode(SnapshotDocument(p.snapshots, version: version, commandLines: commandLines))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
