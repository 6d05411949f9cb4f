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
        // The HTTP endpoint: serves the latest published snapshot, never collects.
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
                "BacklogCore",
                .product(name: "Logging", package: "swift-log"),
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
        .testTarget(name: "BacklogExpositionTests", dependencies: ["BacklogExposition"]),
        .testTarget(name: "BacklogDaemonTests", dependencies: ["BacklogDaemon", "BacklogCore"]),
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
