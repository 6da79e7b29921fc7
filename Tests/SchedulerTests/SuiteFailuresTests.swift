import CIB
import Testing
@testable import Scheduler

/// Cases cut down from the Pacemaker regression tests that failed (issue 11), each checked
/// against crm_simulate 2.1.5 on the same input; the full tests are on the expected-pass list.
@Suite struct SuiteFailuresTests {
    static func interleavedClone(_ id: String, disabled: Bool = false) -> String {
        let role = disabled ? "<nvpair id=\"\(id)-m2\" name=\"target-role\" value=\"Stopped\"/>" : ""
        return """
        <clone id="\(id)-clone"><meta_attributes id="\(id)-m"><nvpair id="\(id)-m1" name="interleave" value="true"/>\(role)
        </meta_attributes>\(Fixture.dummy(id))</clone>
        """
    }

    /// order-clone: a chain of interleaved clones headed by a disabled one leaves every clone
    /// after it unassigned (no summary line), whatever the order the constraints are listed in.
    @Test func aChainOfInterleavedClonesAfterADisabledOneStaysUnassigned() throws {
        let resources = Self.interleavedClone("a", disabled: true) + Self.interleavedClone("b") + Self.interleavedClone("c")
        let constraints = """
        <rsc_order id="b-then-c" first="b-clone" then="c-clone"/><rsc_order id="a-then-b" first="a-clone" then="b-clone"/>
        """
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: constraints)) == [])
    }

    static func startHistory(digest: String) -> String {
        """
        <lrm_resource id="a" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="a_last_0" operation_key="a_start_0" \
        operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="0:0:0:x" \
        transition-magic="0:0;0:0:0:x" crm_feature_set="3.16.2" op-digest="\(digest)"/></lrm_resource>
        """
    }

    /// clone-anon-dup: a primitive's parameters include its clone's (and group's) instance
    /// attributes, so a digest recorded with them matches.
    @Test func aCloneInstanceAttributeIsAParameterOfItsPrimitiveInTheDigest() throws {
        let clone = """
        <clone id="c"><instance_attributes id="c-i"><nvpair id="c-i1" name="p" value="1"/></instance_attributes>
        <meta_attributes id="c-m"><nvpair id="c-m1" name="clone-max" value="1"/></meta_attributes>
        <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="a-i"><nvpair id="a-i1" name="q" value="2"/></instance_attributes></primitive></clone>
        """
        // MD5 of ` <parameters p="1" q="2"/>` and a newline, as Pacemaker records it.
        let text = Fixture.cib(resources: clone, node1History: Self.startHistory(digest: "a27ade5773843704b3eb62f459f22ae4"))
        #expect(try Fixture.summary(text) == [])
    }

    /// probe-2: a resource that requires nothing is restarted for a changed definition without
    /// the reason (Pacemaker clears it when it gives the start its node).
    @Test func aRestartForADefinitionChangeOfAResourceThatRequiresNothingHasNoReason() throws {
        let primitive = """
        <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
        <meta_attributes id="a-m"><nvpair id="a-m1" name="requires" value="nothing"/></meta_attributes>
        <instance_attributes id="a-i"><nvpair id="a-i1" name="q" value="3"/></instance_attributes></primitive>
        """
        // MD5 of ` <parameters q="2"/>` and a newline: q was 2 when it started.
        let text = Fixture.cib(resources: primitive, node1History: Self.startHistory(digest: "addf7120a0b109058a98d23a63bdf557"))
        #expect(try Fixture.summary(text) == ["* Restart a ( node1 )"])
    }

    /// anon-instance-pending: before a promotable clone's instances are placed, an instance's
    /// promotion score is added to its node's score and raises its priority, so the first
    /// instance goes where it will be promoted.
    @Test func aPromotionScoreDrawsTheFirstInstanceBeforePlacement() throws {
        let clone = """
        <clone id="c"><meta_attributes id="c-m"><nvpair id="c-m1" name="promotable" value="true"/></meta_attributes>
        \(Fixture.dummy("a"))</clone>
        """
        let text = Fixture.cib(resources: clone, node2Attributes: "<nvpair id=\"p\" name=\"master-a\" value=\"10\"/>")
        #expect(try Fixture.summary(text) == ["* Promote a:0 ( Stopped -> Promoted node2 )", "* Start a:1 ( node1 )"])
    }

    /// promoted-partially-demoted-group: under a utilization strategy resources are placed
    /// and reported in the order of their colocated scores, where a group colocated with
    /// counts with its first member's scores (not every member's).
    @Test func aGroupColocatedWithCountsItsFirstMemberInTheResourceOrder() throws {
        let resources = Fixture.dummy("x") + Fixture.dummy("y") + "<group id=\"g\">\(Fixture.dummy("g1"))\(Fixture.dummy("g2"))</group>"
        let constraints = """
        <rsc_colocation id="x-with-g" rsc="x" with-rsc="g" score="INFINITY"/>
        <rsc_location id="g2-prefers" rsc="g2" node="node1" score="100"/>
        <rsc_location id="y-prefers" rsc="y" node="node1" score="50"/>
        """
        let strategy = "<nvpair id=\"o3\" name=\"placement-strategy\" value=\"utilization\"/>"
        #expect(try Fixture.summary(Fixture.cib(properties: strategy, resources: resources, constraints: constraints))
                == ["* Start g1 ( node1 )", "* Start g2 ( node1 )", "* Start y ( node1 )", "* Start x ( node1 )"])
    }

    /// colocated-utilization-clone: a clone instance placed under a utilization strategy must
    /// leave room for what is colocated with its clone (here a group of two), not only itself.
    @Test func aCloneInstanceLeavesRoomForWhatIsColocatedWithItsClone() throws {
        func utilization(_ id: String, _ cpu: Int) -> String {
            "<utilization id=\"\(id)-u\"><nvpair id=\"\(id)-u1\" name=\"cpu\" value=\"\(cpu)\"/></utilization>"
        }
        func primitive(_ id: String) -> String {
            "<primitive id=\"\(id)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">\(utilization(id, 2))</primitive>"
        }
        let text = """
        <cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1"><configuration>
          <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/>
            <nvpair id="o2" name="placement-strategy" value="utilization"/></cluster_property_set></crm_config>
          <nodes><node id="1" uname="node1">\(utilization("n1", 4))</node><node id="2" uname="node2">\(utilization("n2", 8))</node></nodes>
          <resources>
            <clone id="c"><meta_attributes id="c-m"><nvpair id="c-m1" name="clone-max" value="1"/></meta_attributes>\(primitive("a"))</clone>
            <group id="g">\(primitive("b"))\(primitive("d"))</group>
          </resources>
          <constraints><rsc_colocation id="g-with-c" rsc="g" with-rsc="c" score="INFINITY"/></constraints>
        </configuration><status>
          <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
          <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
        </status></cib>
        """
        // a:0 alone fits node1 (4), but with b and d (6 in all) only node2 (8).
        #expect(try Fixture.summary(text) == ["* Start a:0 ( node2 )", "* Start b ( node2 )", "* Start d ( node2 )"])
    }

    /// unrunnable-2 (in part): a mandatory colocation with a clone that is not promotable
    /// ignores the role it names; the dependent runs with any instance.
    @Test func aMandatoryColocationWithTheRoleOfAnUnpromotableCloneIgnoresTheRole() throws {
        let resources = "<clone id=\"b-clone\">\(Fixture.dummy("b"))</clone>" + Fixture.dummy("x")
        let constraint = "<rsc_colocation id=\"x-with-b\" rsc=\"x\" with-rsc=\"b-clone\" with-rsc-role=\"Promoted\" score=\"INFINITY\"/>"
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: constraint))
                == ["* Start b:0 ( node1 )", "* Start b:1 ( node2 )", "* Start x ( node1 )"])
    }

    /// A start recorded with the digest of no parameters (what a Dummy without parameters has).
    static func running(_ id: String) -> String {
        """
        <lrm_resource id="\(id)" class="ocf" provider="pacemaker" type="Dummy"><lrm_rsc_op id="\(id)_last_0" \
        operation_key="\(id)_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" \
        transition-key="0:0:0:x" transition-magic="0:0;0:0:0:x" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
        """
    }

    /// colocation-influence: with influence="false" a dependent that may no longer stay does
    /// not pull the active resource it is colocated with; it stops instead.
    @Test func aColocationWithoutInfluenceLeavesTheActivePrimaryWhereItIs() throws {
        let constraints = """
        <rsc_colocation id="a-with-b" rsc="a" with-rsc="b" score="INFINITY" influence="false"/>
        <rsc_location id="ban" rsc="a" node="node1" score="-INFINITY"/>
        """
        let text = Fixture.cib(resources: Fixture.dummy("a") + Fixture.dummy("b"), constraints: constraints,
                               node1History: Self.running("a") + Self.running("b"))
        #expect(try Fixture.summary(text) == ["* Stop a ( node1 ) due to node availability"])
    }

    /// colocation-influence: a group member with critical=false does not pull the member
    /// before it either.
    @Test func aGroupMemberThatIsNotCriticalLeavesTheMemberBeforeItWhereItIs() throws {
        let group = """
        <group id="g">\(Fixture.dummy("b"))<primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
        <meta_attributes id="a-m"><nvpair id="a-m1" name="critical" value="false"/></meta_attributes></primitive></group>
        """
        let text = Fixture.cib(resources: group, constraints: "<rsc_location id=\"ban\" rsc=\"a\" node=\"node1\" score=\"-INFINITY\"/>",
                               node1History: Self.running("a") + Self.running("b"))
        #expect(try Fixture.summary(text) == ["* Stop a ( node1 ) due to node availability"])
    }

    /// bug-rh-1097457: a failure with on-fail=fence on a guest node "fences" the guest by
    /// recovering its container; the resource is recovered on the guest.
    @Test func aFailureThatFencesAGuestNodeRecoversItsContainer() throws {
        let digest = "f2317cad3d54cec5d7d7aa7d0bf35cf8"
        func operation(_ id: String, _ key: String, _ task: String, interval: Int, call: Int, rc: Int, digest: String?) -> String {
            let recorded = digest.map { " op-digest=\"\($0)\"" } ?? ""
            return """
            <lrm_rsc_op id="\(id)" operation_key="\(key)" operation="\(task)" interval="\(interval)" call-id="\(call)" \
            rc-code="\(rc)" op-status="0" transition-key="0:0:0:x" transition-magic="0:\(rc);0:0:0:x"\(recorded)/>
            """
        }
        let text = """
        <cib epoch="1" num_updates="0" admin_epoch="0" have-quorum="1"><configuration>
          <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
          <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
          <resources>
            <primitive id="fence" class="stonith" type="fence_dummy"/>
            <primitive id="vm" class="ocf" provider="pacemaker" type="Dummy">
              <meta_attributes id="vm-m"><nvpair id="vm-m1" name="remote-node" value="guest1"/></meta_attributes></primitive>
            <primitive id="r" class="ocf" provider="pacemaker" type="Dummy">
              <operations><op id="r-mon" name="monitor" interval="10s" on-fail="fence"/></operations></primitive>
          </resources>
          <constraints><rsc_location id="r-on-guest" rsc="r" node="guest1" score="100"/></constraints>
        </configuration><status>
          <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>
            <lrm_resource id="fence" class="stonith" type="fence_dummy">\(operation("fence_last_0", "fence_start_0", "start", interval: 0, call: 1, rc: 0, digest: digest))</lrm_resource>
            <lrm_resource id="vm" class="ocf" provider="pacemaker" type="Dummy">\(operation("vm_last_0", "vm_start_0", "start", interval: 0, call: 2, rc: 0, digest: digest))</lrm_resource>
            <lrm_resource id="guest1" class="ocf" provider="pacemaker" type="remote" container="vm">\(operation("guest1_last_0", "guest1_start_0", "start", interval: 0, call: 3, rc: 0, digest: nil))</lrm_resource>
          </lrm_resources></lrm></node_state>
          <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
          <node_state id="guest1" uname="guest1" remote_node="true"><lrm id="guest1"><lrm_resources>
            <lrm_resource id="r" class="ocf" provider="pacemaker" type="Dummy">\(operation("r_last_0", "r_start_0", "start", interval: 0, call: 1, rc: 0, digest: digest))\
        \(operation("r_last_failure_0", "r_monitor_10000", "monitor", interval: 10000, call: 2, rc: 7, digest: nil))</lrm_resource>
          </lrm_resources></lrm></node_state>
        </status></cib>
        """
        // (crm_simulate 2.1.5 then restarts guest1 "due to resource definition change", as its
        // history has no digest; we leave such histories alone.)
        let summary = try Fixture.summary(text)
        #expect(Array(summary.prefix(4)) == ["* Fence (reboot) guest1 (resource: vm) 'guest is unclean'", "* Move fence ( node1 -> node2 )",
                                             "* Recover vm ( node1 )", "* Recover r ( guest1 )"])
    }
}
