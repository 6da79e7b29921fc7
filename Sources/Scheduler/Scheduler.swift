import CIB

/// The result of one scheduler run: the actions to take (with their ordering) and the
/// Transition Summary in crm_simulate's words and order.
public struct Transition: Sendable {
    public var actions: [GraphAction]
    public var summary: [String]
    /// How the scheduler got there: assignments and node scores, in the order decided.
    public var explanation: [String] = []
    /// The graph a controller executes (Pacemaker's transition graph).
    public var graph: TransitionGraph = TransitionGraph(attributes: .init(), synapses: [])
}

/// One action of the transition graph.
public struct GraphAction: Sendable, Equatable {
    public var id: Int
    public var resource: String?
    public var task: String
    public var node: String?
    public var isPseudo: Bool
    /// Ids of the actions that must complete first.
    public var dependsOn: [Int]
}

/// The scheduler: a pure function from a CIB (configuration + status) and "now" to a
/// transition. No I/O, no clock: `now` is the CIB's execution-date or the caller's value.
public enum Scheduler {
    /// With `explain`, the transition's `explanation` lists each assignment with its node
    /// scores (off by default: it costs a line per resource naming every node).
    /// Without `buildGraph`, `graph` stays empty (the benchmark measures the graph's own cost
    /// with it).
    public static func schedule(_ cib: CIB, now: Int? = nil, explain: Bool = false, buildGraph: Bool = true) -> Transition {
        let workingSet = WorkingSet(cib: cib, now: cib.executionDate ?? now, explain: explain)
        workingSet.unpackCurrentState()
        workingSet.preferCleanCurrentNodes()
        workingSet.initialiseAllowedNodes()
        workingSet.unpackConstraints()
        workingSet.addGroupColocations()
        workingSet.applyBundlePlacement()
        workingSet.sortColocations()
        workingSet.applyTickets()
        workingSet.applyNodeHealth()
        workingSet.applyNodeCriteria()
        workingSet.applyShutdownLocks()
        workingSet.checkConfigChanges()
        workingSet.assignAll()
        workingSet.settlePartialMigrations()
        workingSet.createActions()
        workingSet.scheduleUnfencing()
        workingSet.decideMigrations()
        workingSet.orderRemoteActions()
        workingSet.propagateBlockingColocations()
        var writer = SummaryWriter(workingSet: workingSet)
        writer.write()
        let actions = workingSet.graphActions()
        let graph = buildGraph ? workingSet.transitionGraph() : TransitionGraph(attributes: .init(), synapses: [])
        return Transition(actions: actions, summary: writer.lines, explanation: workingSet.explanation, graph: graph)
    }
}
