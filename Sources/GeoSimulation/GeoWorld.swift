import TicketElection

/// One simulated deployment: members (sites and arbitrators) running the real
/// `TicketInstance`s, each on its own drifting monotonic clock, over a simulated network that
/// loses, duplicates, delays and reorders messages and can be cut (both ways or one way);
/// members crash (losing everything not persisted) and restart from their persisted state,
/// or with it wiped (a deleted state directory: they start as batond does without a journal).
/// Real time is simulated nanoseconds. Every random choice comes from one `SeededGenerator`.
///
/// This type is also the "shell" of the simulation: it carries out the directives exactly as
/// batond does (persist before send, one timer per ticket, local grant/revoke, handlers).
public struct GeoWorld {
    public let scenario: Scenario
    public let seed: UInt64
    public internal(set) var now: Int64 = 0
    var random: SeededGenerator
    var queue = EventQueue<Event>()
    var members: [SimulatedMember]
    var cut: [[Bool]]
    var lossProbability: Double = 0
    var requestCounter: UInt64 = 0
    var checker: Checker
    /// Trace of what happened, kept in full only when asked (replay); otherwise the last lines.
    var trace: TraceLog
    public private(set) var messagesSent = 0
    public internal(set) var eventsProcessed = 0
    /// Election events seen in the run (for the figures of `runImpaired`).
    public private(set) var leasesLost = 0
    public private(set) var campaignsStarted = 0
    /// Restarts with the state wiped (the member starts as batond does without a journal).
    public private(set) var stateWipes = 0
    var faultsActiveUntil: Int64 = 0

    enum Event {
        case deliver(PeerMessage)
        case timer(member: Int, ticket: Int, generation: Int)
        case command(member: Int, ticket: Int, AdminCommand)
        case revokeCompleted(member: Int, ticket: Int, incarnation: Int)
        case handlerCompleted(member: Int, ticket: Int, HandlerPurpose, incarnation: Int)
        case crash(member: Int)
        case restart(member: Int, wiped: Bool)
        case cut(from: Int, to: Int, Bool)
        case loss(Double)
        case siteQuorum(member: Int, Bool)
        case handlerFailing(member: Int, Bool)
        case crashHolder(ticket: Int)
        case healAll
        case finalGrant(ticket: Int, attempt: Int)
    }

    struct SimulatedMember {
        let id: MemberID
        let role: MemberRole
        /// Local clock: offset + real * (1 + ppm / 1e6).
        let clockOffset: Int64
        let driftPartsPerMillion: Int64
        var up = true
        var incarnation = 0
        var instances: [TicketInstance]
        var persisted: [PersistentTicketState?]
        var persistedAt: [LocalInstant]
        var timerGeneration: [Int]
        var cibGranted: [Bool]
        var quorate = true
        var handlerFailing = false

        func localTime(_ real: Int64) -> LocalInstant {
            LocalInstant(nanoseconds: clockOffset + real + real * driftPartsPerMillion / 1_000_000)
        }

        /// The first real instant at which the local clock reads at least `local`.
        func realTime(_ local: LocalInstant) -> Int64 {
            let span = local.nanoseconds - clockOffset
            var real = span * 1_000_000 / (1_000_000 + driftPartsPerMillion)
            while localTime(real) < local { real += 1 }
            while real > 0 && localTime(real - 1) >= local { real -= 1 }
            return real
        }
    }

