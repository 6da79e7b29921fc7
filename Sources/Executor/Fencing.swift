import CIB

/// Fence devices as pacemaker-fenced runs their agents (Pacemaker 2.1.5,
/// daemons/fenced/fenced_commands.c and lib/fencing/st_actions.c, st_client.c), with no I/O:
/// which targets a device can fence (pcmk_host_list, pcmk_host_map, pcmk_host_check), the
/// agent's stdin for an action (the fence-agents API's `key=value` lines), per-action
/// timeouts, retries and action names, and reboot on a device without one. The shell
/// (ExecutorShell's `FenceRunner`) runs the agents.

/// What a fence agent's `metadata` says it can do (`read_action_metadata`, the port/plug
/// parameter checks of `build_device_from_xml`).
public struct FenceCapabilities: Sendable, Equatable {
    public var list = false
    public var status = false
    public var reboot = false
    public var on = false
    /// The agent names its target `port` or `plug` (nil: neither parameter).
    public var hostArgument: String?

    public init(list: Bool = false, status: Bool = false, reboot: Bool = false, on: Bool = false, hostArgument: String? = nil) {
        self.list = list
        self.status = status
        self.reboot = reboot
        self.on = on
        self.hostArgument = hostArgument
    }

    /// From the agent's metadata XML (`<resource-agent>` with `<parameters>` and `<actions>`).
    public init(metadata: String) throws(FenceError) {
        let root: XMLElement
        do {
            root = try XMLCodec.parse(metadata)
        } catch {
            throw FenceError("agent metadata is not XML: \(error)")
        }
        guard root.name == "resource-agent" else { throw FenceError("agent metadata: root element is <\(root.name)>, not <resource-agent>") }
        for action in root.children(named: "actions").flatMap({ $0.children(named: "action") }) {
            switch action["name"] {
            case "list": list = true
            case "status": status = true
            case "reboot": reboot = true
            case "on": on = true
            default: break
            }
        }
        let parameters = Set(root.children(named: "parameters").flatMap { $0.children(named: "parameter") }.compactMap { $0["name"] })
        hostArgument = parameters.contains("port") ? "port" : parameters.contains("plug") ? "plug" : nil
    }
}

/// pcmk_host_check.
public enum FenceHostCheck: String, Sendable, Equatable {
    case staticList = "static-list"
    case dynamicList = "dynamic-list"
    case status
    case none
}

/// What deciding whether a device can fence a target needs next.
public enum FenceEligibility: Sendable, Equatable {
    case eligible(String)
    case notEligible(String)
    /// Run the agent's `list` and ask `eligible(target:listOutput:)`.
    case needsList
    /// Run the agent's `status` for the target and ask `eligible(statusExit:)`.
    case needsStatus
}

public struct FenceError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One configured fence device (a stonith resource): its agent and parameters.
public struct FenceDevice: Sendable, Equatable {
    public let id: String
    /// The agent's name ("fence_dummy"); run from the fence agents' directory.
    public let agent: String
    /// The device's parameters as configured, after `action` is mapped as the fencer maps it.
    public let parameters: [String: String]
    public let capabilities: FenceCapabilities
    /// pcmk_host_map: node name -> port (or plug), and its ports as targets.
    public let aliases: [String: String]
    /// pcmk_host_list and pcmk_host_map's ports: the static target list.
    public let targets: [String]

    /// Pacemaker's FAILURE_MAX_RETRIES and the fencer's default action timeout (stonith-timeout).
    public static let defaultRetries = 2
    public static let defaultTimeout = Duration.seconds(60)
    public static let parametersMax = 1024

    public init(id: String, agent: String, parameters: [String: String], capabilities: FenceCapabilities) throws(FenceError) {
        guard !id.isEmpty else { throw FenceError("a fence device without an id") }
        guard !agent.isEmpty, !agent.contains("/"), agent != ".", agent != ".." else {
            throw FenceError("device \(id): agent '\(agent)' is not a plain name")
        }
        guard parameters.count <= Self.parametersMax else { throw FenceError("device \(id): more than \(Self.parametersMax) parameters") }
        for (name, value) in parameters where name.isEmpty || name.contains("=") || name.contains("\n") || value.contains("\n") {
            throw FenceError("device \(id): parameter '\(name)' cannot be passed as a key=value line")
        }
        var parameters = parameters
        // stonith_device_register: an `action` parameter maps off (and reboot) to it.
        if let action = parameters.removeValue(forKey: "action"), !action.isEmpty, action != "reboot" {
            if action == "off" {
                if parameters["pcmk_reboot_action"] == nil { parameters["pcmk_reboot_action"] = action }
            } else {
                for name in ["pcmk_off_action", "pcmk_reboot_action"] where parameters[name] == nil { parameters[name] = action }
            }
        }
        if let check = parameters["pcmk_host_check"], FenceHostCheck(rawValue: check.lowercased()) == nil {
            throw FenceError("device \(id): pcmk_host_check '\(check)' is not static-list, dynamic-list, status or none")
        }
        self.id = id
        self.agent = agent
        self.parameters = parameters
        self.capabilities = capabilities
        var mapTargets: [String] = []
        self.aliases = Self.portAliases(parameters["pcmk_host_map"], targets: &mapTargets)
        self.targets = Self.hostList(parameters["pcmk_host_list"]) + mapTargets
    }

