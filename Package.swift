// swift-tools-version:6.1
// Baton: multi-site ticket and quorum arbitration for Linux HA clusters.
// Module layout follows ../shared/design/ARCHITECTURE.md: pure cores (no I/O, no clocks,
// no randomness they were not given) and thin shells around them.
import PackageDescription

let package = Package(
    name: "Baton",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
        .library(name: "CIB", targets: ["CIB"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(
            name: "baton",
            dependencies: [
                "CIB",
                "Scheduler",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libxml2 (Debian: libxml2-dev), found through pkg-config.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "CIB", dependencies: ["CLibXML2"]),
        .target(name: "Scheduler", dependencies: ["CIB"]),
        .testTarget(name: "CIBTests", dependencies: ["CIB"]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "CIB"]),
    ],
    swiftLanguageModes: [.v6]
)