    public init(scenario: Scenario, seed: UInt64, keepFullTrace: Bool = false) {
        self.scenario = scenario
        self.seed = seed
        var random = SeededGenerator(seed: seed)
        let memberList = scenario.members()
        let drift = Int64(scenario.clockDriftMaxPartsPerMillion)
        var simulated: [SimulatedMember] = []
        for member in memberList {
            let membership: Membership
            do {
                membership = try Membership(members: memberList, selfID: member.id)
            } catch {
                preconditionFailure("scenario membership invalid: \(error)")
            }
            // Half the members run at the drift bound (fast or slow): the worst case.
            let ppm: Int64 = random.chance(0.5) ? (random.chance(0.5) ? drift : -drift) : Int64.random(in: -drift...drift, using: &random)
            let offset = Int64.random(in: 0...1_000_000_000_000, using: &random)
            let instances = (0..<scenario.tickets).map { TicketInstance(policy: scenario.policy(ticket: $0), membership: membership) }
            simulated.append(
                SimulatedMember(
                    id: member.id, role: member.role, clockOffset: offset, driftPartsPerMillion: ppm, instances: instances,
                    persisted: Array(repeating: nil, count: scenario.tickets),
                    persistedAt: Array(repeating: .origin, count: scenario.tickets),
                    timerGeneration: Array(repeating: 0, count: scenario.tickets),
                    cibGranted: Array(repeating: false, count: scenario.tickets)))
        }
        self.random = random
        self.members = simulated
        self.cut = Array(repeating: Array(repeating: false, count: memberList.count), count: memberList.count)
        self.checker = Checker(scenario: scenario)
        self.trace = TraceLog(keepAll: keepFullTrace)
    }

    // MARK: - Running

    /// Runs the whole scenario: start, grants, faults, heal, settle. Returns what was seen.
    public mutating func run() -> RunResult {
        for index in members.indices { startMember(index) }
        // Admins grant every ticket at a random site once the startup queries are done.
        for ticket in 0..<scenario.tickets {
            let site = Int.random(in: 0..<scenario.sites, using: &random)
            let at = (scenario.timeout * 2).nanoseconds + Int64.random(in: 0...1_000_000_000, using: &random)
            queue.push(.command(member: site, ticket: ticket, .grant(force: false, wait: true, waitForCommit: false)), at: at)
        }
        scheduleFaults()
        if let crashAt = scenario.crashHolderAt {
            queue.push(.crashHolder(ticket: 0), at: crashAt.nanoseconds)
        }
        let healAt = scenario.faultPhase.nanoseconds
        queue.push(.healAll, at: healAt)
        let end = healAt + scenario.settlePhase.nanoseconds
        while let next = queue.nextTime, next <= end {
            guard let (time, event) = queue.pop() else { break }
            precondition(time >= now, "time went backwards: \(time) < \(now)")
            now = time
            handle(event)
            eventsProcessed += 1
            checker.check(world: self)
            if checker.stopped { break }
        }
        checker.finish(world: self, healedAt: healAt, end: end)
        return RunResult(
            seed: seed, violations: checker.violations, failoverTimes: checker.failoverTimes,
            failoverAfterLeaseView: checker.failoverAfterLeaseView,
            settleTimes: checker.settleTimes, messages: messagesSent, events: eventsProcessed, stateWipes: stateWipes,
            traceTail: trace.lines, traceHash: trace.hash)
    }

    // MARK: - Events