    /// `build_port_aliases`: `node:port` or `node=port` pairs separated by `;`, spaces or tabs,
    /// `\` escaping the next character.
    static func portAliases(_ map: String?, targets: inout [String]) -> [String: String] {
        guard let map else { return [:] }
        var aliases: [String: String] = [:]
        let bytes = Array(map.utf8)
        var name: String?
        var last = 0
        var index = 0
        while index <= bytes.count {
            let byte: UInt8 = index < bytes.count ? bytes[index] : 0
            switch byte {
            case UInt8(ascii: "\\"):
                index += 1
            case UInt8(ascii: "="), UInt8(ascii: ":"):
                if index > last { name = String(decoding: bytes[last..<index], as: UTF8.self) }
                last = index + 1
            case 0, UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                if let key = name {
                    let value = String(decoding: bytes[last..<min(index, bytes.count)].filter { $0 != UInt8(ascii: "\\") }, as: UTF8.self)
                    aliases[key.lowercased()] = value
                    targets.append(value)
                    name = nil
                }
                last = index + 1
            default: break
            }
            index += 1
        }
        return aliases
    }

    /// pcmk_host_list: names separated by spaces, commas, semicolons or tabs.
    static func hostList(_ list: String?) -> [String] {
        guard let list else { return [] }
        return list.split(whereSeparator: { " ,;\t\n".contains($0) }).map(String.init)
    }

    /// `target_list_type`.
    public var hostCheck: FenceHostCheck {
        if let check = parameters["pcmk_host_check"] { return FenceHostCheck(rawValue: check.lowercased())! }
        if parameters["pcmk_host_list"] != nil || parameters["pcmk_host_map"] != nil { return .staticList }
        if capabilities.list { return .dynamicList }
        if capabilities.status { return .status }
        return .none
    }

    /// The port (or plug) the agent knows `target` by.
    public func alias(of target: String) -> String? { aliases[target.lowercased()] }

    /// `can_fence_host_with_device`, up to what needs the agent: whether this device can fence
    /// `target` with `action`.
    public func eligibility(target: String, action: String) -> FenceEligibility {
        if action == "on" && !capabilities.on { return .notEligible("Agent does not support 'on'") }
        switch hostCheck {
        case .none: return .eligible("none")
        case .staticList:
            if targets.contains(where: { $0.lowercased() == target.lowercased() }) || alias(of: target) != nil {
                return .eligible("static-list")
            }
            return .notEligible("static-list")
        case .dynamicList: return .needsList
        case .status: return .needsStatus
        }
    }

    /// After `list` (dynamic-list): whether `target` (or its alias) is in the agent's output.
    public func eligible(target: String, listOutput: String) -> Bool {
        let wanted = (alias(of: target) ?? target).lowercased()
        return Self.listTargets(listOutput).contains { $0.lowercased() == wanted }
    }

    /// After `status` (pcmk_host_check=status): 0 (on) or 2 (off) say the device can reach the
    /// target; 1 or anything else says it cannot (`status_search_cb`).
    public static func eligible(statusExit: Int32) -> Bool { statusExit == 0 || statusExit == 2 }

