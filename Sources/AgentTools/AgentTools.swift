/// The Pacemaker 2.1.5 command-line tools resource agents call — `crm_attribute` (with
/// `-p/--promotion`), `crm_master`, `attrd_updater`, `crm_node` — as a pure function of their
/// argv, their environment and the node's `AttributeTable`: what they print, what they exit
/// with, and what they change. Semantics and texts from tools/crm_attribute.c, attrd_updater.c,
/// crm_node.c, crm_master and lib/common/attrs.c at Pacemaker-2.1.5; transient (`status`)
/// updates go to the store as they go to attrd (silently), as a live cluster does.
public enum AgentTool: String, Sendable, CaseIterable {
    case crmAttribute = "crm_attribute"
    case crmMaster = "crm_master"
    case attrdUpdater = "attrd_updater"
    case crmNode = "crm_node"

    /// The tool named by argv[0] (its last path component), nil for another name.
    public init?(argument0: String) {
        let name = argument0.split(separator: "/").last.map(String.init) ?? argument0
        self.init(rawValue: name)
    }
}

/// What a tool run printed and its exit status (Pacemaker's crm_exit_t).
public struct ToolOutcome: Sendable, Equatable {
    public var standardOutput = ""
    public var standardError = ""
    public var exitCode: Int32 = 0

    public init(standardOutput: String = "", standardError: String = "", exitCode: Int32 = 0) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.exitCode = exitCode
    }
}

/// Pacemaker's exit codes the tools use.
public enum ToolExit {
    public static let ok: Int32 = 0
    public static let error: Int32 = 1
    public static let usage: Int32 = 64
    public static let config: Int32 = 78
    public static let disconnect: Int32 = 102
    public static let noSuch: Int32 = 105
    public static let quorum: Int32 = 106
}

extension AgentTool {
    /// Runs this tool with `arguments` (argv[1...]) and `environment` against `table`.
    public func run(_ arguments: [String], environment: [String: String], table: inout AttributeTable) -> ToolOutcome {
        do throws(ToolUsage) {
            switch self {
            case .crmAttribute: return try CrmAttribute(arguments, environment: environment).run(&table)
            case .crmMaster: return try CrmAttribute(crmMaster: arguments, environment: environment).run(&table)
            case .attrdUpdater: return try AttrdUpdater(arguments, environment: environment).run(&table)
            case .crmNode: return try CrmNode(arguments).run(table, environment: environment)
            }
        } catch {
            // crm_master is a script around crm_attribute: crm_attribute's errors are its own.
            let name = self == .crmMaster && error.exitCode != ToolExit.error ? AgentTool.crmAttribute.rawValue : rawValue
            return ToolOutcome(standardError: "\(name): \(error.message)\n", exitCode: error.exitCode)
        }
    }
}

struct ToolUsage: Error {
    let message: String
    var exitCode: Int32 = ToolExit.usage
    init(_ message: String, exitCode: Int32 = ToolExit.usage) {
        self.message = message
        self.exitCode = exitCode
    }
}

/// GLib-style options: `-x VALUE`, `-xVALUE`, `--long VALUE`, `--long=VALUE`, bundled flags
/// (`-Gq`), and options whose value is optional (only attached: `-pRSC`, `--promotion=RSC`).
struct OptionScanner {
    struct Option {
        let short: Character?
        let long: [String]
        let takesValue: Bool
        var optionalValue = false
    }

    let tool: String
    let options: [Option]

    /// (option's first long name, value) pairs in order, and the operands.
    func scan(_ arguments: [String]) throws(ToolUsage) -> [(String, String?)] {
        var found: [(String, String?)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                let attached = body.contains("=") ? String(body[body.index(after: body.firstIndex(of: "=")!)...]) : nil
                guard let option = options.first(where: { $0.long.contains(name) }) else { throw ToolUsage("Unknown option \(argument)") }
                if option.takesValue && !option.optionalValue && attached == nil {
                    guard index < arguments.count else { throw ToolUsage("Missing argument for --\(name)") }
                    found.append((option.long[0], arguments[index]))
                    index += 1
                } else {
                    found.append((option.long[0], attached))
                }
            } else if argument.hasPrefix("-") && argument.count > 1 {
                var rest = Substring(argument.dropFirst())
                while let letter = rest.first {
                    rest = rest.dropFirst()
                    guard let option = options.first(where: { $0.short == letter }) else { throw ToolUsage("Unknown option -\(letter)") }
                    if option.takesValue {
                        if !rest.isEmpty {
                            found.append((option.long[0], String(rest)))
                        } else if option.optionalValue {
                            found.append((option.long[0], nil))
                        } else {
                            guard index < arguments.count else { throw ToolUsage("Missing argument for -\(letter)") }
                            found.append((option.long[0], arguments[index]))
                            index += 1
                        }
                        break
                    }
                    found.append((option.long[0], nil))
                }
            } else {
                throw ToolUsage("Unexpected argument '\(argument)'")
            }
        }
        return found
    }
}

