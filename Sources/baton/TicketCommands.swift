import ArgumentParser
import BatonClient
import BatonConfig
import Foundation
import TicketElection
import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// Options every ticket command shares: which configuration, which member, how to print.
/// The defaults and what they mean live in `ClientSettings` (BatonClient), which `baton`, the
/// small admin front, uses as well.
struct ClientOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file, or a bare name for /etc/baton/NAME.conf.")
    var config = ClientSettings.configDefault
    @Option(name: .shortAndLong, help: "The member to ask (its batond on this machine); default: the only one running here.")
    var site: String?
    @Option(help: "The admin socket to use (overrides -c/-s).") var socket: String?
    @Option(help: "Directory of batond's admin sockets.") var runDirectory = ClientSettings.runDirectoryDefault
    @Option(help: "Output: text (booth's shapes) or json.") var output: OutputFormat = .text
    @Option(help: "Seconds to wait for batond's answer.") var timeout: Int = ClientSettings.timeoutSecondsDefault

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    var settings: ClientSettings {
        ClientSettings(config: config, site: site, socket: socket, runDirectory: runDirectory, timeoutSeconds: timeout)
    }

    func loadConfiguration() throws -> BatonConfiguration { try settings.loadConfiguration() }

    /// Asks the member's batond: through its admin socket on this machine, or, for `-s MEMBER`
    /// with no socket here, over TLS at MEMBER's address with this machine's member certificate.
    func ask(_ command: ClientCommand) async throws -> ReplyBody {
        let settings = settings
        switch try settings.route() {
        case .socket(let path):
            return try settings.ask(command, socketPath: path)
        case .remote(let member):
            let configuration = try settings.loadConfiguration()
            guard let target = configuration.member(named: member) else {
                throw CLIError(code: .badConfig, message: "\(settings.configPath): no member named \"\(member)\"")
            }
            let request = settings.request(command)
            let reply = try await RemoteClient.request(request, to: target, configuration: configuration, timeoutSeconds: timeout)
            return try ClientSettings.body(of: reply, answering: request)
        }
    }
}

/// Runs a client command and turns failures into messages and exit codes.
func runClient(_ options: ClientOptions, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        reportFailure(error, exitStatus: error.code.rawValue, json: options.output == .json)
        throw ExitCode(error.code.rawValue)
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the tickets and who holds them (booth's `list` lines).")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient(options) {
            let tickets = try ExpectedAnswer.tickets(await options.ask(.list))
            let configuration = try? options.loadConfiguration()
            if options.output == .json {
                print(ClientJSON.list(tickets, configuration: configuration).text)
                return
            }
            for line in ClientText.list(tickets, configuration: configuration) { print(line) }
        }
    }
}

/// grant, revoke, standby, activate, move: one ticket command, one outcome.
func runTicketCommand(_ options: ClientOptions, ticket: String, _ command: TicketCommand) async throws {
    try await runClient(options) {
        let body = try await options.ask(.ticket(name: ticket, command))
        if options.output == .json, case .outcome(let outcome) = body {
            print(ClientJSON.outcome(ticket: ticket, outcome).text)
            if !outcome.succeeded { throw CLIError(code: .failed, message: outcome.text, printed: true) }
            return
        }
        print(try textOutcome(of: body))
    }
}

struct Grant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grant a ticket to this site.",
        discussion: "Exit status: 0 granted (or accepted without -w), 1 refused or failed, 6 bad configuration, 7 batond not running.")
    @OptionGroup var options: ClientOptions
    @Flag(name: .customShort("F"), help: "Grant even if a site is silent (no commit pending).") var force = false
    @Flag(name: .customShort("w"), help: "Wait for the outcome.") var wait = false
    @Flag(name: .customShort("C"), help: "With -w: wait until the grant is written to the CIB.") var commit = false
    @Argument(help: "The ticket.") var ticket: String

    func run() async throws { try await runTicketCommand(options, ticket: ticket, .grant(force: force, wait: wait || commit, waitForCommit: commit)) }
}

struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke a ticket (at the holder; elsewhere the request goes to the holder).",
        discussion: "Exit status: 0 revoked (or sent on), 1 refused or failed, 6 bad configuration, 7 batond not running.")
    @OptionGroup var options: ClientOptions
    @Flag(name: .customShort("w"), help: "Wait for the outcome.") var wait = false
    @Argument(help: "The ticket.") var ticket: String

    func run() async throws { try await runTicketCommand(options, ticket: ticket, .revoke(wait: wait)) }
}

