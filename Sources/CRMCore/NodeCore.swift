import CIB

/// baton-crmd's node core: membership, quorum, the DC, join, transient attributes, and the
/// path of a CIB write through the DC. No I/O, no clock: the shell feeds CPG's membership
/// changes and messages, quorum, timers and admin requests; the core answers with directives.
///
/// Why no election messages: CPG delivers the same views and, between two views, the same
/// messages in one order to every member (virtual synchrony). A core that decides only at
/// those points decides the same thing on every member. So:
///
/// | state     | input                                  | next      | directives                               |
/// |-----------|----------------------------------------|-----------|------------------------------------------|
/// | any       | view change with new members           | joining   | broadcast announce (join round); start   |
/// |           |                                        |           | the dc-deadtime timer                    |
/// | joining   | any view change                        | joining   | the same (the round starts again)        |
/// | joining   | last member's announce, a DC claimed   | settled   | DC = the claimed DC most members follow  |
/// |           | by a member                            |           | (ties: lowest member); the DC acks       |
/// | joining   | last announce, no claim, no node that  | settled   | DC = lowest member (node id, pid); ack   |
/// |           | nobody ever saw is missing             |           |                                          |
/// | joining   | last announce, no claim, unseen nodes  | joining   | (wait for the dc-deadtime timer)         |
/// |           | missing                                |           |                                          |
/// | joining   | timer dc-deadtime                      | joining   | broadcast deadtimeExpired                |
/// | joining   | deadtimeExpired of this view, all in   | settled   | DC = lowest member; ack                  |
/// | joining   | deadtimeExpired of this view, some     | settled   | as above among those that announced; the |
/// |           | members never announced                |           | others stay out of the DC choice         |
/// | settled   | a late announce of this view           | settled   | its attributes taken; the DC acks it     |
/// | settled   | view change, members only left, DC in  | settled   | (none: the DC stays)                     |
/// | settled   | view change, members only left, DC out | settled   | DC = lowest joined member, at once: no   |
/// |           |                                        |           | round (none left joined: a round)        |
///
/// A settled view's members all took part in its round, so after a DC loss every member
/// computes the same new DC from the view alone (the brief's "no extra round"). A cold start
/// with every nodelist node present costs one round of announces (milliseconds); Pacemaker's
/// dc-deadtime wait is kept only for nodes no member has ever seen. A partition heal is a view
/// change with new members: both DCs are claimed in the round, the one more members follow
/// stays (ties: the lowest), so a healed cluster has one DC.
///
/// Attribute and CIB writes: any member sends a request; only the DC acts on it, with an
/// ordered update that every member applies. A request carries the view it was sent in and
/// the DC drops requests of another view; the origin keeps its requests until it sees them
/// applied and sends them again after every view change (a DC that died with them, a view
/// that changed under them). The DC orders CIB writes only while quorate and while its group
/// holds baton-crmd processes of more than half the nodelist's nodes (two groups never both
/// do); until then it holds them. A round takes the highest CIB sequence any member announced.
/// Updates are applied only in a settled view, by every member
/// alike, so the stores stay equal everywhere. A node's attributes are dropped when its last
/// member leaves; the round restores each member's own attributes from its announce.
///
/// The CIB (CIBService.swift; Pacemaker's based, CRM-LIVE.md §1.2), one copy per member:
///
/// | event                                   | what happens                                                  |
/// |-----------------------------------------|---------------------------------------------------------------|
/// | admin write (`requestCIB`) anywhere     | request to the DC (view-stamped, resent after view changes)   |
/// | request at the DC                       | executed on its newest copy (`projected`: its ordered writes  |
/// |                                         | included); version by Pacemaker's rules (configuration: epoch |
/// |                                         | +1, num_updates 0; else num_updates +1; a higher version the  |
/// |                                         | write brings is kept); the v2 patchset (source, target, digest)|
/// |                                         | broadcast — or a refusal with the reason, for the origin      |
/// | the DC's patchset delivered             | every member applies it (version and digest checked); on the  |
/// |                                         | origin this is the admin's acknowledgement; a member that     |
/// |                                         | cannot apply it asks the DC for the whole CIB (a repair)      |
/// | end of a join round                     | best CIB of the announces: highest version, ties the DC's; if |
/// |                                         | any member's version or digest differs, its holder sends it  |
/// |                                         | (chunks, `SyncChunks`); those that differ take it; the DC     |
/// |                                         | holds writes until it has it                                  |
/// | view change, members only left          | undelivered patchsets are dropped everywhere (their view);    |
/// |                                         | a cut sync: a round (round's sync, or the new DC repairing)   |
/// |                                         | or the repair asked for again                                 |
///
/// A member waiting for a sync skips patchsets: the sender's sync comes after them in the
/// group's order and holds them. The status section is not replicated: every member renders
/// it from what the round made equal (members, joins, attributes) at query time; it is never
/// written to disk.
///
/// Acknowledgement: CPG delivers in agreed order, not safe order. A DC that broadcasts a write
/// just as a partition cuts it off may see it delivered on its side only; had its origin been
/// acknowledged then, the majority's next write at that sequence would overwrite it at the
/// heal. So every member that applied a write says so (`cibHeld`, its highest sequence), and
/// a write counts (`cibApplied`: the admin's "ok", the CIB persisted) once members on more
/// than half the nodelist's nodes hold it. At a view change, the members that come along
/// from the old view delivered the same writes (virtual synchrony): on a majority of the
/// nodes, they hold what is pending; otherwise the node returns to its confirmed CIB (the
/// majority's side decides) and the origin's admin is told the write's fate is unknown.
///
/// Quorum: Pacemaker 2.1.5's CIB manager takes writes without quorum (`cibadmin -f` sets
/// `cib_quorum_override`, which pacemaker-based never reads; it has no quorum check at all):
/// at a heal the best CIB wins by version, and the losing partition's writes are superseded,
/// acknowledged or not. This one does not: a DC orders CIB writes only while quorate and while
/// its group holds baton-crmd processes of more than half the nodelist's nodes (two groups
/// cannot both), and holds the requests it gets otherwise until that returns (their origins
/// keep them pending and send them again after a view change). So no acknowledged write is
/// lost at a heal; an admin in a partition without quorum waits (or gives up: the write is then
/// made when quorum returns, as long as the origin lives).
///
/// Large CIBs (point 4): a versioned digest costs ~10 ms of CPU per MB (0.7 s at 71 MB), paid
/// by the DC making the patchset and by every member applying it. Measured with crm-bench
/// (release baton-crmd, 3 nodes on 2 loaded cores, 1,000 resources = 168 KB): a write on a
/// non-DC applied everywhere p50 19 ms with a digest in every patchset, 9 ms with one in every
/// 64th; 8 ms with 10 resources. So a CIB up to `digestEveryWriteBytesMax` (64 KiB) gets a
/// digest in every patchset, a larger one in every `digestInterval`-th (16): members compare
/// at that version, which CPG's total order makes the same everywhere, and a mismatch is a
/// repair (full sync). Versions are checked on every write; a sync carries its digest.
public struct NodeCore: Sendable {
    public enum TimerKind: Hashable, Sendable {
        case dcDeadtime
    }

