import ClusterIdentity

/// The node's side of the quorum device: what it tells the arbitrator and what it casts to
/// votequorum (`votequorum_qdevice_poll(cast_vote, ring_id)`), and when. No I/O: the shell
/// (the daemon that registers with votequorum and holds the TLS connection) hands in
/// votequorum's notifications, the connection's events and the time, and carries out the
/// directives.
///
/// | input                          | what happens                                                                 |
/// |--------------------------------|------------------------------------------------------------------------------|
/// | `ringChanged(ring, members)`   | votequorum's new ring: the report goes out if connected; polls wait up to `voteWait` for the arbitrator's vote for this ring, then poll no every `castVoteInterval` until it comes (so votequorum's wait for the device, up to `syncTimeout`, ends) |
/// | `connectionOpened(c)`          | `register`, then the membership if known                                      |
/// | `message(c, .registered)`      | connected                                                                     |
/// | `message(c, .voteInfo)`        | answered; kept when it is for the current ring (else it is stale); polled at once |
/// | `message(c, .heartbeatReply)`  | the echo is answered                                                          |
/// | `heuristicsChanged(r)`         | a heuristics run's result: sends the held membership report, or (a change) the result alone |
/// | `message(c, .refused)`, `connectionClosed(c)` | disconnected: the vote is NACK (ffsplit casts nothing without the arbitrator) |
/// | `votequorumCall(since:)`       | the shell's call to votequorum in flight since then (nil: none); one stuck for `votequorumStallLimit` (corosync paused) closes the connection and keeps it closed until the call returns |
/// | `tick`                         | heartbeat (an unanswered echo closes the connection), reconnect, periodic poll |
///
/// The vote counts at votequorum only for the ring it was polled with, for `timeout` after
/// the poll; the device casts yes only while connected, holding an ACK for its current ring.
public struct QuorumDevice: Sendable {
    public struct Settings: Sendable {
        /// votequorum's device timeout (`quorum.device.timeout`): a poll counts this long.
        public var timeout: Duration
        /// votequorum's wait for the device's poll during a membership change (`sync_timeout`).
        public var syncTimeout: Duration
        /// Echo requests to the arbitrator: 0.4 × timeout (qdevice: 0.8 ×). An echo not
        /// answered by the next one closes the connection and the vote becomes no, so the
        /// device stops casting at most 2 × this after the arbitrator last heard it; the
        /// arbitrator waits 2.5 × this before it gives the vote elsewhere (see
        /// `QuorumArbiter.Settings.deadPeerFactor`). qdevice's 8 s against qnetd's 12 s leaves
        /// a window where both sides cast (the simulation found it: seed 17 of the first sweep).
        public var heartbeatInterval: Duration
        /// Polls while a vote is held: qdevice's 0.5 × timeout.
        public var castVoteInterval: Duration
        /// Wait before a new connection after one failed.
        public var reconnectDelay: Duration
        /// After a ring change while connected: how long the device waits for the arbitrator's
        /// vote before it polls no for the new ring. votequorum holds a new ring's quorum until
        /// the device polls for it (or `syncTimeout`): a vote that comes within this wait
        /// counts at once, with no dip in quorum for the winner (the arbitrator answers a
        /// plain split in well under it); a vote that takes longer (the arbitrator waits for a
        /// vanished peer's dead-peer timeout) no longer holds votequorum for `syncTimeout`:
        /// the no ends its wait, and the yes counts when it comes. qdevice polls no at once
        /// when its old vote was ACK.
        public var voteWait: Duration
        /// A votequorum call (a poll) unanswered this long means this node's corosync is not
        /// running (paused, stuck): the device leaves the arbitrator, which would otherwise
        /// wait for this node's report of the new ring for ever and give the vote to nobody
        /// (qdevice's single thread blocks in the poll and stops its echoes: the same effect).
        public var votequorumStallLimit: Duration
        /// A rule deliberately broken, to show that the simulation's checker catches it. Never
        /// set outside tests and the simulator's `--break-rule`.
        public var ruleBreak: RuleBreak?
        /// The node runs heuristics (`quorum.device.heuristics.mode` on or sync): the
        /// membership report of a new ring, and the first one on a new connection, wait for the
        /// result of the heuristics run that the ring (the connection) started
        /// (`heuristicsChanged`), as qdevice's membership node list waits for its heuristics.
        public var heuristicsEnabled = false

