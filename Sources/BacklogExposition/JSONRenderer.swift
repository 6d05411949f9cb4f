import BacklogCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

public enum JSONRenderer {
    /// Pretty, key-sorted JSON; nil fields are omitted.
    public static func render(_ s: Snapshot, version: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Every field is a plain value type: encoding cannot fail.
        let data = (try? encoder.encode(SnapshotDocument(s, version: version))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
