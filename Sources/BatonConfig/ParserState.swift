import TicketElection
/// A value with the line that set it.
struct Located<Value> {
    let value: Value
    let line: Int
}

/// Per-ticket settings as written: unset keys are nil, so a ticket inherits what the
/// defaults set, and the defaults inherit booth's defaults.
struct TicketDraft {
    var name: String
    var line: Int
    var expire: Located<Duration>?
    var timeout: Located<Duration>?
    var retries: Located<Int>?
    var renewalFrequency: Located<Duration>?
    var acquireAfter: Located<Duration>?
    var stopBefore: Located<Duration>?
    var beforeAcquireHandler: Located<String>?
    var attributePrerequisites: [Located<AttributePrerequisite>]?
    var mode: Located<TicketMode>?
    var weights: Located<[Int]>?
    /// Keys set in this section, for the "given twice" warning.
    var keysSeen: Set<String> = []
}

struct MemberDraft {
    let role: MemberRole
    let address: String
    let port: UInt16?
    let certificateName: String?
    let line: Int
}

struct ParserState {
    let fileName: String
    var warnings: [ConfigurationWarning] = []

    var name: Located<String>?
    var port: Located<UInt16>?
    var members: [MemberDraft] = []
    var identity: Located<String>?
    var maximumTimeSkew: Located<Duration>?
    var siteUser: Located<String>?
    var siteGroup: Located<String>?
    var arbitratorUser: Located<String>?
    var arbitratorGroup: Located<String>?
    var debugLevel: Located<Int>?
    var certificateAuthorityFile: Located<String>?
    var certificateFile: Located<String>?
    var privateKeyFile: Located<String>?
    var handshakeTimeout: Located<Duration>?
    var adminFrom: Located<[String]>?
    var clockDriftMax: Located<Int>?
    var globalKeysSeen: Set<String> = []

    /// What per-ticket keys outside a ticket (or in `__defaults__`) have set so far.
    var defaults = TicketDraft(name: BatonConfigurationParser.defaultsSectionName, line: 0)
    /// Tickets in order; the last one is open when `inDefaultsSection` is false.
    var tickets: [TicketDraft] = []
    var ticketLines: [String: Int] = [:]
    var inDefaultsSection = true

    init(fileName: String) {
        self.fileName = fileName
    }

    func error(_ line: Int?, _ rejection: ConfigurationRejection) -> ConfigurationError {
        ConfigurationError(file: fileName, line: line, rejection: rejection)
    }

    mutating func warn(_ line: Int?, _ kind: ConfigurationWarning.Kind, _ message: String) {
        warnings.append(ConfigurationWarning(file: fileName, line: line, kind: kind, message: message))
    }

    static let ticketKeys: Set<String> = [
        "expire", "timeout", "retries", "renewal-freq", "acquire-after", "stop-before", "before-acquire-handler",
        "attr-prereq", "mode", "weights",
    ]
    /// Keys that may be given many times, each adding an item.
    static let repeatableKeys: Set<String> = ["site", "arbitrator", "ticket", "attr-prereq"]

