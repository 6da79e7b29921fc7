import AgentTools
import AgentToolsShell
import ArgumentParser
import CIB
import CIBAttributes
import Foundation

/// `baton crm property|attribute|node`: cluster options, node attributes and standby in
/// crm_attribute's and crm_node's shapes, on a CIB file (`--cib FILE` or `CIB_file=FILE`, as the
/// stock tools read it) or, with neither, on the running cluster through baton-crmd's admin
/// socket (`--socket`, as the agents' crm_attribute does). One implementation serves the agents
/// and the admin: the commands run AgentTools' crm_attribute on the attribute table of an
/// `AttributeStore` (`CIBFileAttributeStore`, or baton-crmd's cluster-wide `CrmdAttributeStore`).
enum CrmAttributeShell {
    /// The CIB file named by `--cib` or `CIB_file`, if any.
    static func cibFile(_ option: String?) -> String? {
        if let path = option ?? ProcessInfo.processInfo.environment["CIB_file"], !path.isEmpty { return path }
        return nil
    }

    /// The CIB file named by `--cib` or `CIB_file`, or a usage error saying how to give one.
    static func cibPath(_ option: String?) throws -> String {
        if let path = cibFile(option) { return path }
        throw ValidationError("no CIB given: --cib FILE or CIB_file=FILE")
    }

    /// crm_attribute on `target` (what names the attribute): update to a value, delete, or query;
    /// on the CIB file when one is named, else on the cluster through baton-crmd at `socket`.
    static func runCrmAttribute(_ target: [String], update: String?, delete: Bool, quiet: Bool, cib option: String?,
                                socket: String = CrmdSocketClient.defaultPath) throws {
        var arguments = target
        if let update { arguments += ["--update", update] } else if delete { arguments.append("--delete") } else { arguments.append("--query") }
        if quiet { arguments.append("--quiet") }
        if let path = cibFile(option) {
            try runCrmAttribute(arguments, cib: path)
        } else {
            try runCrmAttribute(arguments, socket: socket)
        }
    }