    mutating func handle(_ event: Event) {
        switch event {
        case .deliver(let message):
            let target = message.to.index
            guard members[target].up, let ticket = ticketIndex(message.ticket) else { return }
            let directives = members[target].instances[ticket].onMessage(message, now: localNow(target))
            apply(directives, member: target, ticket: ticket)
        case .timer(let member, let ticket, let generation):
            guard members[member].up, members[member].timerGeneration[ticket] == generation else { return }
            let directives = members[member].instances[ticket].onTimer(now: localNow(member))
            apply(directives, member: member, ticket: ticket)
        case .command(let member, let ticket, let command):
            guard members[member].up else { return }
            requestCounter += 1
            let request = RequestID(requestCounter)
            trace.add(now, "\(name(member)) admin \(command) \(ticketName(ticket)) (\(request))")
            checker.noteCommand(request: request, member: member, ticket: ticket, command: command, at: now)
            let directives = members[member].instances[ticket].onCommand(command, request: request, now: localNow(member))
            apply(directives, member: member, ticket: ticket)
        case .revokeCompleted(let member, let ticket, let incarnation):
            guard members[member].up, members[member].incarnation == incarnation else { return }
            let directives = members[member].instances[ticket].onLocalRevokeCompleted(now: localNow(member))
            apply(directives, member: member, ticket: ticket)
        case .handlerCompleted(let member, let ticket, let purpose, let incarnation):
            guard members[member].up, members[member].incarnation == incarnation else { return }
            let succeeded = !members[member].handlerFailing
            let directives = members[member].instances[ticket].onHandlerResult(purpose, succeeded: succeeded, now: localNow(member))
            apply(directives, member: member, ticket: ticket)
        case .crash(let member):
            guard members[member].up else { return }
            crashMember(member)
        case .restart(let member, let wiped):
            guard !members[member].up else { return }
            if wiped {
                checker.noteFault()
                trace.add(now, "\(name(member)) state WIPED")
                stateWipes += 1
                for ticket in 0..<scenario.tickets { members[member].persisted[ticket] = nil }
            }
            startMember(member)
        case .cut(let from, let to, let isCut):
            cut[from][to] = isCut
            checker.noteFault()
            trace.add(now, "network \(name(from)) -> \(name(to)) \(isCut ? "cut" : "healed")")
        case .loss(let probability):
            lossProbability = probability
            checker.noteFault()
            trace.add(now, "network loss \(Int(probability * 100))%")
        case .siteQuorum(let member, let quorate):
            guard members[member].up, members[member].quorate != quorate else { return }
            members[member].quorate = quorate
            checker.noteFault()
            trace.add(now, "\(name(member)) site quorum \(quorate ? "regained" : "lost")")
            for ticket in 0..<scenario.tickets {
                let directives = members[member].instances[ticket].onSiteQuorum(quorate, now: localNow(member))
                apply(directives, member: member, ticket: ticket)
            }
        case .handlerFailing(let member, let failing):
            members[member].handlerFailing = failing
            checker.noteFault()
            trace.add(now, "\(name(member)) before-acquire-handler will \(failing ? "fail" : "succeed")")
        case .crashHolder(let ticket):
            if let holder = checker.holder(ofTicket: ticket, world: self) { crashMember(holder) }
        case .healAll:
            healEverything()
        case .finalGrant(let ticket, let attempt):
            // The admin makes sure every ticket is granted after the faults: grant at a random
            // site, again every two timeouts until some site holds it.
            guard checker.holder(ofTicket: ticket, world: self) == nil, attempt < 200 else { return }
            let site = Int.random(in: 0..<scenario.sites, using: &random)
            queue.push(.command(member: site, ticket: ticket, .grant(force: false, wait: true, waitForCommit: false)), at: now)
            queue.push(.finalGrant(ticket: ticket, attempt: attempt + 1), at: now + (scenario.timeout * 2).nanoseconds)
        }
    }

    mutating func apply(_ directives: [Directive], member: Int, ticket: Int) {
        var sentBeforePersist = false
        for directive in directives {
            switch directive {
            case .persist(let state):
                if sentBeforePersist { checker.violation(.persistAfterSend(member: member, ticket: ticket), world: self) }
                members[member].persisted[ticket] = state
                members[member].persistedAt[ticket] = localNow(member)
            case .send(let message):
                sentBeforePersist = true
                transmit(message)
            case .wakeUp(let at):
                members[member].timerGeneration[ticket] += 1
                let real = max(now, members[member].realTime(at))
                queue.push(.timer(member: member, ticket: ticket, generation: members[member].timerGeneration[ticket]), at: real)
            case .grantLocally(let term, _):
                members[member].cibGranted[ticket] = true
                trace.add(now, "\(name(member)) \(ticketName(ticket)) GRANTED locally (term \(term))")
                checker.noteGrantedLocally(member: member, ticket: ticket, world: self)
            case .revokeLocally(let reason):
                let was = members[member].cibGranted[ticket]
                members[member].cibGranted[ticket] = false
                if was || reason != .notHeldAtStartup {
                    trace.add(now, "\(name(member)) \(ticketName(ticket)) REVOKED locally (\(reason.rawValue))")
                }
                checker.noteRevokedLocally(member: member, ticket: ticket, reason: reason, world: self)
                let delay = Int64.random(in: 5_000_000...200_000_000, using: &random)
                queue.push(.revokeCompleted(member: member, ticket: ticket, incarnation: members[member].incarnation), at: now + delay)
            case .setStandby(let on):
                trace.add(now, "\(name(member)) \(ticketName(ticket)) standby \(on ? "on" : "off")")
            case .runHandler(let purpose):
                let delay = Int64.random(in: 10_000_000...300_000_000, using: &random)
                queue.push(
                    .handlerCompleted(member: member, ticket: ticket, purpose, incarnation: members[member].incarnation),
                    at: now + delay)
            case .reply(let request, let outcome):
                trace.add(now, "\(name(member)) \(ticketName(ticket)) reply \(request): \(outcome)")
                checker.noteReply(request: request, outcome: outcome, member: member, ticket: ticket, world: self)
            case .log(let event):
                if case .leaseLost = event { leasesLost += 1 }
                if case .campaignStarted = event { campaignsStarted += 1 }
                trace.add(now, "\(name(member)) \(ticketName(ticket)) \(event)")
                checker.noteEvent(event, member: member, ticket: ticket, world: self)
            }
        }
    }

