import AgentTools
import ArgumentParser
import CIB
import CIBResourceEdits
import Foundation

/// `baton crm resource …` without a CIB file: the edit made on baton-crmd's CIB (`cib query`)
/// by the same pure core as the file mode, written back as one v2 patchset through the DC
/// (`cib patch`), redone on a fresh copy when the DC says the copy was stale (another admin
/// wrote in between). Exit status as crm_resource's; 102 when baton-crmd does not answer.
struct CrmdResourceEdit {
    let socket: String
    let timeoutSeconds: Double

    struct Unreachable: Error {}

    /// Exit code crm_resource uses when it cannot reach the CIB manager (CRM_EX_DISCONNECT).
    static let disconnected: Int32 = 102

    func request(_ line: String, body: [UInt8] = []) throws -> String {
        do {
            return try CrmdClient.request(line, body: body, socket: socket, timeoutSeconds: timeoutSeconds)
        } catch let failure as CrmdClient.Failure {
            if failure.description.hasPrefix(socket) {
                FileHandle.standardError.write(Data("baton: \(failure.description) — is baton-crmd running on this node?\n".utf8))
                throw ExitCode(Self.disconnected)
            }
            throw failure
        }
    }

    /// The daemon's CIB, status included.
    func query() throws -> XMLElement {
        let text = try request("cib query")
        do {
            let root = try XMLCodec.parse(text)
            guard root.name == "cib" else { throw CIBFileAttributeStore.Failure(description: "the answer's root is <\(root.name)>") }
            return root
        } catch {
            FileHandle.standardError.write(Data("baton: baton-crmd's cib query: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// One edit, retried on a stale copy; the outcome (not printed).
    func write(_ make: (XMLElement) throws -> LiveResourceEdit.Attempt) throws -> ToolOutcome {
        var lastError = ""
        for _ in 1...LiveResourceEdit.attemptsMax {
            let attempt = try make(try query())
            guard let patch = attempt.patch else { return attempt.outcome }
            do {
                _ = try request("cib patch", body: Array(patch.text().utf8))
                return attempt.outcome
            } catch let failure as CrmdClient.Failure {
                lastError = failure.description
                if LiveResourceEdit.isStale(lastError) { continue }
                break
            }
        }
        var outcome = ToolOutcome()
        outcome.standardError = "crm_resource: Error performing operation: \(lastError)\n"
        outcome.exitCode = 1
        return outcome
    }

    /// move, ban, clear, enable, disable, manage, unmanage.
    func run(_ command: ResourceEdits.Command) throws {
        let now = Int(Date().timeIntervalSince1970)
        try CrmAttributeShell.finish(try write { try LiveResourceEdit.attempt(command, on: $0, now: now) })
    }

    /// crm_resource --cleanup / --refresh: the fail counts deleted through the DC and the
    /// history forgotten on the nodes concerned (baton-crmd's `resource cleanup|refresh`).
    func cleanup(_ resource: String, node: String?, operation: String?, interval: String?, refresh: Bool, force: Bool) throws {
        let cib = try query()
        guard let primitives = LiveResourceEdit.primitives(resource, force: force, in: cib) else {
            return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: Resource '\(resource)' not found\nError performing operation: No such object\n",
                                                            exitCode: ResourceEdits.Exit.noSuchObject))
        }
        var intervalText = "-"
        if let interval {
            guard let milliseconds = LiveResourceEdit.intervalMilliseconds(interval) else {
                return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: Invalid interval specified: \(interval)\n", exitCode: ResourceEdits.Exit.usage))
            }
            intervalText = String(milliseconds)
        }
        guard !primitives.isEmpty, (node ?? "-") != "", !(node ?? "").contains(" "), !(operation ?? "").contains(" ") else {
            return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: nothing to clean up\n", exitCode: ResourceEdits.Exit.usage))
        }
        let answer: String
        do {
            answer = try request("resource \(refresh ? "refresh" : "cleanup") \(primitives.joined(separator: ",")) \(node ?? "-") \(operation ?? "-") \(intervalText)")
        } catch let failure as CrmdClient.Failure {
            return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: Error performing operation: \(failure.description)\n", exitCode: 1))
        }
        try CrmAttributeShell.finish(ToolOutcome(standardOutput: answer))
    }

    /// crm_resource --fail -N NODE: NODE reports a failed asyncmon of the resource (wire 21).
    func fail(_ resource: String, node: String?) throws {
        let (target, refusal) = LiveResourceEdit.failTarget(resource, node: node, in: try query())
        guard let target, let node else { return try CrmAttributeShell.finish(refusal ?? ToolOutcome(exitCode: 1)) }
        do {
            _ = try request("resource fail \(target.resource) \(node) \(target.resourceClass) \(target.provider.isEmpty ? "-" : target.provider) \(target.type)")
        } catch let failure as CrmdClient.Failure {
            return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: Error performing operation: \(failure.description)\n", exitCode: 1))
        }
    }

    /// crm_resource --restart: target-role Stopped, wait until it is active nowhere, its
    /// target-role back (or removed), wait until it is active again.
    func restart(_ resource: String) throws {
        func waitFor(_ condition: ([String]) -> Bool) throws -> Bool {
            let deadline = Date().addingTimeInterval(timeoutSeconds)
            var pause = 0.005
            while Date() < deadline {
                if condition(LiveResourceEdit.activeNodes(resource, in: try query()) ?? []) { return true }
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 0.2)
            }
            return false
        }
        let cib = try query()
        guard let active = LiveResourceEdit.activeNodes(resource, in: cib) else {
            return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: Resource '\(resource)' not found\nError performing operation: No such object\n",
                                                            exitCode: ResourceEdits.Exit.noSuchObject))
        }
        guard !active.isEmpty else {
            return try CrmAttributeShell.finish(ToolOutcome(standardError: "crm_resource: \(resource) is not running\nError performing operation: No such object\n",
                                                            exitCode: ResourceEdits.Exit.noSuchObject))
        }
        let original = LiveResourceEdit.targetRole(resource, in: cib)
        let stop = try write { try LiveResourceEdit.attempt(.setMeta(resource: resource, name: "target-role", value: "Stopped", force: true), on: $0, now: 0) }
        guard stop.exitCode == 0 else { return try CrmAttributeShell.finish(stop) }
        let stopped = try waitFor { $0.isEmpty }
        let start = try write { try LiveResourceEdit.restoreTargetRole(resource, original: original, on: $0) }
        guard stopped else {
            return try CrmAttributeShell.finish(ToolOutcome(standardOutput: stop.standardOutput + start.standardOutput,
                                                            standardError: "crm_resource: \(resource) did not stop within \(Int(timeoutSeconds)) s (target-role put back)\n"
                                                            + start.standardError, exitCode: 124))
        }
        guard start.exitCode == 0 else { return try CrmAttributeShell.finish(start) }
        guard try waitFor({ $0.count >= active.count }) else {
            return try CrmAttributeShell.finish(ToolOutcome(standardOutput: stop.standardOutput + start.standardOutput,
                                                            standardError: "crm_resource: \(resource) did not start again within \(Int(timeoutSeconds)) s\n", exitCode: 124))
        }
        try CrmAttributeShell.finish(ToolOutcome(standardOutput: stop.standardOutput + start.standardOutput))
    }
}
