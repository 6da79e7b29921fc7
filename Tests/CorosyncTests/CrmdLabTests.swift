import CRMCore
import Foundation
import Testing

/// The witness's checker on made-up journals: each bad one must fail, the good ones pass.
@Suite
struct CrmdLabWitnessCheckerTests {
    @Test func aCleanHistoryPasses() {
        let journal = WitnessJournal("""
            1.000000000 node1 monitor w1 7
            1.100000000 node1 start-begin w1
            1.200000000 node1 start-end w1 0
            1.300000000 node1 monitor w1 0
            2.000000000 node1 stop-begin w1
            2.100000000 node1 stop-end w1 0
            2.200000000 node2 start-begin w1
            2.300000000 node2 start-end w1 0
            3.000000000 node2 fenced *
            3.100000000 node3 start-begin w1
            3.200000000 node3 start-end w1 0

            """)
        #expect(journal.violations.isEmpty, "\(journal.violations)")
        #expect(journal.active == ["w1": ["node3"]])
    }

    @Test func aStartWhileActiveElsewhereFails() {
        let journal = WitnessJournal("""
            1.0 node1 start-begin w1
            1.1 node1 start-end w1 0
            2.0 node1 stop-begin w1
            2.1 node2 start-begin w1
            2.2 node1 stop-end w1 0

            """)
        #expect(journal.violations.count == 1)
        #expect(journal.violations.first?.contains("w1 starts on node2 while active on node1") == true, "\(journal.violations)")
    }

    @Test func aFailedStopOrAFailedStartStaysActive() {
        let failedStop = WitnessJournal("1.0 node1 start-begin w1\n1.1 node1 start-end w1 0\n2.0 node1 stop-begin w1\n2.1 node1 stop-end w1 1\n3.0 node2 start-begin w1\n")
        #expect(failedStop.violations.count == 1, "\(failedStop.violations)")
        let failedStart = WitnessJournal("1.0 node1 start-begin w1\n1.1 node1 start-end w1 1\n3.0 node3 start-begin w1\n")
        #expect(failedStart.violations.count == 1, "\(failedStart.violations)")
    }

    @Test func aLostNodeCountsUntilItIsFenced() {
        // node2 vanished (its daemon killed) but nobody fenced it: still active there.
        let unfenced = WitnessJournal("1.0 node2 start-begin w1\n1.1 node2 start-end w1 0\n5.0 node1 start-begin w1\n")
        #expect(unfenced.violations.count == 1, "\(unfenced.violations)")
        // Fenced after the start elsewhere: too late.
        let late = WitnessJournal("1.0 node2 start-begin w1\n5.0 node1 start-begin w1\n5.5 node2 fenced *\n")
        #expect(late.violations.count == 1, "\(late.violations)")
        // Another node fenced: does not count.
        let other = WitnessJournal("1.0 node2 start-begin w1\n4.0 node3 fenced *\n5.0 node1 start-begin w1\n")
        #expect(other.violations.count == 1, "\(other.violations)")
    }

    @Test func aMonitorSayingRunningWhereTheJournalSaysStoppedFails() {
        let journal = WitnessJournal("1.0 node1 start-begin w1\n1.1 node1 start-end w1 0\n2.0 node1 stop-begin w1\n2.1 node1 stop-end w1 0\n3.0 node1 monitor w1 0\n")
        #expect(journal.violations.count == 1)
        #expect(journal.violations.first?.contains("a monitor says w1 runs on node1") == true, "\(journal.violations)")
        let never = WitnessJournal("1.0 node3 monitor w2 0\n")
        #expect(never.violations.count == 1, "\(never.violations)")
    }

    @Test func garbageTimeGoingBackAndAWrongNodeFail() {
        let torn = WitnessJournal("1.0 node1 start-begin w1\n1.1 node1 start-e")
        #expect(torn.violations.count == 1 && torn.violations[0].contains("line 2"), "\(torn.violations)")
        let noCode = WitnessJournal("1.0 node1 stop-end w1\n")
        #expect(noCode.violations.count == 1, "\(noCode.violations)")
        let back = WitnessJournal("2.0 node1 start-begin w1\n1.0 node1 start-end w1 0\n")
        #expect(back.violations.count == 1 && back.violations[0].contains("time goes back"), "\(back.violations)")
        let wrong = WitnessJournal("1.0 node1 wrong-node w1 node2\n")
        #expect(wrong.violations.count == 1 && wrong.violations[0].contains("asked to act on node2"), "\(wrong.violations)")
    }