    public enum Input: Hashable, Sendable {
        /// A CPG configuration change: the group's members after it, who joined, who left.
        case membership(members: [Member], joined: [Member], left: [Member])
        /// votequorum's quorate flag for this node's partition.
        case quorum(quorate: Bool)
        /// The nodelist changed (a corosync reload); the same on every node.
        case nodelist([ConfiguredNode])
        /// A CPG message, in the group's total order, from `sender` (this member's own too).
        case message(sender: Member, bytes: [UInt8])
        case timer(TimerKind)
    }

    public enum Directive: Hashable, Sendable {
        case broadcast(Message)
        case startTimer(TimerKind, Duration)
        case cancelTimer(TimerKind)
        case dcChanged(from: Member?, to: Member?)
        case quorumChanged(quorate: Bool)
        /// A CIB write the DC ordered, applied on this node (sequence = the DC's order) and held
        /// by members on a majority of the nodelist's nodes. On the write's origin it is the
        /// admin's acknowledgement; in sequence order everywhere.
        case cibApplied(CIBWrite)
        /// The DC refused this node's write `requestID` (for the admin who asked), or a split
        /// left its fate unknown.
        case cibRefused(requestID: UInt64, reason: String)
        /// `confirmedCIB` changed (writes acknowledged, a whole CIB taken): persist its
        /// configuration.
        case cibCommitted(CIBVersion)
        /// A peer's message could not be decoded: counted and dropped.
        case garbage(sender: Member, reason: String)
        /// The DC asks this node's executor to run an action (ResourceHistory.swift).
        case execute(ExecuteRequest)
        /// A node's result, recorded here (every member alike): for the DC's graph.
        case resourceResult(ExecuteResult)
        /// A node's history was taken at a join round, or the view changed: the inputs of the
        /// scheduler changed.
        case resourcesChanged
        /// This node's own execute or fence request (`key`: its transition key) was delivered
        /// where every member drops it (a view other than the one it was stamped with, or a
        /// join round): nobody runs it, no result will come. For the DC's graph.
        case requestDropped(key: String, reason: String)
        /// This node is to run a fence action (FenceMessages.swift).
        case fence(FenceRequest)
        /// A fence result recorded here (every member alike): for the DC's graph and admins.
        case fenceRecorded(FenceRecord)
        /// A ticket change applied here in the DC's order (Tickets.swift): a new transition;
        /// on its origin, the admin's answer.
        case ticketsApplied(SiteTicketChange)
    }

    /// Why an admin request was refused (the admin's input, never the core's state).
    public enum RequestError: Error, Equatable, Sendable, CustomStringConvertible {
        case invalid(String)
        case tooManyPending(limit: Int)
        public var description: String {
            switch self {
            case .invalid(let reason): reason
            case .tooManyPending(let limit): "\(limit) writes already wait for the DC"
            }
        }
    }

    public struct Settings: Sendable, Hashable {
        public var local: Member
        public var nodelist: [ConfiguredNode]
        /// Pacemaker's dc-deadtime, waited only for nodes never seen (default 20 s).
        public var dcDeadtime: Duration
        /// Writes this member may have waiting for the DC at once.
        public var pendingWritesMax: Int
        /// Cluster options this node starts with (from the initial CIB), before a round.
        public var initialClusterOptions: [String: String]
        /// CIBs up to this many bytes get a digest in every patchset (point 4); larger ones
        /// every `digestInterval`-th write (see the header for the measurement).
        public var digestEveryWriteBytesMax: Int
        public var digestInterval: Int
        /// This node runs an executor: it reports its resource history at each join round and
        /// the DC waits for every member's (ResourceHistory.swift). Off where no executor runs
        /// (the simulation of the membership core).
        public var runsResources = false
        /// Corosync's totem.cluster_name: the DC writes it as the `cluster-name` option.
        public var clusterName: String?
        /// As DC, write Pacemaker's controller entries (`ControllerEntries`) into the CIB.
        public var writesControllerEntries: Bool

        public init(local: Member, nodelist: [ConfiguredNode], dcDeadtime: Duration = .seconds(20),
                    pendingWritesMax: Int = 10_000, initialClusterOptions: [String: String] = [:],
                    digestEveryWriteBytesMax: Int = 1 << 16, digestInterval: Int = 16, clusterName: String? = nil,
                    writesControllerEntries: Bool = false) {
            self.clusterName = clusterName
            self.writesControllerEntries = writesControllerEntries
            precondition(digestEveryWriteBytesMax >= 0 && digestInterval >= 1, "NodeCore.Settings: digest bounds must be positive")
            self.digestEveryWriteBytesMax = digestEveryWriteBytesMax
            self.digestInterval = digestInterval
            precondition(dcDeadtime > .zero, "NodeCore.Settings: dcDeadtime must be positive")
            precondition(pendingWritesMax >= 1, "NodeCore.Settings: pendingWritesMax must be positive")
            precondition(nodelist.count <= MessageWire.nodesMax, "NodeCore.Settings: \(nodelist.count) nodes over \(MessageWire.nodesMax)")
            self.local = local
            self.nodelist = nodelist
            self.dcDeadtime = dcDeadtime
            self.pendingWritesMax = pendingWritesMax
            self.initialClusterOptions = initialClusterOptions
        }
    }

    public private(set) var settings: Settings
    /// The current view; nil until the first one that holds this member.
    public private(set) var view: View?
    /// True once this view's join round completed (every member announced and a DC was chosen).
    public private(set) var settled = false
    public private(set) var dc: Member?
    public private(set) var quorate = false
    /// Members the DC acknowledged in this view (its joinAck).
    public private(set) var acknowledged: Set<Member> = []
    /// Transient attributes per node, equal on every settled member.
    public internal(set) var attributes: [NodeID: [String: String]] = [:]
    public private(set) var clusterOptions: [String: String]
    /// Every node some member has seen in the group.
    public internal(set) var seen: Set<NodeID> = []
    /// The last CIB write applied here (the DC's sequence).
    public private(set) var cibSequence: UInt64 = 0
    /// Peer messages dropped because they could not be decoded.
    public private(set) var garbageCount = 0
    public private(set) var lastGarbage: String?
    /// Messages decoded but out of place (a request to a non-DC, an update of another view …).
    public private(set) var ignoredCount = 0

