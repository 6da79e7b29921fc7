import ClusterIdentity
import Foundation
import Logging
import NIOCore
import NIOPosix
import QuorumArbiter
import QuorumDeviceShell
import QuorumWire
import Synchronization
import TLSTransport
import TestSupport
import Testing

/// The arbitrator's listener on loopback with real TLS: two sites with the same cluster name
/// and node ids but different certificate identities get their own decisions; garbage and a
/// flood close only the connection that sent them.
@Suite(.serialized) struct ArbitratorServerTests {
    static let packageRoot = BuildPaths.packageRoot

    final class Client: Sendable {
        let channel: any Channel
        private let frames = Mutex<[QuorumFrame]>([])
        private let isClosed = Mutex(false)

        init(channel: any Channel) { self.channel = channel }

        static func connect(port: Int, pki: String, name: String, group: any EventLoopGroup) async throws -> Client {
            let tls = try ReloadableTLSContext(files: TLSFiles(certificateAuthorityFile: "\(pki)/ca.pem", certificateFile: "\(pki)/\(name).pem",
                                                               privateKeyFile: "\(pki)/\(name).key"))
            let holder = Mutex<Client?>(nil)
            let connection = try await TLSChannels.connect(
                host: "127.0.0.1", port: port, expectedPeerName: "arbitrator", context: tls, handshakeTimeout: Patience.deadline,
                group: group, logger: Logger(label: "test")
            ) { channel in
                let client = Client(channel: channel)
                holder.withLock { $0 = client }
                try channel.pipeline.syncOperations.addHandler(Collector(client: client))
            }
            return holder.withLock { $0 }!.checked(connection.channel)
        }

        func checked(_ channel: any Channel) -> Client {
            precondition(channel === self.channel)
            return self
        }

        func send(_ frame: QuorumFrame) { channel.writeAndFlush(ByteBuffer(bytes: frame.encoded()), promise: nil) }
        func sendRaw(_ bytes: [UInt8]) { channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil) }
        func received(_ frame: QuorumFrame) { frames.withLock { $0.append(frame) } }
        func closed() { isClosed.withLock { $0 = true } }
        var closedYet: Bool { isClosed.withLock { $0 } }
        var all: [QuorumFrame] { frames.withLock { $0 } }

        /// The last vote received for `ring`, once one is there.
        func vote(for ring: RingID) async throws -> Vote {
            try await ArbitratorServerTests.poll("a vote for ring \(ring)") {
                all.compactMap { frame -> Vote? in
                    if case .arbiter(.voteInfo(_, let votedRing, let vote)) = frame, votedRing == ring { return vote }
                    return nil
                }.last
            }
        }

