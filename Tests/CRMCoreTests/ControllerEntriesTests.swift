@testable import CRMCore
import CIB
import Foundation
import Testing

/// What the DC writes as Pacemaker's controller does, and the cluster options every node reads
/// back from crm_config after each CIB change.
@Suite struct ControllerEntriesTests {
    let nodelist = (1...3).map { ConfiguredNode(nodeID: NodeID(UInt32($0)), name: "node\($0)") }

    @Test func anEmptyCIBGetsTheNodesAndTheBootstrapOptionsOnceOnly() throws {
        var replica = CIBReplica.empty
        let writes = ControllerEntries.writes(for: replica.document, nodelist: nodelist, clusterName: "site-a")
        #expect(writes.count == 2)
        for operation in writes {
            let (next, _) = try #require(try replica.execute(operation, withDigest: false))
            replica = next
        }
        #expect(ControllerEntries.writes(for: replica.document, nodelist: nodelist, clusterName: "site-a").isEmpty)
        let cib = try CIB(xml: replica.document)
        #expect(cib.configuration.nodes.map(\.uname) == ["node1", "node2", "node3"])
        #expect(cib.configuration.nodes.map(\.id) == ["1", "2", "3"])
        #expect(cib.configuration.clusterProperty("dc-version") == ControllerEntries.dcVersion)
        #expect(cib.configuration.clusterProperty("cluster-infrastructure") == "corosync")
        #expect(cib.configuration.clusterProperty("cluster-name") == "site-a")
        #expect(replica.version == CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0))
        // A renamed node and an admin's own value of an owned option are corrected; other
        // options and nodes stay.
        var document = replica.document
        let text = XMLCodec.serialize(document).replacingOccurrences(of: "uname=\"node2\"", with: "uname=\"old\"")
            .replacingOccurrences(of: "value=\"corosync\"", with: "value=\"heartbeat\"")
        document = try XMLCodec.parse(text)
        let fixes = ControllerEntries.writes(for: document, nodelist: nodelist, clusterName: "site-a")
        #expect(fixes.count == 2)
    }

    /// Found in the lab: a DC started from a seed CIB without crm_feature_set left it out, and
    /// the stock crm_mon -f read its status as a pre-3.0 CIB's (no "fail-count-w1#monitor_2000"
    /// counted: an empty Migration Summary). The first configuration change stamps the DC's
    /// feature set; the patchset carries it to the other replicas; a set one stays.
    @Test func aSeedWithoutAFeatureSetGetsTheDCsWithItsFirstConfigurationChange() throws {
        let seed = try CIBReplica(document: try XMLCodec.parse(
            #"<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>"#))
        #expect(seed.document["crm_feature_set"] == nil)
        let writes = ControllerEntries.writes(for: seed.document, nodelist: nodelist, clusterName: "site-a")
        let (next, patch) = try #require(try seed.execute(writes[0], withDigest: true))
        #expect(next.document["crm_feature_set"] == CIBReplica.featureSet)
        var other = seed
        try other.apply(patch, bytes: 0)
        #expect(other.document == next.document, "the patchset carries the feature set")
        let older = try CIBReplica(document: try XMLCodec.parse(
            #"<cib crm_feature_set="3.0.14" epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/></cib>"#))
        let (kept, _) = try #require(try older.execute(writes[0], withDigest: false))
        #expect(kept.document["crm_feature_set"] == "3.0.14", "a CIB's own feature set is not rewritten")
    }

    /// Three members whose DC writes its entries, their first view delivered (its messages not yet).
    static func joiningWithEntries() -> (Harness, [Member]) {
        var bed = Harness(nodes: 3)
        let members = (1...3).map { Harness.member($0) }
        for member in members {
            bed.cores[member] = NodeCore(settings: .init(local: member, nodelist: bed.nodelist, dcDeadtime: bed.dcDeadtime,
                                                         clusterName: "site-a", writesControllerEntries: true))
        }
        bed.partitions = [[]]
        bed.queues = [[]]
        bed.changeView(0, members: members, joined: members, left: [])
        return (bed, members)
    }

    @Test func theDCWritesItsEntriesWhenItSettles() {
        var (bed, members) = Self.joiningWithEntries()
        bed.deliverAll()
        for member in members {
            let document = bed.core(member).cib.document
            #expect(ControllerEntries.clusterOption("dc-version", in: document) == ControllerEntries.dcVersion, "\(member)")
            #expect(ControllerEntries.writes(for: document, nodelist: bed.nodelist, clusterName: "site-a").isEmpty)
        }
        #expect(bed.sameCIB(members))
    }

    /// The DC's entries are ordered as it settles and acknowledged a few messages later: in
    /// between it says so (`ownWritesUnacknowledged`: a graph made then would be aborted by
    /// their commit, OwnWritesSettle), and no longer once they committed.
    @Test func theDCKnowsItsEntriesAreUnacknowledgedUntilTheyCommit() {
        var (bed, members) = Self.joiningWithEntries()
        var seenPending = false, committedWhilePending = 0
        while bed.deliverNext() {
            guard let dc = bed.agreedDC(), bed.core(dc).isDC else { continue }
            if bed.core(dc).ownWritesUnacknowledged {
                seenPending = true
                committedWhilePending = bed.committed[dc]?.count ?? 0
            } else if seenPending {
                #expect((bed.committed[dc]?.count ?? 0) > committedWhilePending, "no longer pending only by a commit")
            }
            #expect(members.allSatisfy { $0 == dc || !bed.core($0).ownWritesUnacknowledged }, "only the DC orders")
        }
        let dc = try! #require(bed.agreedDC())
        #expect(seenPending, "the DC's entries were ordered before they were acknowledged")
        #expect(!bed.core(dc).ownWritesUnacknowledged)
        #expect(ControllerEntries.clusterOption("dc-version", in: bed.core(dc).cib.document) == ControllerEntries.dcVersion)
    }

    /// Before: no-quorum-policy came from the CIB at start and `attribute cluster` only; a CIB
    /// write that set it left every node with the old policy.
    @Test func noQuorumPolicyFollowsTheCIBAfterEveryWrite() throws {
        var bed = Harness(nodes: 3)
        let members = (1...3).map { Harness.member($0) }
        bed.start(members)
        bed.deliverAll()
        #expect(bed.core(members[0]).noQuorumPolicy == "stop")
        let crmConfig = "<crm_config><cluster_property_set id='cib-bootstrap-options'>"
            + "<nvpair id='nqp' name='no-quorum-policy' value='freeze'/></cluster_property_set></crm_config>"
        try bed.request(members[2]) { try $0.requestCIB(.replace(scope: "crm_config", xml: crmConfig)).directives }
        bed.deliverAll()
        for member in members { #expect(bed.core(member).noQuorumPolicy == "freeze", "\(member)") }
    }
}
