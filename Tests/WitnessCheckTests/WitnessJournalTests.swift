import Testing
import WitnessCheck

/// The witness's verdict on made-up journals: each rule once with a journal that breaks it and
/// one that does not, and the handover gaps the demo prints.
struct WitnessJournalTests {
    static func siteOf(_ node: String) -> String {
        guard let number = Int(node.dropFirst(4)) else { return node }
        return number <= 3 ? "site-a" : "site-b"
    }

    @Test func aCleanMoveHasNoViolationAndOneHandoverWithItsGap() {
        let journal = WitnessJournal("""
            10.000000 node1 start-begin w
            10.100000 node1 start-end w 0
            11.000000 node1 monitor w 0
            20.000000 node1 stop-begin w
            20.250000 node1 stop-end w 0
            21.000000 node4 start-begin w
            21.100000 node4 start-end w 0
            """)
        #expect(journal.violations.isEmpty, "\(journal.violations)")
        #expect(journal.active == ["w": ["node4"]])
        let handovers = journal.handovers(group: Self.siteOf)
        #expect(handovers == [WitnessJournal.Handover(instance: "w", from: "node1", endedAt: 20.25, to: "node4", startedAt: 21)])
        #expect(abs(handovers[0].gap - 0.75) < 1e-9)
    }

    @Test func aStartWhileActiveElsewhereTripsTheWitnessAndIsANegativeHandover() {
        let journal = WitnessJournal("""
            1.0 node1 start-begin w
            1.1 node1 start-end w 0
            2.0 node5 start-begin w
            2.1 node5 start-end w 0
            2.4 node1 stop-begin w
            2.5 node1 stop-end w 0
            """)
        #expect(journal.violations == ["line 3 (2.000000): w starts on node5 while active on node1"])
        #expect(journal.active == ["w": ["node5"]])
        let handovers = journal.handovers(group: Self.siteOf)
        #expect(handovers == [WitnessJournal.Handover(instance: "w", from: "node1", endedAt: 2.5, to: "node5", startedAt: 2)])
        #expect(abs(handovers[0].gap + 0.5) < 1e-9)
        // Never ended at the old place: the gap is minus infinity.
        let never = WitnessJournal("1 node1 start-begin w\n2 node4 start-begin w\n")
        #expect(never.handovers(group: Self.siteOf).map(\.gap) == [-.infinity])
    }

    @Test func aFailedStopKeepsItActiveAndAFenceEndsIt() {
        let failedStop = WitnessJournal("1 node1 start-begin w\n2 node1 stop-begin w\n3 node1 stop-end w 1\n4 node2 start-begin w\n")
        #expect(failedStop.violations.count == 1)
        let fenced = WitnessJournal("1 node1 start-begin w\n2 node1 stop-begin w\n3 node1 stop-end w 1\n3.5 node1 fenced *\n4 node4 start-begin w\n")
        #expect(fenced.violations.isEmpty, "\(fenced.violations)")
        #expect(fenced.handovers(group: Self.siteOf) == [WitnessJournal.Handover(instance: "w", from: "node1", endedAt: 3.5, to: "node4", startedAt: 4)])
    }

    @Test func aRestartInsideTheSameSiteIsNoHandoverButAnotherNodeWithoutGroupingIs() {
        let text = "1 node1 start-begin w\n2 node1 stop-end w 0\n3 node2 start-begin w\n"
        let journal = WitnessJournal(text)
        #expect(journal.violations.isEmpty)
        #expect(journal.handovers(group: Self.siteOf).isEmpty)
        #expect(journal.handovers().count == 1)
    }

    @Test func monitorsWrongNodesTimeGoingBackAndGarbageAreViolations() {
        let journal = WitnessJournal("""
            1 node1 monitor w 0
            2 node2 wrong-node w node3
            1.5 node1 monitor w 7
            garbage here
            3 node1 start-end w
            nan node1 start-begin w
            """)
        #expect(journal.violations == [
            "line 4: not a witness line: garbage here",
            "line 5: not a witness line: 3 node1 start-end w",
            "line 6: not a witness line: nan node1 start-begin w",
            "line 1 (1.000000): a monitor says w runs on node1, where the journal says it is stopped",
            "line 2 (2.000000): w was asked to act on node3 but ran on node2",
            "line 3 (1.500000): time goes back (2.000000 before): the journal was not written under its lock",
        ])
    }

    @Test func secondsPrintsMicroseconds() {
        #expect(WitnessJournal.seconds(12.5) == "12.500000")
        #expect(WitnessJournal.seconds(-0.000_25) == "-0.000250")
        #expect(WitnessJournal.seconds(.infinity) == "inf")
    }
}