/// `pcmk__node_attr_target`: the node name the scheduler knows an agent's node by.
func nodeAttributeTarget(_ name: String?, environment: [String: String]) -> String? {
    guard name == nil || ["auto", "localhost"].contains(name!.lowercased()) else { return nil }
    let target = environment["CRM_meta_container_attribute_target"]
    if let physical = environment["CRM_meta_physical_host"], target?.lowercased() == "host" { return physical }
    return environment["OCF_RESKEY_CRM_meta_on_node"] ?? name
}

// MARK: crm_attribute and crm_master

struct CrmAttribute {
    var command: Character = "G"
    var name: String?
    var value: String?
    var node: String?
    var type: String?
    var quiet = false
    var promotion = false
    var defaultValue: String?
    var environment: [String: String] = [:]

    static let scanner = OptionScanner(tool: "crm_attribute", options: [
        .init(short: "n", long: ["name"], takesValue: true),
        .init(short: "v", long: ["update", "attr-value"], takesValue: true),
        .init(short: "D", long: ["delete", "delete-attr"], takesValue: false),
        .init(short: "G", long: ["query", "get-value"], takesValue: false),
        .init(short: "N", long: ["node"], takesValue: true),
        .init(short: "U", long: ["node-uname", "uname"], takesValue: true),
        .init(short: "l", long: ["lifetime"], takesValue: true),
        .init(short: "t", long: ["type"], takesValue: true),
        .init(short: "q", long: ["quiet"], takesValue: false),
        .init(short: "Q", long: ["quiet-hidden"], takesValue: false),
        .init(short: "d", long: ["default"], takesValue: true),
        .init(short: "p", long: ["promotion"], takesValue: true, optionalValue: true),
        .init(short: "i", long: ["id", "attr-id"], takesValue: true),
        .init(short: "s", long: ["set-name"], takesValue: true),
        .init(short: "V", long: ["verbose"], takesValue: false),
    ])

    init(_ arguments: [String], environment: [String: String]) throws(ToolUsage) {
        self.environment = environment
        for (option, argument) in try Self.scanner.scan(arguments) {
            switch option {
            case "name": name = argument
            case "update": command = "u"; value = argument
            case "delete": command = "D"
            case "query": command = "G"
            case "node", "node-uname": node = argument
            case "lifetime", "type": type = argument
            case "quiet", "quiet-hidden": quiet = true
            case "default": defaultValue = argument
            case "promotion":
                promotion = true
                // pcmk_promotion_score_name: the resource given, else the agent's instance.
                name = (argument ?? environment["OCF_RESOURCE_INSTANCE"]).map { "master-" + $0 }
            default: break  // -i, -s (one set per scope here), -V
            }
        }
    }

    /// crm_master: `crm_attribute -n master-$OCF_RESOURCE_INSTANCE --lifetime forever` plus the
    /// caller's options (its -r names the instance).
    init(crmMaster arguments: [String], environment: [String: String]) throws(ToolUsage) {
        var instance = environment["OCF_RESOURCE_INSTANCE"]
        var forwarded: [String] = ["--lifetime", "forever"]
        let scanner = OptionScanner(tool: "crm_master", options: Self.scanner.options.filter { "vDGNlqQUi".contains($0.short ?? "?") }
            + [.init(short: "r", long: ["resource"], takesValue: true)])
        for (option, argument) in try scanner.scan(arguments) {
            if option == "resource" { instance = argument; continue }
            forwarded.append("--" + option)
            if let argument { forwarded.append(argument) }
        }
        guard let instance, !instance.isEmpty else { throw ToolUsage("No resource specified", exitCode: ToolExit.error) }
        try self.init(["-n", "master-" + instance] + forwarded, environment: environment)
    }

