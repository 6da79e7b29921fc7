import CIB
import Testing
@testable import Scheduler

/// Unfencing, shutdown locks and definition checks, each on a CIB small enough to show which
/// rule decided.
@Suite struct UnfencingTests {
    /// `Fixture.cib` with fencing on by default.
    static func cib(stonith: Bool = true, properties: String = "", resources: String, node1Attributes: String = "",
                    node2Attributes: String = "", node1History: String = "", node2History: String = "") -> String {
        Fixture.cib(stonith: stonith, properties: properties, resources: resources, node1History: node1History,
                    node2History: node2History, node1Attributes: node1Attributes, node2Attributes: node2Attributes)
    }

    static let device = """
        <primitive id="scsi" class="stonith" type="fence_scsi">
          <meta_attributes id="scsi-meta"><nvpair id="scsi-provides" name="provides" value="unfencing"/></meta_attributes>
        </primitive>
        """

    static func operation(_ id: String, _ task: String, callID: Int, rc: Int = 0, expected: Int = 0,
                          extra: String = "") -> String {
        "<lrm_rsc_op id=\"\(id)_\(task)\" operation=\"\(task)\" interval=\"0\" call-id=\"\(callID)\" rc-code=\"\(rc)\" op-status=\"\(callID < 0 ? -1 : 0)\" transition-key=\"0:0:\(expected):x\" crm_feature_set=\"3.0.7\" \(extra)/>"
    }

    static func entry(_ id: String, type: String = "Dummy", `class`: String = "ocf", _ operations: String) -> String {
        let provider = `class` == "ocf" ? " provider=\"pacemaker\"" : ""
        return "<lrm_resource id=\"\(id)\" class=\"\(`class`)\"\(provider) type=\"\(type)\">\(operations)</lrm_resource>"
    }

    static let unfenced = "<nvpair id=\"u\" name=\"#node-unfenced\" value=\"1234\"/>"

    @Test func nodesNeverUnfencedAreUnfencedBeforeTheDeviceIsProbed() throws {
        // node1 was unfenced; node2 never was: probing the device there needs unfencing first.
        let text = Self.cib(resources: Self.device, node1Attributes: Self.unfenced)
        let summary = try Fixture.summary(text)
        #expect(summary == ["* Fence (on) node2 'required by scsi monitor'", "* Start scsi ( node1 )"])
    }

    @Test func aChangedDeviceDefinitionUnfencesAgainAndRestartsWhatRequiresUnfencing() throws {
        // The device ran as another agent on node1: node1 is unfenced again, and the resource
        // that requires unfencing there (by default, once a device provides it) restarts after it.
        let sticky = """
            <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
              <meta_attributes id="a-m"><nvpair id="a-m1" name="resource-stickiness" value="100"/></meta_attributes>
            </primitive>
            """
        let text = Self.cib(resources: Self.device + sticky,
                            node1Attributes: Self.unfenced, node2Attributes: Self.unfenced,
                            node1History: Self.entry("scsi", type: "fence_virt", class: "stonith", Self.operation("scsi", "start", callID: 3))
                                + Self.entry("a", Self.operation("a", "start", callID: 4)),
                            node2History: Self.entry("scsi", type: "fence_scsi", class: "stonith", Self.operation("scsi", "monitor", callID: 2, rc: 7, expected: 7))
                                + Self.entry("a", Self.operation("a", "monitor", callID: 2, rc: 7, expected: 7)))
        let summary = try Fixture.summary(text)
        #expect(summary == ["* Fence (on) node1 'Device definition changed'", "* Restart scsi ( node1 )",
                            "* Restart a ( node1 ) due to required stonith"])
    }

    @Test func anOperationThatFoundItStoppedAsExpectedLeavesItStopped() throws {
        // A "start" recorded with rc 7 where 7 was expected: not running there.
        let text = Self.cib(resources: Fixture.dummy("a"),
                            node1History: Self.entry("a", Self.operation("a", "start", callID: 5, rc: 0)),
                            node2History: Self.entry("a", Self.operation("a", "start", callID: 6, rc: 7, expected: 7)))
        #expect(try Fixture.summary(text) == [])
    }

    @Test func aReloadDueWhileTheStartIsPendingRestartsWithoutAReason() throws {
        // Only reloadable parameters changed (the restart digest matches), but the start has
        // not completed: restart instead of reloading.
        let resource = """
            <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
              <instance_attributes id="a-p"><nvpair id="a-p1" name="fake" value="new"/></instance_attributes>
            </primitive>
            """
        let digests = "op-digest=\"00000000000000000000000000000000\" op-force-restart=\" state \" op-restart-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\""
        let pending = Self.cib(resources: resource, node1History: Self.entry("a", Self.operation("a", "start", callID: -1, extra: digests)))
        #expect(try Fixture.summary(pending) == ["* Restart a ( node1 )"])
        let done = Self.cib(resources: resource, node1History: Self.entry("a", Self.operation("a", "start", callID: 3, extra: digests)))
        #expect(try Fixture.summary(done) == ["* Reload a ( node1 )"])
    }

    @Test func shutdownLockKeepsAResourceWithItsNode() throws {
        let shuttingDown = "<nvpair id=\"sd\" name=\"shutdown\" value=\"1000\"/>"
        let history = Self.entry("a", Self.operation("a", "start", callID: 3))
        let locked = Self.cib(stonith: false, properties: "<nvpair id=\"o-lock\" name=\"shutdown-lock\" value=\"true\"/>",
                              resources: Fixture.dummy("a"), node1Attributes: shuttingDown, node1History: history)
        #expect(try Fixture.summary(locked) == ["* Stop a ( node1 ) due to node availability"])
        let unlocked = Self.cib(stonith: false, resources: Fixture.dummy("a"), node1Attributes: shuttingDown, node1History: history)
        #expect(try Fixture.summary(unlocked) == ["* Move a ( node1 -> node2 )"])
    }
}