struct Standby: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop what the ticket guards at the holder, keeping the ticket (no loss-policy).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The ticket.") var ticket: String
    func run() async throws { try await runTicketCommand(options, ticket: ticket, .standby) }
}

struct Activate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Undo standby at the holder.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The ticket.") var ticket: String
    func run() async throws { try await runTicketCommand(options, ticket: ticket, .activate) }
}

struct Move: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Planned handover: the holder stops what the ticket guards and hands the ticket to SITE.")
    @OptionGroup var options: ClientOptions
    @Option(help: "The site to move the ticket to.") var to: String
    @Flag(name: .customShort("w"), help: "Wait until SITE holds it.") var wait = false
    @Argument(help: "The ticket.") var ticket: String
    func run() async throws { try await runTicketCommand(options, ticket: ticket, .move(to: to, wait: wait)) }
}

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The other members as this member sees them.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient(options) {
            let peers = try ExpectedAnswer.peers(await options.ask(.peers))
            if options.output == .json {
                print(ClientJSON.peers(peers).text)
                return
            }
            for line in ClientText.peers(peers) { print(line) }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Is batond running here?",
        discussion: """
            Prints booth's line on stdout (booth_lockpid=… booth_state=started booth_type=site booth_cfg_name='…' \
            booth_addr_string='…' booth_port=…), the daemon's name, tickets and uptime on stderr; on an arbitrator \
            with baton-qdevice, the quorum device's sites, partitions and votes after them. \
            Exit status (booth's): 0 running, 7 not running, 1 bad configuration.
            """)
    @OptionGroup var options: ClientOptions
    @Option(help: "On an arbitrator: baton-qdevice's status socket, whose sites' partitions and votes are shown.")
    var qdeviceSocket = QuorumDeviceText.arbitratorSocket

    func run() async throws {
        do {
            let status = try ExpectedAnswer.status(await options.ask(.status))
            let device = status.site ? nil : QuorumDeviceText.arbitrator(socket: qdeviceSocket)
            if options.output == .json {
                print(ClientJSON.status(status, device: device).text)
            } else {
                let (out, err) = ClientText.statusOutput(status, device: device)
                print(out)
                if let err { writeStandardError(err + "\n") }
            }
        } catch let error as CLIError {
            reportFailure(error, exitStatus: statusExitCode(error), json: options.output == .json)
            throw ExitCode(statusExitCode(error))
        }
    }
}

struct Attr: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Site attributes of a ticket (booth's geostore), for attr-prereq.",
        subcommands: [AttrSet.self, AttrGet.self, AttrList.self, AttrDelete.self])

    struct AttrSet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Set NAME to VALUE for TICKET at this site.")
        @OptionGroup var options: ClientOptions
        @Argument var ticket: String
        @Argument var name: String
        @Argument var value: String
        func validate() throws {
            if name.isEmpty || name.utf8.count > AttributeLimits.nameBytesMax {
                throw ValidationError("attribute name of \(name.utf8.count) bytes: names take 1 to \(AttributeLimits.nameBytesMax) bytes")
            }
            if value.utf8.count > AttributeLimits.valueBytesMax {
                throw ValidationError("attribute value of \(value.utf8.count) bytes is over the limit of \(AttributeLimits.valueBytesMax)")
            }
        }
        func run() async throws { try await runTicketCommand(options, ticket: ticket, .setAttribute(name: name, value: value)) }
    }

    struct AttrDelete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete NAME for TICKET at this site.")
        @OptionGroup var options: ClientOptions
        @Argument var ticket: String
        @Argument var name: String
        func run() async throws { try await runTicketCommand(options, ticket: ticket, .deleteAttribute(name: name)) }
    }

    struct AttrGet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Print NAME of TICKET at this site.")
        @OptionGroup var options: ClientOptions
        @Argument var ticket: String
        @Argument var name: String
        func run() async throws {
            try await runClient(options) {
                let body = try await options.ask(.getAttribute(ticket: ticket, name: name))
                for line in try ClientText.attributeLines(of: body, valuesOnly: true) { print(line) }
            }
        }
    }

    struct AttrList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print every attribute of TICKET at this site.")
        @OptionGroup var options: ClientOptions
        @Argument var ticket: String
        func run() async throws {
            try await runClient(options) {
                let body = try await options.ask(.listAttributes(ticket: ticket))
                if options.output == .json, case .attributes(let attributes) = body {
                    print(ClientJSON.attributes(attributes).text)
                    return
                }
                for line in try ClientText.attributeLines(of: body, valuesOnly: false) { print(line) }
            }
        }
    }
}
