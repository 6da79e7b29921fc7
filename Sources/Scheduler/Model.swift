import CIB

/// A resource's role, ordered as Pacemaker orders them.
enum Role: Int, Comparable, Sendable {
    case unknown = 0, stopped, started, unpromoted, promoted

    static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

    var text: String {
        switch self {
        case .unknown: return "Unknown"
        case .stopped: return "Stopped"
        case .started: return "Started"
        case .unpromoted: return "Unpromoted"
        case .promoted: return "Promoted"
        }
    }

    /// Parses role names, old and new ("Master"/"Slave" included).
    init?(parsing text: String?) {
        switch text?.lowercased() {
        case "stopped": self = .stopped
        case "started": self = .started
        case "unpromoted", "slave": self = .unpromoted
        case "promoted", "master": self = .promoted
        default: return nil
        }
    }
}

/// A cluster node as the scheduler sees it.
final class SchedulerNode {
    let id: String
    let name: String
    let order: Int
    var online = false
    /// A remote node's online state as unpacked, kept when its connection's placement brings
    /// it online (Pacemaker's tables still see it offline then).
    var onlineAsUnpacked: Bool?
    var unclean = false
    var unseen = true
    var standby = false
    var pending = false
    var shutdown = false
    var maintenance = false
    var expectedUp = false
    var attributes: [String: String] = [:]
    /// Resources assigned so far (Pacemaker's num_resources, used to balance ties).
    var assignedCount = 0
    var fenceReason: String?
    /// Utilization capacity (placement strategies other than default) and what is used of it.
    var capacity: [String: Int] = [:]
    /// A Pacemaker Remote node, reached through the connection resource of this id.
    var isRemote = false
    var connection: String?
    /// A guest node: the id of the resource (a VM or container) it lives in.
    var guestContainer: String?
    /// The node must be reset before it can run resources again (Pacemaker's remote_requires_reset).
    var remoteRequiresReset = false
    /// The status section says the node was fenced (node_fenced).
    var remoteWasFenced = false
    /// Its resource history has been read.
    var historyUnpacked = false
    var consumed: [String: Int] = [:]

    func free(_ name: String) -> Int { (capacity[name] ?? 0) - (consumed[name] ?? 0) }

    /// fail-count-RSC[#op_interval] and last-failure-RSC[#…] attributes summed by resource name,
    /// computed once (node attributes do not change after unpacking).
    lazy var failureRecords: [String: (count: Score, last: Int)] = {
        var records: [String: (count: Score, last: Int)] = [:]
        for (key, value) in attributes {
            for (prefix, isCount) in [("fail-count-", true), ("last-failure-", false)] where key.hasPrefix(prefix) {
                let rest = key.dropFirst(prefix.count)
                let name = String(rest.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? rest)
                var record = records[name] ?? (count: .zero, last: 0)
                if isCount { record.count = record.count + score(value) } else { record.last = max(record.last, Int(value) ?? 0) }
                records[name] = record
            }
        }
        return records
    }()

    init(id: String, name: String, order: Int) {
        self.id = id
        self.name = name
        self.order = order
    }

    /// Whether resources may be placed here (online, clean, not standby, not shutting down).
    var canRunResources: Bool { online && !unclean && !standby && !shutdown && !maintenance && !pending }
}

enum ResourceKind { case primitive, group, clone }

/// A resource (primitive, group, clone or clone instance) with its state during a run.
final class SchedulerResource {
    let id: String
    let kind: ResourceKind
    weak var parent: SchedulerResource?
    var children: [SchedulerResource] = []
    var primitive: Primitive?
    /// The template the primitive was defined from (constraints may name the template).
    var template: String?
    /// An ocf:pacemaker:remote connection: it runs on cluster nodes only.
    var isRemoteConnection = false
    var meta: [String: String] = [:]
    let order: Int

