import CRMCore
import Foundation
import Testing

/// More of the CTS lab's scenarios (CRM-LIVE.md §2) in the lab of `CrmdLabTests` (3 corosync
/// nodes, baton-crmd, fencing on, Witness resources): kill -9 of the DC, Stonithd, Reattach;
/// promotable clones, RestartOnebyOne/Flip and PartialStart in the extensions below.
/// Same checks after each: the witness never tripped, the DC's CIB leaves `baton simulate`
/// nothing to do with every resource Started where it runs.
extension RealCorosync.CrmdLabTests {
    /// Wall-clock seconds of a file's last change (the Witness state file: its start).
    static func modified(_ path: String) -> Double? { Fencing.modified(path) }

    /// When the last of `moved` started on the survivors (their state files), in wall-clock
    /// seconds.
    static func lastStart(_ lab: Lab, _ moved: [String], _ after: [String: Int]) -> Double? {
        let times = moved.compactMap { id in after[id].flatMap { modified(Resources.stateFile(lab.bed, node: $0, id, type: type)) } }
        return times.count == moved.count ? times.max() : nil
    }

    /// The end (wall-clock seconds) of the fence log's last successful off or reboot of `node`.
    static func fenceDone(_ lab: Lab, _ node: Int) throws -> Double? {
        let port = try Fencing.namespace(lab.bed, node)
        let lines = Fencing.fenceLog(lab.bed).split(separator: "\n").map(String.init)
        guard let run = lines.lastIndex(where: { ($0.contains("action=off") || $0.contains("action=reboot")) && $0.contains("port=\(port)") }),
              let done = lines[run...].first(where: { $0.contains(" done 0") }) else { return nil }
        return Double(done.split(separator: " ")[0])
    }

    /// Seconds of the day (local time) of the last "A new membership … Members left" in a
    /// node's corosync.log (corosync's own time stamps, "Dec 07 12:27:19.662").
    static func membershipLeft(_ bed: CrmdBed, _ node: Int) -> Double? {
        let text = (try? String(contentsOfFile: "\(bed.testbed.directory)/node\(node)/corosync.log", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").last(where: { $0.contains("A new membership") && $0.contains("Members left") }) else { return nil }
        let words = line.split(separator: " ")
        guard words.count > 2 else { return nil }
        let parts = words[2].split(separator: ":").compactMap { Double($0) }
        guard parts.count == 3 else { return nil }
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    }

    /// Seconds of the day, local time, of a wall-clock time (corosync.log's clock).
    static func secondOfDay(_ epoch: Double) -> Double {
        let offset = TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: epoch))
        return (epoch + Double(offset)).truncatingRemainder(dividingBy: 86400)
    }

