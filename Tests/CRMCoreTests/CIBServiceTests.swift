@testable import CRMCore
import CIB
import Testing

/// The CIB service in the node core, under the pure CPG stand-in: writes through the DC as
/// v2 patchsets with Pacemaker's version rules, refusals back to the admin, the best CIB at
/// join, repairs by full sync, chunked syncs, and writes without quorum.
@Suite struct CIBServiceTests {
    let n1 = Harness.member(1), n2 = Harness.member(2), n3 = Harness.member(3)

    static func resources(_ ids: [String]) -> String {
        "<resources>" + ids.map { "<primitive id='\($0)' class='ocf' provider='pacemaker' type='Dummy'/>" }.joined() + "</resources>"
    }

    static func replica(epoch: Int, resources ids: [String], adminEpoch: Int = 0) throws -> CIBReplica {
        let text = """
            <cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="\(epoch)" num_updates="0" admin_epoch="\(adminEpoch)">\
            <configuration><crm_config/><nodes/>\(resources(ids))<constraints/></configuration><status/></cib>
            """
        return try CIBReplica(document: try XMLCodec.parse(text))
    }

    func settled(_ count: Int = 3) -> Harness {
        var bed = Harness(nodes: count)
        bed.start((1...count).map { Harness.member($0) })
        bed.deliverAll()
        return bed
    }

    @Test func aConfigurationWriteBumpsEpochAndAStatusOnlyWriteNumUpdates() throws {
        var bed = settled()
        try bed.request(n3) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a"]))).directives }
        bed.deliverAll()
        #expect(bed.core(n1).cib.version == CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 0))
        // A root attribute only (validate-with): num_updates + 1, epoch kept.
        var before = try Self.replica(epoch: 1, resources: ["a"])
        #expect(try before.execute(.upgrade, withDigest: true) == nil, "already the newest schema: no change")
        var old = before.document
        old["validate-with"] = "pacemaker-3.0"
        before = try CIBReplica(document: old)
        let raised = try #require(try before.execute(.upgrade, withDigest: true))
        #expect(raised.replica.version == CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 1))
        #expect(raised.patch.changesConfiguration == false)
        // A second configuration write on another node: epoch 2, the same CIB and digest everywhere.
        try bed.request(n2) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a", "b"]))).directives }
        bed.deliverAll()
        #expect(bed.sameCIB([n1, n2, n3]))
        var digests = Set<String>()
        for member in [n1, n2, n3] {
            var core = bed.core(member)
            #expect(core.cib.version == CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0))
            digests.insert(core.cib.digest())
            #expect(bed.committed[member] == [CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 0), CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0)])
        }
        #expect(digests.count == 1)
        #expect(digests.first == CIBDigest.compute(bed.core(n1).cib.document))
    }

