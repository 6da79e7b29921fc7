import CIB

/// The site's ticket states (Pacemaker's status-section `<tickets>`), held by baton-crmd on
/// every member, as transient attributes are: any member asks the DC (`ticketRequest`), the DC
/// orders the change (`ticketUpdate`), every member applies it in the group's order, and the
/// origin's admin is answered once the DC's broadcast is delivered there (`ticketsApplied`).
///
/// | event                                   | what happens                                                  |
/// |-----------------------------------------|---------------------------------------------------------------|
/// | admin change (`requestTickets`)         | request to the DC (view-stamped, resent after view changes)   |
/// | request at the DC                       | broadcast as the DC's update, unchanged                       |
/// | update delivered                        | applied everywhere; `ticketsApplied` (a new transition; the   |
/// |                                         | origin's answer)                                              |
/// | join round                              | every member announces its tickets; the round keeps, per      |
/// |                                         | ticket, the newest: highest `term` (booth's), then highest    |
/// |                                         | `expires` (a renewal), then the chosen DC's, then the first   |
/// |                                         | member's in the view's order. A restarted node gets them here.|
/// | `expireLeases(nowMilliseconds:)` on DC  | every granted ticket whose deadline has passed is revoked     |
/// |                                         | (granted=false) by the DC's own update: the site enforces the |
/// |                                         | lease when its ticket manager is killed, frozen or cut off    |
/// | every graph the DC makes                | a granted ticket past its deadline is taken as revoked        |
/// |                                         | (`enforceLeases`), the DC's update delivered or not: the stop |
/// |                                         | starts at the deadline by the DC's clock, not when a slow ring|
/// |                                         | brings the revoke back (DCController.leaseRanOut)             |
///
/// A ticket's deadline is its `expires` (booth's, wall-clock seconds), or its `stop-by`
/// (wall-clock milliseconds) when that comes first: batond's crmd back end writes `stop-by` =
/// the holder's lease end less its `stop-before`, so that the site stops what the ticket guards
/// before the lease ends even when batond is killed, frozen or cut off (`expires` alone, in whole
/// seconds, would have the stop start at the lease end and finish after it).
/// `leaseTimerMilliseconds` is the earliest deadline of a granted ticket while this member is
/// DC: the shell arms one timer for it (no polling); when it fires the DC's scheduler takes
/// the lapsed tickets as revoked at once and `expireLeases` writes the revoke. While an update
/// the DC broadcast is not yet delivered back (a renewal may be in it), the DC writes no
/// revoke (its graphs still take the ticket as revoked); the timer is armed again once it is.
///
/// Known limit: a ticket deleted (all its attributes removed) while a member was away comes
/// back when that member rejoins with it (no tombstones).
public struct SiteTicketChange: Hashable, Sendable {
    public var view: UInt64
    public var origin: Member
    /// 0: the DC's own change (a lease that ran out).
    public var requestID: UInt64
    /// Ticket id → attribute name → new value (nil removes the attribute). A ticket left
    /// without attributes is dropped.
    public var tickets: [String: [String: String?]]

    public init(view: UInt64, origin: Member, requestID: UInt64, tickets: [String: [String: String?]]) {
        self.view = view
        self.origin = origin
        self.requestID = requestID
        self.tickets = tickets
    }
}

public enum TicketRules {
    /// Tickets one node holds (and one change may name) at most.
    public static let ticketsMax = 1024
    /// Attributes one ticket holds at most.
    public static let attributesMax = 64

