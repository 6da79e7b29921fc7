import CIB

/// What baton-crmd processes say to each other over the CPG group. Every message reaches every
/// member (the sender too) in one total order; the join round's messages carry the fingerprint
/// of the view they were built for.

/// A member's state, sent by every member after each view change that brings new members
/// (and after every view change while it has not yet settled): the join round.
public struct Announce: Hashable, Sendable {
    /// The view this announce was built for (`View.fingerprint`).
    public var view: UInt64
    /// The node's name from the nodelist (for status on nodes that lack it in theirs).
    public var nodeName: String
    /// The DC the sender follows, nil when it has none (a new process, or a partition whose
    /// DC left while no view had settled).
    public var dc: Member?
    /// Every node the sender has ever seen in the group, or learned that others saw: nodes
    /// never seen by anyone are the only ones a cold start waits for (dc-deadtime).
    public var seen: [NodeID]
    /// The sender's own transient attributes (it holds the authoritative copy of its own).
    public var attributes: [String: String]
    /// Cluster options (no-quorum-policy …) as the sender knows them.
    public var clusterOptions: [String: String]
    /// The last CIB write sequence the sender applied.
    public var cibSequence: UInt64
    /// The version of the sender's CIB: the best one (highest version) wins the round.
    public var cibVersion: CIBVersion
    /// The versioned digest of the sender's CIB: members that differ from the best one get it.
    public var cibDigest: String
    /// The last sequence a majority of the nodelist's nodes is known to hold here: the best CIB
    /// is chosen among the announces with the highest, so a CIB whose writes no majority may
    /// hold never overrides one whose writes a majority acknowledged.
    public var confirmedSequence: UInt64
    /// The site's ticket states as the sender holds them (Tickets.swift: the round keeps the newest).
    public var tickets: [String: [String: String]]

    public init(view: UInt64, nodeName: String, dc: Member?, seen: [NodeID], attributes: [String: String],
                clusterOptions: [String: String], cibSequence: UInt64, cibVersion: CIBVersion = CIBVersion(), cibDigest: String = "",
                confirmedSequence: UInt64 = 0, tickets: [String: [String: String]] = [:]) {
        self.tickets = tickets
        self.confirmedSequence = confirmedSequence
        self.view = view
        self.nodeName = nodeName
        self.dc = dc
        self.seen = seen
        self.attributes = attributes
        self.clusterOptions = clusterOptions
        self.cibSequence = cibSequence
        self.cibVersion = cibVersion
        self.cibDigest = cibDigest
    }
}

/// Where an attribute write lands: one node's transient attributes, or the cluster options.
public enum AttributeTarget: Hashable, Sendable {
    case node(NodeID)
    case cluster
}

/// A write of one attribute (value nil = delete). As a request it is sent by any member and
/// acted on only by the DC; as an update it is the DC's ordered broadcast, applied everywhere.
public struct AttributeChange: Hashable, Sendable {
    public var view: UInt64
    public var origin: Member
    public var requestID: UInt64
    public var target: AttributeTarget
    public var name: String
    public var value: String?

    public init(view: UInt64, origin: Member, requestID: UInt64, target: AttributeTarget, name: String, value: String?) {
        self.view = view
        self.origin = origin
        self.requestID = requestID
        self.target = target
        self.name = name
        self.value = value
    }
}

/// A CIB write on its way to the DC (request) or back from it (applied, with the DC's sequence).
/// In a request the payload is an encoded `CIBOperation`; in the DC's ordered broadcast it is
/// the v2 patchset's text every member applies (empty: the write changed nothing).
public struct CIBWrite: Hashable, Sendable {
    public var view: UInt64
    public var origin: Member
    public var requestID: UInt64
    /// 0 in a request; the DC's sequence number in the applied broadcast.
    public var sequence: UInt64
    public var payload: [UInt8]

    public init(view: UInt64, origin: Member, requestID: UInt64, sequence: UInt64, payload: [UInt8]) {
        self.view = view
        self.origin = origin
        self.requestID = requestID
        self.sequence = sequence
        self.payload = payload
    }
}

public enum Message: Hashable, Sendable {
    case announce(Announce)
    /// A member's dc-deadtime passed while nodes never seen were missing: elect without them.
    case deadtimeExpired(view: UInt64)
    /// The DC acknowledges the join of the view's members.
    case joinAck(view: UInt64, dc: Member, members: [Member])
    case attributeRequest(AttributeChange)
    case attributeUpdate(AttributeChange)
    case cibWriteRequest(CIBWrite)
    case cibWriteApplied(CIBWrite)
    /// The DC refused a write (the reason goes back to the admin who asked).
    case cibWriteRefused(view: UInt64, origin: Member, requestID: UInt64, reason: String)
    /// A member could not apply a patchset: it asks the DC for the whole CIB.
    case cibSyncRequest(view: UInt64)
    /// One chunk of a whole CIB, from the DC or the holder of the round's best CIB.
    case cibSync(CIBSync)
    /// The DC asks a node to run one action of its graph (ResourceMessages.swift).
    case executeRequest(ExecuteRequest)
    /// A node's executor result, recorded by every member.
    case executeResult(ExecuteResult)
    /// A node's own resource history, sent by it at each join round.
    case resourceHistory(ResourceHistoryReport)
    /// The sender holds the DC's CIB writes of this view up to `sequence` (applied, or in the
    /// sync it took): a write is acknowledged once members of a majority of the nodelist's
    /// nodes hold it.
    case cibHeld(view: UInt64, sequence: UInt64)
    /// A fence action for the node it names to run (FenceMessages.swift).
    case fenceRequest(FenceRequest)
    /// A fence action's outcome (or an admin's confirm-down), recorded by every member.
    case fenceResult(FenceRecord)
    /// A ticket change on its way to the DC (Tickets.swift).
    case ticketRequest(SiteTicketChange)
    /// The DC's ordered ticket change, applied everywhere.
    case ticketUpdate(SiteTicketChange)
    /// Wire 20 (HistoryForget.swift): a node's history of some resources forgotten everywhere.
    case historyForget(HistoryForget)
    /// Wire 21 (FailInjection.swift): crm_resource --fail.
    case failInjection(FailInjection)
}