    /// Runs crm_attribute with `arguments` on the cluster through baton-crmd's admin socket: a
    /// cluster option or permanent node attribute becomes one CIB write through the DC, a
    /// transient one goes to the DC's attribute table (as the agents' crm_attribute).
    static func runCrmAttribute(_ arguments: [String], socket: String) throws {
        guard CrmdSocketClient.present(socket) else {
            FileHandle.standardError.write(Data("baton: no baton-crmd at \(socket) (give --socket, or a CIB file with --cib FILE or CIB_file=FILE)\n".utf8))
            throw ExitCode(1)
        }
        let outcome: ToolOutcome
        do {
            outcome = try CrmdAttributeStore(socket: socket).transaction { table in
                AgentTool.crmAttribute.run(arguments, environment: [:], table: &table)
            }
        } catch {
            FileHandle.standardError.write(Data("baton: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try finish(outcome)
    }

    /// Runs crm_attribute with `arguments` on the CIB at `path`, prints its output, exits with its status.
    static func runCrmAttribute(_ arguments: [String], cib path: String) throws {
        let store = CIBFileAttributeStore(path: path)
        let outcome: ToolOutcome
        do {
            outcome = try store.transaction { table in
                // The tool edits the file itself, as crm_attribute does with CIB_file (no attrd).
                AgentTool.crmAttribute.run(arguments, environment: ["CIB_file": path], table: &table)
            }
        } catch {
            FileHandle.standardError.write(Data("baton: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try finish(outcome)
    }

    /// Prints a tool's output and exits with its status.
    static func finish(_ outcome: ToolOutcome) throws {
        FileHandle.standardOutput.write(Data(outcome.standardOutput.utf8))
        FileHandle.standardError.write(Data(outcome.standardError.utf8))
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}

/// The attribute table of a CIB file: read under an exclusive lock, changed by the tool, and
/// the changes written back (atomic replace) only when there are some.
struct CIBFileAttributeStore: AttributeStore {
    let path: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func transaction<T>(_ body: (inout AttributeTable) throws -> T) throws -> T {
        let lock = open(path, O_RDONLY | O_CLOEXEC)
        guard lock >= 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw Failure(description: "\(path): lock: \(String(cString: strerror(errno)))") }
        var cib: CIB
        do {
            cib = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
        let before = CIBAttributes.table(of: cib)
        var table = before
        let result = try body(&table)
        guard table != before else { return result }
        do {
            try CIBAttributes.apply(from: before, to: table, in: &cib)
        } catch {
            throw Failure(description: "\(path): \(error)")
        }
        try writeAtomically(cib.serialized() + "\n")
        return result
    }

    /// Same directory, fsync, rename: a reader sees the old CIB or the new one.
    func writeAtomically(_ text: String) throws {
        let temporary = "\(path).baton-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "\(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure(description: "\(path): write failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// `baton crm property NAME [VALUE] [--delete]`: crm_attribute --type crm_config.
struct CrmProperty: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "property",
        abstract: "Query, set or delete a cluster option (crm_attribute --type crm_config).",
        discussion: "Exit status as crm_attribute's: 0 done, 105 no such option, 64 usage.")

    @Argument(help: "The option's name (e.g. stonith-enabled).") var name: String
    @Argument(help: "The value to set (omit to query).") var value: String?
    @Flag(help: "Delete the option.") var delete = false
    @Flag(name: .shortAndLong, help: "Print only the value.") var quiet = false
    @Option(help: "The CIB file (default: $CIB_file; with neither, the running cluster).") var cib: String?
    @Option(help: "baton-crmd's admin socket (when no CIB file is named).") var socket = CrmdSocketClient.defaultPath

    func validate() throws {
        if delete && value != nil { throw ValidationError("give a VALUE or --delete, not both") }
    }

    func run() throws {
        try CrmAttributeShell.runCrmAttribute(["--type", "crm_config", "--name", name], update: value, delete: delete, quiet: quiet, cib: cib,
                                              socket: socket)
    }
}

/// `baton crm attribute --node N --name X [--update V|--delete|--query] [--lifetime forever|reboot]`.
struct CrmAttributeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribute",
        abstract: "Query, set or delete a node attribute (crm_attribute -N NODE -n NAME).",
        discussion: """
            --lifetime forever (the default) is the node's instance_attributes in the configuration; \
            reboot is its transient_attributes in the status section. Exit status as crm_attribute's.
            """)

    @Option(name: [.customShort("N"), .long], help: "The node.") var node: String
    @Option(name: [.customShort("n"), .long], help: "The attribute's name.") var name: String
    @Option(name: [.customShort("v"), .long], help: "Set it to this value.") var update: String?
    @Flag(name: [.customShort("D"), .long], help: "Delete it.") var delete = false
    @Flag(name: [.customShort("G"), .long], help: "Print its value (the default).") var query = false
    @Option(name: [.customShort("l"), .long], help: "forever (nodes section) or reboot (status section).") var lifetime = "forever"
    @Flag(name: .shortAndLong, help: "Print only the value.") var quiet = false
    @Option(help: "The CIB file (default: $CIB_file; with neither, the running cluster).") var cib: String?
    @Option(help: "baton-crmd's admin socket (when no CIB file is named).") var socket = CrmdSocketClient.defaultPath

    func validate() throws {
        guard ["forever", "reboot"].contains(lifetime) else { throw ValidationError("--lifetime must be forever or reboot, not \(lifetime)") }
        guard [update != nil, delete, query].filter({ $0 }).count <= 1 else {
            throw ValidationError("give one of --update, --delete, --query")
        }
    }

    func run() throws {
        try CrmAttributeShell.runCrmAttribute(["--node", node, "--name", name, "--lifetime", lifetime], update: update, delete: delete,
                                              quiet: quiet, cib: cib, socket: socket)
    }
}

/// `baton crm node list|standby|online`: the nodes (crm_node -l's shape) and standby.
struct CrmNodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "List the nodes (crm_node -l) or put one in standby or back online.",
        subcommands: [List.self, Standby.self, Online.self, ConfirmDown.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ID NAME STATE per node, by name (crm_node -l): member when in the membership, else lost.")
        @Option(help: "The CIB file (default: $CIB_file).") var cib: String?

        func run() throws {
            let path = try CrmAttributeShell.cibPath(cib)
            var table = try CIBFileAttributeStore(path: path).transaction { $0 }
            try CrmAttributeShell.finish(AgentTool.crmNode.run(["-l"], environment: [:], table: &table))
        }
    }

    /// The node and CIB file `standby` and `online` take.
    struct StandbyTarget: ParsableArguments {
        @Argument(help: "The node.") var node: String
        @Option(help: "The CIB file (default: $CIB_file).") var cib: String?

        /// crm_standby -N NODE -v VALUE: the node's permanent standby attribute.
        func set(_ value: String) throws {
            try CrmAttributeShell.runCrmAttribute(["--node", node, "--name", "standby", "--lifetime", "forever"], update: value,
                                                  delete: false, quiet: false, cib: cib)
        }
    }

    struct Standby: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put a node in standby (its standby attribute on, crm_standby -v on).")
        @OptionGroup var target: StandbyTarget
        func run() throws { try target.set("on") }
    }

    struct Online: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a node out of standby (its standby attribute off, crm_standby -v off).")
        @OptionGroup var target: StandbyTarget
        func run() throws { try target.set("off") }
    }
}
