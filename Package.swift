// swift-tools-version:6.1
// Baton: multi-site ticket and quorum arbitration for Linux HA clusters.
// Module layout follows ../shared/design/ARCHITECTURE.md: pure cores (no I/O, no clocks,
// no randomness they were not given) and thin shells around them.
import PackageDescription

/// The election and its simulator run thousands of seeds in every test run: optimize them
/// in debug builds too (preconditions stay on; they are part of the design).
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Baton",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        // Pure: the per-ticket lease election (instance / directives).
        .target(name: "TicketElection", swiftSettings: optimizedEvenInDebug),
        // Pure: simulated members, network and clocks driving real TicketElection instances.
        .target(name: "GeoSimulation", dependencies: ["TicketElection"], swiftSettings: optimizedEvenInDebug),
        // Pure: versioned binary frames for peer and client messages.
        .target(name: "TicketWire", dependencies: ["TicketElection"], swiftSettings: optimizedEvenInDebug),
        // batond: the pure daemon core (all tickets, batching) and, later, its shells.
        .target(name: "TicketDaemon", dependencies: ["TicketElection", "TicketWire"]),
        .executableTarget(
            name: "baton",
            dependencies: [
                "TicketElection",
                "GeoSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TicketElectionTests", dependencies: ["TicketElection", "GeoSimulation"]),
        .testTarget(name: "GeoSimulationTests", dependencies: ["GeoSimulation", "TicketElection"]),
        .testTarget(name: "TicketDaemonTests", dependencies: ["TicketDaemon", "TicketElection", "TicketWire"]),
        .testTarget(name: "TicketWireTests", dependencies: ["TicketWire", "TicketElection", "GeoSimulation"]),
    ],
    swiftLanguageModes: [.v6]
)
