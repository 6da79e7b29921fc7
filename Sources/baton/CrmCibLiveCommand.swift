import ArgumentParser
import CRMCore
import Foundation

/// `baton crm cib query|replace|patch --xml-file|upgrade` against this node's baton-crmd, in
/// cibadmin's shapes (`-Q [-o SCOPE]`, `--replace --xml-file F [-o SCOPE]`, `--patch
/// --xml-file F`, `--upgrade`). A write returns once the DC ordered it and its broadcast was
/// applied on this node (acknowledged), or with the DC's reason. Exit status: 0 done, 1
/// refused, 3 baton-crmd does not answer.
struct CrmdCIBAccess: ParsableArguments {
    @Option(help: "baton-crmd's admin socket.") var socket = "/run/baton/crmd.sock"
    @Option(help: "Seconds to wait for the answer (a write waits for its acknowledgement).") var timeout: Double = 70
    @Flag(name: [.customShort("f"), .customLong("force")],
          help: "Accepted for cibadmin's habits; changes nothing: without quorum the DC holds a write until quorum returns.")
    var force = false

    func validate() throws {
        guard timeout > 0, timeout <= 600 else { throw ValidationError("--timeout must be in (0, 600] seconds") }
    }

    /// Sends the request; prints the answer (or the error, exit 1 / 3).
    func send(_ line: String, body: [UInt8] = []) throws -> String {
        do {
            return try CrmdClient.request(line, body: body, socket: socket, timeoutSeconds: timeout)
        } catch let failure as CrmdClient.Failure {
            let unreachable = failure.description.hasPrefix(socket)
            FileHandle.standardError.write(Data("baton: \(failure.description)\(unreachable ? " — is baton-crmd running on this node?" : "")\n".utf8))
            throw ExitCode(unreachable ? 3 : 1)
        }
    }

    static func scope(_ scope: String?) throws {
        if let scope, !CIBOperation.isScope(scope) {
            throw ValidationError("unknown scope '\(scope)' (configuration, status, \(CIBOperation.configurationSections.joined(separator: ", ")))")
        }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}

/// `baton crm cib query [-o SCOPE]`: `cibadmin -Q [-o SCOPE]`.
struct CrmCibQuery: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Print this node's CIB, or one section, with the status section (cibadmin -Q).")
    @Option(name: [.customShort("o"), .customLong("scope")], help: "A section: configuration, status, resources, constraints …")
    var scope: String?
    @OptionGroup var access: CrmdCIBAccess

    func validate() throws { try CrmdCIBAccess.scope(scope) }

    func run() throws {
        print(try access.send("cib query" + (scope.map { " " + $0 } ?? "")), terminator: "")
    }
}

/// `baton crm cib replace --xml-file F [-o SCOPE]`: `cibadmin --replace --xml-file F [-o SCOPE]`.
struct CrmCibReplace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replace",
        abstract: "Replace the whole CIB, or one section, through the DC (cibadmin --replace --xml-file).",
        discussion: """
            The whole CIB (a <cib>) must not be older than the cluster's (cibadmin's "Update was older than \
            existing configuration"); its status section is ignored (the DC keeps it in memory). The version \
            is bumped as Pacemaker does: epoch for a configuration change, num_updates otherwise.
            """)
    @Option(name: [.customShort("x"), .customLong("xml-file")], help: "The replacement (XML).") var xmlFile: String
    @Option(name: [.customShort("o"), .customLong("scope")], help: "The section the XML replaces (its root element's name).")
    var scope: String?
    @OptionGroup var access: CrmdCIBAccess

    func validate() throws {
        try CrmdCIBAccess.scope(scope)
        if scope == "status" { throw ValidationError("the status section is the DC's: it is not replaced") }
    }

    func run() throws {
        print(try access.send("cib replace" + (scope.map { " " + $0 } ?? ""), body: CrmdCIBAccess.readFile(xmlFile)), terminator: "")
    }
}

/// `baton crm cib upgrade`: `cibadmin --upgrade`.
struct CrmCibUpgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Raise the CIB's validate-with to the newest schema (\(CIBOperation.newestSchema)) through the DC (cibadmin --upgrade).")
    @OptionGroup var access: CrmdCIBAccess

    func run() throws {
        print(try access.send("cib upgrade"), terminator: "")
    }
}
