import TicketElection

/// A deterministic cluster driven by a script, for transcript tests and the demo: the same
/// `TicketInstance`s, a network with a fixed latency that the script can cut (both ways or
/// one way), members that the script starts, crashes and restarts (with or without state).
/// No randomness at all: a script gives one output, always.
///
/// Script commands (one a line; `#` starts a comment):
///
///     cluster sites=2 arbitrators=1 tickets=1 expire=10s timeout=1s retries=3
///             renewal=5s acquire-after=0s mode=auto handler=no attr-prereq=manual:geo:eq:ok
///     start all | start MEMBER [nostate | lost]
///     grant MEMBER [TICKET] [-F] [-w] [-C]      revoke MEMBER [TICKET] [-w]
///     standby MEMBER [TICKET]    activate MEMBER [TICKET]
///     move MEMBER [TICKET] to SITE [-w]
///     attr MEMBER [TICKET] set NAME VALUE | attr MEMBER [TICKET] delete NAME
///     quorum MEMBER lost|ok      handler MEMBER fail|ok
///     crash MEMBER               restart MEMBER [nostate | lost | rebooted]
///     cut A B | cut A -> B | heal A B | heal all
///     latency A -> B DURATION    (one link slower or faster than the others)
///     run DURATION               messages none|elections|all
///     show
public struct ScriptedCluster {
    public private(set) var output: [String] = []
    /// Instants at which two sites believed they held one ticket (checked after every event).
    public private(set) var doubleHolders: [String] = []
    var members: [Node] = []
    var memberList: [Member] = []
    var policies: [TicketPolicy] = []
    var now: Int64 = 0
    var queue = EventQueue<Event>()
    var cut: Set<Link> = []
    var latency: Int64 = 10_000_000
    /// Per directed link, replacing `latency` (a slow link makes messages overtake each other).
    var linkLatency: [Link: Int64] = [:]
    var revokeDelay: Int64 = 50_000_000
    var handlerDelay: Int64 = 100_000_000
    var messageDetail: MessageDetail = .elections
    var requests: UInt64 = 0

    public enum MessageDetail: String { case none, elections, all }

    struct Link: Hashable {
        let from: Int
        let to: Int
    }

    struct Node {
        var up = false
        var incarnation = 0
        var instances: [TicketInstance] = []
        var persisted: [PersistentTicketState?]
        var persistedAt: [Int64]
        var timerGeneration: [Int]
        var handlerFailing = false
    }

    enum Event {
        case deliver(PeerMessage)
        case timer(member: Int, ticket: Int, generation: Int)
        case revokeCompleted(member: Int, ticket: Int, incarnation: Int)
        case handlerCompleted(member: Int, ticket: Int, HandlerPurpose, incarnation: Int)
    }

