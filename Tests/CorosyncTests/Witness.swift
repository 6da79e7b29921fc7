import Foundation

/// The witness (issue 14's acceptance): `scripts/ocf/Witness` (ocf:baton:Witness) appends every
/// start, stop and monitor, with the node it really ran on and CLOCK_MONOTONIC, to one journal
/// outside the namespaces; the test's fence wrapper adds "TIME NODE fenced *" once a node is off.
/// `WitnessJournal.check` reads the journal and names every instant an instance was active on two
/// nodes (Pacemaker's PrimitiveAudit, which CTS leaves disabled), and every monitor that said
/// "running" where the journal says stopped.
struct WitnessJournal: Equatable {
    struct Event: Equatable {
        let line: Int
        let time: Double
        let node: String
        let kind: String
        let instance: String
        /// The agent's exit code (start-end, stop-end, monitor) or, for wrong-node, the node
        /// the controller named.
        let detail: String?
        var rc: Int? { detail.flatMap { Int($0) } }
    }

    let events: [Event]
    /// Lines that are not the agent's (torn, garbage): each is a failure of the check.
    let unreadable: [String]

    init(_ text: String) {
        var events: [Event] = []
        var unreadable: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let fields = line.split(separator: " ").map(String.init)
            let kinds = ["start-begin", "start-end", "stop-begin", "stop-end", "monitor", "fenced", "wrong-node"]
            guard fields.count == 4 || fields.count == 5, let time = Double(fields[0]), kinds.contains(fields[2]),
                  fields.count == 5 ? Int(fields[4]) != nil || fields[2] == "wrong-node" : !["start-end", "stop-end", "monitor"].contains(fields[2])
            else {
                unreadable.append("line \(index + 1): not a witness line: \(line)")
                continue
            }
            events.append(Event(line: index + 1, time: time, node: fields[1], kind: fields[2], instance: fields[3],
                                detail: fields.count == 5 ? fields[4] : nil))
        }
        self.events = events
        self.unreadable = unreadable
    }

    /// Where each instance is active after the last event (start-begin seen, no successful
    /// stop-end or fence since).
    var active: [String: Set<String>] { replay().active }

    /// Every violation, in journal order; empty when the witness never tripped.
    var violations: [String] { unreadable + replay().violations }

    private func replay() -> (active: [String: Set<String>], violations: [String]) {
        var active: [String: Set<String>] = [:]
        var violations: [String] = []
        var last = -Double.infinity
        for event in events {
            let at = "line \(event.line) (\(String(format: "%.6f", event.time)))"
            if event.time < last { violations.append("\(at): time goes back (\(last) before): the journal was not written under its lock") }
            last = max(last, event.time)
            switch event.kind {
            case "start-begin":
                let others = (active[event.instance] ?? []).subtracting([event.node])
                if !others.isEmpty {
                    violations.append("\(at): \(event.instance) starts on \(event.node) while active on \(others.sorted().joined(separator: ", "))")
                }
                active[event.instance, default: []].insert(event.node)
            case "stop-end" where event.rc == 0:
                active[event.instance]?.remove(event.node)
            case "monitor" where event.rc == 0:
                if !(active[event.instance] ?? []).contains(event.node) {
                    violations.append("\(at): a monitor says \(event.instance) runs on \(event.node), where the journal says it is stopped")
                }
            case "fenced":
                for instance in active.keys { active[instance]?.remove(event.node) }
            case "wrong-node":
                violations.append("\(at): \(event.instance) was asked to act on \(event.detail ?? "another node") but ran on \(event.node)")
            default:
                // start-end (a failed start may have left it running: still active), stop-begin,
                // a failed stop (still active), a monitor that found it stopped.
                break
            }
        }
        return (active, violations)
    }
}

/// The witness in a CrmdBed: an OCF root in the bed's directory (the machine's providers linked,
/// `baton/Witness` added), the journal beside it, baton-crmd's options per node, and the fence
/// wrapper's hook that journals "fenced" (and drops the node's state files, as a reboot empties
/// /run) once a node is off.
struct WitnessBed {
    let bed: CrmdBed
    static let agent = Paths.packageRoot.appendingPathComponent("scripts/ocf/Witness").path
    static let machineRoot = "/usr/lib/ocf"

    var journalPath: String { "\(bed.testbed.directory)/witness.journal" }
    var ocfRoot: String { "\(bed.testbed.directory)/ocf" }

    init(_ bed: CrmdBed) throws {
        self.bed = bed
        let files = FileManager.default
        try files.createDirectory(atPath: ocfRoot + "/resource.d/baton", withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: ocfRoot + "/lib", withDestinationPath: Self.machineRoot + "/lib")
        for provider in (try? files.contentsOfDirectory(atPath: Self.machineRoot + "/resource.d")) ?? [] where provider != "baton" {
            try files.createSymbolicLink(atPath: ocfRoot + "/resource.d/" + provider, withDestinationPath: Self.machineRoot + "/resource.d/" + provider)
        }
        try files.createSymbolicLink(atPath: ocfRoot + "/resource.d/baton/Witness", withDestinationPath: Self.agent)
        guard files.createFile(atPath: journalPath, contents: nil) else { throw TestFailure("cannot create \(journalPath)") }
    }

    /// baton-crmd's options on `node`: the OCF root, the journal, the node's name for the agent.
    func arguments(_ node: Int) -> [String] {
        ["--ocf-root", ocfRoot, "--agent-environment", "BATON_WITNESS_JOURNAL=\(journalPath)",
         "--agent-environment", "BATON_WITNESS_NODE=node\(node)"]
    }

    /// The fence wrapper's `onFenced`: `$node` is off; its /run is gone, the journal says so.
    var onFenced: String {
        "rm -f \(bed.testbed.directory)/\"$node\"/run/*.state; BATON_WITNESS_JOURNAL=\(journalPath) \(Self.agent) fenced \"$node\""
    }

    var journal: WitnessJournal {
        WitnessJournal((try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? "")
    }

    /// The check after a scenario: no violation; `placed` (instance → node), when given, is
    /// where the journal has each instance active, and nothing else is active.
    func check(_ context: String, placed: [String: Int]? = nil) throws {
        let journal = journal
        let violations = journal.violations
        guard violations.isEmpty else {
            throw TestFailure("the witness tripped (\(context)):\n" + violations.prefix(20).joined(separator: "\n") + "\njournal: \(journalPath)")
        }
        if let placed {
            let active = journal.active.filter { !$0.value.isEmpty }
            let expected = placed.mapValues { Set(["node\($0)"]) }
            guard active == expected else {
                throw TestFailure("\(context): the journal has \(active.sorted { $0.key < $1.key }) active, the state files \(placed.sorted { $0.key < $1.key })")
            }
        }
    }
}
