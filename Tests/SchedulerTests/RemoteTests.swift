import CIB
import Testing
@testable import Scheduler

/// Guest nodes (a resource with meta remote-node) and exclusive resource discovery, on small
/// CIBs: what the Transition Summary says when a guest starts, and when its container fails.
@Suite struct RemoteTests {
    static let container = """
    <primitive id="vm" class="ocf" provider="heartbeat" type="VirtualDomain">
      <meta_attributes id="vm-m"><nvpair id="vm-m1" name="remote-node" value="guest1"/></meta_attributes>
    </primitive>
    """
    static let onGuest = """
    <rsc_location id="a-on-guest" rsc="a" node="guest1" score="INFINITY"/>
    """

    @Test func aGuestNodeStartsWithItsContainerAndHostsResources() throws {
        let text = Fixture.cib(resources: Self.container + Fixture.dummy("a"), constraints: Self.onGuest)
        // The generated connection comes after the configured resources.
        #expect(try Fixture.summary(text) == ["* Start vm ( node1 )", "* Start a ( guest1 )", "* Start guest1 ( node1 )"])
    }

    @Test func aFailedContainerFencesItsGuestAndRecoversWhatRanThere() throws {
        let vm = """
        <lrm_resource id="vm" class="ocf" provider="heartbeat" type="VirtualDomain">
          <lrm_rsc_op id="vm_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="0:0:0:x"/>
          <lrm_rsc_op id="vm_monitor_10000" operation="monitor" interval="10000" call-id="2" rc-code="7" op-status="0" transition-key="0:0:0:x"/>
        </lrm_resource>
        <lrm_resource id="guest1" class="ocf" provider="pacemaker" type="remote">
          <lrm_rsc_op id="guest1_start_0" operation="start" interval="0" call-id="3" rc-code="0" op-status="0" transition-key="0:0:0:x"/>
        </lrm_resource>
        """
        var text = Fixture.cib(resources: Self.container + Fixture.dummy("a"), constraints: Self.onGuest, node1History: vm)
        let guestState = """
        <node_state id="guest1" uname="guest1" remote_node="true">
          <lrm id="guest1"><lrm_resources>\(Fixture.history("a", [("start", 0, 0)]))</lrm_resources></lrm>
        </node_state>
        <tickets>
        """
        text = text.replacingOccurrences(of: "<tickets>", with: guestState)
        #expect(try Fixture.summary(text) == [
            "* Fence (reboot) guest1 (resource: vm) 'guest is unclean'",
            "* Recover vm ( node1 )",
            "* Recover a ( guest1 )",
            "* Restart guest1 ( node1 ) due to required vm start",
        ])
    }

    @Test func exclusiveDiscoveryKeepsAResourceToTheNamedNodes() throws {
        let constraint = "<rsc_location id=\"l\" rsc=\"a\" node=\"node2\" score=\"0\" resource-discovery=\"exclusive\"/>"
        let text = Fixture.cib(resources: Fixture.dummy("a") + Fixture.dummy("b"), constraints: constraint)
        #expect(try Fixture.summary(text) == ["* Start a ( node2 )", "* Start b ( node1 )"])
    }

    @Test func aBundleStartsReplicaByReplica() throws {
        let bundle = """
        <bundle id="web">
          <docker image="img" replicas="2"/>
          <network control-port="3121"/>
          <primitive id="httpd" class="ocf" provider="heartbeat" type="apache"/>
        </bundle>
        """
        // Per replica: container, guest connection, then the bundled instance on the guest.
        #expect(try Fixture.summary(Fixture.cib(resources: bundle)) == [
            "* Start web-docker-0 ( node1 )", "* Start web-0 ( node1 )", "* Start httpd:0 ( web-0 )",
            "* Start web-docker-1 ( node2 )", "* Start web-1 ( node2 )", "* Start httpd:1 ( web-1 )",
        ])
    }

    @Test func anErrorResultIsAFailureEvenWhenExpected() throws {
        // A start recorded with rc 1 where rc 1 was expected (as crm_simulate injects
        // failures) is still a failed start.
        let history = """
        <lrm_resource id="a" class="ocf" provider="pacemaker" type="Dummy">
          <lrm_rsc_op id="a_start_0" operation="start" interval="0" call-id="1" rc-code="1" op-status="0" transition-key="0:0:1:x"/>
        </lrm_resource>
        """
        let text = Fixture.cib(resources: Fixture.dummy("a"), node1History: history)
        #expect(try Fixture.summary(text) == ["* Recover a ( node1 )"])
    }
}

