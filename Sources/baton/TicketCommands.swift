import ArgumentParser
import BatonConfig
import Foundation
import TicketElection
import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// Options every ticket command shares: which configuration, which member, how to print.
struct ClientOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Configuration file, or a bare name for /etc/baton/NAME.conf.")
    var config = "/etc/baton/baton.conf"
    @Option(name: .shortAndLong, help: "The member to ask (its batond on this machine); default: the only one running here.")
    var site: String?
    @Option(help: "The admin socket to use (overrides -c/-s).") var socket: String?
    @Option(help: "Directory of batond's admin sockets.") var runDirectory = "/run/baton"
    @Option(help: "Output: text (booth's shapes) or json.") var output: OutputFormat = .text
    @Option(help: "Seconds to wait for batond's answer.") var timeout: Int = 60

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    var configPath: String { config.contains("/") ? config : "/etc/baton/\(config).conf" }

    /// The configuration file's name without `.conf` (`geo1` for /etc/baton/geo1.conf): batond
    /// names its admin socket RUN-DIRECTORY/NAME-MEMBER.sock by it, one per configuration.
    var configurationFileName: String {
        var name = Substring(configPath.split(separator: "/").last ?? "baton")
        if name.hasSuffix(".conf") { name = name.dropLast(5) }
        return name.isEmpty ? "baton" : String(name)
    }

    func loadConfiguration() throws -> BatonConfiguration {
        do {
            return try BatonConfigurationParser.load(path: configPath).configuration
        } catch {
            throw CLIError(code: .badConfig, message: "\(error)")
        }
    }

    func socketPath() throws -> String {
        if let socket { return socket }
        let configuration = try loadConfiguration()
        if let member = site ?? configuration.identity {
            guard configuration.member(named: member) != nil else {
                throw CLIError(code: .badConfig, message: "\(configPath): no member named \"\(member)\"")
            }
            let name = configuration.member(named: member)!.certificateName
            return "\(runDirectory)/\(configurationFileName)-\(name).sock"
        }
        let prefix = "\(configurationFileName)-"
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: runDirectory)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".sock") }.sorted()
        switch candidates.count {
        case 1: return "\(runDirectory)/\(candidates[0])"
        case 0: throw CLIError(code: .notRunning, message: "batond is not running here (no \(runDirectory)/\(prefix)*.sock)")
        default:
            throw CLIError(code: .usage, message: "several members of \(configPath) run here (\(candidates.joined(separator: ", "))): pick one with -s")
        }
    }

    /// Asks the member's batond: through its admin socket on this machine, or, for `-s MEMBER`
    /// with no socket here, over TLS at MEMBER's address with this machine's member certificate.
    func ask(_ command: ClientCommand) async throws -> ReplyBody {
        let path = try socketPath()
        let id = UInt64(getpid()) << 32 | UInt64(UInt32(truncatingIfNeeded: Int(SystemTime.nowSeconds())))
        let request = ClientRequest(id: id, command: command)
        let reply: ClientReply
        if socket == nil, let member = site, !FileManager.default.fileExists(atPath: path) {
            let configuration = try loadConfiguration()
            guard let target = configuration.member(named: member) else {
                throw CLIError(code: .badConfig, message: "\(configPath): no member named \"\(member)\"")
            }
            reply = try await RemoteClient.request(request, to: target, configuration: configuration, timeoutSeconds: timeout)
        } else {
            reply = try SocketClient.request(request, socketPath: path, timeoutSeconds: timeout)
        }
        guard reply.id == id else { throw CLIError(code: .failed, message: "batond answered another request (id \(reply.id))") }
        return reply.body
    }
}

enum SystemTime {
    static func nowSeconds() -> Double { Date().timeIntervalSince1970 }

    /// booth's "2026-11-22 08:46:49", local time. With the C library's localtime_r and
    /// strftime, as booth does: a DateFormatter would start ICU, milliseconds of the CLI's
    /// start-up for one line.
    static func format(secondsFromNow: Double) -> String {
        var seconds = time_t((nowSeconds() + secondsFromNow).rounded(.down))
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "?" }
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        guard length > 0 else { return "?" }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Exit codes of the ticket commands (also in `baton --help`).
struct CLIError: Error, CustomStringConvertible {
    enum Code: Int32 {
        case failed = 1
        case notRunning = 7
        case badConfig = 6
        case usage = 64
    }