    /// Pacemaker's CIB manager writes cib-last-written and update-origin/-client/-user on
    /// <cib> at every configuration change (cib_perform_op); crm_mon prints them as "Last
    /// change". Before the stamp, no node's CIB had them after a write.
    @Test func aConfigurationWriteCarriesWhoWroteItAndWhenToEveryNode() throws {
        var bed = settled()
        let stamp = CIBWriteStamp(time: "Sun Dec  6 10:00:00 2026", client: "cibadmin", user: "root")
        try bed.request(n3) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a"])), stamp: stamp).directives }
        bed.deliverAll()
        #expect(bed.sameCIB([n1, n2, n3]))
        for member in [n1, n2, n3] {
            let root = bed.core(member).cib.document
            #expect(root["cib-last-written"] == "Sun Dec  6 10:00:00 2026")
            #expect(root["update-origin"] == "node3", "the asking node's name, not the DC's")
            #expect(root["update-client"] == "cibadmin")
            #expect(root["update-user"] == "root")
        }
        // The digest leaves them out, as Pacemaker's does: the same CIB without them digests the same.
        var bare = bed.core(n1).cib.document
        for name in ["cib-last-written", "update-origin", "update-client", "update-user"] { bare[name] = nil }
        #expect(CIBDigest.compute(bare) == CIBDigest.compute(bed.core(n1).cib.document))
        // A change outside the configuration keeps the last configuration change's stamp.
        var old = bed.core(n1).cib.document
        old["validate-with"] = "pacemaker-3.0"
        let before = try CIBReplica(document: old)
        let later = CIBWriteStamp(time: "Mon Dec  7 10:00:00 2026", client: "cibadmin", user: "root")
        let raised = try #require(try before.execute(.upgrade, withDigest: false, stamp: later, origin: "node2"))
        #expect(raised.replica.document["cib-last-written"] == "Mon Dec  7 10:00:00 2026")
        var counted = old
        counted["num_updates"] = "5"
        let status = try #require(try before.execute(.replace(scope: nil, xml: XMLCodec.serialize(counted)), withDigest: false, stamp: later, origin: "node2"))
        #expect(status.replica.document["cib-last-written"] == "Sun Dec  6 10:00:00 2026")
        // The stamp travels in the request's payload and decodes back; a nested one is refused.
        let payload = CIBOperation.upgrade.encoded(stamp: stamp)
        let decoded = try CIBOperation.decodeRequest(payload)
        #expect(decoded.operation == .upgrade && decoded.stamp == stamp)
        #expect(try CIBOperation.decodeRequest(CIBOperation.upgrade.encoded()).stamp == nil)
        let header = payload.dropLast(CIBOperation.upgrade.encoded().count)
        #expect(throws: CIBRequestError.self) { try CIBOperation.decodeRequest(Array(header) + payload) }
    }

    @Test func theDCsBroadcastIsAV2PatchsetWithVersionsAndDigest() throws {
        var bed = settled()
        try bed.request(n2) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a"]))).directives }
        bed.deliverAll()
        let write = try #require(bed.applied[n3]?.first)
        let patch = try Patchset(parsing: String(decoding: write.payload, as: UTF8.self))
        #expect(patch.versions == .init(source: CIBVersion(), target: CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 0)))
        #expect(patch.digest == CIBDigest.compute(bed.core(n3).cib.document))
        #expect(patch.changes.contains { $0.path == "/cib/configuration/resources" && $0.operation == "create" })
    }

    @Test func aWriteIsAcknowledgedOnlyWhenTheDCsBroadcastIsDelivered() throws {
        var bed = settled()
        var id: UInt64 = 0
        try bed.request(n3) {
            let (requestID, directives) = try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a"])))
            id = requestID
            return directives
        }
        // The request is delivered (the DC ordered it) but not yet its broadcast: no ack.
        let request = bed.queues[0].removeFirst()
        for member in [n1, n2, n3] { bed.deliver(request.bytes, from: request.sender, to: member) }
        #expect(bed.applied[n3] == nil)
        #expect(bed.core(n3).pendingCIBRequestIDs == [id])
        bed.deliverAll()
        #expect(bed.applied[n3]?.map(\.requestID) == [id])
        #expect(bed.core(n3).pendingCIBRequestIDs.isEmpty)
    }

    @Test func aBadWriteIsRefusedToItsOriginAndChangesNothing() throws {
        var bed = settled()
        try bed.request(n2) { try $0.requestCIB(.replace(scope: "resources", xml: "<resources><primitive")).directives }
        try bed.request(n3) { try $0.requestCIB(.replace(scope: "status", xml: "<status/>")).directives }
        let stalePatch = """
            <diff format="2"><version><source admin_epoch="0" epoch="7" num_updates="0"/><target admin_epoch="0" epoch="8" num_updates="0"/></version>\
            <change operation="delete" path="/cib/configuration/resources"/></diff>
            """
        try bed.request(n3) { try $0.requestCIB(.patch(stalePatch)).directives }
        try bed.request(n1) { try $0.requestCIBWrite(Array("opaque".utf8)).directives }
        bed.deliverAll()
        #expect(bed.refused[n2]?.count == 1 && bed.refused[n2]?.first?.1.contains("the XML") == true, "\(bed.refused)")
        #expect(bed.refused[n3]?.count == 2)
        #expect(bed.refused[n3]?.last?.1.contains("does not apply") == true, "\(String(describing: bed.refused[n3]))")
        #expect(bed.refused[n1]?.count == 1)
        for member in [n1, n2, n3] {
            #expect(bed.core(member).cib.version == CIBVersion())
            #expect(bed.core(member).pendingWrites == 0)
            #expect(bed.applied[member] == nil)
        }
    }

