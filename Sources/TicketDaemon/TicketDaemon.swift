#if canImport(Glibc)
import Glibc
#endif
import BatonVersion
import ChildProcess
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TLSTransport
import TicketCore
import TicketElection
import TicketWire
import DaemonLogging

/// batond: the shell around `DaemonCore`. Everything mutable lives on one NIO event loop
/// (booth's single loop, without its globals): peer connections, the admin socket, timers
/// and the core. Slow work (handlers, crm_ticket) runs on worker threads and reports back to
/// the loop. Per batch: the state file is written and fsynced first, then frames leave.
public final class TicketDaemon: @unchecked Sendable {
    // @unchecked Sendable: every stored `var` is read and written only on `loop` (each entry
    // point hops there and `confined()` asserts it); the `let`s are Sendable values.
    public let plan: DaemonPlan
    public let loop: any EventLoop
    let group: MultiThreadedEventLoopGroup
    /// Member connections (accepted and dialled) live on their own thread: TLS handshakes,
    /// which an unauthenticated client can make us start, cost CPU there and cannot delay the
    /// daemon loop's timers, journal writes and renewals. What those connections report is
    /// handed to `loop`, in order.
    let networkGroup: MultiThreadedEventLoopGroup
    /// Bounds the member port's connections that have not finished their handshake.
    let handshakeGate = HandshakeGate(limits: ConnectionLimits.handshakeLimits)
    /// `tls-handshake-timeout`, for every handshake (accepted and dialled), as last loaded:
    /// read on the network loop at each accept and dial, set by `reload` (SIGHUP).
    let handshakeTimeoutSetting: Mutex<Duration>
    var handshakeTimeout: Duration { handshakeTimeoutSetting.withLock { $0 } }
    let journal: StateJournal
    let backEnd: any SiteBackEnd
    let handlerRunner: HandlerRunner
    let tls: ReloadableTLSContext
    let logger: Logger
    let bootID: String
    let socketPath: String
    let metricsAddress: (host: String, port: Int)?
    let siteQuorumSource: SiteQuorumSource

    var core: DaemonCore
    var outgoing: [Int: any Channel] = [:]
    var lastHeard: [Int: LocalInstant] = [:]
    /// Peers that reached us while we had no connection to them: their connect loops dial
    /// again at once instead of finishing their back-off.
    var dialNow: Set<Int> = []
    var clients: [UInt64: any Channel] = [:]
    /// Verified connections members hold to us, per member name, oldest first (at most
    /// `ConnectionLimits.memberConnectionsPerMemberMax` each).
    var memberConnections: [String: [any Channel]] = [:]
    /// Member connections that carried admin requests, with when each last sent a frame.
    var remoteAdminConnections: [ObjectIdentifier: (channel: any Channel, lastFrame: LocalInstant)] = [:]
    var remoteAdminSweep: RepeatedTask?
    var adminSocketConnections = 0
    var metricsConnections = 0
    /// Member connections that carried admin requests (baton -s from another member's machine).
    var remoteClients: [ObjectIdentifier: UInt64] = [:]
    var nextClient: UInt64 = 0
    /// Who asked for what (admin commands logged with the asker and the outcome).
    var audit = AdminAudit()
    var scheduledTimer: Scheduled<Void>?
    var scheduledDeadline: LocalInstant?
    var metrics = DaemonMetrics()
    /// Keys and the UDP socket of the datagram path (DatagramPath.swift).
    var datagrams = DatagramState()
    var startedAt = LocalInstant.origin
    /// The site's quorum as last reported (nil: not followed, `--site-quorum none`).
    var siteQuorate: Bool?
    /// The status page's recent events (election events, admin commands), newest last.
    var recentEvents: [StatusPage.Event] = []
    var persistFailed = false
    /// Grants a failed write kept from the site, written after the next durable write.
    var withheldGrants = WithheldGrants()
    /// The merged batch of this event-loop turn (see `execute`).
    var pending = DaemonCore.Batch()
    var pendingPeers: [MemberID] = []
    var pendingMessages: [MemberID: [PeerMessage]] = [:]
    /// Per ticket index: where its state write sits in `pending.writes` (-1: none yet).
    var pendingWriteSlot: [Int] = []
    /// before-acquire-handler per ticket, as last loaded (SIGHUP changes it).
    var ticketHandlers: [String: String]
    /// Members' addresses, as last loaded: a reload may move a peer (names and roles stay).
    var endpoints: [DaemonPlan.Endpoint]
    /// Members whose admin requests are answered (`admin-from`, as last loaded).
    var remoteAdministrators: Set<Int>
    var flushScheduled = false
    /// Above this many events in one batch, events are logged at debug with one info summary.
    static let eventsLoggedEachMax = 8
    /// Tickets whose local CIB change is still being written, in order.
    var cibQueue: [String: [TicketChange]] = [:]
    /// booth's `expires` (wall-clock seconds) as last given to the back end, per ticket granted here.
    var expiresWritten: [String: Int] = [:]
    /// Peer frames handed to their channel and not yet written (the stop waits for them).
    var framesInFlight = 0
    /// Set by `keepTicketsOnStop` (SIGUSR1): the next stop leaves held tickets granted.
    public private(set) var keepsTickets = false
    /// Before-acquire handlers running at once (the rest wait their turn).
    static let handlerProcessesMax = 8
    /// The longest a stop waits for its handovers and local revokes.
    public static let stopDeadlineMax: Duration = .seconds(60)