    private var announces: [Member: Announce] = [:]
    /// The members that took part in the last settled round (or joined late, acknowledged by
    /// the DC), still in the view: the only ones a DC is chosen from.
    public private(set) var joinedMembers: Set<Member> = []
    private var deadtimeExpired = false
    private var deadtimeTimerRunning = false
    private var nextRequestID: UInt64 = 1
    private var pendingAttributes: [UInt64: AttributeChange] = [:]
    private var pendingCIBWrites: [UInt64: CIBWrite] = [:]
    /// On the DC: the sequence its next ordered CIB write gets.
    private var nextCIBSequence: UInt64 = 1

    /// This node's CIB, equal on every settled member that awaits no sync.
    public internal(set) var cib: CIBReplica
    /// On the DC: `cib` with the writes it ordered and that are not delivered yet.
    private var projected: CIBReplica
    /// The member whose whole CIB this node waits for (patchsets are skipped meanwhile: the
    /// sync holds them). Nil when in step.
    public private(set) var awaitingSyncFrom: Member?
    /// Known to every member: the holder of the round's best CIB, until its sync is delivered.
    private var roundSyncHolder: Member?
    /// Known to every member: those that asked the DC for a sync it has not yet sent in full.
    private var repairing: Set<Member> = []
    /// On the DC: the CIB write requests of this view it may not order yet (it waits for the
    /// round's CIB sync, or it has no quorum of baton-crmd nodes), in the order they came.
    private var heldCIBWrites: [CIBWrite] = []
    private var reassembler = SyncChunks.Reassembler()
    var nextTransfer: UInt64 = 1
    /// Each member's history report of this round on its way in (one per sender: CPG keeps a
    /// sender's order), until its last chunk.
    var historyParts: [NodeID: SyncChunks.Reassembler] = [:]
    /// Every node's resource history (node_state with its lrm only), recorded in the group's
    /// order: the same on every member (ResourceHistory.swift).
    public internal(set) var resourceStatus = Status()
    /// The nodes whose own history report of this view's round was taken.
    public internal(set) var historyReported: Set<NodeID> = []
    /// This node's own results broadcast and not yet delivered back, and whether its round's
    /// history report waits for them (it must hold them: the others replace what they hold).
    var ownResultsInFlight = 0
    var historyReportDue = false
    /// Nodes that left the group without asking to (no `shutdown`) and are not fenced yet:
    /// their node_state says expected="member" (unclean for the scheduler). FenceMessages.swift.
    public internal(set) var lostNodes: Set<NodeID> = []
    /// Fence results in the group's order (at most `fenceHistoryMax`).
    public internal(set) var fenceHistory: [FenceRecord] = []
    /// Fence requests delivered and not answered yet, by key (every member alike), and the
    /// requests this node is to answer with the result of one of them (FenceMessages.swift).
    public internal(set) var fencesInFlight: [String: FenceRequest] = [:]
    var mergedFences: [String: [FenceRequest]] = [:]
    /// By target: the key of the request in flight that runs the devices (the others wait).
    var fencesRunning: [String: String] = [:]
    var fenceArrival: [String: UInt64] = [:]
    var fenceArrivals: UInt64 = 0
    /// Whole CIBs this node took (join rounds and repairs).
    public private(set) var cibSyncsTaken = 0
    /// The site's ticket states, equal on every settled member (Tickets.swift).
    public internal(set) var tickets: [String: [String: String]] = [:]
    var pendingTickets: [UInt64: SiteTicketChange] = [:]
    var nextTicketRequestID: UInt64 = 0
    /// On the DC: ticket updates it broadcast and has not seen delivered yet.
    var ticketUpdatesInFlight = 0
    /// Why the last patchset or sync failed here (then a sync was asked for).
    public private(set) var lastCIBError: String?

    /// A write applied here in the DC's order that no majority of the nodelist's nodes is
    /// known to hold yet, with this node's CIB after it (nil: skipped while a sync was awaited).
    struct Unconfirmed: Sendable {
        let write: CIBWrite
        var after: CIBReplica?
    }
    /// Applied, not yet acknowledged writes, in sequence order (see "Acknowledgement").
    private var unconfirmed: [Unconfirmed] = []
    /// The CIB as of the last write a majority holds (or the last whole CIB a round gave):
    /// what is persisted, and what a member goes back to when a split leaves the fate of its
    /// unconfirmed writes unknown.
    public private(set) var confirmedCIB: CIBReplica
    private var confirmedSequence: UInt64 = 0
    /// In this view: the highest sequence each member said it holds (`cibHeld`).
    private var heldUpTo: [Member: UInt64] = [:]
    /// Writes applied here and not yet held by a majority of the nodelist's nodes.
    public var unconfirmedWrites: Int { unconfirmed.count }
    /// The DC's sequence `confirmedCIB` is at (kept on disk with it).
    public var confirmedCIBSequence: UInt64 { confirmedSequence }

    /// `cib` and `cibSequence`: what the node kept on disk (its confirmed CIB and the DC's
    /// sequence it had reached), or an empty CIB at sequence 0.
    public init(settings: Settings, cib: CIBReplica = .empty, cibSequence: UInt64 = 0) {
        self.settings = settings
        clusterOptions = settings.initialClusterOptions
        self.cib = cib
        projected = cib
        confirmedCIB = cib
        self.cibSequence = cibSequence
        confirmedSequence = cibSequence
        nextCIBSequence = cibSequence + 1
    }

    public var local: Member { settings.local }
    public var isDC: Bool { settled && dc == settings.local }
    /// On the DC: it ordered CIB writes that a majority has not acknowledged yet (a graph made
    /// now would be aborted by their commit; OwnWritesSettle).
    public var ownWritesUnacknowledged: Bool { isDC && nextCIBSequence > confirmedSequence + 1 }
    /// This node was DC and stays in the view while a join round runs (a node joined): it
    /// keeps its transition run (what is in flight is waited for, as Pacemaker's DC keeps its
    /// graph through a join) and schedules again only if the round keeps it DC. False once a
    /// round chose another DC.
    public var keepsTransitionRun: Bool { dc == settings.local && (view?.contains(settings.local) ?? false) }
    public var noQuorumPolicy: String { clusterOptions[AttributeName.noQuorumPolicy] ?? "stop" }
    public var pendingWrites: Int { pendingAttributes.count + pendingCIBWrites.count + pendingTickets.count }
    /// Requests this node sent and still waits to see ordered, by request id.
    public var pendingCIBRequestIDs: Set<UInt64> { Set(pendingCIBWrites.keys) }