        public init(timeout: Duration = .seconds(10), syncTimeout: Duration = .seconds(30), reconnectDelay: Duration = .seconds(1),
                    voteWait: Duration = .seconds(1)) {
            precondition(timeout >= .seconds(1) && syncTimeout >= timeout, "device timeout \(timeout) >= 1 s and sync_timeout \(syncTimeout) >= timeout")
            precondition(voteWait >= .zero && voteWait < timeout * 0.5, "vote wait \(voteWait) must be below half the device timeout \(timeout)")
            self.timeout = timeout
            self.syncTimeout = syncTimeout
            self.heartbeatInterval = timeout * 0.4
            self.castVoteInterval = timeout * 0.5
            self.reconnectDelay = reconnectDelay
            self.voteWait = voteWait
            self.votequorumStallLimit = timeout * 0.5
        }
    }

    public enum RuleBreak: String, Sendable, CaseIterable {
        /// The device before the vote wait: after a ring change it polls nothing until the
        /// arbitrator's vote comes (nor when the connection drops meanwhile), so votequorum
        /// keeps the node's old quorum for up to sync_timeout.
        case waitForVote = "wait-for-vote"
    }

    public enum Input: Sendable {
        case ringChanged(RingID, members: [NodeID])
        case heuristicsChanged(HeuristicsResult)
        /// The shell's votequorum call in flight since this instant (nil: none in flight).
        case votequorumCall(since: QuorumInstant?)
        case connectionOpened(ConnectionID)
        case connectionClosed(ConnectionID)
        case message(ConnectionID, ArbiterMessage)
        case tick
    }

    public enum Directive: Sendable, Hashable {
        /// Open a connection to the arbitrator; answer `connectionOpened` or `connectionClosed`.
        case open
        case send(ConnectionID, DeviceMessage)
        case close(ConnectionID)
        /// `votequorum_qdevice_poll(castVote, ring)`.
        case poll(castVote: Bool, ring: RingID)
        /// A `tick` at (or after) this local instant.
        case wakeUp(at: QuorumInstant)
    }

    public enum Link: Sendable, Equatable {
        case disconnected(retryAt: QuorumInstant)
        case opening(since: QuorumInstant)
        /// Open, registration sent, `registered` not yet back.
        case registering(ConnectionID, since: QuorumInstant)
        case connected(ConnectionID, echoOutstanding: Bool, nextHeartbeat: QuorumInstant)
    }

    public let settings: Settings
    public let registration: DeviceRegistration
    public private(set) var link: Link
    public private(set) var ring: RingID?
    public private(set) var members: [NodeID] = []
    public private(set) var heuristics: HeuristicsResult
    /// The membership report waits for a heuristics result (`Settings.heuristicsEnabled`).
    public private(set) var reportHeld = false
    /// The arbitrator's last vote for the current ring (nil: none yet; the device polls no
    /// from `voteWait` after the ring on).
    public private(set) var vote: Vote?
    public private(set) var nextPoll: QuorumInstant?
    /// When the current ring came (votequorum's notification).
    public private(set) var ringSince: QuorumInstant?
    /// The last poll: what it cast, for which ring, when (nil: none yet).
    public private(set) var lastPoll: (castVote: Bool, ring: RingID, at: QuorumInstant)?
    /// Since when the device casts what it casts now (the first poll of the current value).
    public private(set) var castSince: QuorumInstant?
    /// The shell's votequorum call in flight since (nil: none).
    public private(set) var votequorumCallSince: QuorumInstant?
    /// votequorum did not answer within `votequorumStallLimit`: disconnected until it does.
    public private(set) var votequorumStalled = false
    /// Counts for the metrics.
    public struct Counters: Sendable, Equatable {
        public internal(set) var pollsYes = 0
        public internal(set) var pollsNo = 0
        public internal(set) var ringChanges = 0
        public internal(set) var disconnects = 0
    }
    public private(set) var counters = Counters()
    /// The last ring's decision time: from the ring to the arbitrator's vote for it.
    public private(set) var lastDecision: Duration?

