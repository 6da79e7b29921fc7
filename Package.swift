// swift-tools-version:6.1
// Baton: multi-site ticket and quorum arbitration for Linux HA clusters.
// Module layout follows ../shared/design/ARCHITECTURE.md: pure cores (no I/O, no clocks,
// no randomness they were not given) and thin shells around them.
import PackageDescription

/// The election and its simulator run thousands of seeds in every test run: optimize them
/// in debug builds too (preconditions stay on; they are part of the design).
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// The shipped executables carry the Swift runtime and Foundation inside them (`-static-stdlib`,
/// as `swift build --static-swift-stdlib` would, but for every build: debug, release and the
/// one `swift test` runs), so they run on a node without the Swift toolchain; `ldd` shows only
/// system libraries (libc, libstdc++, OpenSSL, libxml2, Corosync's). No dynamic loading of the
/// Swift libraries also takes most of the CLI's start-up time away.
/// Tests/BatondTests/StandaloneBinaryTests.swift checks both.
/// SwiftPM links only the Foundation libraries the executable's own objects name; their own
/// dependencies (swift-foundation's collections and ICU, CoreFoundation) must be named too, as
/// one group since they refer to each other (swift-package-manager issue 10564).
let staticSwiftRuntime: [LinkerSetting] = [.unsafeFlags(
    ["-static-stdlib", "-Xlinker", "--start-group"]
        + ["Foundation", "FoundationEssentials", "FoundationInternationalization", "_FoundationICU", "_FoundationCollections",
           "_FoundationCShims", "CoreFoundation", "swiftCore", "swift_Concurrency", "swiftDispatch", "dispatch", "BlocksRuntime",
           "swiftSynchronization"].flatMap { ["-Xlinker", "-l\($0)"] }
        + ["-Xlinker", "--end-group"],
    .when(platforms: [.linux]))]

/// `baton`, the admin front, carries the Swift runtime too, and nothing else: no Foundation.
let staticSwiftCoreOnly: [LinkerSetting] = [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux]))]

