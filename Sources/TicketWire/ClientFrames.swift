import TicketElection

/// What `baton` asks batond over the local admin socket.
public struct ClientRequest: Sendable, Equatable {
    public let id: UInt64
    public let command: ClientCommand

    public init(id: UInt64, command: ClientCommand) {
        self.id = id
        self.command = command
    }
}

public enum ClientCommand: Sendable, Equatable {
    case list
    case ticket(name: String, TicketCommand)
    case getAttribute(ticket: String, name: String)
    case listAttributes(ticket: String)
    case peers
    case status
}

/// An admin command as the CLI sends it: members by name (batond resolves them).
public enum TicketCommand: Sendable, Equatable {
    case grant(force: Bool, wait: Bool, waitForCommit: Bool)
    case revoke(wait: Bool)
    case standby
    case activate
    case move(to: String, wait: Bool)
    case setAttribute(name: String, value: String)
    case deleteAttribute(name: String)
}

public struct ClientReply: Sendable, Equatable {
    public let id: UInt64
    public let body: ReplyBody

    public init(id: UInt64, body: ReplyBody) {
        self.id = id
        self.body = body
    }
}

public enum ReplyBody: Sendable, Equatable {
    case outcome(OutcomeSummary)
    case tickets([TicketSummary])
    case attributes([Attribute])
    case peers([PeerSummary])
    case status(DaemonSummary)
    case error(String)
}

/// A command's outcome with members named, ready to print.
public struct OutcomeSummary: Sendable, Equatable {
    public let succeeded: Bool
    /// booth's words where booth has them ("grant succeeded!", "ticket is not owned").
    public let text: String
    /// For `grant`: the commit waits this long for a silent site.
    public let commitPending: Duration?

    public init(succeeded: Bool, text: String, commitPending: Duration? = nil) {
        self.succeeded = succeeded
        self.text = text
        self.commitPending = commitPending
    }
}

public struct Attribute: Sendable, Equatable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One line of `baton list`.
public struct TicketSummary: Sendable, Equatable {
    public let name: String
    public let manual: Bool
    public let term: UInt64
    /// The holder's member name, or nil for booth's "NONE".
    public let leader: String?
    public let leaseRemaining: Duration?
    public let commitPending: Duration?
    public let grantedHere: Bool
    public let standby: Bool
    public let manualHolders: [String]

    public init(
        name: String, manual: Bool, term: UInt64, leader: String?, leaseRemaining: Duration?, commitPending: Duration?,
        grantedHere: Bool, standby: Bool, manualHolders: [String]
    ) {
        self.name = name
        self.manual = manual
        self.term = term
        self.leader = leader
        self.leaseRemaining = leaseRemaining
        self.commitPending = commitPending
        self.grantedHere = grantedHere
        self.standby = standby
        self.manualHolders = manualHolders
    }
}

public struct PeerSummary: Sendable, Equatable {
    public let name: String
    public let site: Bool
    public let address: String
    public let connected: Bool
    public let lastHeard: Duration?

    public init(name: String, site: Bool, address: String, connected: Bool, lastHeard: Duration?) {
        self.name = name
        self.site = site
        self.address = address
        self.connected = connected
        self.lastHeard = lastHeard
    }
}

public struct DaemonSummary: Sendable, Equatable {
    public let name: String
    public let site: Bool
    public let tickets: Int
    public let uptime: Duration
    /// What booth's `status` prints of its daemon (pid, lock file, configuration name, own
    /// address and port), filled in by the daemon's shell; nil from a daemon that predates it.
    public var process: DaemonProcess?

    public init(name: String, site: Bool, tickets: Int, uptime: Duration, process: DaemonProcess? = nil) {
        self.name = name
        self.site = site
        self.tickets = tickets
        self.uptime = uptime
        self.process = process
    }
}

/// The running daemon as booth's `status` describes it (`booth_pid=… booth_cfg_name=…`).
public struct DaemonProcess: Sendable, Equatable {
    public let pid: UInt32
    public let lockFile: String
    public let configurationName: String
    public let address: String
    public let port: UInt16

    public init(pid: UInt32, lockFile: String, configurationName: String, address: String, port: UInt16) {
        self.pid = pid
        self.lockFile = lockFile
        self.configurationName = configurationName
        self.address = address
        self.port = port
    }
}

// MARK: - Encoding

let textMax = 4096
let listMax = 100_000

