import CRMCore
import SimulationKernel

/// What a simulated node keeps on disk: the CIB writes it applied, in order, and its confirmed
/// CIB with its sequence (what a restarted NodeCore starts from); the kernel keeps, tears or
/// loses it at a crash.
public struct CRMDisk: Sendable, Equatable {
    public var applied: [CIBWrite] = []
    /// The confirmed CIB and its sequence, saved at every `cibCommitted` (baton-crmd's
    /// cib.xml); a restarted process with its disk starts from them.
    public var cib: CIBReplica?
    public var cibSequence: UInt64 = 0
    public init() {}
}

/// The one place where a simulated client's CIB write is built. NodeCore's CIB payload is
/// opaque today; when the CIB service's typed patchsets land, this function builds a patchset
/// instead and nothing else in the simulation changes.
public enum CRMPayload {
    public static func cibWrite(client node: NodeIndex, number: UInt64) -> [UInt8] {
        precondition(node >= 0 && number >= 1, "CRMPayload: client \(node), write \(number)")
        // A real CIB operation (the DC refuses anything else): each write replaces crm_config
        // with a property naming the client and its write, so every write changes the CIB.
        let xml = "<crm_config><cluster_property_set id=\"sim\"><nvpair id=\"sim-write\" name=\"sim-write\" value=\"\(node)-\(number)\"/></cluster_property_set></crm_config>"
        return CIBOperation.replace(scope: "crm_config", xml: xml).encoded()
    }
}

/// What the world feeds a simulated baton-crmd (and the stranger).
public enum CRMInput: Sendable, Equatable {
    /// The process read its configuration (the nodelist) and votequorum's state: it starts its
    /// core now. Views that arrived before wait for it.
    case boot(nodelist: [ConfiguredNode], quorate: Bool)
    case quorum(Bool)
    case nodelist([ConfiguredNode])
    /// An admin's attribute write on this node (value nil deletes).
    case attribute(AttributeTarget, name: String, value: String?)
    /// An admin's CIB write on this node (the client's write number).
    case cibWrite(number: UInt64)
    case timer(generation: Int)
    /// The stranger multicasts these bytes (a process in the group that is no baton-crmd).
    case garbage([UInt8])
}

/// What a simulated node tells the checker.
public enum CRMObservation: Sendable, Equatable {
    /// A CIB write applied here, in the DC's order.
    case applied(CIBWrite)
    /// The dc-deadtime timer fired in a view holding every nodelist node and no stranger.
    case deadtimeWithEveryNodePresent(view: [Member])
    /// The DC left in a view change that only removed members, and no new DC came with it.
    case noDCAfterDCLoss(left: Member, view: [Member])
    /// An admin request the core refused.
    case refused(String)
}

/// baton-crmd on the simulation kernel: the real `NodeCore`, and a shell that does what
/// baton-crmd's does with its directives: broadcasts go to the CPG group (the kernel's
/// multicast, bytes through `MessageWire`), timers become wake-ups (a generation per kind
/// cancels), CPG's configuration changes become membership inputs (joined and left computed
/// against the previous view, as a confchg lists them), applied CIB writes go to the disk.
///
/// A node is either a baton-crmd (`core` set once booted) or a stranger: a process that joined
/// the same CPG group and sends only garbage.
public struct CRMNode: SimulatedNode {
    public typealias Message = [UInt8]
    public typealias Input = CRMInput
    public typealias Observation = CRMObservation

    public let index: NodeIndex
    public let isStranger: Bool
    /// The index of the run's stranger, if it has one.
    public let strangerIndex: NodeIndex?
    let dcDeadtime: Duration
    public private(set) var disk: CRMDisk?
    public private(set) var core: NodeCore?
    public private(set) var member: Member
    /// The group's members as of the last view handed to the core.
    public private(set) var members: [Member] = []
    /// A view that came before the boot input (handed to the core at boot).
    var viewBeforeBoot: GroupView?
    var timerGeneration = 0
    var wasSettled = false
    var writesRequested: UInt64 = 0
    public private(set) var groupMessagesBeforeBoot = 0

    let sabotage: CRMSabotage?
    var droppedAppliedWrite = false

