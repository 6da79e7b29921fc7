import ArgumentParser
import CIB
import Executor
import ExecutorShell
import Foundation

/// `baton agent ACTION`: one action of one resource's agent, run here by the executor, bypassing
/// any cluster (as `crm_resource --force-start/--force-stop/--force-check/--validate` and
/// `pcs resource debug-start` do). The resource comes from a CIB file (`--cib`, or `CIB_file` as
/// crm_resource reads it) or from the command line (`--agent` and `-o`). Prints the rc line as
/// crm_resource does, with the agent's stdout and stderr, and exits with the agent's rc.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run one action of a resource agent here, bypassing any cluster.",
        discussion: """
            ACTION is an agent action (start, stop, monitor, promote, demote, notify, reload, migrate_to, \
            migrate_from, meta-data, validate-all) or crm_resource's name for it (force-start, force-stop, \
            force-check, force-promote, force-demote, validate). The agent sees the environment pacemaker-execd \
            gives it (OCF_RESKEY_* from the resource's instance attributes and -o, CRM_meta_* from its meta \
            attributes, CRM_meta_timeout in ms, crm_feature_set) over this command's own, plus HA_debug and \
            OCF_TRACE_FILE=/dev/stderr as crm_resource sets them. The timeout is --timeout, else the CIB's op \
            of that name, else 20 s. Exit status: the agent's rc (OCF codes), 64 for a bad command line, 66 \
            for an unreadable CIB or an unknown resource.
            """)

    @Argument(help: "The action.") var action: String
    @Option(name: [.customShort("r"), .long], help: "The resource's id (in the CIB, or the instance name with --agent).")
    var resource: String?
    @Option(name: .long, help: "The CIB file (default: $CIB_file).") var cib: String?
    @Option(name: .long, help: "CLASS:PROVIDER:TYPE (ocf:pacemaker:Dummy) or CLASS:TYPE (lsb:cron), without a CIB.")
    var agent: String?
    @Option(name: [.customShort("o"), .long], help: "NAME=VALUE: an instance attribute (overrides the CIB's; repeatable).")
    var option: [String] = []
    @Option(name: .long, help: "The action's timeout: milliseconds, or 30s, 2min, ...") var timeout: String?
    @Option(name: .long, help: "OCF_CHECK_LEVEL for a monitor.") var checkLevel: Int?
    @Flag(name: [.customShort("V"), .long], help: "HA_debug=1 for the agent.") var verbose = false

    /// crm_resource's action names.
    static func agentAction(_ name: String) -> String {
        switch name {
        case "validate": "validate-all"
        case "force-check": "monitor"
        case "force-start", "force-stop", "force-promote", "force-demote": String(name.dropFirst(6))
        default: name
        }
    }

    /// The resource and its meta attributes, from the CIB or the command line.
    func definition() throws -> (resource: AgentResource, meta: [String: String], timeout: Duration?) {
        var overrides: [String: String] = [:]
        for text in option {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw ValidationError("-o \(text): expected NAME=VALUE")
            }
            overrides[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        if let agent {
            let parts = agent.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard let standard = AgentStandard(rawValue: parts[0]), parts.count == (standard == .ocf ? 3 : 2) else {
                throw ValidationError("--agent \(agent): expected ocf:PROVIDER:TYPE, lsb:TYPE or systemd:TYPE")
            }
            let resource = AgentResource(
                id: self.resource ?? "test", standard: standard, provider: standard == .ocf ? parts[1] : nil, type: parts.last!,
                parameters: overrides)
            return (resource, [:], nil)
        }
        guard let path = cib ?? ProcessInfo.processInfo.environment["CIB_file"] else {
            throw ValidationError("name the resource's agent (--agent) or a CIB file (--cib, or CIB_file)")
        }
        guard let id = self.resource else { throw ValidationError("--cib needs -r RESOURCE") }
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw AgentCommandFailure("\(path): \(error.localizedDescription)")
        }
        let document: CIB
        do {
            document = try CIB(bytes: bytes)
        } catch {
            throw AgentCommandFailure("\(path): \(error)")
        }
        guard let primitive = Self.primitive(id, in: document.configuration.resources) else {
            throw AgentCommandFailure("\(path): no primitive resource '\(id)'")
        }
        guard let standardName = primitive.resourceClass, let standard = AgentStandard(rawValue: standardName), let type = primitive.type else {
            throw AgentCommandFailure("\(path): resource \(id): class '\(primitive.resourceClass ?? "")' is not ocf, lsb or systemd")
        }
        var parameters: [String: String] = [:]
        for set in primitive.attributes.instance where set.rules.isEmpty {
            for pair in set.pairs where parameters[pair.name] == nil { parameters[pair.name] = pair.value ?? "" }
        }
        parameters.merge(overrides) { $1 }
        // crm_resource passes the resource's meta attributes, with class, id, provider and type.
        var meta: [String: String] = ["class": standardName, "id": id, "type": type]
        if let provider = primitive.provider { meta["provider"] = provider }
        for set in primitive.attributes.meta where set.rules.isEmpty {
            for pair in set.pairs where meta[pair.name] == nil { meta[pair.name] = pair.value ?? "" }
        }
        let action = Self.agentAction(self.action)
        let configured = primitive.operations?.operations.first { $0.name == action }?.timeout
            .flatMap(Duration.milliseconds(parsing:)).map { Duration.milliseconds($0) }
        let resource = AgentResource(id: id, standard: standard, provider: primitive.provider, type: type, parameters: parameters)
        return (resource, meta, configured)
    }

    static func primitive(_ id: String, in resources: [Resource]) -> Primitive? {
        for resource in resources {
            switch resource {
            case .primitive(let primitive) where primitive.id == id: return primitive
            case .group(let group): if let member = group.members.first(where: { $0.id == id }) { return member }
            case .clone(let clone):
                switch clone.child {
                case .primitive(let primitive) where primitive.id == id: return primitive
                case .group(let group): if let member = group.members.first(where: { $0.id == id }) { return member }
                default: continue
                }
            default: continue
            }
        }
        return nil
    }

    func run() async throws {
        let resource: AgentResource, meta: [String: String], configured: Duration?
        do {
            (resource, meta, configured) = try definition()
        } catch let failure as AgentCommandFailure {
            FileHandle.standardError.write(Data("baton agent: \(failure)\n".utf8))
            throw ExitCode(66)
        }
        if let problem = resource.problem { throw ValidationError(problem) }
        var timeoutValue = configured ?? .seconds(20)
        if let timeout {
            guard let milliseconds = Duration.milliseconds(parsing: timeout), milliseconds > 0 else {
                throw ValidationError("--timeout \(timeout): expected milliseconds or a duration such as 30s")
            }
            timeoutValue = .milliseconds(milliseconds)
        }
        var environment = ProcessInfo.processInfo.environment
        // What crm_resource sets for the agent: its verbosity, messages to stderr, text output,
        // and no syslog (its logging set-up exports logfacility none).
        environment["HA_debug"] = verbose ? "1" : "0"
        if environment["OCF_TRACE_FILE"] == nil { environment["OCF_TRACE_FILE"] = "/dev/stderr" }
        environment["OCF_OUTPUT_FORMAT"] = "text"
        for name in ["HA_logfacility", "PCMK_logfacility"] where environment[name] == nil { environment[name] = "none" }
        if let checkLevel { environment["OCF_CHECK_LEVEL"] = String(checkLevel) }
        let settings = ExecutorSettings(baseEnvironment: environment)
        let shell = try ExecutorShell(settings: settings, concurrencyMax: 1) { _ in }
        let operation = OperationRequest(
            resource: resource, action: Self.agentAction(action), timeout: timeoutValue, meta: meta,
            featureSet: settings.featureSet)
        let result = try await shell.perform(operation)
        let verdict = result.verdict
        let agentName = resource.agentName
        let resourceName = agent != nil && self.resource == nil ? "" : " for \(resource.id)"
        FileHandle.standardOutput.write(Data(result.standardOutput))
        FileHandle.standardError.write(Data(result.standardError))
        if verdict.status == .done {
            let reason = verdict.exitReason.map { ": " + $0 } ?? ""
            FileHandle.standardOutput.write(Data(
                "Operation \(action)\(resourceName) (\(agentName)) returned \(verdict.rc.rawValue) (\(verdict.rc.name)\(reason))\n".utf8))
        } else {
            let reason = verdict.exitReason.map { ": " + $0 } ?? ""
            FileHandle.standardError.write(Data(
                "Operation \(action)\(resourceName) (\(agentName)) could not be executed (\(verdict.status.name)\(reason))\n".utf8))
        }
        throw ExitCode(Int32(verdict.rc.rawValue))
    }
}

