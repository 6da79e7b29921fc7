import Testing
import WitnessCheck

/// `baton geo-bench`'s figures on made-up journals: a planned move of a group of two, a site
/// loss (fence lines), an overlap reported as an unsafe gap, what is missing named, the spread
/// and the table.
struct GeoBenchFiguresTests {
    static func siteOf(_ node: String) -> String {
        guard let number = Int(node.dropFirst(4)) else { return node }
        return number <= 3 ? "site-a" : "site-b"
    }

    static let planned = """
        5.000000 node1 start-begin w1
        5.100000 node1 start-end w1 0
        9.000000 node2 monitor w2 7
        10.100000 node1 stop-begin w2
        10.150000 node1 stop-end w2 0
        10.160000 node1 stop-begin w1
        10.200000 node1 stop-end w1 0
        10.500000 node4 start-begin w1
        10.530000 node4 start-end w1 0
        10.540000 node4 start-begin w2
        10.580000 node4 start-end w2 0
        """

    @Test func aPlannedMoveSplitsIntoTheAgentsWorkTheGapAndTheRest() throws {
        // The start at 5.0 is before the command: not part of this move.
        let move = try GeoBenchFigures.move(WitnessJournal(Self.planned), after: 10, from: "site-a", to: "site-b",
                                            instances: ["w1", "w2"], site: Self.siteOf)
        #expect(abs(move.stopWork - 0.09) < 1e-9)
        #expect(abs(move.startWork - 0.07) < 1e-9)
        #expect(abs(move.gap - 0.3) < 1e-9)
        #expect(abs(move.total - 0.58) < 1e-9)
        #expect(abs(move.overhead - (0.58 - 0.3 - 0.09 - 0.07)) < 1e-9)
        #expect(GeoBenchFigures.unsafeGaps([("move", [move])]).isEmpty)
    }

    /// The agents' processes: the exec-time of the operations the move added to the CIBs
    /// (new call-ids), stops at the old site and starts at the new one; nil until every
    /// instance has both; the rest beyond them.
    @Test func theAgentsProcessesAreTheMovesNewOperationsExecTime() throws {
        func op(_ node: String, _ resource: String, _ operation: String, _ call: Int, _ ms: Int) -> RecordedOperation {
            RecordedOperation(node: node, resource: resource, operation: operation, callID: call, execMilliseconds: ms)
        }
        let before: Set = [op("node1", "w1", "start", 3, 40), op("node1", "w2", "start", 4, 41), op("node4", "w1", "stop", 9, 30)]
        var after = before
        after.remove(op("node4", "w1", "stop", 9, 30))
        after.formUnion([op("node1", "w1", "stop", 5, 20), op("node1", "w2", "stop", 6, 22), op("node4", "w1", "start", 10, 25),
                         op("node2", "x9", "start", 7, 500)])        // not a guarded instance
        #expect(GeoBenchFigures.processWork(before: before, after: after, instances: ["w1", "w2"], from: "site-a", to: "site-b", site: Self.siteOf) == nil,
                "w2 not started at site-b yet")
        after.insert(op("node4", "w2", "start", 11, 26))
        let work = try #require(GeoBenchFigures.processWork(before: before, after: after, instances: ["w1", "w2"], from: "site-a", to: "site-b", site: Self.siteOf))
        #expect(abs(work - 0.093) < 1e-9)
        var move = try GeoBenchFigures.move(WitnessJournal(Self.planned), after: 10, from: "site-a", to: "site-b",
                                            instances: ["w1", "w2"], site: Self.siteOf)
        #expect(move.processOverhead == nil)
        move.processWork = work
        #expect(abs((move.processOverhead ?? 0) - (0.58 - 0.3 - 0.093)) < 1e-9)
    }

    @Test func anUnfinishedMoveSaysWhatIsMissing() {
        let text = Self.planned.split(separator: "\n").dropLast().joined(separator: "\n")
        #expect(throws: GeoBenchError("1 of 2 not started at site-b (e.g. w2)")) {
            try GeoBenchFigures.move(WitnessJournal(text), after: 10, from: "site-a", to: "site-b", instances: ["w1", "w2"], site: Self.siteOf)
        }
        let notStopped = Self.planned.split(separator: "\n").filter { !$0.contains("stop-end w1") }.joined(separator: "\n")
        #expect(throws: GeoBenchError("1 of 2 not stopped at site-a (e.g. w1)")) {
            try GeoBenchFigures.move(WitnessJournal(notStopped), after: 10, from: "site-a", to: "site-b", instances: ["w1", "w2"], site: Self.siteOf)
        }
    }

    @Test func aSiteLossEndsAtTheFenceOfItsLastNode() throws {
        let journal = WitnessJournal("""
            1.000000 node2 start-begin w1
            1.100000 node2 start-end w1 0
            20.000000 node1 fenced *
            20.010000 node2 fenced *
            20.020000 node3 fenced *
            30.000000 node5 start-begin w1
            30.040000 node5 start-end w1 0
            """)
        let move = try GeoBenchFigures.move(journal, after: 19.9, from: "site-a", to: "site-b", instances: ["w1"], site: Self.siteOf)
        #expect(abs(move.lastStopAt - 20.02) < 1e-9)
        #expect(move.stopWork == 0)
        #expect(abs(move.startWork - 0.04) < 1e-9)
        #expect(abs(move.total - 10.14) < 1e-9)
    }

    @Test func aStartBeforeTheLastStopIsAnUnsafeGap() throws {
        let journal = WitnessJournal("""
            1.000000 node1 start-begin w1
            1.100000 node1 start-end w1 0
            10.100000 node1 stop-begin w1
            10.500000 node4 start-begin w1
            10.530000 node4 start-end w1 0
            10.600000 node1 stop-end w1 0
            """)
        let move = try GeoBenchFigures.move(journal, after: 10, from: "site-a", to: "site-b", instances: ["w1"], site: Self.siteOf)
        #expect(move.gap < 0)
        #expect(GeoBenchFigures.unsafeGaps([("partition", [move])])
                == ["partition, run 1: the new site started 0.100 s before the old one's last stop"])
        #expect(!journal.violations.isEmpty, "the witness trips too")
    }

    @Test func spreadsAndTheTable() {
        #expect(Spread([]) == nil)
        let odd = Spread([0.3, 0.1, 0.2])!
        #expect(odd.min == 0.1 && odd.median == 0.2 && odd.max == 0.3 && odd.count == 3)
        #expect(Spread([4, 1, 2, 3])!.median == 2.5)
        #expect(odd.text == "0.100 / 0.200 / 0.300")
        #expect(Spread([1.2345])!.text == "1.235")
        #expect(GeoBenchFigures.seconds(-0.0004) == "0.000")
        #expect(GeoBenchFigures.seconds(-0.25) == "-0.250")
        #expect(GeoBenchFigures.table([["what", "figure"], ["move N=1", "0.3"], ["site loss", "10.100"]]) == """
            what       figure
            ---------  ------
            move N=1   0.3
            site loss  10.100
            """)
    }
}
