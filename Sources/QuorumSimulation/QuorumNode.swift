import ClusterIdentity
import QuorumArbiter
import SimulationKernel

/// A member of a quorum-device simulation: a site node (its `QuorumDevice` and a model of
/// its votequorum) or the arbitrator (`QuorumArbiter`), each behind the simulated stream.
public struct QuorumNode: SimulatedNode {
    public typealias Message = Wire
    public typealias Disk = Never

    public enum Input: Sendable {
        case tick
        /// votequorum's new ring (the world's membership, delivered to this node).
        case ringChanged(RingID, members: [NodeID])
        /// With heuristics off: the device's result changes. With heuristics on or sync: what
        /// the node's commands would do from now on (pass: exit 0, fail: exit 1, undefined: hang
        /// until killed at the timeout); the next run finds it.
        case heuristicsChanged(HeuristicsResult)
        /// One heuristics command ended (the simulated child).
        case heuristicsFinished(DeviceHeuristics.RunID, command: String, passed: Bool)
        /// The heuristics core's wake-up (its own: the device's ticks stay one chain).
        case heuristicsTick
    }

    public enum Observation: Sendable {
        /// The arbitrator sent an ACK; `agreeing` says whether every connected client of the
        /// recipient's ring reported that ring (the arbitrator's own knowledge).
        case ackSent(ClusterKey, NodeID, RingID, agreeing: Bool)
        case decided(ClusterKey, [NodeID])
        /// A site node polled votequorum.
        case polled(castVote: Bool, RingID)
    }

    public enum Role: Sendable {
        case site(SiteHost)
        case arbitrator(ArbitratorHost)
    }

    public var role: Role
    public var disk: Never? { nil }

    public init(role: Role) { self.role = role }

    public mutating func handle(_ event: NodeEvent<Wire, Input>, context: inout NodeContext<QuorumNode>) {
        switch role {
        case .site(var host):
            host.handle(event, context: &context)
            role = .site(host)
        case .arbitrator(var host):
            host.handle(event, context: &context)
            role = .arbitrator(host)
        }
    }

    public var site: SiteHost? { if case .site(let host) = role { host } else { nil } }
    public var arbitrator: ArbitratorHost? { if case .arbitrator(let host) = role { host } else { nil } }
}

/// A site node: the device core, its stream to the arbitrator, and votequorum's view of the
/// device's vote (what the checker reads).
///
/// votequorum's sync is modelled as corosync 3.1 runs it: a new ring starts a sync that ends
/// when the device polls for that ring or after sync_timeout. Until then the node's quorum is
/// the one it had (the old ring, its members, the device's vote as it counted at the
/// change: votequorum re-arms the device's timer to sync_timeout and recalculates nothing).
public struct SiteHost: Sendable {
    public let cluster: ClusterKey
    public let arbitratorIndex: NodeIndex
    public private(set) var device: QuorumDevice
    /// The heuristics core (mode off: it runs nothing) and what the commands would do.
    public private(set) var heuristics: DeviceHeuristics
    public private(set) var heuristicsEnvironment: HeuristicsResult = .pass
    /// The earliest heuristics wake-up scheduled and not yet come (one at a time, as the shell's).
    var heuristicsWakeUp: Int64?
    /// votequorum's current (activated) ring at this node.
    public private(set) var quorumRing: RingID?
    public private(set) var quorumMembers: [NodeID] = []
    /// The last `votequorum_qdevice_poll` votequorum took: the vote, its ring, the local instant.
    public private(set) var lastPoll: (castVote: Bool, ring: RingID, at: Int64)?
    /// A sync in progress: the new ring, its members, its end at the latest, and whether the
    /// device's vote counted when it began (it counts so until the sync ends).
    public private(set) var sync: (ring: RingID, members: [NodeID], until: Int64, counted: Bool)?
    var connectionNumber: UInt64 = 0
    var outboundSequence: UInt64 = 0
    var inbound = InboundStream<ArbiterMessage>()
    /// The stream being opened or open (nil: none).
    var stream: ConnectionID?
    var streamAccepted = false
    let connectionBase: UInt64

