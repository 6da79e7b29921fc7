import ArgumentParser
import CIBResourceEdits

/// `baton crm ticket grant|revoke|standby|activate TICKET [--force]`, `list`, `query-xml`: the
/// status section's ticket states as crm_ticket edits and shows them, on a CIB file.
struct CrmTicketCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket",
        abstract: "Grant, revoke, standby, activate, list a ticket in a CIB (crm_ticket's edits).",
        discussion: """
            The site's own ticket states in the CIB's status section (ticket_state: granted, standby, last-granted), \
            as crm_ticket writes them with CIB_file=FILE; batond's geo tickets are `baton grant|revoke`. \
            grant and revoke refuse without --force (exit 4), with crm_ticket's warnings.
            """,
        subcommands: [Grant.self, Revoke.self, Standby.self, Activate.self, List.self])

    struct Target: ParsableArguments {
        @Argument(help: "The ticket.") var ticket: String
        @Option(help: "The CIB file (default: $CIB_file).") var cib: String?

        func validate() throws {
            guard TicketEdits.validTicketID(ticket) else { throw ValidationError("'\(ticket)' is not a ticket id (1-256 bytes, no spaces, quotes or <>&)") }
        }

        func run(_ command: TicketEdits.Command) throws {
            try CIBFileEdit.run(cib) { TicketEdits.run(command, on: &$0, now: CIBFileEdit.now) }
        }
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
        @Option(help: "The CIB file (default: $CIB_file).") var cib: String?

        func run() throws {
            let command: TicketEdits.Command = queryXML ? .queryXML(ticket: ticket) : .list(ticket: ticket)
            try CIBFileEdit.run(cib) { TicketEdits.run(command, on: &$0, now: CIBFileEdit.now) }
        }
    }
}
