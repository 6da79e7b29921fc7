/// The transition graph a controller executes, as Pacemaker 2.1.5's scheduler writes it
/// (pcmk_graph_producer.c): graph attributes, then synapses, each with one action and the
/// actions it waits for (its inputs).
///
/// Field by field (what the controller does with it):
/// - `attributes`: cluster-delay and stonith-timeout bound how long the controller waits for an
///   action before it gives up on the transition; failed-stop-offset and failed-start-offset
///   are the fail counts a failed stop / start records (INFINITY bans the node); batch-limit
///   caps the actions in flight (0: the controller decides); transition_id numbers the graph;
///   migration-limit and recheck-by are present only when configured / known.
/// - a synapse fires its action once every input has completed; `priority` orders synapses
///   that are ready together (the resource's priority, absent when 0).
/// - an action is a resource operation (`rsc_op`, sent to the executor on `node`, through
///   `routerNode` for a remote node), a `pseudo_event` (a milestone with no work: clone and
///   group start/running, notifications' confirmations, fencing implied for a guest), or a
///   `crm_event` the controller performs itself (fencing, shutdown, clearing a fail count).
/// - `attributes` of an action are the instance parameters (the agent's OCF_RESKEY_*) and the
///   CRM_meta_* values the executor and agent read: timeout and interval in milliseconds,
///   op_target_rc (7 for a probe of a stopped resource), clone and notify variables.
/// - `downed`: the nodes the action brings down (fencing, shutdown), so that their loss is
///   expected.
///
/// Pure value: built by `Scheduler.schedule`, written by `TransitionGraphWriter`, compared by
/// `TransitionGraph.differences(from:)`.
public struct TransitionGraph: Sendable, Equatable {
    public var attributes: Attributes
    public var synapses: [Synapse]

    public init(attributes: Attributes, synapses: [Synapse]) {
        self.attributes = attributes
        self.synapses = synapses
    }

    /// `<transition_graph …>`'s attributes, in Pacemaker's order.
    public struct Attributes: Sendable, Equatable {
        public var clusterDelay = "60s"
        public var stonithTimeout = "60s"
        public var failedStopOffset = "INFINITY"
        public var failedStartOffset = "INFINITY"
        public var batchLimit = "0"
        public var transitionID = 0
        public var migrationLimit: String?
        public var recheckBy: Int?

        public init() {}

        /// Name and value pairs in the order Pacemaker writes them.
        public var pairs: [(name: String, value: String)] {
            var result: [(name: String, value: String)] = [
                ("cluster-delay", clusterDelay), ("stonith-timeout", stonithTimeout),
                ("failed-stop-offset", failedStopOffset), ("failed-start-offset", failedStartOffset),
                ("batch-limit", batchLimit), ("transition_id", String(transitionID)),
            ]
            if let migrationLimit { result.append(("migration-limit", migrationLimit)) }
            if let recheckBy { result.append(("recheck-by", String(recheckBy))) }
            return result
        }
    }

    public struct Synapse: Sendable, Equatable {
        public var id: Int
        /// 0 is written as no attribute.
        public var priority: Int
        public var action: Action
        /// The actions this one waits for (each also has a synapse of its own), in the order
        /// written.
        public var inputs: [Action.Reference]

        public init(id: Int, priority: Int, action: Action, inputs: [Action.Reference]) {
            self.id = id
            self.priority = priority
            self.action = action
            self.inputs = inputs
        }
    }

    /// The XML element an action is written as.
    public enum Element: String, Sendable, Equatable, CaseIterable {
        case resourceOperation = "rsc_op"
        case pseudoEvent = "pseudo_event"
        case controllerEvent = "crm_event"
    }

    /// An action's `operation`: the task the executor, the controller or nobody (pseudo) runs.
    public enum Operation: Sendable, Hashable, CustomStringConvertible {
        case start, stop, monitor, promote, demote, notify, migrateTo, migrateFrom, cancel, reloadAgent, delete
        /// Collective milestones (pseudo-events) after start, stop, promote, demote, notify.
        case running, stopped, promoted, demoted, notified
        case stonith, doShutdown, clearFailcount, lrmDelete
        /// Anything else by its name (one-or-more:…, load_stopped_NODE, newer tasks).
        case other(String)

        private static let names: [(Operation, String)] = [
            (.start, "start"), (.stop, "stop"), (.monitor, "monitor"), (.promote, "promote"), (.demote, "demote"),
            (.notify, "notify"), (.migrateTo, "migrate_to"), (.migrateFrom, "migrate_from"), (.cancel, "cancel"),
            (.reloadAgent, "reload-agent"), (.delete, "delete"), (.running, "running"), (.stopped, "stopped"), (.promoted, "promoted"),
            (.demoted, "demoted"), (.notified, "notified"), (.stonith, "stonith"), (.doShutdown, "do_shutdown"),
            (.clearFailcount, "clear_failcount"), (.lrmDelete, "lrm_delete"),
        ]

