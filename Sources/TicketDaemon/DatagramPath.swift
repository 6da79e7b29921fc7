#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import TLSTransport
import TicketElection
import TicketWire

/// Election frames as sealed UDP datagrams (`DatagramKey`), beside the TLS mesh.
///
/// Why: one TCP stream per peer delivers nothing behind a lost segment until TCP has
/// retransmitted it, with a timer that doubles at each loss. At 25 % loss a renewal waited
/// seconds behind such a stall, the election's own resends queued behind it, and leases ran
/// out (issue 10). Datagrams lose single messages, which the election already resends, and
/// never hold one message back behind another.
///
/// How: every TLS connection exports a secret. The member that dialled a connection seals
/// its frames to that peer under it and sends them to the peer's address and port (UDP); the
/// member that accepted it files the key under the member its certificate named, and opens
/// with it only datagrams whose frames say they come from that member. Keys outlive their
/// connection until newer ones push them out (`keysPerPeerMax`; a stalled or closed
/// stream does not stop datagrams), and each key has its replay window. Frames too large for
/// one datagram are split by messages; a single message too large for one goes over TCP, as
/// does everything when no key or no UDP socket is there (TCP alone then, no datagram
/// copy). Admin requests and replies stay on TCP.
///
/// A firewall may let TCP through and drop UDP (Baton spoke TCP alone before). So a frame goes
/// as a datagram alone only while a datagram from that peer arrived within the shortest
/// renewal period; otherwise it goes both ways (the election takes the duplicate in its stride),
/// and where UDP is blocked the TCP copy gets through as before.
///
/// Safety does not depend on this: the election holds under loss, duplication and reordering
/// of any message, and a frame leaves only after its batch was persisted, whichever way.
struct DatagramState {
    /// What this member seals with, per peer (the connection it dialled last).
    struct Sealer {
        let key: DatagramKey
        var sequence: UInt64 = 0
    }

    /// What this member opens with, per key id.
    struct Opener {
        let peer: Int
        let key: DatagramKey
        var window = ReplayWindow()
        let installed: UInt64
        /// When a datagram last opened under it (0: never).
        var used: UInt64 = 0
    }

    var channel: (any Channel)?
    var sealers: [Int: Sealer] = [:]
    var openers: [UInt64: Opener] = [:]
    /// Counts key installs and uses: orders keys by age and by last use.
    var keyEvents: UInt64 = 0
    /// When a valid datagram from each peer last arrived.
    var heardAt: [Int: LocalInstant] = [:]
    /// How lately a peer's datagram must have come for ours to go alone: the shortest renewal
    /// period of the tickets at start (a reload keeps it; it only decides on a TCP copy).
    var flowWindow: Duration = .seconds(5)
    /// Peers' keys kept at once. Every verified connection brings one, including a remote
    /// admin's (`baton -s` with a member's certificate), which never seals anything: the keys
    /// dropped first are those never used, oldest first, then the least lately used, so a burst
    /// of admin connections cannot push out the key the member's batond is sealing with.
    static let keysPerPeerMax = 4
    /// Sealing stops (and TCP carries on) long before a nonce could repeat.
    static let sequenceMax: UInt64 = 1 << 62
}

final class DatagramInboundHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let onDatagram: ([UInt8]) -> Void

    init(onDatagram: @escaping ([UInt8]) -> Void) {
        self.onDatagram = onDatagram
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        onDatagram(envelope.data.readBytes(length: envelope.data.readableBytes) ?? [])
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A UDP socket reports ICMP errors (port unreachable: the peer is down) here; they
        // concern one datagram, not the socket.
    }
}

