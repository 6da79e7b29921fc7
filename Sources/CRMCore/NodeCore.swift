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
        /// A CIB write the DC ordered, to apply on this node (sequence = the DC's order).
        case cibApplied(CIBWrite)
        /// A peer's message could not be decoded: counted and dropped.
        case garbage(sender: Member, reason: String)
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

        public init(local: Member, nodelist: [ConfiguredNode], dcDeadtime: Duration = .seconds(20),
                    pendingWritesMax: Int = 10_000, initialClusterOptions: [String: String] = [:]) {
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
    public private(set) var attributes: [NodeID: [String: String]] = [:]
    public private(set) var clusterOptions: [String: String]
    /// Every node some member has seen in the group.
    public private(set) var seen: Set<NodeID> = []
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
    /// On a DC without quorum: the CIB write requests of this view it may not order yet.
    private var heldCIBWrites: [CIBWrite] = []

    public init(settings: Settings) {
        self.settings = settings
        clusterOptions = settings.initialClusterOptions
    }

    public var local: Member { settings.local }
    public var isDC: Bool { settled && dc == settings.local }
    public var noQuorumPolicy: String { clusterOptions[AttributeName.noQuorumPolicy] ?? "stop" }
    public var pendingWrites: Int { pendingAttributes.count + pendingCIBWrites.count }

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

    /// A CIB write (opaque payload for now), forwarded to the DC; `cibApplied` comes back on
    /// every member in the DC's order. Returns the request id.
    public mutating func requestCIBWrite(_ payload: [UInt8]) throws(RequestError) -> (requestID: UInt64, directives: [Directive]) {
        guard payload.count <= MessageWire.messageBytesMax - 64 else {
            throw .invalid("CIB write of \(payload.count) bytes over \(MessageWire.messageBytesMax - 64)")
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
        view = next
        heldCIBWrites = []
        seen.formUnion(next.nodeIDs)
        acknowledged.formIntersection(Set(members))
        for node in Set(left.map(\.nodeID)) where !next.nodeIDs.contains(node) {
            attributes[node] = nil
        }
        pendingAttributes = pendingAttributes.filter { _, change in
            if case .node(let node) = change.target { return next.nodeIDs.contains(node) }
            return true
        }
        var directives: [Directive] = []
        if settled && joined.isEmpty && !first {
            // Members only left: every member took part in this view's round, so the new DC
            // is computed from the view alone, the same everywhere, without a message.
            joinedMembers.formIntersection(next.members)
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
            directives += sendPendingIfSettled(attributes: Array(pendingAttributes.values), writes: Array(pendingCIBWrites.values))
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
        deadtimeExpired = false
        joinedMembers.formIntersection(next.members)
        if let current = dc, !next.contains(current) {
            dc = nil
            directives.append(.dcChanged(from: previousDC, to: nil))
        }
        directives.append(.startTimer(.dcDeadtime, settings.dcDeadtime))
        deadtimeTimerRunning = true
        directives.append(.broadcast(.announce(Announce(
            view: next.fingerprint, nodeName: localName, dc: dc, seen: seen.sorted(),
            attributes: attributes[local.nodeID] ?? [:], clusterOptions: clusterOptions, cibSequence: cibSequence))))
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
        if chosen == local {
            directives.append(.broadcast(.joinAck(view: view.fingerprint, dc: chosen, members: view.members.filter(joinedMembers.contains))))
        }
        directives += sendPendingIfSettled(attributes: Array(pendingAttributes.values), writes: Array(pendingCIBWrites.values))
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
            return []
        case .cibWriteRequest(let write):
            guard isDC else { return [] }
            guard write.view == view.fingerprint, write.origin == sender else { return ignored() }
            guard mayOrderCIBWrites else {
                // Without quorum another partition may have a DC ordering writes with the same
                // sequences: two orders of the CIB. Held until quorum returns (Pacemaker too
                // refuses CIB writes without quorum); the origin keeps it pending meanwhile.
                guard heldCIBWrites.count < settings.pendingWritesMax else { return ignored() }
                heldCIBWrites.append(write)
                return []
            }
            return order(write)
        case .cibWriteApplied(let write):
            guard settled, sender == dc, write.view == view.fingerprint, write.sequence == cibSequence + 1 else { return ignored() }
            cibSequence = write.sequence
            if write.origin == local { pendingCIBWrites[write.requestID] = nil }
            return [.cibApplied(write)]
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

    /// On the DC, once it may order again: the writes it held, in the order they came.
    private mutating func orderHeldWrites() -> [Directive] {
        guard isDC, mayOrderCIBWrites, !heldCIBWrites.isEmpty else { return [] }
        let held = heldCIBWrites
        heldCIBWrites = []
        return held.flatMap { order($0) }
    }

    /// On the DC: the next sequence for a write, broadcast for every member to apply.
    private mutating func order(_ write: CIBWrite) -> [Directive] {
        precondition(isDC && mayOrderCIBWrites, "NodeCore: only a quorate DC of a majority orders CIB writes")
        var ordered = write
        ordered.sequence = nextCIBSequence
        nextCIBSequence += 1
        return [.broadcast(.cibWriteApplied(ordered))]
    }

    private mutating func ignored() -> [Directive] {
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