    mutating func apply(_ entry: ConfigurationEntry) throws(ConfigurationError) {
        let key = entry.key
        let isMember = key == "site" || key == "arbitrator"
        if !isMember && !entry.trailingWords.isEmpty {
            throw error(entry.line, .malformedLine("\(key) = \"\(entry.value)\" \(entry.trailingWords.joined(separator: " "))"))
        }
        if Self.ticketKeys.contains(key) {
            try applyTicketKey(entry)
            return
        }
        if !Self.repeatableKeys.contains(key) {
            if globalKeysSeen.contains(key) {
                warn(entry.line, .keyRepeated, "'\(key)' is given again; this later value wins")
            }
            globalKeysSeen.insert(key)
        }
        let value = entry.value
        let line = entry.line
        switch key {
        case "transport":
            switch value.lowercased() {
            case "udp", "tcp", "sctp":
                warn(line, .transportReplaced, "transport '\(value)' is replaced: Baton members always talk TCP with TLS 1.3")
            case "tls":
                break
            default:
                throw error(line, .invalidTransport(value))
            }
        case "port":
            port = Located(value: try parsePort(value, line: line), line: line)
        case "name":
            try requireValue(entry)
            guard isValidName(value, allowingSlash: false) else { throw error(line, .invalidName(kind: "configuration", name: value)) }
            name = Located(value: value, line: line)
        case "site", "arbitrator":
            try applyMember(entry, role: key == "site" ? .site : .arbitrator)
        case "authfile", "enable-authfile":
            warn(line, .authenticationFileReplacedByTransportSecurity,
                 "'\(key)' is ignored: members authenticate with TLS certificates (tls-ca, tls-certificate, tls-private-key)")
        case "maxtimeskew":
            maximumTimeSkew = Located(value: try parseDuration(value, key: key, line: line, allowingZero: true), line: line)
            warn(line, .maximumTimeSkewUnused, "'maxtimeskew' is kept but unused: leases travel as relative durations on monotonic clocks")
        case "site-user", "site-group", "arbitrator-user", "arbitrator-group":
            try requireValue(entry)
            guard isValidAccountName(value) else { throw error(line, .invalidAccountName(key: key, value: value)) }
            let located = Located(value: value, line: line)
            switch key {
            case "site-user": siteUser = located
            case "site-group": siteGroup = located
            case "arbitrator-user": arbitratorUser = located
            default: arbitratorGroup = located
            }
        case "debug":
            guard let level = Int(value), (0...Limits.debugLevelMaximum).contains(level) else {
                throw error(line, .invalidDebugLevel(value))
            }
            debugLevel = Located(value: level, line: line)
        case "identity":
            try requireValue(entry)
            identity = Located(value: value, line: line)
        case "tls-ca":
            try requireValue(entry)
            certificateAuthorityFile = Located(value: value, line: line)
        case "tls-certificate":
            try requireValue(entry)
            certificateFile = Located(value: value, line: line)
        case "tls-private-key":
            try requireValue(entry)
            privateKeyFile = Located(value: value, line: line)
        case "tls-handshake-timeout":
            handshakeTimeout = Located(value: try parseDuration(value, key: key, line: line, allowingZero: false), line: line)
        case "admin-from":
            try requireValue(entry)
            let words = value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty, words.count <= Limits.membersMaximum else { throw error(line, .invalidAdminFrom(value)) }
            if words.count > 1, words.contains(where: { ["all", "sites", "none"].contains($0.lowercased()) }) {
                throw error(line, .invalidAdminFrom(value))
            }
            adminFrom = Located(value: words, line: line)
        case "clock-drift-max":
            clockDriftMax = Located(value: try parseClockDrift(value, line: line), line: line)
        case "ticket":
            try openTicket(entry)
        default:
            throw error(line, .unknownKey(key))
        }
    }

    func requireValue(_ entry: ConfigurationEntry) throws(ConfigurationError) {
        if entry.value.isEmpty { throw error(entry.line, .emptyValue(key: entry.key)) }
    }

    mutating func openTicket(_ entry: ConfigurationEntry) throws(ConfigurationError) {
        let ticketName = entry.value
        if ticketName == BatonConfigurationParser.defaultsSectionName {
            inDefaultsSection = true
            return
        }
        guard isValidName(ticketName, allowingSlash: true) else {
            throw error(entry.line, .invalidName(kind: "ticket", name: ticketName))
        }
        if let firstLine = ticketLines[ticketName] {
            throw error(entry.line, .duplicateTicket(ticketName, firstLine: firstLine))
        }
        guard tickets.count < Limits.ticketsMaximum else {
            throw error(entry.line, .tooManyTickets(tickets.count + 1))
        }
        ticketLines[ticketName] = entry.line
        var ticket = defaults
        ticket.name = ticketName
        ticket.line = entry.line
        ticket.keysSeen = []
        tickets.append(ticket)
        inDefaultsSection = false
    }