    // Current state.
    var role: Role = .stopped
    var runningOn: [SchedulerNode] = []
    var roleOnNode: [String: Role] = [:]
    var failed = false
    /// A failure was ignored because of on-fail=ignore: the fail count does not ban.
    var failureIgnored = false
    /// Moves by live migration (migrate_to / migrate_from) instead of stop and start.
    var migrating = false
    /// A completed migration still needs its source stopped, or a half-done one cannot go on:
    /// it does not migrate (again) now.
    var migrationBlocked = false
    /// A migration to this node is half done (its migrate_from has not happened yet).
    var partialMigrationTarget: SchedulerNode?
    /// Successful start operations by node (their digests tell whether the definition changed).
    var activeStarts: [String: LRMOperation] = [:]
    /// Only reloadable parameters changed: reload in place.
    var reload = false
    /// A contained resource failed: restart this container in place.
    var restartRequired = false
    /// The id its operation history is recorded under (an anonymous clone instance's history
    /// may carry another instance number).
    var historyName: String?
    /// Utilization this resource needs on its node.
    var utilization: [String: Int] = [:]
    var managed = true
    var blocked = false
    var orphan = false
    /// Nodes with an operation history of this resource (a node may repeat).
    var historyNodes: [SchedulerNode] = []
    /// The recorded history (lrm_resource) by node name, for the configuration checks.
    var histories: [String: LRMResource] = [:]
    /// What changed in the definition since it was started, by node name (ConfigChanges.swift).
    var configChanges: [String: ConfigChange] = [:]

    // Placement.
    var allowed: [String: Score] = [:]
    /// resource-discovery=exclusive locations name these nodes: it may run on no other.
    var exclusiveDiscoveryNodes: Set<String>?
    /// A bundle (a clone of its containers), its parts per replica in report order, and
    /// whether this resource is a part reported with its bundle.
    var isBundle = false
    var bundleReplicas: [[SchedulerResource]]?
    var bundlePart = false
    /// Made by the scheduler (a bundle's container, IP or connection, a guest's connection):
    /// Pacemaker's generated parameters are not reproduced, so its digests are not compared.
    var generated = false
    var allocatedTo: SchedulerNode?
    var provisional = true
    var allocating = false
    var nextRole: Role?
    var dependentColocations: [Colocation] = []   // this resource is the dependent
    var primaryColocations: [Colocation] = []     // this resource is the primary
    var promotionScore: Score = .zero
    var promotionBanned = false
    /// A promoted failure asked for a demote (on-fail=demote): demote, and promote again if
    /// it stays promoted.
    var demoteRecovery = false
    /// Multiply active with multiple-active=stop_unexpected: stopped only away from its node.
    var stopUnexpected = false
    /// Active only on a failed migration's target while its recorded role ended Stopped: its
    /// start there is required (Pacemaker takes it from Stopped to Started in place).
    var stoppedButActive = false

    // Settings.
    var stickiness = 0
    var migrationThreshold = Score.infinityValue
    var failureTimeout = 0
    var priority = 0

    // Clone settings (for kind == .clone).
    var cloneMax = 0
    var cloneNodeMax = 1
    var promotable = false
    var promotedMax = 1
    var promotedNodeMax = 1
    var globallyUnique = false
    /// A member of the last instance of a globally unique clone Pacemaker made anonymous, of an
    /// agent that can be unique: native_unpack clears the unique flag only of what the clone
    /// holds so far, and the last group instance is not in it yet (the graph names it uniquely).
    var uniqueInAnonymousClone = false
    /// A group whose (or whose member's) assignment has begun: Pacemaker then moves "R with group" colocations to
    /// its last member (expand_group_colocations), where merging scores finds them.
    var groupColocationsExpanded = false
    var interleave = false

    // Actions (index into the action list).
    var actions: [Int] = []

    init(id: String, kind: ResourceKind, order: Int) {
        self.id = id
        self.kind = kind
        self.order = order
        if let colon = id.lastIndex(of: ":") { baseID = String(id[..<colon]) } else { baseID = id }
    }

