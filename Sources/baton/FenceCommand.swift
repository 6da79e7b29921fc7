import ArgumentParser
import CIB
import Executor
import ExecutorShell
import Foundation

/// `baton fence ACTION [NODE]`: one fence action run here by the fence device's agent, as
/// pacemaker-fenced runs it (the agent's key=value lines on stdin, pcmk_host_list/map/check,
/// per-action timeouts and retries, reboot as off and on where the agent has no reboot), the
/// device from a CIB file's stonith resources or from the command line. Quiet on success, as
/// stonith_admin is; `-V` shows every agent run.
struct FenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fence",
        abstract: "Run a fence action (off, on, reboot, status, list, monitor, metadata) here, bypassing any cluster.",
        discussion: """
            The device is a stonith resource of a CIB file (--cib, or CIB_file; --device picks one, else the \
            first that can fence NODE) or an agent with its parameters (--agent fence_x -o name=value ...). \
            Agents run from --agent-directory (/usr/sbin, as pacemaker-fenced's). list prints the targets the \
            agent lists; status prints on or off. Exit status: 0 done (status: on), 1 failed, 2 status: off, \
            64 bad command line, 66 unreadable CIB or unknown device, 124 timed out.
            """)

    @Argument(help: "off, on, reboot, status, list, monitor or metadata.") var action: String
    @Argument(help: "The node to fence (not for list, monitor, metadata).") var node: String?
    @Option(name: .long, help: "The stonith resource's id in the CIB.") var device: String?
    @Option(name: .long, help: "The CIB file (default: $CIB_file).") var cib: String?
    @Option(name: .long, help: "The fence agent (fence_dummy, fence_baton_netns, ...), without a CIB.") var agent: String?
    @Option(name: [.customShort("o"), .long], help: "NAME=VALUE: a device parameter (overrides the CIB's; repeatable).")
    var option: [String] = []
    @Option(name: .long, help: "Where the fence agents are.") var agentDirectory = "/usr/sbin"
    @Option(name: [.customShort("t"), .long], help: "Seconds for an action without pcmk_ACTION_timeout (stonith-timeout).")
    var timeout = 60
    @Option(name: .long, help: "The target's node id (passed as nodeid).") var nodeId: UInt32 = 0
    @Flag(name: [.customShort("V"), .long], help: "Print every agent run.") var verbose = false

    static let actions = ["off", "on", "reboot", "status", "list", "monitor", "metadata"]

    func validate() throws {
        guard Self.actions.contains(action) else { throw ValidationError("action '\(action)': expected \(Self.actions.joined(separator: ", "))") }
        if ["off", "on", "reboot", "status"].contains(action) && node == nil { throw ValidationError("\(action) needs a NODE") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    /// (id, agent, parameters) of the candidate devices.
    func candidates() throws -> [(String, String, [String: String])] {
        var overrides: [String: String] = [:]
        for text in option {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { throw ValidationError("-o \(text): expected NAME=VALUE") }
            overrides[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        if let agent { return [(device ?? agent, agent, overrides)] }
        guard let path = cib ?? ProcessInfo.processInfo.environment["CIB_file"] else {
            throw ValidationError("name the device's agent (--agent) or a CIB file (--cib, or CIB_file)")
        }
        let document: CIB
        do {
            document = try CIB(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        } catch {
            throw AgentCommandFailure("\(path): \(error)")
        }
        var found: [(String, String, [String: String])] = []
        for case .primitive(let primitive) in document.configuration.resources where primitive.resourceClass == "stonith" {
            guard device == nil || primitive.id == device, let type = primitive.type else { continue }
            var parameters: [String: String] = [:]
            for set in primitive.attributes.instance where set.rules.isEmpty {
                for pair in set.pairs where parameters[pair.name] == nil { parameters[pair.name] = pair.value ?? "" }
            }
            found.append((primitive.id, type, parameters.merging(overrides) { $1 }))
        }
        if found.isEmpty { throw AgentCommandFailure("\(path): no stonith resource\(device.map { " '\($0)'" } ?? "")") }
        return found
    }

    func run() async throws {
        let devices: [(String, String, [String: String])]
        do {
            devices = try candidates()
        } catch let failure as AgentCommandFailure {
            FileHandle.standardError.write(Data("baton fence: \(failure)\n".utf8))
            throw ExitCode(66)
        }
        let directory = agentDirectory.hasPrefix("/") ? agentDirectory : FileManager.default.currentDirectoryPath + "/" + agentDirectory
        let runner = try FenceRunner(agentDirectory: directory, environment: ProcessInfo.processInfo.environment)
        if action == "metadata" {
            let outcome = await runner.fence(
                try FenceDevice(id: devices[0].0, agent: devices[0].1, parameters: devices[0].2, capabilities: FenceCapabilities()),
                action: "metadata", target: nil)
            FileHandle.standardOutput.write(Data(outcome.output.utf8))
            throw ExitCode(outcome.result.ok ? 0 : 1)
        }
        var last: FenceRunner.Outcome?
        for (id, agent, parameters) in devices {
            let device: FenceDevice
            do {
                device = try await runner.device(id: id, agent: agent, parameters: parameters)
            } catch {
                FileHandle.standardError.write(Data("baton fence: device \(id): \(error)\n".utf8))
                continue
            }
            let outcome = await runner.fence(device, action: action, target: node, nodeID: nodeId, fallbackTimeout: .seconds(timeout))
            if verbose {
                for run in outcome.runs {
                    print("\(id): \(run.action) attempt \(run.attempt) (timeout \(run.timeout)): \(run.result)")
                }
                if node != nil { print("\(id): host check \(device.hostCheck.rawValue): \(outcome.check)") }
            }
            last = outcome
            // Another device may be able to fence a node this one cannot (not an agent failure).
            if case .notRun(let why) = outcome.result, outcome.runs.isEmpty || why.contains("cannot fence") { continue }
            break
        }
        guard let last else { throw ExitCode(1) }
        switch (action, last.result) {
        case ("list", .succeeded):
            for target in FenceDevice.listTargets(last.output) { print(target) }
        case ("status", .succeeded): print("on")
        case ("status", .failed(2, _)):
            print("off")
            throw ExitCode(2)
        case (_, .succeeded): break
        case (_, let failure):
            let what = action == "on" ? "unfence" : action == "off" || action == "reboot" ? "fence" : action
            let reason: String = switch failure {
            case .timedOut: "Timer expired"
            case .failed(let code, let output): "Error occurred (agent exited \(code)\(output.isEmpty ? "" : ": " + output.split(separator: "\n").last.map(String.init)!))"
            case .notRun(let why): why
            case .succeeded: ""
            }
            FileHandle.standardError.write(Data("baton fence: Couldn't \(what)\(node.map { " " + $0 } ?? ""): \(reason)\n".utf8))
            throw ExitCode(failure == .timedOut ? 124 : 1)
        }
    }
}
