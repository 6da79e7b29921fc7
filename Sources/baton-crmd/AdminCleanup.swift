import CIB
import CRMCore
import Foundation

/// `resource cleanup|refresh` on the admin socket (crm_resource --cleanup / --refresh): on each
/// node concerned, the resources' fail counts and last-failure times deleted through the DC
/// (transient attributes) and their operation history forgotten on every member (wire message
/// 20), so the DC probes them again there and schedules anew. cleanup takes the nodes where
/// they failed (a fail count or a last failure recorded), refresh every node with their history.
struct AdminCleanup: Sendable, Equatable {
    var resources: [String]
    var node: String?
    var operation: String?
    var intervalMilliseconds: UInt64?
    var refresh: Bool

    /// `resource cleanup|refresh RESOURCES NODE|- OPERATION|- INTERVAL|-` (resources comma-separated).
    init(words: [String]) throws(AdminSocketError) {
        guard words.count == 5, ["cleanup", "refresh"].contains(words[0]) else {
            throw AdminSocketError("request: resource cleanup|refresh RESOURCES NODE|- OPERATION|- INTERVALMS|-")
        }
        refresh = words[0] == "refresh"
        resources = words[1].split(separator: ",").map(String.init)
        guard !resources.isEmpty else { throw AdminSocketError("request: no resource") }
        node = words[2] == "-" ? nil : words[2]
        operation = words[3] == "-" ? nil : words[3]
        if words[4] == "-" {
            intervalMilliseconds = nil
        } else if let interval = UInt64(words[4]) {
            intervalMilliseconds = interval
        } else {
            throw AdminSocketError("request: interval '\(words[4].prefix(40))' is not milliseconds")
        }
    }

    /// The failure attribute names of `store` this clean-up deletes.
    func failureNames(in store: [String: String]) -> [String] {
        store.keys.filter { name in
            for prefix in ["fail-count-", "last-failure-"] where name.hasPrefix(prefix) {
                let rest = name.dropFirst(prefix.count)
                guard let hash = rest.lastIndex(of: "#") else { continue }
                let resource = String(rest[..<hash]), key = rest[rest.index(after: hash)...]
                guard names(resource) else { continue }
                guard let operation else { return true }
                guard let underscore = key.lastIndex(of: "_"), key[..<underscore] == operation else { continue }
                return intervalMilliseconds.map { String(key[key.index(after: underscore)...]) == String($0) } ?? true
            }
            return false
        }.sorted()
    }

    func names(_ id: String) -> Bool {
        resources.contains { $0 == id || (id.hasPrefix($0 + ":") && id.dropFirst($0.count + 1).allSatisfy(\.isNumber)) }
    }
}

extension Loop {
    mutating func adminCleanup(_ request: AdminCleanup, reply: AdminReply) async {
        var lines: [String] = []
        var directives: [NodeCore.Directive] = []
        do {
            let nodes = core.settings.nodelist.filter { request.node == nil || $0.name == request.node }
            if let node = request.node, nodes.isEmpty { return reply.send("error: node '\(node.prefix(80))' is not in the nodelist\n") }
            for node in nodes {
                let history = core.resourceStatus.nodeStates.first { $0.uname == node.name }?.lrm?.resources.filter { request.names($0.id) } ?? []
                let failures = request.failureNames(in: core.attributes[node.nodeID] ?? [:])
                let failed = !failures.isEmpty || history.contains { $0.operations.contains { $0.id.hasSuffix("_last_failure_0") } }
                guard request.refresh ? !history.isEmpty || !failures.isEmpty : failed else { continue }
                for name in failures { directives += try core.requestAttribute(.node(node.nodeID), name: name, value: nil) }
                if !history.isEmpty {
                    directives += try core.requestHistoryForget(HistoryForget(view: 0, node: node.nodeID, resources: request.resources,
                                                                             operation: request.operation,
                                                                             intervalMilliseconds: request.intervalMilliseconds))
                }
                for resource in Set(history.map(\.id)).union(request.resources.filter { _ in history.isEmpty }).sorted() {
                    lines.append("Cleaned up \(resource) on \(node.name)")
                }
            }
        } catch {
            return reply.send("error: \(error)\n")
        }
        await perform(directives)
        reply.send(lines.map { $0 + "\n" }.joined())
    }
}

/// `resource fail RESOURCE NODE CLASS PROVIDER|- TYPE` (crm_resource --fail): wire message 21.
struct AdminFail: Sendable, Equatable {
    var resource: String
    var node: String
    var resourceClass: String
    var provider: String
    var type: String

    init(words: [String]) throws(AdminSocketError) {
        guard words.count == 6, words[0] == "fail" else { throw AdminSocketError("request: resource fail RESOURCE NODE CLASS PROVIDER|- TYPE") }
        resource = words[1]
        node = words[2]
        resourceClass = words[3]
        provider = words[4] == "-" ? "" : words[4]
        type = words[5]
    }
}

extension Loop {
    mutating func adminFail(_ request: AdminFail, reply: AdminReply) async {
        guard let node = core.settings.nodelist.first(where: { $0.name == request.node }) else {
            return reply.send("error: node '\(request.node.prefix(80))' is not in the nodelist\n")
        }
        do {
            let directives = try core.requestFailInjection(FailInjection(
                view: 0, node: node.nodeID, resource: request.resource, resourceClass: request.resourceClass, provider: request.provider,
                type: request.type, wallClockSeconds: UInt64(max(0, Date().timeIntervalSince1970))))
            await perform(directives)
            reply.send("")
        } catch {
            reply.send("error: \(error)\n")
        }
    }
}
