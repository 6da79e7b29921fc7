import BatonConfig
import TicketElection
import TicketWire

#if canImport(Glibc)
import Glibc
#endif

/// What every ticket command needs to reach a batond: which configuration, which member, which
/// socket. Shared by `baton` (the small admin front, which parses its few options by hand) and
/// `baton-full` (ArgumentParser): both find the socket, send the request and print the answer
/// with this code, so their output, messages and exit codes cannot drift apart.
/// No Foundation here: the front links none of it (it would cost the start-up this exists for).
public struct ClientSettings: Sendable, Equatable {
    public static let configDefault = "/etc/baton/baton.conf"
    public static let runDirectoryDefault = "/run/baton"
    public static let timeoutSecondsDefault = 60

    public var config: String
    public var site: String?
    public var socket: String?
    public var runDirectory: String
    public var timeoutSeconds: Int

    public init(
        config: String = configDefault, site: String? = nil, socket: String? = nil, runDirectory: String = runDirectoryDefault,
        timeoutSeconds: Int = timeoutSecondsDefault
    ) {
        self.config = config
        self.site = site
        self.socket = socket
        self.runDirectory = runDirectory
        self.timeoutSeconds = timeoutSeconds
    }

    public var configPath: String { config.contains("/") ? config : "/etc/baton/\(config).conf" }

    /// The configuration file's name without `.conf` (`geo1` for /etc/baton/geo1.conf): batond
    /// names its admin socket RUN-DIRECTORY/NAME-MEMBER.sock by it, one per configuration.
    public var configurationFileName: String {
        var name = Substring(configPath.split(separator: "/").last ?? "baton")
        if name.hasSuffix(".conf") { name = name.dropLast(5) }
        return name.isEmpty ? "baton" : String(name)
    }

    public func loadConfiguration() throws(CLIError) -> BatonConfiguration {
        do {
            return try BatonConfigurationParser.load(path: configPath).configuration
        } catch {
            throw CLIError(code: .badConfig, message: "\(error)")
        }
    }

    public func socketPath() throws(CLIError) -> String {
        if let socket { return socket }
        let configuration = try loadConfiguration()
        if let member = site ?? configuration.identity {
            guard let found = configuration.member(named: member) else {
                throw CLIError(code: .badConfig, message: "\(configPath): no member named \"\(member)\"")
            }
            return "\(runDirectory)/\(configurationFileName)-\(found.certificateName).sock"
        }
        let prefix = "\(configurationFileName)-"
        let candidates = directoryEntries(runDirectory).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".sock") }.sorted()
        switch candidates.count {
        case 1: return "\(runDirectory)/\(candidates[0])"
        case 0: throw CLIError(code: .notRunning, message: "batond is not running here (no \(runDirectory)/\(prefix)*.sock)")
        default:
            throw CLIError(code: .usage, message: "several members of \(configPath) run here (\(candidates.joined(separator: ", "))): pick one with -s")
        }
    }

    /// Where the request goes: the admin socket on this machine, or, for `-s MEMBER` with no
    /// socket of MEMBER here, MEMBER over TLS (which only `baton-full` speaks).
    public enum Route: Sendable, Equatable {
        case socket(String)
        case remote(member: String)
    }

    public func route() throws(CLIError) -> Route {
        let path = try socketPath()
        if socket == nil, let member = site, !fileExists(path) { return .remote(member: member) }
        return .socket(path)
    }

    /// A request with an id made of this process and the time, so a stray reply is told apart.
    public func request(_ command: ClientCommand) -> ClientRequest {
        let id = UInt64(getpid()) << 32 | UInt64(UInt32(truncatingIfNeeded: Int(SystemTime.nowSeconds())))
        return ClientRequest(id: id, command: command)
    }

    /// The reply's body, after checking it answers `request`.
    public static func body(of reply: ClientReply, answering request: ClientRequest) throws(CLIError) -> ReplyBody {
        guard reply.id == request.id else { throw CLIError(code: .failed, message: "batond answered another request (id \(reply.id))") }
        return reply.body
    }

    /// One command through the admin socket at `path`.
    public func ask(_ command: ClientCommand, socketPath path: String) throws(CLIError) -> ReplyBody {
        let request = request(command)
        let reply = try SocketClient.request(request, socketPath: path, timeoutSeconds: timeoutSeconds)
        return try Self.body(of: reply, answering: request)
    }
}

/// The names in `directory` (none when it cannot be read), with opendir/readdir.
func directoryEntries(_ directory: String) -> [String] {
    guard let handle = opendir(directory) else { return [] }
    defer { closedir(handle) }
    var names: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Exit codes of the ticket commands (also in `baton --help`).
public struct CLIError: Error, CustomStringConvertible, Equatable {
    public enum Code: Int32, Sendable {
        case failed = 1
        case notRunning = 7
        case badConfig = 6
        case usage = 64
    }

    public let code: Code
    public let message: String
    /// The answer was printed already (a refused command's JSON outcome): only the exit
    /// status is left to give.
    public let printed: Bool
    public var description: String { message }

    public init(code: Code, message: String, printed: Bool = false) {
        self.code = code
        self.message = message
        self.printed = printed
    }
}

/// Writes `baton: MESSAGE` and a newline on standard error, unbuffered, as the commands report failures.
/// A failure as the command line reports it: `baton: MESSAGE` on stderr, or with `--output
/// json` the error object on stdout (ClientJSON.error), so a script reads one JSON document
/// either way. Nothing when the answer was printed already.
public func reportFailure(_ error: CLIError, exitStatus: Int32, json: Bool) {
    if error.printed { return }
    if json {
        print(ClientJSON.error(error.message, exitStatus: exitStatus).text)
    } else {
        reportFailure(error.message)
    }
}

public func reportFailure(_ message: String) {
    writeStandardError("baton: \(message)\n")
}

/// `text` on standard error, unbuffered.
public func writeStandardError(_ text: String) {
    let line = Array(text.utf8)
    var written = 0
    while written < line.count {
        let count = line.withUnsafeBytes { write(2, $0.baseAddress! + written, line.count - written) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return }
        written += count
    }
}

public enum SystemTime {
    public static func nowSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// booth's "2026-11-22 08:46:49", local time. With the C library's localtime_r and
    /// strftime, as booth does: a DateFormatter would start ICU, milliseconds of the CLI's
    /// start-up for one line.
    public static func format(secondsFromNow: Double) -> String {
        var seconds = time_t((nowSeconds() + secondsFromNow).rounded(.down))
        var parts = tm()
        guard localtime_r(&seconds, &parts) != nil else { return "?" }
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        guard length > 0 else { return "?" }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A span in seconds, for the text and JSON answers.
public func seconds(_ span: Duration?) -> Double? {
    span.map { Double($0.nanoseconds) / 1e9 }
}

/// `status` answers in booth's exit codes: 1 for a bad configuration, 7 for anything else that
/// kept it from an answer.
public func statusExitCode(_ error: CLIError) -> Int32 {
    error.code == .badConfig ? 1 : 7
}