extension ClientRequest {
    func encode(into writer: inout ByteWriter) {
        writer.u64(id)
        switch command {
        case .list: writer.u8(1)
        case .ticket(let name, let command):
            writer.u8(2)
            writer.string(name, lengthMax: TicketPolicy.nameLengthMax)
            switch command {
            case .grant(let force, let wait, let commit):
                writer.u8(1)
                writer.bool(force)
                writer.bool(wait)
                writer.bool(commit)
            case .revoke(let wait):
                writer.u8(2)
                writer.bool(wait)
            case .standby: writer.u8(3)
            case .activate: writer.u8(4)
            case .move(let target, let wait):
                writer.u8(5)
                writer.string(target, lengthMax: 255)
                writer.bool(wait)
            case .setAttribute(let name, let value):
                writer.u8(6)
                writer.string(name, lengthMax: 255)
                writer.string(value, lengthMax: textMax)
            case .deleteAttribute(let name):
                writer.u8(7)
                writer.string(name, lengthMax: 255)
            }
        case .getAttribute(let ticket, let name):
            writer.u8(3)
            writer.string(ticket, lengthMax: TicketPolicy.nameLengthMax)
            writer.string(name, lengthMax: 255)
        case .listAttributes(let ticket):
            writer.u8(4)
            writer.string(ticket, lengthMax: TicketPolicy.nameLengthMax)
        case .peers: writer.u8(5)
        case .status: writer.u8(6)
        }
    }

    static func decode(_ reader: inout ByteReader) throws(WireError) -> ClientRequest {
        let id = try reader.u64("request id")
        let offset = reader.offset
        let command: ClientCommand
        switch try reader.u8("command") {
        case 1: command = .list
        case 2:
            let name = try reader.string("ticket name", lengthMax: TicketPolicy.nameLengthMax)
            let kindOffset = reader.offset
            let ticketCommand: TicketCommand
            switch try reader.u8("ticket command") {
            case 1: ticketCommand = .grant(force: try reader.bool("force"), wait: try reader.bool("wait"), waitForCommit: try reader.bool("commit"))
            case 2: ticketCommand = .revoke(wait: try reader.bool("wait"))
            case 3: ticketCommand = .standby
            case 4: ticketCommand = .activate
            case 5: ticketCommand = .move(to: try reader.string("move target", lengthMax: 255), wait: try reader.bool("wait"))
            case 6:
                ticketCommand = .setAttribute(
                    name: try reader.string("attribute name", lengthMax: 255), value: try reader.string("attribute value", lengthMax: textMax))
            case 7: ticketCommand = .deleteAttribute(name: try reader.string("attribute name", lengthMax: 255))
            case let other: throw .invalid(field: "ticket command", offset: kindOffset, reason: "code \(other)")
            }
            command = .ticket(name: name, ticketCommand)
        case 3:
            command = .getAttribute(
                ticket: try reader.string("ticket name", lengthMax: TicketPolicy.nameLengthMax),
                name: try reader.string("attribute name", lengthMax: 255))
        case 4: command = .listAttributes(ticket: try reader.string("ticket name", lengthMax: TicketPolicy.nameLengthMax))
        case 5: command = .peers
        case 6: command = .status
        case let other: throw .invalid(field: "command", offset: offset, reason: "code \(other)")
        }
        return ClientRequest(id: id, command: command)
    }
}

extension ClientReply {
    func encode(into writer: inout ByteWriter) {
        writer.u64(id)
        switch body {
        case .outcome(let outcome):
            writer.u8(1)
            writer.bool(outcome.succeeded)
            writer.string(outcome.text, lengthMax: textMax)
            encodeOptionalDuration(outcome.commitPending, into: &writer)
        case .tickets(let tickets):
            writer.u8(2)
            writer.u32(UInt32(tickets.count))
            for ticket in tickets {
                writer.string(ticket.name, lengthMax: TicketPolicy.nameLengthMax)
                writer.bool(ticket.manual)
                writer.u64(ticket.term)
                writer.string(ticket.leader ?? "", lengthMax: 255)
                encodeOptionalDuration(ticket.leaseRemaining, into: &writer)
                encodeOptionalDuration(ticket.commitPending, into: &writer)
                writer.bool(ticket.grantedHere)
                writer.bool(ticket.standby)
                writer.u8(UInt8(ticket.manualHolders.count))
                for holder in ticket.manualHolders { writer.string(holder, lengthMax: 255) }
            }
        case .attributes(let attributes):
            writer.u8(3)
            writer.u32(UInt32(attributes.count))
            for attribute in attributes {
                writer.string(attribute.name, lengthMax: 255)
                writer.string(attribute.value, lengthMax: textMax)
            }
        case .peers(let peers):
            writer.u8(4)
            writer.u8(UInt8(peers.count))
            for peer in peers {
                writer.string(peer.name, lengthMax: 255)
                writer.bool(peer.site)
                writer.string(peer.address, lengthMax: 255)
                writer.bool(peer.connected)
                encodeOptionalDuration(peer.lastHeard, into: &writer)
            }
        case .status(let status):
            writer.u8(5)
            writer.string(status.name, lengthMax: 255)
            writer.bool(status.site)
            writer.u32(UInt32(status.tickets))
            writer.i64(status.uptime.nanoseconds)
            // Appended last: a client reads them when present, so it still understands a daemon
            // that predates them (the upgrade's window before batond restarts).
            if let process = status.process {
                writer.u32(process.pid)
                writer.string(process.lockFile, lengthMax: 4096)
                writer.string(process.configurationName, lengthMax: 255)
                writer.string(process.address, lengthMax: 255)
                writer.u16(process.port)
            }
        case .error(let message):
            writer.u8(6)
            writer.string(message, lengthMax: textMax)
        }
    }