    mutating func applyTicketKey(_ entry: ConfigurationEntry) throws(ConfigurationError) {
        var draft = inDefaultsSection ? defaults : tickets[tickets.count - 1]
        let key = entry.key
        let value = entry.value
        let line = entry.line
        if key != "attr-prereq" && draft.keysSeen.contains(key) {
            let scope = inDefaultsSection ? "the defaults" : "ticket '\(draft.name)'"
            warn(line, .keyRepeated, "'\(key)' is given again for \(scope); this later value wins")
        }
        let firstPrerequisiteHere = !draft.keysSeen.contains("attr-prereq")
        draft.keysSeen.insert(key)
        switch key {
        case "expire":
            draft.expire = Located(value: try parseDuration(value, key: key, line: line, allowingZero: false), line: line)
        case "timeout":
            draft.timeout = Located(value: try parseDuration(value, key: key, line: line, allowingZero: false), line: line)
        case "renewal-freq":
            draft.renewalFrequency = Located(value: try parseDuration(value, key: key, line: line, allowingZero: false), line: line)
        case "acquire-after":
            draft.acquireAfter = Located(value: try parseDuration(value, key: key, line: line, allowingZero: true), line: line)
        case "stop-before":
            draft.stopBefore = Located(value: try parseDuration(value, key: key, line: line, allowingZero: true), line: line)
        case "retries":
            guard let retries = Int(value) else { throw error(line, .invalidInteger(key: key, value: value)) }
            guard (Limits.retriesMinimum...Limits.retriesMaximum).contains(retries) else {
                throw error(line, .retriesOutOfRange(retries))
            }
            draft.retries = Located(value: retries, line: line)
        case "before-acquire-handler":
            // booth: an empty value means "no handler".
            draft.beforeAcquireHandler = value.isEmpty ? nil : Located(value: value, line: line)
        case "attr-prereq":
            let prerequisite = try parseAttributePrerequisite(value, line: line)
            // A section's own attr-prereq lines replace what it inherited, then accumulate.
            var list = firstPrerequisiteHere ? [] : (draft.attributePrerequisites ?? [])
            list.append(Located(value: prerequisite, line: line))
            draft.attributePrerequisites = list
        case "mode":
            switch value.lowercased() {
            case "auto", "automatic": draft.mode = Located(value: .automatic, line: line)
            case "manual": draft.mode = Located(value: .manual, line: line)
            default: throw error(line, .invalidMode(value))
            }
        case "weights":
            draft.weights = Located(value: try parseWeights(value, line: line), line: line)
        default:
            preconditionFailure("ticket key '\(key)' listed in ticketKeys but not handled")
        }
        if inDefaultsSection { defaults = draft } else { tickets[tickets.count - 1] = draft }
    }

    mutating func applyMember(_ entry: ConfigurationEntry, role: MemberRole) throws(ConfigurationError) {
        var words: [String]
        if entry.wasQuoted {
            words = [entry.value] + entry.trailingWords
        } else {
            words = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        }
        guard !words.isEmpty, !words[0].isEmpty else { throw error(entry.line, .emptyValue(key: entry.key)) }
        var address = words.removeFirst()
        if address.hasPrefix("[") && address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        guard isValidAddress(address) else { throw error(entry.line, .invalidAddress(address)) }
        var memberPort: UInt16?
        var certificateName: String?
        for word in words {
            guard let equals = word.firstIndex(of: "=") else { throw error(entry.line, .invalidMemberAttribute(word)) }
            let attribute = word[word.startIndex..<equals]
            var attributeValue = String(word[word.index(after: equals)...])
            if attributeValue.count >= 2, let quote = attributeValue.first, quote == "\"" || quote == "'", attributeValue.last == quote {
                attributeValue = String(attributeValue.dropFirst().dropLast())
            }
            switch attribute {
            case "name":
                guard certificateName == nil, isValidCertificateName(attributeValue) else {
                    throw error(entry.line, .invalidMemberAttribute(word))
                }
                certificateName = attributeValue
            case "port":
                guard memberPort == nil else { throw error(entry.line, .invalidMemberAttribute(word)) }
                memberPort = try parsePort(attributeValue, line: entry.line)
            default:
                throw error(entry.line, .invalidMemberAttribute(word))
            }
        }
        guard members.count < Limits.membersMaximum else {
            throw error(entry.line, .tooManyMembers(members.count + 1))
        }
        members.append(MemberDraft(role: role, address: address, port: memberPort, certificateName: certificateName, line: entry.line))
    }