    /// The agent itself writes what the checker reads: start, monitor, stop and the fenced line,
    /// on this host (no cluster), through flock and the monotonic clock.
    @Test func theAgentWritesWhatTheCheckerReads() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("witness-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journalPath = directory + "/journal"
        func agent(_ action: [String], node: String, onNode: String? = nil) throws -> Int32 {
            var command = ["env", "HA_VARRUN=\(directory)/\(node)", "BATON_WITNESS_JOURNAL=\(journalPath)", "BATON_WITNESS_NODE=\(node)",
                           "OCF_RESOURCE_INSTANCE=w1"]
            if let onNode { command.append("OCF_RESKEY_CRM_meta_on_node=\(onNode)") }
            return try runSync(command + [WitnessBed.agent] + action).status
        }
        #expect(try agent(["monitor"], node: "node1") == 7)
        #expect(try agent(["start"], node: "node1", onNode: "node1") == 0)
        #expect(try agent(["monitor"], node: "node1") == 0)
        #expect(try agent(["start"], node: "node2", onNode: "node1") == 1, "asked for node1, runs on node2: refused")
        #expect(try agent(["fenced", "node1"], node: "node3") == 0)
        #expect(try agent(["start"], node: "node2") == 0)
        #expect(try agent(["stop"], node: "node2") == 0)
        #expect(try agent(["meta-data"], node: "node2") == 0)
        let journal = WitnessJournal(try String(contentsOfFile: journalPath, encoding: .utf8))
        #expect(journal.events.map { "\($0.node) \($0.kind) \($0.detail ?? "")" } == [
            "node1 monitor 7", "node1 start-begin ", "node1 start-end 0", "node1 monitor 0", "node2 wrong-node node1",
            "node1 fenced ", "node2 start-begin ", "node2 start-end 0", "node2 stop-begin ", "node2 stop-end 0",
        ])
        // The wrong-node line is the one violation.
        #expect(journal.violations.count == 1 && journal.violations[0].contains("asked to act on node1"), "\(journal.violations)")
        #expect(journal.active == ["w1": []])
    }
}

/// Pacemaker's CTS lab scenarios (CRM-LIVE.md §2) on 3 real corosync nodes in namespaces, each
/// with baton-crmd, fencing on (fence_baton_netns), ocf:baton:Witness resources journaling every
/// start and stop. After every scenario: the witness never tripped (no instant with an instance
/// active on two nodes, no monitor saying "running" where it was stopped), and the placement in
/// the daemon's CIB is what `baton simulate` leaves in place (an empty Transition Summary).
extension RealCorosync {
@Suite(.serialized)
struct CrmdLabTests {
    typealias Resources = CrmdResourceTests
    typealias Fencing = CrmdFencingTests
    static let ids = ["w1", "w2", "w3", "w4", "w5", "w6"]
    static let type = "Witness"

    /// A started lab: the bed, its witness, baton-crmd's options per node.
    struct Lab {
        let bed: CrmdBed
        let witness: WitnessBed
        let agents: String
        /// More baton-crmd options for every node.
        var options: [String] = []

        func launch(_ node: Int) throws {
            try bed.launch([node], extra: ["--fence-agent-dir", agents] + witness.arguments(node) + options)
        }

        func waitForEachOnce(on nodes: [Int] = [1, 2, 3], where expected: [String: Int]? = nil) async throws -> [String: Int] {
            try await Resources.waitForEachOnce(bed, CrmdLabTests.ids, on: nodes, where: expected, type: CrmdLabTests.type)
        }

        func running(_ id: String, on nodes: [Int] = [1, 2, 3]) -> [Int] {
            Resources.running(bed, id, on: nodes, type: CrmdLabTests.type)
        }
    }

    /// The CIB the daemons start from: the fence device and the Witness resources.
    static func cib(_ bed: CrmdBed) throws -> String {
        Fencing.cib(bed, ids, map: try Fencing.hostMap(bed), type: type)
    }