    /// A ticket id as crm_ticket takes it: 1-255 bytes, no space, quote or <>&.
    public static func validID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= MessageWire.nameBytesMax && !id.contains(where: { "<>&\"' \t\n\r".contains($0) })
    }

    /// An attribute name of a ticket_state: an XML name's characters, not `id`.
    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name != "id" && name.utf8.count <= MessageWire.nameBytesMax
            && name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0))) }
    }

    /// The admin socket's body for `tickets apply`: one change per line, `TICKET NAME VALUE`
    /// (set; the value is the rest of the line) or `TICKET NAME` (remove). Errors name the line.
    public static func parseChanges(_ text: String) throws(NodeCore.RequestError) -> [String: [String: String?]] {
        var changes: [String: [String: String?]] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            guard !line.isEmpty else { continue }
            let words = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard words.count >= 2 else { throw .invalid("line \(index + 1): expected 'TICKET NAME [VALUE]', got '\(line.prefix(80))'") }
            guard validID(words[0]) else { throw .invalid("line \(index + 1): '\(words[0].prefix(80))' is not a ticket id") }
            guard validName(words[1]) else { throw .invalid("line \(index + 1): '\(words[1].prefix(80))' is not a ticket attribute name") }
            let value: String? = words.count == 3 ? words[2] : nil
            if let value {
                guard value.utf8.count <= MessageWire.valueBytesMax else { throw .invalid("line \(index + 1): value over \(MessageWire.valueBytesMax) bytes") }
                guard !value.contains(where: { "<>&\"".contains($0) }) else { throw .invalid("line \(index + 1): the value may not hold <>&\"") }
            }
            changes[words[0], default: [:]][words[1]] = .some(value)
        }
        guard !changes.isEmpty else { throw .invalid("no ticket change given") }
        guard changes.count <= ticketsMax else { throw .invalid("\(changes.count) tickets in one change, over \(ticketsMax)") }
        for (id, attributes) in changes where attributes.count > attributesMax {
            throw .invalid("ticket \(id): \(attributes.count) attributes, over \(attributesMax)")
        }
        return changes
    }

    /// Applies a change to a store of tickets; a ticket left empty is dropped. Attributes or
    /// tickets over the limits are not added (a peer's flood cannot grow the store).
    public static func apply(_ change: [String: [String: String?]], to store: inout [String: [String: String]]) {
        for (id, attributes) in change.sorted(by: { $0.key < $1.key }) {
            if store[id] == nil && store.count >= ticketsMax { continue }
            var state = store[id] ?? [:]
            for (name, value) in attributes {
                if state[name] == nil && value != nil && state.count >= attributesMax { continue }
                state[name] = value
            }
            store[id] = state.isEmpty ? nil : state
        }
    }

    /// The join round's tickets: per ticket, the newest of the members' (see the header),
    /// `states` in preference order (the chosen DC first, then the view's order).
    public static func merge(_ states: [[String: [String: String]]]) -> [String: [String: String]] {
        var merged: [String: [String: String]] = [:]
        for store in states {
            for (id, state) in store {
                guard let current = merged[id] else {
                    if merged.count < ticketsMax { merged[id] = state }
                    continue
                }
                if newer(state, than: current) { merged[id] = state }
            }
        }
        return merged
    }

    /// Strictly newer: a higher booth term, or the same term and a later expires.
    static func newer(_ state: [String: String], than other: [String: String]) -> Bool {
        let term = { (s: [String: String]) in UInt64(s["term"] ?? "") ?? 0 }
        let expires = { (s: [String: String]) in Int64(s["expires"] ?? "") ?? Int64.min }
        if term(state) != term(other) { return term(state) > term(other) }
        return expires(state) > expires(other)
    }

    public static func isGranted(_ state: [String: String]) -> Bool {
        guard let value = state["granted"]?.lowercased() else { return false }
        return ["true", "yes", "on", "y", "1"].contains(value)
    }

    /// When the site revokes the ticket by itself unless renewed (wall-clock milliseconds): the
    /// earlier of `expires` (seconds) and `stop-by` (milliseconds); nil when it has neither (a
    /// ticket without a lease, or `expires` INF). Values that are not whole numbers, or out of
    /// range, are ignored.
    public static func deadlineMilliseconds(_ state: [String: String]) -> Int64? {
        let expires = Int64(state["expires"] ?? "").flatMap { $0.multipliedReportingOverflow(by: 1000).overflow ? nil : $0 * 1000 }
        let stopBy = Int64(state["stop-by"] ?? "")
        switch (expires, stopBy) {
        case let (.some(expires), .some(stopBy)): return min(expires, stopBy)
        case let (expires, stopBy): return expires ?? stopBy
        }
    }

    /// The granted tickets of `store` whose deadline has passed at `nowMilliseconds`.
    public static func lapsed(_ store: [String: [String: String]], nowMilliseconds: Int64) -> Set<String> {
        Set(store.compactMap { id, state in
            guard isGranted(state), let deadline = deadlineMilliseconds(state), deadline <= nowMilliseconds else { return nil }
            return id
        })
    }

    /// The scheduler's view of `cib` at `nowMilliseconds` (wall clock): every granted ticket
    /// whose deadline has passed is not granted (its loss-policy acts), whether or not the DC's
    /// revoke has come back through the group. Returns those tickets' ids, sorted.
    public static func enforceLeases(_ cib: inout CIB, nowMilliseconds: Int64) -> [String] {
        guard var tickets = cib.status.tickets else { return [] }
        var ids: [String] = []
        for index in tickets.states.indices {
            var state: [String: String] = [:]
            for attribute in tickets.states[index].xml.attributes { state[attribute.name] = attribute.value }
            guard isGranted(state), let deadline = deadlineMilliseconds(state), deadline <= nowMilliseconds else { continue }
            tickets.states[index].granted = "false"
            ids.append(tickets.states[index].id)
        }
        guard !ids.isEmpty else { return [] }
        cib.status.tickets = tickets
        return ids.sorted()
    }

    /// The status section's `<tickets>` as Pacemaker's CIB holds them: `ticket_state` per
    /// ticket (by id), `id` first, the other attributes by name.
    public static func element(_ store: [String: [String: String]]) -> XMLElement? {
        guard !store.isEmpty else { return nil }
        let states = store.keys.sorted().map { id in
            let attributes = (store[id] ?? [:]).sorted { $0.key < $1.key }.map { XMLElement.Attribute(name: $0.key, value: $0.value) }
            return XMLElement(name: "ticket_state", attributes: [.init(name: "id", value: id)] + attributes)
        }
        return XMLElement(name: "tickets", children: states)
    }
}

