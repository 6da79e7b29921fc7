import TicketElection

/// One fault of the fault phase, as drawn by `FaultPlan` for any simulated world.
public enum PlannedFault: Sendable {
    case cut(from: Int, to: Int, Bool)
    /// The member crashes; the world draws how and when it comes back (`FaultPlan.lasting`).
    case crash(member: Int)
    case loss(Double)
    case admin(member: Int, ticket: Int, AdminCommand)
    case siteQuorum(site: Int, Bool)
    case handlerFailing(site: Int, Bool)
    /// A fault of the world's own kinds (`extraWeights[kind]`); the world draws its details.
    case extra(kind: Int)
}

/// The fault phase's schedule, one draw sequence for GeoWorld and TicketSimulation's
/// DaemonWorld: faults at random intervals (mean `FaultProfile.meanInterval`), each picked by
/// the profile's weights (then the world's extra weights), each undone after `lasting`.
public enum FaultPlan {
    /// How long one fault lasts: a quarter of a lease to three leases.
    public static func lasting(_ scenario: Scenario, random: inout SeededGenerator) -> Int64 {
        let expire = scenario.expire.nanoseconds
        return Int64.random(in: expire / 4...expire * 3, using: &random)
    }

    /// Calls `emit` for every fault (with the time it happens, and the generator for the
    /// world's own draws), in time order of their start, until the end of the fault phase.
    public static func draw(
        _ scenario: Scenario, extraWeights: [Int] = [], random: inout SeededGenerator,
        emit: (PlannedFault, Int64, inout SeededGenerator) -> Void
    ) {
        let profile = scenario.faults
        let totalWeight =
            profile.partitionWeight + profile.crashWeight + profile.lossBurstWeight + profile.adminWeight
            + profile.quorumWeight + (scenario.withHandler ? profile.handlerWeight : 0) + extraWeights.reduce(0, +)
        guard totalWeight > 0 else { return }
        let end = scenario.faultPhase.nanoseconds
        let count = scenario.memberCount
        var time = Int64(0)
        var faults = 0
        while faults < 10_000 {
            time += Int64.random(in: 1...(2 * profile.meanInterval.nanoseconds), using: &random)
            guard time < end else { break }
            faults += 1
            var pick = Int.random(in: 0..<totalWeight, using: &random)
            func until() -> Int64 { min(end, time + lasting(scenario, random: &random)) }
            if pick < profile.partitionWeight {
                let first = Int.random(in: 0..<count, using: &random)
                var second = Int.random(in: 0..<(count - 1), using: &random)
                if second >= first { second += 1 }
                let oneWay = random.chance(0.3)
                let isolate = random.chance(0.3)
                let healed = until()
                let targets = isolate ? Array(0..<count).filter { $0 != first } : [second]
                for target in targets {
                    emit(.cut(from: first, to: target, true), time, &random)
                    emit(.cut(from: first, to: target, false), healed, &random)
                    if !oneWay {
                        emit(.cut(from: target, to: first, true), time, &random)
                        emit(.cut(from: target, to: first, false), healed, &random)
                    }
                }
                continue
            }
            pick -= profile.partitionWeight
            if pick < profile.crashWeight {
                emit(.crash(member: Int.random(in: 0..<count, using: &random)), time, &random)
                continue
            }
            pick -= profile.crashWeight
            if pick < profile.lossBurstWeight {
                emit(.loss(Double.random(in: 0.05...profile.messageLossMax, using: &random)), time, &random)
                emit(.loss(0), until(), &random)
                continue
            }
            pick -= profile.lossBurstWeight
            if pick < profile.adminWeight {
                let member = Int.random(in: 0..<count, using: &random)
                let ticket = Int.random(in: 0..<scenario.tickets, using: &random)
                let command: AdminCommand
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4: command = .grant(force: random.chance(0.2), wait: true, waitForCommit: false)
                case 4..<6: command = .revoke(wait: true)
                case 6..<8: command = .move(to: MemberID(Int.random(in: 0..<scenario.sites, using: &random)), wait: true)
                case 8: command = .standby
                default: command = .activate
                }
                emit(.admin(member: member, ticket: ticket, command), time, &random)
                continue
            }
            pick -= profile.adminWeight
            if pick < profile.quorumWeight {
                let site = Int.random(in: 0..<scenario.sites, using: &random)
                emit(.siteQuorum(site: site, false), time, &random)
                emit(.siteQuorum(site: site, true), until(), &random)
                continue
            }
            pick -= profile.quorumWeight
            if scenario.withHandler && pick < profile.handlerWeight {
                let site = Int.random(in: 0..<scenario.sites, using: &random)
                emit(.handlerFailing(site: site, true), time, &random)
                emit(.handlerFailing(site: site, false), until(), &random)
                continue
            }
            if scenario.withHandler { pick -= profile.handlerWeight }
            for (kind, weight) in extraWeights.enumerated() {
                if pick < weight {
                    emit(.extra(kind: kind), time, &random)
                    break
                }
                pick -= weight
            }
        }
    }
}