    /// kill -9 of the DC (its corosync, then its baton-crmd, as a power loss: no goodbye on
    /// the group): the survivors agree on a new DC, fence the old one once, start its
    /// resources once on the survivors (never before the fence: the witness), every resource
    /// placed as `baton simulate` says on the new DC's CIB (resource-stickiness is 0, so a
    /// survivor's resource may move to balance the two nodes, as Pacemaker's scheduler does);
    /// the node comes back. Measured: corosync's new membership → fenced → the last moved
    /// resource started.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func killOfTheDCIsFencedAndItsResourcesRunOnceOnTheSurvivors() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            let moved = placed.filter { $0.value == dc }.map(\.key).sorted()
            #expect(!moved.isEmpty, "the DC node\(dc) runs some of \(placed)")
            try await bed.testbed.script(["kill", String(dc)])
            bed.killDaemon(dc)
            let survivors = [1, 2, 3].filter { $0 != dc }
            let newDC = Int(try await bed.waitForOneDC(on: survivors, quorate: true).nodeID.rawValue)
            #expect(newDC != dc)
            let after = try await lab.waitForEachOnce(on: survivors)
            #expect(Self.fenced(lab) == ["node\(dc)"], "the old DC node\(dc) fenced once, nobody else")
            try await Self.check(lab, "kill -9 of the DC node\(dc)", node: newDC, placed: after)
            let membership = Self.membershipLeft(bed, newDC)
            let fenced = try Self.fenceDone(lab, dc)
            let started = Self.lastStart(lab, moved, after)
            if let membership, let fenced, let started {
                #expect(fenced <= started, "fenced at \(fenced), a moved resource started at \(started)")
                let fence = Self.secondOfDay(fenced) - membership, running = Self.secondOfDay(started) - membership
                log("lab: kill -9 of the DC node\(dc): \(moved) running on the survivors \(Int(running * 1000)) ms after corosync's new membership "
                    + "(fenced \(Int(fence * 1000)) ms after it, started \(Int((running - fence) * 1000)) ms after the fence); new DC node\(newDC)")
            } else {
                Issue.record("no figures: membership \(String(describing: membership)), fence done \(String(describing: fenced)), started \(String(describing: started))")
            }
            try await Self.rejoin(lab, dc, "the old DC node\(dc) back after its fence")
            #expect(Self.fenced(lab) == ["node\(dc)"], "no fencing at the rejoin")
        }
    }

    /// Stonithd (CTS: `stonith_admin --reboot NODE` from another node): `baton crm fence NODE`
    /// of a node running resources, asked on the third node: it returns once fenced, the node's
    /// resources run once on the others (after the fence), every survivor's fence history
    /// shows it, nobody is fenced a second time when corosync reports the node lost; it comes
    /// back.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func stonithdFencesANodeItsResourcesMoveAndItComesBack() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            let victim = Fencing.victim(dc: dc, placed)
            let moved = placed.filter { $0.value == victim }.map(\.key).sorted()
            #expect(!moved.isEmpty, "node\(victim) runs some of \(placed)")
            let survivors = [1, 2, 3].filter { $0 != victim }
            let asker = survivors.first { $0 != dc } ?? survivors[0]
            let asked = Date()
            let fence = try await run([Paths.baton, "crm", "fence", "node\(victim)", "--socket", bed.socket(asker)])
            #expect(fence.status == 0, "baton crm fence node\(victim) on node\(asker): \(fence.output)")
            log("Stonithd: `baton crm fence node\(victim)` returned after \(Int(Date().timeIntervalSince(asked) * 1000)) ms: \(fence.output.trimmingCharacters(in: .whitespacesAndNewlines))")
            #expect(Self.fenced(lab) == ["node\(victim)"], "node\(victim) off when the command returns")
            let survivorDC = Int(try await bed.waitForOneDC(on: survivors, quorate: true).nodeID.rawValue)
            let after = try await lab.waitForEachOnce(on: survivors)
            for (id, node) in placed where node != victim { #expect(after[id] == node, "\(id) stays on node\(node)") }
            if let fenced = try Self.fenceDone(lab, victim), let started = Self.lastStart(lab, moved, after) {
                #expect(fenced <= started, "fenced at \(fenced), a moved resource started at \(started)")
                log("Stonithd: \(moved) running \(Int((started - fenced) * 1000)) ms after the fence ended")
            }
            for node in survivors {
                let history = try await Fencing.history(bed, node)
                let line = try #require(history.split(separator: "\n").first { $0.hasPrefix("node\(victim) reboot by fence1") }, "node\(node): \(history)")
                #expect(line.contains(": ok"), "\(line)")
            }
            try await Self.check(lab, "Stonithd: node\(victim) fenced", node: survivorDC, placed: after)
            #expect(Self.fenced(lab) == ["node\(victim)"], "fenced once: the lost node is known fenced")
            try await Self.rejoin(lab, victim, "node\(victim) back after `baton crm fence`")
            #expect(Self.fenced(lab) == ["node\(victim)"], "no fencing at the rejoin")
        }
    }

    /// Reattach (CTS's, and the path from a running Pacemaker site): maintenance-mode=true,
    /// every baton-crmd stopped (SIGTERM, all at once) and every corosync with it while the
    /// resources run; all started again; maintenance-mode=false: the probes find each resource
    /// where it runs and nothing is started or stopped, at any step (the witness journal has
    /// monitors only), nobody fenced.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func reattachStopsAndStartsTheClusterWithoutTouchingTheResources() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, placed) = try await Self.start(bed)
            try await Self.check(lab, "Reattach: started", node: dc, placed: placed)
            let on = try await RealCorosync.CrmdAgentToolsTests.tool(bed, 1, ["crm_attribute", "-n", "maintenance-mode", "-v", "true"])
            #expect(on.status == 0, "\(on.output)")
            try await Self.waitForMaintenance("true", bed)
            let before = lab.witness.journal.events.count
            func touched() -> [String] {
                lab.witness.journal.events.dropFirst(before).filter { $0.kind != "monitor" }
                    .map { "\($0.node) \($0.kind) \($0.instance)" }
            }

            let codes = await bed.stopDaemonsAtOnce([1, 2, 3])
            for node in 1...3 { #expect(codes[node] == 0, "node\(node)'s baton-crmd exits 0 after SIGTERM (nil: killed past the deadline)") }
            for node in 1...3 { try await bed.testbed.script(["stop", String(node)]) }
            #expect(touched().isEmpty, "nothing stopped when the cluster stops in maintenance mode: \(touched())")
            for id in Self.ids { #expect(lab.running(id) == [placed[id]!], "\(id) still runs on node\(placed[id]!)") }

            try await bed.testbed.script(["start", "all"])
            for node in 1...3 { try lab.launch(node) }
            let newDC = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            try await bed.waitForOneCIB(on: [1, 2, 3])
            try await Self.waitForMaintenance("true", bed)
            #expect(touched().isEmpty, "nothing started or stopped at the start in maintenance mode: \(touched())")

            let off = try await RealCorosync.CrmdAgentToolsTests.tool(bed, newDC, ["crm_attribute", "-n", "maintenance-mode", "-v", "false"])
            #expect(off.status == 0, "\(off.output)")
            try await Self.waitForMaintenance("false", bed)
            // Every node's probe of every resource recorded: running where it runs, not elsewhere.
            var last = ""
            do {
                try await waitUntil("every probe recorded in node\(newDC)'s CIB, rc 0 where the resource runs") {
                    guard let status = try? await bed.cib(newDC, ["query", "-o", "status"]), status.status == 0 else { return false }
                    let lines = status.output.split(separator: "\n")
                    for id in Self.ids {
                        for node in 1...3 {
                            let rc = placed[id] == node ? "rc-code=\"0\"" : "rc-code=\"7\""
                            guard lines.contains(where: { $0.contains("operation_key=\"\(id)_monitor_0\"") && $0.contains("on_node=\"node\(node)\"") && $0.contains(rc) })
                            else {
                                last = "no probe of \(id) on node\(node) with \(rc)"
                                return false
                            }
                        }
                    }
                    return true
                }
            } catch {
                throw TestFailure("\(error); \(last)\n\(Resources.logs(bed, [1, 2, 3]))")
            }
            // Three monitor intervals for anything the DC would do after maintenance ends.
            let until = ContinuousClock.now + .milliseconds(3 * Resources.monitorMilliseconds)
            while ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(200)) }
            try await Self.check(lab, "Reattach: maintenance off", node: newDC, placed: placed)
            #expect(touched().isEmpty, "nothing started or stopped after the reattach: \(touched())")
            #expect(lab.witness.journal.events.dropFirst(before).contains { $0.kind == "monitor" && $0.rc == 0 },
                    "the resources were monitored after the reattach")
            #expect(Self.fenced(lab).isEmpty, "Reattach fences nobody")
        }
    }

    /// Waits until every node's CIB says maintenance-mode `value`.
    static func waitForMaintenance(_ value: String, _ bed: CrmdBed) async throws {
        try await waitUntil("maintenance-mode=\(value) on every node's CIB") {
            for node in 1...3 {
                let read = try? await RealCorosync.CrmdAgentToolsTests.tool(bed, node, ["crm_attribute", "-n", "maintenance-mode", "-G", "-q"])
                guard read?.output == "\(value)\n" else { return false }
            }
            return true
        }
    }
}

