import CRMCore
import Foundation
import SeededRandom
import Testing

/// NearQuorumPoint and ResourceRecover with migration-threshold=1 in the lab of `CrmdLabTests`
/// (3 corosync nodes, baton-crmd, fencing on, Witness resources).
extension RealCorosync.CrmdLabTests {
    /// The cuts NearQuorumPoint draws from: 2+1 with each node the minority, and 1+1+1.
    static let cuts: [[[Int]]] = [[[1, 2], [3]], [[1, 3], [2]], [[2, 3], [1]], [[1], [2], [3]]]

    /// The run's seed: BATON_LAB_SEED (to repeat a run), else a fresh one, printed either way.
    static func labSeed(_ scenario: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["BATON_LAB_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64(Int64.max))
        log("\(scenario): seed \(seed) (BATON_LAB_SEED=\(seed) repeats this run's choices)")
        return seed
    }

    /// The fence log's off and reboot runs from line `from` on.
    static func fenceRuns(_ bed: CrmdBed, from: Int = 0) -> [String] {
        Fencing.fenceLog(bed).split(separator: "\n").dropFirst(from).map(String.init)
            .filter { $0.contains(" run ") && ($0.contains("action=off") || $0.contains("action=reboot")) }
    }

    /// NearQuorumPoint (CTS: nodes started and stopped across the quorum line; here the cuts of
    /// a seeded draw cut by scripts/testbed's `split` between every two groups, each healed
    /// before the next): two rounds in a seeded order, the 1+1+1 cut
    /// and a 2+1 cut with a seeded minority. Per partition one DC and the right quorum. 2+1: the
    /// minority stops its resources itself (no-quorum-policy stop) while the fence device is
    /// held, and fences nobody; released, the majority fences the minority and starts them; the
    /// healed minority comes back. 1+1+1: no partition is quorate, every node stops what it
    /// runs, nobody fences anybody; at the heal two nodes may merge before the third (seen
    /// under load): that quorate pair fences the third, once, as Pacemaker's DC would, and it
    /// comes back. After each heal: one DC, one CIB (same version and digest on
    /// every node), every resource once, placed as `baton simulate` leaves it, the witness clean.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func nearQuorumPoint() async throws {
        var random = SplitMix64(seed: Self.labSeed("NearQuorumPoint"))
        let twoPlusOne = Self.cuts[random.below(3)]
        let rounds = random.below(2) == 0 ? [twoPlusOne, Self.cuts[3]] : [Self.cuts[3], twoPlusOne]
        log("NearQuorumPoint: cuts \(rounds.map { $0.map { "{\($0.map(String.init).joined(separator: ","))}" }.joined(separator: "|") })")
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let release = "\(bed.testbed.directory)/fence-release"
            let (lab, _, _) = try await Self.start(bed, cib: try Self.sticky(Self.cib(bed)), hold: release)
            for cut in rounds {
                let name = cut.map { "{\($0.map(String.init).joined(separator: ","))}" }.joined(separator: "|")
                var fencedBefore = Self.fenced(lab)
                let runsBefore = Fencing.fenceLog(bed).split(separator: "\n").count
                let placed = Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, lab.running($0).first ?? 0) })
                let lossesBefore = Self.partitionsWithoutQuorum(bed, cut.first { $0.count == 2 } ?? [])
                let waitedOutBefore = (cut.first { $0.count == 2 } ?? []).map { Self.logCount(bed, $0, "the loss was not acted on") }.reduce(0, +)
                // Every path between two groups cut (`testbed split A B`: blackhole routes both ways).
                let paths = cut.enumerated().flatMap { index, group in
                    cut.dropFirst(index + 1).flatMap { other in group.flatMap { a in other.map { b in [String(a), String(b)] } } }
                }
                for path in paths { try await bed.testbed.script(["split"] + path) }
                for group in cut { _ = try await bed.waitForOneDC(on: group, quorate: group.count == 2) }
                let minorities = cut.filter { $0.count == 1 }.flatMap { $0 }
                do {
                    try await waitUntil("\(name): every minority node \(minorities) stopped what it ran (no-quorum-policy stop)") {
                        let journal = lab.witness.journal
                        return placed.filter { minorities.contains($0.value) }.allSatisfy { id, node in
                            lab.running(id, on: [node]).isEmpty
                                && journal.events.contains { $0.instance == id && $0.kind == "stop-end" && $0.rc == 0 && $0.node == "node\(node)" }
                        }
                    }
                } catch {
                    throw TestFailure("\(error)\nfence log:\n\(Fencing.fenceLog(bed))\n\(Resources.logs(bed, [1, 2, 3]))")
                }
                #expect(Self.fenced(lab) == fencedBefore, "\(name): nobody fenced while the device is held")
                if let majority = cut.first(where: { $0.count == 2 }), let minority = minorities.first {
                    for id in placed.filter({ $0.value == minority }).keys {
                        #expect(lab.running(id, on: majority).isEmpty, "\(name): \(id) not started in the majority before the minority is fenced")
                    }
                    #expect(FileManager.default.createFile(atPath: release, contents: nil))
                    let after = try await lab.waitForEachOnce(on: majority)
                    // The minority may run nothing (a heal before fenced it and its resources
                    // stayed where they went): then they are all placed before the fence ends.
                    try await waitUntil("\(name): the majority's fence of node\(minority) journaled") {
                        Self.fenced(lab).count > fencedBefore.count
                    }
                    if Self.partitionsWithoutQuorum(bed, majority) > lossesBefore {
                        // As the ring re-forms after the cut, corosync may give a majority node a
                        // moment alone; the DC waits such a loss out (--quorum-loss-settle, 1 s)
                        // and stops nothing. One that lasted longer is acted on (its resources
                        // stop, then start wherever the scheduler places them): logged.
                        log("NearQuorumPoint \(name): a majority node's ring lost quorum for more than the DC waits as it re-formed; placed \(placed), after \(after)")
                    } else {
                        let waitedOut = majority.map { Self.logCount(bed, $0, "the loss was not acted on") }.reduce(0, +) - waitedOutBefore
                        if waitedOut > 0 {
                            log("NearQuorumPoint \(name): a majority node lost quorum for a moment as the ring re-formed (\(waitedOut) time(s)); the DC waited it out")
                        }
                        for (id, node) in placed where node != minority { #expect(after[id] == node, "\(name): \(id) stays on node\(node)") }
                    }
                    #expect(Self.fenced(lab) == fencedBefore + ["node\(minority)"], "\(name): the majority fenced node\(minority), nobody else")
                    let port = try Fencing.namespace(bed, minority)
                    let runs = Self.fenceRuns(bed, from: runsBefore)
                    #expect(!runs.isEmpty && runs.allSatisfy { $0.contains("port=\(port) ") || $0.hasSuffix("port=\(port)") },
                            "\(name): only the minority is fenced, only by the majority: \(runs)")
                    let majorityDC = Int(try await bed.waitForOneDC(on: majority, quorate: true).nodeID.rawValue)
                    try await Self.check(lab, "NearQuorumPoint \(name)", node: majorityDC, placed: after)
                    for path in paths { try await bed.testbed.script(["unsplit"] + path) }
                    try await Self.rejoin(lab, minority, "NearQuorumPoint \(name) healed, node\(minority) back")
                    try FileManager.default.removeItem(atPath: release)
                } else {
                    #expect(Self.ids.allSatisfy { lab.running($0).isEmpty }, "\(name): nothing runs anywhere")
                    let runs = Self.fenceRuns(bed, from: runsBefore)
                    #expect(runs.isEmpty, "\(name): no partition without quorum fenced anybody: \(runs)\n\(Resources.logs(bed, [1, 2, 3]))")
                    // The heal may merge two nodes before the third (knet finds each link on its
                    // own): that pair has quorum, the third is lost unfenced and the pair fences
                    // it, as Pacemaker's DC would. The device released, such a fence completes.
                    #expect(FileManager.default.createFile(atPath: release, contents: nil))
                    for path in paths { try await bed.testbed.script(["unsplit"] + path) }
                    var fencedAtHeal: [String] = []
                    try await waitUntil("\(name) healed: one DC on the three with quorum and no fence in flight, or a node fenced") {
                        fencedAtHeal = Array(Self.fenced(lab).dropFirst(fencedBefore.count))
                        if !fencedAtHeal.isEmpty { return true }
                        let lines = Fencing.fenceLog(bed).split(separator: "\n").dropFirst(runsBefore)
                        guard lines.filter({ $0.contains(" run ") }).count == lines.filter({ $0.contains(" done ") }).count else { return false }
                        var dcs: Set<String> = []
                        for node in 1...3 {
                            guard let status = try? await bed.status(node), status.settled, status.quorate, status.members.count == 3,
                                  let dc = status.dc else { return false }
                            dcs.insert(dc.description)
                        }
                        return dcs.count == 1
                    }
                    #expect(fencedAtHeal.count <= 1, "\(name): at most the node a partial merge left out is fenced: \(fencedAtHeal)")
                    for node in fencedAtHeal {
                        let number = Int(node.dropFirst(4))!
                        // Fenced as the pair merged: wait until the fence is complete, then bring it back.
                        try await waitUntil("\(node)'s fence complete") {
                            let lines = Fencing.fenceLog(bed).split(separator: "\n").dropFirst(runsBefore)
                            return lines.filter { $0.contains(" run ") }.count == lines.filter { $0.contains(" done ") }.count
                        }
                        log("NearQuorumPoint \(name): the heal merged two nodes first; they fenced \(node)")
                        try await Self.rejoin(lab, number, "NearQuorumPoint \(name) healed, \(node) back after its fence")
                    }
                    let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
                    try await bed.waitForOneCIB(on: [1, 2, 3])
                    _ = try await lab.waitForEachOnce()
                    try await Self.check(lab, "NearQuorumPoint \(name) healed", node: dc)
                    try FileManager.default.removeItem(atPath: release)
                    fencedBefore += fencedAtHeal
                }
                let expectedFenced = cut.count == 3 ? fencedBefore : fencedBefore + ["node\(minorities[0])"]
                #expect(Self.fenced(lab) == expectedFenced, "\(name): fenced \(Self.fenced(lab)), expected \(expectedFenced)")
                try await bed.waitForOneCIB(on: [1, 2, 3])
            }
        }
    }
}

