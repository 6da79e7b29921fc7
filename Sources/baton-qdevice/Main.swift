import ArgumentParser
import BatonVersion
import Dispatch
import Foundation
import Logging
import NIOPosix
import QuorumArbiter
import QuorumDeviceShell
import TLSTransport

@main
struct QDeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton-qdevice",
        abstract: "Baton's quorum device: the node's daemon (votequorum's device, model 'baton') and the arbitrator's listener.",
        discussion: """
            On every node of a site with an even number of nodes: `baton-qdevice node` (its settings are corosync.conf's \
            quorum { device { model: baton … } }). On the arbitrator: `baton-qdevice arbitrator`, beside batond.
            """,
        version: BatonVersion.version,
        subcommands: [Node.self, Arbitrator.self]
    )
}

/// Log lines to stderr (journald adds the time under systemd).
func bootstrapLogging(verbose: Bool) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = verbose ? .debug : .info
        return handler
    }
    return Logger(label: "baton-qdevice")
}

/// Ends when SIGTERM or SIGINT comes; returns its number.
func terminationSignal() async -> Int32 {
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    let queue = DispatchQueue(label: "baton.qdevice.signals")
    let (signals, continuation) = AsyncStream.makeStream(of: Int32.self, bufferingPolicy: .bufferingNewest(1))
    let sources = [SIGTERM, SIGINT].map { number in
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler { continuation.yield(number) }
        source.resume()
        return source
    }
    var received = SIGTERM
    for await number in signals {
        received = number
        break
    }
    withExtendedLifetime(sources) {}
    return received
}

extension QDeviceCommand {
    struct Node: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register with votequorum as this node's quorum device and cast what the arbitrator decides.",
            discussion: """
                Reads corosync.conf's quorum.device.* from cmap. Exits 1 when corosync goes away (systemd restarts it), \
                0 on SIGTERM after unregistering.
                """)

        @Flag(help: "Log more.") var verbose = false

        func run() async throws {
            let logger = bootstrapLogging(verbose: verbose)
            signal(SIGPIPE, SIG_IGN)
            let (configuration, clusterName, nodeID, nodes) = try await QuorumNodeDevice.readConfiguration()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let device = try await QuorumNodeDevice.start(
                configuration: configuration, clusterName: clusterName, nodeID: nodeID, configuredNodes: nodes, group: group, logger: logger)
            let ended: String? = await withTaskGroup(of: String?.self) { tasks in
                tasks.addTask {
                    do {
                        try await device.run()
                        return "votequorum's notifications ended"
                    } catch {
                        return "votequorum: \(error)"
                    }
                }
                tasks.addTask {
                    _ = await terminationSignal()
                    return nil
                }
                let first = await tasks.next().flatMap { $0 }
                tasks.cancelAll()
                return first
            }
            await device.stop()
            try? await group.shutdownGracefully()
            if let ended {
                logger.error("quorum device: \(ended); exiting for a restart")
                throw ExitCode(1)
            }
            logger.notice("quorum device: stopped (unregistered)")
        }
    }

    struct Arbitrator: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the quorum device's decisions (ffsplit per site and ring) to the nodes of the sites named.",
            discussion: """
                Each site's nodes carry a certificate naming the site's identity (one of --accept); the cluster is \
                that identity together with corosync's cluster name, so sites never mix.
                """)

        @Option(help: "Address to listen on.") var host = "0.0.0.0"
        @Option(help: "Port to listen on.") var port = DeviceConfiguration.defaultPort
        @Option(help: "The CA file.") var caFile = "/etc/baton/tls/ca.pem"
        @Option(help: "This arbitrator's certificate.") var certFile = "/etc/baton/tls/member.pem"
        @Option(help: "Its private key.") var keyFile = "/etc/baton/tls/member.key"
        @Option(help: "A certificate name whose nodes are served (repeatable: one per site).") var accept: [String] = []
        @Flag(help: "Log more.") var verbose = false

        func validate() throws {
            guard !accept.isEmpty else { throw ValidationError("--accept NAME: at least one site's certificate name") }
            guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        }

        func run() async throws {
            let logger = bootstrapLogging(verbose: verbose)
            signal(SIGPIPE, SIG_IGN)
            let tls = try ReloadableTLSContext(files: TLSFiles(certificateAuthorityFile: caFile, certificateFile: certFile, privateKeyFile: keyFile))
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let server = try await QuorumArbitratorServer.start(host: host, port: port, acceptedPeerNames: accept, tls: tls, group: group, logger: logger)
            let number = await terminationSignal()
            logger.notice("quorum device arbitrator: signal \(number), stopping")
            await server.stop()
            try? await group.shutdownGracefully()
        }
    }
}