    public init(cluster: ClusterKey, registration: DeviceRegistration, settings: QuorumDevice.Settings, heuristics: HeuristicsResult,
                heuristicsSettings: HeuristicsSettings = HeuristicsSettings(), heuristicsEnvironment: HeuristicsResult = .pass, arbitratorIndex: NodeIndex, index: NodeIndex, boot: Boot, now: Int64) {
        precondition(settings.heuristicsEnabled == (heuristicsSettings.mode != .off), "the device holds reports for heuristics exactly when they run")
        self.heuristics = DeviceHeuristics(settings: heuristicsSettings)
        self.heuristicsEnvironment = heuristicsEnvironment
        self.cluster = cluster
        self.arbitratorIndex = arbitratorIndex
        device = QuorumDevice(registration: registration, settings: settings, heuristics: heuristics, now: QuorumInstant(nanoseconds: now))
        // Unique over the run: node index, boot number, then a counter.
        connectionBase = (UInt64(index) << 48) | (UInt64(boot.number) << 32)
    }

    /// Whether votequorum counts the device's vote at local instant `now`: during a sync, as
    /// it did when the sync began; a sync that ran out (sync_timeout, no poll) counts none;
    /// else the last poll cast yes, for the current ring, less than the device timeout ago.
    public func countsVote(localNow now: Int64) -> Bool {
        if let sync { return now < sync.until && sync.counted }
        guard let lastPoll, lastPoll.castVote, lastPoll.ring == quorumRing else { return false }
        return now - lastPoll.at < device.settings.timeout.nanosecondsValue
    }

    /// The ring votequorum's quorum at `now` is for: the old one during a sync, the new one
    /// once it ran out.
    public func activeRing(localNow now: Int64) -> RingID? {
        if let sync, now >= sync.until { return sync.ring }
        return quorumRing
    }

    /// The members votequorum's quorum at `now` counts.
    public func activeMembers(localNow now: Int64) -> [NodeID] {
        if let sync, now >= sync.until { return sync.members }
        return quorumMembers
    }

    mutating func handle(_ event: NodeEvent<Wire, QuorumNode.Input>, context: inout NodeContext<QuorumNode>) {
        let now = QuorumInstant(nanoseconds: context.now)
        switch event {
        case .start:
            run(.tick, now: now, context: &context)
        case .input(.tick):
            run(.tick, now: now, context: &context)
        case .input(.heuristicsTick):
            if let due = heuristicsWakeUp, context.now >= due { heuristicsWakeUp = nil }
            runHeuristics(.tick, now: now, context: &context)
        case .input(.heuristicsFinished(let id, let command, let passed)):
            runHeuristics(.finished(id, command: command, passed: passed), now: now, context: &context)
        case .input(.ringChanged(let ring, let members)):
            endSyncIfRunOut(now: context.now)
            if quorumRing == nil {
                quorumRing = ring  // the first ring: nothing to hold
                quorumMembers = members
            } else {
                let counted = sync?.counted ?? countsVote(localNow: context.now)
                sync = (ring, members, context.now + device.settings.syncTimeout.nanosecondsValue, counted)
            }
            run(.ringChanged(ring, members: members), now: now, context: &context)
        case .input(.heuristicsChanged(let result)):
            if heuristics.enabled {
                heuristicsEnvironment = result
            } else {
                run(.heuristicsChanged(result), now: now, context: &context)
            }
        case .message(_, .toNode(let connection, let sequence, let segment)):
            guard connection == stream else { return }  // an old stream's late segment
            if case .reset = segment {  // out of band, as a TCP RST
                stream = nil
                run(.connectionClosed(connection), now: now, context: &context)
                return
            }
            guard let ready = inbound.receive(segment, sequence: sequence) else {
                closeStream(context: &context)
                run(.connectionClosed(connection), now: now, context: &context)
                return
            }
            for segment in ready where stream == connection {
                switch segment {
                case .accepted:
                    streamAccepted = true
                    run(.connectionOpened(connection), now: now, context: &context)
                case .data(let message):
                    run(.message(connection, message), now: now, context: &context)
                case .close, .reset:
                    stream = nil
                    run(.connectionClosed(connection), now: now, context: &context)
                case .open:
                    preconditionFailure("the arbitrator does not open streams")
                }
            }
        case .message(_, .toArbiter), .groupMessage, .view:
            break
        }
    }

