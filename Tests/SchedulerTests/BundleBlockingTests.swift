import CIB
import Testing
@testable import Scheduler

/// Colocation blocking that reaches a bundle's child, and guests whose host cannot be fenced.
@Suite struct BundleBlockingTests {
    static let bundle = """
    <bundle id="web">
      <docker image="img" replicas="1"/>
      <network control-port="3121"/>
      <primitive id="httpd" class="ocf" provider="heartbeat" type="apache"/>
    </bundle>
    """

    /// The bundle's container, connection and child run on node1 (the guest web-0).
    static func runningBundle() -> (node1: String, guest: String) {
        let node1 = """
        <lrm_resource id="web-docker-0" class="ocf" provider="heartbeat" type="docker">
          <lrm_rsc_op id="web-docker-0_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="0:0:0:x"/>
        </lrm_resource>
        <lrm_resource id="web-0" class="ocf" provider="pacemaker" type="remote">
          <lrm_rsc_op id="web-0_start_0" operation="start" interval="0" call-id="2" rc-code="0" op-status="0" transition-key="0:0:0:x"/>
        </lrm_resource>
        """
        let guest = """
        <node_state id="web-0" uname="web-0" remote_node="true">
          <lrm id="web-0"><lrm_resources>
            <lrm_resource id="httpd" class="ocf" provider="heartbeat" type="apache">
              <lrm_rsc_op id="httpd_start_0" operation="start" interval="0" call-id="3" rc-code="0" op-status="0" transition-key="0:0:0:x"/>
            </lrm_resource>
          </lrm_resources></lrm>
        </node_state>
        <tickets>
        """
        return (node1, guest)
    }

    @Test func aBundleColocatedWithAnUnstartableBundleBlocksItsChildWithTheReason() throws {
        // "web" must run with "gate", a bundle whose only container cannot start anywhere: the
        // child's start is blocked by the colocation before any ordering gives another reason.
        let gate = """
        <bundle id="gate">
          <docker image="img" replicas="1"/>
          <meta_attributes id="gate-m"><nvpair id="gate-m1" name="target-role" value="Stopped"/></meta_attributes>
        </bundle>
        """
        let (node1, guest) = Self.runningBundle()
        var text = Fixture.cib(resources: Self.bundle + gate,
                               constraints: "<rsc_colocation id=\"c\" rsc=\"web\" with-rsc=\"gate\" score=\"INFINITY\"/>",
                               node1History: node1)
        text = text.replacingOccurrences(of: "<tickets>", with: guest)
        let summary = try Fixture.summary(text)
        #expect(summary.contains("* Stop httpd:0 ( web-0 ) due to colocation with gate-docker-0"))
    }

    @Test func stopsOnAGuestWhoseHostCannotBeFencedAreBlocked() throws {
        // node1 (the host) left the cluster and, without quorum, cannot be fenced: nothing on
        // its guest can be stopped.
        let (node1, guest) = Self.runningBundle()
        var text = Fixture.cib(stonith: true, quorum: false, resources: Self.bundle, node1History: node1)
        text = text.replacingOccurrences(of: "<tickets>", with: guest)
        text = text.replacingOccurrences(of: "<node_state id=\"1\" uname=\"node1\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\">",
                                         with: "<node_state id=\"1\" uname=\"node1\" in_ccm=\"false\" crmd=\"offline\" join=\"down\" expected=\"member\">")
        let summary = try Fixture.summary(text)
        #expect(summary.contains { $0.hasPrefix("* Stop httpd:0 ( web-0 )") && $0.hasSuffix("(blocked)") })
    }
}
