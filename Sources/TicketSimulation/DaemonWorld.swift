import GeoSimulation
import SimulationKernel
import TicketCore
import TicketElection
import TicketWire

/// The faults of a DaemonWorld run beyond GeoSimulation's `FaultProfile`: what batond's shell
/// and disk add.
public struct DaemonFaults: Sendable, Equatable {
    /// Weight of a reload that drops or adds a ticket at some members (SIGHUP after an edit).
    public var reloadWeight: Int
    /// Weight of a span in which a member's state writes fail (EIO, a full disk).
    public var diskFailureWeight: Int
    /// Of the crashes: the share that reboot the machine (boot clock restarts, new boot id).
    public var rebootProbability: Double
    /// Of the crashes: the share after which the disk is torn (the write under way cut, or a
    /// damaged block); `FaultProfile.stateLossProbability` is the share with the state lost.
    public var tornProbability: Double

    public init(reloadWeight: Int = 8, diskFailureWeight: Int = 5, rebootProbability: Double = 0.3, tornProbability: Double = 0.3) {
        self.reloadWeight = reloadWeight
        self.diskFailureWeight = diskFailureWeight
        self.rebootProbability = rebootProbability
        self.tornProbability = tornProbability
    }

    public static let none = DaemonFaults(reloadWeight: 0, diskFailureWeight: 0, rebootProbability: 0, tornProbability: 0)
}

/// One simulated deployment of batond's own core: every site and arbitrator a `DaemonNode`
/// (the real DaemonCore and a simulated shell) on the simulation kernel, with GeoSimulation's
/// faults (partitions, loss, duplication, delays, crashes, site quorum, handler failures,
/// admin commands) and batond's (reboots, torn and damaged journals, failing writes, reloads
/// that remove and add tickets), checked by GeoSimulation's `Checker` after every step.
public struct DaemonWorld: CheckedWorld {
    public let scenario: Scenario
    public let faults: DaemonFaults
    public let seed: UInt64
    public private(set) var simulation: Simulation<DaemonNode>
    var checker: Checker
    /// The world's own draws (faults, admins); the kernel draws the network's.
    var random: SeededGenerator
    var actions = EventQueue<Action>()
    var requestCounter: UInt64 = 0
    var cut: [[Bool]]
    var sides: [Int]
    var loss = 0.0
    var faultyUntil: [Int: Int] = [:]
    public private(set) var restartsTorn = 0
    public private(set) var restartsLost = 0
    public private(set) var reboots = 0
    public private(set) var reloads = 0

    enum Action {
        case crash(Int, restartAt: Int64, DiskFate, reboot: Bool)
        case cut(from: Int, to: Int, Bool)
        case loss(Double)
        case input(Int, DaemonInput, fault: Bool)
        case admin(Int, ticket: Int, AdminCommand)
        case crashHolder(ticket: Int)
        case heal
        case finalGrant(ticket: Int, attempt: Int)
    }

    public var now: Int64 { simulation.now }

    public init(scenario: Scenario, faults: DaemonFaults = DaemonFaults(), seed: UInt64, keepFullTrace: Bool = false) {
        self.scenario = scenario
        self.faults = faults
        self.seed = seed
        let network = NetworkModel(
            duplication: scenario.faults.duplicationProbability, delayMin: scenario.faults.delayMin, delayMax: scenario.faults.delayMax,
            delaySpikeProbability: scenario.faults.delaySpikeProbability, delaySpikeMax: scenario.faults.delaySpikeMax)
        simulation = Simulation(
            nodeCount: scenario.memberCount, seed: seed, network: network,
            clockDriftMaxPartsPerMillion: scenario.clockDriftMaxPartsPerMillion, keepFullTrace: keepFullTrace
        ) { index, disk, boot in
            DaemonNode(scenario: scenario, index: index, disk: disk, boot: boot)
        }
        checker = Checker(scenario: scenario)
        random = SeededGenerator(seed: seed ^ 0xDAE_C0DE)
        cut = Array(repeating: Array(repeating: false, count: scenario.memberCount), count: scenario.memberCount)
        sides = Array(repeating: 0, count: scenario.memberCount)
    }

    // MARK: - CheckedWorld

    public func isUp(_ member: Int) -> Bool { simulation.isUp(member) }
    public func instance(_ member: Int, ticket: Int) -> TicketInstance? {
        simulation.nodes[member]?.core.instance(named: ticketName(ticket))
    }
    public func localNow(_ member: Int) -> LocalInstant { LocalInstant(nanoseconds: simulation.localNow(member)) }
    public func cibGranted(_ member: Int, ticket: Int) -> Bool { simulation.nodes[member]?.cibGranted.contains(ticketName(ticket)) ?? false }
    public func healthy(except member: Int) -> Bool {
        loss == 0 && !cut.joined().contains(true)
            && (0..<scenario.memberCount).allSatisfy { index in
                guard index != member else { return true }
                guard let node = simulation.nodes[index] else { return false }
                return node.quorate && !node.handlerFailing && !node.diskFailing
            }
    }
    public func name(_ member: Int) -> String { scenario.members()[member].name }
    public func ticketName(_ ticket: Int) -> String { "ticket-\(ticket + 1)" }