    func run(_ table: inout AttributeTable) throws(ToolUsage) -> ToolOutcome {
        if promotion && name == nil {
            throw ToolUsage("-p/--promotion must be called from an OCF resource agent or with a resource ID specified")
        }
        // set_type
        let scope: AttributeTable.Scope
        switch type?.lowercased() {
        case nil: scope = promotion ? .status : node != nil ? .nodes : .crmConfig
        case "reboot", "status": scope = .status
        case "forever", "nodes": scope = .nodes
        case "crm_config": scope = .crmConfig
        case let other?: throw ToolUsage("Error performing operation: unsupported section '\(other)'", exitCode: ToolExit.usage)
        }
        var target = ""
        var memberID = ""
        if scope != .crmConfig {
            // pcmk__node_attr_target, else the name given, else the controller's answer.
            guard let resolved = nodeAttributeTarget(node, environment: environment) ?? node ?? table.localNode else {
                throw ToolUsage("Could not connect to controller: no local node in the attribute store", exitCode: ToolExit.disconnect)
            }
            guard let member = table.member(named: resolved) else {
                throw ToolUsage("Could not map name=\(resolved) to a UUID", exitCode: ToolExit.noSuch)
            }
            target = resolved
            memberID = member.uuid
        }
        if command == "D" && name == nil { throw ToolUsage("Error: must specify attribute name or pattern to delete") }
        guard let name else { throw ToolUsage("Error performing operation: No such device or address", exitCode: ToolExit.noSuch) }
        let key = AttributeTable.Key(scope: scope, node: target, name: name)
        var outcome = ToolOutcome()
        switch command {
        case "u":
            do throws(AttributeStoreError) {
                try table.set(key, value ?? "")
            } catch {
                throw ToolUsage("Error performing operation: \(error.description)", exitCode: ToolExit.error)
            }
        case "D":
            // Transient attributes are deleted through attrd: silently. Others say what went, and
            // so do transient ones when the tool edits a CIB file itself (CIB_file: no attrd).
            if table[key] != nil && (scope != .status || environment["CIB_file"] != nil) && !quiet {
                let set = scope == .crmConfig ? "cib-bootstrap-options" : "\(scope.rawValue)-\(memberID)"
                let what = scope == .crmConfig ? "crm_config option" : "\(scope.rawValue) attribute"
                outcome.standardOutput = "Deleted \(what): id=\(set)-\(name) name=\(name)\n"
            }
            try? table.set(key, nil)
        default:
            guard let found = table[key] ?? defaultValue else {
                throw ToolUsage("Error performing operation: No such device or address", exitCode: ToolExit.noSuch)
            }
            outcome.standardOutput = quiet ? found + "\n" : "scope=\(scope.rawValue)  name=\(name) value=\(found)\n"
        }
        return outcome
    }

}

// MARK: attrd_updater

struct AttrdUpdater {
    var command: Character = "Q"
    var name: String?
    var value: String?
    var node: String?
    var all = false
    var quiet = false

    static let scanner = OptionScanner(tool: "attrd_updater", options: [
        .init(short: "n", long: ["name"], takesValue: true),
        .init(short: "U", long: ["update"], takesValue: true),
        .init(short: "v", long: ["update-hidden"], takesValue: true),
        .init(short: "S", long: ["section"], takesValue: true),
        .init(short: "B", long: ["update-both"], takesValue: true),
        .init(short: "Y", long: ["update-delay"], takesValue: false),
        .init(short: "D", long: ["delete"], takesValue: false),
        .init(short: "Q", long: ["query"], takesValue: false),
        .init(short: "R", long: ["refresh"], takesValue: false),
        .init(short: "N", long: ["node"], takesValue: true),
        .init(short: "A", long: ["all"], takesValue: false),
        .init(short: "d", long: ["delay"], takesValue: true),
        .init(short: "s", long: ["set"], takesValue: true),
        .init(short: "l", long: ["lifetime"], takesValue: true),
        .init(short: "p", long: ["private"], takesValue: false),
        .init(short: "q", long: ["quiet"], takesValue: false),
        .init(short: "V", long: ["verbose"], takesValue: false),
    ])

    let environment: [String: String]

    init(_ arguments: [String], environment: [String: String]) throws(ToolUsage) {
        self.environment = environment
        for (option, argument) in try Self.scanner.scan(arguments) {
            switch option {
            case "name": name = argument
            case "update", "update-hidden", "update-both": command = "U"; value = argument
            case "update-delay": command = "Y"
            case "delete": command = "D"
            case "query": command = "Q"
            case "refresh": command = "R"
            case "node": node = argument
            case "all": all = true
            case "quiet": quiet = true
            case "lifetime", "section":
                guard let argument, ["reboot", "forever", "status", "nodes"].contains(argument.lowercased()) else {
                    throw ToolUsage("Unknown value for --lifetime: \(argument ?? "")")
                }
            default: break  // -d, -s, -p: dampening, sets and privacy are attrd's writer's business
            }
        }
    }