    mutating func transmit(_ message: PeerMessage) {
        messagesSent += 1
        let from = message.from.index
        let to = message.to.index
        if cut[from][to] { return }
        if lossProbability > 0 && random.chance(lossProbability) { return }
        let copies = random.chance(scenario.faults.duplicationProbability) ? 2 : 1
        for _ in 0..<copies {
            var delay = random.duration(in: scenario.faults.delayMin...scenario.faults.delayMax)
            if random.chance(scenario.faults.delaySpikeProbability) {
                delay = random.duration(in: scenario.faults.delayMax...scenario.faults.delaySpikeMax)
            }
            queue.push(.deliver(message), at: now + delay.nanoseconds)
        }
    }

    mutating func startMember(_ index: Int) {
        members[index].up = true
        members[index].incarnation += 1
        members[index].quorate = true
        members[index].handlerFailing = false
        let memberList = scenario.members()
        let membership: Membership
        do {
            membership = try Membership(members: memberList, selfID: MemberID(index))
        } catch {
            preconditionFailure("membership: \(error)")
        }
        let local = localNow(index)
        trace.add(now, "\(name(index)) started (incarnation \(members[index].incarnation))")
        for ticket in 0..<scenario.tickets {
            members[index].instances[ticket] = TicketInstance(policy: scenario.policy(ticket: ticket), membership: membership)
            let mode: TicketInstance.StartMode
            if let saved = members[index].persisted[ticket] {
                mode = .restored(saved, elapsed: .known(local.since(members[index].persistedAt[ticket])))
            } else {
                mode = .fresh
            }
            let directives = members[index].instances[ticket].start(mode, now: local)
            apply(directives, member: index, ticket: ticket)
        }
    }

    mutating func crashMember(_ index: Int) {
        trace.add(now, "\(name(index)) CRASHED")
        checker.noteCrash(member: index, world: self)
        members[index].up = false
        members[index].incarnation += 1
        for ticket in 0..<scenario.tickets {
            members[index].timerGeneration[ticket] += 1
            // The site dies with everything it ran: its CIB grant ends with it.
            members[index].cibGranted[ticket] = false
        }
    }

    mutating func healEverything() {
        trace.add(now, "HEAL: network restored, members restarted")
        checker.noteHeal(at: now)
        for from in cut.indices { for to in cut.indices { cut[from][to] = false } }
        lossProbability = 0
        for index in members.indices {
            if !members[index].up { startMember(index) }
            members[index].handlerFailing = false
            if !members[index].quorate {
                queue.push(.siteQuorum(member: index, true), at: now)
            }
        }
        for ticket in 0..<scenario.tickets {
            queue.push(.finalGrant(ticket: ticket, attempt: 0), at: now + (scenario.timeout * 2).nanoseconds)
        }
    }

    // MARK: - Faults