    // MARK: - Running

    /// Start, grants, faults, heal, settle; the checker after every step.
    public mutating func run() -> RunResult {
        _ = simulation.startAll()
        for ticket in 0..<scenario.tickets {
            let site = Int.random(in: 0..<scenario.sites, using: &random)
            let at = (scenario.timeout * 2).nanosecondsValue + Int64.random(in: 0...1_000_000_000, using: &random)
            actions.push(.admin(site, ticket: ticket, .grant(force: false, wait: true, waitForCommit: false)), at: at)
        }
        scheduleFaults()
        if let crashAt = scenario.crashHolderAt { actions.push(.crashHolder(ticket: 0), at: crashAt.nanosecondsValue) }
        let healAt = scenario.faultPhase.nanosecondsValue
        actions.push(.heal, at: healAt)
        let end = healAt + scenario.settlePhase.nanosecondsValue
        while !checker.stopped {
            let nextAction = min(actions.nextTime ?? .max, end)
            while !checker.stopped, let report = simulation.step(until: nextAction) {
                observe(report)
                checker.check(world: self)
            }
            guard !checker.stopped, nextAction < end, let (time, action) = actions.pop() else { break }
            simulation.advance(to: time)
            act(action)
        }
        checker.finish(world: self, healedAt: healAt, end: end)
        return RunResult(
            seed: seed, violations: checker.violations, failoverTimes: checker.failoverTimes,
            failoverAfterLeaseView: checker.failoverAfterLeaseView, settleTimes: checker.settleTimes,
            messages: simulation.messagesSent, events: simulation.steps, stateWipes: restartsLost,
            traceTail: simulation.traceTail, traceHash: simulation.digest)
    }

    mutating func observe(_ report: Simulation<DaemonNode>.StepReport) {
        for (member, observation) in report.observations {
            switch observation {
            case .command(let request, let ticket, let command):
                checker.noteCommand(request: request, member: member, ticket: ticket, command: command, at: now)
            case .granted(let request, let ticket):
                simulation.note("\(name(member)) \(ticketName(ticket)) told the admin: granted (\(instance(member, ticket: ticket).map { "\($0.role)" } ?? "not configured"))")
                checker.noteReply(request: request, outcome: .granted(commitPendingFor: nil), member: member, ticket: ticket, world: self)
            case .cibGranted(let ticket):
                simulation.note("\(name(member)) \(ticketName(ticket)) GRANTED in the CIB")
                checker.noteGrantedLocally(member: member, ticket: ticket, world: self)
            case .cibRevoked(let ticket, let reason):
                simulation.note("\(name(member)) \(ticketName(ticket)) REVOKED in the CIB (\(reason.rawValue))")
                checker.noteRevokedLocally(member: member, ticket: ticket, reason: reason, world: self)
            case .event(let ticket, let event):
                simulation.note("\(name(member)) \(ticketName(ticket)) \(event)")
                checker.noteEvent(event, member: member, ticket: ticket, world: self)
            case .started(let note):
                simulation.note("\(name(member)) started: \(note)")
            case .reconfigured(let tickets):
                for ticket in tickets { checker.noteReconfigured(member: member, ticket: ticket) }
            }
        }
    }

    mutating func act(_ action: Action) {
        switch action {
        case .crash(let member, let restartAt, let fate, let reboot):
            guard simulation.isUp(member) else { return }
            checker.noteCrash(member: member, world: self)
            simulation.crash(member, at: now)
            switch fate {
            case .kept: break
            case .lost: restartsLost += 1
            case .torn: restartsTorn += 1
            }
            if reboot { reboots += 1 }
            if fate != .kept { checker.noteFault() }
            simulation.restart(member, disk: fate, reboot: reboot, at: max(now, restartAt))
        case .cut(let from, let to, let isCut):
            checker.noteFault()
            cut[from][to] = isCut
            simulation.cut(from: from, to: to, isCut, at: now)
        case .loss(let probability):
            checker.noteFault()
            loss = probability
            var model = simulation.network
            model.loss = probability
            simulation.setNetwork(model, at: now)
        case .input(let member, let input, let fault):
            if fault { checker.noteFault() }
            if case .reload = input { reloads += 1 }
            simulation.inject(input, to: member, at: now)
        case .admin(let member, let ticket, let command):
            requestCounter += 1
            simulation.inject(.admin(ClientRequest(id: requestCounter, command: .ticket(name: ticketName(ticket), Self.wire(command, names: scenario.members().map(\.name)))), ticket: ticket, command),
                              to: member, at: now)
        case .crashHolder(let ticket):
            guard let holder = checker.holder(ofTicket: ticket, world: self) else { return }
            act(.crash(holder, restartAt: now + scenario.expire.nanosecondsValue * 3, .kept, reboot: false))
        case .heal:
            simulation.note("HEAL: network restored, members restarted, configuration complete")
            checker.noteHeal(at: now)
            for from in cut.indices { for to in cut.indices where cut[from][to] { simulation.cut(from: from, to: to, false, at: now) } }
            cut = cut.map { $0.map { _ in false } }
            loss = 0
            var model = simulation.network
            model.loss = 0
            simulation.setNetwork(model, at: now)
            for member in 0..<scenario.memberCount {
                simulation.restart(member, disk: .kept, reboot: false, at: now)
                simulation.inject(.handlerFailing(false), to: member, at: now)
                simulation.inject(.diskFailing(false), to: member, at: now)
                simulation.inject(.siteQuorum(true), to: member, at: now)
                simulation.inject(.reload(Array(0..<scenario.tickets)), to: member, at: now)
            }
            for ticket in 0..<scenario.tickets {
                actions.push(.finalGrant(ticket: ticket, attempt: 0), at: now + (scenario.timeout * 2).nanosecondsValue)
            }
        case .finalGrant(let ticket, let attempt):
            // The admin makes sure every ticket is granted after the faults (as GeoWorld).
            guard checker.holder(ofTicket: ticket, world: self) == nil, attempt < 200 else { return }
            act(.admin(Int.random(in: 0..<scenario.sites, using: &random), ticket: ticket, .grant(force: false, wait: true, waitForCommit: false)))
            actions.push(.finalGrant(ticket: ticket, attempt: attempt + 1), at: now + (scenario.timeout * 2).nanosecondsValue)
        }
    }

