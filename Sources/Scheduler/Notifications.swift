import CIB

/// Clone notifications (notify=true), as Pacemaker 2.1.5 builds them (lib/pengine/pe_notif.c,
/// pe__clone_notif_pseudo_ops and pe__create_notifications, called from clone_create_actions,
/// pe__create_promotable_pseudo_ops and clone_expand).
///
/// For each clone action (start, stop, and for promotable clones promote and demote) the clone
/// gets four pseudo-events that frame its instances' actions:
///
///     CLONE_pre_notify_start_0            (notify)     every instance that stays is told first
///     -> INSTANCE_pre_notify_start_0 on each node      (rsc_op notify)
///     -> CLONE_confirmed-pre_notify_start_0 (notified)
///     -> CLONE_start_0 -> instances' starts -> CLONE_running_0
///     -> CLONE_post_notify_running_0      (notify)     then every instance that runs
///     -> INSTANCE_post_notify_start_0 on each node     (rsc_op notify)
///     -> CLONE_confirmed-post_notify_running_0 (notified)
///
/// What is ordered after the clone's action (another resource's start after the clone's
/// start) waits for the confirmed-post pseudo-event instead of the milestone
/// (action_uuid_for_ordering). The stop's confirmed-post comes before the start's pre; a
/// promotable clone's demote comes first of all and its promote last.
///
/// Each notify action and each required start, stop, promote and demote of an instance
/// carries the OCF_RESKEY_CRM_meta_notify_* variables (`NotificationData.variables`): which
/// instances start, stop, promote and demote on which nodes, which are active, inactive,
/// promoted and unpromoted now, the nodes the clone may run on and all nodes.
///
/// The flags of a clone's notification pseudo-events follow its instances' actions
/// (summary_action_flags): runnable when one of them is, required when one of them is, when
/// the notification has something to say (an instance starts for a start notification) or,
/// for the post-notifications, when the clone's milestone is in the graph.

/// One instance named in a notification, with the node it runs on (or will run on, for the
/// actions), as Pacemaker's notify_entry_t.
struct NotificationEntry {
    let resource: SchedulerResource
    let node: SchedulerNode?
}

/// What a clone's notifications say (Pacemaker's notify_data_t without the pseudo-actions):
/// the instances by state and by action, and the name/value pairs derived from them.
struct NotificationData {
    var start: [NotificationEntry] = []
    var stop: [NotificationEntry] = []
    var promote: [NotificationEntry] = []
    var demote: [NotificationEntry] = []
    var active: [NotificationEntry] = []
    var inactive: [NotificationEntry] = []
    var promoted: [NotificationEntry] = []
    var unpromoted: [NotificationEntry] = []

    /// The instances that perform `task` ("start", "stop", "promote", "demote").
    func entries(for task: String) -> [NotificationEntry] {
        switch task {
        case "start": return start
        case "stop": return stop
        case "promote": return promote
        case "demote": return demote
        default: preconditionFailure("no clone notification for the task \(task)")
        }
    }

    /// Pacemaker's collect_resource_data (with the actions): each instance (each group member,
    /// for a clone of groups) by its current role on the first node it runs on, and by each
    /// required, runnable start, stop, promote and demote it has on a node (a stop on a node
    /// being fenced counts even when it cannot run).
    init(clone: SchedulerResource, actions: [SchedulerAction]) {
        precondition(clone.kind == .clone, "notification data for \(clone.id), which is not a clone")
        for instance in clone.primitives {
            let entry = NotificationEntry(resource: instance, node: instance.runningOn.first)
            switch instance.role {
            case .stopped: inactive.append(entry)
            case .started: active.append(entry)
            case .unpromoted: unpromoted.append(entry); active.append(entry)
            case .promoted: promoted.append(entry); active.append(entry)
            case .unknown: break   // (Pacemaker logs an error and lists it nowhere)
            }
            for id in instance.actions {
                let action = actions[id]
                guard !action.optional, let node = action.node else { continue }
                if !(action.task == "stop" && node.unclean) && !action.runnable { continue }
                let entry = NotificationEntry(resource: instance, node: node)
                switch action.task {
                case "start": start.append(entry)
                case "stop": stop.append(entry)
                case "promote": promote.append(entry)
                case "demote": demote.append(entry)
                default: break
                }
            }
        }
    }