let package = Package(
    name: "Baton",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "baton", targets: ["baton"]),
        .executable(name: "baton-full", targets: ["baton-full"]),
        .executable(name: "batond", targets: ["batond"]),
        .executable(name: "baton-agent-tools", targets: ["baton-agent-tools"]),
        .executable(name: "baton-crmd", targets: ["baton-crmd"]),
        .executable(name: "baton-qdevice", targets: ["baton-qdevice"]),
        .library(name: "BatonConfig", targets: ["BatonConfig"]),
        .library(name: "TLSTransport", targets: ["TLSTransport"]),
        .library(name: "CIB", targets: ["CIB"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Already resolved through swift-nio; named for its Heap (the executor's wake-ups).
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        // Pure: the suite's version, one constant every binary prints with --version.
        .target(name: "BatonVersion"),
        // Glibc only: this executable's path (/proc/self/exe), for the front and baton-full alike.
        .target(name: "ExecutablePath"),
        // The daemons' log lines (batond, baton-crmd): syslog priorities for the journal, logfmt fields.
        .target(name: "DaemonLogging", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // Pure: the monitoring listeners' HTTP answer, HTML and label escaping (batond, baton-crmd).
        .target(name: "MonitoringText"),
        // Glibc only: the standard process_* metrics from /proc/self (batond, baton-crmd).
        .target(name: "ProcessStats"),
        // Pure: the per-ticket lease election (instance / directives).
        .target(name: "TicketElection", swiftSettings: optimizedEvenInDebug),
        // Pure: the simulation kernel (virtual time, seeded queue, nodes, network, CPG-like
        // groups, crashes with kept/lost/torn disks, checker hook) every simulator runs on.
        .target(name: "SimulationKernel", swiftSettings: optimizedEvenInDebug),
        .testTarget(name: "SimulationKernelTests", dependencies: ["SimulationKernel"]),
        // Pure: simulated members, network and clocks driving real TicketElection instances.
        .target(name: "GeoSimulation", dependencies: ["TicketElection", "SimulationKernel"], swiftSettings: optimizedEvenInDebug),
        // Pure: versioned binary frames for peer and client messages.
        .target(name: "TicketWire", dependencies: ["TicketElection"], swiftSettings: optimizedEvenInDebug),
        // Pure: batond's core (all tickets, batching, reload) and the state journal's format.
        .target(name: "TicketCore", dependencies: ["TicketElection", "TicketWire"], swiftSettings: optimizedEvenInDebug),
        // Pure: batond's core run on the simulation kernel (sites, arbitrators, journal faults).
        .target(name: "TicketSimulation", dependencies: ["TicketCore", "GeoSimulation", "SimulationKernel", "TicketElection", "TicketWire"],
                swiftSettings: optimizedEvenInDebug),
        .testTarget(name: "TicketSimulationTests", dependencies: ["TicketSimulation", "TicketCore", "GeoSimulation", "SimulationKernel", "TicketElection", "TicketWire"]),
        // batond: the shells around TicketCore (network, journal on disk, CIB, handlers).
        .target(
            name: "TicketDaemon",
            dependencies: [
                "TicketCore", "TicketElection", "TicketWire", "BatonConfig", "TLSTransport", "Corosync", "ChildProcess", "BatonVersion",
                "DaemonLogging", "AgentToolsShell", "CIB", "CIBResourceEdits", "MonitoringText", "ProcessStats",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "batond",
            dependencies: [
                "TicketDaemon", "TicketCore", "TicketElection", "TicketWire", "DaemonLogging", "BatonConfig", "TLSTransport", "ChildProcess", "BatonVersion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: staticSwiftRuntime
        ),
        // `baton`, what admins type: the ticket commands with text output through this machine's
        // admin socket, answered by a small executable (no ArgumentParser, Foundation, OpenSSL,
        // libxml2, Corosync) for its start-up; every other command line goes to `baton-full`.
        .executableTarget(
            name: "baton",
            dependencies: ["BatonClient", "BatonConfig", "ExecutablePath"],
            path: "Sources/BatonFront",
            linkerSettings: staticSwiftCoreOnly
        ),
        // What both command lines share to reach batond and print its answers (no Foundation).
        .target(name: "BatonClient", dependencies: ["TicketWire", "TicketElection", "BatonConfig", "LocalSocketClient"]),
        // The whole command line (ArgumentParser): help, JSON, remote admin over TLS, the lab
        // commands (simulators, benchmarks, conformance, fuzzing, demo). `baton` runs it for
        // everything it does not answer itself. Its sources stay in Sources/baton.
        .executableTarget(
            name: "baton-full",
            dependencies: [
                "BatonClient",
                "BatonVersion",
                "ExecutablePath",
                "TicketElection",
                "GeoSimulation",
                "TicketSimulation",
                "TicketWire",
                "BatonConfig",
                "Corosync",
                "TLSTransport",
                "CIB",
                "Scheduler",
                "DecoderFuzzing",
                "CIBGenerator",
                "Executor",
                "ExecutorShell",
                "ChildProcess",
                "CRMCore",
                "CRMStatusView",
                "CIBAttributes",
                "CIBResourceEdits",
                "AgentTools",
                "AgentToolsShell",
                "WitnessCheck",
                "CRMSimulation",
                "CIBFiles",
                "QuorumSimulation",
                "QuorumArbiter",
                "QuorumDeviceShell",  // the quorum device's status socket, for `baton crm status`
                "TicketDaemon",
                "ProcessStats",  // ProcessMetrics.Stat for the benchmarks' CPU figures
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/baton",
            linkerSettings: staticSwiftRuntime
        ),
        .testTarget(name: "TicketElectionTests", dependencies: ["TicketElection", "GeoSimulation"],
                    exclude: ["Transcripts"]),  // read from the source tree by path (#filePath), not bundled
        .testTarget(name: "GeoSimulationTests", dependencies: ["GeoSimulation", "TicketElection"]),
        .testTarget(name: "StyleTests"),
        .testTarget(name: "TicketDaemonTests", dependencies: ["TicketDaemon", "ProcessStats", "DaemonLogging", "TicketCore", "TicketElection", "TicketWire", "SeededRandom", "TestSupport",
                                                             .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TicketWireTests", dependencies: ["TicketWire", "TicketElection", "GeoSimulation"]),
        // Pure: booth.conf-compatible configuration parser and validator. No I/O but the
        // one small loader function that reads a file and hands its text to the parser.
        .target(name: "BatonConfig", dependencies: ["TicketElection"]),
        // The system OpenSSL 3 (libssl, libcrypto) with a shim for the macros Swift cannot see.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // Shell: mutual TLS 1.3 over SwiftNIO's plain TCP, driven through memory BIOs.
        .target(
            name: "TLSTransport",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BatonConfigTests", dependencies: ["BatonConfig", "TicketElection", "SeededRandom"]),
        .testTarget(
            name: "TLSTransportTests",
            dependencies: [
                "TLSTransport",
                "COpenSSL",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shell: the Corosync client libraries (cpg, quorum, votequorum, cmap) over libqb.
        .systemLibrary(
            name: "CCorosync",
            pkgConfig: "libcpg",
            providers: [.apt(["libcpg-dev", "libquorum-dev", "libvotequorum-dev", "libcmap-dev", "libqb-dev"])]
        ),
        .target(name: "Corosync", dependencies: ["CCorosync", "ClusterIdentity"]),
        // Test helper: a Corosync client run inside one test-bed node's network namespace
        // (`ip netns exec`), speaking JSON lines on stdout. Used by Tests/CorosyncTests.
        .executableTarget(
            name: "baton-corosync-probe",
            dependencies: [
                "Corosync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CorosyncProbe",
            linkerSettings: staticSwiftRuntime
        ),
        .testTarget(name: "CorosyncTests", dependencies: ["Corosync", "TestSupport", "CRMCore", "CIB", "WitnessCheck", "SeededRandom"]),
        // Pure: the witness journal's verdict (scripts/ocf/Witness): two places at once, handover
        // gaps; read by the CorosyncTests and `baton demo`.
        .target(name: "WitnessCheck"),
        .testTarget(name: "WitnessCheckTests", dependencies: ["WitnessCheck"]),
        // Test bed only: a user-space Ethernet switch that loses, delays and duplicates frames
        // (this kernel has no netem), run in scripts/impair-bed's hub namespace.
        .executableTarget(name: "baton-impair", dependencies: ["SeededRandom"], path: "Sources/ImpairSwitch"),
        // Test bed only: a member with a valid certificate sending extreme and random values in
        // every field of every message, replays, floods, oversize requests and garbage to real
        // batond processes over the TLS mesh. Used by Tests/BatondTests HostileMemberEndToEnd.
        .executableTarget(
            name: "baton-hostile-member",
            dependencies: [
                "TLSTransport", "TicketWire", "TicketElection", "SeededRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/HostileMember"
        ),
        // End to end: drives the real batond and baton executables (built next to the test
        // bundle by `swift build --build-tests`) as child processes on loopback addresses.
        .testTarget(name: "BatondTests", dependencies: ["TestSupport", "TicketElection", "Executor", "ExecutorShell"]),
        // What the test targets that drive real processes share (not shipped).
        .target(name: "TestSupport", dependencies: ["ChildProcess"], path: "Tests/TestSupport"),
        .testTarget(name: "BatonClientTests", dependencies: ["BatonClient", "TicketElection", "TicketWire"]),
        // libxml2 (Debian: libxml2-dev), found through pkg-config.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // The CIB: a typed model read from and written to Pacemaker's XML with libxml2.
        .target(name: "CIB", dependencies: ["CLibXML2"]),
        // Pure: CIB + status -> transition graph and crm_simulate's Transition Summary.
        .target(name: "Scheduler", dependencies: ["CIB"]),
        // Pure: random valid CIBs (configuration and status) from a seeded generator, for the
        // differential test against crm_simulate (`baton differential`). The Scheduler only for
        // Pacemaker's operation digests.
        .target(name: "CIBGenerator", dependencies: ["Scheduler", "SeededRandom"]),
        .testTarget(name: "CIBTests", dependencies: ["CIB"]),
        // The CIB's live surface (versions, digests, patchsets, persistence, sync chunks),
        // differential against crm_diff/cibadmin on generated CIBs.
        // Shell: the configuration on disk as Pacemaker keeps it (cib.xml + cib.xml.sig, backups).
        .target(name: "CIBFiles", dependencies: ["CIB"]),
        .testTarget(name: "CIBLiveTests", dependencies: ["CIB", "CIBFiles", "CIBGenerator", "SeededRandom", "TestSupport"]),
        .testTarget(name: "CIBGeneratorTests", dependencies: ["CIBGenerator", "CIB", "Scheduler", "DecoderFuzzing"]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "CIB"]),
        // The DC's side of a transition: the scheduler's graph carried out (pure).
        .target(name: "TransitionEngine", dependencies: ["CIB", "Scheduler"]),
        .testTarget(name: "TransitionEngineTests", dependencies: ["TransitionEngine", "Scheduler", "CIB", "SeededRandom", "TestSupport"]),
        // Pure: crm_mon -1's text (and JSON) from a CIB and the live daemon's facts.
        .target(name: "CRMStatusView", dependencies: ["CIB", "Scheduler", "AgentTools", "MonitoringText"]),
        // Pure: crm_attribute's edits on a CIB (an AttributeTable read from it, changes written back).
        .target(name: "CIBAttributes", dependencies: ["CIB", "AgentTools"]),
        // Pure: crm_resource's and crm_ticket's CIB edits (move/ban/clear, meta attributes,
        // ticket states) on a CIB document, as the stock tools make them on a CIB file.
        .target(name: "CIBResourceEdits", dependencies: ["CIB", "Scheduler", "AgentTools", "CRMStatusView"]),
        .testTarget(name: "CIBResourceEditsTests", dependencies: ["CIBResourceEdits", "CIB", "CIBGenerator", "DecoderFuzzing", "TestSupport"]),
        .testTarget(name: "CRMStatusViewTests", dependencies: ["CRMStatusView", "MonitoringText", "CIBAttributes", "CIB", "Scheduler", "CIBGenerator", "DecoderFuzzing", "AgentTools", "TestSupport"]),
        // Seeded mutation fuzzing of every decoder (frames, journal, config, CIB): a fixed
        // budget in the tests, long runs with `baton fuzz`.
        .target(name: "DecoderFuzzing",
                dependencies: ["TicketWire", "TicketElection", "TicketDaemon", "BatonConfig", "CIB", "Scheduler", "SeededRandom"],
                swiftSettings: optimizedEvenInDebug),
        // Pure: SplitMix64, the seeded generator of the test beds and the fuzzers (one copy).
        .target(name: "SeededRandom"),
        .testTarget(name: "SeededRandomTests", dependencies: ["SeededRandom"]),
        .testTarget(name: "DecoderFuzzingTests", dependencies: ["DecoderFuzzing", "TicketWire", "CIB"]),
        // Shell: the project's one child-process primitive (process group per child, timeout ->
        // SIGTERM -> SIGKILL of the group, bounded output, concurrency limit, one epoll thread
        // per runner instead of a thread per child). CChildProcess wraps the Linux calls.
        .target(name: "CChildProcess"),
        .target(name: "ChildProcess", dependencies: ["CChildProcess"]),
        // Lab: the primitive's property run (random children, then no process, fd or zombie
        // left), in a process of its own so that its descriptor count is its own.
        .executableTarget(
            name: "baton-child-soak", dependencies: ["ChildProcess", "CChildProcess", "GeoSimulation"],
            path: "Sources/ChildProcessSoak", swiftSettings: optimizedEvenInDebug),
        // Pure: the node-local executor's rules (queues per resource, recurring monitors,
        // cancels, start-delay, pacemaker-execd's environment and result mapping).
        .target(name: "Executor", dependencies: ["CIB", "Scheduler", .product(name: "HeapModule", package: "swift-collections")]),
        // Shell: runs the Executor core's directives with ChildProcess.
        .target(name: "ExecutorShell", dependencies: ["Executor", "ChildProcess", "AgentToolsShell", "ExecutablePath"]),
        .testTarget(name: "ExecutorTests", dependencies: ["Executor", "ExecutorShell", "ChildProcess", "TestSupport", "CIB", "Scheduler"]),
        .testTarget(name: "ChildProcessTests", dependencies: ["ChildProcess", "CChildProcess", "TestSupport"]),
        // Pure: crm_attribute, crm_master, attrd_updater and crm_node as agents call them, on a
        // node's attribute table. Shell: the table as a locked file; the tools' installation.
        .target(name: "AgentTools"),
        .target(name: "AgentToolsShell", dependencies: ["AgentTools", "LocalSocketClient"]),
        // One request to a daemon's unix socket, the whole answer back (Glibc only: the baton
        // front links it without Foundation).
        .target(name: "LocalSocketClient"),
        // One executable for the four tools, chosen by argv[0] (symbolic links on the agents' PATH).
        .executableTarget(
            name: "baton-agent-tools", dependencies: ["AgentTools", "AgentToolsShell"], path: "Sources/BatonAgentTools",
            linkerSettings: staticSwiftCoreOnly),
        .testTarget(
            name: "AgentToolsTests",
            dependencies: ["AgentTools", "AgentToolsShell", "Executor", "ExecutorShell", "ChildProcess", "TestSupport"]),
        // Pure: baton-crmd's node core (membership, quorum, DC, join, transient attributes, the
        // CIB write path through the DC) and its CPG message codec.
        .target(name: "CRMCore", dependencies: ["TicketWire", "ClusterIdentity", "CIB", "Executor", "Scheduler", "TransitionEngine"]),
        // Pure: baton-crmd's NodeCore on the simulation kernel (`baton crm simulate`).
        .target(name: "CRMSimulation", dependencies: ["CRMCore", "SimulationKernel"], swiftSettings: optimizedEvenInDebug),
        .testTarget(name: "CRMSimulationTests", dependencies: ["CRMSimulation", "CRMCore", "SimulationKernel"]),
        // Pure leaf: cluster identity (the Corosync node id) shared by the bindings and CRMCore.
        .target(name: "ClusterIdentity"),
        // Pure: the arbitrator's quorum-device decision (qnetd's ffsplit per cluster and ring) and
        // the node side's (what to cast to votequorum, and when).
        .target(name: "QuorumArbiter", dependencies: ["ClusterIdentity"], swiftSettings: optimizedEvenInDebug),
        // Pure: the quorum device's arbitrator and nodes on the simulation kernel, with a checker.
        .target(name: "QuorumSimulation", dependencies: ["QuorumArbiter", "SimulationKernel", "ClusterIdentity"], swiftSettings: optimizedEvenInDebug),
        .testTarget(name: "QuorumArbiterTests", dependencies: ["QuorumArbiter", "QuorumSimulation", "SimulationKernel", "ClusterIdentity"]),
        // Pure: the quorum device's frames between a node's device and the arbitrator (TLS).
        .target(name: "QuorumWire", dependencies: ["QuorumArbiter", "TicketWire", "ClusterIdentity"]),
        .testTarget(name: "QuorumWireTests", dependencies: [
            "QuorumWire", "QuorumArbiter", "QuorumDeviceShell", "TicketWire", "ClusterIdentity", "TLSTransport", "TestSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The quorum device's shells: the node's device (votequorum + TLS client) and the
        // arbitrator's listener (TLS server running QuorumArbiter).
        .target(
            name: "QuorumDeviceShell",
            dependencies: [
                "QuorumArbiter", "QuorumWire", "Corosync", "TLSTransport", "TicketWire", "ClusterIdentity", "ChildProcess",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // baton-qdevice: the node's quorum device daemon (`node`) and a standalone arbitrator
        // listener (`arbitrator`).
        .executableTarget(
            name: "baton-qdevice",
            dependencies: ["QuorumDeviceShell", "QuorumArbiter", "TLSTransport", "BatonVersion", "LocalSocketClient",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Sources/baton-qdevice",
            linkerSettings: staticSwiftRuntime
        ),
        .testTarget(name: "CRMCoreTests", dependencies: ["CRMCore", "TicketWire", "SeededRandom", "CIB"]),
        // baton-crmd: the node daemon, a thin shell running CRMCore over Corosync (one per node).
        .executableTarget(
            name: "baton-crmd",
            dependencies: ["CRMCore", "Corosync", "CIB", "CIBFiles", "ChildProcess", "Executor", "ExecutorShell", "AgentTools", "CIBAttributes", "BatonVersion",
                           "DaemonLogging", "CRMStatusView", "MonitoringText", "ProcessStats", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/baton-crmd",
            linkerSettings: staticSwiftRuntime
        ),
    ],
    swiftLanguageModes: [.v6]
)
