#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import TLSTransport
import TicketCore
import TicketElection
import TicketWire

/// The member mesh and the admin socket of batond.
///
/// Every member dials every other one and sends only on the connection it dialled; it reads
/// only on connections it accepted. A frame is accepted only when the TLS-verified certificate
/// name of the connection is the member the frame says it comes from.
extension TicketDaemon {
    func listen() async throws -> any Channel {
        let endpoint = plan.selfEndpoint
        let names = plan.endpoints.enumerated().filter { $0.offset != plan.membership.selfID.index }.map(\.element.name)
        let channel = try await TLSChannels.listen(
            host: endpoint.address, port: endpoint.port, acceptedPeerNames: names, context: tls,
            currentHandshakeTimeout: { self.handshakeTimeout }, handshakeGate: handshakeGate, backlog: ConnectionLimits.memberPortBacklogMax,
            group: networkGroup, logger: logger
        ) { channel in
            // The connection runs on the network loop; what it reports goes to the daemon's
            // loop in the order it happened (one producer thread, one FIFO queue).
            let handler = FrameHandler(
                logger: self.logger,
                onFrame: { frame, peer, channel in self.loop.execute { self.memberConnectionFrame(frame, peer: peer, channel: channel) } },
                onClose: { [channel] _ in self.loop.execute { self.memberConnectionClosed(channel) } },
                onRefusal: { _ in self.loop.execute { self.metrics.framesRefused += 1 } },
                onVerified: { [channel] peer in self.loop.execute { self.memberConnectionVerified(peer, channel: channel) } },
                onHandshake: { completed in self.loop.execute { self.acceptedConnectionKey(completed) } })
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        return channel
    }

    /// A frame on an accepted member connection. A connection that carries admin requests is
    /// a remote admin client's, closed once idle (`closeIdleRemoteAdminConnections`).
    func memberConnectionFrame(_ frame: Frame, peer: VerifiedPeer?, channel: any Channel) {
        confined()
        if case .request = frame { remoteAdminConnections[ObjectIdentifier(channel)] = (channel, SystemClock.now()) }
        inbound(frame, peer: peer, channel: channel)
    }

    /// A member finished its handshake with us. It may hold a few connections (its mesh
    /// connection, remote admin clients on its machine, one from before a restart that has not
    /// been seen to close); beyond `memberConnectionsPerMemberMax` its oldest is closed.
    func memberConnectionVerified(_ peer: VerifiedPeer, channel: any Channel) {
        confined()
        var connections = memberConnections[peer.name, default: []]
        connections.append(channel)
        while connections.count > ConnectionLimits.memberConnectionsPerMemberMax {
            let oldest = connections.removeFirst()
            metrics.memberConnectionsClosedByLimit += 1
            logger.notice("member holds too many connections; closing its oldest", metadata: [
                "peer.name": .string(peer.name), "connections.limit": .string("\(ConnectionLimits.memberConnectionsPerMemberMax)"),
            ])
            oldest.close(promise: nil)
        }
        memberConnections[peer.name] = connections
        peerReachedUs(peer)
    }

    func memberConnectionClosed(_ channel: any Channel) {
        confined()
        let key = ObjectIdentifier(channel)
        for (name, connections) in memberConnections where connections.contains(where: { ObjectIdentifier($0) == key }) {
            let remaining = connections.filter { ObjectIdentifier($0) != key }
            memberConnections[name] = remaining.isEmpty ? nil : remaining
        }
        remoteAdminConnections[key] = nil
        forgetRemoteClient(channel)
    }

    /// Closes remote admin connections with no request waiting that sent nothing for
    /// `remoteAdminIdleDurationMax` (`baton -s` closes its own after the answer; this is for
    /// the ones that do not).
    func closeIdleRemoteAdminConnections(now: LocalInstant) {
        confined()
        for (key, connection) in remoteAdminConnections where now.since(connection.lastFrame) >= ConnectionLimits.remoteAdminIdleDurationMax {
            if let token = remoteClients[key], core.isWaiting(client: DaemonCore.ClientToken(token)) { continue }
            remoteAdminConnections[key] = nil
            metrics.remoteAdminIdleClosed += 1
            logger.info("closing an idle remote admin connection", metadata: [
                "peer.address": .string(connection.channel.remoteAddress.map { "\($0)" } ?? "unknown"),
            ])
            connection.channel.close(promise: nil)
        }
    }

    /// Counts a local connection (admin socket or /metrics) against its limit; beyond it the
    /// connection is refused (closed by the bootstrap) and counted.
    func admitLocalConnection(_ channel: any Channel, metrics isMetrics: Bool) throws {
        confined()
        let open = isMetrics ? metricsConnections : adminSocketConnections
        let limit = isMetrics ? ConnectionLimits.metricsConnectionsMax : ConnectionLimits.adminSocketConnectionsMax
        guard open < limit else {
            if isMetrics { metrics.metricsConnectionsRefused += 1 } else { metrics.adminSocketConnectionsRefused += 1 }
            throw LocalConnectionRefused(limit: limit)
        }
        if isMetrics { metricsConnections += 1 } else { adminSocketConnections += 1 }
        channel.closeFuture.whenComplete { _ in
            self.loop.execute {
                if isMetrics { self.metricsConnections -= 1 } else { self.adminSocketConnections -= 1 }
            }
        }
    }

    func inbound(_ frame: Frame, peer: VerifiedPeer?, channel: any Channel) {
        confined()
        guard let peer, let index = plan.endpoints.firstIndex(where: { $0.name == peer.name }) else {
            refuse(channel, peer: peer, "frame before the peer was verified")
            return
        }
        if case .request(let request) = frame {
            // `baton -s THIS-MEMBER` run on another member's machine, with that member's
            // certificate (the certificate alone says who asks). Answered here when
            // `admin-from` allows that member; refused with the reason otherwise.
            let client = remoteClientToken(for: channel, member: peer.name)
            guard remoteAdministrators.contains(index) else {
                logger.warning("admin request from a member refused: admin-from does not allow it", metadata: [
                    "peer.name": .string(peer.name), "request.command": .string(String("\(request.command)".prefix(160))),
                ])
                answer(DaemonCore.ClientToken(client), ClientReply(id: request.id, body: .error(
                    "\(plan.selfEndpoint.name) refuses admin requests from \(peer.name): its admin-from setting does not allow that member")))
                return
            }
            clientFrame(frame, client: client, channel: channel)
            return
        }
        guard case .peer(let peerFrame) = frame else {
            refuse(channel, peer: peer, "a member sent a reply frame")
            return
        }
        guard peerFrame.from.index == index else {
            refuse(channel, peer: peer, "frame claims to come from member #\(peerFrame.from.index), the certificate says \(peer.name)")
            return
        }
        guard peerFrame.to == plan.membership.selfID else {
            refuse(channel, peer: peer, "frame addressed to member #\(peerFrame.to.index), not to this member")
            return
        }
        let now = SystemClock.now()
        lastHeard[index] = now
        metrics.framesReceived += 1
        metrics.messagesReceived += peerFrame.messages.count
        receive(peerFrame, now: now)
    }

    /// A member completed a verified handshake with us: it is up (it may just have restarted).
    /// If we have no connection to it, our connect loop may sit in a back-off of up to 5 s,
    /// during which nothing we say (votes, acknowledgements, state replies) reaches it: dial now.
    func peerReachedUs(_ peer: VerifiedPeer) {
        confined()
        guard let index = plan.endpoints.firstIndex(where: { $0.name == peer.name }), index != plan.membership.selfID.index else { return }
        if outgoing[index] == nil { dialNow.insert(index) }
    }

    func refuse(_ channel: any Channel, peer: VerifiedPeer?, _ reason: String) {
        metrics.framesRefused += 1
        logger.warning("refused frame; closing", metadata: [
            "peer.address": .string(peer?.description ?? channel.remoteAddress.map { "\($0)" } ?? "unknown"), "wire.reason": .string(reason),
        ])
        channel.close(promise: nil)
    }

    /// Dials one peer for as long as the daemon runs, with back-off from 100 ms up to 5 s.
    func connectLoop(to index: Int) async {
        var backoff = Duration.milliseconds(100)
        var lastError = ""
        while !Task.isCancelled {
            // Read at every attempt: a reload may have moved the peer to another address.
            guard let endpoint = try? await loop.submit({ self.endpoints[index] }).get() else { return }
            do {
                let connection = try await TLSChannels.connect(
                    host: endpoint.address, port: endpoint.port, expectedPeerName: endpoint.name, context: tls,
                    handshakeTimeout: handshakeTimeout, group: networkGroup, logger: logger
                ) { channel in
                    // Nothing is read on a dialled connection; bytes from the peer are refused.
                    try channel.pipeline.syncOperations.addHandler(
                        FrameHandler(
                            logger: self.logger,
                            onFrame: { _, peer, channel in
                                self.loop.execute { self.refuse(channel, peer: peer, "data on a dialled connection") }
                            },
                            onHandshake: { completed in self.loop.execute { self.dialledConnectionKey(completed, peer: index) } }))
                }
                backoff = .milliseconds(100)
                lastError = ""
                await peerUp(index, connection.channel)
                // Cancellation (shutdown) closes the connection: a bare wait on closeFuture
                // would never end, and the daemon's task group would wait for it forever.
                let channel = connection.channel
                await withTaskCancellationHandler {
                    try? await channel.closeFuture.get()
                } onCancel: {
                    channel.close(promise: nil)
                }
                await peerDown(index)
            } catch {
                let text = connectFailureDescription(error)
                if text != lastError {
                    logger.info("cannot reach peer; retrying", metadata: [
                        "peer.name": .string(endpoint.name), "peer.address": .string("\(endpoint.address):\(endpoint.port)"),
                        "peer.error": .string(text),
                    ])
                    lastError = text
                }
            }
            await backOff(backoff, peer: index)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    /// Sleeps `span` in steps of 100 ms, ending early when the peer reached us (`dialNow`).
    func backOff(_ span: Duration, peer index: Int) async {
        let end = ContinuousClock.now + span
        while ContinuousClock.now < end, !Task.isCancelled {
            let woken = (try? await loop.submit { self.dialNow.remove(index) != nil }.get()) ?? false
            if woken { return }
            try? await Task.sleep(for: min(.milliseconds(100), end - ContinuousClock.now))
        }
    }

    func peerUp(_ index: Int, _ channel: any Channel) async {
        try? await loop.submit {
            self.outgoing[index] = channel
            self.dialNow.remove(index)
            self.metrics.connectionsMade += 1
            self.logger.info("connected to peer", metadata: ["peer.name": .string(self.plan.endpoints[index].name)])
        }.get()
    }

    func peerDown(_ index: Int) async {
        try? await loop.submit {
            self.outgoing[index] = nil
            self.logger.info("peer connection closed", metadata: ["peer.name": .string(self.plan.endpoints[index].name)])
        }.get()
    }

    // MARK: - Admin socket

    func openAdminSocket() async throws -> any Channel {
        let directory = String(socketPath[..<(socketPath.lastIndex(of: "/") ?? socketPath.startIndex)])
        if !directory.isEmpty { mkdir(directory, 0o700) }
        let channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.admitLocalConnection(channel, metrics: false)
                    let client = self.registerClient(channel, asker: "local socket")
                    AdminAudit.localPeer(of: channel).whenSuccess { peer in
                        guard let peer else { return }
                        self.loop.execute { self.audit.connected(client, asker: "local socket, \(peer)") }
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        FrameHandler(
                            logger: self.logger,
                            onFrame: { frame, _, channel in self.clientFrame(frame, client: client, channel: channel) },
                            onClose: { _ in self.forgetClient(client) }))
                }
            }
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).get()
        // Root-only: the socket can grant and revoke tickets.
        chmod(socketPath, 0o600)
        return channel
    }

