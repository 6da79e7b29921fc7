import ArgumentParser
import BatonVersion
import Dispatch
import Foundation
import LocalSocketClient
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
        subcommands: [Node.self, Arbitrator.self, Status.self, Metrics.self]
    )

    static let nodeSocket = "/run/baton/qdevice.sock"
    static let arbitratorSocket = "/run/baton/qdevice-arbitrator.sock"
}

/// Answers the status socket's requests from a status value.
func render<Status: Encodable & Sendable>(_ request: QuorumStatusSocket.Request, _ status: Status, text: (Status) -> String, metrics: (Status) -> String) -> String {
    switch request {
    case .status: return text(status)
    case .metrics: return metrics(status)
    case .statusJSON:
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(status) else { return "error: the status did not encode\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// One request to a status socket; the answer's text. Blocking (the command does nothing else).
func askStatusSocket(_ path: String, _ request: QuorumStatusSocket.Request) throws -> String {
    do {
        return try LocalSocketClient.request(request.rawValue, socket: path, timeoutSeconds: 10, answerBytesMax: 16 << 20)
    } catch where error.unreachable {
        throw ValidationError("Couldn't reach the quorum device at \(error.description) (is baton-qdevice running? root only)")
    } catch {
        throw ValidationError(error.description)
    }
}

/// The socket a client command asks: --socket, else the node's if it exists, else the arbitrator's.
func statusSocketPath(_ socket: String?, arbitrator: Bool) -> String {
    if let socket { return socket }
    if arbitrator { return QDeviceCommand.arbitratorSocket }
    return FileManager.default.fileExists(atPath: QDeviceCommand.nodeSocket) ? QDeviceCommand.nodeSocket : QDeviceCommand.arbitratorSocket
}

func printAnswer(_ answer: String) throws {
    if answer.hasPrefix("error:") {
        FileHandle.standardError.write(Data(answer.utf8))
        throw ExitCode(1)
    }
    print(answer, terminator: "")
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
        @Option(help: "The local status socket (root only).") var socket = QDeviceCommand.nodeSocket

        func run() async throws {
            let logger = bootstrapLogging(verbose: verbose)
            signal(SIGPIPE, SIG_IGN)
            let (configuration, clusterName, nodeID, nodes) = try await QuorumNodeDevice.readConfiguration()
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let device = try await QuorumNodeDevice.start(
                configuration: configuration, clusterName: clusterName, nodeID: nodeID, configuredNodes: nodes, group: group, logger: logger)
            let statusSocket = try await QuorumStatusSocket.open(path: socket, group: group, logger: logger) { request in
                device.status().map { render(request, $0, text: \.text, metrics: \.metrics) }
            }
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
            await statusSocket.close()
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
            abstract: "Serve the quorum device's decisions (ffsplit or lms, per site and ring) to the nodes of the sites named.",
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
        @Option(help: "The local status socket (root only).") var socket = QDeviceCommand.arbitratorSocket

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
            let statusSocket = try await QuorumStatusSocket.open(path: socket, group: group, logger: logger) { request in
                server.status().map { render(request, $0, text: \.text, metrics: \.metrics) }
            }
            let number = await terminationSignal()
            logger.notice("quorum device arbitrator: signal \(number), stopping")
            await statusSocket.close()
            await server.stop()
            try? await group.shutdownGracefully()
        }
    }
}

extension QDeviceCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the quorum device's state: on a node its ring, vote and arbitrator connection; on the arbitrator each site's partitions and votes.",
            discussion: """
                Asks the local status socket (root only): the node's (\(QDeviceCommand.nodeSocket)) when it exists, else the \
                arbitrator's (\(QDeviceCommand.arbitratorSocket)).
                """)

        @Option(help: "The status socket to ask.") var socket: String?
        @Flag(help: "Ask the arbitrator's socket.") var arbitrator = false
        @Option(help: "text or json.") var output = "text"

        func validate() throws {
            guard output == "text" || output == "json" else { throw ValidationError("--output \(output): expected text or json") }
        }

        func run() throws {
            try printAnswer(askStatusSocket(statusSocketPath(socket, arbitrator: arbitrator), output == "json" ? .statusJSON : .status))
        }
    }

    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the quorum device's metrics (Prometheus text, baton_qdevice_*), e.g. for node_exporter's textfile collector.")

        @Option(help: "The status socket to ask.") var socket: String?
        @Flag(help: "Ask the arbitrator's socket.") var arbitrator = false

        func run() throws {
            try printAnswer(askStatusSocket(statusSocketPath(socket, arbitrator: arbitrator), .metrics))
        }
    }
}