/// ResourceRecover with migration-threshold=1 and the fail counts as crm_mon shows them.
extension RealCorosync.CrmdLabTests {
    /// The lab started (SimulStart) on `cib` instead of the plain lab CIB.
    static func start(_ bed: CrmdBed, cib: String, hold: String? = nil, options: [String] = []) async throws -> (lab: Lab, dc: Int, placed: [String: Int]) {
        let witness = try WitnessBed(bed)
        try cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
        let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, hold: hold, onFenced: witness.onFenced), options: options)
        for node in 1...3 { try lab.launch(node) }
        let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
        let placed = try await lab.waitForEachOnce()
        return (lab, Int(dc.nodeID.rawValue), placed)
    }

    /// How many times the nodes' baton-crmd logged a partition without quorum so far.
    /// Those the DC waited out (the quorum back within --quorum-loss-settle) are not counted.
    static func partitionsWithoutQuorum(_ bed: CrmdBed, _ nodes: [Int]) -> Int {
        nodes.map { node in
            let text = (try? String(contentsOfFile: "\(bed.testbed.directory)/node\(node)/crmd.log", encoding: .utf8)) ?? ""
            return text.components(separatedBy: "partition WITHOUT quorum").count - text.components(separatedBy: "the loss was not acted on").count
        }.reduce(0, +)
    }

    /// `cib` with resource-stickiness 1 in rsc_defaults (as CTS gives its migrator): what must
    /// move is exact, nothing moves to balance the nodes.
    static func sticky(_ cib: String) throws -> String {
        let sticky = cib.replacingOccurrences(of: "<constraints/></configuration>", with: """
            <constraints/><rsc_defaults><meta_attributes id="rsc-options">\
            <nvpair id="rsc-options-stickiness" name="resource-stickiness" value="1"/></meta_attributes></rsc_defaults></configuration>
            """)
        guard sticky.contains("resource-stickiness") else { throw TestFailure("no <constraints/></configuration> in the lab's CIB") }
        return sticky
    }

    /// A section of a crm_mon text ("Migration Summary:", "Failed Resource Actions:"): its lines
    /// to the next blank line, nil without it.
    static func section(_ title: String, of text: String) -> [Substring]? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0 == title }) else { return nil }
        return Array(lines[start...].prefix { !$0.isEmpty })
    }

    /// `baton crm status -f` from a node's daemon and the stock `crm_mon -1 -f` on that node's
    /// CIB (queried just after), both in UTC: the Migration Summary and the Failed Resource
    /// Actions, equal; ours.
    static func sameFailuresAsCrmMon(_ bed: CrmdBed, _ node: Int, _ context: String) async throws -> (summary: [Substring], failed: [Substring]?) {
        let crmMon = "/usr/sbin/crm_mon"
        if let missing = Requirement.executable(crmMon, "Debian package pacemaker-cli-utils") { throw TestFailure(missing) }
        var last = ""
        var result: (summary: [Substring], failed: [Substring]?) = ([], nil)
        do {
            try await waitUntil("\(context): `baton crm status -f` on node\(node) shows the fail counts and failed actions as crm_mon -1 -f") {
                let ours = try await run(["/usr/bin/env", "TZ=UTC", "LC_ALL=C", Paths.baton, "crm", "status", "-f", "--socket", bed.socket(node)])
                let query = try await bed.cib(node, ["query"])
                guard ours.status == 0, query.status == 0 else { return false }
                let path = try bed.file("lab-crm-mon-\(node).xml", query.output)
                let stock = try await run(["/usr/bin/env", "CIB_file=\(path)", "TZ=UTC", "LC_ALL=C", crmMon, "-1", "-f"])
                let summary = section("Migration Summary:", of: ours.output), failed = section("Failed Resource Actions:", of: ours.output)
                last = "ours:\n\(ours.output)\ncrm_mon:\n\(stock.output)"
                guard stock.status == 0, let summary, summary == section("Migration Summary:", of: stock.output),
                      failed == section("Failed Resource Actions:", of: stock.output) else { return false }
                result = (summary, failed)
                return true
            }
        } catch {
            throw TestFailure("\(error); last:\n\(last)")
        }
        return result
    }

    /// Waits until `baton crm status` on `node` shows `resource`'s line FAILED and blocked,
    /// the very line the stock crm_mon -1 prints on the same node's CIB; returns that line, or
    /// nil (having printed why) when crm_mon is absent.
    static func sameBlockedLineAsCrmMon(_ bed: CrmdBed, _ node: Int, _ resource: String, _ context: String) async throws -> String? {
        let crmMon = "/usr/sbin/crm_mon"
        if Requirement.executable(crmMon, "Debian package pacemaker-cli-utils") != nil {
            print("SKIPPING the crm_mon comparison of \(context): \(crmMon) is absent")
            return nil
        }
        var last = "", shown = ""
        do {
            try await waitUntil("\(context): \(resource) shown FAILED and blocked by `baton crm status` as by crm_mon -1") {
                let ours = try await run(["/usr/bin/env", "TZ=UTC", "LC_ALL=C", Paths.baton, "crm", "status", "--socket", bed.socket(node)])
                let query = try await bed.cib(node, ["query"])
                guard ours.status == 0, query.status == 0 else { return false }
                let path = try bed.file("lab-blocked-\(resource).xml", query.output)
                let stock = try await run(["/usr/bin/env", "CIB_file=\(path)", "TZ=UTC", "LC_ALL=C", crmMon, "-1"])
                func line(_ text: String) -> Substring? { text.split(separator: "\n").first { $0.contains(" \(resource)\t") || $0.contains(" \(resource) ") } }
                last = "ours:\n\(ours.output)\ncrm_mon:\n\(stock.output)"
                guard let mine = line(ours.output), mine.contains("FAILED"), mine.contains("blocked") else { return false }
                shown = String(mine)
                return mine == line(stock.output)
            }
        } catch {
            throw TestFailure("\(error); last:\n\(last)")
        }
        return shown
    }

    /// ResourceRecover with migration-threshold=1 (CTS's ResourceRecover, the threshold as
    /// admins set it): w1's monitor fails (its state file deleted) → fail count 1 on its node →
    /// stopped there and started on another node, once, never two at once; `baton crm status
    /// -f` shows the Migration Summary and the failed action as `crm_mon -1 -f` on the same
    /// CIB; `baton crm resource cleanup w1` → the fail count and failure gone on every node and
    /// w1 probed again there and the placement what `baton simulate` says on the daemon's CIB
    /// (resource-stickiness 1: w1 stays where it runs, nothing started or stopped); nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func resourceRecoverWithMigrationThresholdOneMovesAndCleanupLetsItReturn() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let cib = try Self.cib(bed).replacingOccurrences(
                of: #"<primitive id="w1" class="ocf" provider="baton" type="Witness">"#,
                with: #"<primitive id="w1" class="ocf" provider="baton" type="Witness"><meta_attributes id="w1-meta"><nvpair id="w1-mt" name="migration-threshold" value="1"/></meta_attributes>"#)
            #expect(cib.contains("w1-mt"))
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.sticky(cib))
            try await Self.check(lab, "ResourceRecover (threshold 1): started", node: dc, placed: placed)
            let (clean, cleanFailed) = try await Self.sameFailuresAsCrmMon(bed, dc, "started")
            #expect(clean == ["Migration Summary:"] && cleanFailed == nil, "no failure yet: \(clean) \(String(describing: cleanFailed))")
            let node = try #require(placed["w1"])
            let mark = lab.witness.journal.events.count
            let failed = Date()
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, "w1", type: Self.type))
            var to = 0
            try await waitUntil("w1 moved off node\(node) with \(Self.failCount("w1")) = 1 there") {
                let running = lab.running("w1")
                guard running.count == 1, running[0] != node else { return false }
                to = running[0]
                guard let status = try? await bed.status(dc) else { return false }
                return status.nodes.first { $0.nodeID == NodeID(UInt32(node)) }?.attributes[Self.failCount("w1")] == "1"
            }
            log("ResourceRecover (migration-threshold=1): w1 running on node\(to) \(Int(Date().timeIntervalSince(failed) * 1000)) ms after its state file on node\(node) was deleted")
            let changes = Self.changes(lab, since: mark)
            #expect(changes == ["w1": ["node\(node) stop-begin", "node\(to) start-begin"]], "w1 stopped on node\(node), started once on node\(to), nothing else: \(changes)")
            var moved = placed
            moved["w1"] = to
            try await Self.check(lab, "ResourceRecover (threshold 1): moved", node: dc, placed: moved)
            let (summary, failedActions) = try await Self.sameFailuresAsCrmMon(bed, dc, "w1 failed")
            #expect(summary.count == 3 && summary[1] == "  * Node: node\(node):" && summary[2].hasPrefix("    * w1: migration-threshold=1 fail-count=1 last-failure='"),
                    "\(summary)")
            #expect(failedActions?.count == 2 && failedActions?[1].hasPrefix("  * w1 2s-interval monitor on node\(node) returned 'not running' at ") == true,
                    "\(String(describing: failedActions))")

            let cleanedAt = lab.witness.journal.events.count
            let cleaned = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["cleanup", "w1"])
            #expect(cleaned.status == 0 && cleaned.output == "Cleaned up w1 on node\(node)\n", "\(cleaned.output)")
            try await waitUntil("no fail count of w1 on any node") {
                for other in 1...3 {
                    guard let status = try? await bed.status(other),
                          status.nodes.allSatisfy({ $0.attributes[Self.failCount("w1")] == nil }) else { return false }
                }
                return true
            }
            // node\(node) probes w1 again (its history there forgotten); stickiness keeps it on node\(to).
            try await waitUntil("w1 probed again on node\(node)") {
                lab.witness.journal.events.dropFirst(cleanedAt).contains { $0.instance == "w1" && $0.kind == "monitor" && $0.node == "node\(node)" && $0.rc == 7 }
            }
            let after = try await Self.check(lab, "ResourceRecover (threshold 1): cleaned up", node: dc, placed: moved)
            #expect(Self.changes(lab, since: cleanedAt).isEmpty, "the cleanup starts and stops nothing (stickiness 1): \(Self.changes(lab, since: cleanedAt))")
            let (none, noneFailed) = try await Self.sameFailuresAsCrmMon(bed, dc, "cleaned up")
            #expect(none == ["Migration Summary:"] && noneFailed == nil, "no failure after the cleanup: \(none) \(String(describing: noneFailed))")
            log("ResourceRecover (migration-threshold=1): after the cleanup w1 on node\(after["w1"] ?? 0) (was node\(node), moved to node\(to))")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }
}