    func remoteClientToken(for channel: any Channel, member: String) -> UInt64 {
        confined()
        let key = ObjectIdentifier(channel)
        if let token = remoteClients[key] { return token }
        let token = registerClient(channel, asker: "member \(member) over TLS")
        remoteClients[key] = token
        return token
    }

    func forgetRemoteClient(_ channel: any Channel) {
        confined()
        if let token = remoteClients.removeValue(forKey: ObjectIdentifier(channel)) { forgetClient(token) }
    }

    func registerClient(_ channel: any Channel, asker: String) -> UInt64 {
        confined()
        nextClient += 1
        clients[nextClient] = channel
        audit.connected(nextClient, asker: asker)
        return nextClient
    }

    func forgetClient(_ client: UInt64) {
        confined()
        clients[client] = nil
        audit.disconnected(client)
        core.forget(client: DaemonCore.ClientToken(client))
    }

    func clientFrame(_ frame: Frame, client: UInt64, channel: any Channel) {
        confined()
        guard case .request(let request) = frame else {
            channel.close(promise: nil)
            return
        }
        metrics.clientRequests += 1
        if let (level, message, fields) = audit.request(request, client: client, queriesLogged: logger.logLevel <= .debug) {
            logger.log(level: level, message, metadata: fields)
        }
        let now = SystemClock.now()
        if request.command == .peers {
            answer(DaemonCore.ClientToken(client), ClientReply(id: request.id, body: .peers(peerSummaries(now: now))))
            return
        }
        execute(core.command(request, from: DaemonCore.ClientToken(client), now: now), now: now)
    }

