import CIB
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

@Suite struct DigestTests {
    @Test func md5MatchesTheRFCVectors() {
        #expect(MD5.hex("") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex("abc") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890")
                == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test func emptyParametersDigestAsPacemakerRecordsIt() {
        #expect(parameterDigest([:]) == "f2317cad3d54cec5d7d7aa7d0bf35cf8")
    }
}