    let code: Code
    let message: String
    var description: String { message }
}

/// Why a unix-socket connection could not be made (strerror text where there is one).
enum UnixSocketFailure: Error {
    case socket(String)
    case pathTooLong
    case connect(String)
}

/// A stream socket connected to `path`, or why not (the descriptor is closed on failure).
func connectUnixSocket(_ path: String) -> Result<Int32, UnixSocketFailure> {
    let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return .failure(.socket(String(cString: strerror(errno)))) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let pathBytes = Array(path.utf8)
    guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
        close(descriptor)
        return .failure(.pathTooLong)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        buffer[pathBytes.count] = 0
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard connected == 0 else {
        let reason = String(cString: strerror(errno))
        close(descriptor)
        return .failure(.connect(reason))
    }
    return .success(descriptor)
}

/// One request, one reply, over batond's unix socket.
enum SocketClient {
    static func request(_ request: ClientRequest, socketPath: String, timeoutSeconds: Int) throws -> ClientReply {
        let descriptor: Int32
        switch connectUnixSocket(socketPath) {
        case .success(let connected): descriptor = connected
        case .failure(.socket(let reason)): throw CLIError(code: .failed, message: "socket: \(reason)")
        case .failure(.pathTooLong): throw CLIError(code: .usage, message: "socket path too long: \(socketPath)")
        case .failure(.connect(let reason)): throw CLIError(code: .notRunning, message: "batond is not running at \(socketPath) (\(reason))")
        }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Frame.request(request).encoded()
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw CLIError(code: .failed, message: "sending to batond: \(String(cString: strerror(errno)))") }
            sent += count
        }
        var splitter = FrameSplitter()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { throw CLIError(code: .failed, message: "batond closed the connection without answering") }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { throw CLIError(code: .failed, message: "no answer from batond within \(timeoutSeconds) s") }
                throw CLIError(code: .failed, message: "reading from batond: \(String(cString: strerror(errno)))")
            }
            do {
                for frame in try splitter.append(Array(buffer[0..<count])) {
                    if case .reply(let reply) = frame { return reply }
                }
            } catch {
                throw CLIError(code: .failed, message: "bad answer from batond: \(error)")
            }
        }
    }
}

/// Runs a client command and turns failures into messages and exit codes.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("baton: \(error.message)\n".utf8))
        throw ExitCode(error.code.rawValue)
    }
}

func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

func seconds(_ span: Duration?) -> Double? {
    span.map { Double($0.nanoseconds) / 1e9 }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the tickets and who holds them (booth's `list` lines).")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await runClient {
            guard case .tickets(let tickets) = try await options.ask(.list) else { throw CLIError(code: .failed, message: "unexpected answer to list") }
            let configuration = try? options.loadConfiguration()
            func address(_ name: String) -> String { configuration?.member(named: name)?.address ?? name }
            if options.output == .json {
                printJSON(tickets.map { ticket -> [String: Any] in
                    var entry: [String: Any] = [
                        "ticket": ticket.name, "mode": ticket.manual ? "manual" : "auto", "term": ticket.term,
                        "granted_here": ticket.grantedHere, "standby": ticket.standby,
                    ]
                    entry["leader"] = ticket.leader ?? NSNull()
                    entry["leader_address"] = ticket.leader.map(address) ?? NSNull()
                    entry["lease_remaining_seconds"] = seconds(ticket.leaseRemaining) ?? NSNull()
                    entry["commit_pending_seconds"] = seconds(ticket.commitPending) ?? NSNull()
                    entry["manual_holders"] = ticket.manualHolders
                    return entry
                })
                return
            }
            var warnings: [String] = []
            for ticket in tickets {
                guard let leader = ticket.leader else {
                    print("ticket: \(ticket.name), leader: NONE")
                    continue
                }
                if ticket.manual {
                    print("ticket: \(ticket.name), leader: \(address(leader)), expires: INF [manual mode]")
                    if ticket.manualHolders.count > 1 {
                        warnings.append("WARNING: The ticket \(ticket.name) is granted to multiple sites: \(ticket.manualHolders.map(address).joined(separator: ", ")). Revoke the ticket from the faulty sites.")
                    }
                    continue
                }
                var line = "ticket: \(ticket.name), leader: \(address(leader))"
                if let remaining = seconds(ticket.leaseRemaining) { line += ", expires: \(SystemTime.format(secondsFromNow: remaining))" }
                if let pending = seconds(ticket.commitPending) { line += " (commit pending until \(SystemTime.format(secondsFromNow: pending)))" }
                print(line)
            }
            if !warnings.isEmpty {
                print("")
                for warning in warnings { print(warning) }
            }
        }
    }
}

