/// Why a configuration was rejected. Every case says what was wrong in words an admin reads;
/// `ConfigurationError` adds where.
public enum ConfigurationRejection: Sendable, Equatable {
    case malformedLine(String)
    case unterminatedQuote
    case lineTooLong(length: Int)
    case tooManyLines
    case unknownKey(String)
    case emptyValue(key: String)
    case invalidPort(String)
    case invalidDuration(key: String, value: String)
    case durationOutOfRange(key: String, value: String)
    case invalidInteger(key: String, value: String)
    case retriesOutOfRange(Int)
    case invalidName(kind: String, name: String)
    case invalidAddress(String)
    case invalidMemberAttribute(String)
    case duplicateMember(String, firstLine: Int)
    case duplicateTicket(String, firstLine: Int)
    case tooManyMembers(Int)
    case tooManyTickets(Int)
    case noSite
    case invalidMode(String)
    case invalidTransport(String)
    case invalidAttributePrerequisite(String)
    case invalidWeights(String)
    case tooManyWeights(given: Int, members: Int)
    case retryBudgetNotBelowRenewal(ticket: String, timeout: Duration, retries: Int, renewalFrequency: Duration)
    case renewalNotBelowExpire(ticket: String, renewalFrequency: Duration, expire: Duration)
    case stopBeforeTooLong(ticket: String, stopBefore: Duration, expire: Duration, renewalFrequency: Duration)
    case unknownIdentity(String)
    case incompleteTransportSecurity(missing: [String])
    case invalidAccountName(key: String, value: String)
    case invalidDebugLevel(String)
    case unreadableFile(String)
    case invalidAdminFrom(String)
    case unknownAdminMember(String)
    case invalidClockDrift(String)
    case clockDriftOutOfRange(String)

    public var reason: String {
        switch self {
        case .malformedLine(let text): return "expected 'key = value', got '\(text)'"
        case .unterminatedQuote: return "unterminated quoted value"
        case .lineTooLong(let length): return "line is \(length) bytes long, at most \(Limits.lineLengthMaximum) allowed"
        case .tooManyLines: return "file has more than \(Limits.linesMaximum) lines"
        case .unknownKey(let key): return "unknown key '\(key)'"
        case .emptyValue(let key): return "'\(key)' needs a value"
        case .invalidPort(let value): return "port '\(value)' is not a number in 1...65535"
        case .invalidDuration(let key, let value): return "\(key) '\(value)' is not a time span (seconds, 'Ns' or 'Nms')"
        case .durationOutOfRange(let key, let value): return "\(key) '\(value)' is out of range (at most one week)"
        case .invalidInteger(let key, let value): return "\(key) '\(value)' is not a whole number"
        case .retriesOutOfRange(let value): return "retries \(value) is out of range \(Limits.retriesMinimum)...\(Limits.retriesMaximum)"
        case .invalidName(let kind, let name): return "\(kind) name '\(name)' is invalid (letters, digits, '-', '/'; 1...\(Limits.nameLengthMaximum) characters)"
        case .invalidAddress(let value): return "'\(value)' is not an IPv4 address, IPv6 address or host name"
        case .invalidMemberAttribute(let value): return "member attribute '\(value)' is invalid (name=CERTIFICATE-NAME or port=N)"
        case .duplicateMember(let name, let firstLine): return "member '\(name)' is already declared on line \(firstLine)"
        case .duplicateTicket(let name, let firstLine): return "ticket '\(name)' is already declared on line \(firstLine)"
        case .tooManyMembers(let count): return "\(count) members declared, at most \(Limits.membersMaximum) allowed"
        case .tooManyTickets(let count): return "\(count) tickets declared, at most \(Limits.ticketsMaximum) allowed"
        case .noSite: return "no 'site' declared: at least one site is needed"
        case .invalidMode(let value): return "mode '\(value)' is neither 'auto' nor 'manual'"
        case .invalidTransport(let value): return "transport '\(value)' is unknown (Baton always uses TCP with TLS 1.3; 'udp', 'tcp' and 'tls' are accepted)"
        case .invalidAttributePrerequisite(let value): return "attr-prereq '\(value)' is not 'auto|manual NAME eq|ne VALUE'"
        case .invalidWeights(let value): return "weights '\(value)' is not a comma-separated list of whole numbers in 0...\(Limits.weightMaximum)"
        case .tooManyWeights(let given, let members): return "\(given) weights given for \(members) members"
        case .retryBudgetNotBelowRenewal(let ticket, let timeout, let retries, let renewal):
            return "ticket '\(ticket)': timeout * (retries + 1) = \(timeout) * \(retries + 1) must be below renewal-freq \(renewal)"
        case .renewalNotBelowExpire(let ticket, let renewal, let expire):
            return "ticket '\(ticket)': renewal-freq \(renewal) must be below expire \(expire)"
        case .stopBeforeTooLong(let ticket, let stopBefore, let expire, let renewal):
            return "ticket '\(ticket)': stop-before \(stopBefore) must be below expire - renewal-freq = \(expire - renewal) (or the holder would stop at every renewal)"
        case .unknownIdentity(let name): return "identity '\(name)' matches no member's name or address"
        case .incompleteTransportSecurity(let missing): return "TLS settings are incomplete: missing \(missing.joined(separator: ", "))"
        case .invalidAccountName(let key, let value): return "\(key) '\(value)' is not a valid user or group name"
        case .invalidDebugLevel(let value): return "debug '\(value)' is not a level in 0...\(Limits.debugLevelMaximum)"
        case .unreadableFile(let reason): return "cannot read the file: \(reason)"
        case .invalidAdminFrom(let value): return "admin-from '\(value)' is not 'all', 'sites', 'none' or a list of member names"
        case .unknownAdminMember(let name): return "admin-from names '\(name)', which is no member's name or address"
        case .invalidClockDrift(let value): return "clock-drift-max '\(value)' is not a percentage ('1%', '0.5%') or parts per million ('10000ppm')"
        case .clockDriftOutOfRange(let value): return "clock-drift-max '\(value)' is out of range (0% to 10%)"
        }
    }
}