/// Node maintenance and unmanaged resources.
extension RealCorosync.CrmdLabTests {
    /// Journal events since line `after` on `node` (any kind).
    static func events(_ lab: Lab, since after: Int, on node: Int) -> [String] {
        lab.witness.journal.events.dropFirst(after).filter { $0.node == "node\(node)" }.map { "\($0.kind) \($0.instance)" }
    }

    /// Sleeps `intervals` monitor intervals (a wait for something that must NOT happen).
    static func monitorIntervals(_ intervals: Int) async throws {
        let until = ContinuousClock.now + .milliseconds(intervals * Resources.monitorMilliseconds)
        while ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(200)) }
    }

    /// Node maintenance (node attribute maintenance=true, as `crm_attribute -N NODE -n
    /// maintenance -v true -l forever`) on one node and an unmanaged resource (`baton crm
    /// resource unmanage`, is-managed=false) on another: on the maintenance node no monitor
    /// runs and a resource whose state is lost is not recovered; the unmanaged resource's
    /// monitor still reports it stopped but nothing starts it; nothing else is touched. Back
    /// off (maintenance=false, `manage`): the two lost resources are started again, nothing
    /// that ran is restarted, the placement is `baton simulate`'s; nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func nodeMaintenanceAndAnUnmanagedResourceAreLeftAloneUntilTheyEnd() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.sticky(Self.cib(bed)))
            try await Self.check(lab, "maintenance: started", node: dc, placed: placed)
            let node = Fencing.victim(dc: dc, placed)
            let other = try #require([1, 2, 3].first { other in other != node && placed.values.contains(other) })
            let lost = try #require(placed.filter { $0.value == node }.map(\.key).sorted().first)
            let unmanaged = try #require(placed.filter { $0.value == other }.map(\.key).sorted().first)

            let on = try await RealCorosync.CrmdAgentToolsTests.tool(bed, dc, ["crm_attribute", "-N", "node\(node)", "-n", "maintenance", "-v", "true", "-l", "forever"])
            #expect(on.status == 0, "\(on.output)")
            let unmanage = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["unmanage", unmanaged])
            #expect(unmanage.status == 0, "\(unmanage.output)")
            try await waitUntil("node\(node)'s maintenance and \(unmanaged)'s is-managed=false in every node's CIB") {
                for reader in 1...3 {
                    let read = try? await RealCorosync.CrmdAgentToolsTests.tool(bed, reader, ["crm_attribute", "-N", "node\(node)", "-n", "maintenance", "-G", "-q"])
                    let query = try? await bed.cib(reader, ["query", "-o", "resources"])
                    guard read?.output == "true\n", query?.output.contains("name=\"is-managed\" value=\"false\"") == true else { return false }
                }
                return true
            }
            // One interval for the monitors in flight and their cancellation, then the losses.
            try await Self.monitorIntervals(1)
            let mark = lab.witness.journal.events.count
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, lost, type: Self.type))
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: other, unmanaged, type: Self.type))
            try await Self.monitorIntervals(3)
            #expect(Self.events(lab, since: mark, on: node).isEmpty, "nothing runs on node\(node) in maintenance, no monitor either: \(Self.events(lab, since: mark, on: node))")
            #expect(Self.changes(lab, since: mark).isEmpty, "nothing started or stopped: \(Self.changes(lab, since: mark))")
            #expect(lab.witness.journal.events.dropFirst(mark).contains { $0.instance == unmanaged && $0.kind == "monitor" && $0.rc == 7 && $0.node == "node\(other)" },
                    "the unmanaged \(unmanaged)'s monitor still reports it stopped")
            #expect(lab.running(lost).isEmpty && lab.running(unmanaged).isEmpty)

            let off = try await RealCorosync.CrmdAgentToolsTests.tool(bed, dc, ["crm_attribute", "-N", "node\(node)", "-n", "maintenance", "-v", "false", "-l", "forever"])
            #expect(off.status == 0, "\(off.output)")
            let manage = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["manage", unmanaged])
            #expect(manage.status == 0, "\(manage.output)")
            let after = try await Self.check(lab, "maintenance off", node: dc)
            for (id, at) in placed where id != lost && id != unmanaged { #expect(after[id] == at, "\(id) stays on node\(at)") }
            let changes = Self.changes(lab, since: mark)
            #expect(Set(changes.keys) == [lost, unmanaged], "only the lost ones started again: \(changes)")
            for id in [lost, unmanaged] {
                #expect(changes[id]?.last?.hasSuffix("start-begin") == true, "\(id) started again: \(String(describing: changes[id]))")
            }
            log("node maintenance: \(lost) (node\(node)) on node\(after[lost] ?? 0), unmanaged \(unmanaged) (node\(other)) on node\(after[unmanaged] ?? 0) after: \(changes)")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }
}

