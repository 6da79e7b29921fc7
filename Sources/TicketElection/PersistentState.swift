/// What survives a restart of batond for one ticket. Written before any message that depends
/// on it leaves. Times are stored as spans remaining at the moment of the snapshot; on restore
/// the shell passes a lower bound of the time that passed since it wrote the file (zero when
/// unknown), so the restored promises can only be longer than the real ones, never shorter.
public struct PersistentTicketState: Sendable, Equatable {
    public var term: UInt64
    /// The member this one voted for in `term`, if any.
    public var votedFor: MemberID?
    /// The newest lease this member promised (to another leader or to itself).
    public var promise: LeaseView?
    /// This member led with a lease of this much left (its own, shortened view).
    public var leading: Duration?
    /// Whether the ticket is meant to be held somewhere (granted and not revoked by an admin).
    public var intendedGranted: Bool
    public var standby: Bool
    /// Manual tickets: sites known to have granted it.
    public var manualHolders: [MemberID]
    /// Site attributes of this ticket at this site (booth's geostore).
    public var attributes: [String: String]

    public init(
        term: UInt64 = 0, votedFor: MemberID? = nil, promise: LeaseView? = nil, leading: Duration? = nil,
        intendedGranted: Bool = false, standby: Bool = false, manualHolders: [MemberID] = [],
        attributes: [String: String] = [:]
    ) {
        self.term = term
        self.votedFor = votedFor
        self.promise = promise
        self.leading = leading
        self.intendedGranted = intendedGranted
        self.standby = standby
        self.manualHolders = manualHolders
        self.attributes = attributes
    }
}

extension PersistentTicketState {
    /// The same state `elapsed` later: its spans shortened, the ones that ran out dropped —
    /// what `TicketInstance.persistentState(now:)` gives `elapsed` after it gave this. batond
    /// takes each state when its instance asks for the write and writes the batch at the end
    /// of the event-loop turn, aged to the moment of the write.
    public func aged(by elapsed: Duration) -> PersistentTicketState {
        guard elapsed > .zero else { return self }
        var aged = self
        aged.promise = promise.flatMap { view in
            view.remaining > elapsed
                ? LeaseView(leader: view.leader, term: view.term, remaining: view.remaining - elapsed, confirmed: view.confirmed) : nil
        }
        aged.leading = leading.flatMap { $0 > elapsed ? $0 - elapsed : nil }
        return aged
    }
}