struct AgentCommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension OCFReturnCode {
    /// Pacemaker's `services_ocf_exitcode_str`.
    var name: String {
        switch self {
        case .ok: "ok"
        case .unknownError: "error"
        case .invalidParameter: "invalid parameter"
        case .unimplementedFeature: "unimplemented feature"
        case .insufficientPrivileges: "insufficient privileges"
        case .notInstalled: "not installed"
        case .notConfigured: "not configured"
        case .notRunning: "not running"
        case .runningPromoted: "promoted"
        case .failedPromoted: "promoted (failed)"
        case .degraded: "OCF_DEGRADED"
        case .degradedPromoted: "promoted (degraded)"
        case .unknown: "unknown"
        }
    }
}

extension ExecutionStatus {
    /// Pacemaker's `pcmk_exec_status_str`.
    var name: String {
        switch self {
        case .pending: "pending"
        case .done: "complete"
        case .cancelled: "Cancelled"
        case .timedOut: "Timed Out"
        case .notSupported: "NOT SUPPORTED"
        case .error: "Error"
        case .errorHard: "Hard error"
        case .errorFatal: "Fatal error"
        case .notInstalled: "Not installed"
        case .notConnected: "Internal communication failure"
        case .invalid: "Cannot execute now"
        }
    }
}
