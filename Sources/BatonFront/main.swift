import BatonClient
import BatonConfig
import ExecutablePath

#if canImport(Glibc)
import Glibc
#endif

// `baton`, the command admins type. The ticket commands with text output through this
// machine's admin socket (what scripts and people run most: list, grant, revoke, status, …)
// are answered here, by a small executable that links neither ArgumentParser nor Foundation,
// OpenSSL, libxml2 or Corosync: its start-up is a few milliseconds where the full command line
// took about 19 (README, "start-up"). Everything else — help, the lab commands,
// `-s MEMBER` over TLS, every usage error — is handed unchanged (same argv, same environment) to
// `baton-full` next to this executable, so that output, messages and exit codes are one
// program's. Both print the ticket answers with BatonClient's code.

/// `baton-full` in the directory of this executable (symbolic links resolved), run in this
/// process's place; returns only if it could not be run.
func runFull() -> Never {
    let full = ExecutablePath.directory(of: ExecutablePath.current() ?? CommandLine.arguments[0]) + "/baton-full"
    let argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
    execv(full, argv)
    reportFailure("cannot run \(full): \(String(cString: strerror(errno)))")
    exit(127)
}

func fail(_ error: CLIError, status: Bool, json: Bool) -> Never {
    let code = status ? statusExitCode(error) : error.code.rawValue
    reportFailure(error, exitStatus: code, json: json)
    exit(code)
}

guard let line = AdminCommandLine.parse(Array(CommandLine.arguments.dropFirst())) else { runFull() }
let settings = line.settings
let isStatus = line.command == .status
do throws(CLIError) {
    guard case .socket(let path) = try settings.route() else { runFull() }  // TLS to another member
    switch line.command {
    case .list:
        let tickets = try ExpectedAnswer.tickets(settings.ask(.list, socketPath: path))
        let configuration = try? settings.loadConfiguration()
        if line.json {
            print(ClientJSON.list(tickets, configuration: configuration).text)
        } else {
            for output in ClientText.list(tickets, configuration: configuration) { print(output) }
        }
    case .peers:
        let peers = try ExpectedAnswer.peers(settings.ask(.peers, socketPath: path))
        if line.json {
            print(ClientJSON.peers(peers).text)
        } else {
            for output in ClientText.peers(peers) { print(output) }
        }
    case .status:
        let status = try ExpectedAnswer.status(settings.ask(.status, socketPath: path))
        let device = status.site ? nil : QuorumDeviceText.arbitrator()
        if line.json {
            print(ClientJSON.status(status, device: device).text)
        } else {
            let (out, err) = ClientText.statusOutput(status, device: device)
            print(out)
            if let err { writeStandardError(err + "\n") }
        }
    case .ticket(let ticket, let command):
        let body = try settings.ask(.ticket(name: ticket, command), socketPath: path)
        if line.json, case .outcome(let outcome) = body {
            print(ClientJSON.outcome(ticket: ticket, outcome).text)
            if !outcome.succeeded { throw CLIError(code: .failed, message: outcome.text, printed: true) }
        } else {
            print(try textOutcome(of: body))
        }
    case .getAttribute(let ticket, let name):
        let body = try settings.ask(.getAttribute(ticket: ticket, name: name), socketPath: path)
        for output in try ClientText.attributeLines(of: body, valuesOnly: true) { print(output) }
    case .listAttributes(let ticket):
        let body = try settings.ask(.listAttributes(ticket: ticket), socketPath: path)
        if line.json, case .attributes(let attributes) = body {
            print(ClientJSON.attributes(attributes).text)
        } else {
            for output in try ClientText.attributeLines(of: body, valuesOnly: false) { print(output) }
        }
    }
} catch {
    fail(error, status: isStatus, json: line.json)
}
exit(0)
