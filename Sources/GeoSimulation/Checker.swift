import TicketElection

/// A broken property, with the simulated real time it was seen at.
public struct Violation: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Two sites believe they hold the same ticket with a valid lease at one instant.
        case doubleHolder(ticket: String, sites: [String])
        /// Two sites have the ticket granted in their CIB at one instant.
        case doubleGrantedInCIB(ticket: String, sites: [String])
        /// A grant the admin was told succeeded ended without expiry, revoke, release or a
        /// logged loss of majority.
        case commitmentLost(ticket: String, site: String)
        /// Told "granted" while not leading.
        case grantReplyWithoutLead(ticket: String, site: String)
        /// A `.send` came before a `.persist` in one batch.
        case persistAfterSend(member: Int, ticket: Int)
        /// No site held the ticket within the liveness bound after the last fault healed.
        case noHolderAfterHeal(ticket: String, waited: Int64, bound: Int64)
    }

    public let kind: Kind
    public let time: Int64

    public var description: String {
        let at = formatTime(time)
        switch kind {
        case .doubleHolder(let ticket, let sites): return "\(at): \(ticket) held with a valid lease by \(sites.joined(separator: " and "))"
        case .doubleGrantedInCIB(let ticket, let sites): return "\(at): \(ticket) granted in the CIB of \(sites.joined(separator: " and "))"
        case .commitmentLost(let ticket, let site): return "\(at): \(ticket) grant at \(site) undone silently"
        case .grantReplyWithoutLead(let ticket, let site): return "\(at): \(site) told the admin \(ticket) is granted while not leading"
        case .persistAfterSend(let member, let ticket): return "\(at): member #\(member) ticket #\(ticket) sent before persisting"
        case .noHolderAfterHeal(let ticket, let waited, let bound):
            return "\(at): \(ticket) had no holder \(formatTime(waited).dropFirst(2)) after the heal (bound \(formatTime(bound).dropFirst(2)))"
        }
    }
}

/// What the checker reads of a simulated deployment: GeoWorld (the election instances driven
/// directly) and TicketSimulation's DaemonWorld (batond's DaemonCore on the simulation kernel).
/// Members are numbered sites first (0..<scenario.sites), tickets 0..<scenario.tickets.
public protocol CheckedWorld {
    var scenario: Scenario { get }
    /// Simulated real time, nanoseconds.
    var now: Int64 { get }
    func isUp(_ member: Int) -> Bool
    /// The member's election instance of `ticket`; nil when it is down or the ticket is not
    /// configured there (a reload removed it).
    func instance(_ member: Int, ticket: Int) -> TicketInstance?
    func localNow(_ member: Int) -> LocalInstant
    /// The ticket is granted in the member's CIB (what the site's resources run on).
    func cibGranted(_ member: Int, ticket: Int) -> Bool
    /// Nothing is wrong but `member`'s crash: no cut link, no loss, every other member up and
    /// quorate with a working handler (failovers are measured only then).
    func healthy(except member: Int) -> Bool
    func name(_ member: Int) -> String
    func ticketName(_ ticket: Int) -> String
}

/// Safety, liveness and no-lost-commitment checks, run after every simulated event.
public struct Checker {
    let scenario: Scenario
    public private(set) var violations: [Violation] = []
    public private(set) var stopped = false
    public private(set) var failoverTimes: [Int64] = []
    public private(set) var settleTimes: [Int64] = []
    /// From the new holder's own view of the old lease's end to its holding the ticket.
    public private(set) var failoverAfterLeaseView: [Int64] = []
    private var leaseViewEnded: [Key: Int64] = [:]
    /// Open commitments: (member, ticket) told "granted" and not ended by a logged reason.
    private var commitments: Set<Key> = []
    private var commandsByRequest: [RequestID: (member: Int, ticket: Int)] = [:]
    /// Per ticket: real time a clean holder crash happened, and the fault count then.
    private var failoverStart: [Int: (time: Int64, faults: Int, site: Int)] = [:]
    private var faultEvents = 0
    private var healedAt: Int64?
    private var settled: [Int: Int64] = [:]

    struct Key: Hashable {
        let member: Int
        let ticket: Int
    }

    public init(scenario: Scenario) {
        self.scenario = scenario
    }

    /// The site holding `ticket` now: believes it holds a valid lease and has it granted.
    public func holder(ofTicket ticket: Int, world: some CheckedWorld) -> Int? {
        for site in 0..<scenario.sites where world.isUp(site) {
            guard let instance = world.instance(site, ticket: ticket) else { continue }
            if instance.believesHolding(now: world.localNow(site)) && world.cibGranted(site, ticket: ticket) { return site }
        }
        return nil
    }