/// grant, revoke, standby, activate, move: one ticket command, one outcome.
func runTicketCommand(_ options: ClientOptions, ticket: String, _ command: TicketCommand) async throws {
    try await runClient {
        let body = try await options.ask(.ticket(name: ticket, command))
        switch body {
        case .outcome(let outcome):
            if options.output == .json {
                var entry: [String: Any] = ["ticket": ticket, "succeeded": outcome.succeeded, "message": outcome.text]
                entry["commit_pending_seconds"] = seconds(outcome.commitPending) ?? NSNull()
                printJSON(entry)
            } else if outcome.succeeded {
                print(outcome.text)
            }
            if !outcome.succeeded { throw CLIError(code: .failed, message: outcome.text) }
        case .error(let message):
            throw CLIError(code: .failed, message: message)
        default:
            throw CLIError(code: .failed, message: "unexpected answer from batond")
        }
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
        try await runClient {
            guard case .peers(let peers) = try await options.ask(.peers) else { throw CLIError(code: .failed, message: "unexpected answer to peers") }
            if options.output == .json {
                printJSON(peers.map { peer -> [String: Any] in
                    ["name": peer.name, "role": peer.site ? "site" : "arbitrator", "address": peer.address, "connected": peer.connected,
                     "last_heard_seconds": seconds(peer.lastHeard) ?? NSNull()]
                })
                return
            }
            for peer in peers {
                let heard = peer.lastHeard.map { String(format: "%.1f s ago", Double($0.nanoseconds) / 1e9) } ?? "never"
                print("\(peer.site ? "site" : "arbitrator"): \(peer.name) \(peer.address), \(peer.connected ? "connected" : "NOT connected"), last heard \(heard)")
            }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Is batond running here?",
        discussion: "Exit status (booth's): 0 running, 7 not running, 1 bad configuration.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        do {
            guard case .status(let status) = try await options.ask(.status) else { throw CLIError(code: .failed, message: "unexpected answer") }
            if options.output == .json {
                printJSON(["name": status.name, "role": status.site ? "site" : "arbitrator", "tickets": status.tickets,
                           "uptime_seconds": Double(status.uptime.nanoseconds) / 1e9, "running": true])
            } else {
                print("batond running: \(status.site ? "site" : "arbitrator") \(status.name), \(status.tickets) tickets, up \(status.uptime.nanoseconds / 1_000_000_000) s")
            }
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("baton: \(error.message)\n".utf8))
            switch error.code {
            case .badConfig: throw ExitCode(1)
            case .notRunning: throw ExitCode(7)
            default: throw ExitCode(7)
            }
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
            try await runClient {
                switch try await options.ask(.getAttribute(ticket: ticket, name: name)) {
                case .attributes(let attributes): for attribute in attributes { print(attribute.value) }
                case .error(let message): throw CLIError(code: .failed, message: message)
                default: throw CLIError(code: .failed, message: "unexpected answer")
                }
            }
        }
    }

    struct AttrList: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print every attribute of TICKET at this site.")
        @OptionGroup var options: ClientOptions
        @Argument var ticket: String
        func run() async throws {
            try await runClient {
                switch try await options.ask(.listAttributes(ticket: ticket)) {
                case .attributes(let attributes):
                    if options.output == .json {
                        printJSON(Dictionary(uniqueKeysWithValues: attributes.map { ($0.name, $0.value) }))
                    } else {
                        for attribute in attributes { print("\(attribute.name) \(attribute.value)") }
                    }
                case .error(let message): throw CLIError(code: .failed, message: message)
                default: throw CLIError(code: .failed, message: "unexpected answer")
                }
            }
        }
    }
}
