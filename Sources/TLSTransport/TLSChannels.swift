import Logging
import NIOCore
import NIOPosix

/// A client connection whose TLS handshake has finished and whose peer is verified.
public struct TLSConnection: Sendable {
    public let channel: any Channel
    public let peer: VerifiedPeer
}

/// Plain TCP from SwiftNIO with `TLSHandler` first in every pipeline: the way members dial
/// and accept each other.
public enum TLSChannels {
    /// Dials `host:port`, completes the handshake, and verifies the server's certificate names
    /// `expectedPeerName`. `configure` runs on the channel's event loop and adds the handlers
    /// that come after TLS (they see plaintext).
    public static func connect(
        host: String, port: Int, expectedPeerName: String, context: ReloadableTLSContext,
        handshakeTimeout: Duration, group: any EventLoopGroup, logger: Logger,
        configure: @escaping @Sendable (any Channel) throws -> Void = { _ in }
    ) async throws -> TLSConnection {
        let eventLoop = group.next()
        let handshake = eventLoop.makePromise(of: VerifiedPeer.self)
        let tlsContext = context.context
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeAmount(handshakeTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = TLSHandler(
                        role: .client, context: tlsContext, peerNamePolicy: .exactly(expectedPeerName),
                        handshakeTimeout: handshakeTimeout, logger: logger, handshakePromise: handshake)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try configure(channel)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            // The caller says it once per change of reason (a peer down is retried for as long
            // as it stays down).
            logger.debug("TCP connection failed", metadata: [
                "peer.address": .string("\(host):\(port)"), "tls.reason": .string(connectFailureDescription(error)),
            ])
            // If the handler was never added, nobody else completes the promise.
            handshake.fail(error)
            throw error
        }
        do {
            let peer = try await handshake.futureResult.get()
            return TLSConnection(channel: channel, peer: peer)
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Listens on `host:port` (0: any free port; the bound one is `channel.localAddress`).
    /// Every accepted connection must complete the handshake within `handshakeTimeout` with
    /// a certificate naming one of `acceptedPeerNames`; refused ones are logged and closed,
    /// the listener keeps serving. `configure` adds the handlers after TLS for each connection
    /// (they receive `TLSHandshakeCompleted` as a user event before any data).
    /// `backlog`: connections the kernel queues before they are accepted (queued ones hold no
    /// descriptor of ours; when the queue is full, a client's SYN is dropped and retried 1 s,
    /// 3 s, 7 s later). With a `handshakeGate`, connections beyond its limits are closed before any TLS work
    /// (see `HandshakeAdmission`); the gate's slot is freed when the handshake completes or
    /// the connection closes.
    public static func listen(
        host: String, port: Int, acceptedPeerNames: [String], context: ReloadableTLSContext,
        handshakeTimeout: Duration, handshakeGate: HandshakeGate? = nil, backlog: Int = 64, group: any EventLoopGroup, logger: Logger,
        configure: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        try await listen(
            host: host, port: port, acceptedPeerNames: acceptedPeerNames, context: context, currentHandshakeTimeout: { handshakeTimeout },
            handshakeGate: handshakeGate, backlog: backlog, group: group, logger: logger, configure: configure)
    }

    /// `listen`, with the handshake timeout read at each accept (a reload changes it for the
    /// connections accepted after it, as it changes the certificates).
    public static func listen(
        host: String, port: Int, acceptedPeerNames: [String], context: ReloadableTLSContext,
        currentHandshakeTimeout: @escaping @Sendable () -> Duration, handshakeGate: HandshakeGate? = nil, backlog: Int = 64,
        group: any EventLoopGroup, logger: Logger, configure: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        precondition(!acceptedPeerNames.isEmpty, "a listener accepts at least one member name")
        precondition(backlog >= 1, "listen backlog \(backlog)")
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: Int32(clamping: backlog))
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var slot: UInt64?
                    if let handshakeGate {
                        let source = channel.remoteAddress?.ipAddress ?? "unknown"
                        let (admitted, report) = handshakeGate.admit(channel, source: source, now: .now())
                        if let report {
                            // Not one line per connection: a flood would fill the log.
                            logger.notice("TLS handshake limits reached: closing connections", metadata: [
                                "peer.address": .string(source), "handshakes.in_progress": .string("\(report.inProgress)"),
                                "handshakes.refused_per_source": .string("\(report.refusedPerSource)"),
                                "handshakes.evicted": .string("\(report.evicted)"),
                            ])
                        }
                        guard let id = admitted else { throw HandshakeRefusedByLimit(source: source) }
                        slot = id
                        channel.closeFuture.whenComplete { _ in handshakeGate.ended(id) }
                    }
                    // Each connection takes the context and the timeout current at accept time
                    // (reloads apply to new connections).
                    let handler = TLSHandler(
                        role: .server, context: context.context, peerNamePolicy: .anyOf(acceptedPeerNames),
                        handshakeTimeout: currentHandshakeTimeout(), logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    if let handshakeGate, let slot {
                        try channel.pipeline.syncOperations.addHandler(HandshakeSlotHandler(gate: handshakeGate, id: slot))
                    }
                    try configure(channel)
                }
            }
        return try await bootstrap.bind(host: host, port: port).get()
    }
}

/// An accepted connection closed before TLS: its source had its share of handshakes in progress.
public struct HandshakeRefusedByLimit: Error, Sendable, CustomStringConvertible {
    public let source: String
    public var description: String { "\(source): too many TLS handshakes in progress from this address" }
}

/// A failed connect in an admin's words ("Connection refused", "connect timed out",
/// "no address for HOST"), instead of NIO's type dumps
/// (`SingleConnectionFailure(target: [IPv4]…, error: connection reset (error set): …)`).
public func connectFailureDescription(_ error: any Error) -> String {
    if let failure = error as? NIOConnectionError {
        let causes = failure.connectionErrors.map { connectFailureDescription($0.error) }
        if !causes.isEmpty { return Array(Set(causes)).sorted().joined(separator: "; ") }
        if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "no address for \(failure.host)" }
        return "cannot connect"
    }
    if let failure = error as? IOError { return String(cString: strerror(failure.errnoCode)) }
    if let failure = error as? ChannelError, case .connectTimeout(let timeout) = failure {
        return "connect timed out after \(timeout.nanoseconds / 1_000_000) ms"
    }
    return "\(error)"
}