        /// Answers vote infos (the arbitrator sends its ACKs once every NACK is answered) and heartbeats.
        func answerVoteInfos() {
            for frame in all {
                if case .arbiter(.voteInfo(let sequence, _, _)) = frame { send(.device(.voteInfoReply(sequence: sequence))) }
            }
        }
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let client: Client
        let stream = Mutex(QuorumFrameStream())
        init(client: Client) { self.client = client }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            let frames = (try? stream.withLock { try $0.append(bytes) }) ?? []
            for frame in frames { client.received(frame) }
        }
        func channelInactive(context: ChannelHandlerContext) {
            client.closed()
            context.fireChannelInactive()
        }
    }

    static func poll<T>(_ what: String, _ probe: () throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now + Patience.deadline
        while true {
            if let value = try probe() { return value }
            if ContinuousClock.now > deadline { throw TestFailure("no \(what) within \(Patience.deadline)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func poll<T>(_ what: String, _ probe: () throws -> T?) async throws -> T { try await Self.poll(what, probe) }

    static let nodes = [NodeID(1), NodeID(2)]
    static func registration(_ node: UInt32) -> QuorumFrame {
        .register(clusterName: "dc", DeviceRegistration(nodeID: NodeID(node), configuredNodes: nodes, heartbeatInterval: .seconds(1)))
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func sitesWithTheSameNamesNeverMixAndGarbageClosesOnlyItsConnection() async throws {
        let pki = "/tmp/baton-qwire-\(getpid())-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: pki) }
        let made = try await TestChild.run([Self.packageRoot.appendingPathComponent("scripts/make-test-pki").path, pki, "arbitrator", "site-a", "site-b", "site-c"])
        #expect(made.status == 0, "\(made.output)")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let tls = try ReloadableTLSContext(files: TLSFiles(certificateAuthorityFile: "\(pki)/ca.pem", certificateFile: "\(pki)/arbitrator.pem",
                                                           privateKeyFile: "\(pki)/arbitrator.key"))
        let server = try await QuorumArbitratorServer.start(
            host: "127.0.0.1", port: 0, acceptedPeerNames: ["site-a", "site-b"], tls: tls, group: group,
            settings: QuorumArbiter.Settings(restartHold: .zero), logger: Logger(label: "arbitrator"))
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await scenario(server: server, pki: pki, group: clientGroup)
        } catch {
            await server.stop()
            try? await clientGroup.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw error
        }
        await server.stop()
        try await clientGroup.shutdownGracefully()
        try await group.shutdownGracefully()
    }

    func scenario(server: QuorumArbitratorServer, pki: String, group: any EventLoopGroup) async throws {
        let port = server.port
        // site-a: nodes 1 and 2 split apart (each alone in its own ring).
        let a1 = try await Client.connect(port: port, pki: pki, name: "site-a", group: group)
        let a2 = try await Client.connect(port: port, pki: pki, name: "site-a", group: group)
        // site-b: the same cluster name and node ids; only node 2 is up.
        let b2 = try await Client.connect(port: port, pki: pki, name: "site-b", group: group)
        let clients = [a1, a2, b2]
        a1.send(Self.registration(1))
        a2.send(Self.registration(2))
        b2.send(Self.registration(2))
        for client in clients { _ = try await poll("registered") { client.all.contains(.arbiter(.registered)) ? true : nil } }
        // Heartbeats (only after the registration: anything before it closes the connection) and answers.
        let heartbeats = Task {
            while !Task.isCancelled {
                for client in clients where !client.closedYet {
                    client.send(.device(.heartbeat))
                    client.answerVoteInfos()
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        defer { heartbeats.cancel() }
        let ringA1 = RingID(nodeID: NodeID(1), sequence: 8)
        let ringA2 = RingID(nodeID: NodeID(2), sequence: 8)
        let ringB = RingID(nodeID: NodeID(2), sequence: 4)
        a1.send(.device(.membership(MembershipReport(ring: ringA1, members: [NodeID(1)]))))
        a2.send(.device(.membership(MembershipReport(ring: ringA2, members: [NodeID(2)]))))
        b2.send(.device(.membership(MembershipReport(ring: ringB, members: [NodeID(2)]))))
        // site-a: a 50:50 split, tie-breaker lowest: node 1. site-b: node 2 is the only connected node.
        _ = try await poll("site-a node 1's ACK") { a1.all.contains { if case .arbiter(.voteInfo(_, ringA1, .ack)) = $0 { true } else { false } } ? true : nil }
        #expect(try await a2.vote(for: ringA2) == .nack)
        _ = try await poll("site-b node 2's ACK") { b2.all.contains { if case .arbiter(.voteInfo(_, ringB, .ack)) = $0 { true } else { false } } ? true : nil }
        let decisions = try await server.decisions()
        #expect(decisions.contains(.init(cluster: ClusterKey(clusterName: "dc", certificateIdentity: "site-a"), quoratePartition: [NodeID(1)])))
        #expect(decisions.contains(.init(cluster: ClusterKey(clusterName: "dc", certificateIdentity: "site-b"), quoratePartition: [NodeID(2)])))
        #expect(!a2.closedYet, "site-b's node 2 must not replace site-a's node 2")

        // Garbage on a fresh connection closes it; a flood of 1 MB too; the others are served on.
        let garbage = try await Client.connect(port: port, pki: pki, name: "site-a", group: group)
        garbage.sendRaw(Array("GET / HTTP/1.0\r\n\r\n".utf8))
        _ = try await poll("the garbage connection closed") { garbage.closedYet ? true : nil }
        let flood = try await Client.connect(port: port, pki: pki, name: "site-b", group: group)
        flood.send(Self.registration(1))
        flood.sendRaw([UInt8](repeating: 0xAB, count: 1 << 20))
        _ = try await poll("the flooding connection closed") { flood.closedYet ? true : nil }
        // A node message before any registration closes too.
        let early = try await Client.connect(port: port, pki: pki, name: "site-b", group: group)
        early.send(.device(.membership(MembershipReport(ring: ringB, members: [NodeID(1)]))))
        _ = try await poll("the unregistered connection closed") { early.closedYet ? true : nil }
        // A certificate the arbitrator does not serve is refused at the handshake.
        // (TLS 1.3: the client may finish its side before the server has checked its certificate.)
        if let stranger = try? await Client.connect(port: port, pki: pki, name: "site-c", group: group) {
            stranger.send(.register(clusterName: "dc", DeviceRegistration(nodeID: NodeID(1), configuredNodes: Self.nodes, heartbeatInterval: .seconds(1))))
            _ = try await poll("the site-c connection closed") { stranger.closedYet ? true : nil }
            #expect(!stranger.all.contains(.arbiter(.registered)))
        }
        for client in clients { #expect(!client.closedYet) }
        // Still served: site-a heals (both in one ring): both get the vote.
        let healed = RingID(nodeID: NodeID(1), sequence: 12)
        a1.send(.device(.membership(MembershipReport(ring: healed, members: Self.nodes))))
        a2.send(.device(.membership(MembershipReport(ring: healed, members: Self.nodes))))
        _ = try await poll("site-a healed: node 2's ACK") { a2.all.contains { if case .arbiter(.voteInfo(_, healed, .ack)) = $0 { true } else { false } } ? true : nil }
        _ = try await poll("site-a healed: node 1's ACK") { a1.all.contains { if case .arbiter(.voteInfo(_, healed, .ack)) = $0 { true } else { false } } ? true : nil }
    }
}