    @Test func anAdminPatchWithVersionsAppliesAndMovesTheVersion() throws {
        var bed = settled()
        try bed.request(n1) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a"]))).directives }
        bed.deliverAll()
        // What an admin does: query, edit, crm_diff, cibadmin --patch.
        let queried = try bed.core(n2).cibQuery()
        var edited = queried
        edited.children = edited.children.map { child in
            guard child.name == "configuration" else { return child }
            var configuration = child
            configuration.children = configuration.children.map { $0.name == "resources" ? (try? XMLCodec.parse(Self.resources(["a", "z"]))) ?? $0 : $0 }
            return configuration
        }
        edited["epoch"] = "2"
        let patch = try #require(try Patchset.make(from: queried, to: edited))
        try bed.request(n2) { try $0.requestCIB(.patch(patch.text())).directives }
        bed.deliverAll()
        #expect(bed.refused[n2] == nil, "\(String(describing: bed.refused[n2]))")
        #expect(bed.core(n3).cib.version == CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0))
        #expect(try bed.core(n3).cibQuery(scope: "resources").children.map { $0["id"] } == ["a", "z"])
        #expect(bed.sameCIB([n1, n2, n3]))
    }

    @Test func theBestCIBWinsAtJoinAndOnlyMembersThatDifferTakeIt() throws {
        var bed = Harness(nodes: 3)
        let newest = try Self.replica(epoch: 5, resources: ["a", "b"])
        bed.start([n1], cib: try Self.replica(epoch: 3, resources: ["a"]))
        bed.start([n2], cib: newest)
        bed.start([n3], cib: newest)
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        #expect(bed.sameCIB([n1, n2, n3]))
        #expect(bed.core(n1).cib.version == newest.version)
        #expect(bed.core(n1).cibSyncsTaken == 1)
        #expect(bed.core(n2).cibSyncsTaken == 0 && bed.core(n3).cibSyncsTaken == 0)
        // admin_epoch outranks epoch: a node with admin_epoch 1 brings its CIB to all.
        let admin = try Self.replica(epoch: 1, resources: ["x"], adminEpoch: 1)
        bed.stop(n3)
        bed.start([Harness.member(3, pid: 200)], cib: admin)
        bed.deliverAll()
        let members = [n1, n2, Harness.member(3, pid: 200)]
        #expect(bed.sameCIB(members))
        #expect(bed.core(n2).cib.version == admin.version)
        // Equal versions, different content (a node whose CIB was made by hand): the DC's wins.
        bed.stop(n2)
        let other = try CIBReplica(document: try XMLCodec.parse(
            "<cib epoch='1' num_updates='0' admin_epoch='1'><configuration><crm_config/><nodes/>\(Self.resources(["y"]))<constraints/></configuration></cib>"))
        bed.start([Harness.member(2, pid: 300)], cib: other)
        bed.deliverAll()
        #expect(bed.sameCIB([n1, Harness.member(2, pid: 300), Harness.member(3, pid: 200)]))
        #expect(try bed.core(Harness.member(2, pid: 300)).cibQuery(scope: "resources").children.map { $0["id"] } == ["x"])
    }