    static func decode(_ reader: inout ByteReader) throws(WireError) -> ClientReply {
        let id = try reader.u64("request id")
        let offset = reader.offset
        let body: ReplyBody
        switch try reader.u8("reply type") {
        case 1:
            body = .outcome(
                OutcomeSummary(
                    succeeded: try reader.bool("succeeded"), text: try reader.string("text", lengthMax: textMax),
                    commitPending: try decodeOptionalDuration(&reader, "commit pending")))
        case 2:
            let count = try decodeCount(&reader, "ticket count")
            var tickets: [TicketSummary] = []
            for _ in 0..<count {
                let name = try reader.string("ticket name", lengthMax: TicketPolicy.nameLengthMax)
                let manual = try reader.bool("manual")
                let term = try reader.u64("term")
                let leader = try reader.string("leader", lengthMax: 255)
                let remaining = try decodeOptionalDuration(&reader, "lease remaining")
                let pending = try decodeOptionalDuration(&reader, "commit pending")
                let granted = try reader.bool("granted here")
                let standby = try reader.bool("standby")
                let holderCount = Int(try reader.u8("manual holder count"))
                var holders: [String] = []
                for _ in 0..<holderCount { holders.append(try reader.string("manual holder", lengthMax: 255)) }
                tickets.append(
                    TicketSummary(
                        name: name, manual: manual, term: term, leader: leader.isEmpty ? nil : leader, leaseRemaining: remaining,
                        commitPending: pending, grantedHere: granted, standby: standby, manualHolders: holders))
            }
            body = .tickets(tickets)
        case 3:
            let count = try decodeCount(&reader, "attribute count")
            var attributes: [Attribute] = []
            for _ in 0..<count {
                attributes.append(
                    Attribute(name: try reader.string("attribute name", lengthMax: 255), value: try reader.string("attribute value", lengthMax: textMax)))
            }
            body = .attributes(attributes)
        case 4:
            let count = Int(try reader.u8("peer count"))
            var peers: [PeerSummary] = []
            for _ in 0..<count {
                peers.append(
                    PeerSummary(
                        name: try reader.string("peer name", lengthMax: 255), site: try reader.bool("site"),
                        address: try reader.string("address", lengthMax: 255), connected: try reader.bool("connected"),
                        lastHeard: try decodeOptionalDuration(&reader, "last heard")))
            }
            body = .peers(peers)
        case 5:
            let name = try reader.string("name", lengthMax: 255)
            let site = try reader.bool("site")
            let tickets = Int(try reader.u32("tickets"))
            let uptimeOffset = reader.offset
            let uptime = try reader.i64("uptime")
            guard uptime >= 0 else { throw .invalid(field: "uptime", offset: uptimeOffset, reason: "negative") }
            var process: DaemonProcess?
            if reader.remaining > 0 {
                process = DaemonProcess(
                    pid: try reader.u32("pid"), lockFile: try reader.string("lock file", lengthMax: 4096),
                    configurationName: try reader.string("configuration name", lengthMax: 255),
                    address: try reader.string("address", lengthMax: 255), port: try reader.u16("port"))
            }
            body = .status(DaemonSummary(name: name, site: site, tickets: tickets, uptime: .nanoseconds(uptime), process: process))
        case 6: body = .error(try reader.string("error", lengthMax: textMax))
        case let other: throw .invalid(field: "reply type", offset: offset, reason: "code \(other)")
        }
        return ClientReply(id: id, body: body)
    }
}

func encodeOptionalDuration(_ span: Duration?, into writer: inout ByteWriter) {
    writer.i64(span.map { max(0, $0.nanoseconds) } ?? -1)
}

func decodeOptionalDuration(_ reader: inout ByteReader, _ field: String) throws(WireError) -> Duration? {
    let offset = reader.offset
    let nanoseconds = try reader.i64(field)
    if nanoseconds == -1 { return nil }
    guard nanoseconds >= 0 && nanoseconds <= Frame.durationMax.nanoseconds else {
        throw .invalid(field: field, offset: offset, reason: "\(nanoseconds) ns")
    }
    return .nanoseconds(nanoseconds)
}

func decodeCount(_ reader: inout ByteReader, _ field: String) throws(WireError) -> Int {
    let offset = reader.offset
    let count = Int(try reader.u32(field))
    guard count <= listMax else { throw .invalid(field: field, offset: offset, reason: "\(count) over \(listMax)") }
    return count
}