/// A failed monitor of the promoted instance of a promotable clone.
extension RealCorosync.CrmdLabTests {
    /// The start, stop, promote and demote lines ("promote 0") StatefulWitness wrote on a node.
    static func statefulActions(_ journal: String, _ node: Int) -> [String] {
        ((try? String(contentsOfFile: "\(journal).node\(node)", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// A failure of the promoted instance's monitor (`baton crm resource fail st -N NODE`, as
    /// `crm_resource --fail`; on-fail restart, the default): on that node it is demoted,
    /// stopped, started and (there or on another node) one instance promoted again; never two
    /// promoted at once (the promoted witness), nothing touched on the other nodes but a
    /// promote, nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedMonitorOfThePromotedInstanceDemotesStopsStartsAndPromotesAgain() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let witness = try WitnessBed(bed)
            let promotedJournal = "\(bed.testbed.directory)/promoted.journal"
            try Self.installStatefulWitness(witness, journal: promotedJournal)
            try Self.promotableCIB(bed).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, onFenced: witness.onFenced))
            for node in 1...3 { try lab.launch(node) }
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            let promoted = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: dc, "started")
            try Self.checkPromoted(promotedJournal, "started", promoted: promoted)
            let marks = Dictionary(uniqueKeysWithValues: (1...3).map { ($0, Self.statefulActions(promotedJournal, $0).count) })
            func since(_ node: Int) -> [String] { Array(Self.statefulActions(promotedJournal, node).dropFirst(marks[node] ?? 0)) }

            let failed = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["fail", "st", "-N", "node\(promoted)"])
            #expect(failed.status == 0, "baton crm resource fail st -N node\(promoted): \(failed.output)")
            let began = Date()
            do {
                try await waitUntil("node\(promoted) demoted, stopped and started its instance") {
                    let actions = since(promoted)
                    return actions.starts(with: ["demote 0", "stop 0", "start 0"])
                }
            } catch {
                throw TestFailure("\(error): node\(promoted) did \(since(promoted))\n\(Resources.logs(bed, [1, 2, 3]))")
            }
            let now = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: dc, "node\(promoted)'s promoted monitor failed")
            log("promoted monitor failed: node\(promoted) did \(since(promoted)); node\(now) promoted \(Int(Date().timeIntervalSince(began) * 1000)) ms after the failure was recorded")
            try Self.checkPromoted(promotedJournal, "promoted monitor failed", promoted: now)
            #expect(since(promoted) == (now == promoted ? ["demote 0", "stop 0", "start 0", "promote 0"] : ["demote 0", "stop 0", "start 0"]),
                    "node\(promoted): \(since(promoted))")
            for node in [1, 2, 3] where node != promoted {
                #expect(since(node) == (node == now ? ["promote 0"] : []), "node\(node): \(since(node))")
            }
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }

    /// The same failure with migration-threshold=1 on the clone: the failed node's instance is
    /// demoted and stopped and stays stopped there (its fail count reached the threshold);
    /// another node's instance is promoted, only after the demote (never two promoted); the
    /// third node untouched but for that promote; nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedPromotedInstanceWithMigrationThresholdOneIsPromotedElsewhere() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let witness = try WitnessBed(bed)
            let promotedJournal = "\(bed.testbed.directory)/promoted.journal"
            try Self.installStatefulWitness(witness, journal: promotedJournal)
            let cib = try Self.promotableCIB(bed).replacingOccurrences(
                of: #"<nvpair id="\#(Self.clone)-promoted-max" name="promoted-max" value="1"/>"#,
                with: #"<nvpair id="\#(Self.clone)-promoted-max" name="promoted-max" value="1"/><nvpair id="\#(Self.clone)-mt" name="migration-threshold" value="1"/>"#)
            #expect(cib.contains("\(Self.clone)-mt"))
            try cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, onFenced: witness.onFenced))
            for node in 1...3 { try lab.launch(node) }
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            let promoted = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: dc, "started")
            try Self.checkPromoted(promotedJournal, "started", promoted: promoted)
            let marks = Dictionary(uniqueKeysWithValues: (1...3).map { ($0, Self.statefulActions(promotedJournal, $0).count) })
            func since(_ node: Int) -> [String] { Array(Self.statefulActions(promotedJournal, node).dropFirst(marks[node] ?? 0)) }

            let failed = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["fail", "st", "-N", "node\(promoted)"])
            #expect(failed.status == 0, "baton crm resource fail st -N node\(promoted): \(failed.output)")
            let others = [1, 2, 3].filter { $0 != promoted }
            let now = try await Self.waitForOnePromoted(lab, on: others, dc: dc, "node\(promoted)'s promoted instance failed, threshold 1")
            try Self.checkPromoted(promotedJournal, "promoted elsewhere", promoted: now)
            log("promoted monitor failed, migration-threshold=1: node\(promoted) did \(since(promoted)), node\(now) promoted")
            #expect(since(promoted) == ["demote 0", "stop 0"], "node\(promoted): \(since(promoted))")
            for node in others { #expect(since(node) == (node == now ? ["promote 0"] : []), "node\(node): \(since(node))") }
            #expect(Self.roles(bed)[promoted] == nil, "node\(promoted)'s instance stays stopped")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }
}

