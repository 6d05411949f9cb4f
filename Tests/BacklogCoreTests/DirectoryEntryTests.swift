#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import BacklogCore
import Testing

/// readdir names read up to their NUL, for every length up to NAME_MAX (run under
/// AddressSanitizer by .ci/sanitize: copying the whole d_name read past readdir's buffer).
@Suite struct DirectoryEntryTests {
    @Test func namesOfEveryLengthAreReadWhole() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bd-dirent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var made: Set<String> = ["été-ü"]
        for n in [1, 2, 7, 8, 9, 100, 254, 255] { made.insert(String(repeating: "n", count: n)) }
        for name in made { #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: nil)) }
        let d = try #require(opendir(dir))
        defer { closedir(d) }
        var seen: Set<String> = []
        while let e = readdir(d) { seen.insert(DirectoryEntry.name(e)) }
        #expect(seen == made.union([".", ".."]))
    }
}