/// Promotable clones in the lab: ocf:pacemaker:Stateful behind a wrapper (`StatefulWitness`)
/// that journals each promote as a start and each demote as a stop of one instance named
/// "promoted" (and a monitor saying Promoted as "running"), so the Witness checker fails at any
/// instant two nodes are promoted at once, or a node says Promoted where the journal says not.
extension RealCorosync.CrmdLabTests {
    static let clone = "st-clone"

    /// The wrapper, in the lab's OCF root as ocf:baton:StatefulWitness: the real Stateful does
    /// the work; lines go to `journal` (flock, CLOCK_MONOTONIC, as scripts/ocf/Witness), and
    /// each start, stop, promote and demote with its exit code to `journal`.NODE.
    static func installStatefulWitness(_ witness: WitnessBed, journal: String) throws {
        let script = """
            #!/bin/sh
            node=${BATON_WITNESS_NODE:-$(uname -n)}
            j() {
                (
                    flock -x 9 || exit 1
                    printf '%s %s %s promoted%s\\n' "$(perl -MTime::HiRes=clock_gettime,CLOCK_MONOTONIC -e 'printf "%.9f", clock_gettime(CLOCK_MONOTONIC)')" "$node" "$1" "${2:+ $2}" >&9
                ) 9>>\(journal)
            }
            # One failed promoted monitor (the 3 s one: rc 1), asked for by the test with this file.
            if [ "$1" = monitor ] && [ "${OCF_RESKEY_CRM_meta_interval:-0}" = 3000 ] && [ -e "${HA_VARRUN:-/run}/fail-promoted-monitor" ]; then
                rm -f "${HA_VARRUN:-/run}/fail-promoted-monitor"
                exit 1
            fi
            case "$1" in promote) j start-begin ;; demote) j stop-begin ;; esac
            \(WitnessBed.machineRoot)/resource.d/pacemaker/Stateful "$@"
            rc=$?
            case "$1" in
                promote) j start-end $rc ;;
                demote) j stop-end $rc ;;
                monitor) if [ $rc -eq 8 ]; then j monitor 0; else j monitor 7; fi ;;
            esac
            case "$1" in start|stop|promote|demote) printf '%s %s\n' "$1" "$rc" >> \(journal).$node ;; esac
            exit $rc

            """
        let path = witness.ocfRoot + "/resource.d/baton/StatefulWitness"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        guard FileManager.default.createFile(atPath: journal, contents: nil) else { throw TestFailure("cannot create \(journal)") }
    }

