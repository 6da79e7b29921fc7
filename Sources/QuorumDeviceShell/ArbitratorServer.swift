import ClusterIdentity
import Logging
import NIOCore
import NIOPosix
import QuorumArbiter
import QuorumWire
import TLSTransport

/// The arbitrator's side of the quorum device: a TLS listener on its own port serving
/// `QuorumArbiter` to the nodes of every site that names this arbitrator as its device.
///
/// A cluster is the name a node sends in its first frame together with the name its
/// certificate proves (one of `acceptedPeerNames`): two sites called "site-a" of two geo
/// clusters, with certificates naming different identities, never mix. The first frame on a
/// connection must be a registration; a bad frame, any other first frame or an arbitrator's
/// frame from a node closes the connection. The core and every connection run on one event
/// loop (`loop`): inputs reach the core in the order they happened, and its directives go out
/// in the order it gave them.
public final class QuorumArbitratorServer: Sendable {
    /// One cluster's current decision, for the log, the admin view and the tests.
    public struct Decision: Sendable, Hashable {
        public let cluster: ClusterKey
        public let quoratePartition: [NodeID]
        public init(cluster: ClusterKey, quoratePartition: [NodeID]) {
            self.cluster = cluster
            self.quoratePartition = quoratePartition
        }
    }

    final class State {
        var core: QuorumArbiter
        var channels: [ConnectionID: any Channel] = [:]
        /// Verified certificate name per connection (set at the handshake).
        var peers: [ConnectionID: String] = [:]
        /// Connections the core knows (their first frame was a registration).
        var known: Set<ConnectionID> = []
        var nextConnection: UInt64 = 1
        var decisions: [ClusterKey: [NodeID]] = [:]
        var ticker: RepeatedTask?
        var votesSent = (ack: 0, nack: 0)

        init(core: QuorumArbiter) { self.core = core }
    }

    public let loop: any EventLoop
    let state: NIOLoopBoundBox<State>
    let logger: Logger
    let listener: any Channel

    public var port: Int { listener.localAddress?.port ?? 0 }

    private init(loop: any EventLoop, state: NIOLoopBoundBox<State>, logger: Logger, listener: any Channel) {
        self.loop = loop
        self.state = state
        self.logger = logger
        self.listener = listener
    }

    /// Listens on `host:port` (0: a free port, see `port`). `group` should have one thread:
    /// every connection then shares the core's loop.
    public static func start(
        host: String, port: Int, acceptedPeerNames: [String], tls: ReloadableTLSContext, group: any EventLoopGroup,
        settings: QuorumArbiter.Settings = QuorumArbiter.Settings(), tickInterval: Duration = .milliseconds(200), logger: Logger
    ) async throws -> QuorumArbitratorServer {
        let loop = group.next()
        let state = try await loop.submit {
            NIOLoopBoundBox(State(core: QuorumArbiter(settings: settings, startedAt: quorumNow())), eventLoop: loop)
        }.get()
        let accepting = NIOLoopBoundBox<QuorumArbitratorServer?>.makeEmptyBox(eventLoop: loop)
        let listener = try await TLSChannels.listen(
            host: host, port: port, acceptedPeerNames: acceptedPeerNames, context: tls, handshakeTimeout: .seconds(10),
            handshakeGate: HandshakeGate(limits: HandshakeLimits(inProgressMax: 256, inProgressPerSourceMax: 16)),
            group: loop, logger: logger
        ) { channel in
            guard let server = accepting.value else { throw ChannelError.ioOnClosedChannel }  // not started yet
            try server.accepted(channel)
        }
        let server = QuorumArbitratorServer(loop: loop, state: state, logger: logger, listener: listener)
        try await loop.submit {
            accepting.value = server
            state.value.ticker = loop.scheduleRepeatedTask(initialDelay: timeAmount(tickInterval), delay: timeAmount(tickInterval)) { _ in
                server.feed(.tick(at: quorumNow()))
            }
        }.get()
        logger.notice("quorum device arbitrator listening", metadata: ["address": .string("\(host):\(server.port)")])
        return server
    }