    func run(_ table: inout AttributeTable) throws(ToolUsage) -> ToolOutcome {
        if command == "R" { return ToolOutcome() }
        guard let name else { throw ToolUsage("Command requires --name argument") }
        let target = nodeAttributeTarget(node, environment: environment) ?? node
        switch command {
        case "Q":
            let wanted = all ? nil : target
            let pairs = table.values.filter { $0.key.scope == .status && $0.key.name == name && (wanted == nil || $0.key.node == wanted) }
                .sorted { $0.key.node < $1.key.node }
            guard !pairs.isEmpty else {
                throw ToolUsage("Could not query value of \(name): attribute does not exist", exitCode: ToolExit.config)
            }
            let lines = pairs.map { quiet ? $0.value + "\n" : "name=\"\(name)\" host=\"\($0.key.node)\" value=\"\($0.value)\"\n" }
            return ToolOutcome(standardOutput: lines.joined())
        case "Y":
            return ToolOutcome()
        default:
            // attrd applies an update without a node to its own node.
            guard let host = target ?? table.localNode else {
                throw ToolUsage("Could not connect to attrd: no local node in the attribute store", exitCode: ToolExit.disconnect)
            }
            let key = AttributeTable.Key(scope: .status, node: host, name: name)
            do throws(AttributeStoreError) {
                try table.set(key, command == "D" ? nil : (value ?? ""))
            } catch {
                throw ToolUsage("Could not update \(name)=\(value ?? "<none>"): \(error.description)", exitCode: ToolExit.error)
            }
            return ToolOutcome()
        }
    }
}

// MARK: crm_node

struct CrmNode {
    var command: Character?

    static let scanner = OptionScanner(tool: "crm_node", options: [
        .init(short: "n", long: ["name"], takesValue: false),
        .init(short: "N", long: ["name-for-id"], takesValue: true),
        .init(short: "i", long: ["cluster-id"], takesValue: false),
        .init(short: "l", long: ["list"], takesValue: false),
        .init(short: "p", long: ["partition"], takesValue: false),
        .init(short: "q", long: ["quorum"], takesValue: false),
        .init(short: "V", long: ["verbose"], takesValue: false),
    ])
    var nameForID: String?

    init(_ arguments: [String]) throws(ToolUsage) {
        for (option, argument) in try Self.scanner.scan(arguments) {
            switch option {
            case "name": command = "n"
            case "name-for-id": command = "N"; nameForID = argument
            case "cluster-id": command = "i"
            case "list": command = "l"
            case "partition": command = "p"
            case "quorum": command = "q"
            default: break
            }
        }
    }

    func run(_ table: AttributeTable, environment: [String: String]) throws(ToolUsage) -> ToolOutcome {
        guard let command else { throw ToolUsage("Please specify a command") }
        let members = table.members.sorted { numericCaseInsensitiveLess($0.name, $1.name) }
        switch command {
        case "n":
            // The agent's own node name first, as Pacemaker's crm_node does.
            if let name = environment["OCF_RESKEY_CRM_meta_on_node"] { return ToolOutcome(standardOutput: name + "\n") }
            guard let name = table.localNode else {
                throw ToolUsage("Node is not known to cluster", exitCode: ToolExit.noSuch)
            }
            return ToolOutcome(standardOutput: name + "\n")
        case "N":
            guard let id = nameForID.flatMap(UInt32.init), let member = table.members.first(where: { $0.id == id }) else {
                throw ToolUsage("Node is not known to cluster", exitCode: ToolExit.noSuch)
            }
            return ToolOutcome(standardOutput: member.name + "\n")
        case "i":
            guard let local = table.localNode, let member = table.member(named: local) else {
                throw ToolUsage("Controller reply did not contain node ID", exitCode: 76)
            }
            return ToolOutcome(standardOutput: "\(member.id)\n")
        case "l":
            return ToolOutcome(standardOutput: members.map { "\($0.id) \($0.name) \($0.state)\n" }.joined())
        case "p":
            let names = members.filter { $0.state == "member" }.map(\.name).joined(separator: " ")
            return ToolOutcome(standardOutput: names + "\n")
        default:
            return ToolOutcome(standardOutput: table.quorate ? "1\n" : "0\n", exitCode: table.quorate ? ToolExit.ok : ToolExit.quorum)
        }
    }
}

/// `pcmk__numeric_strcasecmp` (crm_node's sort): digit runs compare as numbers, the rest
/// case-insensitively.
public func numericCaseInsensitiveLess(_ left: String, _ right: String) -> Bool {
    let a = Array(left.lowercased().utf8), b = Array(right.lowercased().utf8)
    var i = 0, j = 0
    func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    while i < a.count && j < b.count {
        if isDigit(a[i]) && isDigit(b[j]) {
            var x = i, y = j
            while x < a.count && isDigit(a[x]) { x += 1 }
            while y < b.count && isDigit(b[y]) { y += 1 }
            let m = a[i..<x].drop { $0 == 48 }, n = b[j..<y].drop { $0 == 48 }
            if m.count != n.count { return m.count < n.count }
            if !m.elementsEqual(n) { return m.lexicographicallyPrecedes(n) }
            i = x; j = y
        } else {
            if a[i] != b[j] { return a[i] < b[j] }
            i += 1; j += 1
        }
    }
    return (a.count - i) < (b.count - j)
}