    /// The notify_* name/value pairs (add_notif_keys), without the CRM_meta_ prefix. Lists are
    /// space-separated; an empty one is a single space, as Pacemaker writes it.
    /// `available` are the nodes the clone may run on, `all` every node of the cluster.
    func variables(available: [SchedulerNode], all: [SchedulerNode], hostOf: (SchedulerNode) -> SchedulerNode?,
                   hostTargeted: Bool) -> [String: String] {
        var result: [String: String] = [:]
        func add(_ name: String, _ entries: [NotificationEntry], withNodes: Bool = true) {
            let (resources, nodes) = Self.strings(entries, withNodes: withNodes)
            result["notify_\(name)_resource"] = resources
            if withNodes { result["notify_\(name)_uname"] = nodes }
        }
        add("stop", stop)
        add("start", start)
        add("demote", demote)
        add("promote", promote)
        add("active", active)
        add("unpromoted", unpromoted)
        add("slave", unpromoted)
        add("promoted", promoted)
        add("master", promoted)
        add("inactive", inactive, withNodes: false)
        result["notify_available_uname"] = Self.words(available.sorted(by: nodeNameOrder).map(\.name))
        let allSorted = all.sorted(by: nodeNameOrder)
        if hostTargeted {
            result["notify_all_hosts"] = Self.words(allSorted.map { (hostOf($0) ?? $0).name })
        }
        result["notify_all_uname"] = Self.words(allSorted.map(\.name))
        return result
    }

    /// notify_entries_to_strings: sorted by instance id, then node id (entries without a
    /// node last), one word per instance (the first of its entries), and the node names of
    /// those entries in the same order; entries without a node are left out of both when
    /// the nodes are wanted.
    static func strings(_ entries: [NotificationEntry], withNodes: Bool) -> (resources: String, nodes: String) {
        let sorted = entries.sorted { lhs, rhs in
            if lhs.resource.id != rhs.resource.id { return lhs.resource.id.utf8.lexicographicallyPrecedes(rhs.resource.id.utf8) }
            switch (lhs.node, rhs.node) {
            case (nil, _): return false
            case (_, nil): return true
            case (let left?, let right?): return left.id.utf8.lexicographicallyPrecedes(right.id.utf8)
            }
        }
        var resources: [String] = []
        var nodes: [String] = []
        var last: String?
        for entry in sorted {
            if withNodes && entry.node == nil { continue }
            if entry.resource.id == last { continue }
            last = entry.resource.id
            resources.append(entry.resource.id)
            if withNodes, let node = entry.node { nodes.append(node.name) }
        }
        return (words(resources), words(nodes))
    }

    /// Space-separated words; no words is one space (Pacemaker's "empty" list).
    static func words(_ words: [String]) -> String {
        words.isEmpty ? " " : words.joined(separator: " ")
    }
}

/// Pacemaker's node name order (pe__cmp_node_name, pcmk__numeric_strcasecmp): letters
/// without regard to case, runs of digits by their value (the shorter run first when equal).
func nodeNameOrder(_ lhs: SchedulerNode, _ rhs: SchedulerNode) -> Bool {
    numericCaselessCompare(lhs.name, rhs.name) < 0
}