    func answer(_ client: DaemonCore.ClientToken, _ reply: ClientReply) {
        confined()
        var reply = reply
        if case .status(var summary) = reply.body {
            // What booth's `status` prints of its daemon; the core knows none of it.
            let own = endpoints[plan.membership.selfID.index]
            summary.process = DaemonProcess(
                pid: UInt32(getpid()), lockFile: socketPath + ".lock", configurationName: plan.configurationName,
                address: own.address, port: UInt16(clamping: own.port))
            reply = ClientReply(id: reply.id, body: .status(summary))
        }
        if let (level, message, fields) = audit.answer(reply, client: client.value) {
            logger.log(level: level, message, metadata: fields)
            if metricsAddress != nil {
                remember("\(message): \(fields["admin.command"].map { "\($0)" } ?? "") by \(fields["admin.asker"].map { "\($0)" } ?? "?"): \(fields["admin.outcome"].map { "\($0)" } ?? "")")
            }
        }
        guard let channel = clients[client.value] else { return }
        // Never traps: a reply over the frame limit goes out as an error reply saying so.
        channel.writeAndFlush(channel.allocator.buffer(bytes: Frame.replyBytes(reply)), promise: nil)
    }

    func peerSummaries(now: LocalInstant) -> [PeerSummary] {
        plan.membership.others.map { id in
            let endpoint = endpoints[id.index]
            return PeerSummary(
                name: endpoint.name, site: endpoint.isSite, address: "\(endpoint.address):\(endpoint.port)",
                connected: outgoing[id.index] != nil, lastHeard: lastHeard[id.index].map { now.since($0) })
        }
    }
}

/// A local connection (admin socket or /metrics) beyond its limit; the bootstrap closes it.
struct LocalConnectionRefused: Error, CustomStringConvertible {
    let limit: Int
    var description: String { "more than \(limit) clients connected at once" }
}