    /// The fence device and a promotable clone of StatefulWitness (one instance per node, one
    /// promoted), monitors 2 s unpromoted and 3 s promoted.
    static func promotableCIB(_ bed: CrmdBed) throws -> String {
        try Fencing.cib(bed, [], map: try Fencing.hostMap(bed), type: type).replacingOccurrences(of: "</resources>", with: """
            <clone id="\(clone)"><meta_attributes id="\(clone)-meta"><nvpair id="\(clone)-promotable" name="promotable" value="true"/>\
            <nvpair id="\(clone)-promoted-max" name="promoted-max" value="1"/></meta_attributes>\
            <primitive id="st" class="ocf" provider="baton" type="StatefulWitness"><operations>\
            <op id="st-monitor-unpromoted" name="monitor" interval="2000ms" role="Unpromoted" timeout="20s"/>\
            <op id="st-monitor-promoted" name="monitor" interval="3000ms" role="Promoted" timeout="20s"/>\
            </operations></primitive></clone></resources>
            """)
    }

    /// Each node's Stateful state ("Promoted", "Unpromoted"; absent: stopped).
    static func roles(_ bed: CrmdBed, on nodes: [Int] = [1, 2, 3]) -> [Int: String] {
        var roles: [Int: String] = [:]
        for node in nodes {
            // Stateful-st.state (globally-unique=false: the instance number dropped), else Stateful-st:N.state.
            let directory = "\(bed.testbed.directory)/node\(node)/run"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix("Stateful-st") && $0.hasSuffix(".state") }
            let states = names.compactMap { try? String(contentsOfFile: "\(directory)/\($0)", encoding: .utf8) }
            if !states.isEmpty { roles[node] = states.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.sorted().joined(separator: ",") }
        }
        return roles
    }

    /// Waits until the agents' states are one promoted and the rest of `nodes` unpromoted, the
    /// DC's CIB leaves `baton simulate` nothing to do and `baton crm status` on it says the
    /// same; the promoted node.
    static func waitForOnePromoted(_ lab: Lab, on nodes: [Int], dc: Int, _ context: String) async throws -> Int {
        var last = ""
        var promoted = 0
        do {
            try await waitUntil("\(context): one instance promoted on \(nodes), the others unpromoted, as the DC's CIB and `baton simulate` say") {
                let roles = Self.roles(lab.bed)
                last = "states: \(roles.sorted { $0.key < $1.key })"
                guard Set(roles.keys) == Set(nodes), roles.values.filter({ $0 == "Promoted" }).count == 1,
                      roles.values.filter({ $0 == "Unpromoted" }).count == nodes.count - 1,
                      let node = roles.first(where: { $0.value == "Promoted" })?.key else { return false }
                let query = try await lab.bed.cib(dc, ["query"])
                guard query.status == 0 else { return false }
                let path = try lab.bed.file("lab-cib-\(dc).xml", query.output)
                let simulated = try await run([Paths.baton, "simulate", "-x", path])
                let summary = simulated.output.components(separatedBy: "Transition Summary:").dropFirst().first?
                    .components(separatedBy: "\n\n").first?.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) } ?? ["(none)"]
                let status = try await run([Paths.baton, "crm", "status", "--cib", path, "-r"])
                let promotedLine = status.output.split(separator: "\n").first { $0.contains("Promoted: [") && !$0.contains("Unpromoted") }
                last += "; simulate \(simulated.status) \(summary); status: \(promotedLine ?? "no Promoted line")"
                guard simulated.status == 0, summary.isEmpty, promotedLine?.contains("Promoted: [ node\(node) ]") == true else { return false }
                promoted = node
                return true
            }
        } catch {
            let status = (try? await lab.bed.cib(dc, ["query", "-o", "status"]).output) ?? "(no answer)"
            throw TestFailure("\(error); last: \(last)\n\(Resources.logs(lab.bed, [1, 2, 3]))\nnode\(dc)'s status:\n\(status)")
        }
        return promoted
    }

    /// The promoted journal's check: never two promoted at once, no monitor saying Promoted
    /// where the journal says not; `promoted`, when given, the one node promoted now.
    static func checkPromoted(_ journalPath: String, _ context: String, promoted: Int?) throws {
        let journal = WitnessJournal((try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? "")
        guard journal.violations.isEmpty else {
            throw TestFailure("the promoted witness tripped (\(context)):\n" + journal.violations.prefix(20).joined(separator: "\n") + "\njournal: \(journalPath)")
        }
        if let promoted {
            let active = journal.active["promoted"] ?? []
            guard active == ["node\(promoted)"] else { throw TestFailure("\(context): the journal has \(active.sorted()) promoted, the agents node\(promoted)") }
        }
    }

    /// Promotable clone (ocf:pacemaker:Stateful): started on all three, one promoted; kill -9
    /// of the promoted node: fenced, another instance promoted only after the fence, never two
    /// at once; the node comes back unpromoted.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aPromotableCloneFailsOverAfterThePromotedNodeIsFenced() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let witness = try WitnessBed(bed)
            let promotedJournal = "\(bed.testbed.directory)/promoted.journal"
            try Self.installStatefulWitness(witness, journal: promotedJournal)
            try Self.promotableCIB(bed).write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let onFenced = witness.onFenced + "; BATON_WITNESS_JOURNAL=\(promotedJournal) \(WitnessBed.agent) fenced \"$node\""
            let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, onFenced: onFenced))
            for node in 1...3 { try lab.launch(node) }
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            let promoted = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: dc, "started")
            try Self.checkPromoted(promotedJournal, "started", promoted: promoted)
            log("promotable: promoted on node\(promoted), DC node\(dc)")

            bed.killDaemon(promoted)
            try await bed.testbed.script(["kill", String(promoted)])
            let killed = Date()
            let survivors = [1, 2, 3].filter { $0 != promoted }
            let survivorDC = Int(try await bed.waitForOneDC(on: survivors, quorate: true).nodeID.rawValue)
            let now = try await Self.waitForOnePromoted(lab, on: survivors, dc: survivorDC, "node\(promoted) killed")
            log("promotable: kill -9 of the promoted node\(promoted): node\(now) promoted \(Int(Date().timeIntervalSince(killed) * 1000)) ms after `testbed kill` (polled)")
            #expect(Self.fenced(lab) == ["node\(promoted)"], "the promoted node\(promoted) fenced once, nobody else")
            try Self.checkPromoted(promotedJournal, "node\(promoted) killed", promoted: now)

            lab.bed.killDaemon(promoted)
            try await bed.testbed.script(["restart", String(promoted)])
            try lab.launch(promoted)
            let backDC = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            try await bed.waitForOneCIB(on: [1, 2, 3])
            let back = try await Self.waitForOnePromoted(lab, on: [1, 2, 3], dc: backDC, "node\(promoted) back")
            try Self.checkPromoted(promotedJournal, "node\(promoted) back", promoted: back)
            #expect(Self.fenced(lab) == ["node\(promoted)"], "no fencing at the rejoin")
        }
    }
}