    public init(
        plan: DaemonPlan, stateDirectory: String, socketPath: String, backEnd: any SiteBackEnd,
        metricsAddress: (host: String, port: Int)?, siteQuorum: SiteQuorumSource = .none, logger: Logger
    ) throws {
        self.siteQuorumSource = siteQuorum
        self.plan = plan
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.loop = group.next()
        self.networkGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.handshakeTimeoutSetting = Mutex(plan.transportSecurity.handshakeTimeout)
        self.journal = StateJournal(directory: stateDirectory)
        self.backEnd = backEnd
        let security = plan.transportSecurity
        self.tls = try ReloadableTLSContext(
            files: TLSFiles(
                certificateAuthorityFile: security.certificateAuthorityFile, certificateFile: security.certificateFile,
                privateKeyFile: security.privateKeyFile))
        let renewal = plan.policies.map(\.renewalFrequency).min() ?? .seconds(60)
        self.handlerRunner = HandlerRunner(
            configurationName: plan.configurationName, configurationPath: plan.configurationPath,
            localName: plan.selfEndpoint.name, timeout: min(renewal, .seconds(60)),
            runner: try ChildProcessRunner(concurrencyMax: Self.handlerProcessesMax))
        self.logger = logger
        self.bootID = SystemClock.bootID()
        self.socketPath = socketPath
        self.metricsAddress = metricsAddress
        self.core = DaemonCore(membership: plan.membership, policies: plan.policies)
        self.ticketHandlers = plan.handlers
        self.endpoints = plan.endpoints
        self.remoteAdministrators = plan.remoteAdministrators
    }

    func confined() {
        loop.preconditionInEventLoop()
    }

    // MARK: - Running