/// A rejected configuration: which file, which line (nil when the whole file is at fault,
/// e.g. no site at all) and why.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let rejection: ConfigurationRejection

    public init(file: String, line: Int?, rejection: ConfigurationRejection) {
        self.file = file
        self.line = line
        self.rejection = rejection
    }

    public var description: String {
        if let line { return "\(file):\(line): \(rejection.reason)" }
        return "\(file): \(rejection.reason)"
    }
}

/// Something the configuration does that Baton accepts but an admin should know about.
public struct ConfigurationWarning: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// authfile / enable-authfile: TLS certificates replace booth's shared key.
        case authenticationFileReplacedByTransportSecurity
        /// transport = udp|tcp: Baton always uses TCP with TLS 1.3.
        case transportReplaced
        /// maxtimeskew: leases travel as relative durations.
        case maximumTimeSkewUnused
        /// An even number of members: a split can leave no majority.
        case evenMemberCount
        /// No TLS keys: the member mesh cannot start until they are set.
        case transportSecurityMissing
        /// A key given twice in the same scope; the later value wins.
        case keyRepeated
        /// timeout * (retries + 1) reaches the derived renewal interval (expire / 2).
        case retryBudgetReachesRenewal
        /// Fewer weights than members; the rest weigh 0.
        case weightsPadded
        /// Weights on an arbitrator: arbitrators never campaign.
        case arbitratorWeightIgnored
    }
    public let file: String
    public let line: Int?
    public let kind: Kind
    public let message: String

    public init(file: String, line: Int?, kind: Kind, message: String) {
        self.file = file
        self.line = line
        self.kind = kind
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): warning: \(message)" }
        return "\(file): warning: \(message)"
    }
}

/// What a successful load gives: the configuration and what the admin should be told.
public struct LoadedConfiguration: Sendable, Equatable {
    public let configuration: BatonConfiguration
    public let warnings: [ConfigurationWarning]
}
