// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "backlogd",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "backlogd", targets: ["backlogd"]),
        .library(name: "BacklogCore", targets: ["BacklogCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // libmnl from the system (apt: libmnl-dev). The module map links `mnl` explicitly.
        .systemLibrary(
            name: "CMnl",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        // The only code that touches netlink memory: requests, dump loop, flat records.
        .target(
            name: "CSockDiag",
            dependencies: ["CMnl"],
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]
        ),
        .target(name: "BacklogCore", dependencies: ["CSockDiag"]),
        // glibc process settings Swift's Glibc module lacks (malloc arenas).
        .target(name: "CProcess", cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]),
        .target(name: "BacklogExposition", dependencies: ["BacklogCore"]),
        // zlib from the system (apt: zlib1g-dev), to gzip /metrics once per snapshot.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // libxcrypt from the system (Debian libcrypt-dev, with libc6-dev): crypt_r verifies bcrypt hashes.
        .systemLibrary(name: "CCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
        // The HTTP endpoint: serves the latest published snapshot, never collects. No TLS
        // library: the web-config gate (TLS, basic auth) is BacklogWeb's, given to it by the daemon.
        .target(
            name: "BacklogHTTP",
            dependencies: [
                "BacklogCore", "BacklogExposition", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Config file, the collection timer, systemd notify: the daemon without its CLI.
        .target(
            name: "BacklogDaemon",
            dependencies: [
                "BacklogCore", "BacklogHTTP",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The web-config file (exporter-toolkit's format) and what it turns on: TLS (swift-nio-ssl,
        // the build's one BoringSSL), basic auth (bcrypt by libxcrypt), headers, a rate limit.
        // Only the daemon and BacklogWebTests link it, so the fuzz build compiles no BoringSSL.
        .target(
            name: "BacklogWeb",
            dependencies: [
                "BacklogCore", "BacklogHTTP", "BacklogDaemon", "CCrypt",
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "backlogd",
            dependencies: [
                "BacklogCore",
                "BacklogExposition",
                "BacklogHTTP",
                "BacklogDaemon",
                "BacklogWeb",
                "CProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The benchmark (README "Performance"): backlogd against the kernel's floor and node_exporter.
        .executableTarget(
            name: "backlogd-bench",
            dependencies: [
                "BacklogCore", "CSockDiag",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The floor: the same sock_diag dumps over libmnl, only counting messages.
        .executableTarget(
            name: "backlogd-floor",
            dependencies: ["CSockDiag", "CMnl"],
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])]
        ),
        .testTarget(
            name: "BacklogCoreTests",
            dependencies: ["BacklogCore", "CSockDiag"],
            resources: [.copy("Fixtures")]
        ),
        // Golden/ holds the committed expositions the tests compare with (read by path).
        .testTarget(name: "BacklogExpositionTests", dependencies: ["BacklogExposition"], exclude: ["Golden"]),
        .testTarget(name: "BacklogDaemonTests", dependencies: ["BacklogDaemon", "BacklogCore"]),
        .testTarget(
            name: "BacklogWebTests",
            dependencies: [
                "BacklogWeb", "BacklogHTTP", "BacklogDaemon",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BacklogHTTPTests",
            dependencies: [
                "BacklogHTTP", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Real sockets, real namespaces, `ss` and `promtool` as oracles; runs the built executable.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["BacklogCore", "CSockDiag", "BacklogDaemon", "backlogd", "backlogd-bench", "backlogd-floor"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The fuzz driver (fuzz/README.md) exists only in fuzz/run's build, which sets
// BACKLOGD_FUZZ=1 and the fuzzer flags in its own scratch path: the normal
// build and test never compile it.
if Context.environment["BACKLOGD_FUZZ"] == "1" {
    package.targets.append(.target(name: "CFuzzerDriver", path: "fuzz/Sources/CFuzzerDriver"))
    package.targets.append(.executableTarget(
        name: "backlogd-fuzz",
        dependencies: [
            "BacklogCore", "CSockDiag", "BacklogDaemon", "BacklogHTTP", "CFuzzerDriver",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ],
        path: "fuzz/Sources/backlogd-fuzz"
    ))
}

// The sanitizer runs (.ci/sanitize) build only the unit-test targets and what they
// test: BACKLOGD_UNIT_TESTS_ONLY=1 leaves out the executables and the integration
// tests (those run the real binary, set rlimits, and are many times slower under TSan).
if Context.environment["BACKLOGD_UNIT_TESTS_ONLY"] == "1" {
    let left = ["backlogd", "backlogd-bench", "backlogd-floor", "CProcess", "IntegrationTests"]
    package.targets.removeAll { left.contains($0.name) }
    package.products.removeAll { $0.name == "backlogd" }
}
