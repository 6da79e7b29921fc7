import TicketElection

/// Grants the shell held back because the batch that made them could not be made durable (a
/// failed state write: nothing that depends on unwritten state may reach the site).
///
/// The core counts such a ticket as granted here and never says so again; if its leadership
/// survives (the disk works again, renewals go through), the ticket would stay led with a valid
/// lease and never granted in the CIB: no site runs its resources. So after the next durable
/// write the shell writes the grants of the tickets the core still leads and grants here; a
/// revoke in between supersedes the held grant. (Found by `geo-simulate --model daemon`, seed
/// 100565: a forced grant during a span of failing writes, led until the end of the run.)
public struct WithheldGrants: Sendable {
    private var tickets: Set<String> = []

    public init() {}

    public var isEmpty: Bool { tickets.isEmpty }

    public mutating func withhold(_ ticket: String) { tickets.insert(ticket) }

    /// A revoke of `ticket` reached the site: the held grant is void.
    public mutating func forget(_ ticket: String) { tickets.remove(ticket) }

    /// After a durable write: the grants to write now (tickets still led and granted here, in
    /// name order); the others are dropped.
    public mutating func release(from core: DaemonCore, now: LocalInstant) -> [(ticket: String, action: DaemonCore.CIBAction)] {
        defer { tickets = [] }
        return tickets.sorted().compactMap { name in
            guard let instance = core.instance(named: name), instance.isLeader, instance.grantedLocally else { return nil }
            return (name, .grant(term: instance.term, leaseRemaining: instance.status(now: now).leaseRemaining))
        }
    }
}