    func parsePort(_ value: String, line: Int) throws(ConfigurationError) -> UInt16 {
        guard value.count <= 5, value.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(value), (1...65535).contains(number) else {
            throw error(line, .invalidPort(value))
        }
        return UInt16(number)
    }

    /// `N` or `Ns` (seconds) or `Nms` (milliseconds), N a whole number.
    func parseDuration(_ value: String, key: String, line: Int, allowingZero: Bool) throws(ConfigurationError) -> Duration {
        var digits = Substring(value)
        var millisecondsPerUnit: Int64 = 1000
        if digits.hasSuffix("ms") {
            digits = digits.dropLast(2)
            millisecondsPerUnit = 1
        } else if digits.hasSuffix("s") {
            digits = digits.dropLast(1)
        }
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int64(digits) else {
            throw error(line, .invalidDuration(key: key, value: value))
        }
        let duration = Duration.milliseconds(number * millisecondsPerUnit)
        guard duration <= Limits.durationMaximum, allowingZero || duration > .zero else {
            throw error(line, .durationOutOfRange(key: key, value: value))
        }
        return duration
    }

    /// `N%` (up to three decimals, for example `1%` or `0.5%`) or `Nppm`, within
    /// `Limits.clockDriftRange`, in parts per million.
    func parseClockDrift(_ value: String, line: Int) throws(ConfigurationError) -> Int {
        var text = Substring(value.lowercased())
        var partsPerMillion: Int?
        if text.hasSuffix("ppm") {
            text = text.dropLast(3)
            if !text.isEmpty, text.count <= 7, text.allSatisfy({ $0.isASCII && $0.isNumber }) { partsPerMillion = Int(text) }
        } else if text.hasSuffix("%") {
            text = text.dropLast(1)
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 3, whole.allSatisfy({ $0.isASCII && $0.isNumber }) {
                let fraction = parts.count == 2 ? parts[1] : ""
                if fraction.count <= 3, fraction.allSatisfy({ $0.isASCII && $0.isNumber }), parts.count == 1 || !fraction.isEmpty {
                    var digits = String(fraction)
                    while digits.count < 3 { digits += "0" }
                    let thousandths = Int(digits) ?? 0
                    partsPerMillion = Int(whole)! * 10_000 + thousandths * 10
                }
            }
        }
        guard let partsPerMillion else { throw error(line, .invalidClockDrift(value)) }
        guard Limits.clockDriftRange.contains(partsPerMillion) else { throw error(line, .clockDriftOutOfRange(value)) }
        return partsPerMillion
    }

    func parseAttributePrerequisite(_ value: String, line: Int) throws(ConfigurationError) -> AttributePrerequisite {
        let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.count == 4,
              let trigger = AttributePrerequisite.Trigger(rawValue: words[0].lowercased()),
              isValidName(words[1], allowingSlash: false),
              let comparison = AttributePrerequisite.Comparison(rawValue: words[2].lowercased())
        else { throw error(line, .invalidAttributePrerequisite(value)) }
        return AttributePrerequisite(trigger: trigger, name: words[1], comparison: comparison, value: words[3])
    }

