import ArgumentParser
import CIB
import CIBResourceEdits
import Foundation

/// `baton crm ticket grant|revoke|standby|activate TICKET [--force]`, `list`, `query-xml`: the
/// status section's ticket states as crm_ticket edits and shows them, on a CIB file, or, when
/// none is named (no --cib, no $CIB_file), on the live site through this node's baton-crmd (the
/// same edit, sent as the attributes it changed; answered once the DC's update is applied here).
struct CrmTicketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket",
        abstract: "Grant, revoke, standby, activate, list a ticket in a CIB (crm_ticket's edits).",
        discussion: """
            The site's own ticket states in the CIB's status section (ticket_state: granted, standby, last-granted), \
            as crm_ticket writes them with CIB_file=FILE, or on the live site through baton-crmd's socket when no CIB file \
            is named; batond's geo tickets are `baton grant|revoke`. \
            grant and revoke refuse without --force (exit 4), with crm_ticket's warnings.
            """,
        subcommands: [Grant.self, Revoke.self, Standby.self, Activate.self, List.self])

    struct Target: ParsableArguments {
        @Argument(help: "The ticket.") var ticket: String
        @Option(help: "The CIB file (default: $CIB_file; neither: the live site through baton-crmd).") var cib: String?
        @Option(help: "baton-crmd's admin socket (the live site).") var socket = "/run/baton/crmd.sock"

        func validate() throws {
            guard TicketEdits.validTicketID(ticket) else { throw ValidationError("'\(ticket)' is not a ticket id (1-256 bytes, no spaces, quotes or <>&)") }
        }

        func run(_ command: TicketEdits.Command) throws {
            try CrmTicketCommand.run(command, cib: cib, socket: socket)
        }
    }

    /// On the CIB file named, else on the live site: the CIB queried from baton-crmd, the
    /// same pure edit, and the attributes it changed sent to the DC through the socket.
    static func run(_ command: TicketEdits.Command, cib: String?, socket: String) throws {
        if let path = cib ?? ProcessInfo.processInfo.environment["CIB_file"], !path.isEmpty {
            return try CIBFileEdit.run(path) { TicketEdits.run(command, on: &$0, now: CIBFileEdit.now) }
        }
        let access = try CrmdCIBAccess.parse(["--socket", socket])
        let text = try access.send("cib query")
        let root: XMLElement
        do {
            root = try XMLCodec.parse(text)
        } catch {
            FileHandle.standardError.write(Data("baton: baton-crmd's CIB: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let before = CIBDocument(root: root)
        var after = before
        let outcome = TicketEdits.run(command, on: &after, now: CIBFileEdit.now)
        let changes = TicketEdits.changes(from: before, to: after)
        if outcome.exitCode == 0 && !changes.isEmpty {
            var body = ""
            for id in changes.keys.sorted() {
                for (name, value) in (changes[id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    body += value.map { "\(id) \(name) \($0)\n" } ?? "\(id) \(name)\n"
                }
            }
            let answer = try access.send("tickets apply", body: Array(body.utf8))
            guard answer.hasPrefix("ok") else {
                FileHandle.standardError.write(Data("baton: \(answer.hasPrefix("error: ") ? String(answer.dropFirst(7)) : answer)".utf8))
                throw ExitCode(1)
            }
        }
        try CrmAttributeShell.finish(outcome)
    }

    struct Grant: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "granted=true, last-granted now (crm_ticket -g; needs --force).")
        @OptionGroup var target: Target
        @Flag(name: [.customShort("f"), .customLong("force")], help: "Grant it.") var force = false
        func run() throws { try target.run(.grant(ticket: target.ticket, force: force)) }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "granted=false (crm_ticket -r; needs --force).")
        @OptionGroup var target: Target
        @Flag(name: [.customShort("f"), .customLong("force")], help: "Revoke it.") var force = false
        func run() throws { try target.run(.revoke(ticket: target.ticket, force: force)) }
    }

    struct Standby: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "standby=true (crm_ticket -s).")
        @OptionGroup var target: Target
        func run() throws { try target.run(.standby(ticket: target.ticket)) }
    }

    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "standby=false (crm_ticket -a).")
        @OptionGroup var target: Target
        func run() throws { try target.run(.activate(ticket: target.ticket)) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ID, granted or revoked, [standby], last-granted per ticket (crm_ticket -l); -q the state XML (crm_ticket -q).")
        @Option(name: [.customShort("t"), .customLong("ticket")], help: "Only this ticket.") var ticket: String?
        @Flag(name: [.customShort("q"), .customLong("query-xml")], help: "The tickets' state XML instead.") var queryXML = false
        @Option(help: "The CIB file (default: $CIB_file; neither: the live site through baton-crmd).") var cib: String?
        @Option(help: "baton-crmd's admin socket (the live site).") var socket = "/run/baton/crmd.sock"

        func run() throws {
            let command: TicketEdits.Command = queryXML ? .queryXML(ticket: ticket) : .list(ticket: ticket)
            try CrmTicketCommand.run(command, cib: cib, socket: socket)
        }
    }
}
