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
        .target(name: "BacklogExposition", dependencies: ["BacklogCore"]),
        .executableTarget(
            name: "backlogd",
            dependencies: [
                "BacklogCore",
                "BacklogExposition",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "BacklogCoreTests",
            dependencies: ["BacklogCore", "CSockDiag"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "BacklogExpositionTests", dependencies: ["BacklogExposition"]),
        // Real sockets, real namespaces, `ss` and `promtool` as oracles; runs the built executable.
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["BacklogCore", "CSockDiag", "backlogd"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
