import AgentTools
import ArgumentParser
import CIB
import CIBResourceEdits
import Foundation

/// A CIB file edited by one admin command as the stock tools edit it with `CIB_file`: read
/// under an exclusive lock, edited by a pure core, written back (atomic replace) only when the
/// document changed.
enum CIBFileEdit {
    static func run(_ option: String?, _ body: (inout CIBDocument) -> ToolOutcome) throws {
        let path = try CrmAttributeShell.cibPath(option)
        let outcome: ToolOutcome
        do {
            outcome = try edit(path: path, body)
        } catch {
            FileHandle.standardError.write(Data("baton: \(error)\n".utf8))
            throw ExitCode(1)
        }
        try CrmAttributeShell.finish(outcome)
    }

    static func edit(path: String, _ body: (inout CIBDocument) -> ToolOutcome) throws -> ToolOutcome {
        let store = CIBFileAttributeStore(path: path)
        let lock = open(path, O_RDONLY | O_CLOEXEC)
        guard lock >= 0 else { throw CIBFileAttributeStore.Failure(description: "\(path): \(String(cString: strerror(errno)))") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else { throw CIBFileAttributeStore.Failure(description: "\(path): lock: \(String(cString: strerror(errno)))") }
        let root: XMLElement
        do {
            root = try XMLCodec.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
            guard root.name == "cib" else { throw CIBFileAttributeStore.Failure(description: "the root element is <\(root.name)>, not <cib>") }
        } catch {
            throw CIBFileAttributeStore.Failure(description: "\(path): \(error)")
        }
        var document = CIBDocument(root: root)
        let outcome = body(&document)
        if document.root != root { try store.writeAtomically(XMLCodec.serialize(document.root)) }
        return outcome
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }
}

/// `baton crm resource move|ban|clear|enable|disable|manage|unmanage|cleanup|refresh|restart|fail`
/// in crm_resource's shapes, on a CIB file (`--cib FILE` or `CIB_file=FILE`) or, without one,
/// on the running cluster through this node's baton-crmd (CrmResourceLiveCommand.swift).
struct CrmResourceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resource",
        abstract: "Move, ban, clear, enable, disable, manage, unmanage, clean up a resource (crm_resource's CIB edits).",
        discussion: """
            The same constraints (cli-prefer-RSC, cli-ban-RSC-on-NODE, a date rule for --lifetime), meta attributes, \
            messages and exit statuses as crm_resource on the same CIB file (CIB_file=FILE). restart and fail need a \
            running cluster and refuse on a file, as crm_resource does; cleanup and refresh on a file are crm_resource's \
            dry run (nothing written).
            """,
        subcommands: [Move.self, Ban.self, Clear.self, Enable.self, Disable.self, Manage.self, Unmanage.self, SetMeta.self,
                      Cleanup.self, Refresh.self, Restart.self, Fail.self])

    /// The resource and CIB file every subcommand takes.
    struct Target: ParsableArguments {
        @Argument(help: "The resource's id.") var resource: String
        @Option(help: "The CIB file (default: $CIB_file; without either: the running cluster's, through baton-crmd).") var cib: String?
        @Option(help: "baton-crmd's admin socket (when no CIB file is named).") var socket = "/run/baton/crmd.sock"
        @Option(help: "Seconds to wait for baton-crmd (restart: for each of the stop and the start).") var timeout: Double = 120

        func validate() throws {
            guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be in (0, 3600] seconds") }
        }

        /// The CIB file named, or nil for the running cluster.
        var file: String? {
            if let path = cib ?? ProcessInfo.processInfo.environment["CIB_file"], !path.isEmpty { return path }
            return nil
        }

        var live: CrmdResourceEdit { CrmdResourceEdit(socket: socket, timeoutSeconds: timeout) }

        func run(_ command: ResourceEdits.Command) throws {
            guard file != nil else { return try live.run(command) }
            try CIBFileEdit.run(cib) { ResourceEdits.run(command, on: &$0, now: CIBFileEdit.now) }
        }
    }

    /// What move and ban take beside the target.
    struct Placement: ParsableArguments {
        @Option(name: [.customShort("N"), .customLong("node")], help: "The node (default: where the resource is active).") var node: String?
        @Option(name: [.customShort("u"), .customLong("lifetime")], help: "ISO 8601 duration the constraint lasts (e.g. PT1H).") var lifetime: String?
        @Flag(help: "Only the promoted role.") var promoted = false
        @Flag(name: [.customShort("f"), .customLong("force")], help: "move: also ban the current node; clear: any node's preference.") var force = false
    }

    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prefer NODE (cli-prefer-RSC); without -N ban the current node (crm_resource --move).")
        @OptionGroup var target: Target
        @OptionGroup var placement: Placement
        func run() throws {
            try target.run(.move(resource: target.resource, node: placement.node, lifetime: placement.lifetime, promoted: placement.promoted, force: placement.force))
        }
    }

    struct Ban: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Keep it off NODE (cli-ban-RSC-on-NODE, -INFINITY); without -N the current node (crm_resource --ban).")
        @OptionGroup var target: Target
        @OptionGroup var placement: Placement
        func run() throws {
            try target.run(.ban(resource: target.resource, node: placement.node, lifetime: placement.lifetime, promoted: placement.promoted, force: placement.force))
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the constraints move and ban made (on NODE) (crm_resource --clear).")
        @OptionGroup var target: Target
        @Option(name: [.customShort("N"), .customLong("node")], help: "Only this node's.") var node: String?
        @Flag(name: [.customShort("f"), .customLong("force")], help: "With -N: the preference whatever node it names.") var force = false
        func run() throws { try target.run(.clear(resource: target.resource, node: node, force: force)) }
    }

    /// enable, disable, manage, unmanage: one meta attribute (crm_resource --meta -p NAME -v VALUE).
    struct Meta: ParsableArguments {
        @OptionGroup var target: Target
        @Flag(name: [.customShort("f"), .customLong("force")], help: "Set it on this resource itself (not where it already is).") var force = false
        func set(_ name: String, _ value: String) throws {
            try target.run(.setMeta(resource: target.resource, name: name, value: value, force: force))
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "target-role Started (crm_resource --meta -p target-role -v Started).")
        @OptionGroup var meta: Meta
        func run() throws { try meta.set("target-role", "Started") }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "target-role Stopped (crm_resource --meta -p target-role -v Stopped).")
        @OptionGroup var meta: Meta
        func run() throws { try meta.set("target-role", "Stopped") }
    }

    struct Manage: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "is-managed true (crm_resource --meta -p is-managed -v true).")
        @OptionGroup var meta: Meta
        func run() throws { try meta.set("is-managed", "true") }
    }

    struct Unmanage: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "is-managed false (crm_resource --meta -p is-managed -v false).")
        @OptionGroup var meta: Meta
        func run() throws { try meta.set("is-managed", "false") }
    }

    struct SetMeta: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "meta",
            abstract: "Set a meta attribute, e.g. maintenance true, resource-stickiness 100 (crm_resource --meta -p NAME -v VALUE).")
        @OptionGroup var meta: Meta
        @Argument(help: "The meta attribute's name.") var name: String
        @Argument(help: "Its value.") var value: String
        func validate() throws {
            guard !name.isEmpty, !name.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "\"" || $0 == "&" }) else {
                throw ValidationError("meta attribute name '\(name)': expected a non-empty name without spaces or XML markup")
            }
        }
        func run() throws { try meta.set(name, value) }
    }

    /// cleanup and refresh: on a file the stock tool's dry run.
    struct History: ParsableArguments {
        @OptionGroup var target: Target
        @Option(name: [.customShort("N"), .customLong("node")], help: "Only this node's history.") var node: String?
        @Flag(name: [.customShort("f"), .customLong("force")], help: "This resource only, not its top resource.") var force = false
        @Option(name: [.customShort("n"), .customLong("operation")], help: "Only this operation's failures and history (running cluster).") var operation: String?
        @Option(name: [.customShort("I"), .customLong("interval")], help: "With --operation: only this interval (e.g. 10s).") var interval: String?

        /// On the running cluster: baton-crmd forgets; true when it did (no file named).
        func live(refresh: Bool) throws -> Bool {
            guard target.file == nil else { return false }
            try target.live.cleanup(target.resource, node: node, operation: operation, interval: interval, refresh: refresh, force: force)
            return true
        }
    }

    struct Cleanup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget failures (crm_resource --cleanup); on a file a dry run, as crm_resource's.")
        @OptionGroup var history: History
        func run() throws {
            if try history.live(refresh: false) { return }
            try history.target.run(.cleanup(resource: history.target.resource, node: history.node, refresh: false, force: history.force))
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget the history and re-probe (crm_resource --refresh); on a file a dry run, as crm_resource's.")
        @OptionGroup var history: History
        func run() throws {
            if try history.live(refresh: true) { return }
            try history.target.run(.cleanup(resource: history.target.resource, node: history.node, refresh: true, force: history.force))
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop and start it again (needs a running cluster; refused on a file).")
        @OptionGroup var target: Target
        func run() throws {
            guard target.file != nil else { return try target.live.restart(target.resource) }
            try target.run(.restart(resource: target.resource))
        }
    }

    struct Fail: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report a failure of it on NODE (needs the controller; refused on a file).")
        @OptionGroup var target: Target
        @Option(name: [.customShort("N"), .customLong("node")], help: "The node.") var node: String?
        func run() throws {
            guard target.file != nil else { return try target.live.fail(target.resource, node: node) }
            try target.run(.fail(resource: target.resource, node: node))
        }
    }
}
