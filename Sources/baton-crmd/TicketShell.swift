import CRMCore
import Foundation

/// The site's tickets in the daemon (CRMCore's Tickets.swift): admins' changes to the DC and
/// their answers, a new transition at every change, and the DC's lease timer.
extension Loop {
    /// An admin's ticket change: answered "ok" once the DC's update is delivered here.
    mutating func requestTickets(_ changes: [String: [String: String?]], reply: AdminReply) async {
        do {
            let (requestID, directives) = try core.requestTickets(changes)
            ticketReplies[requestID] = reply
            await perform(directives)
        } catch {
            reply.send("error: \(error)\n")
        }
    }

    /// A change applied here: its origin's answer; on the DC, a new graph at once (rsc_ticket's
    /// loss-policy acts on a revoke).
    mutating func ticketsApplied(_ change: SiteTicketChange) async {
        let summary = change.tickets.keys.sorted().map { id in
            let state = core.tickets[id] ?? [:]
            return "\(id) granted=\(state["granted"] ?? "-") expires=\(state["expires"] ?? "-") term=\(state["term"] ?? "-")"
        }.joined(separator: "; ")
        if change.requestID == 0 {
            log("ticket lease ran out without renewal, revoked by the DC: \(summary)", .warning)
        } else {
            log("tickets changed: \(summary)")
        }
        if change.origin == core.local, let reply = ticketReplies.removeValue(forKey: change.requestID) {
            reply.send("ok\n")
        }
        guard var controller else { return }
        // The DC's own revoke of leases its graph already took as revoked (at the deadline,
        // by the clock) changes nothing for the scheduler: the run stopping them goes on.
        if change.requestID == 0, change.origin == core.local, controller.leaseLapsed.isSuperset(of: change.tickets.keys) { return }
        let more = controller.invalidate("tickets changed", now: daemon.now)
        self.controller = controller
        await performController(more)
    }

    /// On the DC: one timer at the earliest deadline (`expires` or `stop-by`) of a granted
    /// ticket (`NodeCore.leaseTimerMilliseconds`; re-armed when that changes; a stale fire is
    /// dropped by its generation).
    mutating func armLeaseTimer() {
        let now = Self.wallClockMilliseconds()
        let deadline = core.leaseTimerMilliseconds(nowMilliseconds: now)
        guard deadline != leaseTimerAt else { return }
        leaseTimerAt = deadline
        leaseTimerGeneration += 1
        guard let deadline else { return }
        let milliseconds = max(0, deadline - now)
        timers.yield(TimerRequest(duration: .milliseconds(milliseconds + 1), event: .leaseCheck(generation: leaseTimerGeneration)))
    }

    static func wallClockMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The lease timer fired: at once, the DC's scheduler takes what ran out as revoked (the
    /// run aborted, a new graph: the loss-policy acts by the clock, whatever the ring's delay);
    /// and the DC writes the revoke (unless an update is on its way back: then once it is).
    mutating func leaseCheck(generation: Int) async {
        guard generation == leaseTimerGeneration else { return }
        leaseTimerAt = nil
        let now = Self.wallClockMilliseconds()
        let lapsed = core.lapsedTickets(nowMilliseconds: now)
        if !lapsed.isEmpty, var controller {
            let directives = controller.leaseRanOut(lapsed, now: daemon.now)
            self.controller = controller
            if !directives.isEmpty {
                log("ticket lease deadline passed (by this node's clock) for \(lapsed.sorted().joined(separator: ", ")): stopping what it guards now", .warning)
            }
            await performController(directives)
            // The new graph (and a stop on this node) before the revoke's broadcast, which a
            // stalled corosync could hold up.
            await driveController()
        }
        await perform(core.expireLeases(nowMilliseconds: now))
    }
}