        public init(_ name: String) {
            self = Self.names.first { $0.1 == name }?.0 ?? .other(name)
        }

        public var description: String {
            if case .other(let name) = self { return name }
            return Self.names.first { $0.0 == self }!.1
        }
    }

    /// The node an action runs on.
    public struct Node: Sendable, Hashable {
        public var name: String
        public var uuid: String
        public init(name: String, uuid: String) { self.name = name; self.uuid = uuid }
    }

    /// `<primitive id long-id class provider type/>` of a resource operation.
    public struct Primitive: Sendable, Equatable {
        public var id: String
        /// The clone instance's name (anonymous clones: the id is the configured one).
        public var longID: String?
        public var resourceClass: String?
        public var provider: String?
        public var type: String?
        public init(id: String, longID: String?, resourceClass: String?, provider: String?, type: String?) {
            self.id = id; self.longID = longID; self.resourceClass = resourceClass; self.provider = provider; self.type = type
        }
    }

    public struct Action: Sendable, Equatable {
        public var id: Int
        public var element: Element
        public var operation: Operation
        /// RESOURCE_TASK_INTERVALMS (clone instances by their instance name), or the task's
        /// own key (stonith-NODE-reboot, do_shutdown-NODE).
        public var operationKey: String
        /// The key by the scheduler's internal name when it differs (clone instances).
        public var internalOperationKey: String?
        public var node: Node?
        /// The cluster node that relays an action on a remote or guest node.
        public var routerNode: String?
        public var primitive: Primitive?
        /// Instance parameters and CRM_meta_* values (crm_feature_set left out).
        public var attributes: [String: String]
        /// Other attributes of the action element itself (shutdown-lock, mode).
        public var elementAttributes: [String: String]
        /// Node ids this action brings down.
        public var downed: [String]
        /// The node a pseudo-event stands for (a stop implied by fencing): not written in the
        /// XML, where pseudo-events carry no node; the dot graph names it.
        public var plannedNode: String?

        public init(id: Int, element: Element, operation: Operation, operationKey: String,
                    internalOperationKey: String? = nil, node: Node? = nil, routerNode: String? = nil,
                    primitive: Primitive? = nil, attributes: [String: String] = [:],
                    elementAttributes: [String: String] = [:], downed: [String] = []) {
            self.id = id; self.element = element; self.operation = operation; self.operationKey = operationKey
            self.internalOperationKey = internalOperationKey; self.node = node; self.routerNode = routerNode
            self.primitive = primitive; self.attributes = attributes; self.elementAttributes = elementAttributes
            self.downed = downed
        }

        /// Whether the XML names the node (resource operations, controller events, fencing).
        public var writesNode: Bool { element != .pseudoEvent || operation == .stonith }

        /// How an action is named where it is an input: what identifies it for a controller,
        /// independent of the numbering.
        public struct Identity: Sendable, Hashable, CustomStringConvertible {
            public var element: Element
            public var operationKey: String
            public var node: String?
            public var description: String { "\(element.rawValue) \(operationKey)\(node.map { " on \($0)" } ?? "")" }
        }

        public var identity: Identity { Identity(element: element, operationKey: operationKey, node: writesNode ? node?.name : nil) }

        /// An input: the short form written inside `<trigger>`.
        public struct Reference: Sendable, Equatable {
            public var id: Int
            public var identity: Identity
        }

        public var reference: Reference { Reference(id: id, identity: identity) }
    }

    /// The synapse of each action id.
    public func synapseIndexByActionID() -> [Int: Int] {
        var result: [Int: Int] = [:]
        for (index, synapse) in synapses.enumerated() { result[synapse.action.id] = index }
        return result
    }
}

extension TransitionGraph {
    /// A cycle of inputs (each action waiting for the next, the last for the first), or nil:
    /// a controller can never fire the synapses of a cycle. Iterative depth-first search,
    /// bounded by the number of synapses.
    public func inputCycle() -> [Action.Identity]? {
        let index = synapseIndexByActionID()
        let count = synapses.count
        var state = [UInt8](repeating: 0, count: count)   // 0 unseen, 1 on the path, 2 done
        var stack: [(synapse: Int, nextInput: Int)] = []
        for root in 0..<count where state[root] == 0 {
            stack.append((root, 0))
            state[root] = 1
            while let top = stack.last {
                let inputs = synapses[top.synapse].inputs
                guard top.nextInput < inputs.count else {
                    state[top.synapse] = 2
                    stack.removeLast()
                    continue
                }
                stack[stack.count - 1].nextInput += 1
                guard let next = index[inputs[top.nextInput].id] else { continue }
                if state[next] == 1 {
                    let start = stack.firstIndex { $0.synapse == next }!
                    return stack[start...].map { synapses[$0.synapse].action.identity }
                }
                if state[next] == 0 {
                    state[next] = 1
                    stack.append((next, 0))
                    precondition(stack.count <= count, "input cycle search went deeper than the \(count) synapses")
                }
            }
        }
        return nil
    }
}