    /// Every cluster's current winning partition (empty: no partition holds the vote).
    public func decisions() async throws -> [Decision] {
        try await loop.submit { [state] in
            state.value.decisions.sorted { $0.key < $1.key }.map { Decision(cluster: $0.key, quoratePartition: $0.value) }
        }.get()
    }

    /// The admin view (`baton-qdevice status`, `metrics`).
    public func status() -> EventLoopFuture<ArbitratorStatus> {
        loop.submit { [state] in
            ArbitratorStatus(arbiter: state.value.core, now: quorumNow(), votesSent: state.value.votesSent)
        }
    }

    public func stop() async {
        try? await loop.submit { [state] in
            state.value.ticker?.cancel()
            for channel in state.value.channels.values { channel.close(promise: nil) }
        }.get()
        try? await listener.close()
    }

    /// On the loop: a new connection (before its handshake).
    func accepted(_ channel: any Channel) throws {
        loop.preconditionInEventLoop()
        let id = ConnectionID(state.value.nextConnection)
        state.value.nextConnection += 1
        state.value.channels[id] = channel
        let handler = QuorumFrameHandler(
            logger: logger,
            onVerified: { [self] peer in state.value.peers[id] = peer.name },
            onFrame: { [self] frame in received(frame, on: id) },
            onClose: { [self] in closed(id) })
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    func received(_ frame: QuorumFrame, on id: ConnectionID) {
        let now = quorumNow()
        switch frame {
        case .register(let clusterName, let registration) where !state.value.known.contains(id):
            guard let identity = state.value.peers[id] else { return close(id, "a frame before the TLS handshake") }
            state.value.known.insert(id)
            feed(.connected(id, ClusterKey(clusterName: clusterName, certificateIdentity: identity), at: now))
            feed(.message(id, .register(registration), at: now))
        case .register(_, let registration):
            feed(.message(id, .register(registration), at: now))  // the core refuses it (registered twice)
        case .device(let message) where state.value.known.contains(id):
            feed(.message(id, message, at: now))
        case .device:
            close(id, "a message before the registration")
        case .arbiter:
            close(id, "an arbitrator's message from a node")
        }
    }

    func closed(_ id: ConnectionID) {
        state.value.channels[id] = nil
        state.value.peers[id] = nil
        if state.value.known.remove(id) != nil { feed(.closed(id)) }
    }

    func close(_ id: ConnectionID, _ reason: String) {
        logger.notice("quorum device: closing a connection", metadata: ["connection": .string("\(id.rawValue)"), "reason": .string(reason)])
        // Closed after this input's directives: its channelInactive comes back as `closed`.
        if let channel = state.value.channels[id] { loop.execute { channel.close(promise: nil) } }
    }

    /// On the loop: one input to the core, its directives carried out in order.
    func feed(_ input: QuorumArbiter.Input) {
        loop.preconditionInEventLoop()
        for directive in state.value.core.handle(input) {
            switch directive {
            case .send(let id, let message):
                if case .voteInfo(_, _, let vote) = message {
                    if vote == .ack { state.value.votesSent.ack += 1 } else { state.value.votesSent.nack += 1 }
                }
                state.value.channels[id]?.send(.arbiter(message))
            case .close(let id, let reason):
                close(id, reason)
            case .decided(let cluster, let partition):
                if state.value.decisions[cluster] != partition {
                    logger.notice("quorum device: decided", metadata: [
                        "cluster": .string(cluster.description),
                        "partition": .string(partition.isEmpty ? "none" : partition.map(\.description).joined(separator: ",")),
                    ])
                }
                state.value.decisions[cluster] = partition
                if state.value.core.clusters[cluster] == nil { state.value.decisions[cluster] = nil }
            }
        }
    }
}