extension TicketDaemon {
    /// Binds UDP on this member's address and port. Without it (the port is taken, say)
    /// batond runs on TCP alone, as before, and says so.
    func openDatagramSocket() async -> (any Channel)? {
        let endpoint = plan.selfEndpoint
        do {
            // No SO_REUSEADDR: on UDP it would let a second process share the port and take
            // datagrams meant for this one.
            let channel = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 2048))
                .channelOption(.maxMessagesPerRead, value: 32)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramInboundHandler { bytes in self.datagramReceived(bytes) })
                    }
                }
                .bind(host: endpoint.address, port: endpoint.port).get()
            let window = plan.policies.map(\.renewalFrequency).min() ?? .seconds(5)
            try await loop.submit {
                self.datagrams.channel = channel
                self.datagrams.flowWindow = window
            }.get()
            return channel
        } catch {
            logger.error("cannot bind UDP for election datagrams; peers' frames go over TCP only", metadata: [
                "listen.address": .string("\(endpoint.address):\(endpoint.port)"), "udp.error": .string("\(error)"),
            ])
            return nil
        }
    }

    /// Our dialled connection to `index` is verified: seal to it under this connection's key.
    func dialledConnectionKey(_ completed: TLSHandshakeCompleted, peer index: Int) {
        confined()
        guard let secret = completed.exportedSecret else { return }
        datagrams.sealers[index] = DatagramState.Sealer(key: DatagramKey(secret: secret))
    }

    /// A member dialled us and is verified: open its datagrams with this connection's key.
    func acceptedConnectionKey(_ completed: TLSHandshakeCompleted) {
        confined()
        guard let secret = completed.exportedSecret,
            let index = plan.endpoints.firstIndex(where: { $0.name == completed.peer.name }), index != plan.membership.selfID.index
        else { return }
        let key = DatagramKey(secret: secret)
        datagrams.keyEvents += 1
        datagrams.openers[key.id] = DatagramState.Opener(peer: index, key: key, installed: datagrams.keyEvents)
        let keys = datagrams.openers.filter { $0.value.peer == index }.sorted {
            ($0.value.used, $0.value.installed) < ($1.value.used, $1.value.installed)
        }
        for (id, _) in keys.dropLast(DatagramState.keysPerPeerMax) { datagrams.openers[id] = nil }
    }

    /// Whether datagrams from `index` arrived lately (so ours to it likely do too).
    func datagramsFlow(from index: Int, now: LocalInstant) -> Bool {
        guard let heard = datagrams.heardAt[index] else { return false }
        return now.since(heard) <= datagrams.flowWindow
    }

    /// Sends `frame` as sealed datagrams when it can; false when TCP must carry it (too, when
    /// no datagram came from that peer lately).
    func sendSealed(_ frame: PeerFrame) -> Bool {
        confined()
        guard let channel = datagrams.channel, var sealer = datagrams.sealers[frame.to.index],
            sealer.sequence < DatagramState.sequenceMax
        else { return false }
        let endpoint = endpoints[frame.to.index]
        guard let address = try? SocketAddress(ipAddress: endpoint.address, port: endpoint.port) else { return false }
        let bytes = Frame.peer(frame).encoded()
        guard bytes.count <= DatagramKey.plaintextBytesMax else {
            guard frame.messages.count > 1 else { return false }
            // Split by messages; each half goes its own way (datagrams, or TCP for a giant).
            let half = frame.messages.count / 2
            send(PeerFrame(from: frame.from, to: frame.to, messages: Array(frame.messages[..<half])))
            send(PeerFrame(from: frame.from, to: frame.to, messages: Array(frame.messages[half...])))
            return true
        }
        sealer.sequence += 1
        datagrams.sealers[frame.to.index] = sealer
        let datagram = sealer.key.seal(bytes, sequence: sealer.sequence)
        metrics.framesSent += 1
        metrics.datagramsSent += 1
        metrics.messagesSent += frame.messages.count
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: channel.allocator.buffer(bytes: datagram)), promise: nil)
        if datagramsFlow(from: frame.to.index, now: SystemClock.now()) { return true }
        metrics.datagramsAlsoOverTCP += 1
        return false
    }

    /// One datagram from anywhere: opened, checked against the replay window and the key's
    /// member, then handled as a frame from that member. Everything else is counted and dropped.
    func datagramReceived(_ bytes: [UInt8]) {
        confined()
        guard let id = DatagramKey.keyID(of: bytes), var opener = datagrams.openers[id], let (sequence, plaintext) = opener.key.open(bytes)
        else {
            metrics.datagramsRefused += 1
            return
        }
        guard opener.window.accept(sequence) else {
            metrics.datagramsReplayed += 1
            return
        }
        datagrams.keyEvents += 1
        opener.used = datagrams.keyEvents
        datagrams.openers[id] = opener
        let peerName = plan.endpoints[opener.peer].name
        guard case .peer(let frame)? = try? Frame.decode(plaintext) else {
            metrics.datagramsRefused += 1
            logger.warning("refused sealed datagram: not a peer frame", metadata: ["peer.name": .string(peerName)])
            return
        }
        guard frame.from.index == opener.peer, frame.to == plan.membership.selfID else {
            metrics.datagramsRefused += 1
            logger.warning("refused sealed datagram: frame from member #\(frame.from.index) to #\(frame.to.index) under \(peerName)'s key",
                           metadata: ["peer.name": .string(peerName)])
            return
        }
        let now = SystemClock.now()
        lastHeard[opener.peer] = now
        datagrams.heardAt[opener.peer] = now
        metrics.datagramsReceived += 1
        metrics.framesReceived += 1
        metrics.messagesReceived += frame.messages.count
        // The same entry as a frame over TCP: the election, then booth's `expires`.
        receive(frame, now: now)
    }
}