func numericCaselessCompare(_ lhs: String, _ rhs: String) -> Int {
    let left = Array(lhs.utf8), right = Array(rhs.utf8)
    var i = 0, j = 0
    func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
    while i < left.count && j < right.count {
        if isDigit(left[i]) && isDigit(right[j]) {
            let startLeft = i, startRight = j
            while i < left.count && isDigit(left[i]) { i += 1 }
            while j < right.count && isDigit(right[j]) { j += 1 }
            // Compare the values without overflow: strip leading zeros, then length, then digits.
            let digitsLeft = left[startLeft..<i].drop { $0 == 48 }, digitsRight = right[startRight..<j].drop { $0 == 48 }
            if digitsLeft.count != digitsRight.count { return digitsLeft.count < digitsRight.count ? -1 : 1 }
            if !digitsLeft.elementsEqual(digitsRight) { return digitsLeft.lexicographicallyPrecedes(digitsRight) ? -1 : 1 }
            let lengthLeft = i - startLeft, lengthRight = j - startRight
            if lengthLeft != lengthRight { return lengthLeft < lengthRight ? -1 : 1 }
        } else {
            let a = lower(left[i]), b = lower(right[j])
            if a != b { return a < b ? -1 : 1 }
            i += 1
            j += 1
        }
    }
    if i == left.count && j < right.count { return -1 }
    if i < left.count && j == right.count { return 1 }
    return 0
}

extension TransitionGraphBuilder {
    /// The clone action a notification is about, with the milestone that completes it.
    private static let notifiedTasks: [(task: String, complete: String)] = [
        ("start", "running"), ("stop", "stopped"), ("promote", "promoted"), ("demote", "demoted"),
    ]

    /// The four pseudo-events of one clone action's notifications.
    private struct NotificationPseudoEvents {
        let task: String
        let pre: Int
        let preDone: Int
        let post: Int
        let postDone: Int
    }

    /// Pacemaker's clone notifications for every clone with notify=true (see the top of this
    /// file), added once the working set's actions are settled and the recurring monitors
    /// exist (the post-notifications come before them).
    mutating func addNotifications() {
        let clones = set.resources.filter { $0.kind == .clone && !$0.isBundle && truthy($0.meta["notify"]) }
        // Those after fencing first: their variables win on the actions both reach.
        for fence in set.fenceActions where set.actions[fence].fenceType != "on" {
            guard let target = set.actions[fence].node else { continue }
            for clone in clones {
                for instance in clone.primitives {
                    for stop in instance.actions where set.actions[stop].task == "stop" && set.actions[stop].node === target
                        && set.actions[stop].pseudo {
                        addNotificationsAfterFencing(clone, instance, target: target, fence: fence)
                    }
                }
            }
        }
        for clone in clones { addNotifications(clone) }
    }

    /// pe__order_notifs_after_fencing: a stop implied by fencing has no pre-notification;
    /// the instances that stay are told after the fencing (post-notify pseudo-events of the
    /// instance itself, "post_notify_stonith"), with only the stopped instance and its node
    /// as variables.
    private mutating func addNotificationsAfterFencing(_ clone: SchedulerResource, _ stopped: SchedulerResource,
                                                      target: SchedulerNode, fence: Int) {
        let fenceAction = set.actions[fence]
        func pseudo(_ task: String, _ type: String) -> Int {
            let id = set.addAction(stopped, task, nil, optional: fenceAction.optional, runnable: fenceAction.runnable, pseudo: true)
            notificationKeys[id] = (type, "stonith")
            extraMeta[id, default: [:]].merge(["notify_key_type": type, "notify_key_operation": "stonith",
                                               "notify_type": "post", "notify_operation": "stop"]) { $1 }
            actionPriorities[id] = Score.infinityValue
            return id
        }
        let post = pseudo("notify", "post"), postDone = pseudo("notified", "confirmed-post")
        graphOrderings += [(fence, post), (post, postDone)]
        let events = NotificationPseudoEvents(task: "stop", pre: post, preDone: postDone, post: post, postDone: postDone)
        let variables = ["notify_stop_resource": stopped.id, "notify_stop_uname": target.name]
        for instance in clone.primitives {
            addVariables(variables, toActionsOf: instance)
            guard instance.role != .stopped else { continue }
            let stop = set.findAction(instance, "stop")
            for node in instance.runningOn {
                if let stop, set.actions[stop].pseudo && (node.unclean || node.remoteRequiresReset) { continue }
                if stop == nil || set.actions[stop!].optional { addPostNotification(instance, on: node, events, variables: variables) }
            }
        }
    }

