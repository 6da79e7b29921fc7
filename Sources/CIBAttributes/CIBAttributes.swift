import AgentTools
import CIB

/// crm_attribute's semantics (AgentTools) on a CIB: the attribute table the tools see, read from
/// the CIB (cluster options, nodes' permanent attributes, the status section's transient ones,
/// the nodes as members), and the table's changes written back where Pacemaker's crm_attribute
/// writes them on a CIB file (`CIB_file=F crm_attribute …`): the same set and pair ids, values
/// changed in place, a new pair appended, and one version bump per write. Pure.
public enum CIBAttributes {
    public struct EditError: Error, CustomStringConvertible, Sendable, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The table a tool runs on. A node's member id is its CIB id when that is a number, else
    /// its position (the CIB id is kept as the member's uuid).
    public static func table(of cib: CIB) -> AttributeTable {
        var table = AttributeTable(localNode: nil, members: [], quorate: cib.haveQuorum)
        let states = Dictionary(cib.status.nodeStates.compactMap { state in state.id.map { ($0, state) } }, uniquingKeysWith: { first, _ in first })
        for (index, node) in cib.configuration.nodes.enumerated() {
            let state = states[node.id]
            let member = state.map { isTrue($0.inCCM ?? "") && $0.crmd == "online" } ?? false
            table.members.append(AttributeTable.Member(id: UInt32(node.id) ?? UInt32(index + 1), name: node.uname,
                                                       state: member ? "member" : "lost", uuid: node.id))
            for set in node.attributes.instance { for pair in set.pairs where pair.idRef == nil { store(&table, .nodes, node.uname, pair) } }
            for set in state?.transientAttributes?.sets ?? [] where set.kind == "instance_attributes" {
                for pair in set.pairs where pair.idRef == nil { store(&table, .status, node.uname, pair) }
            }
        }
        for set in cib.configuration.crmConfig { for pair in set.pairs where pair.idRef == nil { store(&table, .crmConfig, "", pair) } }
        return table
    }

    private static func store(_ table: inout AttributeTable, _ scope: AttributeTable.Scope, _ node: String, _ pair: NameValuePair) {
        // The first pair of a name wins (crm_attribute's query finds the first match).
        let key = AttributeTable.Key(scope: scope, node: node, name: pair.name)
        if table[key] == nil { try? table.set(key, pair.value ?? "") }
    }

    /// Writes the difference between `before` and `after` (tables from `table(of:)`) into the
    /// CIB and bumps its version: epoch for a configuration change, num_updates for the status.
    public static func apply(from before: AttributeTable, to after: AttributeTable, in cib: inout CIB) throws(EditError) {
        var keys = Set(before.values.keys).union(after.values.keys).filter { before[$0] != after[$0] }
        guard !keys.isEmpty else { return }
        keys = Set(keys.sorted { ($0.scope.rawValue, $0.node, $0.name) < ($1.scope.rawValue, $1.node, $1.name) })
        var configurationChanged = false
        for key in keys.sorted(by: { ($0.scope.rawValue, $0.node, $0.name) < ($1.scope.rawValue, $1.node, $1.name) }) {
            let value = after[key]
            switch key.scope {
            case .crmConfig:
                configurationChanged = true
                edit(&cib.configuration.crmConfig, kind: "cluster_property_set", setID: "cib-bootstrap-options", name: key.name, value: value)
            case .nodes:
                configurationChanged = true
                guard let index = cib.configuration.nodes.firstIndex(where: { $0.uname == key.node }) else {
                    throw EditError("configuration/nodes: no node named \(key.node)")
                }
                let id = cib.configuration.nodes[index].id
                edit(&cib.configuration.nodes[index].attributes.instance, kind: "instance_attributes", setID: "nodes-\(id)", name: key.name, value: value)
            case .status:
                guard let node = cib.configuration.nodes.first(where: { $0.uname == key.node }) else {
                    throw EditError("status: no node named \(key.node) in configuration/nodes")
                }
                guard let index = cib.status.nodeStates.firstIndex(where: { $0.id == node.id }) else {
                    throw EditError("status: no node_state for node \(key.node) (id \(node.id))")
                }
                var transient: TransientAttributes
                if let existing = cib.status.nodeStates[index].transientAttributes {
                    transient = existing
                } else {
                    transient = try emptyTransientAttributes(id: node.id)
                }
                edit(&transient.sets, kind: "instance_attributes", setID: "status-\(node.id)", name: key.name, value: value)
                cib.status.nodeStates[index].transientAttributes = transient
            }
        }
        var version = try versionOf(cib)
        version = version.bumped(by: configurationChanged ? .configuration : .status)
        var root = cib.xml
        version.write(to: &root)
        do {
            cib = try CIB(xml: root)
        } catch {
            throw EditError("the edited CIB does not read back: \(error)")
        }
        precondition(try! versionOf(cib) == version, "apply: the CIB carries the bumped version")
    }

    private static func emptyTransientAttributes(id: String) throws(EditError) -> TransientAttributes {
        do {
            return try TransientAttributes(xml: XMLElement(name: "transient_attributes", attributes: [.init(name: "id", value: id)]))
        } catch {
            throw EditError("status: \(error)")
        }
    }

    private static func versionOf(_ cib: CIB) throws(EditError) -> CIBVersion {
        do {
            return try CIBVersion(of: cib.xml)
        } catch {
            throw EditError("cib: \(error)")
        }
    }

    /// Sets (or, with nil, deletes) `name` in `sets`: the pair of that name where it is, else a
    /// new pair in the set `setID` (made when missing). A deleted pair leaves its set, even empty.
    static func edit(_ sets: inout [NameValueSet], kind: String, setID: String, name: String, value: String?) {
        for setIndex in sets.indices {
            guard let pairIndex = sets[setIndex].pairs.firstIndex(where: { $0.name == name && $0.idRef == nil }) else { continue }
            if let value {
                sets[setIndex].pairs[pairIndex].value = value
            } else {
                sets[setIndex].pairs.remove(at: pairIndex)
            }
            return
        }
        guard let value else { return }
        let setIndex = sets.firstIndex { $0.id == setID } ?? {
            sets.append(NameValueSet(kind: kind, id: setID, pairs: []))
            return sets.count - 1
        }()
        sets[setIndex].pairs.append(NameValuePair(id: "\(sets[setIndex].id ?? setID)-\(name)", name: name, value: value))
        precondition(sets[setIndex].pairs.last?.name == name, "edit: the new pair is in its set")
    }
}

