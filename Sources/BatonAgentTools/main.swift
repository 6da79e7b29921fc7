import AgentTools
import AgentToolsShell
import Glibc

// baton-agent-tools: crm_attribute, crm_master, attrd_updater and crm_node for the agents
// Baton's executor runs, chosen by argv[0] (the executor's tool directory holds symbolic links
// named after them). They act on the cluster through baton-crmd when its admin socket
// (BATON_CRMD_SOCKET, default /run/baton/crmd.sock) is there, else on the node's attribute
// store, BATON_ATTRIBUTE_STORE (default /run/baton/attributes).

/// Writes all of `text` to descriptor `fd`.
func emit(_ text: String, to fd: Int32) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { return }
        offset += count
    }
}

var environment: [String: String] = [:]
var pointer = environ
while let entry = pointer.pointee {
    let text = String(cString: entry)
    if let equals = text.firstIndex(of: "=") {
        environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
    }
    pointer += 1
}

let arguments = CommandLine.arguments
var toolName = arguments.first ?? ""
var toolArguments = Array(arguments.dropFirst())
// `baton-agent-tools crm_attribute ...` works too.
if AgentTool(argument0: toolName) == nil, let first = toolArguments.first, AgentTool(argument0: first) != nil {
    toolName = first
    toolArguments.removeFirst()
}
guard let tool = AgentTool(argument0: toolName) else {
    emit("baton-agent-tools: run as one of \(AgentTool.allCases.map(\.rawValue).joined(separator: ", ")) (argv[0] '\(toolName)')\n", to: 2)
    exit(64)
}
// With baton-crmd on this node (its admin socket present), the cluster's attributes through it;
// without, the node-local store.
let crmdSocket = environment[AgentToolsInstallation.crmdSocketVariable] ?? CrmdSocketClient.defaultPath
let store: any AttributeStore = CrmdSocketClient.present(crmdSocket)
    ? CrmdAttributeStore(socket: crmdSocket)
    : FileAttributeStore(directory: environment[AgentToolsInstallation.storeVariable] ?? AgentToolsInstallation.defaultStore)
let outcome: ToolOutcome
do {
    outcome = try store.transaction { table in tool.run(toolArguments, environment: environment, table: &table) }
} catch {
    emit("\(tool.rawValue): attribute store: \(error)\n", to: 2)
    exit(102)
}
emit(outcome.standardOutput, to: 1)
emit(outcome.standardError, to: 2)
exit(outcome.exitCode)