extension NodeCore {
    /// An admin's ticket change, forwarded to the DC; `ticketsApplied` comes back on every
    /// member once the DC's update is delivered (on this node: the admin's answer). Returns the
    /// request id.
    public mutating func requestTickets(_ tickets: [String: [String: String?]]) throws(RequestError) -> (requestID: UInt64, directives: [Directive]) {
        guard !tickets.isEmpty else { throw .invalid("no ticket change given") }
        guard tickets.count <= TicketRules.ticketsMax else { throw .invalid("\(tickets.count) tickets in one change, over \(TicketRules.ticketsMax)") }
        for (id, attributes) in tickets {
            guard TicketRules.validID(id) else { throw .invalid("'\(id.prefix(80))' is not a ticket id") }
            guard !attributes.isEmpty, attributes.count <= TicketRules.attributesMax else {
                throw .invalid("ticket \(id): 1 to \(TicketRules.attributesMax) attributes per change")
            }
            for (name, value) in attributes {
                guard TicketRules.validName(name) else { throw .invalid("ticket \(id): '\(name.prefix(80))' is not an attribute name") }
                if let value, value.utf8.count > MessageWire.valueBytesMax { throw .invalid("ticket \(id): \(name)'s value over \(MessageWire.valueBytesMax) bytes") }
            }
        }
        let change = SiteTicketChange(view: view?.fingerprint ?? 0, origin: local, requestID: takeTicketRequestID(), tickets: tickets)
        guard MessageWire.encodedIfFits(.ticketRequest(change)) != nil else { throw .invalid("the change is over one message's \(MessageWire.messageBytesMax) bytes: split it") }
        guard pendingWrites < settings.pendingWritesMax else { throw .tooManyPending(limit: settings.pendingWritesMax) }
        pendingTickets[change.requestID] = change
        return (change.requestID, sendPendingTickets())
    }

