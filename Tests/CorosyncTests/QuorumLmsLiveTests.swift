import Foundation
import Testing

/// lms (last man standing) on real corosync: 4 nodes, the device with 3 votes (quorum 4 of
/// 7), Baton's arbitrator with `algorithm: lms`, then Debian's corosync-qnetd/qdevice 3.0.3
/// given the same section. Nodes 1, 2, 3 are cut off from everyone (their namespace's link
/// down) one by one: after each cut the survivors, down to node 4 alone, are quorate with the
/// device's vote and the cut nodes are not, and (Baton) never both at once. How long each
/// step takes, for how many samples a survivor was seen without quorum on the way and for how
/// many a cut node was still quorate beside the survivors, are printed.
extension RealCorosync.QuorumDeviceLiveTests {
    func lastManStanding(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 4, device: device, algorithm: "lms") { bed in
            let all = [1, 2, 3, 4]
            try await bed.waitUntil("all four quorate with the device's 3 votes", nodes: all, Self.allUp(4))
            for cut in 1...3 {
                let survivors = Array((cut + 1)...4)
                let gone = Array(1...cut)
                let start = ContinuousClock.now
                try await bed.bed.script(["cut", String(cut)])
                // Every node watched until the survivors are quorate in their new ring and the
                // cut nodes are not; dips (a survivor without quorum on the way) and overlaps (a
                // cut node still quorate while the survivors are) counted.
                var survived: Duration?
                var goneLost: Duration?
                var dips = 0
                var overlaps = 0
                let deadline = ContinuousClock.now + Patience.deadline
                var views: [Int: QuorumView] = [:]
                while survived == nil || goneLost == nil {
                    for node in all { views[node] = try await bed.view(node) }
                    let survivorsQuorate = survivors.allSatisfy { views[$0]!.nodes == survivors.count && views[$0]!.quorate }
                    if survived == nil && survivorsQuorate { survived = ContinuousClock.now - start }
                    if goneLost == nil && gone.allSatisfy({ !views[$0]!.quorate }) { goneLost = ContinuousClock.now - start }
                    if survived == nil && survivors.contains(where: { !views[$0]!.quorate }) { dips += 1 }
                    if survivorsQuorate && gone.contains(where: { views[$0]!.quorate }) { overlaps += 1 }
                    if ContinuousClock.now > deadline {
                        throw TestFailure("\(device) lms: after cutting node \(cut), survivors \(survivors) not quorate or the cut nodes not without quorum within "
                                          + "\(Patience.deadline): \(views.sorted { $0.key < $1.key }.map { "node\($0.key): \($0.value)" })")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                log("\(device) lms: node \(cut) cut, survivors \(survivors) quorate \(Self.seconds(survived!)) after the cut (\(dips) samples with a survivor "
                    + "without quorum on the way), node \(cut) without quorum \(Self.seconds(goneLost!)) after it (\(overlaps) samples with both quorate)")
                if device == .baton {
                    #expect(overlaps == 0, "after cutting node \(cut): a cut node and the survivors both quorate")
                }
                if device == .baton { for node in survivors { log("  node\(node): \(bed.decisionLine(node))") } }
                try await bed.holds("after cutting node \(cut): survivors \(survivors) keep quorum, the cut nodes stay without", nodes: all, for: .seconds(5)) { node, view in
                    gone.contains(node) ? !view.quorate : view.nodes == survivors.count && view.quorate
                }
            }
            let alone = try await bed.view(4)
            #expect(alone.nodes == 1 && alone.quorate && alone.totalVotes == 4, "node 4, the last man standing, with the device's 3 votes: \(alone)")
            let heal = ContinuousClock.now
            for node in 1...3 { try await bed.bed.script(["heal", String(node)]) }
            let healed = try await bed.waitUntil("healed: all four quorate with the device's votes", nodes: all, since: heal, Self.allUp(4))
            log("\(device) lms: healed, all four quorate with the device's votes \(Self.seconds(healed)) after the heal")
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func lmsLastManStandingKeepsQuorum() async throws {
        try await lastManStanding(.baton)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/corosync-qnetd")
                                                                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync-qdevice"),
                                                               "needs Debian's corosync-qnetd and corosync-qdevice (make test installs them)"))
    func qnetdSideBySideLmsLastManStanding() async throws {
        try await lastManStanding(.qnetd)
    }
}