    public init(registration: DeviceRegistration, settings: Settings = Settings(), heuristics: HeuristicsResult = .undefined, now: QuorumInstant) {
        precondition(registration.heartbeatInterval == settings.heartbeatInterval,
                     "node \(registration.nodeID): the registration's heartbeat \(registration.heartbeatInterval) is not the device's \(settings.heartbeatInterval)")
        self.registration = registration
        self.settings = settings
        self.heuristics = heuristics
        self.link = .disconnected(retryAt: now)
    }

    /// What the device casts now: yes only while connected with an ACK for its current ring.
    public var castsVote: Bool {
        if case .connected = link, vote == .ack { return true }
        return false
    }

    /// Registered with the arbitrator.
    public var isConnected: Bool {
        if case .connected = link { return true }
        return false
    }

    public var connection: ConnectionID? {
        switch link {
        case .registering(let connection, _), .connected(let connection, _, _): connection
        case .disconnected, .opening: nil
        }
    }

    public mutating func handle(_ input: Input, now: QuorumInstant) -> [Directive] {
        var directives: [Directive] = []
        switch input {
        case .ringChanged(let newRing, let newMembers):
            precondition(newMembers.contains(registration.nodeID) && newMembers == newMembers.sorted(),
                         "node \(registration.nodeID): ring \(newRing) members \(newMembers) must be ascending and hold the node")
            ring = newRing
            members = newMembers
            ringSince = now
            counters.ringChanges += 1
            vote = nil  // the old ring's vote does not carry over
            if settings.heuristicsEnabled { reportHeld = true }
            if case .connected(let connection, _, _) = link {
                if !reportHeld { directives.append(.send(connection, .membership(report!))) }
                // Wait briefly for the vote; then no (see `Settings.voteWait`).
                nextPoll = settings.ruleBreak == .waitForVote ? nil : now + settings.voteWait
            } else {
                // No arbitrator, no vote (ffsplit): say so for the new ring at once. votequorum
                // holds its decision for a new ring until the device polls it (up to
                // sync_timeout): without this poll a node left alone stayed quorate for 30 s.
                vote = .nack
                directives.append(poll(false, ring: newRing, now: now))
            }
        case .votequorumCall(let since):
            votequorumCallSince = since
            if since == nil && votequorumStalled {
                votequorumStalled = false
                if case .disconnected = link { link = .disconnected(retryAt: now) }  // back: reconnect now
            }
        case .heuristicsChanged(let result):
            let changed = result != heuristics
            heuristics = result
            if case .connected(let connection, _, _) = link {
                if reportHeld {
                    if let report { directives.append(.send(connection, .membership(report))) }
                } else if changed {
                    directives.append(.send(connection, .heuristics(result)))
                }
            }
            reportHeld = false
        case .connectionOpened(let connection):
            guard case .opening = link else {
                directives.append(.close(connection))  // not asked for (any more)
                break
            }
            link = .registering(connection, since: now)
            directives.append(.send(connection, .register(registration)))
        case .connectionClosed(let connection):
            if self.connection == connection || { if case .opening = link { return true } else { return false } }() {
                directives += disconnect(now: now)
            }
        case .message(let connection, let message):
            guard connection == self.connection else { break }  // an old connection's late message
            directives += received(message, on: connection, now: now)
        case .tick:
            directives += tick(now: now)
        }
        directives.append(.wakeUp(at: nextWakeUp(now: now)))
        return directives
    }

    var report: MembershipReport? { ring.map { MembershipReport(ring: $0, members: members, heuristics: heuristics) } }

