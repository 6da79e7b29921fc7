import BatonConfig
import TicketElection

/// What batond runs, derived from a validated configuration and the chosen identity: the
/// election's view of the members and tickets, and the shell's view of addresses and handlers.
public struct DaemonPlan: Sendable {
    public let configurationName: String
    public let configurationPath: String
    public let membership: Membership
    public let policies: [TicketElection.TicketPolicy]
    /// Per member (by index): address and port to dial or listen on, and the certificate name.
    public let endpoints: [Endpoint]
    /// before-acquire-handler per ticket (program or directory of programs).
    public let handlers: [String: String]
    public let transportSecurity: TransportSecurity
    /// Members (by index) whose certificates may send admin requests over the mesh (`admin-from`).
    public let remoteAdministrators: Set<Int>

    public struct Endpoint: Sendable, Equatable {
        public let name: String
        public let address: String
        public let port: Int
        public let isSite: Bool
    }

    public enum PlanError: Error, CustomStringConvertible, Equatable {
        case noTransportSecurity(file: String)
        case unknownIdentity(String, file: String, known: [String])
        case noIdentity(file: String)
        case invalid(String)

        public var description: String {
            switch self {
            case .noTransportSecurity(let file):
                "\(file): no tls-ca / tls-certificate / tls-private-key: members only talk TLS 1.3 with certificates"
            case .unknownIdentity(let name, let file, let known):
                "\(file): no member named \"\(name)\" (members: \(known.joined(separator: ", ")))"
            case .noIdentity(let file):
                "\(file): cannot tell which member this is: give --site NAME, `identity = NAME`, or a certificate naming one member"
            case .invalid(let reason): reason
            }
        }
    }

    /// `identity`: from `--site`, else the config's `identity`, else the certificate's names.
    public init(configuration: BatonConfiguration, path: String, identity: String?, certificateNames: [String]) throws(PlanError) {
        guard let security = configuration.transportSecurity else { throw .noTransportSecurity(file: path) }
        let selfMember: BatonConfig.Member
        if let identity {
            guard let found = configuration.member(named: identity) else {
                throw .unknownIdentity(identity, file: path, known: configuration.members.map(\.certificateName))
            }
            selfMember = found
        } else if let found = configuration.localMember(certificateNames: certificateNames) {
            selfMember = found
        } else {
            throw .noIdentity(file: path)
        }
        let electionMembers = configuration.members.enumerated().map { index, member in
            TicketElection.Member(id: MemberID(index), name: member.certificateName, role: member.role)
        }
        let selfIndex = configuration.members.firstIndex(of: selfMember)!
        do {
            membership = try Membership(members: electionMembers, selfID: MemberID(selfIndex))
        } catch {
            throw .invalid("\(path): \(error)")
        }
        var policies: [TicketElection.TicketPolicy] = []
        var handlers: [String: String] = [:]
        for ticket in configuration.tickets {
            do {
                policies.append(
                    try TicketElection.TicketPolicy(
                        name: ticket.name, mode: ticket.mode, expire: ticket.expire,
                        timeout: ticket.timeout, retries: ticket.retries, renewalFrequency: ticket.renewalFrequency,
                        acquireAfter: ticket.acquireAfter, stopBefore: ticket.stopBefore, clockDriftMaxPartsPerMillion: configuration.clockDriftMaxPartsPerMillion,
                        hasBeforeAcquireHandler: ticket.beforeAcquireHandler != nil,
                        attributePrerequisites: ticket.attributePrerequisites,
                        weights: ticket.weights.count == electionMembers.count ? ticket.weights : Array(repeating: 0, count: electionMembers.count),
                        retryBudgetChecked: false))
            } catch {
                throw .invalid("\(path):\(ticket.line): ticket \(ticket.name): \(error)")
            }
            if let handler = ticket.beforeAcquireHandler { handlers[ticket.name] = handler }
        }
        guard !policies.isEmpty else { throw .invalid("\(path): no ticket configured") }
        self.configurationName = configuration.name
        self.configurationPath = path
        self.policies = policies
        self.handlers = handlers
        self.transportSecurity = security
        self.remoteAdministrators = Set(configuration.members.indices.filter { configuration.mayAdministerRemotely(configuration.members[$0]) })
        self.endpoints = configuration.members.map {
            Endpoint(name: $0.certificateName, address: $0.address, port: Int($0.port), isSite: $0.role == .site)
        }
    }

    public var selfEndpoint: Endpoint { endpoints[membership.selfID.index] }
}