    // MARK: inputs

    public mutating func handle(_ input: Input) -> [Directive] {
        switch input {
        case .membership(let members, let joined, let left):
            return viewChanged(members: members, joined: joined, left: left)
        case .quorum(let quorate):
            guard quorate != self.quorate else { return [] }
            self.quorate = quorate
            // A DC that held writes while without quorum orders them now (same view: their
            // origins still wait; a view change drops them and the origins send them again).
            return [.quorumChanged(quorate: quorate)] + orderHeldWrites()
        case .nodelist(let nodes):
            precondition(nodes.count <= MessageWire.nodesMax, "NodeCore: nodelist of \(nodes.count) over \(MessageWire.nodesMax)")
            settings.nodelist = nodes
            return completeRoundIfReady() + orderHeldWrites()
        case .message(let sender, let bytes):
            let message: Message
            do {
                message = try MessageWire.decode(bytes)
            } catch {
                garbageCount += 1
                let reason = "\(bytes.count) bytes from \(sender): \(error)"
                lastGarbage = reason
                return [.garbage(sender: sender, reason: reason)]
            }
            return received(message, from: sender)
        case .timer(.dcDeadtime):
            deadtimeTimerRunning = false
            guard let view, !settled else { return [] }
            return [.broadcast(.deadtimeExpired(view: view.fingerprint))]
        }
    }

    /// An admin's attribute write (value nil deletes), forwarded to the DC.
    public mutating func requestAttribute(_ target: AttributeTarget, name: String, value: String?) throws(RequestError) -> [Directive] {
        guard !name.isEmpty, name.utf8.count <= MessageWire.nameBytesMax else {
            throw .invalid("attribute name must be 1 to \(MessageWire.nameBytesMax) bytes")
        }
        if let value, value.utf8.count > MessageWire.valueBytesMax {
            throw .invalid("attribute value of \(value.utf8.count) bytes over \(MessageWire.valueBytesMax)")
        }
        if case .node(let node) = target, !settings.nodelist.contains(where: { $0.nodeID == node }) {
            throw .invalid("node \(node) is not in the nodelist")
        }
        guard pendingWrites < settings.pendingWritesMax else { throw .tooManyPending(limit: settings.pendingWritesMax) }
        let change = AttributeChange(view: view?.fingerprint ?? 0, origin: local, requestID: takeRequestID(),
                                     target: target, name: name, value: value)
        pendingAttributes[change.requestID] = change
        return sendPendingIfSettled(attributes: [change], writes: [])
    }

    /// A CIB write, forwarded to the DC; `cibApplied` comes back on every member in the DC's
    /// order (on this node: the acknowledgement), or `cibRefused` here. Returns the request id.
    public mutating func requestCIB(_ operation: CIBOperation, stamp: CIBWriteStamp? = nil) throws(RequestError) -> (requestID: UInt64, directives: [Directive]) {
        try requestCIBWrite(operation.encoded(stamp: stamp))
    }

    /// `requestCIB` with the operation already encoded (`CIBOperation.encoded()`); the DC
    /// refuses a payload that is not one.
    public mutating func requestCIBWrite(_ payload: [UInt8]) throws(RequestError) -> (requestID: UInt64, directives: [Directive]) {
        guard payload.count <= MessageWire.cibPayloadBytesMax else {
            throw .invalid("CIB write of \(payload.count) bytes over \(MessageWire.cibPayloadBytesMax) (one message): send a patch")
        }
        guard pendingWrites < settings.pendingWritesMax else { throw .tooManyPending(limit: settings.pendingWritesMax) }
        let write = CIBWrite(view: view?.fingerprint ?? 0, origin: local, requestID: takeRequestID(), sequence: 0, payload: payload)
        pendingCIBWrites[write.requestID] = write
        return (write.requestID, sendPendingIfSettled(attributes: [], writes: [write]))
    }

    // MARK: views

    private mutating func viewChanged(members: [Member], joined: [Member], left: [Member]) -> [Directive] {
        guard members.contains(local) else {
            // Not (or no longer) in the group: nothing here is ours to decide.
            return []
        }
        precondition(members.count <= MessageWire.nodesMax, "NodeCore: view of \(members.count) members")
        let first = view == nil
        let next = View(members: members)
        let previousDC = dc
        // Decided before anything else of the new view: this node's unconfirmed writes.
        var directives = resolveUnconfirmed(staying: Set(members).subtracting(joined))
        heldUpTo = [:]
        view = next
        heldCIBWrites = []
        seen.formUnion(next.nodeIDs)
        acknowledged.formIntersection(Set(members))
        noteLostNodes(next: next, left: left)
        directives += fencesOfLeftExecutors(next: next)
        for node in Set(left.map(\.nodeID)) where !next.nodeIDs.contains(node) {
            attributes[node] = nil
        }
        pendingAttributes = pendingAttributes.filter { _, change in
            if case .node(let node) = change.target { return next.nodeIDs.contains(node) }
            return true
        }
        if settled && joined.isEmpty && !first {
            // Members only left: every member took part in this view's round, so the new DC
            // is computed from the view alone, the same everywhere, without a message.
            joinedMembers.formIntersection(next.members)
            historyReported.formIntersection(next.nodeIDs)
            historyParts = historyParts.filter { next.nodeIDs.contains($0.key) }
            directives.append(.resourcesChanged)
            if let current = dc, !next.contains(current) {
                guard let nextDC = next.members.first(where: joinedMembers.contains) else {
                    // No member that joined is left (only processes that never announced):
                    // a round decides among those that announce now.
                    return directives + startRound(next, previousDC: previousDC)
                }
                dc = nextDC
                directives.append(.dcChanged(from: previousDC, to: dc))
            }
            // A write the DC ordered in the old view and that arrives in this one is dropped
            // everywhere (its view differs): the next write takes its sequence.
            nextCIBSequence = cibSequence + 1
            projected = cib
            heldCIBWrites = []
            // A sync cut by the view change: the round's is sent again by a round; a repair
            // is asked for again (of the new DC, unless it waits for one itself: a round).
            if roundSyncHolder != nil || (dc.map(repairing.contains) ?? false) {
                return directives + startRound(next, previousDC: previousDC)
            }
            reassembler = .init()
            repairing = []
            if awaitingSyncFrom != nil, let dc {
                awaitingSyncFrom = dc
                directives.append(.broadcast(.cibSyncRequest(view: next.fingerprint)))
            }
            // A new DC writes its entries (ControllerEntries) if the CIB lacks them.
            directives += orderHeldWrites()
            directives += sendPendingIfSettled(attributes: Array(pendingAttributes.values), writes: Array(pendingCIBWrites.values))
            ticketUpdatesInFlight = 0
            directives += sendPendingTickets()
            return directives
        }
        // New members (or a round already under way): a join round.
        return directives + startRound(next, previousDC: previousDC)
    }

