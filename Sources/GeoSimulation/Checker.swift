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

/// Safety, liveness and no-lost-commitment checks, run after every simulated event.
struct Checker {
    let scenario: Scenario
    private(set) var violations: [Violation] = []
    private(set) var stopped = false
    private(set) var failoverTimes: [Int64] = []
    private(set) var settleTimes: [Int64] = []
    /// From the new holder's own view of the old lease's end to its holding the ticket.
    private(set) var failoverAfterLeaseView: [Int64] = []
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

    init(scenario: Scenario) {
        self.scenario = scenario
    }

    /// The site holding `ticket` now: believes it holds a valid lease and has it granted.
    func holder(ofTicket ticket: Int, world: GeoWorld) -> Int? {
        for site in 0..<scenario.sites where world.members[site].up {
            let instance = world.members[site].instances[ticket]
            if instance.believesHolding(now: world.localNow(site)) && world.members[site].cibGranted[ticket] { return site }
        }
        return nil
    }

    mutating func check(world: GeoWorld) {
        guard !stopped else { return }
        for ticket in 0..<scenario.tickets {
            var believers: [Int] = []
            var granted: [Int] = []
            for site in 0..<scenario.sites where world.members[site].up {
                let instance = world.members[site].instances[ticket]
                if instance.believesHolding(now: world.localNow(site)) { believers.append(site) }
                if world.members[site].cibGranted[ticket] { granted.append(site) }
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
        for key in commitments where world.members[key.member].up {
            switch world.members[key.member].instances[key.ticket].role {
            case .leader, .releasing: continue
            default:
                violation(.commitmentLost(ticket: world.ticketName(key.ticket), site: world.name(key.member)), world: world)
                return
            }
        }
    }

    mutating func violation(_ kind: Violation.Kind, world: GeoWorld) {
        guard !stopped else { return }
        violations.append(Violation(kind: kind, time: world.now))
        stopped = true
    }

    mutating func noteCommand(request: RequestID, member: Int, ticket: Int, command: AdminCommand, at time: Int64) {
        commandsByRequest[request] = (member, ticket)
        if healedAt == nil && time > (scenario.timeout * 3).nanoseconds { faultEvents += 1 }
    }

    mutating func noteReply(request: RequestID, outcome: CommandOutcome, member: Int, ticket: Int, world: GeoWorld) {
        commandsByRequest[request] = nil
        guard case .granted = outcome else { return }
        guard world.members[member].instances[ticket].isLeader else {
            violation(.grantReplyWithoutLead(ticket: world.ticketName(ticket), site: world.name(member)), world: world)
            return
        }
        commitments.insert(Key(member: member, ticket: ticket))
    }

    mutating func noteGrantedLocally(member: Int, ticket: Int, world: GeoWorld) {}

    mutating func noteRevokedLocally(member: Int, ticket: Int, reason: RevokeReason, world: GeoWorld) {
        commitments.remove(Key(member: member, ticket: ticket))
    }

    mutating func noteEvent(_ event: ElectionEvent, member: Int, ticket: Int, world: GeoWorld) {
        switch event {
        case .leaseLost, .steppedDown, .released:
            commitments.remove(Key(member: member, ticket: ticket))
        case .leaseExpiredAtFollower:
            leaseViewEnded[Key(member: member, ticket: ticket)] = world.now
        default:
            break
        }
    }

    mutating func noteCrash(member: Int, world: GeoWorld) {
        // This crash is itself a fault; a failover is measured cleanly when no other
        // fault happens until the next holder appears.
        if healedAt == nil { faultEvents += 1 }
        // Measured only when nothing else is wrong: no cut link, no loss, every other member
        // up, quorate and with a working handler.
        let healthy =
            world.lossProbability == 0 && !world.cut.joined().contains(true)
            && world.members.indices.allSatisfy { index in
                index == member || (world.members[index].up && world.members[index].quorate && !world.members[index].handlerFailing)
            }
        for ticket in 0..<scenario.tickets {
            commitments.remove(Key(member: member, ticket: ticket))
            if healthy, holder(ofTicket: ticket, world: world) == member {
                failoverStart[ticket] = (world.now, faultEvents, member)
            }
        }
    }

    mutating func noteFault() {
        faultEvents += 1
    }

    mutating func noteHeal(at time: Int64) {
        healedAt = time
        faultEvents += 1
        failoverStart = [:]
    }

    /// The liveness bound after the heal: promises given just before it run out (on the
    /// slowest clock), then acquire-after, campaign slots, the admin's re-grant and retries.
    var settleBound: Int64 {
        let policy = scenario.policy(ticket: 0)
        return policy.expireRealMax.nanoseconds + scenario.acquireAfter.nanoseconds
            + scenario.timeout.nanoseconds * Int64(scenario.sites + 6)
    }

    mutating func finish(world: GeoWorld, healedAt heal: Int64, end: Int64) {
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
