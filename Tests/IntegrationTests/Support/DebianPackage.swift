import BacklogCore
import Foundation

/// The Debian package `packaging/deb/build` wrote to dist/ (.ci/run builds it
/// once before `swift test`: a release build takes minutes, so the tests do
/// not build it themselves). Missing or of another version: the test fails
/// and says how to make it.
enum DebianPackage {
    static var repoRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../..").standardized.path
    }

    static var architecture: String {
        get throws { try run(["dpkg", "--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// dist/backlogd_<version>-1_<arch>.deb, version from Version.swift.
    static func built() throws -> String {
        let path = "\(repoRoot)/dist/backlogd_\(BacklogdVersion.current)-1_\(try architecture).deb"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ContainerFailed(what: "\(path) is missing: run packaging/deb/build first (.ci/run does)")
        }
        return path
    }

    /// The same binary repackaged with Debian revision `revision` into `dir`,
    /// no second build: the binary comes out of `deb`.
    static func repackage(_ deb: String, revision: String, into dir: String) throws -> String {
        let tree = "\(dir)/extracted"
        try run(["dpkg-deb", "-x", deb, tree])
        let r = try run(["\(repoRoot)/packaging/deb/build", "--binary", "\(tree)/usr/bin/backlogd",
                         "--revision", revision, "--output", dir], timeout: 300)
        let path = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard path.hasSuffix("-\(revision)_\(try architecture).deb"), FileManager.default.fileExists(atPath: path) else {
            throw ContainerFailed(what: "packaging/deb/build printed \(r.stdout) \(r.stderr)")
        }
        return path
    }

    /// Field `field` of the package's control file.
    static func field(_ deb: String, _ field: String) throws -> String {
        try run(["dpkg-deb", "-f", deb, field]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