    mutating func run(_ input: QuorumDevice.Input, now: QuorumInstant, context: inout NodeContext<QuorumNode>) {
        let wasConnected = device.isConnected
        defer {
            // As the node's shell: heuristics on every ring and every new connection.
            if case .ringChanged = input { runHeuristics(.ringChanged, now: now, context: &context) }
            if device.isConnected != wasConnected { runHeuristics(device.isConnected ? .connected : .disconnected, now: now, context: &context) }
        }
        for directive in device.handle(input, now: now) {
            switch directive {
            case .open:
                if stream != nil { closeStream(context: &context) }
                connectionNumber += 1
                let connection = ConnectionID(connectionBase | connectionNumber)
                stream = connection
                streamAccepted = false
                outboundSequence = 0
                inbound = InboundStream()
                send(.open(cluster), context: &context)
            case .send(let connection, let message):
                guard connection == stream else { continue }
                send(.data(message), context: &context)
            case .close(let connection):
                if connection == stream { closeStream(context: &context) }
            case .poll(let castVote, let ring):
                endSyncIfRunOut(now: context.now)
                if let sync, sync.ring == ring {  // the poll for the new ring ends the sync
                    quorumRing = sync.ring
                    quorumMembers = sync.members
                    self.sync = nil
                }
                // votequorum refuses a poll for another ring than its latest.
                if ring == quorumRing && sync == nil { lastPoll = (castVote, ring, context.now) }
                context.observe(.polled(castVote: castVote, ring))
                context.trace("\(cluster) node \(device.registration.nodeID) polls \(castVote ? "YES" : "no") for ring \(ring)")
            case .wakeUp(let at):
                context.wakeUp(at: at.nanoseconds, .tick)
            }
        }
    }

    /// The heuristics core's directives: each command "runs" 10-2000 ms (or hangs, until the
    /// timeout, when the environment is undefined); results go to the device.
    mutating func runHeuristics(_ input: DeviceHeuristics.Input, now: QuorumInstant, context: inout NodeContext<QuorumNode>) {
        for directive in heuristics.handle(input, now: now) {
            switch directive {
            case .run(let id, let commands, _):
                guard heuristicsEnvironment != .undefined else { continue }  // they hang
                for command in commands {
                    let took = Int64.random(in: 10...2_000, using: &context.random) * 1_000_000
                    context.wakeUp(at: context.now + took, .heuristicsFinished(id, command: command.name, passed: heuristicsEnvironment == .pass))
                }
            case .cancel:
                break  // the core drops a cancelled run's ends
            case .result(let result, _):
                run(.heuristicsChanged(result), now: now, context: &context)
            case .wakeUp(let at):
                if let pending = heuristicsWakeUp, pending <= at.nanoseconds { continue }
                heuristicsWakeUp = at.nanoseconds
                context.wakeUp(at: at.nanoseconds, .heuristicsTick)
            }
        }
    }

    /// A sync past sync_timeout ended without the device: the new ring, no device vote.
    mutating func endSyncIfRunOut(now: Int64) {
        guard let sync, now >= sync.until else { return }
        quorumRing = sync.ring
        quorumMembers = sync.members
        lastPoll = nil
        self.sync = nil
    }

    mutating func send(_ segment: Segment<DeviceMessage>, context: inout NodeContext<QuorumNode>) {
        guard let stream else { return }
        context.send(.toArbiter(stream, sequence: outboundSequence, segment), to: arbitratorIndex)
        outboundSequence += 1
    }

    mutating func closeStream(context: inout NodeContext<QuorumNode>) {
        send(.close, context: &context)
        stream = nil
    }
}

/// The arbitrator: `QuorumArbiter` and one stream per connection.
public struct ArbitratorHost: Sendable {
    public private(set) var arbiter: QuorumArbiter
    struct Stream: Sendable {
        let peer: NodeIndex
        var inbound = InboundStream<DeviceMessage>()
        var outboundSequence: UInt64 = 0
    }
    var streams: [ConnectionID: Stream] = [:]
    /// How often the dead-peer check runs.
    static var tickInterval: Duration { .seconds(1) }