    mutating func received(_ message: ArbiterMessage, on connection: ConnectionID, now: QuorumInstant) -> [Directive] {
        switch message {
        case .registered:
            guard case .registering = link else { return [] }
            link = .connected(connection, echoOutstanding: false, nextHeartbeat: now + settings.heartbeatInterval)
            if settings.heuristicsEnabled {
                reportHeld = true  // until the result of the heuristics run on connecting
                return []
            }
            return report.map { [.send(connection, .membership($0))] } ?? []
        case .refused:
            return disconnect(now: now)
        case .voteInfo(let sequence, let votedRing, let newVote):
            guard case .connected = link else { return [] }
            var directives: [Directive] = [.send(connection, .voteInfoReply(sequence: sequence))]
            guard votedRing == ring else { return directives }  // for a ring this node has left
            if vote == nil, let ringSince { lastDecision = now - ringSince }
            vote = newVote
            directives.append(poll(castsVote, ring: votedRing, now: now))
            return directives
        case .heartbeatReply:
            if case .connected(let connection, _, let next) = link { link = .connected(connection, echoOutstanding: false, nextHeartbeat: next) }
            return []
        }
    }

    mutating func disconnect(now: QuorumInstant) -> [Directive] {
        var directives: [Directive] = []
        if let connection { directives.append(.close(connection)) }
        if case .connected = link { counters.disconnects += 1 }
        link = .disconnected(retryAt: now + settings.reconnectDelay)
        // ffsplit: no vote without the arbitrator (also while a vote for the ring was awaited:
        // it will not come on this connection).
        if let ring, vote != nil || settings.ruleBreak != .waitForVote {
            vote = .nack
            directives.append(poll(false, ring: ring, now: now))
        }
        return directives
    }

    mutating func tick(now: QuorumInstant) -> [Directive] {
        var directives: [Directive] = []
        if !votequorumStalled, let since = votequorumCallSince, now - since >= settings.votequorumStallLimit {
            votequorumStalled = true
            directives += disconnect(now: now)
        }
        switch link {
        case .disconnected(let retryAt) where now >= retryAt && !votequorumStalled:
            link = .opening(since: now)
            directives.append(.open)
        case .opening(let since) where now - since >= settings.heartbeatInterval,
             .registering(_, let since) where now - since >= settings.heartbeatInterval:
            directives += disconnect(now: now)
        case .connected(let connection, let echoOutstanding, let next) where now >= next:
            if echoOutstanding {
                directives += disconnect(now: now)  // qdevice: the echo reply did not come in time
            } else {
                link = .connected(connection, echoOutstanding: true, nextHeartbeat: now + settings.heartbeatInterval)
                directives.append(.send(connection, .heartbeat))
            }
        default:
            break
        }
        if let due = nextPoll, now >= due, let ring {
            directives.append(poll(castsVote, ring: ring, now: now))  // no while the vote is awaited
        }
        return directives
    }

    /// A poll, remembered, and the next one scheduled.
    mutating func poll(_ castVote: Bool, ring: RingID, now: QuorumInstant) -> Directive {
        if lastPoll?.castVote != castVote { castSince = now }
        if castVote { counters.pollsYes += 1 } else { counters.pollsNo += 1 }
        lastPoll = (castVote, ring, now)
        nextPoll = now + settings.castVoteInterval
        return .poll(castVote: castVote, ring: ring)
    }

    func nextWakeUp(now: QuorumInstant) -> QuorumInstant {
        var next = now + settings.castVoteInterval
        switch link {
        case .disconnected(let retryAt): next = min(next, retryAt)
        case .opening(let since), .registering(_, let since): next = min(next, since + settings.heartbeatInterval)
        case .connected(_, _, let heartbeat): next = min(next, heartbeat)
        }
        if let nextPoll { next = min(next, nextPoll) }
        if !votequorumStalled, let since = votequorumCallSince { next = min(next, since + settings.votequorumStallLimit) }
        return max(next, now)
    }
}