    func parseWeights(_ value: String, line: Int) throws(ConfigurationError) -> [Int] {
        let items = value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" })
        guard !items.isEmpty else { throw error(line, .invalidWeights(value)) }
        var weights: [Int] = []
        for item in items {
            guard item.allSatisfy({ $0.isASCII && $0.isNumber }), item.count <= 7, let weight = Int(item), weight <= Limits.weightMaximum else {
                throw error(line, .invalidWeights(value))
            }
            weights.append(weight)
        }
        guard weights.count <= Limits.membersMaximum else { throw error(line, .invalidWeights(value)) }
        return weights
    }

    // MARK: - Validation of the whole file

    mutating func finish() throws(ConfigurationError) -> LoadedConfiguration {
        let configurationPort = port?.value ?? BatonConfigurationParser.defaultPort
        var members: [Member] = []
        var nameLines: [String: Int] = [:]
        var endpointLines: [String: Int] = [:]
        for (index, draft) in self.members.enumerated() {
            let member = Member(
                role: draft.role, address: draft.address, port: draft.port ?? configurationPort,
                certificateName: draft.certificateName ?? draft.address, index: index, line: draft.line)
            if let firstLine = nameLines[member.certificateName] {
                throw error(draft.line, .duplicateMember(member.certificateName, firstLine: firstLine))
            }
            let endpoint = "\(member.address) port \(member.port)"
            if let firstLine = endpointLines[endpoint] {
                throw error(draft.line, .duplicateMember(endpoint, firstLine: firstLine))
            }
            nameLines[member.certificateName] = draft.line
            endpointLines[endpoint] = draft.line
            members.append(member)
        }
        guard members.contains(where: { $0.role == .site }) else { throw error(nil, .noSite) }
        precondition(members.count <= Limits.membersMaximum, "member limit is checked as members are added")
        if members.count % 2 == 0 {
            warn(nil, .evenMemberCount,
                 "\(members.count) members: an even count can split into halves with no majority; add an arbitrator")
        }
        if let identity {
            guard members.contains(where: { $0.certificateName == identity.value || $0.address == identity.value }) else {
                throw error(identity.line, .unknownIdentity(identity.value))
            }
        }
        let transportSecurity = try finishTransportSecurity()
        var policies: [TicketPolicy] = []
        for draft in tickets {
            policies.append(try finishTicket(draft, members: members))
        }
        var remoteAdministration = RemoteAdministration.sites
        if let adminFrom {
            switch adminFrom.value.count == 1 ? adminFrom.value[0].lowercased() : "" {
            case "all": remoteAdministration = .all
            case "sites": remoteAdministration = .sites
            case "none": remoteAdministration = .none
            default:
                var names: [String] = []
                for word in adminFrom.value {
                    guard let member = members.first(where: { $0.certificateName == word || $0.address == word }) else {
                        throw error(adminFrom.line, .unknownAdminMember(word))
                    }
                    if !names.contains(member.certificateName) { names.append(member.certificateName) }
                }
                remoteAdministration = .members(names)
            }
        }
        let configuration = BatonConfiguration(
            name: name?.value ?? "booth", port: configurationPort, members: members, tickets: policies,
            transportSecurity: transportSecurity, identity: identity?.value,
            maximumTimeSkew: maximumTimeSkew?.value ?? BatonConfigurationParser.defaultMaximumTimeSkew,
            siteUser: siteUser?.value ?? "hacluster", siteGroup: siteGroup?.value ?? "haclient",
            arbitratorUser: arbitratorUser?.value ?? "nobody", arbitratorGroup: arbitratorGroup?.value ?? "nogroup",
            debugLevel: debugLevel?.value ?? 0, adminFrom: remoteAdministration,
            clockDriftMaxPartsPerMillion: clockDriftMax?.value ?? Limits.clockDriftDefaultPartsPerMillion)
        return LoadedConfiguration(configuration: configuration, warnings: warnings)
    }