    /// `stonith__parse_targets`: every entry of every line (separated by white space, `,` or
    /// `;`; lines naming "invalid" or "variable" are agents' complaints), its leading run of
    /// `[a-zA-Z0-9_-.]`, without "on" and "off".
    public static func listTargets(_ output: String) -> [String] {
        var result: [String] = []
        // A literal backslash-n ends a line too.
        let lines = output.split(separator: "\n").flatMap { $0.split(separator: "\\n", omittingEmptySubsequences: true) }
        for line in lines {
            if line.contains("invalid") || line.contains("variable") { continue }
            for entry in line.split(whereSeparator: { $0.isWhitespace || $0 == "," || $0 == ";" }) {
                let name = String(entry.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) })
                if name.isEmpty || ["on", "off"].contains(name.lowercased()) { continue }
                result.append(name)
            }
        }
        return result
    }

    /// `get_action_timeout`: pcmk_ACTION_timeout (whole seconds, as atoi reads it), reboot's
    /// from off's when the agent cannot reboot; else `fallback` (stonith-timeout).
    public func timeout(for action: String, fallback: Duration = FenceDevice.defaultTimeout) -> Duration {
        let action = action == "reboot" && !capabilities.reboot ? "off" : action
        if let value = parameters["pcmk_\(action)_timeout"] { return .seconds(atoi(value)) }
        return fallback
    }

    /// pcmk_ACTION_retries: how many times the agent runs at most for one action (default 2).
    public func attempts(for action: String) -> Int {
        parameters["pcmk_\(action)_retries"].map(atoi) ?? Self.defaultRetries
    }

    /// The steps of `action`: reboot on an agent without one is off, then on when the agent can
    /// (on's failure does not fail the reboot, as the fencer's off-then-on remap treats it).
    public func steps(for action: String) -> [String] {
        guard action == "reboot", !capabilities.reboot else { return [action] }
        return capabilities.on ? ["off", "on"] : ["off"]
    }

    /// `make_args`: the agent's `key=value` arguments for `action` against `target` — the
    /// action (pcmk_ACTION_action's name for it), `nodename`, `nodeid`, the target as
    /// `port`/`plug`/pcmk_host_argument (its pcmk_host_map alias), and every device parameter
    /// but Pacemaker's own.
    public func arguments(action: String, target: String?, nodeID: UInt32 = 0) -> [String: String] {
        var arguments: [String: String] = ["action": parameters["pcmk_\(action)_action"] ?? action]
        if let target {
            arguments["nodename"] = target
            if nodeID != 0 { arguments["nodeid"] = String(nodeID) }
            let argument = parameters["pcmk_host_argument"]
            if agent != "fence_legacy" && argument?.lowercased() != "none" {
                let name = argument ?? capabilities.hostArgument ?? "port"
                if parameters[name] == nil || parameters[name]?.lowercased() == "dynamic" {
                    arguments[name] = alias(of: target) ?? target
                }
            }
        }
        for (name, value) in parameters where name != "action" && !Self.isPacemakerParameter(name) && !name.contains("CRM_meta")
            && name.lowercased() != "crm_feature_set" && arguments[name] == nil {
            arguments[name] = value
        }
        return arguments
    }

    /// The agent's stdin: one `key=value` line per argument, sorted by key.
    public func standardInput(action: String, target: String?, nodeID: UInt32 = 0) -> String {
        arguments(action: action, target: target, nodeID: nodeID).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
    }

    /// `pcmk_stonith_param`.
    static func isPacemakerParameter(_ name: String) -> Bool {
        if ["pcmk_host_argument", "pcmk_host_map", "pcmk_host_list", "pcmk_host_check", "pcmk_delay_max", "pcmk_delay_base",
            "pcmk_action_limit", "provides", "stonith-timeout", "priority"].contains(name) { return true }
        return name.hasPrefix("pcmk_") && (name.hasSuffix("_action") || name.hasSuffix("_timeout") || name.hasSuffix("_retries"))
    }
}

/// `update_remaining_timeout`: after a failed attempt number `attempt` (from 1) of an action
/// with `timeout` that began `elapsed` ago, the timeout of the next attempt, or nil when there
/// is none (`attempts` reached, the attempt timed out, or less than 30 % of the timeout left).
public func fenceRetryTimeout(attempt: Int, attempts: Int, timedOut: Bool, elapsed: Duration, timeout: Duration) -> Duration? {
    guard attempt < attempts, !timedOut else { return nil }
    // Whole seconds, as the fencer counts them with time(NULL).
    let seconds = Duration.seconds(elapsed.components.seconds)
    guard seconds < timeout * 0.7 else { return nil }
    let left = timeout - seconds
    return left > .zero ? left : nil
}

/// How a fence action ended.
public enum FenceResult: Sendable, Equatable {
    case succeeded
    case failed(exit: Int32, output: String)
    case timedOut
    /// The agent could not be run (not installed, not executable, killed by a signal).
    case notRun(String)

    public var ok: Bool { self == .succeeded }
}

func atoi(_ text: String) -> Int {
    var value = 0
    var sign = 1
    var digits = Substring(text.drop { $0 == " " || $0 == "\t" })
    if digits.first == "-" { sign = -1; digits = digits.dropFirst() } else if digits.first == "+" { digits = digits.dropFirst() }
    for character in digits {
        guard let digit = character.wholeNumberValue, character.isASCII else { break }
        value = value &* 10 &+ digit
        if value > 1_000_000_000 { break }
    }
    return sign * value
}