    public init(index: NodeIndex, strangerIndex: NodeIndex?, boot: Boot, disk: CRMDisk?, dcDeadtime: Duration, sabotage: CRMSabotage? = nil) {
        self.sabotage = sabotage
        self.index = index
        self.strangerIndex = strangerIndex
        isStranger = index == strangerIndex
        self.dcDeadtime = dcDeadtime
        self.disk = isStranger ? nil : (disk ?? CRMDisk())
        member = Self.member(index, boot: boot.number, stranger: isStranger)
    }

    /// The CPG member of node `index`'s process of boot `boot`: node ids from 1, a new pid per
    /// start. The stranger runs on a node outside the nodelist.
    public static func member(_ index: NodeIndex, boot: Int, stranger: Bool) -> Member {
        precondition(index >= 0 && boot >= 0, "CRMNode.member: index \(index), boot \(boot)")
        return Member(nodeID: NodeID(UInt32(stranger ? 900 + index : index + 1)), pid: UInt32(1000 + boot))
    }

    public mutating func handle(_ event: NodeEvent<[UInt8], CRMInput>, context: inout NodeContext<CRMNode>) {
        switch event {
        case .start, .message:
            return
        case .view(let view):
            guard !isStranger else { return }
            guard core != nil else {
                viewBeforeBoot = view
                return
            }
            changeView(view, context: &context)
        case .groupMessage(let from, let bytes, let view):
            guard !isStranger else { return }
            guard core != nil else {
                groupMessagesBeforeBoot += 1
                return
            }
            guard let position = view.members.firstIndex(of: from) else { preconditionFailure("CRMNode: sender \(from) not in \(view)") }
            let sender = Self.member(from, boot: view.boots[position], stranger: from == strangerIndex)
            if sabotage == .dropsOneAppliedWrite, index == 0, !droppedAppliedWrite,
               case .cibWriteApplied? = try? MessageWire.decode(bytes) {
                droppedAppliedWrite = true
                return
            }
            if sabotage == .acknowledgesOnDelivery, case .cibWriteApplied(let write)? = try? MessageWire.decode(bytes), !write.payload.isEmpty {
                context.observe(.applied(write))
            }
            run(.message(sender: sender, bytes: bytes), context: &context)
        case .input(let input):
            handle(input, context: &context)
        }
    }

    mutating func handle(_ input: CRMInput, context: inout NodeContext<CRMNode>) {
        if isStranger {
            if case .garbage(let bytes) = input { context.multicast(bytes) }
            return
        }
        switch input {
        case .boot(let nodelist, let quorate):
            guard core == nil else { return }
            var fresh = NodeCore(settings: .init(local: member, nodelist: nodelist, dcDeadtime: dcDeadtime, writesControllerEntries: true),
                                 cib: disk?.cib ?? .empty, cibSequence: disk?.cibSequence ?? 0)
            let directives = fresh.handle(.quorum(quorate: quorate))
            core = fresh
            context.trace("\(member) booted")
            perform(directives, context: &context)
            if let view = viewBeforeBoot {
                viewBeforeBoot = nil
                changeView(view, context: &context)
            }
        case .quorum(let quorate):
            run(.quorum(quorate: quorate), context: &context)
        case .nodelist(let nodes):
            run(.nodelist(nodes), context: &context)
        case .timer(let generation):
            guard generation == timerGeneration, let core else { return }
            if let view = core.view, core.settings.nodelist.allSatisfy({ view.nodeIDs.contains($0.nodeID) }),
               view.members.allSatisfy({ Self.isCRMNode($0, nodelist: core.settings.nodelist) }) {
                context.observe(.deadtimeWithEveryNodePresent(view: view.members))
            }
            run(.timer(.dcDeadtime), context: &context)
        case .attribute(let target, let name, let value):
            guard core != nil else { return }
            do {
                let directives = try core!.requestAttribute(target, name: name, value: value)
                perform(directives, context: &context)
            } catch {
                context.observe(.refused("attribute \(name): \(error)"))
            }
        case .cibWrite(let number):
            guard core != nil else { return }
            do {
                let (_, directives) = try core!.requestCIBWrite(CRMPayload.cibWrite(client: index, number: number))
                perform(directives, context: &context)
            } catch {
                context.observe(.refused("CIB write \(number): \(error)"))
            }
        case .garbage:
            return
        }
    }

