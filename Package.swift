// swift-tools-version:6.1
// Baton: multi-site ticket and quorum arbitration for Linux HA clusters.
// Module layout follows ../shared/design/ARCHITECTURE.md: pure cores (no I/O, no clocks,
// no randomness they were not given) and thin shells around them.
import PackageDescription

let package = Package(
    name: "Baton",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // Shell: the Corosync client libraries (cpg, quorum, votequorum, cmap) over libqb.
        .systemLibrary(
            name: "CCorosync",
            pkgConfig: "libcpg",
            providers: [.apt(["libcpg-dev", "libquorum-dev", "libvotequorum-dev", "libcmap-dev", "libqb-dev"])]
        ),
        .target(name: "Corosync", dependencies: ["CCorosync"]),
        .executableTarget(
            name: "baton",
            dependencies: [
                "Corosync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test helper: a Corosync client run inside one test-bed node's network namespace
        // (`ip netns exec`), speaking JSON lines on stdout. Used by Tests/CorosyncTests.
        .executableTarget(
            name: "baton-corosync-probe",
            dependencies: [
                "Corosync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CorosyncProbe"
        ),
        .testTarget(name: "CorosyncTests", dependencies: ["Corosync"]),
    ],
    swiftLanguageModes: [.v6]
)
