import AgentTools
import CIB
import CRMStatusView
import Scheduler

/// crm_ticket's (Pacemaker 2.1.5) edits of the status section's `<tickets>` on a CIB
/// document: grant and revoke (refused without --force, with the stock warnings), standby and
/// activate, `-l` (the tickets in crm_mon's order, with last-granted) and `-q` (the state XML).
/// Pure: the caller gives the time (last-granted of a new grant).
public enum TicketEdits {
    public enum Command: Sendable, Equatable {
        case grant(ticket: String, force: Bool)
        case revoke(ticket: String, force: Bool)
        case standby(ticket: String)
        case activate(ticket: String)
        /// `-l [-t TICKET]`.
        case list(ticket: String?)
        /// `-q [-t TICKET]`.
        case queryXML(ticket: String?)
    }

    public enum Exit {
        public static let insufficientPrivileges: Int32 = 4
        public static let noSuchObject: Int32 = 105
    }

    /// Ticket ids are XML ids: bounded, no quote or angle bracket (they go into attributes).
    public static func validTicketID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 256 && !id.contains(where: { "<>&\"' \t\n".contains($0) })
    }

    public static func run(_ command: Command, on document: inout CIBDocument, now: Int) -> ToolOutcome {
        var outcome = ToolOutcome()
        switch command {
        case let .grant(ticket, force):
            guard allowed(ticket, force: force, granting: true, &outcome) else { return outcome }
            modify(ticket, in: &document, now: now) { state, wasGranted in
                state["granted"] = "true"
                if !wasGranted { state["last-granted"] = String(now) }
            }
        case let .revoke(ticket, force):
            guard allowed(ticket, force: force, granting: false, &outcome) else { return outcome }
            modify(ticket, in: &document, now: now) { state, _ in state["granted"] = "false" }
        case .standby(let ticket):
            modify(ticket, in: &document, now: now) { state, _ in state["standby"] = "true" }
        case .activate(let ticket):
            modify(ticket, in: &document, now: now) { state, _ in state["standby"] = "false" }
        case .list(let ticket):
            list(ticket, document, &outcome)
        case .queryXML(let ticket):
            let tickets = document.status?.children.first { $0.name == "tickets" }
            let element = ticket.map { id in tickets?.children.first { $0.name == "ticket_state" && $0["id"] == id } } ?? tickets
            guard let element else {
                outcome.standardError = "crm_ticket: Could not query ticket XML: No such device or address\n"
                outcome.exitCode = Exit.noSuchObject
                return outcome
            }
            var text = XMLCodec.serialize(element)
            if let declarationEnd = text.firstIndex(of: "\n") { text = String(text[text.index(after: declarationEnd)...]) }
            outcome.standardOutput = "State XML:\n\n" + text
        }
        return outcome
    }

    /// Without --force crm_ticket grants and revokes nothing: it says why.
    static func allowed(_ ticket: String, force: Bool, granting: Bool, _ outcome: inout ToolOutcome) -> Bool {
        guard !force else { return true }
        if granting {
            outcome.standardOutput = """
                This command cannot help you verify whether '\(ticket)' has been already granted elsewhere.
                If you really want to grant '\(ticket)' to this site now, and you know what you are doing,
                please specify --force.

                """
        } else {
            outcome.standardOutput = """
                Revoking '\(ticket)' can trigger the specified 'loss-policy'(s) relating to '\(ticket)'.

                You can check that with:
                crm_ticket --ticket \(ticket) --constraints

                Otherwise before revoking '\(ticket)', you may want to make '\(ticket)' standby with:
                crm_ticket --ticket \(ticket) --standby

                If you really want to revoke '\(ticket)' from this site now, and you know what you are doing,
                please specify --force.

                """
        }
        outcome.standardError = "crm_ticket: Ticket modification not allowed\n"
        outcome.exitCode = Exit.insufficientPrivileges
        return false
    }

    /// The ticket's ticket_state (made, with its tickets section, when missing), edited in one write.
    static func modify(_ ticket: String, in document: inout CIBDocument, now: Int, _ body: (inout XMLElement, _ wasGranted: Bool) -> Void) {
        precondition(validTicketID(ticket), "modify: the shell checked the ticket id")
        document.write(.status) { status in
            status.child("tickets") { tickets in
                let index = tickets.children.firstIndex { $0.name == "ticket_state" && $0["id"] == ticket } ?? {
                    tickets.children.append(XMLElement(name: "ticket_state", attributes: [.init(name: "id", value: ticket)]))
                    return tickets.children.count - 1
                }()
                let wasGranted = tickets.children[index]["granted"].map(isTrue) ?? false
                body(&tickets.children[index], wasGranted)
            }
        }
    }

    /// The status section's `ticket_state` attributes (all but `id`) by ticket id.
    public static func ticketStates(inStatus status: XMLElement?) -> [String: [String: String]] {
        var found: [String: [String: String]] = [:]
        for state in status?.children.first(where: { $0.name == "tickets" })?.children ?? [] where state.name == "ticket_state" {
            guard let id = state["id"] else { continue }
            var attributes: [String: String] = [:]
            for attribute in state.attributes where attribute.name != "id" { attributes[attribute.name] = attribute.value }
            found[id] = attributes
        }
        return found
    }

    /// The ticket attributes an edit changed (nil: removed), per ticket: what a live site's
    /// daemon is sent for the same edit (`tickets apply`).
    public static func changes(from before: CIBDocument, to after: CIBDocument) -> [String: [String: String?]] {
        let old = ticketStates(inStatus: before.status), new = ticketStates(inStatus: after.status)
        var changes: [String: [String: String?]] = [:]
        for id in Set(old.keys).union(new.keys) {
            let was = old[id] ?? [:], now = new[id] ?? [:]
            for name in Set(was.keys).union(now.keys) where was[name] != now[name] { changes[id, default: [:]][name] = .some(now[name]) }
        }
        return changes
    }

    /// crm_ticket -l: "ID\tgranted|revoked [standby]|<9 spaces>[ last-granted='ctime']" per ticket.
    static func list(_ ticket: String?, _ document: CIBDocument, _ outcome: inout ToolOutcome) {
        guard let cib = try? CIB(xml: document.root) else { return }
        var tickets = CrmMonView(cib: cib).tickets
        if let ticket {
            tickets = tickets.filter { $0.id == ticket }
            guard !tickets.isEmpty else {
                outcome.standardError = "crm_ticket: No such ticket '\(ticket)'\n"
                outcome.exitCode = Exit.noSuchObject
                return
            }
        }
        for entry in tickets {
            var line = "\(entry.id)\t\(entry.granted ? "granted" : "revoked") \(entry.standby ? "[standby]" : "         ")"
            if let lastGranted = entry.lastGranted { line += " last-granted='\(CrmMonView.utcTime(lastGranted))'" }
            outcome.standardOutput += line + "\n"
        }
    }
}

