import Corosync
import Dispatch
import Logging

/// Where a site's quorum comes from. `corosync`: the local node's quorum (libquorum), so a
/// holder whose site loses quorum stops what the ticket guards and releases the ticket at
/// once, instead of the others waiting out the lease.
public enum SiteQuorumSource: String, Sendable {
    /// Always quorate (arbitrators; sites whose resource manager handles it).
    case none
    case corosync
    /// The quorum of the site as its baton-crmd reports it (`status` on the crmd back end's
    /// socket, polled twice a second): a node in a corosync minority answers not quorate, and a
    /// baton-crmd that does not answer (every node of the site gone, or this node's daemon
    /// down) counts as no quorum too, so a holder stops renewing and releases, or, when the
    /// revoke cannot be confirmed, lets the lease run out.
    case crmd
}

extension TicketDaemon {
    static let crmdSilentPollsMax = 3

    /// Follows corosync's quorum for as long as the daemon runs. When corosync cannot be
    /// reached the site counts as without quorum (its resource manager cannot act either);
    /// reconnects every second.
    func followCorosyncQuorum() async {
        var reported: Bool?
        func report(_ quorate: Bool, _ why: String) {
            guard reported != quorate else { return }
            reported = quorate
            logger.notice("site quorum \(quorate ? "present" : "lost"): \(why)")
            siteQuorumChanged(quorate)
        }
        while !Task.isCancelled {
            do {
                let tracker = try await QuorumTracker.start()
                do {
                    for try await event in tracker.events {
                        if case .quorum(let view) = event {
                            report(view.quorate, "corosync ring \(view.ringID), \(view.members.count) members")
                        }
                    }
                } catch {
                    report(false, "corosync connection lost (\(error))")
                }
                await tracker.close()
            } catch {
                report(false, "corosync unreachable (\(error))")
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Follows baton-crmd's quorum (see `SiteQuorumSource.crmd`) for as long as the daemon runs.
    /// A baton-crmd that answers "no quorum" is believed at once; one that does not answer
    /// (or answers no status) only after `crmdSilentPollsMax` polls in a row, so that one slow
    /// answer on a loaded node does not release the site's tickets.
    func followCrmdQuorum(socket: String) async {
        var reported: Bool?
        var silentPolls = 0
        while !Task.isCancelled {
            // The request blocks (up to 2 s): off the cooperative pool.
            let (answered, quorate, why) = await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: CrmdBackEnd.quorum(socket: socket)) }
            }
            silentPolls = answered ? 0 : silentPolls + 1
            if !answered && silentPolls < Self.crmdSilentPollsMax && reported != nil {
                try? await Task.sleep(for: .milliseconds(500))
                continue
            }
            if reported != quorate {
                reported = quorate
                logger.notice("site quorum \(quorate ? "present" : "lost"): \(why)")
                siteQuorumChanged(quorate)
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