    /// A join round: every member announces. The dc-deadtime timer runs from the start: it
    /// bounds the wait for nodes never seen and for a member that never announces (a process
    /// that is not a baton-crmd, or one that only sends garbage), which then stays out.
    private mutating func startRound(_ next: View, previousDC: Member?) -> [Directive] {
        var directives: [Directive] = []
        settled = false
        announces = [:]
        historyReported = []
        historyParts = [:]
        historyReportDue = false
        deadtimeExpired = false
        awaitingSyncFrom = nil
        roundSyncHolder = nil
        repairing = []
        heldCIBWrites = []
        reassembler = .init()
        projected = cib
        joinedMembers.formIntersection(next.members)
        if let current = dc, !next.contains(current) {
            dc = nil
            directives.append(.dcChanged(from: previousDC, to: nil))
        }
        directives.append(.startTimer(.dcDeadtime, settings.dcDeadtime))
        deadtimeTimerRunning = true
        directives.append(.broadcast(.announce(Announce(
            view: next.fingerprint, nodeName: localName, dc: dc, seen: seen.sorted(),
            attributes: attributes[local.nodeID] ?? [:], clusterOptions: clusterOptions, cibSequence: cibSequence,
            cibVersion: cib.version, cibDigest: cib.digest(), confirmedSequence: confirmedSequence, tickets: tickets))))
        return directives
    }

    private var localName: String {
        let name = settings.nodelist.first { $0.nodeID == local.nodeID }?.name ?? "node\(local.nodeID)"
        return String(decoding: Array(name.utf8.prefix(MessageWire.nameBytesMax)), as: UTF8.self)
    }

    /// Decides the round once every member of the view announced, or once dc-deadtime passed
    /// with some announced (see the transition table).
    private mutating func completeRoundIfReady() -> [Directive] {
        guard let view, !settled else { return [] }
        let everyoneIn = Set(announces.keys) == Set(view.members)
        guard everyoneIn || (deadtimeExpired && !announces.isEmpty) else { return [] }
        let candidates = view.members.filter { announces[$0] != nil }
        var claims: [Member: Int] = [:]
        for announce in announces.values {
            if let claimed = announce.dc, announces[claimed] != nil { claims[claimed, default: 0] += 1 }
        }
        var chosen: Member?
        if let best = claims.max(by: { ($0.value, $1.key) < ($1.value, $0.key) }) {
            chosen = best.key
        } else {
            var everSeen = seen
            for announce in announces.values { everSeen.formUnion(announce.seen) }
            let unseen = settings.nodelist.map(\.nodeID).filter { !everSeen.contains($0) && !view.nodeIDs.contains($0) }
            if unseen.isEmpty || deadtimeExpired {
                chosen = candidates.first
            } else if !deadtimeTimerRunning {
                deadtimeTimerRunning = true
                return [.startTimer(.dcDeadtime, settings.dcDeadtime)]
            } else {
                return []
            }
        }
        guard let chosen else { preconditionFailure("NodeCore: a settled round needs a DC") }
        return settle(dc: chosen, view: view)
    }

    private mutating func settle(dc chosen: Member, view: View) -> [Directive] {
        precondition(view.contains(chosen), "NodeCore: DC \(chosen) is not a member of \(view.members)")
        precondition(announces[chosen] != nil, "NodeCore: DC \(chosen) did not announce")
        var directives: [Directive] = []
        if deadtimeTimerRunning {
            deadtimeTimerRunning = false
            directives.append(.cancelTimer(.dcDeadtime))
        }
        let previous = dc
        settled = true
        dc = chosen
        joinedMembers = Set(announces.keys)
        for announce in announces.values { seen.formUnion(announce.seen) }
        // Each node's own attributes, from its newest process's announce.
        var fresh: [NodeID: [String: String]] = [:]
        for member in view.members {
            if let announce = announces[member] { fresh[member.nodeID] = announce.attributes }
        }
        attributes = fresh.filter { !$0.value.isEmpty }
        settleTickets(([chosen] + view.members.filter { $0 != chosen }).compactMap { announces[$0] })
        if let options = announces[chosen] {
            clusterOptions = options.clusterOptions
        }
        // The highest sequence any member applied, not the DC's: the DC more members follow may
        // come from the side that wrote less, and reusing a sequence another member holds would
        // give two CIB orders (the CIB service's resync brings the content).
        let highest = announces.values.map(\.cibSequence).max() ?? cibSequence
        precondition(highest >= cibSequence || announces[local] == nil, "NodeCore: the round's CIB sequence \(highest) below this member's \(cibSequence)")
        cibSequence = highest
        nextCIBSequence = cibSequence + 1
        if previous != chosen { directives.append(.dcChanged(from: previous, to: chosen)) }
        directives += chooseBestCIB(dc: chosen, view: view)
        if awaitingSyncFrom == nil {
            if unconfirmed.isEmpty {
                // This node's CIB is the round's (version and digest): confirmed at its sequence.
                confirmedCIB = cib
                confirmedSequence = cibSequence
            }
            // It holds the round's CIB: the writes some member still waits to see acknowledged.
            directives.append(.broadcast(.cibHeld(view: view.fingerprint, sequence: cibSequence)))
        }
        directives += reportHistoryWhenSettled()
        if chosen == local {
            directives.append(.broadcast(.joinAck(view: view.fingerprint, dc: chosen, members: view.members.filter(joinedMembers.contains))))
            directives += orderHeldWrites()
        }
        directives += sendPendingIfSettled(attributes: Array(pendingAttributes.values), writes: Array(pendingCIBWrites.values))
        directives += sendPendingTickets()
        return directives
    }

    // MARK: messages