extension TicketEdits {
    /// What a ticket guards and still runs, by a CIB with its status (baton-crmd's `cib query`):
    /// for every rsc_ticket on `ticket` (its `rsc` or its sets' resources), the nodes where the
    /// resource is still active, or where it is still promoted when the constraint binds the
    /// promoted role only (loss-policy demote). Empty: the site has stopped (or fenced) all of it,
    /// what batond's crmd back end waits for before it lets a holder release. Resources named but
    /// not configured count as stopped. Pure.
    public static func activeGuarded(ticket: String, in root: XMLElement) throws(CIBError) -> [String: [String]] {
        let cib = try CIB(xml: root)
        var guarded: [(resource: String, promotedOnly: Bool)] = []
        for case .ticket(let constraint) in cib.configuration.constraints where constraint.ticket == ticket {
            let promoted = { (role: String?) in role == "Promoted" || role == "Master" }
            if let resource = constraint.resource { guarded.append((resource, promoted(constraint.resourceRole))) }
            for set in constraint.sets {
                for resource in set.resources { guarded.append((resource, promoted(set.role ?? constraint.resourceRole))) }
            }
        }
        guard !guarded.isEmpty else { return [:] }
        let snapshot = Scheduler.currentStatus(cib)
        var active: [String: [String]] = [:]
        for (resource, promotedOnly) in guarded {
            guard let model = ResourceModel(id: resource, snapshot: snapshot) else { continue }
            let nodes = promotedOnly ? model.promotedNodes : model.activeNodes + pendingNodes(model.resource)
            if !nodes.isEmpty { active[resource, default: []] += nodes.filter { !(active[resource] ?? []).contains($0) } }
        }
        return active
    }

    /// Nodes where an action on the resource or a part of it is in flight (record-pending: the
    /// pending record replaces the last one, so a pending stop of a started resource leaves no
    /// record saying it runs, and the status calls it Stopped). Still active there until the
    /// result comes: a stop in flight is not a stop.
    static func pendingNodes(_ resource: StatusSnapshot.Resource) -> [String] {
        var nodes: [String] = []
        func walk(_ resource: StatusSnapshot.Resource, depth: Int) {
            guard depth < CIBDocument.maximumDepth else { return }
            if let node = resource.pendingNode, !nodes.contains(node) { nodes.append(node) }
            for child in resource.children { walk(child, depth: depth + 1) }
        }
        walk(resource, depth: 0)
        return nodes
    }
}