    /// The lab's CIB with the three nodes online and no history, for `baton simulate`.
    static func cibOnline(_ bed: CrmdBed) throws -> String {
        let states = (1...3).map { node in
            "<node_state id=\"\(node)\" uname=\"node\(node)\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\"/>"
        }.joined()
        return try cib(bed).replacingOccurrences(of: "<status/>", with: "<status>\(states)</status>")
            .replacingOccurrences(of: "admin_epoch=\"0\">", with: "admin_epoch=\"0\" have-quorum=\"1\" dc-uuid=\"1\">")
    }

    /// Writes the CIB, launches baton-crmd on every node at once (SimulStart) and waits for one
    /// DC and every resource once.
    static func start(_ bed: CrmdBed, hold: String? = nil) async throws -> (lab: Lab, dc: Int, placed: [String: Int]) {
        let witness = try WitnessBed(bed)
        try cib(bed).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
        let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, hold: hold, onFenced: witness.onFenced))
        for node in 1...3 { try lab.launch(node) }
        let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
        let placed = try await lab.waitForEachOnce()
        return (lab, Int(dc.nodeID.rawValue), placed)
    }

    /// The check after every scenario: the daemon's CIB (`baton crm cib query` on `node`) leaves
    /// `baton simulate` nothing to do, with every resource Started where its state file is
    /// (`placed`; nil: wherever the state files say now, each once) by `baton crm status` on that
    /// CIB; the witness clean and its journal agreeing with the state files. The placement.
    @discardableResult
    static func check(_ lab: Lab, _ context: String, node: Int, placed expected: [String: Int]? = nil) async throws -> [String: Int] {
        var last = ""
        var placed: [String: Int] = expected ?? [:]
        do {
            try await waitUntil("\(context): node\(node)'s CIB has every resource started where it runs and `baton simulate` has nothing to do") {
                if expected == nil {
                    let now = Dictionary(uniqueKeysWithValues: ids.map { ($0, lab.running($0)) })
                    guard now.values.allSatisfy({ $0.count == 1 }) else {
                        last = "state files: \(now.sorted { $0.key < $1.key })"
                        return false
                    }
                    placed = now.compactMapValues(\.first)
                }
                let query = try await lab.bed.cib(node, ["query"])
                guard query.status == 0 else {
                    last = "cib query exited \(query.status): \(query.output)"
                    return false
                }
                let path = try lab.bed.file("lab-cib-\(node).xml", query.output)
                let simulated = try await run([Paths.baton, "simulate", "-x", path])
                let summary = simulated.output.components(separatedBy: "Transition Summary:").dropFirst().first?
                    .components(separatedBy: "\n\n").first?.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) } ?? ["(none)"]
                let status = try await run([Paths.baton, "crm", "status", "--cib", path, "-r"])
                var started: [String: Int] = [:]
                for line in status.output.split(separator: "\n") {
                    let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                    guard let id = words.first(where: { ids.contains($0) }), let at = words.firstIndex(of: "Started"),
                          at + 1 < words.count, let number = Int(words[at + 1].dropFirst(4)) else { continue }
                    started[id] = number
                }
                last = "simulate exited \(simulated.status), summary \(summary); crm status placement \(started.sorted { $0.key < $1.key })"
                return simulated.status == 0 && summary.isEmpty && started == placed
            }
        } catch {
            throw TestFailure("\(error); last: \(last)\n\(Resources.logs(lab.bed, [1, 2, 3]))")
        }
        // Nothing moved while the CIB was read.
        try lab.witness.check(context, placed: placed)
        return placed
    }

    /// A fenced node back (its corosync and baton-crmd started again): one DC and one CIB on
    /// all three, the node probed, the placement settled as `baton simulate` leaves it.
    static func rejoin(_ lab: Lab, _ node: Int, _ context: String) async throws {
        lab.bed.killDaemon(node)
        try await lab.bed.testbed.script(["restart", String(node)])
        try lab.launch(node)
        let dc = try await lab.bed.waitForOneDC(on: [1, 2, 3], quorate: true)
        try await lab.bed.waitForOneCIB(on: [1, 2, 3])
        try await check(lab, context, node: Int(dc.nodeID.rawValue))
    }

    /// The nodes the journal says were fenced, in order.
    static func fenced(_ lab: Lab) -> [String] {
        lab.witness.journal.events.filter { $0.kind == "fenced" }.map(\.node)
    }

    static func failCount(_ id: String) -> String { "fail-count-\(id)#monitor_\(Resources.monitorMilliseconds)" }

    /// SimulStart (placed as `baton simulate` places them on the start CIB), ResourceRecover (a
    /// failed monitor: fail count 1 everywhere, recovered in place, nothing elsewhere), SimulStop
    /// (SIGTERM to every daemon at once: all exit 0, nothing left running).
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func simulStartResourceRecoverAndSimulStop() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let expected = try await Resources.placement(bed, Self.ids, cib: try Self.cibOnline(bed))
            let (lab, dc, placed) = try await Self.start(bed)
            #expect(placed == expected, "SimulStart: placed as `baton simulate` placed them")
            try await Self.check(lab, "SimulStart", node: dc, placed: placed)

            // ResourceRecover: w1's state file deleted; its monitor fails; restarted in place.
            let node = try #require(placed["w1"])
            let started = Date()
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, "w1", type: Self.type))
            try await waitUntil("w1 restarted on node\(node) with \(Self.failCount("w1")) = 1 on every node") {
                let starts = lab.witness.journal.events.filter { $0.kind == "start-begin" && $0.instance == "w1" }
                guard starts.count == 2, lab.running("w1") == [node] else { return false }
                for other in 1...3 {
                    guard let status = try? await bed.status(other),
                          status.nodes.first(where: { $0.nodeID == NodeID(UInt32(node)) })?.attributes[Self.failCount("w1")] == "1"
                    else { return false }
                }
                return true
            }
            log("ResourceRecover: w1 running again on node\(node) \(Int(Date().timeIntervalSince(started) * 1000)) ms after its state file was deleted")
            let journal = lab.witness.journal
            #expect(journal.events.filter { $0.instance == "w1" && $0.kind == "start-begin" }.allSatisfy { $0.node == "node\(node)" },
                    "w1 recovered in place, never elsewhere")
            #expect(journal.events.contains { $0.instance == "w1" && $0.kind == "monitor" && $0.rc == 7 && $0.node == "node\(node)" })
            try await Self.check(lab, "ResourceRecover", node: dc, placed: placed)

            // SimulStop: every daemon stopped at once.
            let stopping = Date()
            let codes = await bed.stopDaemonsAtOnce([1, 2, 3])
            log("SimulStop: every baton-crmd gone \(Int(Date().timeIntervalSince(stopping) * 1000)) ms after SIGTERM to all three: \(codes.sorted { $0.key < $1.key })")
            for node in 1...3 { #expect(codes[node] == 0, "node\(node)'s baton-crmd exits 0 after SIGTERM (nil: killed past the deadline)") }
            for id in Self.ids { #expect(lab.running(id).isEmpty, "\(id) stopped before its node left") }
            try lab.witness.check("SimulStop", placed: [:])
        }
    }

    /// kill -9 of a non-DC node (corosync and baton-crmd): a survivor fences it, then its
    /// resources start on the survivors (the witness: never before the fence); it comes back.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func killOfANonDCNodeIsFencedAndItsResourcesRunOnceOnTheSurvivors() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            let victim = Fencing.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == victim }.map(\.key).sorted()
            #expect(!moved.isEmpty, "node\(victim) runs some of \(placed)")
            bed.killDaemon(victim)
            try await bed.testbed.script(["kill", String(victim)])
            let killed = Date()
            let survivors = [1, 2, 3].filter { $0 != victim }
            let survivorDC = try await bed.waitForOneDC(on: survivors, quorate: true)
            let after = try await lab.waitForEachOnce(on: survivors)
            log("lab: kill -9 of node\(victim): \(moved) running on the survivors \(Int(Date().timeIntervalSince(killed) * 1000)) ms after `testbed kill` returned")
            for (id, node) in placed where node != victim { #expect(after[id] == node, "\(id) stays on node\(node)") }
            #expect(Self.fenced(lab) == ["node\(victim)"], "node\(victim) fenced once, nobody else")
            try await Self.check(lab, "kill -9 of node\(victim)", node: Int(survivorDC.nodeID.rawValue), placed: after)
            try await Self.rejoin(lab, victim, "node\(victim) back after its fence")
        }
    }

    /// kill -9 of a non-DC node's baton-crmd alone (corosync stays): it left the group without
    /// asking, so it is lost and fenced (the agent kills its corosync too), and its resources
    /// start on the survivors only after that; it comes back.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func killOfBatonCrmdAloneIsFencedBeforeItsResourcesMove() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            let victim = Fencing.victim(dc: dc, placed)
            bed.killDaemon(victim)
            let survivors = [1, 2, 3].filter { $0 != victim }
            let after = try await lab.waitForEachOnce(on: survivors)
            #expect(Self.fenced(lab) == ["node\(victim)"], "node\(victim) fenced once, nobody else")
            // The fence took its corosync down: the survivors' quorum view has two members.
            try await bed.testbed.script(["wait-members", String(survivors[0]), "2"])
            let survivorDC = try await bed.waitForOneDC(on: survivors, quorate: true)
            try await Self.check(lab, "kill -9 of node\(victim)'s baton-crmd", node: Int(survivorDC.nodeID.rawValue), placed: after)
            try await Self.rejoin(lab, victim, "node\(victim) back after its fence")
        }
    }

    /// Standby (as CTS sets it: `crm_attribute -N NODE -n standby -v on -l forever`, here the
    /// agent tools through baton-crmd): the node's resources move, nothing runs there; online
    /// again: placed as `baton simulate` places them on the daemon's CIB.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func standbyMovesANodesResourcesAndOnlineTakesThemBack() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            let node = Fencing.victim(dc: dc, placed)
            let others = [1, 2, 3].filter { $0 != node }
            let standby = try await CrmdAgentToolsTests.tool(bed, others[0], ["crm_attribute", "-N", "node\(node)", "-n", "standby", "-v", "on", "-l", "forever"])
            #expect(standby.status == 0, "\(standby.output)")
            let after = try await lab.waitForEachOnce(on: others)
            for (id, at) in placed where at != node { #expect(after[id] == at, "\(id) stays on node\(at)") }
            try await Self.check(lab, "node\(node) standby", node: dc, placed: after)
            for id in Self.ids { #expect(lab.running(id, on: [node]).isEmpty, "\(id) not on the standby node\(node)") }
            #expect(Self.fenced(lab).isEmpty, "standby fences nobody")

            let online = try await CrmdAgentToolsTests.tool(bed, node, ["crm_attribute", "-N", "node\(node)", "-n", "standby", "-v", "off", "-l", "forever"])
            #expect(online.status == 0, "\(online.output)")
            let back = try await Self.check(lab, "node\(node) online", node: dc)
            #expect(back.values.contains(node), "node\(node) runs something again: \(back)")
        }
    }

    /// MaintenanceMode (cluster maintenance-mode=true through crm_attribute): a resource whose
    /// state is lost is neither stopped nor started, nor is anything else, for three monitor
    /// intervals; maintenance off: it is started again and every resource placed as `baton
    /// simulate` says.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func maintenanceModeLeavesEverythingAloneUntilItEnds() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            let on = try await CrmdAgentToolsTests.tool(bed, 1, ["crm_attribute", "-n", "maintenance-mode", "-v", "true"])
            #expect(on.status == 0, "\(on.output)")
            try await waitUntil("maintenance-mode on every node's CIB") {
                for node in 1...3 {
                    let read = try? await CrmdAgentToolsTests.tool(bed, node, ["crm_attribute", "-n", "maintenance-mode", "-G", "-q"])
                    guard read?.output == "true\n" else { return false }
                }
                return true
            }
            try await Self.check(lab, "maintenance on", node: dc, placed: placed)
            let before = lab.witness.journal.events.count
            let node = try #require(placed["w1"])
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, "w1", type: Self.type))
            // Three monitor intervals: whatever runs, nothing is stopped or started.
            let until = ContinuousClock.now + .milliseconds(3 * Resources.monitorMilliseconds)
            while ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(200)) }
            let during = lab.witness.journal.events.dropFirst(before).filter { $0.kind != "monitor" }
            #expect(during.isEmpty, "nothing stopped or started in maintenance mode: \(during)")

            let off = try await CrmdAgentToolsTests.tool(bed, 1, ["crm_attribute", "-n", "maintenance-mode", "-v", "false"])
            #expect(off.status == 0, "\(off.output)")
            let after = try await Self.check(lab, "maintenance off", node: dc)
            #expect(lab.witness.journal.events.contains { $0.instance == "w1" && $0.kind == "start-begin" && $0.line > before },
                    "w1 started again after maintenance")
            log("MaintenanceMode: w1 back on node\(after["w1"] ?? 0)")
        }
    }

    /// StopOnebyOne (each node's baton-crmd stopped cleanly, then its corosync: its resources
    /// move first; the last one, without quorum, stops everything) and StartOnebyOne (one node:
    /// no quorum, nothing starts; two: all start, the third, never seen, startup-fenced;
    /// three: placed as `baton simulate` says).
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func stopOneByOneThenStartOneByOne() async throws {
        try await CrmdBed.with(dcDeadtimeSeconds: 2, noQuorumPolicy: "stop") { bed in
            let (lab, _, _) = try await Self.start(bed)
            for (index, node) in [1, 2, 3].enumerated() {
                let code = await bed.stopDaemon(node)
                #expect(code == 0, "node\(node)'s baton-crmd exits 0 after its clean stop")
                try await bed.testbed.script(["stop", String(node)])
                for id in Self.ids { #expect(lab.running(id, on: [node]).isEmpty, "\(id) stopped on node\(node) before it left") }
                let left = Array([1, 2, 3].dropFirst(index + 1))
                if left.count == 2 {
                    _ = try await lab.waitForEachOnce(on: left)
                    let dc = try await bed.waitForOneDC(on: left, quorate: true)
                    try await Self.check(lab, "StopOnebyOne: node\(node) stopped", node: Int(dc.nodeID.rawValue))
                } else if left.count == 1 {
                    _ = try await bed.waitForOneDC(on: left, quorate: false)
                    // (After --quorum-loss-settle: the stops' ends journaled too, not only the
                    // state files gone.)
                    try await waitUntil("node\(left[0]) alone without quorum stops everything") {
                        Self.ids.allSatisfy { lab.running($0).isEmpty } && lab.witness.journal.active.values.allSatisfy(\.isEmpty)
                    }
                }
            }
            try lab.witness.check("StopOnebyOne", placed: [:])
            #expect(Self.fenced(lab).isEmpty, "clean stops fence nobody")

            for node in [1, 2, 3] {
                try await bed.testbed.script(["start", String(node)])
                try lab.launch(node)
                let up = Array(1...node)
                let dc = try await bed.waitForOneDC(on: up, quorate: node > 1)
                if node == 1 {
                    // Alone: probed, nothing started (no quorum, no-quorum-policy stop).
                    try await waitUntil("node1's probes recorded") {
                        let status = try? await bed.cib(1, ["query", "-o", "status"])
                        return Self.ids.allSatisfy { id in status?.output.contains("operation_key=\"\(id)_monitor_0\"") == true }
                    }
                    for id in Self.ids { #expect(lab.running(id).isEmpty, "\(id) not started without quorum") }
                } else {
                    try await Self.check(lab, "StartOnebyOne: node\(node) started", node: Int(dc.nodeID.rawValue))
                }
            }
            // node3 was not up when node1 and node2 had quorum: startup fencing (startup-fencing
            // defaults to true, as in Pacemaker) fences it, once; nobody else.
            #expect(Self.fenced(lab) == ["node3"], "StartOnebyOne fences only the node not yet started")
        }
    }

    /// SplitBrain 2+1 (fencing on; the fence device held until the test releases it): per
    /// partition one DC with the right quorum; the minority stops its resources itself
    /// (no-quorum-policy stop) and fences nobody; the majority starts them only after fencing
    /// the minority; healed and the minority back: one DC, one CIB.
    ///
    /// It found two bugs. At the cut, the minority's node became DC inside the CPG view change
    /// and scheduled on the old ring's quorum state, 1 ms before votequorum's "no quorum": its
    /// first graph fenced the majority (5 of 6 runs); the DC now schedules only on a quorum
    /// state of its own ring (CRMCore's QuorumGate). Then a start result the old DC's graph
    /// was waiting for reached the new DC after its first graph and was ignored, so the
    /// resource was never stopped (2 of 6); a result of no action in flight now makes a new
    /// graph, as Pacemaker's "Old event" abort does. The third, under load: a request the DC
    /// broadcasts between the cut and corosync's new membership (~3.5 s with token 1000) is
    /// ordered after the view change, stamped with the old view, and every member drops it:
    /// nobody ran it, no result came, and the majority's run waited for it to its deadline
    /// (timeout + cluster-delay: 80 s), past the test's minute (node1: "initiating start of
    /// w6 on node 1", nothing after). The DC now learns its own request was dropped (NodeCore's
    /// requestDropped: the group's order is the same everywhere, so it drops it too), fails
    /// the action and makes a new graph at once. A test race too: the agent removes the state
    /// file before it journals stop-end, so the wait covers both.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func splitBrainTwoPlusOne() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let release = "\(bed.testbed.directory)/fence-release"
            let (lab, dc, placed) = try await Self.start(bed, hold: release)
            let minority = Fencing.victim(dc: dc, placed)
            let majority = [1, 2, 3].filter { $0 != minority }
            let moved = placed.filter { $0.value == minority }.map(\.key).sorted()
            #expect(!moved.isEmpty, "node\(minority) runs some of \(placed)")
            try await bed.testbed.script(["cut", String(minority)])
            let majorityDC = try await bed.waitForOneDC(on: majority, quorate: true)
            _ = try await bed.waitForOneDC(on: [minority], quorate: false)
            do {
                // The journal's stop-end too: the agent writes it after removing the state file.
                try await waitUntil("the minority node\(minority) stopped \(moved) (no-quorum-policy stop)") {
                    let journal = lab.witness.journal
                    return moved.allSatisfy { id in
                        lab.running(id, on: [minority]).isEmpty
                            && journal.events.contains { $0.instance == id && $0.kind == "stop-end" && $0.node == "node\(minority)" }
                    }
                }
            } catch {
                let status = (try? await bed.cib(minority, ["query"]).output) ?? "(no answer)"
                throw TestFailure("\(error)\nfence log:\n\(Fencing.fenceLog(bed))\n\(Resources.logs(bed, [1, 2, 3]))\nnode\(minority)'s CIB:\n\(status)")
            }
            let journal = lab.witness.journal
            for id in moved {
                #expect(journal.events.contains { $0.instance == id && $0.kind == "stop-end" && $0.rc == 0 && $0.node == "node\(minority)" },
                        "\(id) stopped by the minority itself")
                #expect(lab.running(id, on: majority).isEmpty, "\(id) not started in the majority before the minority is fenced")
            }
            #expect(Self.fenced(lab).isEmpty)
            // The device released: the majority fences the minority, then starts its resources.
            #expect(FileManager.default.createFile(atPath: release, contents: nil))
            let after = try await lab.waitForEachOnce(on: majority)
            for (id, node) in placed where node != minority { #expect(after[id] == node, "\(id) stays on node\(node)") }
            #expect(Self.fenced(lab) == ["node\(minority)"], "the majority fenced the minority; the minority fenced nobody")
            // Nobody even tried to fence a majority node (the minority, without quorum, must not).
            let minorityPort = try Fencing.namespace(bed, minority)
            let attempts = Fencing.fenceLog(bed).split(separator: "\n").filter { $0.contains(" run ") && ($0.contains("action=off") || $0.contains("action=reboot")) }
            #expect(!attempts.isEmpty && attempts.allSatisfy { $0.contains("port=\(minorityPort) ") || $0.hasSuffix("port=\(minorityPort)") },
                    "fence runs: \(attempts)\n\(Resources.logs(bed, [minority]))")
            try await Self.check(lab, "SplitBrain 2+1", node: Int(majorityDC.nodeID.rawValue), placed: after)
            try await bed.testbed.script(["heal", String(minority)])
            try await Self.rejoin(lab, minority, "SplitBrain healed, node\(minority) back")
            #expect(Self.fenced(lab) == ["node\(minority)"], "no fencing after the heal")
        }
    }
}
}
