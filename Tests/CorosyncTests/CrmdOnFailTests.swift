import Foundation
import Testing
import TestSupport

/// A failed monitor handled per its `on-fail` (CRM-LIVE.md §1.3; pe_fc_* in Pacemaker's
/// unpack_rsc_op_failure) on the running site: standby, block and fence, each carried out by the
/// DC and its executors, checked with the witness (never two at once) and against `baton
/// simulate` on the DC's CIB afterwards. Three corosync nodes, fencing on.
extension RealCorosync.CrmdLabTests {
    /// The lab's CIB (resource-stickiness 1) with every recurring monitor's on-fail set.
    static func onFail(_ bed: CrmdBed, _ value: String) throws -> String {
        var cib = try sticky(cib(bed))
        for id in ids {
            let plain = "<op id=\"\(id)-monitor\" name=\"monitor\""
            guard cib.contains(plain) else { throw TestFailure("no \(plain) in the lab's CIB") }
            cib = cib.replacingOccurrences(of: plain, with: plain + " on-fail=\"\(value)\"")
        }
        return cib
    }

    /// on-fail=standby: a resource's monitor fails on a node that is not the DC → the node is
    /// in standby for as long as the failure is recorded (Pacemaker's pe_fc_standby): every
    /// resource it ran stops there and starts once on another node, never two at once; nobody is
    /// fenced. `baton crm resource cleanup` of the failure ends it: the node takes resources
    /// again (stickiness 1: nothing moves back, the placement is `baton simulate`'s).
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedMonitorWithOnFailStandbyEmptiesItsNodeUntilTheCleanup() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.onFail(bed, "standby"))
            try await Self.check(lab, "on-fail=standby: started", node: dc, placed: placed)
            let node = Fencing.victim(dc: dc, placed)
            let emptied = placed.filter { $0.value == node }.map(\.key).sorted()
            let failing = try #require(emptied.first)
            let mark = lab.witness.journal.events.count
            let failed = Date()
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, failing, type: Self.type))
            try await waitUntil("every resource of node\(node) (\(emptied)) running once elsewhere") {
                emptied.allSatisfy { id in
                    let running = lab.running(id)
                    return running.count == 1 && running[0] != node
                }
            }
            log("on-fail=standby: \(emptied) off node\(node) \(Int(Date().timeIntervalSince(failed) * 1000)) ms after \(failing)'s state file there was deleted")
            let after = try await Self.check(lab, "on-fail=standby: node\(node) emptied", node: dc)
            #expect(after.values.allSatisfy { $0 != node }, "nothing runs on node\(node): \(after)")
            for (id, at) in placed where at != node { #expect(after[id] == at, "\(id) stays on node\(at)") }
            let changes = Self.changes(lab, since: mark)
            #expect(Set(changes.keys) == Set(emptied), "only node\(node)'s resources moved: \(changes)")
            for id in emptied {
                #expect(changes[id] == ["node\(node) stop-begin", "node\(after[id] ?? 0) start-begin"], "\(id): stopped on node\(node), started once on node\(after[id] ?? 0): \(String(describing: changes[id]))")
            }
            let status = try await run([Paths.baton, "crm", "status", "--socket", bed.socket(dc)])
            #expect(status.status == 0 && status.output.contains("\(failing)") && status.output.contains("node\(node)"), "\(status.output)")

            let cleanedAt = lab.witness.journal.events.count
            let cleaned = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["cleanup", failing])
            #expect(cleaned.status == 0, "\(cleaned.output)")
            try await waitUntil("\(failing) probed again on node\(node) after the cleanup") {
                lab.witness.journal.events.dropFirst(cleanedAt).contains { $0.instance == failing && $0.kind == "monitor" && $0.node == "node\(node)" && $0.rc == 7 }
            }
            try await Self.check(lab, "on-fail=standby: cleaned up", node: dc, placed: after)
            #expect(Self.changes(lab, since: cleanedAt).isEmpty, "the cleanup moves nothing back (stickiness 1): \(Self.changes(lab, since: cleanedAt))")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }

    /// on-fail=block: a resource's monitor fails → it is left as it is (Pacemaker's
    /// pe_fc_block: failed, unmanaged): not stopped, not started, for three monitor intervals,
    /// nothing else touched, `baton crm status` shows it FAILED and blocked as crm_mon does on the
    /// same CIB; `baton crm resource cleanup` → it is started again; nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedMonitorWithOnFailBlockIsLeftAloneUntilTheCleanup() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.onFail(bed, "block"))
            try await Self.check(lab, "on-fail=block: started", node: dc, placed: placed)
            let node = Fencing.victim(dc: dc, placed)
            let failing = try #require(placed.filter { $0.value == node }.map(\.key).sorted().first)
            let mark = lab.witness.journal.events.count
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, failing, type: Self.type))
            try await waitUntil("\(failing)'s monitor on node\(node) reported it not running") {
                lab.witness.journal.events.dropFirst(mark).contains { $0.instance == failing && $0.kind == "monitor" && $0.rc == 7 && $0.node == "node\(node)" }
            }
            try await Self.monitorIntervals(3)
            #expect(Self.changes(lab, since: mark).isEmpty, "on-fail=block: nothing started or stopped: \(Self.changes(lab, since: mark))")
            #expect(lab.running(failing).isEmpty)
            // The stock crm_mon on the DC's CIB and ours from the daemon: the same resource line.
            if let shown = try await Self.sameBlockedLineAsCrmMon(bed, dc, failing, "on-fail=block") {
                log("on-fail=block: `baton crm status` and crm_mon -1 both show:\(shown)")
            }
            let cleanedAt = lab.witness.journal.events.count
            let cleaned = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["cleanup", failing])
            #expect(cleaned.status == 0, "\(cleaned.output)")
            try await waitUntil("\(failing) started again after the cleanup") {
                lab.running(failing).count == 1
                    && lab.witness.journal.events.dropFirst(cleanedAt).contains { $0.instance == failing && $0.kind == "start-end" && $0.rc == 0 }
            }
            let after = try await Self.check(lab, "on-fail=block: cleaned up", node: dc)
            for (id, at) in placed where id != failing { #expect(after[id] == at, "\(id) stays on node\(at)") }
            #expect(Set(Self.changes(lab, since: cleanedAt).keys) == [failing], "only \(failing) started: \(Self.changes(lab, since: cleanedAt))")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }

    /// on-fail=fence: a resource's monitor fails on a node that is not the DC → that node is
    /// fenced (by another node's fence agent, once), and every resource it ran starts once on
    /// the survivors, none before the fence ended; the survivors' fence history shows it.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedMonitorWithOnFailFenceFencesItsNodeAndItsResourcesMove() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.onFail(bed, "fence"))
            try await Self.check(lab, "on-fail=fence: started", node: dc, placed: placed)
            let node = Fencing.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == node }.map(\.key).sorted()
            let failing = try #require(moved.first)
            let survivors = [1, 2, 3].filter { $0 != node }
            let failed = Date()
            try FileManager.default.removeItem(atPath: Resources.stateFile(bed, node: node, failing, type: Self.type))
            try await waitUntil("node\(node) fenced after \(failing)'s monitor failed there") { Self.fenced(lab) == ["node\(node)"] }
            let survivorDC = Int(try await bed.waitForOneDC(on: survivors, quorate: true).nodeID.rawValue)
            let after = try await lab.waitForEachOnce(on: survivors)
            log("on-fail=fence: node\(node) fenced and \(moved) running on the survivors \(Int(Date().timeIntervalSince(failed) * 1000)) ms after \(failing)'s state file was deleted")
            for (id, at) in placed where at != node { #expect(after[id] == at, "\(id) stays on node\(at)") }
            if let fenced = try Self.fenceDone(lab, node), let started = Self.lastStart(lab, moved, after) {
                #expect(fenced <= started, "fenced at \(fenced), a moved resource started at \(started)")
            } else {
                Issue.record("the fence's end or the moved resources' starts not found")
            }
            for survivor in survivors {
                let history = try await Fencing.history(bed, survivor)
                let line = try #require(history.split(separator: "\n").first { $0.hasPrefix("node\(node) ") && $0.contains("by fence1") }, "node\(survivor): \(history)")
                #expect(line.contains(": ok"), "\(line)")
            }
            try await Self.check(lab, "on-fail=fence: node\(node) fenced", node: survivorDC, placed: after)
            #expect(Self.fenced(lab) == ["node\(node)"], "fenced once")
        }
    }

    /// A stop that fails (stonith-enabled, the stop's on-fail is fence by default): w's state
    /// file replaced by a directory on its node, so the agent's `rm -f` fails and its stop
    /// returns 1; `baton crm resource move` asks for the stop. The node is fenced (once, by
    /// another node), and only then does w start on the target (the witness: never two at
    /// once); the other resources of the fenced node move too, the others stay.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedStopFencesItsNodeBeforeTheResourceStartsElsewhere() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed, cib: try Self.sticky(Self.cib(bed)))
            try await Self.check(lab, "failed stop: started", node: dc, placed: placed)
            let node = Fencing.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == node }.map(\.key).sorted()
            let stuck = try #require(moved.first)
            let target = try #require([1, 2, 3].first { $0 != node && $0 != dc } ?? [1, 2, 3].first { $0 != node })
            let survivors = [1, 2, 3].filter { $0 != node }
            let state = Resources.stateFile(bed, node: node, stuck, type: Self.type)
            try FileManager.default.removeItem(atPath: state)
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            let mark = lab.witness.journal.events.count
            let asked = Date()
            let move = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["move", stuck, "-N", "node\(target)"])
            #expect(move.status == 0, "\(move.output)")
            try await waitUntil("\(stuck)'s stop failed on node\(node) and node\(node) fenced") {
                lab.witness.journal.events.dropFirst(mark).contains { $0.instance == stuck && $0.kind == "stop-end" && $0.rc == 1 && $0.node == "node\(node)" }
                    && Self.fenced(lab) == ["node\(node)"]
            }
            // A reboot empties /run; the fence hook's `rm -f` leaves a directory.
            try? FileManager.default.removeItem(atPath: state)
            let survivorDC = Int(try await bed.waitForOneDC(on: survivors, quorate: true).nodeID.rawValue)
            let after = try await lab.waitForEachOnce(on: survivors)
            log("failed stop: node\(node) fenced, \(stuck) on node\(after[stuck] ?? 0) \(Int(Date().timeIntervalSince(asked) * 1000)) ms after `baton crm resource move`")
            #expect(after[stuck] == target, "\(stuck) moved where it was asked to: \(after)")
            for (id, at) in placed where at != node { #expect(after[id] == at, "\(id) stays on node\(at)") }
            if let fenced = try Self.fenceDone(lab, node), let started = Self.lastStart(lab, moved, after) {
                #expect(fenced <= started, "fenced at \(fenced), a moved resource started at \(started)")
            } else {
                Issue.record("the fence's end or the moved resources' starts not found")
            }
            let failedStops = lab.witness.journal.events.dropFirst(mark).filter { $0.kind == "stop-end" && $0.rc != 0 }
            #expect(failedStops.count == 1, "one failed stop, not retried on a node that is gone: \(failedStops)")
            try await Self.check(lab, "failed stop: node\(node) fenced", node: survivorDC, placed: after)
            #expect(Self.fenced(lab) == ["node\(node)"], "fenced once")
        }
    }

    /// A stop that fails with fencing off (stonith-enabled=false: the stop's on-fail is block):
    /// the resource is left FAILED and blocked where it is, never started on the move's target
    /// (it may still run where its stop failed), nothing else touched, for three monitor
    /// intervals; `baton crm status` shows it as crm_mon does on the same CIB. Once the admin has
    /// mended the node (the directory gone) and cleaned it up, it starts on the target.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedStopWithFencingOffBlocksTheResourceWhereItIs() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let fencingOff = try Self.sticky(Self.cib(bed)).replacingOccurrences(
                of: #"<nvpair id="options-se" name="stonith-enabled" value="true"/>"#, with: #"<nvpair id="options-se" name="stonith-enabled" value="false"/>"#)
            #expect(fencingOff.contains(#"name="stonith-enabled" value="false""#))
            let (lab, dc, placed) = try await Self.start(bed, cib: fencingOff)
            try await Self.check(lab, "failed stop, fencing off: started", node: dc, placed: placed)
            let node = Fencing.victim(dc: dc, placed)
            let stuck = try #require(placed.filter { $0.value == node }.map(\.key).sorted().first)
            let target = try #require([1, 2, 3].first { $0 != node })
            let state = Resources.stateFile(bed, node: node, stuck, type: Self.type)
            try FileManager.default.removeItem(atPath: state)
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
            let mark = lab.witness.journal.events.count
            let move = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["move", stuck, "-N", "node\(target)"])
            #expect(move.status == 0, "\(move.output)")
            try await waitUntil("\(stuck)'s stop failed on node\(node)") {
                lab.witness.journal.events.dropFirst(mark).contains { $0.instance == stuck && $0.kind == "stop-end" && $0.rc == 1 && $0.node == "node\(node)" }
            }
            try await Self.monitorIntervals(3)
            let changes = Self.changes(lab, since: mark)
            #expect(changes == [stuck: ["node\(node) stop-begin"]], "one stop, nothing started, nothing else touched: \(changes)")
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
            if let shown = try await Self.sameBlockedLineAsCrmMon(bed, dc, stuck, "a blocked stop, fencing off") {
                log("failed stop, fencing off: `baton crm status` and crm_mon -1 both show:\(shown)")
            }
            // The admin mends what failed the stop (the resource still runs there: its state
            // file back), then cleans up: probed running on node\(node), stopped there, started
            // on the target.
            try FileManager.default.removeItem(atPath: state)
            #expect(FileManager.default.createFile(atPath: state, contents: nil))
            let cleanedAt = lab.witness.journal.events.count
            let cleaned = try await RealCorosync.CrmdAdminTests.resource(bed, dc, ["cleanup", stuck])
            #expect(cleaned.status == 0, "\(cleaned.output)")
            try await waitUntil("\(stuck) stopped on node\(node) and started on node\(target) after the cleanup") {
                lab.running(stuck) == [target]
                    && lab.witness.journal.events.dropFirst(cleanedAt).contains { $0.instance == stuck && $0.kind == "start-end" && $0.rc == 0 }
            }
            #expect(Self.changes(lab, since: cleanedAt) == [stuck: ["node\(node) stop-begin", "node\(target) start-begin"]], "\(Self.changes(lab, since: cleanedAt))")
            try await Self.check(lab, "failed stop, fencing off: cleaned up", node: dc)
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }

    /// on-fail=demote on the promoted monitor (Pacemaker's pe_fc_demote, on_fail_demote1-4 in
    /// its suite): the promoted instance's monitor fails once (rc 1) → it is demoted where it
    /// runs, never stopped or started, and one instance is promoted again (there or elsewhere)
    /// only after that demote (the promoted witness: never two promoted); nothing else on the
    /// other nodes but that promote; nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aFailedPromotedMonitorWithOnFailDemoteIsDemotedNotRestarted() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let witness = try WitnessBed(bed)
            let promotedJournal = "\(bed.testbed.directory)/promoted.journal"
            try Self.installStatefulWitness(witness, journal: promotedJournal)
            let plain = #"<op id="st-monitor-promoted" name="monitor" interval="3000ms" role="Promoted" timeout="20s"/>"#
            let cib = try Self.promotableCIB(bed)
            #expect(cib.contains(plain))
            try cib.replacingOccurrences(of: plain, with: plain.replacingOccurrences(of: "timeout=", with: #"on-fail="demote" timeout="#))
                .write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, onFenced: witness.onFenced))
            for node in 1...3 { try lab.launch(node) }
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            let promoted = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: dc, "started")
            try Self.checkPromoted(promotedJournal, "started", promoted: promoted)
            let marks = Dictionary(uniqueKeysWithValues: (1...3).map { ($0, Self.statefulActions(promotedJournal, $0).count) })
            func since(_ node: Int) -> [String] { Array(Self.statefulActions(promotedJournal, node).dropFirst(marks[node] ?? 0)) }
            let trigger = "\(bed.testbed.directory)/node\(promoted)/run/fail-promoted-monitor"
            #expect(FileManager.default.createFile(atPath: trigger, contents: nil))
            let began = Date()
            do {
                try await waitUntil("node\(promoted)'s promoted monitor failed and it was demoted") {
                    !FileManager.default.fileExists(atPath: trigger) && since(promoted).first == "demote 0"
                }
            } catch {
                throw TestFailure("\(error): node\(promoted) did \(since(promoted))\n\(Resources.logs(bed, [1, 2, 3]))")
            }
            let now = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: dc, "node\(promoted)'s promoted monitor failed (on-fail=demote)")
            log("on-fail=demote: node\(promoted) did \(since(promoted)); node\(now) promoted \(Int(Date().timeIntervalSince(began) * 1000)) ms after the failure was asked for")
            try Self.checkPromoted(promotedJournal, "on-fail=demote", promoted: now)
            #expect(since(promoted) == (now == promoted ? ["demote 0", "promote 0"] : ["demote 0"]), "node\(promoted), demoted, never stopped: \(since(promoted))")
            for node in [1, 2, 3] where node != promoted {
                #expect(since(node) == (node == now ? ["promote 0"] : []), "node\(node): \(since(node))")
            }
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }
}