    mutating func scheduleFaults() {
        let end = scenario.faultPhase.nanoseconds
        let expire = scenario.expire.nanoseconds
        let scenario = self.scenario
        var queue = self.queue
        FaultPlan.draw(scenario, random: &random) { fault, time, random in
            switch fault {
            case .cut(let from, let to, let isCut): queue.push(.cut(from: from, to: to, isCut), at: time)
            case .crash(let member):
                queue.push(.crash(member: member), at: time)
                if scenario.faults.stateLossProbability > 0 && random.chance(scenario.faults.stateLossProbability) {
                    // Back soon, without its state: the window in which a forgotten promise
                    // may still be relied on by a running holder.
                    queue.push(.restart(member: member, wiped: true), at: min(end, time + Int64.random(in: 0...expire / 2, using: &random)))
                } else {
                    queue.push(.restart(member: member, wiped: false), at: min(end, time + FaultPlan.lasting(scenario, random: &random)))
                }
            case .loss(let probability): queue.push(.loss(probability), at: time)
            case .admin(let member, let ticket, let command): queue.push(.command(member: member, ticket: ticket, command), at: time)
            case .siteQuorum(let site, let quorate): queue.push(.siteQuorum(member: site, quorate), at: time)
            case .handlerFailing(let site, let failing): queue.push(.handlerFailing(member: site, failing), at: time)
            case .extra: preconditionFailure("GeoWorld has no extra fault kinds")
            }
        }
        self.queue = queue
    }

    // MARK: - Helpers

    public func localNow(_ member: Int) -> LocalInstant { members[member].localTime(now) }
    public func name(_ member: Int) -> String { scenario.members()[member].name }
    public func ticketName(_ ticket: Int) -> String { "ticket-\(ticket + 1)" }
    func ticketIndex(_ name: String) -> Int? {
        guard name.hasPrefix("ticket-"), let number = Int(name.dropFirst(7)), number >= 1, number <= scenario.tickets else {
            return nil
        }
        return number - 1
    }
}

/// What one run found.
public struct RunResult: Sendable {
    public let seed: UInt64
    public let violations: [Violation]
    /// From the crash of a holder (with the rest healthy) to the next holder, in nanoseconds.
    public let failoverTimes: [Int64]
    /// From the new holder's own view of the old lease's end to its holding, in nanoseconds.
    public let failoverAfterLeaseView: [Int64]
    /// From the final heal to a holder, per ticket, in nanoseconds.
    public let settleTimes: [Int64]
    public let messages: Int
    public let events: Int
    public let stateWipes: Int
    public let traceTail: [String]
    public let traceHash: UInt64

    public init(
        seed: UInt64, violations: [Violation], failoverTimes: [Int64], failoverAfterLeaseView: [Int64], settleTimes: [Int64],
        messages: Int, events: Int, stateWipes: Int, traceTail: [String], traceHash: UInt64
    ) {
        self.seed = seed
        self.violations = violations
        self.failoverTimes = failoverTimes
        self.failoverAfterLeaseView = failoverAfterLeaseView
        self.settleTimes = settleTimes
        self.messages = messages
        self.events = events
        self.stateWipes = stateWipes
        self.traceTail = traceTail
        self.traceHash = traceHash
    }
}

/// A trace of the run: its lines hash to one number (same seed, same hash), and the last
/// lines are kept for the report of a failing seed.
struct TraceLog {
    let keepAll: Bool
    private(set) var lines: [String] = []
    private(set) var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    static let tailMax = 60

    init(keepAll: Bool) { self.keepAll = keepAll }

    mutating func add(_ time: Int64, _ text: String) {
        let line = "\(formatTime(time)) \(text)"
        for byte in line.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        lines.append(line)
        if !keepAll && lines.count > TraceLog.tailMax * 2 { lines.removeFirst(lines.count - TraceLog.tailMax) }
    }
}

func formatTime(_ nanoseconds: Int64) -> String {
    let millis = nanoseconds / 1_000_000
    var fraction = String(millis % 1000)
    while fraction.count < 3 { fraction = "0" + fraction }
    return "t=\(millis / 1000).\(fraction)s"
}

extension GeoWorld: CheckedWorld {
    public func isUp(_ member: Int) -> Bool { members[member].up }
    public func instance(_ member: Int, ticket: Int) -> TicketInstance? { members[member].instances[ticket] }
    public func cibGranted(_ member: Int, ticket: Int) -> Bool { members[member].cibGranted[ticket] }
    public func healthy(except member: Int) -> Bool {
        lossProbability == 0 && !cut.joined().contains(true)
            && members.indices.allSatisfy { index in
                index == member || (members[index].up && members[index].quorate && !members[index].handlerFailing)
            }
    }
}