/// A quorum loss the DC waits out (`--quorum-loss-settle`, CRMCore's QuorumLossSettle).
extension RealCorosync.CrmdLabTests {
    /// How many lines of node `node`'s baton-crmd log contain `text`.
    static func logCount(_ bed: CrmdBed, _ node: Int, _ text: String) -> Int {
        let log = (try? String(contentsOfFile: "\(bed.testbed.directory)/node\(node)/crmd.log", encoding: .utf8)) ?? ""
        return log.components(separatedBy: text).count - 1
    }

    /// Every node's baton-crmd answers with this quorum state.
    static func waitForQuorum(_ bed: CrmdBed, _ quorate: Bool, _ context: String) async throws {
        try await waitUntil("\(context): every node \(quorate ? "quorate" : "without quorum")") {
            for node in 1...3 {
                guard let status = try? await bed.status(node), status.quorate == quorate else { return false }
            }
            return true
        }
    }

    /// The whole cluster loses quorum with no ring change: votequorum's expected votes raised
    /// above the three nodes' votes (`corosync-cmapctl -s quorum.expected_votes` on one node,
    /// which votequorum passes to every node), then set back to 3. baton-crmd runs with
    /// `--quorum-loss-settle 5`. A loss shorter than that stops nothing (every node logs the loss
    /// as not acted on; placement and witness unchanged); a longer one stops every resource
    /// (no-quorum-policy stop) no sooner than 5 s after the loss; the quorum back, they start
    /// again once each. Nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aQuorumLossShorterThanTheSettleWaitStopsNothingALongerOneStopsAfterIt() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let settle = 5.0
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.sticky(Self.cib(bed)), options: ["--quorum-loss-settle", "\(Int(settle))"])
            try await Self.check(lab, "quorum loss: started", node: dc, placed: placed)
            func expectedVotes(_ votes: Int) async throws {
                _ = try await bed.testbed.script(["exec", "1", "corosync-cmapctl", "-s", "quorum.expected_votes", "u32", "\(votes)"])
            }

            // Short: lost, seen lost by every daemon, set back at once.
            let mark = lab.witness.journal.events.count
            let undone = (1...3).map { Self.logCount(bed, $0, "the loss was not acted on") }
            let lostShort = Date()
            try await expectedVotes(7)
            try await Self.waitForQuorum(bed, false, "expected votes 7")
            try await expectedVotes(3)
            let short = Date().timeIntervalSince(lostShort)
            try await Self.waitForQuorum(bed, true, "expected votes 3 again")
            try await waitUntil("every node logged the loss as not acted on") {
                (1...3).allSatisfy { Self.logCount(bed, $0, "the loss was not acted on") > undone[$0 - 1] }
            }
            log("quorum loss of about \(Int(short * 1000)) ms (expected votes 7, then 3) with --quorum-loss-settle \(Int(settle)): not acted on")
            try await Self.check(lab, "quorum loss shorter than the wait", node: dc, placed: placed)
            #expect(Self.changes(lab, since: mark).isEmpty, "a loss shorter than the wait stops nothing: \(Self.changes(lab, since: mark))")

            // Long: lost until every resource stopped. A loss within the wait of the last one's
            // end would count from that one (a flapping ring waits once): let the wait pass.
            let regained = lostShort.addingTimeInterval(short)
            try await Task.sleep(for: .milliseconds(Int(max(0, regained.addingTimeInterval(settle + 0.5).timeIntervalSinceNow) * 1000)))
            let markLong = lab.witness.journal.events.count
            // The witness journal's clock.
            let lostLong = RealCorosync.CrmdTicketLeaseClockTests.monotonic()
            try await expectedVotes(7)
            try await waitUntil("every resource stopped (no-quorum-policy stop)") {
                let events = lab.witness.journal.events.dropFirst(markLong)
                return Self.ids.allSatisfy { id in
                    lab.running(id).isEmpty && events.contains { $0.instance == id && $0.kind == "stop-end" && $0.rc == 0 }
                }
            }
            let stops = lab.witness.journal.events.dropFirst(markLong).filter { $0.kind == "stop-begin" }.map(\.time)
            let first = try #require(stops.min())
            #expect(first - lostLong >= settle, "the first stop began \(first - lostLong) s after the loss: before the wait of \(settle) s ended")
            log("quorum loss lasting: the stops began \(Int((first - lostLong) * 1000))-\(Int(((stops.max() ?? first) - lostLong) * 1000)) ms after it (--quorum-loss-settle \(Int(settle)))")
            try await expectedVotes(3)
            try await Self.waitForQuorum(bed, true, "quorum back")
            _ = try await lab.waitForEachOnce()
            try await Self.check(lab, "quorum back after a lasting loss", node: dc)
            #expect(Self.fenced(lab).isEmpty, "nobody fenced: \(Self.fenced(lab))")
        }
    }
}