    mutating func finishTransportSecurity() throws(ConfigurationError) -> TransportSecurity? {
        let parts: [(String, Located<String>?)] = [
            ("tls-ca", certificateAuthorityFile), ("tls-certificate", certificateFile), ("tls-private-key", privateKeyFile),
        ]
        let missing = parts.filter { $0.1 == nil }.map(\.0)
        if missing.count == parts.count {
            warn(nil, .transportSecurityMissing,
                 "no TLS settings (tls-ca, tls-certificate, tls-private-key): batond cannot join the member mesh until they are set")
            return nil
        }
        guard missing.isEmpty, let certificateAuthorityFile, let certificateFile, let privateKeyFile else {
            let firstLine = parts.compactMap { $0.1?.line }.min()
            throw error(firstLine, .incompleteTransportSecurity(missing: missing))
        }
        return TransportSecurity(
            certificateAuthorityFile: certificateAuthorityFile.value, certificateFile: certificateFile.value,
            privateKeyFile: privateKeyFile.value,
            handshakeTimeout: handshakeTimeout?.value ?? BatonConfigurationParser.defaultHandshakeTimeout)
    }

    mutating func finishTicket(_ draft: TicketDraft, members: [Member]) throws(ConfigurationError) -> TicketPolicy {
        let expire = draft.expire?.value ?? BatonConfigurationParser.defaultExpire
        let timeout = draft.timeout?.value ?? BatonConfigurationParser.defaultTimeout
        let retries = draft.retries?.value ?? BatonConfigurationParser.defaultRetries
        let mode = draft.mode?.value ?? .automatic
        let renewalFrequency = draft.renewalFrequency?.value ?? expire / 2
        let retryBudget = timeout * (retries + 1)
        if mode == .automatic {
            if let explicit = draft.renewalFrequency {
                guard explicit.value < expire else {
                    throw error(explicit.line, .renewalNotBelowExpire(ticket: draft.name, renewalFrequency: explicit.value, expire: expire))
                }
                guard retryBudget < explicit.value else {
                    let line = max(explicit.line, draft.timeout?.line ?? 0, draft.retries?.line ?? 0)
                    throw error(line, .retryBudgetNotBelowRenewal(ticket: draft.name, timeout: timeout, retries: retries, renewalFrequency: explicit.value))
                }
            } else if retryBudget >= renewalFrequency {
                warn(draft.line, .retryBudgetReachesRenewal,
                     "ticket '\(draft.name)': timeout * (retries + 1) = \(retryBudget) reaches the renewal interval expire / 2 = \(renewalFrequency); resends of one renewal overlap the next")
            }
        }
        if let stopBefore = draft.stopBefore, mode == .automatic, stopBefore.value > .zero, stopBefore.value >= expire - renewalFrequency {
            throw error(stopBefore.line, .stopBeforeTooLong(ticket: draft.name, stopBefore: stopBefore.value, expire: expire, renewalFrequency: renewalFrequency))
        }
        var weights = Array(repeating: 0, count: members.count)
        if let given = draft.weights {
            guard given.value.count <= members.count else {
                throw error(given.line, .tooManyWeights(given: given.value.count, members: members.count))
            }
            if given.value.count < members.count {
                warn(given.line, .weightsPadded,
                     "ticket '\(draft.name)': \(given.value.count) weights for \(members.count) members; the rest weigh 0")
            }
            for (index, weight) in given.value.enumerated() {
                weights[index] = weight
                if weight != 0 && members[index].role == .arbitrator {
                    warn(given.line, .arbitratorWeightIgnored,
                         "ticket '\(draft.name)': weight \(weight) of arbitrator \(members[index].certificateName) is ignored; arbitrators never campaign")
                }
            }
        }
        return TicketPolicy(
            name: draft.name, expire: expire, timeout: timeout, retries: retries, renewalFrequency: renewalFrequency,
            acquireAfter: draft.acquireAfter?.value ?? BatonConfigurationParser.defaultAcquireAfter,
            stopBefore: draft.stopBefore?.value,
            beforeAcquireHandler: draft.beforeAcquireHandler?.value,
            attributePrerequisites: draft.attributePrerequisites?.map(\.value) ?? [],
            mode: mode, weights: weights, line: draft.line)
    }
}