    /// Sends (again) this member's pending ticket changes, stamped with the current view, once
    /// settled (a DC that died with them, a view that changed under them).
    mutating func sendPendingTickets() -> [Directive] {
        guard settled, let view else { return [] }
        var directives: [Directive] = []
        for id in pendingTickets.keys.sorted() {
            guard var change = pendingTickets[id] else { continue }
            change.view = view.fingerprint
            pendingTickets[id] = change
            directives.append(.broadcast(.ticketRequest(change)))
        }
        return directives
    }

    /// Ticket request ids count on their own (the shell keeps their answers apart).
    private mutating func takeTicketRequestID() -> UInt64 {
        nextTicketRequestID += 1
        return nextTicketRequestID
    }

    /// A ticket message in the group's order.
    mutating func receivedTicket(_ message: Message, from sender: Member, view: View) -> [Directive] {
        switch message {
        case .ticketRequest(let change):
            guard isDC else { return [] }
            guard change.view == view.fingerprint, change.origin == sender, change.requestID != 0 else { return ignored() }
            ticketUpdatesInFlight += 1
            return [.broadcast(.ticketUpdate(change))]
        case .ticketUpdate(let change):
            guard settled, sender == dc, change.view == view.fingerprint else { return ignored() }
            if sender == local { ticketUpdatesInFlight = max(0, ticketUpdatesInFlight - 1) }
            TicketRules.apply(change.tickets, to: &tickets)
            if change.origin == local { pendingTickets[change.requestID] = nil }
            return [.ticketsApplied(change)]
        default:
            preconditionFailure("receivedTicket: \(message) is not a ticket message")
        }
    }

    /// The join round's tickets from the announces (the chosen DC's first).
    mutating func settleTickets(_ ordered: [Announce]) {
        tickets = TicketRules.merge(ordered.map(\.tickets))
        ticketUpdatesInFlight = 0
    }

    /// While this member is DC: the earliest deadline (wall-clock milliseconds) of a granted
    /// ticket (`TicketRules.deadlineMilliseconds`).
    public var leaseDeadlineMilliseconds: Int64? {
        guard isDC else { return nil }
        return tickets.values.filter(TicketRules.isGranted).compactMap(TicketRules.deadlineMilliseconds).min()
    }

    /// The granted tickets whose deadline has passed at `nowMilliseconds` (revoked or not yet).
    public func lapsedTickets(nowMilliseconds: Int64) -> Set<String> {
        TicketRules.lapsed(tickets, nowMilliseconds: nowMilliseconds)
    }

    /// While this member is DC: when the shell's lease timer fires next (wall-clock
    /// milliseconds): the earliest deadline of a granted ticket, but not one passed already
    /// while an update of the DC's is on its way back (`expireLeases` would do nothing: its
    /// delivery, or a new view, changes this and the timer is armed again). Without that, the
    /// timer fired every millisecond while a slow ring held the revoke.
    public func leaseTimerMilliseconds(nowMilliseconds: Int64) -> Int64? {
        guard isDC else { return nil }
        let deadlines = tickets.values.filter(TicketRules.isGranted).compactMap(TicketRules.deadlineMilliseconds)
        return (ticketUpdatesInFlight > 0 ? deadlines.filter { $0 > nowMilliseconds } : deadlines).min()
    }

    /// On the DC, at `nowMilliseconds` (wall clock): every granted ticket whose deadline has
    /// passed without renewal is revoked (granted=false), by one update of the DC's own. Not
    /// while a ticket update the DC broadcast is on its way back (it may be the renewal).
    public mutating func expireLeases(nowMilliseconds: Int64) -> [Directive] {
        guard isDC, ticketUpdatesInFlight == 0, let view else { return [] }
        var change: [String: [String: String?]] = [:]
        for (id, state) in tickets where TicketRules.isGranted(state) {
            if let deadline = TicketRules.deadlineMilliseconds(state), deadline <= nowMilliseconds { change[id] = ["granted": "false"] }
        }
        guard !change.isEmpty else { return [] }
        ticketUpdatesInFlight += 1
        return [.broadcast(.ticketUpdate(SiteTicketChange(view: view.fingerprint, origin: local, requestID: 0, tickets: change)))]
    }
}