    /// The arbitrator proper is made at `.start`, when its clock is known.
    public init(settings: QuorumArbiter.Settings) {
        arbiter = QuorumArbiter(settings: settings)
    }

    mutating func handle(_ event: NodeEvent<Wire, QuorumNode.Input>, context: inout NodeContext<QuorumNode>) {
        let now = QuorumInstant(nanoseconds: context.now)
        switch event {
        case .start, .input(.tick):
            if case .start = event { arbiter = QuorumArbiter(settings: arbiter.settings, startedAt: now) }
            apply(arbiter.handle(.tick(at: now)), context: &context)
            context.after(Self.tickInterval, .tick)
        case .message(let from, .toArbiter(let connection, let sequence, let segment)):
            if streams[connection] == nil {
                guard sequence == 0, case .open(let cluster) = segment else {
                    // Not ours (from before a restart) or its opening was lost: tell the node.
                    if case .close = segment { return }
                    context.send(.toNode(connection, sequence: 0, .reset), to: from)
                    return
                }
                streams[connection] = Stream(peer: from)
                _ = streams[connection]!.inbound.receive(segment, sequence: 0)
                apply(arbiter.handle(.connected(connection, cluster, at: now)), context: &context)
                send(.accepted, on: connection, context: &context)
                return
            }
            guard let ready = streams[connection]!.inbound.receive(segment, sequence: sequence) else {
                send(.close, on: connection, context: &context)
                streams[connection] = nil
                apply(arbiter.handle(.closed(connection)), context: &context)
                return
            }
            for segment in ready where streams[connection] != nil {
                switch segment {
                case .data(let message):
                    apply(arbiter.handle(.message(connection, message, at: now)), context: &context)
                case .close:
                    streams[connection] = nil
                    apply(arbiter.handle(.closed(connection)), context: &context)
                case .open, .accepted, .reset:
                    break
                }
            }
        case .input, .message(_, .toNode), .groupMessage, .view:
            break
        }
    }

    mutating func apply(_ directives: [QuorumArbiter.Directive], context: inout NodeContext<QuorumNode>) {
        for directive in directives {
            switch directive {
            case .send(let connection, let message):
                if case .voteInfo(_, let ring, .ack) = message, let (cluster, node) = owner(of: connection) {
                    context.observe(.ackSent(cluster, node, ring, agreeing: ringAgrees(ring, cluster: cluster, node: node)))
                }
                if case .voteInfo(let sequence, let ring, let vote) = message, let (cluster, node) = owner(of: connection) {
                    context.trace("arbitrator: \(vote.rawValue) to \(cluster) node \(node) for ring \(ring) (#\(sequence))")
                }
                send(.data(message), on: connection, context: &context)
            case .close(let connection, let reason):
                context.trace("arbitrator: closes \(connection): \(reason)")
                send(.close, on: connection, context: &context)
                streams[connection] = nil
            case .decided(let cluster, let partition):
                context.observe(.decided(cluster, partition))
                context.trace("arbitrator: \(cluster) quorate partition \(partition.map(\.description).joined(separator: ","))")
            }
        }
    }

    func owner(of connection: ConnectionID) -> (ClusterKey, NodeID)? {
        for (cluster, state) in arbiter.clusters {
            for node in state.clients.keys where arbiter.connection(of: node, in: cluster) == connection { return (cluster, node) }
        }
        return nil
    }

    /// Whether every connected client in `node`'s ring reports `ring` (the arbitrator's view).
    func ringAgrees(_ ring: RingID, cluster: ClusterKey, node: NodeID) -> Bool {
        guard let state = arbiter.clusters[cluster], let report = state.clients[node]?.report, report.ring == ring else { return false }
        return report.members.allSatisfy { member in
            guard let client = state.clients[member] else { return true }
            return client.report?.ring == ring
        }
    }

    mutating func send(_ segment: Segment<ArbiterMessage>, on connection: ConnectionID, context: inout NodeContext<QuorumNode>) {
        guard let stream = streams[connection] else { return }
        context.send(.toNode(connection, sequence: stream.outboundSequence, segment), to: stream.peer)
        streams[connection]!.outboundSequence += 1
    }
}
