import BatonConfig
import TicketElection
import TicketWire

/// A JSON value as the ticket commands print it (`--output json`), written without Foundation
/// so that `baton`, the small front, answers JSON as fast as text: monitoring scripts call
/// `baton list --output json` every few seconds.
public indirect enum JSONValue: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// Keys are written sorted, so that the output is stable.
    case object([String: JSONValue])

    /// Pretty-printed (two spaces a level, `"key" : value` as Foundation's serializer wrote it),
    /// keys sorted, no trailing newline.
    public var text: String {
        var output = ""
        write(into: &output, indent: 0)
        return output
    }

    private func write(into output: inout String, indent: Int) {
        switch self {
        case .string(let value): Self.quote(value, into: &output)
        case .integer(let value): output += String(value)
        case .number(let value):
            // JSON has no NaN or infinity: null, as a reader would take an unknown figure.
            if value.isFinite {
                output += value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            } else {
                output += "null"
            }
        case .bool(let value): output += value ? "true" : "false"
        case .null: output += "null"
        case .array(let values):
            guard !values.isEmpty else { return output += "[]" }
            output += "[\n"
            for (index, value) in values.enumerated() {
                output += String(repeating: " ", count: indent + 2)
                value.write(into: &output, indent: indent + 2)
                output += index == values.count - 1 ? "\n" : ",\n"
            }
            output += String(repeating: " ", count: indent) + "]"
        case .object(let members):
            guard !members.isEmpty else { return output += "{}" }
            output += "{\n"
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                output += String(repeating: " ", count: indent + 2)
                Self.quote(key, into: &output)
                output += " : "
                members[key]!.write(into: &output, indent: indent + 2)
                output += index == keys.count - 1 ? "\n" : ",\n"
            }
            output += String(repeating: " ", count: indent) + "}"
        }
    }

    private static func quote(_ text: String, into output: inout String) {
        output += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}

extension JSONValue {
    static func seconds(_ span: Duration?) -> JSONValue {
        BatonClient.seconds(span).map(JSONValue.number) ?? .null
    }
    static func optional(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
}

/// The ticket commands' JSON answers; `baton` and `baton-full` print these.
public enum ClientJSON {
    /// `list`: one object per ticket.
    public static func list(_ tickets: [TicketSummary], configuration: BatonConfiguration?) -> JSONValue {
        func address(_ name: String) -> String { configuration?.member(named: name)?.address ?? name }
        return .array(tickets.map { ticket in
            .object([
                "ticket": .string(ticket.name), "mode": .string(ticket.manual ? "manual" : "auto"), "term": .integer(Int(clamping: ticket.term)),
                "granted_here": .bool(ticket.grantedHere), "standby": .bool(ticket.standby),
                "leader": .optional(ticket.leader), "leader_address": .optional(ticket.leader.map(address)),
                "lease_remaining_seconds": .seconds(ticket.leaseRemaining), "commit_pending_seconds": .seconds(ticket.commitPending),
                "manual_holders": .array(ticket.manualHolders.map(JSONValue.string)),
            ])
        })
    }

    /// grant, revoke, standby, activate, move.
    /// A failure with `--output json`: `{"error": MESSAGE, "exit_status": N}` (N the process's
    /// exit status: 1 refused or failed, 6 bad configuration, 7 batond not running, 64 bad
    /// command line; `status` uses booth's codes).
    public static func error(_ message: String, exitStatus: Int32) -> JSONValue {
        .object(["error": .string(message), "exit_status": .integer(Int(exitStatus))])
    }

    public static func outcome(ticket: String, _ outcome: OutcomeSummary) -> JSONValue {
        .object([
            "ticket": .string(ticket), "succeeded": .bool(outcome.succeeded), "message": .string(outcome.text),
            "commit_pending_seconds": .seconds(outcome.commitPending),
        ])
    }

    public static func peers(_ peers: [PeerSummary]) -> JSONValue {
        .array(peers.map { peer in
            .object([
                "name": .string(peer.name), "role": .string(peer.site ? "site" : "arbitrator"), "address": .string(peer.address),
                "connected": .bool(peer.connected), "last_heard_seconds": .seconds(peer.lastHeard),
            ])
        })
    }

    public static func status(_ status: DaemonSummary, device: String? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(status.name), "role": .string(status.site ? "site" : "arbitrator"), "tickets": .integer(status.tickets),
            "uptime_seconds": .number(Double(status.uptime.nanoseconds) / 1e9), "running": .bool(true),
        ]
        if let process = status.process {
            fields["pid"] = .integer(Int(process.pid))
            fields["lock_file"] = .string(process.lockFile)
            fields["configuration_name"] = .string(process.configurationName)
            fields["address"] = .string(process.address)
            fields["port"] = .integer(Int(process.port))
        }
        if let device { fields["quorum_device"] = .string(device) }
        return .object(fields)
    }

    /// `attr list`: name → value.
    public static func attributes(_ attributes: [Attribute]) -> JSONValue {
        .object(Dictionary(attributes.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { _, last in last }))
    }
}
