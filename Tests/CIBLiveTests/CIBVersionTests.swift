import Testing
@testable import CIB

/// Pacemaker's version rules (CRM-LIVE.md §1.2): which change bumps which field, the order,
/// and the best CIB at join.
@Suite struct CIBVersionTests {
    @Test func bumpsFollowPacemakersRules() {
        let version = CIBVersion(adminEpoch: 2, epoch: 7, numUpdates: 5)
        #expect(version.bumped(by: .configuration) == CIBVersion(adminEpoch: 2, epoch: 8, numUpdates: 0))
        #expect(version.bumped(by: .status) == CIBVersion(adminEpoch: 2, epoch: 7, numUpdates: 6))
        #expect(version.bumped(by: .admin) == CIBVersion(adminEpoch: 3, epoch: 7, numUpdates: 5))
    }

    @Test func comparesAdminEpochThenEpochThenNumUpdates() {
        #expect(CIBVersion(adminEpoch: 1, epoch: 0, numUpdates: 0) > CIBVersion(adminEpoch: 0, epoch: 99, numUpdates: 99))
        #expect(CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0) > CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 99))
        #expect(CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 3) > CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 2))
        #expect(CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 3).description == "0.1.3")
    }

    @Test func theBestCIBIsTheHighestAndTheFirstAmongEquals() {
        let candidates: [(String, CIBVersion)] = [
            ("a", CIBVersion(adminEpoch: 0, epoch: 5, numUpdates: 9)),
            ("b", CIBVersion(adminEpoch: 0, epoch: 6, numUpdates: 0)),
            ("c", CIBVersion(adminEpoch: 0, epoch: 6, numUpdates: 0)),
        ]
        #expect(CIBVersion.best(candidates)?.0 == "b")
        #expect(CIBVersion.best([(String, CIBVersion)]()) == nil)
    }

    @Test func readsAndWritesTheCIBElement() throws {
        var root = try XMLCodec.parse(#"<cib epoch="4" num_updates="2" admin_epoch="1" crm_feature_set="3.16.2"><configuration/></cib>"#)
        let version = try CIBVersion(of: root)
        #expect(version == CIBVersion(adminEpoch: 1, epoch: 4, numUpdates: 2))
        version.bumped(by: .configuration).write(to: &root)
        #expect(root["epoch"] == "5" && root["num_updates"] == "0" && root["admin_epoch"] == "1")
        #expect(root.attributes.map(\.name) == ["epoch", "num_updates", "admin_epoch", "crm_feature_set"], "kept in place")
        #expect(try CIBVersion(of: XMLElement(name: "cib")) == CIBVersion())
        #expect(throws: CIBError.self) { try CIBVersion(of: XMLElement(name: "cib", attributes: [.init(name: "epoch", value: "x")])) }
    }
}
