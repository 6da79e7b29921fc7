import Foundation
@_exported import WitnessCheck

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
