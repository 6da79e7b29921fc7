import CRMCore
import Foundation
import Synchronization
import Testing

/// baton-crmd on three real corosync nodes in namespaces (knet, token 1000): issue 13's
/// acceptance scenarios from Pacemaker's CTS lab, with hard checks on what every node's
/// `baton crm status --output json` says. Every wait polls to Patience's deadline.
extension RealCorosync {
@Suite(.serialized)
struct CrmdTests {
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func simultaneousStartRestartOfOneNodeAndKillOfTheDC() async throws {
        try await CrmdBed.with { bed in
            // SimulStart: one DC, the same on every node, 3 members, quorate.
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            for node in 1...3 {
                let status = try await bed.status(node)
                #expect(status.nodes.map(\.name) == ["node1", "node2", "node3"])
                #expect(status.nodes.allSatisfy { $0.online && $0.joined }, "node\(node): \(status.nodes)")
                #expect(status.garbageMessages == 0)
            }
            // Restart of one node that is not the DC (its crmd and its corosync).
            let other = [1, 2, 3].first { $0 != Int(dc.nodeID.rawValue) }!
            await bed.stopDaemon(other)
            try await bed.testbed.script(["stop", String(other)])
            let rest = [1, 2, 3].filter { $0 != other }
            #expect(try await bed.waitForOneDC(on: rest, quorate: true) == dc, "the live DC stays when another node stops")
            try await bed.testbed.script(["start", String(other)])
            try bed.launch([other])
            #expect(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true) == dc, "the live DC stays when a node comes back")

            // kill -9 of the DC node (its crmd and its corosync): a new DC among the others.
            let dcNode = Int(dc.nodeID.rawValue)
            bed.killDaemon(dcNode)
            try await bed.testbed.script(["kill", String(dcNode)])
            let survivors = [1, 2, 3].filter { $0 != dcNode }
            let next = try await bed.waitForOneDC(on: survivors, quorate: true)
            #expect(next != dc)
            for node in survivors {
                let status = try await bed.status(node)
                #expect(status.nodes.first { $0.nodeID == dc.nodeID }?.online == false)
                if let timing = status.timing, let membership = timing.lastMembershipMilliseconds, let since = timing.dcSinceMilliseconds {
                    log("kill -9 of the DC: node\(node) has its new DC \(since - membership) ms after the group's new view")
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func startOneByOneThenStopOneByOne() async throws {
        try await CrmdBed.with(dcDeadtimeSeconds: 2) { bed in
            // node1 alone: it waits dc-deadtime for the nodes it never saw, then is the DC.
            try bed.launch([1])
            let first = try await bed.waitForOneDC(on: [1], quorate: true)
            #expect(first.nodeID == NodeID(1))
            try bed.launch([2])
            #expect(try await bed.waitForOneDC(on: [1, 2], quorate: true) == first)
            try bed.launch([3])
            #expect(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true) == first)

            // StopOnebyOne: the cluster shrinks, the DC stays; the last node has no quorum.
            await bed.stopDaemon(3)
            try await bed.testbed.script(["stop", "3"])
            #expect(try await bed.waitForOneDC(on: [1, 2], quorate: true) == first)
            await bed.stopDaemon(2)
            try await bed.testbed.script(["stop", "2"])
            #expect(try await bed.waitForOneDC(on: [1], quorate: false) == first)
            #expect(try await bed.status(1).nodes.map(\.online) == [true, false, false])
            let code = await bed.stopDaemon(1)
            #expect(code == 0, "SIGTERM: baton-crmd leaves the group and exits 0")
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func partitionTwoPlusOneAndHeal() async throws {
        // The initial CIB's no-quorum-policy: every node knows it, the cut-off one too.
        try await CrmdBed.with(noQuorumPolicy: "freeze") { bed in
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            #expect(dc.nodeID == NodeID(1))
            // node3 cut off: it is its own DC without quorum; node1 stays DC of the majority.
            try await bed.testbed.script(["cut", "3"])
            let minority = try await bed.waitForOneDC(on: [3], quorate: false)
            #expect(minority.nodeID == NodeID(3))
            #expect(try await bed.waitForOneDC(on: [1, 2], quorate: true) == dc)
            for node in 1...3 { #expect(try await bed.status(node).noQuorumPolicy == "freeze") }
            // Healed: one DC again (the one two members followed), three members everywhere.
            try await bed.testbed.script(["heal", "3"])
            #expect(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true) == dc)
        }
    }

    /// A process that is no baton-crmd joins the group and sends garbage: every daemon counts
    /// and drops it, none crashes, and after dc-deadtime the daemons settle among themselves
    /// with the same DC (the stranger never announces, so it never is DC).
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aStrangerInTheGroupSendingGarbageIsCountedAndLeftOut() async throws {
        try await CrmdBed.with(dcDeadtimeSeconds: 2) { bed in
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let stranger = try ProbeProcess.launch(bed.testbed, node: 2, ["watch", "--group", "baton-crmd"])
            do {
                try await stranger.waitFor("the stranger in the group") {
                    $0["event"] as? String == "cpg.membership" && (($0["members"] as? [Any])?.count ?? 0) == 4
                }
                stranger.send("send not-a-baton-crmd-message")
                try await waitUntil("every daemon counted the garbage and settled on \(dc) with the stranger in the view") {
                    for node in 1...3 {
                        guard let status = try? await bed.status(node), status.garbageMessages >= 1, status.settled,
                              status.dc == dc, status.members.count == 4 else { return false }
                    }
                    return true
                }
                await stranger.stop()
            } catch {
                await stranger.stop()
                throw error
            }
            #expect(try await bed.waitForOneDC(on: [1, 2, 3], quorate: true) == dc)
            for node in 1...3 { #expect(try await bed.status(node).lastGarbage?.contains("magic") == true) }
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func attributesAreClusterWideAndDroppedWhenTheirNodeLeaves() async throws {
        try await CrmdBed.with { bed in
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let name = "fail-count-db#monitor_10000"
            #expect(try bed.request(2, "attribute 3 \(name) 1") == "accepted")
            #expect(try bed.request(3, "attribute cluster no-quorum-policy freeze") == "accepted")
            try await waitUntil("every node holds node3's fail count and the policy") {
                for node in 1...3 {
                    guard let status = try? await bed.status(node),
                          status.nodes.first(where: { $0.nodeID == NodeID(3) })?.attributes[name] == "1",
                          status.noQuorumPolicy == "freeze" else { return false }
                }
                return true
            }
            await bed.stopDaemon(3)
            try await waitUntil("node3's attributes dropped on node1 and node2") {
                for node in 1...2 {
                    guard let status = try? await bed.status(node),
                          status.nodes.first(where: { $0.nodeID == NodeID(3) })?.attributes.isEmpty == true else { return false }
                }
                return true
            }
            let text = try await bed.testbed.exec(1, [Paths.baton, "crm", "status", "--socket", bed.socket(1)])
            #expect(text.status == 0)
            #expect(text.output.contains("Cluster Summary:\n  * Stack: corosync\n  * Current DC: node1 (version \(ControllerEntries.dcVersion)) - partition with quorum\n"), "\(text.output)")
            #expect(text.output.contains("Node List:\n  * Online: [ node1 node2 ]\n  * OFFLINE: [ node3 ]\n"), "\(text.output)")
        }
    }

    /// A write on a non-DC is applied and persisted on every node (read back with `cib query`
    /// from each and from the file on disk); ResyncCIB: a node stopped, its CIB directory
    /// deleted, writes made meanwhile, restarted: the best CIB wins, digests equal everywhere.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func aWriteOnANonDCIsEverywhereAndADeletedCIBIsResynced() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            let initial = try await bed.waitForOneCIB(on: [1, 2, 3])
            #expect(initial == "0.3.0", "the --cib seed everywhere, with the DC's two writes (ControllerEntries: crm_config, nodes)")
            let writer = [1, 2, 3].first { $0 != Int(dc.nodeID.rawValue) }!
            let resources = try bed.file("resources.xml", "<resources><primitive id=\"web\" class=\"ocf\" provider=\"heartbeat\" type=\"apache\"/></resources>")
            let written = try await bed.cib(writer, ["replace", "-o", "resources", "--xml-file", resources])
            #expect(written.status == 0 && written.output == "ok 0.4.0\n", "\(written.output)")
            // Acknowledged on the writer means applied there; the others within the wait.
            #expect(try await bed.resourceIDs(writer) == ["web"])
            try await bed.waitForOneCIB(on: [1, 2, 3])
            for node in 1...3 {
                #expect(try await bed.resourceIDs(node) == ["web"], "node\(node)")
                // crm-bench's timings: the patch applied on each node, then committed there.
                try await waitUntil("node\(node)'s commit of the write timed") {
                    let timing = try await bed.status(node).timing
                    guard let applied = timing?.lastCIBApplyMilliseconds, let committed = timing?.lastCIBCommitMilliseconds,
                          let asked = try await bed.status(writer).timing?.lastCIBRequestMilliseconds else { return false }
                    return asked <= applied && applied <= committed
                }
                // Saved off the event loop, just after the write is applied.
                var stored = ""
                try await waitUntil("node\(node)'s cib.xml holds the write") {
                    stored = (try? String(contentsOfFile: bed.cibDirectory(node) + "/cib.xml", encoding: .utf8)) ?? ""
                    return CrmdBed.primitiveIDs(stored) == ["web"] && stored.contains("epoch=\"4\"")
                }
                #expect(!stored.contains("node_state"), "the status section is never written")
                let signature = try String(contentsOfFile: bed.cibDirectory(node) + "/cib.xml.sig", encoding: .utf8)
                #expect(signature.count == 32)
            }
            let query = try await bed.cib(writer, ["query"])
            #expect(query.output.contains("<node_state id=\"1\" uname=\"node1\" in_ccm=\"true\" crmd=\"online\""), "\(query.output)")

            // ResyncCIB.
            let victim = writer
            await bed.stopDaemon(victim)
            try FileManager.default.removeItem(atPath: bed.cibDirectory(victim))
            let rest = [1, 2, 3].filter { $0 != victim }
            let more = try bed.file("more.xml", "<resources><primitive id=\"web\" class=\"ocf\" provider=\"heartbeat\" type=\"apache\"/><primitive id=\"db\" class=\"ocf\" provider=\"heartbeat\" type=\"pgsql\"/></resources>")
            let second = try await bed.cib(rest[1], ["replace", "-o", "resources", "-x", more])
            #expect(second.status == 0 && second.output == "ok 0.5.0\n", "\(second.output)")
            try bed.launch([victim])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            #expect(try await bed.waitForOneCIB(on: [1, 2, 3]) == "0.5.0")
            #expect(try await bed.resourceIDs(victim) == ["web", "db"])
            #expect(try await bed.status(victim).cibSyncsTaken == 1)
            try await waitUntil("node\(victim)'s new cib.xml") {
                let stored = (try? String(contentsOfFile: bed.cibDirectory(victim) + "/cib.xml", encoding: .utf8)) ?? ""
                return CrmdBed.primitiveIDs(stored) == ["web", "db"]
            }
            // A refused write says why, and changes nothing.
            let stale = try bed.file("stale.xml", "<cib epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\"><configuration/></cib>")
            let refused = try await bed.cib(victim, ["replace", "-x", stale])
            #expect(refused.status == 1 && refused.output.contains("older"), "\(refused.output)")

            // Every node stopped and started again: each loads its saved CIB (a node whose
            // cib.xml was damaged meanwhile says so, takes its newest good backup, and the
            // join brings it up to date).
            for node in 1...3 { await bed.stopDaemon(node) }
            let damaged = bed.cibDirectory(rest[0]) + "/cib.xml"
            let text = try String(contentsOfFile: damaged, encoding: .utf8)
            #expect(text.contains("type=\"pgsql\""))
            try text.replacingOccurrences(of: "type=\"pgsql\"", with: "type=\"mysql\"").write(toFile: damaged, atomically: true, encoding: .utf8)
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            #expect(try await bed.waitForOneCIB(on: [1, 2, 3]) == "0.5.0")
            for node in 1...3 { #expect(try await bed.resourceIDs(node) == ["web", "db"], "node\(node) after the restart") }
            let log = try String(contentsOfFile: "\(bed.testbed.directory)/node\(rest[0])/crmd.log", encoding: .utf8)
            #expect(log.contains("\(damaged) does not match its signature"), "\(log.suffix(2000))")
        }
    }

    /// A partition into 2+1 with writes in the majority and one in the minority, healed. The
    /// minority has no quorum: its DC holds the write (Pacemaker's CIB manager would take it, and
    /// lose it at the heal to the majority's higher version); the admin's command gives up
    /// unacknowledged, the origin keeps the write and it is made after the heal, on top of the
    /// majority's. One CIB everywhere, nothing acknowledged lost.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func partitionedWritesConvergeAtTheHealWithoutLosingTheMajoritys() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            try await bed.waitForOneCIB(on: [1, 2, 3])
            try await bed.testbed.script(["cut", "3"])
            _ = try await bed.waitForOneDC(on: [3], quorate: false)
            _ = try await bed.waitForOneDC(on: [1, 2], quorate: true)
            let minority = try bed.file("minority.xml", "<resources><primitive id=\"lonely\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\"/></resources>")
            let held = try await bed.cib(3, ["replace", "-o", "resources", "-x", minority, "--timeout", "3"])
            #expect(held.status != 0, "a write without quorum was acknowledged: \(held)")
            var acknowledged: [String] = []
            for index in 1...3 {
                let ids = (1...index).map { "m\($0)" }
                let text = "<resources>" + ids.map { "<primitive id=\"\($0)\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\"/>" }.joined() + "</resources>"
                let result = try await bed.cib(2, ["replace", "-o", "resources", "-x", bed.file("m\(index).xml", text)])
                if result.status == 0 { acknowledged = ids }
            }
            #expect(acknowledged == ["m1", "m2", "m3"])
            for node in 1...2 { #expect(try await bed.resourceIDs(node) == acknowledged, "node\(node) before the heal") }
            try await bed.testbed.script(["heal", "3"])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            // The DC's two writes and the majority's three (0.6.0), then the held one.
            try await waitUntil("the held write made after the heal on every node") {
                for node in 1...3 { guard (try? await bed.resourceIDs(node)) == ["lonely"] else { return false } }
                return true
            }
            #expect(try await bed.waitForOneCIB(on: [1, 2, 3]) == "0.7.0")
        }
    }

    /// kill -9 of the DC (its baton-crmd and corosync) while a non-DC writes one resource after
    /// another: every acknowledged write is in the survivors' CIB, which is one CIB.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func killOfTheDCWithWritesInFlightLosesNoAcknowledgedWrite() async throws {
        try await CrmdBed.with(noQuorumPolicy: "stop") { bed in
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            try await bed.waitForOneCIB(on: [1, 2, 3])
            let dcNode = Int(dc.nodeID.rawValue)
            let writer = [1, 2, 3].first { $0 != dcNode }!
            let survivors = [1, 2, 3].filter { $0 != dcNode }
            let acknowledged = Mutex<[String]>([])
            let stop = Mutex(false)
            let writes = Task {
                var index = 0
                while !stop.withLock({ $0 }) {
                    index += 1
                    let id = "w\(index)"
                    // No <version>: applies to whatever the CIB is when the DC orders it.
                    let patch = try bed.file("\(id).xml", """
                        <diff format="2"><change operation="create" path="/cib/configuration/resources" position="\(index - 1)">\
                        <primitive id="\(id)" class="ocf" provider="heartbeat" type="Dummy"/></change></diff>
                        """)
                    if try await bed.cib(writer, ["patch", "-x", patch]).status == 0 { acknowledged.withLock { $0.append(id) } }
                }
            }
            try await waitUntil("five writes acknowledged") { acknowledged.withLock { $0.count } >= 5 }
            bed.killDaemon(dcNode)
            try await bed.testbed.script(["kill", String(dcNode)])
            let before = acknowledged.withLock { $0.count }
            try await waitUntil("five more writes acknowledged after the kill") { acknowledged.withLock { $0.count } >= before + 5 }
            stop.withLock { $0 = true }
            try await writes.value
            _ = try await bed.waitForOneDC(on: survivors, quorate: true)
            try await bed.waitForOneCIB(on: survivors)
            let ids = acknowledged.withLock { $0 }
            for node in survivors {
                let listed = try await bed.resourceIDs(node)
                let present = Set(listed)
                #expect(Set(ids).isSubset(of: present), "node\(node) lacks \(Set(ids).subtracting(present).sorted())")
                #expect(present.count == listed.count, "a write resent after the kill was applied twice on node\(node): \(listed)")
                log("kill -9 of the DC with writes in flight: \(ids.count) acknowledged, \(listed.count) in node\(node)'s CIB")
            }
        }
    }
}
}

/// A test bed with one baton-crmd per node (each inside its node's namespace), their logs in
/// the bed's directory, stopped by their own pids.
final class CrmdBed: Sendable {
    let testbed: Testbed
    let dcDeadtimeSeconds: Int
    /// An initial CIB (in the bed's directory) with this no-quorum-policy, given with --cib.
    let noQuorumPolicy: String?
    private let daemons = Mutex<[Int: Child]>([:])

    init(testbed: Testbed, dcDeadtimeSeconds: Int, noQuorumPolicy: String?) {
        self.testbed = testbed
        self.dcDeadtimeSeconds = dcDeadtimeSeconds
        self.noQuorumPolicy = noQuorumPolicy
    }

    var cibPath: String { "\(testbed.directory)/cib.xml" }

    static func with(dcDeadtimeSeconds: Int = 20, noQuorumPolicy: String? = nil, _ body: (CrmdBed) async throws -> Void) async throws {
        if let missing = Requirement.built("baton-crmd") { throw TestFailure(missing) }
        try await Testbed.with(nodes: 3) { testbed in
            let bed = CrmdBed(testbed: testbed, dcDeadtimeSeconds: dcDeadtimeSeconds, noQuorumPolicy: noQuorumPolicy)
            if let noQuorumPolicy {
                let cib = """
                    <cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config>
                    <cluster_property_set id="options"><nvpair id="options-nqp" name="no-quorum-policy" value="\(noQuorumPolicy)"/>
                    </cluster_property_set></crm_config><nodes/><resources/><constraints/></configuration><status/></cib>
                    """
                try cib.write(toFile: bed.cibPath, atomically: true, encoding: .utf8)
            }
            do {
                try await body(bed)
            } catch {
                await bed.stopAll()
                throw error
            }
            await bed.stopAll()
        }
    }

    func socket(_ node: Int) -> String { "\(testbed.directory)/node\(node)/crmd.sock" }
    /// Each node's --cib-dir (the namespaces share one file system).
    func cibDirectory(_ node: Int) -> String { "\(testbed.directory)/node\(node)/cib" }

    /// `baton crm cib ARGS --socket` of a node (not inside its namespace: a unix socket).
    func cib(_ node: Int, _ arguments: [String]) async throws -> CommandResult {
        try await run([Paths.baton, "crm", "cib"] + arguments + ["--socket", socket(node)])
    }

    /// A file in the bed's directory holding `text`, for --xml-file.
    func file(_ name: String, _ text: String) throws -> String {
        let path = "\(testbed.directory)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Waits until every node of `nodes` reports the same CIB version and digest, and none
    /// waits for a sync; returns that version.
    @discardableResult
    func waitForOneCIB(on nodes: [Int]) async throws -> String {
        var last: [Int: String] = [:]
        var agreed = ""
        do {
            try await waitUntil("one CIB on nodes \(nodes)") {
                var seen: Set<String> = []
                for node in nodes {
                    guard let status = try? await status(node), let version = status.cibVersion else { return false }
                    last[node] = "\(version) \(status.cibDigest ?? "-") awaiting \(status.cibAwaitingSync ?? false) error \(status.lastCIBError ?? "-")"
                    guard status.settled, status.cibAwaitingSync == false, let digest = status.cibDigest else { return false }
                    seen.insert(version + " " + digest)
                }
                guard seen.count == 1, let one = seen.first else { return false }
                agreed = String(one.split(separator: " ")[0])
                return true
            }
        } catch {
            throw TestFailure("\(error); last seen: \(last.sorted { $0.key < $1.key }.map { "node\($0.key): \($0.value)" }.joined(separator: "; "))")
        }
        return agreed
    }

    /// The ids of the primitives in a node's `cib query -o resources`.
    func resourceIDs(_ node: Int) async throws -> [String] {
        let result = try await cib(node, ["query", "-o", "resources"])
        guard result.status == 0 else { throw TestFailure("cib query on node\(node) exited \(result.status): \(result.output)") }
        return Self.primitiveIDs(result.output)
    }

    static func primitiveIDs(_ text: String) -> [String] {
        text.components(separatedBy: "<primitive id=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    /// Starts baton-crmd on each node (not waiting: the status polls do).
    func launch(_ nodes: [Int], extra: [String] = []) throws {
        for node in nodes {
            let logPath = "\(testbed.directory)/node\(node)/crmd.log"
            let output = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw TestFailure("cannot open \(logPath)") }
            defer { close(output) }
            let child = try Child.spawn([Paths.testbed, "-d", testbed.directory, "exec", String(node), BuildPaths.product("baton-crmd"),
                                         "--socket", socket(node), "--dc-deadtime", String(dcDeadtimeSeconds), "--cib-dir", cibDirectory(node)]
                                            + agentArguments(node) + extra
                                            + (noQuorumPolicy == nil ? [] : ["--cib", cibPath]),
                                        stdout: output, stderr: output)
            daemons.withLock { $0[node] = child }
        }
    }

    /// Each node's agents keep their state apart (the namespaces share one file system):
    /// HA_RSCTMP, the agent tools and HA_VARRUN (where Dummy keeps its state file) per node.
    func agentArguments(_ node: Int) -> [String] {
        let base = "\(testbed.directory)/node\(node)"
        try? FileManager.default.createDirectory(atPath: base + "/run", withIntermediateDirectories: true)
        return ["--resource-tmp", base + "/rsctmp", "--agent-tools-dir", base + "/agent-tools", "--agent-environment", "HA_VARRUN=\(base)/run"]
    }

    /// SIGTERM and wait for the exit (SIGKILL past the slack); the exit status.
    @discardableResult
    func stopDaemon(_ node: Int) async -> Int32? {
        guard let child = daemons.withLock({ $0.removeValue(forKey: node) }) else { return nil }
        child.signal(SIGTERM)
        let deadline = ContinuousClock.now + Patience.slack
        while true {
            if let status = child.poll() { return status }
            if ContinuousClock.now > deadline {
                child.killAndReap()
                return nil
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// SIGTERM to every one of `nodes` at once, then each exit awaited (SIGKILL past `limit`);
    /// the exit statuses (nil: killed).
    func stopDaemonsAtOnce(_ nodes: [Int], limit: Duration = Patience.deadline) async -> [Int: Int32?] {
        let children = daemons.withLock { running in nodes.compactMap { node in running.removeValue(forKey: node).map { (node, $0) } } }
        for (_, child) in children { child.signal(SIGTERM) }
        let deadline = ContinuousClock.now + limit
        var codes: [Int: Int32?] = [:]
        for (node, child) in children {
            while true {
                if let status = child.poll() {
                    codes[node] = status
                    break
                }
                if ContinuousClock.now > deadline {
                    child.killAndReap()
                    codes[node] = Int32?.none
                    break
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return codes
    }

    func killDaemon(_ node: Int) {
        guard let child = daemons.withLock({ $0.removeValue(forKey: node) }) else { return }
        child.killAndReap()
    }

    func stopAll() async {
        for node in daemons.withLock({ Array($0.keys) }).sorted() { await stopDaemon(node) }
    }

    /// `baton crm status --node --output json` on a node, decoded.
    func status(_ node: Int) async throws -> NodeStatus {
        let result = try await run([Paths.baton, "crm", "status", "--node", "--output", "json", "--socket", socket(node)])
        guard result.status == 0 else { throw TestFailure("baton crm status on node\(node) exited \(result.status): \(result.output)") }
        do {
            return try JSONDecoder().decode(NodeStatus.self, from: Data(result.output.utf8))
        } catch {
            throw TestFailure("baton crm status on node\(node): \(error): \(result.output)")
        }
    }

    /// One request line (and a body, then the end of writing) on a node's admin socket (the
    /// test runs as root, like the admin).
    func request(_ node: Int, _ line: String, body: String? = nil) throws -> String {
        let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socket(node).utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect \(socket(node)): \(String(cString: strerror(errno)))") }
        let bytes = Array((line + "\n" + (body ?? "")).utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if body != nil { shutdown(fd, Int32(SHUT_WR)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// Waits until every node of `nodes` is settled on the same DC, a member of exactly these
    /// nodes' group, with the given quorum; returns that DC.
    func waitForOneDC(on nodes: [Int], quorate: Bool) async throws -> Member {
        var agreed: Member?
        var last: [Int: String] = [:]
        let expected = Set(nodes.map { NodeID(UInt32($0)) })
        do {
            try await waitUntil("one DC on nodes \(nodes), quorate \(quorate)") {
                var dcs: Set<Member> = []
                for node in nodes {
                    guard let status = try? await status(node) else {
                        last[node] = "no answer"
                        return false
                    }
                    last[node] = "settled \(status.settled) dc \(status.dc.map(\.description) ?? "none") members \(status.members) quorate \(status.quorate)"
                    guard status.settled, let dc = status.dc, Set(status.members.map(\.nodeID)) == expected,
                          status.members.count == nodes.count, status.quorate == quorate else { return false }
                    dcs.insert(dc)
                }
                guard dcs.count == 1, let dc = dcs.first, expected.contains(dc.nodeID) else { return false }
                agreed = dc
                return true
            }
        } catch {
            throw TestFailure("\(error); last seen: \(last.sorted { $0.key < $1.key }.map { "node\($0.key): \($0.value)" }.joined(separator: "; "))")
        }
        guard let agreed else { throw TestFailure("no DC") }
        return agreed
    }
}