/// A resource's own maintenance (its meta attribute, as `crm_resource --meta -p maintenance -v
/// true` sets it): the cluster leaves that resource alone, the others as ever.
extension RealCorosync.CrmdLabTests {
    /// `baton crm resource meta w1 maintenance true` on the running cluster: w1's recurring
    /// monitor is cancelled (as Pacemaker 2.1.5 cancels a resource's recurring operations in
    /// maintenance) and its state lost is neither noticed nor repaired for three monitor
    /// intervals, while w2's lost state is (w2 restarted in place, a fail count on its node);
    /// maintenance false: w1's monitor runs again, finds it stopped, and it is started again;
    /// then every resource where `baton simulate` places it. Nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aResourceInMaintenanceIsLeftAloneTheOthersAreNot() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.sticky(Self.cib(bed)))
            try await Self.check(lab, "resource maintenance: started", node: dc, placed: placed)
            let on = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["meta", "w1", "maintenance", "true"])
            #expect(on.status == 0 && on.output.contains("name=maintenance value=true"), "\(on.output)")
            try await waitUntil("w1's maintenance in every node's CIB") {
                for node in 1...3 {
                    guard let cib = try? await RealCorosync.CrmdAdminTests.query(bed, node),
                          cib.contains(#"name="maintenance" value="true""#) else { return false }
                }
                return true
            }
            let node1 = try #require(placed["w1"]), node2 = try #require(placed["w2"])
            // Its recurring monitor cancelled: no monitor of w1 for two intervals.
            try await waitUntil("w1's recurring monitor cancelled (no w1 monitor for two intervals)") {
                let recent = lab.witness.journal.events.filter { $0.instance == "w1" && $0.kind == "monitor" }.last?.time ?? 0
                return RealCorosync.CrmdTicketLeaseClockTests.monotonic() - recent > 2.0 * Double(Resources.monitorMilliseconds) / 1000
            }
            let before = lab.witness.journal.events.count
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node1, "w1", type: Self.type))
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node2, "w2", type: Self.type))
            try await waitUntil("w2 (not in maintenance) restarted on node\(node2)") {
                lab.running("w2") == [node2]
                    && lab.witness.journal.events.dropFirst(before).contains { $0.instance == "w2" && $0.kind == "start-end" && $0.rc == 0 }
            }
            // Three monitor intervals after w1's state was lost: nothing touched w1.
            let until = ContinuousClock.now + .milliseconds(3 * Resources.monitorMilliseconds)
            while ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(200)) }
            let w1Events = lab.witness.journal.events.dropFirst(before).filter { $0.instance == "w1" }
            #expect(w1Events.isEmpty, "w1 in maintenance: not monitored, stopped or started: \(w1Events)")
            let others = Self.changes(lab, since: before).filter { $0.key != "w2" }
            #expect(others.isEmpty, "only w2 was restarted: \(others)")

            let off = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["meta", "w1", "maintenance", "false"])
            #expect(off.status == 0, "\(off.output)")
            try await waitUntil("w1 started again after its maintenance") {
                lab.running("w1").count == 1
                    && lab.witness.journal.events.dropFirst(before).contains { $0.instance == "w1" && $0.kind == "start-end" && $0.rc == 0 }
            }
            let after = try await Self.check(lab, "resource maintenance off", node: dc)
            log("resource maintenance: w1 left alone with its state lost, w2 restarted on node\(node2); w1 back on node\(after["w1"] ?? 0) once maintenance ended")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }
}
