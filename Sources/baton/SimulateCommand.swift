import ArgumentParser
import CIB
import Foundation
import Scheduler

/// `baton simulate -x CIB.xml -S`: what crm_simulate -S prints of the scheduler's decisions.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the scheduler on a CIB and print the Transition Summary, like crm_simulate.")

    @Option(name: [.customShort("x"), .customLong("xml-file")], help: "The CIB (configuration + status) to read.")
    var xmlFile: String

    @Flag(name: [.customShort("S"), .customLong("simulate")], help: "Print the Transition Summary (the default).")
    var simulate = false

    @Option(name: [.customShort("g"), .customLong("ticket-grant")], help: "Grant a ticket before scheduling (repeatable).")
    var grant: [String] = []

    @Option(name: [.customShort("r"), .customLong("ticket-revoke")], help: "Revoke a ticket before scheduling (repeatable).")
    var revoke: [String] = []

    @Option(name: [.customLong("ticket-standby")], help: "Put a ticket in standby before scheduling (repeatable).")
    var standby: [String] = []

    @Option(name: [.customShort("i"), .customLong("op-inject")],
            help: "Inject an operation result: RESOURCE_TASK_INTERVALMS@NODE=RC (e.g. rsc1_monitor_10000@node1=7).")
    var inject: [String] = []

    @Flag(name: [.customLong("explain")], help: "Also print the assignments and scores the scheduler decided on.")
    var explain = false

    @Option(name: [.customLong("now")], help: "Seconds since the epoch to use as now (default: execution-date or the clock).")
    var now: Int?

    @Option(name: [.customShort("t"), .customLong("set-datetime")],
            help: "The date and time to use as now, ISO 8601 (\"2014-05-07 00:28:00\", \"2005-020T12:30\"); overrides execution-date.")
    var dateTime: String?

    @Option(name: [.customShort("G"), .customLong("save-graph")], help: "Write the transition graph (Pacemaker's XML) to this file.")
    var graphFile: String?

    @Option(name: [.customShort("D"), .customLong("save-dotfile")], help: "Write the transition graph as a dot graph to this file.")
    var dotFile: String?

    @Flag(name: [.customShort("s"), .customLong("show-scores")], help: "Print the allocation and promotion scores, as crm_simulate -s.")
    var showScores = false

    @Option(name: [.customLong("compare-graph")],
            help: "Compare the graph with this one (Pacemaker's XML, e.g. exp/NAME.exp) as a controller executes it; print the differences, exit 2 when they differ.")
    var expectedGraph: String?

    @Flag(name: [.customShort("Q"), .customLong("quiet")], help: "Accepted for crm_simulate's command lines (the cluster status is never printed).")
    var quiet = false

    func validate() throws {
        for injection in inject where OperationInjection(parsing: injection) == nil {
            throw ValidationError("cannot read the injection \"\(injection)\" (expected RESOURCE_TASK_INTERVAL@NODE=RC)")
        }
    }

    func run() throws {
        guard let bytes = BenchmarkCommand.readFile(xmlFile) else {
            FileHandle.standardError.write(Data("baton simulate: \(xmlFile): cannot read the file: \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(1)
        }
        var cib: CIB
        do {
            cib = try CIB(bytes: bytes)
        } catch {
            FileHandle.standardError.write(Data("baton simulate: \(xmlFile): \(error)\n".utf8))
            throw ExitCode(1)
        }
        for ticket in grant { cib.setTicket(ticket, granted: true) }
        for ticket in revoke { cib.setTicket(ticket, granted: false) }
        for ticket in standby { cib.setTicketStandby(ticket) }
        var clock = now ?? Int(Date().timeIntervalSince1970)
        if let dateTime {
            guard let seconds = Scheduler.parseDate(dateTime, in: cib) else {
                FileHandle.standardError.write(Data("baton simulate: -t \(dateTime): not an ISO 8601 date and time\n".utf8))
                throw ExitCode(64)
            }
            clock = seconds
            // crm_simulate -t replaces the CIB's own execution-date.
            cib.attributes.removeAll { $0.name == "execution-date" }
            cib.attributes.append(.init(name: "execution-date", value: String(seconds)))
        }
        for injection in inject.compactMap(OperationInjection.init(parsing:)) {
            cib.inject(injection, now: clock)
        }
        let transition = Scheduler.schedule(cib, now: clock, explain: explain || showScores)
        if let graphFile { try write(TransitionGraphWriter.xml(transition.graph), to: graphFile) }
        if let dotFile { try write(TransitionGraphWriter.dot(transition.graph), to: dotFile) }
        if let expectedGraph {
            try compare(transition.graph, with: expectedGraph)
        }
        if showScores {
            for line in transition.scoreLines { print(line) }
            print("")
        }
        if explain {
            print("Scheduler decisions:")
            for line in transition.explanation { print("  " + line) }
            print("")
        }
        print("Transition Summary:")
        for line in transition.summary { print(line) }
        print("")
        print("Executing Cluster Transition:")
        for action in transition.actions where action.resource != nil || action.task == "stonith" {
            let target = action.node.map { " on \($0)" } ?? ""
            if action.task == "stonith" {
                print("  * Fencing \(action.node ?? "") (reboot)")
            } else if action.isPseudo {
                print("  * Pseudo action:   \(action.resource ?? "")_\(action.task)_0")
            } else {
                print("  * Resource action: \((action.resource ?? "").padding(toLength: 15, withPad: " ", startingAt: 0)) \(action.task)\(target)")
            }
        }
    }

    private func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            FileHandle.standardError.write(Data("baton simulate: \(path): cannot write the file: \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(1)
        }
    }

    private func compare(_ graph: TransitionGraph, with path: String) throws {
        guard let bytes = BenchmarkCommand.readFile(path) else {
            FileHandle.standardError.write(Data("baton simulate: \(path): cannot read the file\n".utf8))
            throw ExitCode(1)
        }
        let expected: TransitionGraph
        do {
            expected = try TransitionGraph(xml: XMLCodec.parse(bytes: bytes))
        } catch {
            FileHandle.standardError.write(Data("baton simulate: \(path): \(error)\n".utf8))
            throw ExitCode(1)
        }
        let differences = graph.differences(from: expected, limit: 200)
        let identical = TransitionGraph.normalizedForDiff(TransitionGraphWriter.xml(graph))
            == TransitionGraph.normalizedForDiff(String(decoding: bytes, as: UTF8.self))
        print("Graph comparison with \(path): \(differences.isEmpty ? "same graph" : "\(differences.count) differences")\(identical ? " (identical text)" : "")")
        for line in differences { print("  " + line) }
        if !differences.isEmpty { throw ExitCode(2) }
    }
}