    var top: SchedulerResource { parent?.top ?? self }
    var isCloneInstance: Bool { parent?.kind == .clone || (parent?.kind == .group && parent?.parent?.kind == .clone) }
    var cloneParent: SchedulerResource? {
        if parent?.kind == .clone { return parent }
        if parent?.kind == .group, parent?.parent?.kind == .clone { return parent?.parent }
        return nil
    }

    /// All primitives at or below this resource, in order.
    var primitives: [SchedulerResource] {
        kind == .primitive ? [self] : children.flatMap(\.primitives)
    }

    var isActive: Bool { !primitives.allSatisfy { $0.runningOn.isEmpty } }

    /// Id without the clone instance suffix (computed once: it is looked up per node).
    let baseID: String
}

/// `dependent` is placed relative to `primary` with `score`.
struct Colocation {
    let id: String
    let dependent: SchedulerResource
    let primary: SchedulerResource
    let score: Score
    let dependentRole: Role?
    let primaryRole: Role?
    let nodeAttribute: String
    let influence: Bool
    /// The resources as the constraint named them (before groups were resolved to members):
    /// Pacemaker sorts colocations by these.
    var namedDependent: SchedulerResource? = nil
    var namedPrimary: SchedulerResource? = nil
}

/// An action of the transition being built.
struct SchedulerAction {
    let id: Int
    let resource: SchedulerResource?
    let task: String
    let node: SchedulerNode?
    var optional: Bool
    var runnable: Bool
    var pseudo: Bool
    var reason: String?
    var fenceReason: String?
    /// reboot (the default) or off: a guest node whose container does not start again is off.
    var fenceType: String? = nil
}

struct OrderingFlags: OptionSet {
    let rawValue: Int
    static let impliesThen = OrderingFlags(rawValue: 1)
    static let impliesFirst = OrderingFlags(rawValue: 2)
    static let runnableLeft = OrderingFlags(rawValue: 4)
    static let restart = OrderingFlags(rawValue: 8)
    /// `then` is runnable if at least one `first` of the group is (clone "running" actions).
    static let oneOrMore = OrderingFlags(rawValue: 16)
    /// Propagate without giving a reason.
    static let silent = OrderingFlags(rawValue: 32)
    /// From a collective's entry pseudo-action to a member: the member gets the reason of the
    /// pseudo-action (Pacemaker applies such orderings to every member with the original first).
    static let inheritReason = OrderingFlags(rawValue: 64)
    /// "then" cannot happen while "first" belongs to a blocked resource and cannot happen.
    static let waitsForBlocked = OrderingFlags(rawValue: 128)
    /// "first" has no resource (unfencing) but still names the reason: "required stonith".
    static let reasonFromTask = OrderingFlags(rawValue: 256)
    /// "first" is a clone's pseudo-action: "then" is required when an instance's action on
    /// the same node as "then" is.
    static let impliesThenOnNode = OrderingFlags(rawValue: 512)
    /// A mandatory order with symmetrical=false (Pacemaker's pe_order_asymmetrical): "then"
    /// is not made required by "first"; it cannot happen (and is required, so it shows as
    /// blocked) when "first" cannot, unless it is a start that is optional where the resource
    /// already runs, or a stop of a stopped resource.
    static let asymmetrical = OrderingFlags(rawValue: 1 << 24)
    /// Applied only once every other ordering has settled, so that any other cause of "then"
    /// names its reason first: a primitive's required action reaching a group's first member
    /// directly stands for Pacemaker's route through the group's pseudo-action, which comes
    /// after the member's own causes (a guest node's container restarting, for one).
    static let settlesLast = OrderingFlags(rawValue: 1 << 25)
    /// With `runnableLeft`: "first" holds "then" back only once "first" is required as well as
    /// unrunnable (Pacemaker's restart ordering of a stop before its start, handle_restart_ordering:
    /// an optional stop that cannot run does not block the start).
    static let whenFirstRequired = OrderingFlags(rawValue: 1 << 26)
}

struct Ordering {
    let first: Int
    let then: Int
    let flags: OrderingFlags
}
