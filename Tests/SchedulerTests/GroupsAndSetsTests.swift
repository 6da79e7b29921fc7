import CIB
import Testing
@testable import Scheduler

/// Groups, colocation sets and template references, pinned down apart from the conformance data.
@Suite struct GroupsAndSetsTests {
    @Test func aGroupSetToBlockIsBlockedAsAWhole() throws {
        let group = """
        <group id="g"><meta_attributes id="g-m"><nvpair id="g-m1" name="multiple-active" value="block"/></meta_attributes>
        \(Fixture.dummy("a"))\(Fixture.dummy("b"))</group>
        """
        let text = Fixture.cib(resources: group,
                               node1History: Fixture.history("a", [("start", 0, 0)]) + Fixture.history("b", [("start", 0, 0)]),
                               node2History: Fixture.history("a", [("start", 0, 0)]))
        // Without blocking the whole group, b would be restarted after a's recovery.
        #expect(try Fixture.summary(text) == [])
    }

    @Test func listedColocationSetsPutEachMemberWithTheNextOne() throws {
        let resources = Fixture.dummy("a") + Fixture.dummy("b")
            + "<primitive id=\"c\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><meta_attributes id=\"c-m\"><nvpair id=\"c-m1\" name=\"target-role\" value=\"Stopped\"/></meta_attributes></primitive>"
        func colocation(_ ordering: String?) -> String {
            let attribute = ordering.map { " ordering=\"\($0)\"" } ?? ""
            return """
            <rsc_colocation id="col" score="INFINITY"><resource_set id="s"\(attribute)>
            <resource_ref id="a"/><resource_ref id="b"/><resource_ref id="c"/></resource_set></rsc_colocation>
            """
        }
        // Default ("group"): b with a, c with b; c is stopped, a and b run together.
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: colocation(nil)))
                == ["* Start a ( node1 )", "* Start b ( node1 )"])
        // "listed": a with b, b with c; c is stopped, so neither can run.
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: colocation("listed"))) == [])
    }

    @Test func aColocationWithATemplateKeepsTheResourceWithEveryPrimitiveOfIt() throws {
        let resources = """
        <template id="t" class="ocf" provider="pacemaker" type="Dummy"/>
        \(Fixture.dummy("a"))<primitive id="b" template="t"/><primitive id="c" template="t"/>
        """
        let constraint = "<rsc_colocation id=\"col\" rsc=\"a\" with-rsc=\"t\" rsc-role=\"Started\" score=\"INFINITY\"/>"
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: constraint))
                == ["* Start a ( node1 )", "* Start b ( node1 )", "* Start c ( node1 )"])
        // Between two templates a colocation means nothing (Pacemaker ignores it).
        let both = resources + "<template id=\"u\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"/><primitive id=\"d\" template=\"u\"/><primitive id=\"e\" template=\"u\"/>"
        let ignored = "<rsc_colocation id=\"col\" rsc=\"t\" with-rsc=\"u\" score=\"INFINITY\"/>"
        let summary = try Fixture.summary(Fixture.cib(resources: both, constraints: ignored))
        #expect(summary.count == 5)
        #expect(summary.contains { $0.hasSuffix("( node2 )") })
    }

    @Test func anAnonymousCloneInstanceSumsEveryInstanceNumbersFailCount() throws {
        let clone = """
        <clone id="c"><meta_attributes id="c-m"><nvpair id="c-m1" name="clone-max" value="1"/></meta_attributes>
        <primitive id="a" class="ocf" provider="pacemaker" type="Dummy">
          <meta_attributes id="a-m"><nvpair id="a-m1" name="migration-threshold" value="2"/></meta_attributes>
        </primitive></clone>
        """
        let failures = "<nvpair id=\"f0\" name=\"fail-count-a:0\" value=\"1\"/><nvpair id=\"f1\" name=\"fail-count-a:1\" value=\"1\"/>"
        let text = Fixture.cib(resources: clone, node1History: Fixture.history("a", [("start", 0, 0)]), node1Attributes: failures)
        // 1 + 1 reaches the threshold of 2: the instance leaves node1.
        let summary = try Fixture.summary(text)
        #expect(summary.contains { $0.contains("node2") })
    }

    @Test func anInstanceBannedFromItsNodeLetsAFreshInstanceTakeTheFreeNode() throws {
        let clone = "<clone id=\"c\">\(Fixture.dummy("a"))</clone>"
        let ban = "<rsc_location id=\"ban\" rsc=\"c\" node=\"node1\" score=\"-INFINITY\"/>"
        let text = Fixture.cib(resources: clone, constraints: ban, node1History: Fixture.history("a", [("start", 0, 0)]))
        // a:0 may no longer run where it is: it sorts after the inactive a:1, which takes node2
        // (Pacemaker stops a:0 rather than moving it).
        let summary = try Fixture.summary(text)
        #expect(summary.contains { $0.hasPrefix("* Start") && $0.contains("a:1") && $0.contains("node2") })
        #expect(!summary.contains { $0.hasPrefix("* Move") })
    }

    @Test func anInstanceOnANodeThatCanRunResourcesIsPlacedBeforeOneOnAStandbyNode() throws {
        let clone = "<clone id=\"c\">\(Fixture.dummy("a"))</clone>"
        let text = Fixture.cib(resources: clone,
                               node1History: Fixture.history("a", [("start", 0, 0)]),
                               node2History: Fixture.history("a", [("start", 0, 0), ("monitor", 1, 10000)]),
                               node1Attributes: "<nvpair id=\"sb\" name=\"standby\" value=\"on\"/>")
        // Neither instance stays where it is (node1 is in standby, the one on node2 failed): the
        // one on node2, whose node can run resources, is placed first and recovered there; the
        // other has nowhere left to go.
        let summary = try Fixture.summary(text)
        #expect(summary.contains { $0.hasPrefix("* Recover") && $0.contains("node2") })
        #expect(!summary.contains { $0.hasPrefix("* Move") })
    }

    @Test func aFailCountRecordedForAnotherAgentNoLongerBans() throws {
        let history = Fixture.history("a", [("stop", 0, 0)]).replacingOccurrences(of: "type=\"Dummy\"", with: "type=\"Stateful\"")
        let failures = "<nvpair id=\"f\" name=\"fail-count-a\" value=\"INFINITY\"/>"
        let text = Fixture.cib(resources: Fixture.dummy("a"), node1History: history, node1Attributes: failures)
        // The history (and its fail count) on node1 belongs to another agent: it is cleared.
        #expect(try Fixture.summary(text) == ["* Start a ( node1 )"])
    }

    @Test func stickinessOnANodeThatCannotRunResourcesStillCountsInTheResourceSort() throws {
        let resources = """
        <primitive id="a" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="a-m"><nvpair id="a-m1" name="target-role" value="Stopped"/></meta_attributes></primitive>
        <primitive id="b" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="b-m"><nvpair id="b-m1" name="resource-stickiness" value="1"/></meta_attributes></primitive>
        """
        let text = Fixture.cib(resources: resources,
                               node1History: Fixture.history("b", [("start", 0, 0)]),
                               node2History: Fixture.history("a", [("start", 0, 0)]),
                               node1Attributes: "<nvpair id=\"sb\" name=\"standby\" value=\"on\"/>")
            .replacingOccurrences(of: "<nvpair id=\"o1\"", with: "<nvpair id=\"o3\" name=\"placement-strategy\" value=\"utilization\"/><nvpair id=\"o1\"")
        // b's stickiness on node1 (in standby) puts it before a, whose score where it runs is 0.
        #expect(try Fixture.summary(text) == ["* Move b ( node1 -> node2 )", "* Stop a ( node2 ) due to node availability"])
    }
}
