import Testing
@testable import Scheduler

@Suite struct SummaryComparisonTests {
    @Test func extractsAndNormalisesTheTransitionSummary() {
        let output = """
        Current cluster status:
          * rsc1\t(ocf::heartbeat:apache):\t Stopped

        Transition Summary:
          * Start      rsc1     ( node1 )

          * Move       rsc3     ( node1 -> node2 )  due to node availability

        Executing Cluster Transition:
          * Resource action: rsc1 start on node1
        """
        #expect(SummaryComparison.transitionSummary(ofSimulateOutput: output) == [
            "* Start rsc1 ( node1 )",
            "* Move rsc3 ( node1 -> node2 ) due to node availability",
        ])
        #expect(SummaryComparison.normalize("  * Fence (reboot) n1 'x'  ") == "* Fence (reboot) n1 'x'")
        #expect(SummaryComparison.normalize("(ocf::pacemaker:Dummy)") == "(ocf:pacemaker:Dummy)")
        #expect(SummaryComparison.normalize("   \t ") == nil)
    }

    @Test func diffMarksMissingAndExtraLines() {
        let diff = SummaryComparison.diff(expected: ["a", "b", "c"], actual: ["a", "c", "d"])
        #expect(diff == ["  a", "- b", "  c", "+ d"])
    }
}