    static func isCRMNode(_ member: Member, nodelist: [ConfiguredNode]) -> Bool {
        nodelist.contains { $0.nodeID == member.nodeID }
    }

    mutating func run(_ input: NodeCore.Input, context: inout NodeContext<CRMNode>) {
        // In place: a copy would duplicate the core's tables at every input.
        guard core != nil else { return }
        let directives = core!.handle(input)
        perform(directives, context: &context)
    }

    /// CPG's configuration change: the members with their pids, who joined and who left since
    /// the previous view this process saw.
    mutating func changeView(_ view: GroupView, context: inout NodeContext<CRMNode>) {
        guard core != nil else { preconditionFailure("CRMNode: a view before the core booted must wait") }
        precondition(view.members.contains(index), "CRMNode \(index): a view without it: \(view)")
        let next = zip(view.members, view.boots).map { index, boot in Self.member(index, boot: boot, stranger: index == strangerIndex) }
        let joined = next.filter { !members.contains($0) }
        let left = members.filter { !next.contains($0) }
        let wasSettled = core!.settled
        let previousDC = core!.dc
        let stillJoined = core!.joinedMembers.intersection(next)
        members = next
        let directives = self.core!.handle(.membership(members: next, joined: joined, left: left))
        // The new DC is named in the view change itself. (When a CIB sync was cut by the
        // change, a round follows to send it again; it keeps that DC, which every member
        // follows: the one-DC checks hold it to that.)
        if wasSettled, joined.isEmpty, let previousDC, left.contains(previousDC), !stillJoined.isEmpty,
           !(self.core!.dc.map(stillJoined.contains) == true) {
            context.observe(.noDCAfterDCLoss(left: previousDC, view: next))
        }
        perform(directives, context: &context)
    }

    mutating func perform(_ directives: [NodeCore.Directive], context: inout NodeContext<CRMNode>) {
        if let core, core.settled != wasSettled {
            wasSettled = core.settled
            context.trace("\(member) \(core.settled ? "settled, DC \(core.dc.map(\.description) ?? "none"), joined \(core.joinedMembers.sorted())" : "join round in a view of \(core.view?.members.count ?? 0)")")
        }
        for directive in directives {
            switch directive {
            case .broadcast(let message):
                context.multicast(MessageWire.encode(message))
            case .startTimer(_, let delay):
                timerGeneration += 1
                context.after(delay, .timer(generation: timerGeneration))
            case .cancelTimer:
                if sabotage != .ignoresTimerCancels { timerGeneration += 1 }
            case .dcChanged(let from, let to):
                context.trace("\(member) DC \(from.map(\.description) ?? "none") -> \(to.map(\.description) ?? "none")")
            case .quorumChanged(let quorate):
                context.trace("\(member) \(quorate ? "quorate" : "NOT quorate")")
            case .cibApplied(let write):
                precondition(disk != nil, "CRMNode: a baton-crmd without its disk")
                disk!.applied.append(write)
                if disk!.applied.count > Self.diskWritesMax { disk!.applied.removeFirst(disk!.applied.count - Self.diskWritesMax) }
                context.observe(.applied(write))
            case .cibRefused(let requestID, let reason):
                context.trace("\(member) CIB write \(requestID) refused: \(reason.prefix(120))")
            case .cibCommitted(let version):
                if let core, disk != nil {
                    disk!.cib = core.confirmedCIB
                    disk!.cibSequence = core.confirmedCIBSequence
                }
                context.trace("\(member) CIB at \(version)")
            case .garbage(let sender, let reason):
                context.trace("\(member) dropped garbage from \(sender): \(reason.prefix(80))")
            case .execute, .resourceResult, .resourcesChanged, .requestDropped, .fence, .fenceRecorded, .ticketsApplied:
                break  // no executor (nor tickets) in this simulation
            }
        }
    }

    /// The CIB writes a node keeps on its disk (the newest).
    public static var diskWritesMax: Int { 100_000 }
}