/// RestartOnebyOne (and Flip's two directions: a running node stopped, a stopped node started)
/// and PartialStart.
extension RealCorosync.CrmdLabTests {
    /// The starts and stops the journal has begun since line `after`, per instance.
    static func changes(_ lab: Lab, since after: Int) -> [String: [String]] {
        var changes: [String: [String]] = [:]
        for event in lab.witness.journal.events.dropFirst(after) where event.kind == "start-begin" || event.kind == "stop-begin" {
            changes[event.instance, default: []].append("\(event.node) \(event.kind)")
        }
        return changes
    }

    /// RestartOnebyOne (resource-stickiness 1 in rsc_defaults, as CTS gives its migrator, so
    /// "what must move" is exact): each node in turn stopped cleanly (baton-crmd SIGTERM, exit
    /// 0, its resources moved first, once each, nothing else touched; then its corosync) and
    /// started again (rejoins, probed; nothing starts or stops anywhere); each step checked
    /// (witness, `baton simulate` on the DC's CIB); nobody fenced. Flip's two directions are
    /// its halves. It found the DC leaving at its own do_shutdown with a start elsewhere in
    /// flight: the next DC started it again on the same node.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func restartOneByOneMovesOnlyWhatMustMove() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let witness = try WitnessBed(bed)
            let sticky = try Self.cib(bed).replacingOccurrences(of: "<constraints/></configuration>", with: """
                <constraints/><rsc_defaults><meta_attributes id="rsc-options">\
                <nvpair id="rsc-options-stickiness" name="resource-stickiness" value="1"/></meta_attributes></rsc_defaults></configuration>
                """)
            #expect(sticky.contains("resource-stickiness"))
            try sticky.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            let lab = Lab(bed: bed, witness: witness, agents: try Fencing.agentDirectory(bed, onFenced: witness.onFenced))
            for node in 1...3 { try lab.launch(node) }
            let dc = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            _ = try await lab.waitForEachOnce()
            var placed = try await Self.check(lab, "Restart: started", node: dc)
            for node in [1, 2, 3] {
                var mark = lab.witness.journal.events.count
                let code = await bed.stopDaemon(node)
                #expect(code == 0, "node\(node)'s baton-crmd exits 0 after its clean stop")
                try await bed.testbed.script(["stop", String(node)])
                for id in Self.ids { #expect(lab.running(id, on: [node]).isEmpty, "\(id) stopped on node\(node) before it left") }
                let others = [1, 2, 3].filter { $0 != node }
                let survivorDC = Int(try await bed.waitForOneDC(on: others, quorate: true).nodeID.rawValue)
                let stopped = try await Self.check(lab, "Restart: node\(node) stopped", node: survivorDC)
                for (id, at) in placed where at != node { #expect(stopped[id] == at, "\(id) stays on node\(at) while node\(node) stops") }
                for (id, list) in Self.changes(lab, since: mark) {
                    #expect(placed[id] == node && list == ["node\(node) stop-begin", "node\(stopped[id] ?? 0) start-begin"],
                            "only node\(node)'s resources move, once each: \(id) \(list)")
                }

                mark = lab.witness.journal.events.count
                try await bed.testbed.script(["start", String(node)])
                try lab.launch(node)
                let back = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
                try await bed.waitForOneCIB(on: [1, 2, 3])
                placed = try await Self.check(lab, "Restart: node\(node) started", node: back, placed: stopped)
                let moved = Self.changes(lab, since: mark)
                #expect(moved.isEmpty, "node\(node) back: nothing starts or stops (stickiness): \(moved)")
            }
            #expect(Self.fenced(lab).isEmpty, "clean stops and starts fence nobody")
        }
    }

    /// PartialStart: a stopped node's corosync and baton-crmd started, and baton-crmd stopped
    /// (SIGTERM) as soon as the DC sees it in the group, before its join completes: it exits
    /// (0) within the deadline, is not fenced, the DC is not stuck (the others settle, every
    /// resource once); started again it joins.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func partialStartStopsCleanlyAndLeavesTheDCWorking() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            let (lab, dc, _) = try await Self.start(bed)
            let node = [1, 2, 3].filter { $0 != dc }.max()!
            let others = [1, 2, 3].filter { $0 != node }
            let first = await bed.stopDaemon(node)
            #expect(first == 0)
            try await bed.testbed.script(["stop", String(node)])
            _ = try await bed.waitForOneDC(on: others, quorate: true)
            _ = try await lab.waitForEachOnce(on: others)

            try await bed.testbed.script(["start", String(node)])
            try lab.launch(node)
            var joined = false
            try await waitUntil("node\(node) in the DC's group") {
                guard let status = try? await bed.status(dc) else { return false }
                guard status.members.contains(where: { $0.nodeID == NodeID(UInt32(node)) }) else { return false }
                joined = status.nodes.first { $0.nodeID == NodeID(UInt32(node)) }?.joined ?? false
                return true
            }
            let stopping = Date()
            let code = await bed.stopDaemon(node)
            log("PartialStart: node\(node)'s baton-crmd stopped \(joined ? "after" : "before") its join completed, exit \(String(describing: code)) \(Int(Date().timeIntervalSince(stopping) * 1000)) ms after SIGTERM")
            #expect(code == 0, "node\(node)'s baton-crmd exits 0 when stopped mid-join")
            for id in Self.ids { #expect(lab.running(id, on: [node]).isEmpty, "\(id) not left running on node\(node)") }
            try await bed.testbed.script(["stop", String(node)])
            let survivorDC = Int(try await bed.waitForOneDC(on: others, quorate: true).nodeID.rawValue)
            _ = try await lab.waitForEachOnce(on: others)
            try await Self.check(lab, "PartialStart: node\(node) stopped mid-join", node: survivorDC)
            #expect(Self.fenced(lab).isEmpty, "a node stopped mid-join is not fenced")

            try await bed.testbed.script(["start", String(node)])
            try lab.launch(node)
            let back = Int(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true).nodeID.rawValue)
            try await bed.waitForOneCIB(on: [1, 2, 3])
            try await Self.check(lab, "PartialStart: node\(node) started again", node: back)
            #expect(Self.fenced(lab).isEmpty, "nobody fenced")
        }
    }
}