    static func wire(_ command: AdminCommand, names: [String]) -> TicketCommand {
        switch command {
        case .grant(let force, let wait, let commit): .grant(force: force, wait: wait, waitForCommit: commit)
        case .revoke(let wait): .revoke(wait: wait)
        case .standby: .standby
        case .activate: .activate
        case .move(let to, let wait): .move(to: names[to.index], wait: wait)
        case .setAttribute(let name, let value): .setAttribute(name: name, value: value)
        case .deleteAttribute(let name): .deleteAttribute(name: name)
        }
    }

    // MARK: - Faults

    mutating func scheduleFaults() {
        let end = scenario.faultPhase.nanosecondsValue
        let expire = scenario.expire.nanosecondsValue
        let scenario = self.scenario
        let faults = self.faults
        var actions = self.actions
        FaultPlan.draw(scenario, extraWeights: [faults.reloadWeight, faults.diskFailureWeight], random: &random) { fault, time, random in
            func until() -> Int64 { min(end, time + FaultPlan.lasting(scenario, random: &random)) }
            switch fault {
            case .cut(let from, let to, let isCut): actions.push(.cut(from: from, to: to, isCut), at: time)
            case .crash(let member):
                let reboot = random.chance(faults.rebootProbability)
                let draw = Double.random(in: 0..<1, using: &random)
                if draw < scenario.faults.stateLossProbability {
                    // Back soon without its state: the window in which a forgotten promise may
                    // still be relied on by a running holder.
                    actions.push(.crash(member, restartAt: min(end, time + Int64.random(in: 0...expire / 2, using: &random)), .lost, reboot: reboot), at: time)
                } else {
                    let fate: DiskFate = draw < scenario.faults.stateLossProbability + faults.tornProbability ? .torn : .kept
                    actions.push(.crash(member, restartAt: until(), fate, reboot: reboot), at: time)
                }
            case .loss(let probability): actions.push(.loss(probability), at: time)
            case .admin(let member, let ticket, let command): actions.push(.admin(member, ticket: ticket, command), at: time)
            case .siteQuorum(let site, let quorate): actions.push(.input(site, .siteQuorum(quorate), fault: true), at: time)
            case .handlerFailing(let site, let failing): actions.push(.input(site, .handlerFailing(failing), fault: true), at: time)
            case .extra(kind: 0):
                // An edit that drops one ticket at some members, then puts it back.
                let ticket = Int.random(in: 0..<scenario.tickets, using: &random)
                let without = Array(0..<scenario.tickets).filter { $0 != ticket }
                guard !without.isEmpty else { return }
                let back = until()
                for member in 0..<scenario.memberCount where random.chance(0.6) {
                    actions.push(.input(member, .reload(without), fault: true), at: time)
                    actions.push(.input(member, .reload(Array(0..<scenario.tickets)), fault: true), at: back)
                }
            case .extra:
                // A span of failing state writes at one member.
                let member = Int.random(in: 0..<scenario.memberCount, using: &random)
                actions.push(.input(member, .diskFailing(true), fault: true), at: time)
                actions.push(.input(member, .diskFailing(false), fault: true), at: min(end, time + FaultPlan.lasting(scenario, random: &random) / 4))
            }
        }
        self.actions = actions
    }
}

/// Runs `count` seeds of the daemon-core model from `firstSeed` and sums them up.
public func sweepDaemon(_ scenario: Scenario, faults: DaemonFaults = DaemonFaults(), firstSeed: UInt64, count: Int) -> SweepSummary {
    precondition(count >= 0 && count <= 10_000_000, "seed count \(count) out of range")
    var summary = SweepSummary()
    for offset in 0..<count {
        var world = DaemonWorld(scenario: scenario, faults: faults, seed: firstSeed &+ UInt64(offset))
        summary.add(world.run())
    }
    return summary
}