    private mutating func received(_ message: Message, from sender: Member) -> [Directive] {
        guard let view, view.contains(sender) else {
            ignoredCount += 1
            return []
        }
        switch message {
        case .announce(let announce):
            guard announce.view == view.fingerprint else { return ignored() }
            guard settled else {
                announces[sender] = announce
                return completeRoundIfReady()
            }
            // Late (after dc-deadtime): every member takes its attributes; the DC acknowledges it.
            guard !joinedMembers.contains(sender) else { return ignored() }
            if !announce.attributes.isEmpty && !joinedMembers.contains(where: { $0.nodeID == sender.nodeID }) {
                attributes[sender.nodeID] = announce.attributes
            }
            tickets = TicketRules.merge([tickets, announce.tickets])
            guard isDC else { return [] }
            let members = view.members.filter { joinedMembers.contains($0) || $0 == sender }
            return [.broadcast(.joinAck(view: view.fingerprint, dc: local, members: members))]
        case .deadtimeExpired(let fingerprint):
            guard !settled, fingerprint == view.fingerprint else { return ignored() }
            deadtimeExpired = true
            return completeRoundIfReady()
        case .joinAck(let fingerprint, let claimedDC, let members):
            guard settled, fingerprint == view.fingerprint, claimedDC == sender, sender == dc else { return ignored() }
            acknowledged = Set(members).intersection(view.members)
            joinedMembers.formUnion(acknowledged)
            return []
        case .attributeRequest(let change):
            // Requests reach every member; only the DC acts on them (not counted elsewhere).
            guard isDC else { return [] }
            guard change.view == view.fingerprint, change.origin == sender else { return ignored() }
            if case .node(let node) = change.target, !view.nodeIDs.contains(node) { return ignored() }
            return [.broadcast(.attributeUpdate(change))]
        case .attributeUpdate(let change):
            guard settled, sender == dc, change.view == view.fingerprint else { return ignored() }
            switch change.target {
            case .node(let node):
                guard view.nodeIDs.contains(node) else { return ignored() }
                var store = attributes[node] ?? [:]
                if store.count >= MessageWire.attributesMax && store[change.name] == nil && change.value != nil { return ignored() }
                store[change.name] = change.value
                attributes[node] = store.isEmpty ? nil : store
            case .cluster:
                if clusterOptions.count >= MessageWire.attributesMax && clusterOptions[change.name] == nil && change.value != nil { return ignored() }
                clusterOptions[change.name] = change.value
            }
            if change.origin == local { pendingAttributes[change.requestID] = nil }
            // A node's attributes are the scheduler's input (shutdown, standby, fail counts).
            if case .node = change.target { return [.resourcesChanged] }
            return []
        case .cibWriteRequest(let write):
            guard isDC else { return [] }
            guard write.view == view.fingerprint, write.origin == sender else { return ignored() }
            guard mayOrderCIBWrites, awaitingSyncFrom == nil else {
                // Held: the DC takes the round's best CIB first; and without quorum another
                // partition may have a DC ordering writes on another CIB, whose heal would drop
                // this one although acknowledged (Pacemaker 2.1.5 accepts such writes; we hold
                // them until quorum returns). The origin keeps it pending meanwhile.
                guard heldCIBWrites.count < settings.pendingWritesMax else {
                    return [.broadcast(.cibWriteRefused(view: view.fingerprint, origin: write.origin, requestID: write.requestID,
                                                        reason: "\(settings.pendingWritesMax) writes already wait for the DC"))]
                }
                heldCIBWrites.append(write)
                return []
            }
            return order(write, view: view)
        case .cibWriteApplied(let write):
            guard settled, sender == dc, write.view == view.fingerprint, write.sequence == cibSequence + 1 else { return ignored() }
            cibSequence = write.sequence
            if write.origin == local { pendingCIBWrites[write.requestID] = nil }
            var directives = applyOrdered(write, view: view)
            unconfirmed.append(Unconfirmed(write: write, after: awaitingSyncFrom == nil ? cib : nil))
            if awaitingSyncFrom == nil { directives.append(.broadcast(.cibHeld(view: view.fingerprint, sequence: write.sequence))) }
            return directives
        case .cibHeld(let fingerprint, let sequence):
            guard settled, fingerprint == view.fingerprint else { return ignored() }
            heldUpTo[sender] = max(heldUpTo[sender] ?? 0, sequence)
            return confirmHeld()
        case .cibWriteRefused(let fingerprint, let origin, let requestID, let reason):
            guard settled, sender == dc, fingerprint == view.fingerprint else { return ignored() }
            guard origin == local, pendingCIBWrites.removeValue(forKey: requestID) != nil else { return [] }
            return [.cibRefused(requestID: requestID, reason: reason)]
        case .cibSyncRequest(let fingerprint):
            guard settled, fingerprint == view.fingerprint else { return ignored() }
            repairing.insert(sender)
            guard isDC, awaitingSyncFrom == nil else { return [] }
            return sendSync(projected, view: view)
        case .cibSync(let sync):
            guard settled, sync.view == view.fingerprint else { return ignored() }
            return receivedSync(sync, from: sender, view: view)
        case .executeRequest(let request):
            guard settled, sender == dc, request.view == view.fingerprint else {
                return ignored() + notDelivered(request.transitionKey, sentBy: sender, stamped: request.view, view: view)
            }
            return request.node == local.nodeID ? [.execute(request)] : []
        case .executeResult(let result):
            guard result.node == sender.nodeID else { return ignored() }
            return recordResult(result)
        case .resourceHistory(let report):
            guard settled, report.view == view.fingerprint, report.node == sender.nodeID else { return ignored() }
            return takeHistory(report)
        case .fenceRequest(let request):
            return receivedFenceRequest(request, from: sender)
        case .fenceResult(let record):
            return recordFence(record, from: sender)
        case .ticketRequest, .ticketUpdate:
            return receivedTicket(message, from: sender, view: view)
        case .historyForget(let forget):
            return receivedHistoryForget(forget)
        case .failInjection(let injection):
            return receivedFailInjection(injection)
        }
    }

    /// Quorate, and this group holds baton-crmd processes of more than half the nodelist's
    /// nodes: votequorum counts a node whose baton-crmd died, and a DC alone with such votes
    /// may hold an older CIB sequence than the other side's (two orders). Two groups cannot
    /// both hold a majority of the nodes.
    private var mayOrderCIBWrites: Bool {
        guard quorate, let view else { return false }
        let configured = Set(settings.nodelist.map(\.nodeID))
        return view.nodeIDs.intersection(configured).count * 2 > configured.count
    }

