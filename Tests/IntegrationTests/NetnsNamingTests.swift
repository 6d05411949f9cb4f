import BacklogCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Labels of named namespaces are unique even when names print alike.
@Suite struct NetnsNamingTests {
    @Test func namesThatPrintAlikeGetDistinctLabels() throws {
        try withNamespace { a in
            try withNamespace { b in
                // A directory of our own, laid out as /run/netns: bind mounts of nsfs files.
                let dir = temporaryPath("runnetns")
                #expect(mkdir(dir, 0o755) == 0)
                defer { rmdir(dir) }
                let odd = "x\u{1}y", plain = "x?y"
                var mounted: [String] = []
                defer {
                    for p in mounted { umount2(p, Int32(MNT_DETACH)) }
                    for n in [odd, plain] { unlink("\(dir)/\(n)") }
                }
                for (ns, name) in [(a, odd), (b, plain)] {
                    let path = "\(dir)/\(name)"
                    #expect(FileManager.default.createFile(atPath: path, contents: nil))
                    guard mount("/run/netns/\(ns.name)", path, nil, UInt(MS_BIND), nil) == 0 else {
                        throw POSIXFailure("mount --bind /run/netns/\(ns.name) \(path)")
                    }
                    mounted.append(path)
                }
                let inodeA = try #require(NetnsInode.of(path: "/run/netns/\(a.name)"))
                let found = NetnsDiscovery(runNetns: dir).scan().namespaces.filter { !$0.isHost && $0.path?.hasPrefix(dir) == true }
                // The name that prints as it is keeps it; the other is labelled by inode.
                #expect(Dictionary(uniqueKeysWithValues: found.map { ($0.path!, $0.label) })
                        == ["\(dir)/\(plain)": plain, "\(dir)/\(odd)": "ns:\(inodeA)"])
            }
        }
    }
}