    @Test func writesWaitingAtTheDCDuringTheRoundsSyncAreOrderedAfterIt() throws {
        var bed = Harness(nodes: 2)
        bed.start([n1], cib: try Self.replica(epoch: 1, resources: []))
        bed.fire(.dcDeadtime, on: n1)
        bed.start([n2], cib: try Self.replica(epoch: 9, resources: ["old"]))
        // The DC's own write goes out as it settles, before the holder's sync: the DC holds
        // it until it has the best CIB, then orders it on that one.
        try bed.request(n1) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["old", "new"]))).directives }
        bed.deliverAll()
        #expect(bed.sameCIB([n1, n2]))
        #expect(bed.core(n1).cibSyncsTaken == 1)
        #expect(bed.core(n1).cib.version == CIBVersion(adminEpoch: 0, epoch: 10, numUpdates: 0))
        #expect(try bed.core(n2).cibQuery(scope: "resources").children.map { $0["id"] } == ["old", "new"])
        #expect(bed.applied[n1]?.count == 1)
        let order = bed.sent[n1, default: []].compactMap { message -> String? in
            switch message {
            case .cibWriteRequest: "request"
            case .cibWriteApplied: "ordered"
            default: nil
            }
        }
        #expect(order == ["request", "ordered"])
    }

    @Test func aRoundsSyncCutByItsHolderLeavingIsSentByTheNextBest() throws {
        var bed = Harness(nodes: 3)
        bed.start([n1], cib: try Self.replica(epoch: 1, resources: []))
        bed.fire(.dcDeadtime, on: n1)
        let newest = try Self.replica(epoch: 9, resources: ["kept"])
        bed.start([n2, n3], cib: newest)
        // The round ends when the last announce is delivered; n2 (the best, lowest of the
        // two) sends its sync, which is lost with n2 (killed before its messages went out).
        while !bed.core(n1).settled || bed.core(n1).view?.members.count != 3 {
            let (sender, bytes) = bed.queues[0].removeFirst()
            for member in bed.partitions[0] { bed.deliver(bytes, from: sender, to: member) }
        }
        #expect(bed.core(n1).awaitingSyncFrom == n2)
        bed.queues[0].removeAll { $0.sender == n2 }
        try bed.request(n1) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["kept", "added"]))).directives }
        bed.stop(n2)
        bed.deliverAll()
        #expect(bed.agreedDC() == n1)
        #expect(bed.sameCIB([n1, n3]))
        #expect(try bed.core(n1).cibQuery(scope: "resources").children.map { $0["id"] } == ["kept", "added"])
        #expect(bed.core(n3).cib.version == CIBVersion(adminEpoch: 0, epoch: 10, numUpdates: 0))
    }

    @Test func aMemberThatCannotApplyAPatchsetIsRepairedByAFullSync() throws {
        var bed = settled()
        try bed.request(n1) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a"]))).directives }
        bed.deliverAll()
        // n3's copy goes wrong behind the core's back (a bit flip, a bug): the next patchset's
        // digest (or version) does not match there.
        var broken = bed.core(n3)
        broken.cib = try Self.replica(epoch: 1, resources: ["zzz"])
        bed.cores[n3] = broken
        try bed.request(n2) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a", "b"]))).directives }
        try bed.request(n2) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["a", "b", "c"]))).directives }
        bed.deliverAll()
        #expect(bed.core(n3).lastCIBError?.contains("digest") == true, "\(String(describing: bed.core(n3).lastCIBError))")
        #expect(bed.core(n3).cibSyncsTaken == 1)
        #expect(bed.sameCIB([n1, n2, n3]))
        #expect(bed.core(n3).cib.version == CIBVersion(adminEpoch: 0, epoch: 3, numUpdates: 0))
        #expect(bed.sent[n3]?.contains { if case .cibSyncRequest = $0 { true } else { false } } == true)
    }

    @Test func aCIBLargerThanOneMessageIsSyncedInChunks() throws {
        var bed = Harness(nodes: 2)
        let ids = (0..<25_000).map { "resource-with-a-long-name-\($0)" }
        let large = try Self.replica(epoch: 4, resources: ids)
        #expect(large.approximateBytes > 2 * MessageWire.messageBytesMax)
        bed.start([n1], cib: large)
        bed.fire(.dcDeadtime, on: n1)
        bed.start([n2])
        bed.deliverAll()
        let chunks = bed.sent[n1, default: []].filter { if case .cibSync = $0 { true } else { false } }
        #expect(chunks.count >= 3)
        for case .cibSync(let sync) in chunks { #expect(MessageWire.encodedIfFits(.cibSync(sync)) != nil) }
        #expect(bed.sameCIB([n1, n2]))
        #expect(bed.core(n2).cib.version == large.version)
        // A write on a large CIB carries no digest (point 4), except every digestInterval-th.
        try bed.request(n2) { try $0.requestCIB(.replace(scope: "crm_config", xml: "<crm_config><cluster_property_set id='o'/></crm_config>")).directives }
        bed.deliverAll()
        let write = try #require(bed.applied[n2]?.last)
        #expect(try Patchset(parsing: String(decoding: write.payload, as: UTF8.self)).digest == nil)
        #expect(bed.sameCIB([n1, n2]))
    }

    /// Pacemaker 2.1.5's CIB manager takes writes without quorum (cibadmin's -f only sets a
    /// flag pacemaker-based never reads) and drops the losing side's at a heal, acknowledged or
    /// not. Here a DC without quorum holds the write, its origin keeps it pending, and it is
    /// made after the heal on the cluster's CIB: nothing acknowledged is lost, nothing is lost.
    @Test func writesWithoutQuorumWaitForItAndAreMadeAfterTheHeal() throws {
        var bed = settled()
        bed.partition([[n1, n2], [n3]])
        for member in [n1, n2, n3] {
            var core = bed.core(member)
            _ = core.handle(.quorum(quorate: member != n3))
            bed.cores[member] = core
        }
        try bed.request(n3) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(["minority"]))).directives }
        bed.deliverAll()
        #expect(bed.applied[n3] == nil, "a DC without quorum ordered a write")
        #expect(bed.core(n3).pendingWrites == 1)
        for ids in [["m1"], ["m1", "m2"]] {
            try bed.request(n2) { try $0.requestCIB(.replace(scope: "resources", xml: Self.resources(ids))).directives }
            bed.deliverAll()
        }
        bed.heal()
        bed.deliverAll()
        #expect(bed.sameCIB([n1, n2, n3]))
        #expect(bed.core(n3).pendingWrites == 0, "the minority's write was made after the heal")
        #expect(try bed.core(n1).cibQuery(scope: "resources").children.map { $0["id"] } == ["minority"])
    }

    @Test func queryRendersTheStatusSectionFromMembersAndAttributes() throws {
        var bed = settled()
        try bed.request(n2) { try $0.requestAttribute(.node(NodeID(2)), name: "master-db", value: "10") }
        bed.deliverAll()
        bed.stop(n3)
        let status = try bed.core(n1).cibQuery(scope: "status")
        #expect(status.children.map { $0["uname"] } == ["node1", "node2", "node3"])
        #expect(status.children.map { $0["crmd"] } == ["online", "online", "offline"])
        #expect(status.children[1].children.first?.children.first?.children.first?["name"] == "master-db")
        let whole = try bed.core(n2).cibQuery()
        #expect(whole["dc-uuid"] == "1")
        #expect(CIBStoreLikeStrip.configurationOnly(whole) == CIBStoreLikeStrip.configurationOnly(bed.core(n3 == n3 ? n1 : n1).cib.document))
        #expect(throws: CIBRequestError.self) { try bed.core(n1).cibQuery(scope: "nonsense") }
    }
}

/// The document without its status and the attributes the query adds.
enum CIBStoreLikeStrip {
    static func configurationOnly(_ root: XMLElement) -> XMLElement {
        var document = root
        document.children.removeAll { $0.name == "status" }
        document["dc-uuid"] = nil
        document["have-quorum"] = nil
        return document
    }
}