    /// On the DC, once it may order again: its own entries (`ControllerEntries`: the nodelist's
    /// nodes, dc-version … when the CIB lacks them), then the writes it held, in the order they came.
    private mutating func orderHeldWrites() -> [Directive] {
        guard isDC, mayOrderCIBWrites, awaitingSyncFrom == nil, let view else { return [] }
        var directives: [Directive] = []
        let entries = settings.writesControllerEntries
            ? ControllerEntries.writes(for: projected.document, nodelist: settings.nodelist, clusterName: settings.clusterName) : []
        for operation in entries {
            directives += order(CIBWrite(view: view.fingerprint, origin: local, requestID: 0, sequence: 0, payload: operation.encoded()), view: view)
        }
        let held = heldCIBWrites
        heldCIBWrites = []
        return directives + held.flatMap { order($0, view: view) }
    }

    // MARK: the CIB

    /// At the end of a round: the best CIB of the announces (highest version; ties: the DC's,
    /// then the lowest member's) is sent by its holder if any member's differs (version or
    /// digest); those members wait for it, the DC holds writes until it has it.
    private mutating func chooseBestCIB(dc chosen: Member, view: View) -> [Directive] {
        let order = [chosen] + view.members.filter { $0 != chosen && announces[$0] != nil }
        // Among the CIBs whose acknowledged writes reach furthest: one with writes no majority
        // may hold never overrides one whose writes a majority acknowledged.
        let confirmed = order.compactMap { announces[$0]?.confirmedSequence }.max() ?? 0
        let candidates = order.compactMap { member in
            announces[member].flatMap { $0.confirmedSequence == confirmed ? (member, $0.cibVersion) : nil }
        }
        guard let (holder, _) = CIBVersion.best(candidates), let best = announces[holder] else { return [] }
        let differing = order.filter { announces[$0]?.cibVersion != best.cibVersion || announces[$0]?.cibDigest != best.cibDigest }
        projected = cib
        guard !differing.isEmpty else { return [] }
        roundSyncHolder = holder
        if differing.contains(local) { awaitingSyncFrom = holder }
        return holder == local ? sendSync(cib, view: view) : []
    }

    /// The DC executes a write on its newest CIB (`projected`) and broadcasts the patchset,
    /// or refuses it.
    private mutating func order(_ write: CIBWrite, view: View) -> [Directive] {
        precondition(isDC && mayOrderCIBWrites, "NodeCore: only a quorate DC of a majority orders CIB writes")
        let refuse = { (reason: String) -> [Directive] in
            [.broadcast(.cibWriteRefused(view: view.fingerprint, origin: write.origin, requestID: write.requestID, reason: reason))]
        }
        let operation: CIBOperation
        let stamp: CIBWriteStamp?
        do { (operation, stamp) = try CIBOperation.decodeRequest(write.payload) } catch { return refuse("\(error)") }
        let origin = settings.nodelist.first { $0.nodeID == write.origin.nodeID }?.name
        let withDigest = projected.approximateBytes <= settings.digestEveryWriteBytesMax
            || nextCIBSequence % UInt64(settings.digestInterval) == 0
        var ordered = write
        do {
            if let (executed, patch) = try projected.execute(operation, withDigest: withDigest, stamp: stamp, origin: origin) {
                var next = executed
                let text = Array(patch.text().utf8)
                guard text.count <= MessageWire.cibPayloadBytesMax else {
                    return refuse("the change's patchset is \(text.count) bytes, over one message's \(MessageWire.cibPayloadBytesMax): split it")
                }
                ordered.payload = text
                next.approximateBytes += text.count / 2
                projected = next
            } else {
                ordered.payload = []
            }
        } catch {
            return refuse(error.description)
        }
        ordered.sequence = nextCIBSequence
        nextCIBSequence += 1
        return [.broadcast(.cibWriteApplied(ordered))]
    }

    /// Every member applies the DC's patchset in the group's order; one that cannot (or whose
    /// digest differs) asks the DC for the whole CIB. A member waiting for a sync skips it:
    /// the sync, sent after it, holds it.
    private mutating func applyOrdered(_ write: CIBWrite, view: View) -> [Directive] {
        guard !write.payload.isEmpty, awaitingSyncFrom == nil else { return [] }
        do {
            let patch = try Patchset(parsing: String(decoding: write.payload, as: UTF8.self))
            try cib.apply(patch, bytes: write.payload.count)
            if isDC && nextCIBSequence == write.sequence + 1 { cib = projected }
            takeClusterOptionsFromCIB()
            return []
        } catch {
            lastCIBError = "write \(write.sequence) from \(write.origin): \(error)"
            guard !isDC else {
                // The DC's own patchset failed on its own copy: its newest CIB is the truth.
                cib = projected
                return []
            }
            awaitingSyncFrom = dc
            reassembler = .init()
            return [.broadcast(.cibSyncRequest(view: view.fingerprint))]
        }
    }

    /// A whole CIB, chunked to fit CPG messages.
    private mutating func sendSync(_ replica: CIBReplica, view: View) -> [Directive] {
        var replica = replica
        let digest = replica.approximateBytes <= settings.digestEveryWriteBytesMax ? replica.digest() : (replica.knownDigest ?? "")
        let chunks = SyncChunks.split(replica.serialized(), transfer: nextTransfer, messageBytesMax: MessageWire.cibPayloadBytesMax)
        nextTransfer += 1
        return chunks.map { .broadcast(.cibSync(CIBSync(view: view.fingerprint, version: replica.version, digest: digest, chunk: $0.encoded()))) }
    }