    public mutating func check(world: some CheckedWorld) {
        guard !stopped else { return }
        for ticket in 0..<scenario.tickets {
            var believers: [Int] = []
            var granted: [Int] = []
            for site in 0..<scenario.sites where world.isUp(site) {
                if world.instance(site, ticket: ticket)?.believesHolding(now: world.localNow(site)) == true { believers.append(site) }
                if world.cibGranted(site, ticket: ticket) { granted.append(site) }
            }
            if believers.count > 1 {
                violation(.doubleHolder(ticket: world.ticketName(ticket), sites: believers.map(world.name)), world: world)
                return
            }
            if granted.count > 1 {
                violation(.doubleGrantedInCIB(ticket: world.ticketName(ticket), sites: granted.map(world.name)), world: world)
                return
            }
            if let holder = holder(ofTicket: ticket, world: world) {
                if let start = failoverStart[ticket], holder != start.site {
                    if start.faults == faultEvents {
                        failoverTimes.append(world.now - start.time)
                        if let viewEnd = leaseViewEnded[Key(member: holder, ticket: ticket)], viewEnd >= start.time {
                            failoverAfterLeaseView.append(world.now - viewEnd)
                        }
                    }
                    failoverStart[ticket] = nil
                }
                if let healedAt, settled[ticket] == nil {
                    settled[ticket] = world.now - healedAt
                }
            }
        }
        for key in commitments where world.isUp(key.member) {
            // A ticket a reload removed ends with its CIB revoke (noteRevokedLocally).
            guard let instance = world.instance(key.member, ticket: key.ticket) else { continue }
            switch instance.role {
            case .leader, .releasing: continue
            default:
                violation(.commitmentLost(ticket: world.ticketName(key.ticket), site: world.name(key.member)), world: world)
                return
            }
        }
    }

    public mutating func violation(_ kind: Violation.Kind, world: some CheckedWorld) {
        guard !stopped else { return }
        violations.append(Violation(kind: kind, time: world.now))
        stopped = true
    }

    public mutating func noteCommand(request: RequestID, member: Int, ticket: Int, command: AdminCommand, at time: Int64) {
        commandsByRequest[request] = (member, ticket)
        if healedAt == nil && time > (scenario.timeout * 3).nanoseconds { faultEvents += 1 }
    }

    public mutating func noteReply(request: RequestID, outcome: CommandOutcome, member: Int, ticket: Int, world: some CheckedWorld) {
        commandsByRequest[request] = nil
        guard case .granted = outcome else { return }
        guard world.instance(member, ticket: ticket)?.isLeader == true else {
            violation(.grantReplyWithoutLead(ticket: world.ticketName(ticket), site: world.name(member)), world: world)
            return
        }
        commitments.insert(Key(member: member, ticket: ticket))
    }

    public mutating func noteGrantedLocally(member: Int, ticket: Int, world: some CheckedWorld) {}

    public mutating func noteRevokedLocally(member: Int, ticket: Int, reason: RevokeReason, world: some CheckedWorld) {
        commitments.remove(Key(member: member, ticket: ticket))
    }

    public mutating func noteEvent(_ event: ElectionEvent, member: Int, ticket: Int, world: some CheckedWorld) {
        switch event {
        case .leaseLost, .steppedDown, .released, .releaseWithheld:
            commitments.remove(Key(member: member, ticket: ticket))
        case .leaseExpiredAtFollower:
            leaseViewEnded[Key(member: member, ticket: ticket)] = world.now
        default:
            break
        }
    }

    /// A reload removed, changed or put back `ticket` at `member`: the admin's edit ends the
    /// grant told before (the instance restarts from its state, as at a process restart).
    public mutating func noteReconfigured(member: Int, ticket: Int) {
        commitments.remove(Key(member: member, ticket: ticket))
    }

    public mutating func noteCrash(member: Int, world: some CheckedWorld) {
        // This crash is itself a fault; a failover is measured cleanly when no other
        // fault happens until the next holder appears.
        if healedAt == nil { faultEvents += 1 }
        // Measured only when nothing else is wrong: no cut link, no loss, every other member
        // up, quorate and with a working handler.
        let healthy = world.healthy(except: member)
        for ticket in 0..<scenario.tickets {
            commitments.remove(Key(member: member, ticket: ticket))
            if healthy, holder(ofTicket: ticket, world: world) == member {
                failoverStart[ticket] = (world.now, faultEvents, member)
            }
        }
    }

    public mutating func noteFault() {
        faultEvents += 1
    }

    public mutating func noteHeal(at time: Int64) {
        healedAt = time
        faultEvents += 1
        failoverStart = [:]
    }

    /// The liveness bound after the heal: promises given just before it run out (on the
    /// slowest clock), then acquire-after, campaign slots, the admin's re-grant and retries.
    public var settleBound: Int64 {
        let policy = scenario.policy(ticket: 0)
        return policy.expireRealMax.nanoseconds + scenario.acquireAfter.nanoseconds
            + scenario.timeout.nanoseconds * Int64(scenario.sites + 6)
    }

    public mutating func finish(world: some CheckedWorld, healedAt heal: Int64, end: Int64) {
        guard !stopped else { return }
        for ticket in 0..<scenario.tickets {
            if let time = settled[ticket] {
                settleTimes.append(time)
                if time > settleBound {
                    violations.append(Violation(kind: .noHolderAfterHeal(ticket: world.ticketName(ticket), waited: time, bound: settleBound), time: heal + time))
                }
            } else {
                violations.append(
                    Violation(kind: .noHolderAfterHeal(ticket: world.ticketName(ticket), waited: end - heal, bound: settleBound), time: end))
            }
        }
    }
}
