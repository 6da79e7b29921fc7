import TicketElection
import TicketWire

/// The command lines `baton`, the small admin front, answers by itself: the ticket commands
/// (list, grant, revoke, standby, activate, move, peers, status, attr) with text or JSON output
/// through the admin socket of this machine, written in the forms `baton-full`'s ArgumentParser
/// reads the same way. Anything else — help, lab commands, a usage error, an option
/// written another way (`--config=X`, `-wC`, given twice), a value that starts with `-` — is
/// not parsed here (`parse` returns nil) and the front hands the whole command line to
/// `baton-full`, so every such message and exit code is ArgumentParser's, unchanged.
public struct AdminCommandLine: Sendable, Equatable {
    public enum Command: Sendable, Equatable {
        case list
        case peers
        case status
        case ticket(name: String, TicketCommand)
        case getAttribute(ticket: String, name: String)
        case listAttributes(ticket: String)
    }

    public var command: Command
    public var settings: ClientSettings
    /// `--output json` (ClientJSON); text otherwise.
    public var json = false

    /// Arguments after the program name; nil when `baton-full` must read them.
    public static func parse(_ arguments: [String]) -> AdminCommandLine? {
        guard let first = arguments.first else { return nil }
        var rest = arguments.dropFirst()
        let name: String
        if first == "attr" {
            guard let sub = rest.first else { return nil }
            name = "attr " + sub
            rest = rest.dropFirst()
        } else {
            name = first
        }
        guard let shape = shapes[name] else { return nil }
        guard let read = read(Array(rest), flags: shape.flags, options: shape.options) else { return nil }
        guard read.positionals.count == shape.positionals else { return nil }
        var settings = ClientSettings()
        var json = false
        for (option, value) in read.values {
            switch option {
            case "-c", "--config": settings.config = value
            case "-s", "--site": settings.site = value
            case "--socket": settings.socket = value
            case "--run-directory": settings.runDirectory = value
            case "--output":
                guard value == "text" || value == "json" else { return nil }  // ArgumentParser words the refusal
                json = value == "json"
            case "--timeout":
                guard let seconds = Int(value) else { return nil }
                settings.timeoutSeconds = seconds
            case "--to": break
            default: return nil
            }
        }
        let flags = read.flags
        let positionals = read.positionals
        let command: Command
        switch name {
        case "list": command = .list
        case "peers": command = .peers
        case "status": command = .status
        case "grant":
            let commit = flags.contains("-C")
            command = .ticket(name: positionals[0], .grant(force: flags.contains("-F"), wait: flags.contains("-w") || commit, waitForCommit: commit))
        case "revoke": command = .ticket(name: positionals[0], .revoke(wait: flags.contains("-w")))
        case "standby": command = .ticket(name: positionals[0], .standby)
        case "activate": command = .ticket(name: positionals[0], .activate)
        case "move":
            guard let site = read.values.first(where: { $0.0 == "--to" })?.1 else { return nil }  // required: ArgumentParser says so
            command = .ticket(name: positionals[0], .move(to: site, wait: flags.contains("-w")))
        case "attr set":
            let (attribute, value) = (positionals[1], positionals[2])
            // baton-full's validate() words these refusals.
            guard !attribute.isEmpty, attribute.utf8.count <= AttributeLimits.nameBytesMax,
                  value.utf8.count <= AttributeLimits.valueBytesMax
            else { return nil }
            command = .ticket(name: positionals[0], .setAttribute(name: attribute, value: value))
        case "attr delete": command = .ticket(name: positionals[0], .deleteAttribute(name: positionals[1]))
        case "attr get": command = .getAttribute(ticket: positionals[0], name: positionals[1])
        case "attr list": command = .listAttributes(ticket: positionals[0])
        default: return nil
        }
        return AdminCommandLine(command: command, settings: settings, json: json)
    }

    /// Each command's positional count, flags and options beyond the shared ones.
    private struct Shape {
        let positionals: Int
        let flags: Set<String>
        let options: Set<String>
    }

    private static let sharedOptions: Set<String> = ["-c", "--config", "-s", "--site", "--socket", "--run-directory", "--output", "--timeout"]

    private static let shapes: [String: Shape] = [
        "list": Shape(positionals: 0, flags: [], options: sharedOptions),
        "peers": Shape(positionals: 0, flags: [], options: sharedOptions),
        "status": Shape(positionals: 0, flags: [], options: sharedOptions),
        "grant": Shape(positionals: 1, flags: ["-F", "-w", "-C"], options: sharedOptions),
        "revoke": Shape(positionals: 1, flags: ["-w"], options: sharedOptions),
        "standby": Shape(positionals: 1, flags: [], options: sharedOptions),
        "activate": Shape(positionals: 1, flags: [], options: sharedOptions),
        "move": Shape(positionals: 1, flags: ["-w"], options: sharedOptions.union(["--to"])),
        "attr set": Shape(positionals: 3, flags: [], options: sharedOptions),
        "attr delete": Shape(positionals: 2, flags: [], options: sharedOptions),
        "attr get": Shape(positionals: 2, flags: [], options: sharedOptions),
        "attr list": Shape(positionals: 1, flags: [], options: sharedOptions),
    ]

    /// Flags, option values (short and long spellings as written) and positionals, or nil for
    /// anything not in the plain forms `-x`, `--name VALUE`, `-x VALUE`, `ARGUMENT`.
    private static func read(_ tokens: [String], flags: Set<String>, options: Set<String>)
        -> (flags: Set<String>, values: [(String, String)], positionals: [String])?
    {
        var seenFlags: Set<String> = []
        var values: [(String, String)] = []
        var seenOptions: Set<String> = []
        var positionals: [String] = []
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            index += 1
            guard token.hasPrefix("-") else {
                guard token != "help" else { return nil }  // ArgumentParser's word: leave it to baton-full
                positionals.append(token)
                continue
            }
            if flags.contains(token) {
                guard seenFlags.insert(token).inserted else { return nil }
                continue
            }
            guard options.contains(token), index < tokens.count, !tokens[index].hasPrefix("-") else { return nil }
            // -c and --config are one option: given twice in any spelling, baton-full decides.
            guard seenOptions.insert(canonical(token)).inserted else { return nil }
            values.append((token, tokens[index]))
            index += 1
        }
        return (seenFlags, values, positionals)
    }

    private static func canonical(_ option: String) -> String {
        switch option {
        case "-c": "--config"
        case "-s": "--site"
        default: option
        }
    }
}
