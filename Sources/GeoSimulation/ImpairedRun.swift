import TicketElection

/// What a steady impaired network did to tickets that were held when it began: how often
/// the holder changed and how long no site held each ticket. Issue 10's lossy network (25 %
/// loss, 200 ± 100 ms, 5 % duplication for 180 s) in the simulator, where every message is
/// its own datagram: what is left here is the election's own timing, not the transport's.
public struct ImpairedRun: Sendable {
    public let seed: UInt64
    public let tickets: Int
    /// Real time measured (the impaired span), per ticket.
    public let span: Int64
    /// Times a ticket's holder became another site (summed over tickets).
    public let holderChanges: Int
    /// Time without any holder, summed over tickets, in nanoseconds.
    public let withoutHolder: Int64
    public let leasesLost: Int
    public let campaigns: Int
    /// Tickets not held when the impairment began (granting on a clean network failed).
    public let notHeldAtStart: Int
    public let violations: [Violation]
    public let traceTail: [String]

    /// The share of the measured time without a holder, over all tickets.
    public var withoutHolderShare: Double { Double(withoutHolder) / Double(span * Int64(tickets)) }
}

extension GeoWorld {
    /// Starts every member, has an admin grant each ticket (ticket i at site i mod sites) on a
    /// network with the scenario's delays and duplication but no loss, and once every ticket
    /// is held (or 60 s have passed) turns on `loss` for `span`, watching the holders after
    /// every event. The scenario's fault weights should be zero (`FaultProfile.calm` with
    /// delays and duplication set): nothing else happens.
    public mutating func runImpaired(loss: Double, span: Duration) -> ImpairedRun {
        precondition(loss >= 0 && loss < 1, "loss \(loss) outside 0..<1")
        precondition(span > .zero, "empty span")
        for index in members.indices { startMember(index) }
        for ticket in 0..<scenario.tickets {
            let at = (scenario.timeout * 4).nanoseconds
            queue.push(.command(member: ticket % scenario.sites, ticket: ticket, .grant(force: false, wait: true, waitForCommit: false)), at: at)
        }
        func step() -> Bool {
            guard let (time, event) = queue.pop() else { return false }
            precondition(time >= now, "time went backwards: \(time) < \(now)")
            now = time
            handle(event)
            eventsProcessed += 1
            checker.check(world: self)
            return true
        }
        let grantDeadline = Int64(60_000_000_000)
        while now < grantDeadline, (0..<scenario.tickets).contains(where: { checker.holder(ofTicket: $0, world: self) == nil }) {
            guard step() else { break }
        }
        var holders = (0..<scenario.tickets).map { checker.holder(ofTicket: $0, world: self) }
        let notHeld = holders.filter { $0 == nil }.count
        lossProbability = loss
        trace.add(now, "network loss \(Int(loss * 100))% from now on")
        let start = now
        let end = start + span.nanoseconds
        let lostBefore = leasesLost, campaignsBefore = campaignsStarted
        var lastHolder = holders
        var changes = 0
        var without: Int64 = 0
        var lastTime = start
        while let next = queue.nextTime, next <= end, !checker.stopped {
            // Time since the last event counts with the holders as they were.
            let elapsed = next - lastTime
            without += elapsed * Int64(holders.filter { $0 == nil }.count)
            lastTime = next
            _ = step()
            for ticket in 0..<scenario.tickets {
                let holder = checker.holder(ofTicket: ticket, world: self)
                if let holder, let previous = lastHolder[ticket], previous != holder { changes += 1 }
                if let holder { lastHolder[ticket] = holder }
                holders[ticket] = holder
            }
        }
        without += (end - lastTime) * Int64(holders.filter { $0 == nil }.count)
        return ImpairedRun(
            seed: seed, tickets: scenario.tickets, span: span.nanoseconds, holderChanges: changes, withoutHolder: without,
            leasesLost: leasesLost - lostBefore, campaigns: campaignsStarted - campaignsBefore, notHeldAtStart: notHeld,
            violations: checker.violations, traceTail: trace.lines)
    }
}

extension Scenario {
    /// Issue 10's lossy network, minus the loss (given to `runImpaired`): 2 sites and an
    /// arbitrator, 3 tickets with the demo's timings (expire 10 s, timeout 1 s, retries 3),
    /// every message delayed 200 ± 100 ms and duplicated with probability 5 %.
    public static func lossyNetwork(sites: Int = 2, arbitrators: Int = 1, tickets: Int = 3) -> Scenario {
        var faults = FaultProfile.calm
        faults.delayMin = .milliseconds(100)
        faults.delayMax = .milliseconds(300)
        faults.duplicationProbability = 0.05
        return Scenario(sites: sites, arbitrators: arbitrators, tickets: tickets, faults: faults)
    }
}