/// Live-migration records read across nodes.
@Suite struct MigrationHistoryTests {
    static func migration(_ task: String, callID: Int, rc: Int = 0) -> String {
        "<lrm_rsc_op id=\"vm_\(task)_0\" operation=\"\(task)\" interval=\"0\" call-id=\"\(callID)\" rc-code=\"\(rc)\" op-status=\"0\" transition-key=\"0:0:0:x\" migrate_source=\"node1\" migrate_target=\"node2\"/>"
    }

    static func cib(node1: String, node2: String) -> String {
        let vm = """
            <primitive id="vm" class="ocf" provider="pacemaker" type="Dummy">
              <meta_attributes id="vm-m"><nvpair id="vm-m1" name="allow-migrate" value="true"/></meta_attributes>
            </primitive>
            """
        return UnfencingTests.cib(stonith: false, resources: vm,
                                  node1History: UnfencingTests.entry("vm", node1), node2History: UnfencingTests.entry("vm", node2))
    }

    @Test func aCompletedMigrationWithoutTheSourceStopLeavesItOnTheTarget() throws {
        let text = Self.cib(node1: UnfencingTests.operation("vm", "start", callID: 2) + Self.migration("migrate_to", callID: 3),
                            node2: Self.migration("migrate_from", callID: 4))
        #expect(try Fixture.summary(text) == [])
    }

    @Test func aFailedMigrateFromLeavesItActiveOnBothNodes() throws {
        // Active on the target (read first, from the source's record) and the source: failed,
        // recovered where it is first found.
        let text = Self.cib(node1: UnfencingTests.operation("vm", "start", callID: 2) + Self.migration("migrate_to", callID: 3),
                            node2: Self.migration("migrate_from", callID: 4, rc: 1))
        let summary = try Fixture.summary(text)
        #expect(summary.count == 1)
        #expect(summary.first?.hasPrefix("* Recover vm ( node2") ?? false)
    }
}

@Suite struct DateRuleTests {
    @Test func datesWithAUTCOffset() throws {
        let workingSet = WorkingSet(cib: try CIB(parsing: UnfencingTests.cib(resources: "")), now: 0, explain: false)
        let utc = try #require(workingSet.parseISODate("2019-09-23 17:30:00"))
        #expect(workingSet.parseISODate("2019-09-23 12:30:00 -05:00") == utc)
        #expect(workingSet.parseISODate("2019-09-23T12:30:00-05:00") == utc)
        #expect(workingSet.parseISODate("2019-09-23 19:30:00 +02:00") == utc)
    }
}

/// Failure handling and colocation blocking rules added with the unfencing work.
@Suite struct RecoveryRuleTests {
    @Test func aMissingAgentCannotBeIgnored() throws {
        let resource = """
            <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
              <operations><op id="a-mon" name="monitor" interval="10s" on-fail="ignore"/></operations>
            </primitive>
            """
        let history = UnfencingTests.entry("a", UnfencingTests.operation("a", "start", callID: 2)
            + "<lrm_rsc_op id=\"a_monitor_10000\" operation=\"monitor\" interval=\"10000\" call-id=\"3\" rc-code=\"5\" op-status=\"7\" transition-key=\"0:0:0:x\"/>")
        let text = UnfencingTests.cib(stonith: false, resources: resource, node1History: history)
        #expect(try Fixture.summary(text) == ["* Recover a ( node1 -> node2 )"])
    }

    @Test func anUnrunnableStartBlocksWhatIsColocatedWithIt() throws {
        // b must run with a; a waits for c, which is stopped: b cannot start either.
        let resources = Fixture.dummy("a") + Fixture.dummy("b") + """
            <primitive id="c" class="ocf" provider="pacemaker" type="Dummy">
              <meta_attributes id="c-m"><nvpair id="c-m1" name="target-role" value="Stopped"/></meta_attributes>
            </primitive>
            """
        let text = Fixture.cib(resources: resources, constraints: """
            <rsc_colocation id="b-with-a" rsc="b" with-rsc="a" score="INFINITY"/>
            <rsc_order id="c-then-a" first="c" then="a"/>
            """)
        let summary = try Fixture.summary(text)
        #expect(summary.contains("* Start a ( node1 ) due to unrunnable c start (blocked)"))
        #expect(summary.contains("* Start b ( node1 ) due to colocation with a (blocked)"))
    }
}