    public struct ScriptError: Error, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "script line \(line): \(message)" }
    }

    public init() {}

    /// Runs a whole script and returns its transcript: each command behind `> `, followed by
    /// what happened because of it.
    public static func transcript(of script: String) throws(ScriptError) -> String {
        try run(script).transcript
    }

    /// The transcript, and every instant at which two sites held one ticket.
    public static func run(_ script: String) throws(ScriptError) -> (transcript: String, doubleHolders: [String]) {
        var cluster = ScriptedCluster()
        var lines: [String] = []
        for (index, raw) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters()
            if line.isEmpty || line.hasPrefix("#") {
                lines.append(String(raw))
                continue
            }
            lines.append("> \(line)")
            cluster.output = []
            try cluster.execute(line, lineNumber: index + 1)
            lines.append(contentsOf: cluster.output)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return (lines.joined(separator: "\n") + "\n", cluster.doubleHolders)
    }

    /// The commands of a transcript: its `> ` lines (or bare command lines, in a new file),
    /// and its comments, with the outputs (`t=…` lines) dropped.
    public static func script(ofTranscript transcript: String) -> String {
        transcript.split(separator: "\n", omittingEmptySubsequences: false).compactMap { line -> String? in
            if line.hasPrefix("> ") { return String(line.dropFirst(2)) }
            if line.hasPrefix("t=") { return nil }
            return String(line)
        }.joined(separator: "\n")
    }

    // MARK: - Commands

    public mutating func execute(_ line: String, lineNumber: Int) throws(ScriptError) {
        let words = line.split(separator: " ").map(String.init)
        func fail(_ message: String) -> ScriptError { ScriptError(line: lineNumber, message: message) }
        guard let verb = words.first else { return }
        let arguments = Array(words.dropFirst())
        if verb != "cluster" && members.isEmpty { throw fail("no cluster yet: the first command must be `cluster …`") }
        switch verb {
        case "cluster":
            try configure(arguments, fail: fail)
        case "start":
            guard let target = arguments.first else { throw fail("start what?") }
            if target == "all" {
                for index in members.indices where !members[index].up { startMember(index, mode: "state") }
            } else {
                let index = try member(target, fail: fail)
                startMember(index, mode: arguments.dropFirst().first ?? "state")
            }
        case "restart":
            guard let target = arguments.first else { throw fail("restart what?") }
            let index = try member(target, fail: fail)
            if members[index].up { crashMember(index) }
            startMember(index, mode: arguments.dropFirst().first ?? "state")
        case "crash":
            guard let target = arguments.first else { throw fail("crash what?") }
            crashMember(try member(target, fail: fail))
        case "grant", "revoke", "standby", "activate", "move", "attr":
            try adminCommand(verb, arguments, fail: fail)
        case "quorum":
            guard arguments.count == 2, ["lost", "ok"].contains(arguments[1]) else { throw fail("quorum MEMBER lost|ok") }
            let index = try member(arguments[0], fail: fail)
            let quorate = arguments[1] == "ok"
            say("\(name(index)): site quorum \(quorate ? "regained" : "lost")")
            for ticket in policies.indices {
                apply(members[index].instances[ticket].onSiteQuorum(quorate, now: local(index)), member: index, ticket: ticket)
            }
        case "handler":
            guard arguments.count == 2, ["fail", "ok"].contains(arguments[1]) else { throw fail("handler MEMBER fail|ok") }
            members[try member(arguments[0], fail: fail)].handlerFailing = arguments[1] == "fail"
        case "cut", "heal":
            try network(verb, arguments, fail: fail)
        case "latency":
            guard arguments.count == 4, arguments[1] == "->", let span = parseDuration(arguments[3]) else {
                throw fail("latency A -> B DURATION")
            }
            let from = try member(arguments[0], fail: fail)
            let to = try member(arguments[2], fail: fail)
            linkLatency[Link(from: from, to: to)] = span.nanoseconds
            say("network: \(name(from)) -> \(name(to)) latency \(span.shortDescription)")
        case "run":
            guard let text = arguments.first, let span = parseDuration(text) else { throw fail("run DURATION (e.g. 12s, 500ms)") }
            run(until: now + span.nanoseconds)
        case "messages":
            guard let value = arguments.first, let detail = MessageDetail(rawValue: value) else {
                throw fail("messages none|elections|all")
            }
            messageDetail = detail
        case "show":
            show()
        default:
            throw fail("unknown command \(verb)")
        }
        // Every command lets the instant's consequences (zero-latency work) happen.
        run(until: now)
    }

    mutating func configure(_ arguments: [String], fail: (String) -> ScriptError) throws(ScriptError) {
        var settings: [String: String] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw fail("cluster setting \(argument) is not KEY=VALUE") }
            settings[parts[0]] = parts[1]
        }
        let sites = Int(settings["sites"] ?? "2") ?? -1
        let arbitrators = Int(settings["arbitrators"] ?? "1") ?? -1
        let tickets = Int(settings["tickets"] ?? "1") ?? -1
        guard sites >= 1, arbitrators >= 0, sites + arbitrators >= 2, tickets >= 1, tickets <= 8 else {
            throw fail("cluster needs sites >= 1, arbitrators >= 0, 2 or more members, 1...8 tickets")
        }
        func span(_ key: String, _ fallback: Duration?) throws(ScriptError) -> Duration? {
            guard let text = settings[key] else { return fallback }
            guard let value = parseDuration(text) else { throw fail("\(key)=\(text) is not a duration") }
            return value
        }
        var prerequisite: AttributePrerequisite?
        if let text = settings["attr-prereq"] {
            let parts = text.split(separator: ":").map(String.init)
            guard parts.count == 4, let trigger = AttributePrerequisite.Trigger(rawValue: parts[0]),
                let comparison = AttributePrerequisite.Comparison(rawValue: parts[2])
            else { throw fail("attr-prereq=auto|manual:NAME:eq|ne:VALUE") }
            prerequisite = AttributePrerequisite(trigger: trigger, name: parts[1], comparison: comparison, value: parts[3])
        }
        guard let mode = TicketMode(rawValue: settings["mode"] ?? "auto") else { throw fail("mode=auto|manual") }
        let count = sites + arbitrators
        memberList = (0..<count).map { index in
            index < sites
                ? Member(id: MemberID(index), name: "site-\(Character(UnicodeScalar(UInt8(97 + index))))", role: .site)
                : Member(id: MemberID(index), name: "arbitrator-\(index - sites + 1)", role: .arbitrator)
        }
        let weights = (settings["weights"] ?? "").split(separator: ",").compactMap { Int($0) }
        policies = []
        for ticket in 0..<tickets {
            do {
                policies.append(
                    try TicketPolicy(
                        name: tickets == 1 ? "ticketA" : "ticket\(Character(UnicodeScalar(UInt8(65 + ticket))))", mode: mode,
                        expire: try span("expire", .seconds(10))!, timeout: try span("timeout", .seconds(1))!,
                        retries: Int(settings["retries"] ?? "3") ?? 0, renewalFrequency: try span("renewal", nil),
                        acquireAfter: try span("acquire-after", .zero)!,
                        clockDriftMaxPartsPerMillion: Int(settings["drift-ppm"] ?? "10000") ?? -1,
                        hasBeforeAcquireHandler: settings["handler"] == "yes", attributePrerequisites: prerequisite.map { [$0] } ?? [],
                        weights: weights.count == count ? weights : Array(repeating: 0, count: count)))
            } catch {
                throw fail("ticket settings: \(error)")
            }
        }
        members = (0..<count).map { _ in
            Node(persisted: Array(repeating: nil, count: tickets), persistedAt: Array(repeating: 0, count: tickets),
                 timerGeneration: Array(repeating: 0, count: tickets))
        }
        now = 0
        queue = EventQueue()
        cut = []
        if let text = settings["latency"], let value = parseDuration(text) { latency = value.nanoseconds }
    }

    mutating func adminCommand(_ verb: String, _ arguments: [String], fail: (String) -> ScriptError) throws(ScriptError) {
        guard let first = arguments.first else { throw fail("\(verb) MEMBER …") }
        let index = try member(first, fail: fail)
        guard members[index].up else { throw fail("\(first) is not running") }
        var rest = Array(arguments.dropFirst())
        var ticket = 0
        if let word = rest.first, let found = policies.firstIndex(where: { $0.name == word }) {
            ticket = found
            rest.removeFirst()
        }
        let flags = Set(rest.filter { $0.hasPrefix("-") })
        let command: AdminCommand
        switch verb {
        case "grant": command = .grant(force: flags.contains("-F"), wait: flags.contains("-w"), waitForCommit: flags.contains("-C"))
        case "revoke": command = .revoke(wait: flags.contains("-w"))
        case "standby": command = .standby
        case "activate": command = .activate
        case "move":
            guard rest.count >= 2, rest[0] == "to" else { throw fail("move MEMBER [TICKET] to SITE [-w]") }
            command = .move(to: MemberID(try member(rest[1], fail: fail)), wait: flags.contains("-w"))
        default:
            guard rest.count >= 2 else { throw fail("attr MEMBER [TICKET] set NAME VALUE | delete NAME") }
            if rest[0] == "set", rest.count == 3 {
                command = .setAttribute(name: rest[1], value: rest[2])
            } else if rest[0] == "delete" {
                command = .deleteAttribute(name: rest[1])
            } else {
                throw fail("attr MEMBER [TICKET] set NAME VALUE | delete NAME")
            }
        }
        requests += 1
        apply(members[index].instances[ticket].onCommand(command, request: RequestID(requests), now: local(index)),
              member: index, ticket: ticket)
    }

    mutating func network(_ verb: String, _ arguments: [String], fail: (String) -> ScriptError) throws(ScriptError) {
        if verb == "heal", arguments == ["all"] {
            cut = []
            say("network: all links healed")
            return
        }
        if arguments.count == 3, arguments[1] == "->" {
            let from = try member(arguments[0], fail: fail)
            let to = try member(arguments[2], fail: fail)
            if verb == "cut" { cut.insert(Link(from: from, to: to)) } else { cut.remove(Link(from: from, to: to)) }
            say("network: \(name(from)) -> \(name(to)) \(verb == "cut" ? "cut" : "healed")")
            return
        }
        guard arguments.count == 2 else { throw fail("\(verb) A B | \(verb) A -> B\(verb == "heal" ? " | heal all" : "")") }
        let first = try member(arguments[0], fail: fail)
        let second = try member(arguments[1], fail: fail)
        for link in [Link(from: first, to: second), Link(from: second, to: first)] {
            if verb == "cut" { cut.insert(link) } else { cut.remove(link) }
        }
        say("network: \(name(first)) <-> \(name(second)) \(verb == "cut" ? "cut" : "healed")")
    }

    // MARK: - Members

    mutating func startMember(_ index: Int, mode word: String) {
        members[index].up = true
        members[index].incarnation += 1
        members[index].handlerFailing = false
        let membership: Membership
        do {
            membership = try Membership(members: memberList, selfID: MemberID(index))
        } catch {
            preconditionFailure("scripted membership: \(error)")
        }
        say("\(name(index)): started\(word == "state" ? "" : " (\(word))")")
        for ticket in policies.indices {
            members[index].instances.count > ticket
                ? (members[index].instances[ticket] = TicketInstance(policy: policies[ticket], membership: membership))
                : members[index].instances.append(TicketInstance(policy: policies[ticket], membership: membership))
            let mode: TicketInstance.StartMode
            switch (word, members[index].persisted[ticket]) {
            case ("lost", _): mode = .stateLost
            case ("nostate", _), (_, nil): mode = .fresh
            case ("rebooted", let saved?): mode = .restored(saved, elapsed: .unknown)
            case (_, let saved?): mode = .restored(saved, elapsed: .known(.nanoseconds(now - members[index].persistedAt[ticket])))
            }
            if word == "nostate" || word == "lost" { members[index].persisted[ticket] = nil }
            apply(members[index].instances[ticket].start(mode, now: local(index)), member: index, ticket: ticket)
        }
    }

    mutating func crashMember(_ index: Int) {
        guard members[index].up else { return }
        members[index].up = false
        members[index].incarnation += 1
        for ticket in policies.indices { members[index].timerGeneration[ticket] += 1 }
        say("\(name(index)): crashed")
    }

    // MARK: - Time

    mutating func run(until end: Int64) {
        while let next = queue.nextTime, next <= end {
            guard let (time, event) = queue.pop() else { break }
            now = time
            switch event {
            case .deliver(let message):
                let target = message.to.index
                guard members[target].up, let ticket = policies.firstIndex(where: { $0.name == message.ticket }) else { continue }
                if messageDetail == .all || (messageDetail == .elections && !message.body.isRenewal) {
                    say("\(name(message.from.index)) -> \(name(target)): \(render(message))")
                }
                apply(members[target].instances[ticket].onMessage(message, now: local(target)), member: target, ticket: ticket)
            case .timer(let member, let ticket, let generation):
                guard members[member].up, members[member].timerGeneration[ticket] == generation else { continue }
                apply(members[member].instances[ticket].onTimer(now: local(member)), member: member, ticket: ticket)
            case .revokeCompleted(let member, let ticket, let incarnation):
                guard members[member].up, members[member].incarnation == incarnation else { continue }
                apply(members[member].instances[ticket].onLocalRevokeCompleted(now: local(member)), member: member, ticket: ticket)
            case .handlerCompleted(let member, let ticket, let purpose, let incarnation):
                guard members[member].up, members[member].incarnation == incarnation else { continue }
                let succeeded = !members[member].handlerFailing
                say("\(name(member)): before-acquire-handler \(succeeded ? "succeeded" : "failed")")
                apply(members[member].instances[ticket].onHandlerResult(purpose, succeeded: succeeded, now: local(member)),
                      member: member, ticket: ticket)
            }
            checkSingleHolder()
        }
        now = max(now, end)
        checkSingleHolder()
    }

    mutating func checkSingleHolder() {
        for ticket in policies.indices {
            let holders = members.indices.filter {
                members[$0].up && members[$0].instances.count > ticket && members[$0].instances[ticket].believesHolding(now: local($0))
            }
            if holders.count > 1 {
                doubleHolders.append("\(formatTime(now)) \(policies[ticket].name) held by \(holders.map(name).joined(separator: " and "))")
            }
        }
    }

    mutating func apply(_ directives: [Directive], member: Int, ticket: Int) {
        let prefix = "\(name(member))\(policies.count > 1 ? " \(policies[ticket].name)" : "")"
        for directive in directives {
            switch directive {
            case .persist(let state):
                members[member].persisted[ticket] = state
                members[member].persistedAt[ticket] = now
            case .send(let message):
                guard !cut.contains(Link(from: message.from.index, to: message.to.index)) else { continue }
                queue.push(.deliver(message), at: now + (linkLatency[Link(from: message.from.index, to: message.to.index)] ?? latency))
            case .wakeUp(let at):
                members[member].timerGeneration[ticket] += 1
                queue.push(.timer(member: member, ticket: ticket, generation: members[member].timerGeneration[ticket]),
                           at: max(now, at.nanoseconds))
            case .grantLocally(let term, let remaining):
                say("\(prefix): GRANTED in the CIB (term \(term)\(remaining.map { ", lease \($0.shortDescription) left" } ?? ""))")
            case .revokeLocally(let reason):
                say("\(prefix): REVOKED in the CIB (\(reason.rawValue))")
                queue.push(.revokeCompleted(member: member, ticket: ticket, incarnation: members[member].incarnation), at: now + revokeDelay)
            case .setStandby(let on):
                say("\(prefix): standby \(on ? "on" : "off") in the CIB")
            case .runHandler(let purpose):
                say("\(prefix): runs before-acquire-handler (\(purpose == .acquire ? "acquire" : "renewal"))")
                queue.push(.handlerCompleted(member: member, ticket: ticket, purpose, incarnation: members[member].incarnation),
                           at: now + handlerDelay)
            case .reply(_, let outcome):
                say("\(prefix): reply: \(render(outcome))")
            case .log(let event):
                say("\(prefix): \(render(event))")
            }
        }
    }

    mutating func show() {
        for index in members.indices {
            guard members[index].up else {
                say("\(name(index)): down")
                continue
            }
            for ticket in policies.indices {
                let status = members[index].instances[ticket].status(now: local(index))
                var parts = ["\(name(index)) \(status.name): \(status.role) term \(status.term)"]
                if let leader = status.leader { parts.append("leader \(name(leader.index))") } else { parts.append("leader NONE") }
                if let left = status.leaseRemaining { parts.append("lease \(left.shortDescription) left") }
                if let pending = status.commitPendingRemaining { parts.append("commit pending \(pending.shortDescription)") }
                if status.grantedLocally { parts.append("granted here") }
                if status.standby { parts.append("standby") }
                if !status.manualHolders.isEmpty { parts.append("manual holders \(status.manualHolders.map { name($0.index) }.joined(separator: ","))") }
                if !status.attributes.isEmpty {
                    parts.append("attributes " + status.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
                }
                say(parts.joined(separator: ", "))
            }
        }
    }

    // MARK: - Rendering

    mutating func say(_ text: String) {
        output.append("\(formatTime(now)) \(text)")
    }

    func local(_ member: Int) -> LocalInstant { LocalInstant(nanoseconds: now) }
    func name(_ index: Int) -> String { memberList[index].name }

    func member(_ text: String, fail: (String) -> ScriptError) throws(ScriptError) -> Int {
        guard let index = memberList.firstIndex(where: { $0.name == text }) else { throw fail("no member named \(text)") }
        return index
    }

    func render(_ view: LeaseView?) -> String {
        guard let view else { return "" }
        return " (\(view.confirmed ? "leader" : "candidate") \(name(view.leader.index)), term \(view.term), \(view.remaining.shortDescription) left)"
    }

    func render(_ message: PeerMessage) -> String {
        let body: String
        switch message.body {
        case .voteRefused(let reason, let known): body = "vote-refused \(reason.rawValue)\(render(known))"
        case .heartbeatRefused(let round, let reason, let known): body = "heartbeat-refused round \(round) \(reason.rawValue)\(render(known))"
        case .release(let revoked, let target):
            body = "release" + (revoked ? " revoked" : "") + (target.map { " handover-to \(name($0.index))" } ?? "")
        case .moveRequest(let target): body = "move-request to \(name(target.index))"
        case .stateReply(let known, let granted, let holders, _):
            body = "state-reply\(known == nil ? " (no lease)" : render(known))\(granted ? " granted" : "")"
                + (holders.isEmpty ? "" : " manual-holders \(holders.map { name($0.index) }.joined(separator: ","))")
        default: body = message.body.summary
        }
        return "\(body), term \(message.term)" + (policies.count > 1 ? " [\(message.ticket)]" : "")
    }

    func render(_ outcome: CommandOutcome) -> String {
        switch outcome {
        case .forwarded(let to): "forwarded to \(name(to.index))"
        case .moved(let to): "moved to \(name(to.index))"
        case .refused(.grantedElsewhere(let holder)): "refused: ticket is granted to \(name(holder.index))"
        case .refused(.invalidTarget(let target)): "refused: \(name(target.index)) is not a site that can take the ticket"
        default: outcome.description
        }
    }

    func render(_ event: ElectionEvent) -> String {
        switch event {
        case .followerOf(let leader, let term): "following \(name(leader.index)), term \(term)"
        case .leaseExpiredAtFollower(let leader, let term): "lease of \(name(leader.index)) expired, term \(term)"
        case .releaseObserved(let from, let revoked): "release from \(name(from.index))" + (revoked ? " (revoked)" : "")
        case .manualGrantedElsewhere(let holder): "manual ticket granted at \(name(holder.index))"
        case .multipleManualHolders(let holders):
            "WARNING: manual ticket granted to multiple sites: \(holders.map { name($0.index) }.joined(separator: ", "))"
        case .commitPending(let until): "commit pending until \(formatTime(until.nanoseconds))"
        case .quietAfterRestart(let until, let early):
            "started without state: gives no promise until \(formatTime(until.nanoseconds))" + (early ? " unless every other site reports term 0" : "")
        case .messageRefused(let from, let term, let known):
            "refused a message from \(name(from.index)): term \(term) too far past term \(known)"
        default: event.description
        }
    }
}

/// "10s", "1.5s", "250ms", "2m".
func parseDuration(_ text: String) -> Duration? {
    if text.hasSuffix("ms"), let value = Int64(text.dropLast(2)) { return .milliseconds(value) }
    if text.hasSuffix("m"), let value = Int64(text.dropLast(1)) { return .seconds(value * 60) }
    if text.hasSuffix("s"), let value = Double(text.dropLast(1)), value >= 0, value < 1e6 {
        return .milliseconds(Int64((value * 1000).rounded()))
    }
    return nil
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" || first == "\r" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" { scalars.removeLast() }
        return String(scalars)
    }
}