    private mutating func addNotifications(_ clone: SchedulerResource) {
        let data = NotificationData(clone: clone, actions: set.actions)
        let variables = data.variables(
            available: set.nodes.filter { clone.allowed[$0.name] != nil }, all: set.nodes,
            hostOf: { node in node.guestContainer.flatMap { set.resourcesByID[$0]?.runningOn.first } },
            hostTargeted: clone.meta["container-attribute-target"] == "host")
        let tasks = Self.notifiedTasks.filter { clone.promotable || $0.task == "start" || $0.task == "stop" }
        var events: [String: NotificationPseudoEvents] = [:]
        for (task, complete) in tasks {
            guard let entry = set.findAction(clone, task), let exit = set.findAction(clone, complete) else { continue }
            // summary_action_flags over each instance's first action of the task.
            // (An instance that is not placed has no start in Pacemaker: our placeholder,
            // without a node, does not count.)
            let instanceActions = clone.children.compactMap { set.findAction($0, task) }.map { set.actions[$0] }
                .filter { $0.node != nil || $0.resource?.kind != .primitive }
            let runnable = instanceActions.contains { $0.runnable }
            let saysSomething = !data.entries(for: task).isEmpty
            let required = saysSomething || instanceActions.contains { !$0.optional }
            let postRequired = required || isKept(set.actions[exit])
            func pseudo(_ type: String, _ operation: String, notifyType: String, required: Bool) -> Int {
                let id = set.addAction(clone, type.hasPrefix("confirmed") ? "notified" : "notify", nil,
                                       optional: !required, runnable: runnable, pseudo: true)
                notificationKeys[id] = (type, operation)
                extraMeta[id, default: [:]].merge(["notify_key_type": type, "notify_key_operation": operation,
                                                   "notify_type": notifyType, "notify_operation": task]) { $1 }
                return id
            }
            let pre = pseudo("pre", task, notifyType: "pre", required: required)
            let preDone = pseudo("confirmed-pre", task, notifyType: "pre", required: required)
            let post = pseudo("post", complete, notifyType: "post", required: postRequired)
            let postDone = pseudo("confirmed-post", complete, notifyType: "post", required: postRequired)
            for id in [post, postDone] { actionPriorities[id] = Score.infinityValue }
            graphOrderings += [(pre, preDone), (preDone, entry), (exit, post), (post, postDone), (preDone, post)]
            events[task] = NotificationPseudoEvents(task: task, pre: pre, preDone: preDone, post: post, postDone: postDone)
            notificationRemaps[entry] = postDone
            notificationRemaps[exit] = postDone
        }
        if let stop = events["stop"], let start = events["start"] { graphOrderings.append((stop.postDone, start.pre)) }
        if let promote = events["promote"], let demote = events["demote"] {
            for before in [events["stop"], events["start"], demote].compactMap({ $0 }) { graphOrderings.append((before.postDone, promote.pre)) }
            for after in [events["start"], events["stop"]].compactMap({ $0 }) { graphOrderings.append((demote.postDone, after.pre)) }
        }
        for instance in clone.primitives {
            addVariables(variables, toActionsOf: instance)
            for (task, _) in tasks {
                guard let pseudoEvents = events[task] else { continue }
                addInstanceNotifications(instance, pseudoEvents, saysSomething: !data.entries(for: task).isEmpty, variables: variables)
            }
        }
    }

    /// The variables go on the instance's own required start, stop, promote and demote too
    /// (those already there stay: the first notification to reach an action wins).
    private mutating func addVariables(_ variables: [String: String], toActionsOf instance: SchedulerResource) {
        for id in instance.actions {
            let action = set.actions[id]
            guard !action.optional, action.node != nil, ["start", "stop", "promote", "demote"].contains(action.task) else { continue }
            extraMeta[id, default: [:]].merge(variables) { current, _ in current }
        }
    }