    /// Runs until `shutdown` yields; then closes everything and writes the state a last time.
    public func run(shutdown: AsyncStream<Void>) async throws {
        // A site on baton-crmd reads its tickets from the live CIB first (off the loop): a batond
        // started on another node of the site carries on from there (SiteTakeover).
        var cibTickets: [String: [String: String]] = [:]
        var cibQuorate = false
        if plan.membership.isSite, let crmd = backEnd as? CrmdBackEnd {
            switch crmd.ticketsInCIB() {
            case .success(let found):
                cibTickets = found
                cibQuorate = CrmdBackEnd.quorum(socket: crmd.socket).quorate
            case .failure(let error):
                logger.warning("cannot read the site's tickets from the CIB at start: starting from the state journal alone", metadata: ["error": .string(error.description)])
            }
        }
        try await loop.submit { [cibTickets, cibQuorate] in try self.startCore(cibTickets: cibTickets, cibQuorate: cibQuorate) }.get()
        let listener = try await listen()
        let datagramChannel = await openDatagramSocket()
        let admin = try await openAdminSocket()
        var metricsChannel: (any Channel)?
        if let address = metricsAddress {
            metricsChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.admitLocalConnection(channel, metrics: true)
                        try channel.pipeline.syncOperations.addHandler(
                            MetricsHTTPHandler(
                                requestDurationMax: ConnectionLimits.metricsRequestDurationMax, render: { self.metricsText() },
                                status: { self.statusPage().html }))
                    }
                }
                .bind(host: address.host, port: address.port).get()
            logger.info("metrics and status page served", metadata: [
                "metrics.address": .string("http://\(address.host):\(address.port)/metrics"),
                "status.address": .string("http://\(address.host):\(address.port)/status"),
            ])
        }
        logger.info(
            "batond running",
            metadata: [
                "member.name": .string(plan.selfEndpoint.name), "member.role": .string(plan.membership.isSite ? "site" : "arbitrator"),
                "listen.address": .string("\(plan.selfEndpoint.address):\(plan.selfEndpoint.port)"), "admin.socket": .string(socketPath),
                "site.back_end": .string(backEnd.description), "tickets": .string("\(plan.policies.count)"),
            ])
        await withTaskGroup(of: Void.self) { tasks in
            for peer in plan.membership.others {
                tasks.addTask { await self.connectLoop(to: peer.index) }
            }
            if siteQuorumSource == .corosync && plan.membership.isSite {
                tasks.addTask { await self.followCorosyncQuorum() }
            }
            if siteQuorumSource == .crmd && plan.membership.isSite, let crmd = backEnd as? CrmdBackEnd {
                tasks.addTask { await self.followCrmdQuorum(socket: crmd.socket) }
            }
            tasks.addTask {
                for await _ in shutdown { break }
            }
            // The first task to finish is the shutdown signal (connect loops run until cancelled).
            await tasks.next()
            // Hand over while the connections are still up: cancelling closes them.
            await handOverOnStop()
            tasks.cancelAll()
        }
        logger.info("batond stopping")
        try? await listener.close()
        try? await datagramChannel?.close()
        try? await admin.close()
        try? await metricsChannel?.close()
        try await loop.submit {
            for channel in self.outgoing.values { channel.close(promise: nil) }
            self.remoteAdminSweep?.cancel()
            self.scheduledTimer?.cancel()
            self.flush()
            let now = SystemClock.now()
            try? self.journal.compact(StateFile(bootID: self.bootID, bootClock: .nanoseconds(now.nanoseconds), tickets: self.core.stateFileTickets(now: now)))
        }.get()
        unlink(socketPath)
        try await networkGroup.shutdownGracefully()
        try await group.shutdownGracefully()
    }

    /// SIGUSR1: stop now and keep held tickets granted, for a restart in place (an upgrade)
    /// that resumes the lease from the state journal. The restart must come back within the
    /// lease; past it the restarted batond revokes (not held at startup) as after any restart.
    public func keepTicketsOnStop() {
        loop.execute {
            self.keepsTickets = true
            self.logger.notice("the next stop keeps held tickets granted (restart in place)")
        }
    }

    /// SIGTERM: a site must not stay granted past its own lease once batond is gone, which
    /// it would (file and crm_ticket back ends cannot end a grant by themselves) if it only
    /// exited. Every ticket led here is revoked here, then released with a handover to the next
    /// connected site (as `move`); with no site connected the revoke still happens. Bounded by
    /// the longest `timeout x retries` of the tickets (1 s to `stopDeadlineMax`).
    func handOverOnStop() async {
        let keep = (try? await loop.submit { self.keepsTickets }.get()) ?? false
        if keep {
            let held = (try? await loop.submit { self.core.grantedLocally }.get()) ?? []
            logger.notice("stopping for a restart in place: tickets stay granted", metadata: ["tickets.granted": .string(held.joined(separator: ","))])
            return
        }
        let budget = plan.policies.map { $0.timeout * $0.retries }.max() ?? .seconds(1)
        let deadline = ContinuousClock.now + min(TicketDaemon.stopDeadlineMax, max(.seconds(1), budget))
        let started = ContinuousClock.now
        let leading: [String]? = try? await loop.submit {
            let now = SystemClock.now()
            let names = self.core.ticketNames.filter { self.core.instance(named: $0)?.isLeader == true }
            let connected = Set(self.outgoing.keys.map { MemberID($0) })
            self.execute(self.core.stop(connected: connected, now: now), now: now)
            return names
        }.get()
        var done = false
        while !done && ContinuousClock.now < deadline {
            done = (try? await loop.submit {
                self.core.leadsNothing && !self.flushScheduled && self.framesInFlight == 0
                    && self.cibQueue.values.allSatisfy(\.isEmpty)
            }.get()) ?? true
            if !done { try? await Task.sleep(for: .milliseconds(5)) }
        }
        let granted = (try? await loop.submit { self.core.grantedLocally }.get()) ?? []
        let took = ContinuousClock.now - started
        if done {
            logger.notice("stop: tickets led here revoked here and handed over", metadata: [
                "tickets.released": .string((leading ?? []).joined(separator: ",")), "stop.duration": .string(took.shortDescription),
                "tickets.granted": .string(granted.joined(separator: ",")),
            ])
        } else {
            logger.critical("stop: handover or local revoke not finished before the stop deadline; the site may still hold what the tickets guard", metadata: [
                "tickets.released": .string((leading ?? []).joined(separator: ",")), "tickets.granted": .string(granted.joined(separator: ",")),
            ])
        }
    }

    func startCore(cibTickets: [String: [String: String]] = [:], cibQuorate: Bool = false) throws {
        confined()
        let now = SystemClock.now()
        startedAt = now
        let sweep = TimeAmount.seconds(1)
        remoteAdminSweep = loop.scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            self.closeIdleRemoteAdminConnections(now: SystemClock.now())
        }
        let loaded = journal.load(bootID: bootID, now: now)
        logger.info("\(loaded.note)")
        let decision = SiteTakeover.modes(
            loaded: loaded, cib: cibTickets, quorate: cibQuorate, policies: plan.policies, membership: plan.membership, selfName: plan.selfEndpoint.name,
            wallNow: Int64(SystemClock.wallClockSeconds()))
        for note in decision.notes { logger.notice("\(note)") }
        execute(core.start(decision.modes, now: now), now: now)
    }

    // MARK: - Batches

    /// Takes one input's batch. Batches of every input handled in one turn of the event loop
    /// are merged and carried out together at the end of the turn (`flush`): one journal
    /// record, fsynced, then at most one frame per peer — a group commit. Persist before send
    /// holds for the merged batch: no frame of any of them leaves before the write is durable.
    func execute(_ batch: DaemonCore.Batch, now: LocalInstant) {
        confined()
        // One write per ticket per turn, the newest state in the first one's place.
        if pendingWriteSlot.count != core.ticketNames.count { pendingWriteSlot = Array(repeating: -1, count: core.ticketNames.count) }
        for write in batch.writes {
            let slot = pendingWriteSlot[write.ticket]
            if slot >= 0 {
                pending.writes[slot] = write
            } else {
                pendingWriteSlot[write.ticket] = pending.writes.count
                pending.writes.append(write)
            }
        }
        for frame in batch.frames {
            if pendingMessages[frame.to] == nil { pendingPeers.append(frame.to) }
            pendingMessages[frame.to, default: []].append(contentsOf: frame.messages)
        }
        pending.cib.append(contentsOf: batch.cib)
        pending.handlers.append(contentsOf: batch.handlers)
        pending.replies.append(contentsOf: batch.replies)
        pending.events.append(contentsOf: batch.events)
        pending.warnings.append(contentsOf: batch.warnings)
        if !flushScheduled {
            flushScheduled = true
            loop.execute { self.flush() }
        }
    }

    /// Carries out the merged batch: persist, send, then the site back end, handlers, replies.
    func flush() {
        confined()
        flushScheduled = false
        let batch = pending
        let peers = pendingPeers
        var messages = pendingMessages
        pending = DaemonCore.Batch()
        pendingPeers = []
        pendingMessages = [:]
        for write in batch.writes { pendingWriteSlot[write.ticket] = -1 }
        let now = SystemClock.now()
        var frames: [PeerFrame] = []
        for peer in peers {
            let all = messages.removeValue(forKey: peer) ?? []
            var start = 0
            while start < all.count {
                let end = min(all.count, start + Frame.messagesPerFrameMax)
                frames.append(PeerFrame(from: plan.membership.selfID, to: peer, messages: Array(all[start..<end])))
                start = end
            }
        }
        // After a failed write nothing leaves until every ticket's state is written again: the
        // instances skip writes their last one covers (a follower's stretched promise), and
        // that last one may be the write that failed.
        let durable = persistFailed ? (frames.isEmpty && !batch.persist) || persist([], now: now) : !batch.persist || persist(batch.writes, now: now)
        if durable {
            for frame in frames { send(frame) }
        } else {
            // Nothing that depends on unwritten state may leave: drop this batch's frames and
            // let the protocol's resends carry on once the disk works again.
            metrics.framesDroppedUnpersisted += frames.count
        }
        for (ticket, action) in batch.cib {
            if !durable, case .grant = action {
                // A grant this site cannot make durable does not reach the CIB either; the
                // lease then runs out and the election revokes (revokes always go through),
                // or, if the leadership survives the failed writes, the grant is written after
                // the next durable write (WithheldGrants).
                logger.error("grant not written to the site: the state could not be written", metadata: ["ticket.name": .string(ticket)])
                withheldGrants.withhold(ticket)
                continue
            }
            if case .revoke = action { withheldGrants.forget(ticket) }
            applyLocally(ticket: ticket, action: action, now: now)
        }
        if durable && !withheldGrants.isEmpty {
            for (ticket, action) in withheldGrants.release(from: core, now: now) {
                logger.notice("grant written to the site after the state could be written again", metadata: ["ticket.name": .string(ticket)])
                applyLocally(ticket: ticket, action: action, now: now)
            }
        }
        backEnd.flush()
        for (ticket, purpose) in batch.handlers { runHandler(ticket: ticket, purpose: purpose, now: now) }
        // Events first: the log then reads in cause order ("became leader", then the grant's answer).
        logEvents(batch.events, now: now)
        for (client, reply) in batch.replies { answer(client, reply) }
        for warning in batch.warnings { logger.warning("\(warning)") }
        reschedule(now: now)
    }

    /// Election events: each one at info when a batch has few; with many (thousands of
    /// tickets granted at once) one info line of counts and the events themselves at debug.
    func logEvents(_ events: [(ticket: String, event: ElectionEvent)], now: LocalInstant) {
        confined()
        for (_, event) in events { metrics.count(event) }
        let level: Logger.Level = events.count <= TicketDaemon.eventsLoggedEachMax ? .info : .debug
        // Skip the loop (and its metadata) when the level is off: it runs for every renewal.
        if level >= logger.logLevel {
            for (ticket, event) in events {
                logger.log(level: level, "\(event.description(relativeTo: now))", metadata: ["ticket.name": .string(ticket)])
            }
        }
        if metricsAddress != nil {
            if events.count <= TicketDaemon.eventsLoggedEachMax {
                for (ticket, event) in events { remember("\(ticket): \(event.description(relativeTo: now))") }
            } else if !events.isEmpty {
                remember("\(events.count) ticket events at once")
            }
        }
        if events.count > TicketDaemon.eventsLoggedEachMax {
            var counts: [String: Int] = [:]
            for (_, event) in events { counts[String("\(event)".prefix { $0 != "(" && $0 != " " }), default: 0] += 1 }
            logger.info(
                "\(events.count) ticket events", metadata: ["events": .string(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))])
        }
    }

    /// Keeps `text` for the status page's recent events.
    func remember(_ text: String) {
        confined()
        recentEvents.append(StatusPage.Event(time: DaemonLogHandler.timestamp(), text: text))
        if recentEvents.count > StatusPage.eventsKept { recentEvents.removeFirst(recentEvents.count - StatusPage.eventsKept) }
    }

    /// The status page as this member sees things now.
    func statusPage() -> StatusPage {
        confined()
        let now = SystemClock.now()
        return StatusPage(
            member: plan.selfEndpoint.name, site: plan.membership.isSite, version: BatonVersion.version, uptime: now.since(startedAt),
            siteQuorate: siteQuorate, tickets: core.ticketNames.map { core.summary(of: $0, now: now) }, peers: peerSummaries(now: now),
            events: recentEvents)
    }

    /// Writes the changed tickets to the journal (or compacts it: every ticket, one record).
    @discardableResult
    func persist(_ writes: [DaemonCore.StateWrite], now: LocalInstant) -> Bool {
        confined()
        do {
            if journal.wantsCompaction || persistFailed {
                try journal.compact(StateFile(bootID: bootID, bootClock: .nanoseconds(now.nanoseconds), tickets: core.stateFileTickets(now: now)))
                metrics.stateCompactions += 1
            } else {
                // Each state as its instance gave it, aged to this write's clock reading.
                let names = core.ticketNames
                try journal.append(encoded: StateFile.encode(
                    bootID: bootID, bootClock: .nanoseconds(now.nanoseconds),
                    tickets: writes.lazy.map { (names[$0.ticket], $0.state.aged(by: now.since($0.at))) }))
            }
            metrics.stateWrites += 1
            if persistFailed {
                persistFailed = false
                logger.notice("state file writable again", metadata: ["state.path": .string(journal.path)])
            }
            return true
        } catch {
            if !persistFailed { logger.critical("cannot write the state file: votes and acknowledgements are held back", metadata: ["state.error": .string("\(error)")]) }
            persistFailed = true
            return false
        }
    }

    func send(_ frame: PeerFrame) {
        confined()
        if sendSealed(frame) { return }
        guard let channel = outgoing[frame.to.index] else {
            metrics.framesDroppedDisconnected += 1
            return
        }
        let bytes = Frame.peer(frame).encoded()
        metrics.framesSent += 1
        metrics.messagesSent += frame.messages.count
        framesInFlight += 1
        let written = loop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in self.framesInFlight -= 1 }
        channel.writeAndFlush(channel.allocator.buffer(bytes: bytes), promise: written)
    }

    func reschedule(now: LocalInstant) {
        confined()
        guard let deadline = core.nextWakeUp else {
            scheduledTimer?.cancel()
            scheduledTimer = nil
            scheduledDeadline = nil
            return
        }
        if let scheduledDeadline, scheduledDeadline == deadline, scheduledTimer != nil { return }
        scheduledTimer?.cancel()
        scheduledDeadline = deadline
        let delay = max(Int64(0), deadline.nanoseconds - now.nanoseconds)
        scheduledTimer = loop.scheduleTask(in: .nanoseconds(delay)) { [self] in
            scheduledTimer = nil
            scheduledDeadline = nil
            let now = SystemClock.now()
            execute(core.timer(now: now), now: now)
        }
    }

    // MARK: - Site back end and handlers

    /// A peer frame: the election takes it, then booth's `expires` follows the leases it renewed.
    func receive(_ frame: PeerFrame, now: LocalInstant) {
        confined()
        execute(core.receive(frame, now: now), now: now)
        var renewed: [String] = []
        for message in frame.messages {
            if case .heartbeatAcknowledged = message.body, expiresWritten[message.ticket] != nil { renewed.append(message.ticket) }
        }
        if !renewed.isEmpty { refreshExpires(renewed, now: now) }
    }

    /// booth rewrites `expires` at every renewal; it was written only at the grant, so the CIB
    /// said the lease had ended while the ticket was validly held. When acknowledgements
    /// extend the lease of a ticket granted here (with no grant or revoke of it being written),
    /// a lease end that moved by a second or more goes to the back end: the file back end writes
    /// them all in the turn's one rewrite, crm_ticket coalesces them per ticket with at most
    /// two processes at a time. Acknowledgements after the majority's leave the lease as it is.
    func refreshExpires(_ tickets: [String], now: LocalInstant) {
        confined()
        var wallNow: Int?
        for name in tickets {
            guard let written = expiresWritten[name], cibQueue[name]?.isEmpty ?? true,
                let instance = core.instance(named: name), instance.isLeader, instance.grantedLocally,
                let remaining = instance.status(now: now).leaseRemaining
            else { continue }
            let wall = wallNow ?? SystemClock.wallClockSeconds()
            wallNow = wall
            let expires = wall + Int(remaining.nanoseconds / 1_000_000_000)
            guard abs(expires - written) >= 1 else { continue }
            expiresWritten[name] = expires
            metrics.expiresRefreshes += 1
            backEnd.refreshLease(ticket: name, expires: expires, stopByMilliseconds: Self.stopBy(remaining: remaining, stopBefore: instance.policy.stopBefore))
        }
    }

    /// The wall-clock millisecond by which the site must have stopped what a ticket guards: the
    /// lease end (`remaining` from now) less `stop-before`.
    static func stopBy(remaining: Duration, stopBefore: Duration) -> Int64 {
        SystemClock.wallClockMilliseconds() + (remaining - stopBefore).nanoseconds / 1_000_000
    }

    func applyLocally(ticket: String, action: DaemonCore.CIBAction, now: LocalInstant) {
        confined()
        let wallNow = SystemClock.wallClockSeconds()
        let change: TicketChange
        switch action {
        case .grant(let term, let remaining):
            let stopBefore = core.instance(named: ticket)?.policy.stopBefore ?? .zero
            change = TicketChange(
                kind: .grant, owner: plan.selfEndpoint.name, term: term,
                expires: remaining.map { wallNow + Int($0.nanoseconds / 1_000_000_000) },
                stopByMilliseconds: remaining.map { Self.stopBy(remaining: $0, stopBefore: stopBefore) })
            expiresWritten[ticket] = change.expires
            metrics.grantsApplied += 1
        case .revoke(let reason):
            expiresWritten[ticket] = nil
            change = TicketChange(kind: .revoke(reason), owner: plan.selfEndpoint.name, term: core.instance(named: ticket)?.term ?? 0, expires: nil)
            metrics.revokesApplied += 1
        case .standby(let on):
            change = TicketChange(kind: .standby(on), owner: plan.selfEndpoint.name, term: core.instance(named: ticket)?.term ?? 0, expires: nil)
        }
        logger.debug("site back end: \(change.kind)", metadata: ["ticket.name": .string(ticket), "ticket.term": .string("\(change.term)")])
        // One write at a time per ticket, in order: a revoke never overtakes a grant.
        cibQueue[ticket, default: []].append(change)
        if cibQueue[ticket]!.count == 1 { startNextChange(ticket) }
    }

    func startNextChange(_ ticket: String) {
        confined()
        guard let change = cibQueue[ticket]?.first else { return }
        backEnd.apply(ticket: ticket, change: change) { result in
            self.loop.execute {
                self.cibQueue[ticket]?.removeFirst()
                if case .failure(let error) = result {
                    self.metrics.backEndFailures += 1
                    self.logger.error("site back end failed", metadata: ["ticket.name": .string(ticket), "back_end.error": .string("\(error)")])
                }
                if case .revoke = change.kind {
                    let now = SystemClock.now()
                    let confirmed = if case .success = result { true } else { false }
                    self.execute(self.core.localRevokeCompleted(ticket: ticket, confirmed: confirmed, now: now), now: now)
                }
                if self.cibQueue[ticket]?.isEmpty == false {
                    self.startNextChange(ticket)
                    self.backEnd.flush()
                }
            }
        }
    }

    func runHandler(ticket: String, purpose: HandlerPurpose, now: LocalInstant) {
        confined()
        guard let path = ticketHandlers[ticket] else {
            execute(core.handlerFinished(ticket: ticket, purpose: purpose, succeeded: true, now: now), now: now)
            return
        }
        metrics.handlerRuns += 1
        let expires = core.summary(of: ticket, now: now).leaseRemaining.map { SystemClock.wallClockSeconds() + Int($0.nanoseconds / 1_000_000_000) }
        handlerRunner.run(handler: path, ticket: ticket, expires: expires) { succeeded, detail in
            self.loop.execute {
                if !succeeded { self.metrics.handlerFailures += 1 }
                self.logger.log(level: succeeded ? .info : .warning, "before-acquire-handler \(succeeded ? "succeeded" : "failed")",
                                metadata: ["ticket.name": .string(ticket), "handler.detail": .string(detail)])
                let now = SystemClock.now()
                self.execute(self.core.handlerFinished(ticket: ticket, purpose: purpose, succeeded: succeeded, now: now), now: now)
            }
        }
    }

    /// The site's resource manager reports quorum (from Corosync, in a later step).
    public func siteQuorumChanged(_ quorate: Bool) {
        loop.execute {
            let now = SystemClock.now()
            self.siteQuorate = quorate
            self.execute(self.core.siteQuorum(quorate, now: now), now: now)
        }
    }

    /// SIGHUP: the configuration file is read again. A file that no longer loads changes
    /// nothing. Certificate, key and CA (paths and files) and `tls-handshake-timeout` apply to
    /// new connections. Tickets
    /// apply at once (`DaemonCore.reconfigure`): new ones start, removed ones are revoked here
    /// and forgotten, changed ones restart from their state (a lease held here is kept);
    /// handlers change with them. A peer's new address applies too (its connection is dialled
    /// again there). Members' names and roles are what majorities are counted over, and the
    /// port and this member's own address are what it listens on: a change to them is reported
    /// and waits for a restart, and then nothing of the new file but the certificates applies.
    public func reload(_ reloaded: Result<DaemonPlan, any Error>) {
        let plan: DaemonPlan
        switch reloaded {
        case .failure(let error):
            logger.error("reload: the configuration does not load; nothing changed", metadata: ["config.error": .string("\(error)")])
            return
        case .success(let newPlan):
            plan = newPlan
        }
        let security = plan.transportSecurity
        do {
            try tls.reload(files: TLSFiles(
                certificateAuthorityFile: security.certificateAuthorityFile, certificateFile: security.certificateFile,
                privateKeyFile: security.privateKeyFile))
            logger.notice("reload: certificates re-read for new connections", metadata: ["tls.certificate": .string(security.certificateFile)])
        } catch {
            logger.error("reload: certificates cannot be loaded; keeping the old ones", metadata: ["tls.error": .string("\(error)")])
        }
        let previousTimeout = handshakeTimeoutSetting.withLock { setting in
            let previous = setting
            setting = security.handshakeTimeout
            return previous
        }
        if previousTimeout != security.handshakeTimeout {
            logger.notice("reload: tls-handshake-timeout applied to new connections", metadata: [
                "tls.handshake_timeout": .string("\(security.handshakeTimeout)"), "tls.handshake_timeout.previous": .string("\(previousTimeout)"),
            ])
        }
        let selfIndex = self.plan.membership.selfID.index
        let sameMembers = plan.membership == self.plan.membership && plan.endpoints.count == self.plan.endpoints.count
            && zip(plan.endpoints, self.plan.endpoints).allSatisfy { $0.name == $1.name && $0.isSite == $1.isSite && $0.port == $1.port }
            && plan.endpoints[selfIndex] == self.plan.endpoints[selfIndex]
        guard sameMembers else {
            logger.warning("reload: the members changed (names, roles, the port or this member's own address); the new configuration takes effect at the next restart (tickets and members kept as they run)")
            return
        }
        loop.execute {
            if self.remoteAdministrators != plan.remoteAdministrators {
                self.remoteAdministrators = plan.remoteAdministrators
                self.logger.notice("reload: admin-from applied", metadata: [
                    "admin.from": .string(plan.remoteAdministrators.sorted().map { plan.endpoints[$0].name }.joined(separator: ",")),
                ])
            }
            self.applyPeerAddresses(plan.endpoints)
            self.applyTickets(plan)
        }
    }

    /// Peers moved to another address: their connections are closed and dialled again there.
    func applyPeerAddresses(_ new: [DaemonPlan.Endpoint]) {
        confined()
        for (index, endpoint) in new.enumerated() where endpoint != endpoints[index] {
            logger.notice("reload: peer address changed", metadata: [
                "peer.name": .string(endpoint.name), "peer.address": .string("\(endpoint.address):\(endpoint.port)"),
                "peer.address.previous": .string("\(endpoints[index].address):\(endpoints[index].port)"),
            ])
            endpoints[index] = endpoint
            outgoing[index]?.close(promise: nil)
            dialNow.insert(index)
        }
    }

    func applyTickets(_ plan: DaemonPlan) {
        confined()
        // Batches waiting for this turn's flush name tickets by their current index.
        if flushScheduled { flush() }
        let now = SystemClock.now()
        let (batch, report) = core.reconfigure(plan.policies, now: now)
        ticketHandlers = plan.handlers
        pendingWriteSlot = Array(repeating: -1, count: core.ticketNames.count)
        if report.isEmpty {
            logger.info("reload: tickets unchanged")
        } else {
            logger.notice(
                "reload: tickets applied",
                metadata: [
                    "tickets.added": .string(report.added.joined(separator: ",")), "tickets.removed": .string(report.removed.joined(separator: ",")),
                    "tickets.changed": .string(report.changed.joined(separator: ",")), "tickets": .string("\(core.ticketNames.count)"),
                ])
        }
        execute(batch, now: now)
    }
}
