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
        let clock = now ?? Int(Date().timeIntervalSince1970)
        for injection in inject.compactMap(OperationInjection.init(parsing:)) {
            cib.inject(injection, now: clock)
        }
        let transition = Scheduler.schedule(cib, now: clock, explain: explain)
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
}
