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
            #expect(text.output.contains("Cluster Summary:\n  * Stack: corosync\n  * Current DC: node1 (baton-crmd) - partition with quorum\n"))
            #expect(text.output.contains("Node List:\n  * Online: [ node1 node2 ]\n  * OFFLINE: [ node3 ]\n"), "\(text.output)")
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

    /// Starts baton-crmd on each node (not waiting: the status polls do).
    func launch(_ nodes: [Int]) throws {
        for node in nodes {
            let logPath = "\(testbed.directory)/node\(node)/crmd.log"
            let output = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw TestFailure("cannot open \(logPath)") }
            defer { close(output) }
            let child = try Child.spawn([Paths.testbed, "-d", testbed.directory, "exec", String(node), BuildPaths.product("baton-crmd"),
                                         "--socket", socket(node), "--dc-deadtime", String(dcDeadtimeSeconds)]
                                            + (noQuorumPolicy == nil ? [] : ["--cib", cibPath]),
                                        stdout: output, stderr: output)
            daemons.withLock { $0[node] = child }
        }
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

    func killDaemon(_ node: Int) {
        guard let child = daemons.withLock({ $0.removeValue(forKey: node) }) else { return }
        child.killAndReap()
    }

    func stopAll() async {
        for node in daemons.withLock({ Array($0.keys) }).sorted() { await stopDaemon(node) }
    }

    /// `baton crm status --output json` on a node, decoded.
    func status(_ node: Int) async throws -> NodeStatus {
        let result = try await run([Paths.baton, "crm", "status", "--output", "json", "--socket", socket(node)])
        guard result.status == 0 else { throw TestFailure("baton crm status on node\(node) exited \(result.status): \(result.output)") }
        do {
            return try JSONDecoder().decode(NodeStatus.self, from: Data(result.output.utf8))
        } catch {
            throw TestFailure("baton crm status on node\(node): \(error): \(result.output)")
        }
    }

    /// One request line on a node's admin socket (the test runs as root, like the admin).
    func request(_ node: Int, _ line: String) throws -> String {
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
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
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