    private mutating func receivedSync(_ sync: CIBSync, from sender: Member, view: View) -> [Directive] {
        let chunk: SyncChunks.Chunk
        do { chunk = try SyncChunks.Chunk(decoding: sync.chunk) } catch { return ignored() }
        let last = chunk.index == chunk.count - 1
        var directives: [Directive] = []
        if awaitingSyncFrom == sender {
            do {
                if let whole = try reassembler.add(chunk) {
                    let document: XMLElement
                    do { document = try XMLCodec.parse(bytes: whole) } catch { throw CIBRequestError("\(error)") }
                    var replica = try CIBReplica(document: document, bytes: whole.count)
                    guard replica.version == sync.version else {
                        throw CIBRequestError("the sync says version \(sync.version), its CIB has \(replica.version)")
                    }
                    if !sync.digest.isEmpty && replica.approximateBytes <= settings.digestEveryWriteBytesMax {
                        let computed = replica.digest()
                        guard computed == sync.digest else { throw CIBRequestError("the sync's digest \(sync.digest) differs from its CIB's \(computed)") }
                    } else if !sync.digest.isEmpty {
                        replica.adoptDigest(sync.digest)
                    }
                    cib = replica
                    projected = replica
                    awaitingSyncFrom = nil
                    cibSyncsTaken += 1
                    takeClusterOptionsFromCIB()
                    if sender == roundSyncHolder {
                        // The round's best CIB: this node's unacknowledged writes lost to it.
                        directives += dropUnconfirmed()
                    }
                    // A repair comes after every write this node skipped: it holds them all.
                    if unconfirmed.isEmpty {
                        confirmedCIB = replica
                        confirmedSequence = cibSequence
                        directives.append(.cibCommitted(cib.version))
                    } else {
                        unconfirmed[unconfirmed.count - 1].after = replica
                    }
                    directives.append(.broadcast(.cibHeld(view: view.fingerprint, sequence: cibSequence)))
                }
            } catch {
                // A broken transfer: ask the DC (a round's holder may be gone by now).
                lastCIBError = "sync from \(sender): \(error)"
                reassembler = .init()
                if let dc, dc != local {
                    awaitingSyncFrom = dc
                    directives.append(.broadcast(.cibSyncRequest(view: view.fingerprint)))
                }
            }
        }
        guard last else { return directives }
        if sender == roundSyncHolder { roundSyncHolder = nil }
        if sender == dc { repairing = [] }
        if isDC && awaitingSyncFrom == nil {
            // The DC has the cluster's CIB now: the writes it held (if it may order), then any
            // repair asked for.
            directives += orderHeldWrites()
            if !repairing.isEmpty { directives += sendSync(projected, view: view) }
        }
        return directives
    }

    /// The cluster options every node acts on alone (no-quorum-policy) as the CIB now says,
    /// after every change of it: the same on every member, which applies the same CIBs in
    /// the same order. An option the CIB does not set keeps its value.
    private mutating func takeClusterOptionsFromCIB() {
        if let policy = ControllerEntries.clusterOption(AttributeName.noQuorumPolicy, in: cib.document) {
            clusterOptions[AttributeName.noQuorumPolicy] = policy
        }
    }

    // MARK: acknowledgement

    /// True when `members` run on more than half the nodelist's nodes.
    private func majority(_ members: some Sequence<Member>) -> Bool {
        let configured = Set(settings.nodelist.map(\.nodeID))
        return Set(members.map(\.nodeID)).intersection(configured).count * 2 > configured.count
    }

    /// Acknowledges, in order, the unconfirmed writes members of a majority of the nodelist's
    /// nodes said (`cibHeld`, this view) they hold.
    private mutating func confirmHeld() -> [Directive] {
        var directives: [Directive] = []
        while let next = unconfirmed.first, majority(heldUpTo.filter { $0.value >= next.write.sequence }.keys) {
            directives += confirmFirst()
        }
        if !directives.isEmpty { directives.append(.cibCommitted(confirmedCIB.version)) }
        return directives
    }

    private mutating func confirmFirst() -> [Directive] {
        let first = unconfirmed.removeFirst()
        if let after = first.after { confirmedCIB = after }
        confirmedSequence = first.write.sequence
        return [.cibApplied(first.write)]
    }

    /// At a view change: the members that come with this node from its previous view
    /// (`staying`) delivered the same messages of it (virtual synchrony). If they run on a
    /// majority of the nodelist's nodes, every write applied here is held by a majority: all
    /// are acknowledged. Otherwise another partition may have ordered other writes at those
    /// sequences: this node goes back to its confirmed CIB, and the origins' admins are told
    /// that the write's fate is unknown (it stands if the majority side got it).
    private mutating func resolveUnconfirmed(staying: Set<Member>) -> [Directive] {
        guard !unconfirmed.isEmpty else { return [] }
        var directives: [Directive] = []
        if majority(staying) {
            while !unconfirmed.isEmpty { directives += confirmFirst() }
            if awaitingSyncFrom == nil { confirmedCIB = cib }
            return directives + [.cibCommitted(confirmedCIB.version)]
        }
        // Kept, unacknowledged: the next rounds decide (this node's report may have completed
        // a majority elsewhere, so it may not go back on its own).
        return directives
    }

    /// A round gave this node another CIB: its unacknowledged writes lost to one whose writes
    /// reach further (or are as far, with a higher version); their origins are told.
    private mutating func dropUnconfirmed() -> [Directive] {
        var directives: [Directive] = []
        for entry in unconfirmed where entry.write.origin == local && entry.write.requestID != 0 {
            directives.append(.cibRefused(requestID: entry.write.requestID, reason:
                "the group split before a majority of the nodes held this write (sequence \(entry.write.sequence)) and the join took a CIB without it; check with baton crm cib query"))
        }
        unconfirmed = []
        return directives
    }

    /// A request of this node's own that every member drops alike (CPG delivers it to all of
    /// them in the same view, at the same point of their state): the sender learns it here.
    /// A DC broadcasting while a view change is already on its way (its loop has not taken it
    /// yet) sees its request ordered after the change, stamped with the old view.
    func notDelivered(_ key: String, sentBy sender: Member, stamped: UInt64, view: View) -> [Directive] {
        guard sender == local else { return [] }
        let reason = !settled ? "delivered during a join round"
            : stamped != view.fingerprint ? "sent in view \(stamped), delivered in view \(view.fingerprint)"
            : "sent while not the DC"
        return [.requestDropped(key: key, reason: reason)]
    }

    mutating func ignored() -> [Directive] {
        ignoredCount += 1
        return []
    }

    // MARK: writes

    private mutating func takeRequestID() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }

    /// Sends (again) the given pending writes, stamped with the current view, once settled;
    /// before that they wait for the round (settling sends them all).
    private mutating func sendPendingIfSettled(attributes changes: [AttributeChange], writes: [CIBWrite]) -> [Directive] {
        guard settled, let view else { return [] }
        var directives: [Directive] = []
        for var change in changes.sorted(by: { $0.requestID < $1.requestID }) {
            change.view = view.fingerprint
            pendingAttributes[change.requestID] = change
            directives.append(.broadcast(.attributeRequest(change)))
        }
        for var write in writes.sorted(by: { $0.requestID < $1.requestID }) {
            write.view = view.fingerprint
            pendingCIBWrites[write.requestID] = write
            directives.append(.broadcast(.cibWriteRequest(write)))
        }
        return directives
    }
}