    /// create_notify_actions for one instance: the instances that leave (stop, demote) are
    /// told where they run, before, and after when they stay; those that arrive (start,
    /// promote) where they are placed, after, and before unless they are only starting now.
    private mutating func addInstanceNotifications(_ instance: SchedulerResource, _ events: NotificationPseudoEvents,
                                                   saysSomething: Bool, variables: [String: String]) {
        let task = events.task
        // Nothing starts, promotes or demotes: no instance is told (a stop may be implied by
        // fencing, so the stop's notifications are always made).
        if task != "stop" && !saysSomething { return }
        if (task == "stop" || task == "demote") && instance.role != .stopped {
            let stop = set.findAction(instance, "stop")
            for node in instance.runningOn {
                if let stop, set.actions[stop].pseudo && (node.unclean || node.remoteRequiresReset) { continue }
                addInstanceNotification(instance, on: node, event: events.pre, done: events.preDone, variables: variables)
                if task == "demote" || stop == nil || set.actions[stop!].optional {
                    addPostNotification(instance, on: node, events, variables: variables)
                }
            }
        }
        if (task == "start" || task == "promote") && (instance.nextRole ?? .stopped) != .stopped {
            let start = set.findAction(instance, "start")
            guard let node = instance.allocatedTo else { return }
            if task != "start" || start == nil || set.actions[start!].optional {
                addInstanceNotification(instance, on: node, event: events.pre, done: events.preDone, variables: variables)
            }
            addPostNotification(instance, on: node, events, variables: variables)
        }
    }

    /// new_post_notify_action: the post-notification (INFINITY priority), and the instance's
    /// recurring monitors after every post-notification is confirmed.
    private mutating func addPostNotification(_ instance: SchedulerResource, on node: SchedulerNode,
                                              _ events: NotificationPseudoEvents, variables: [String: String]) {
        if let notify = addInstanceNotification(instance, on: node, event: events.post, done: events.postDone, variables: variables) {
            actionPriorities[notify] = Score.infinityValue
        }
        for id in instance.actions where (intervals[id] ?? 0) > 0 && set.actions[id].task != "cancel" {
            graphOrderings.append((events.postDone, id))
        }
    }

    /// new_notify_action: a notify of the instance on the node, between the clone's
    /// notification pseudo-event and its confirmation; none when that pseudo-event cannot
    /// happen or the node is offline.
    @discardableResult
    private mutating func addInstanceNotification(_ instance: SchedulerResource, on node: SchedulerNode, event: Int, done: Int,
                                                  variables: [String: String]) -> Int? {
        let pseudo = set.actions[event]
        guard pseudo.runnable, node.online, let key = notificationKeys[event] else { return nil }
        let meta = extraMeta[event] ?? [:]
        let notifyType = meta["notify_type"] ?? key.type, operation = meta["notify_operation"] ?? key.operation
        // custom_action: the same key on the same node is the same action (a notification
        // after fencing and the clone's own), required when either is.
        let existing = instance.actions.first { id in
            set.actions[id].task == "notify" && set.actions[id].node === node
                && notificationKeys[id].map { $0.type == notifyType && $0.operation == operation } == true
        }
        let id = existing ?? set.addAction(instance, "notify", node, optional: pseudo.optional)
        if !pseudo.optional { set.actions[id].optional = false }
        notificationKeys[id] = (notifyType, operation)
        extraMeta[id, default: [:]].merge(meta) { current, _ in current }
        extraMeta[id, default: [:]].merge(variables) { current, _ in current }
        graphOrderings += [(event, id), (id, done)]
        return id
    }

    /// Whether `resource` is `ancestor` or inside it.
    func isWithin(_ resource: SchedulerResource, _ ancestor: SchedulerResource) -> Bool {
        var current: SchedulerResource? = resource
        while let candidate = current {
            if candidate === ancestor { return true }
            current = candidate.parent
        }
        return false
    }

    /// action_for_ordering: an ordering from a notify=true clone's action to another
    /// resource's action waits for the clone's confirmed-post pseudo-event instead.
    func notificationRemapped(first: Int, then: Int) -> Int {
        guard let target = notificationRemaps[first], let thenResource = set.actions[then].resource,
              let clone = set.actions[first].resource, !isWithin(thenResource, clone) else { return first }
        return target
    }
}
