import CIB

/// What Pacemaker's controller writes into the CIB's configuration as DC (CRM-LIVE.md §1.1):
/// a `<node id uname/>` per node of Corosync's nodelist in `nodes`, and in crm_config's
/// `cib-bootstrap-options` set `have-watchdog`, `dc-version`, `cluster-infrastructure=corosync`
/// and `cluster-name` (totem.cluster_name, when set). Pure: given the CIB's document, the
/// replacements (one per section that differs) the DC orders as ordinary CIB writes; none once
/// the CIB holds them, so a DC that orders them at every chance writes them once.
public enum ControllerEntries {
    /// The set Pacemaker keeps its own options in.
    public static let bootstrapSet = "cib-bootstrap-options"
    /// The `dc-version` a baton-crmd DC writes (crm_mon prints it after the DC's name).
    public static let dcVersion = "2.1.5-baton-crmd"

    /// The options the DC owns, in Pacemaker's order (`have-watchdog` first).
    public static func options(clusterName: String?) -> [(name: String, value: String)] {
        var options = [("have-watchdog", "false"), ("dc-version", dcVersion), ("cluster-infrastructure", "corosync")]
        if let clusterName, !clusterName.isEmpty { options.append(("cluster-name", clusterName)) }
        return options
    }

    /// The `crm_config` and `nodes` replacements that bring `document` (a `<cib>`) in line
    /// with the nodelist and the DC's options; empty when it already is.
    public static func writes(for document: XMLElement, nodelist: [ConfiguredNode], clusterName: String?) -> [CIBOperation] {
        let configuration = document.children(named: "configuration").first ?? XMLElement(name: "configuration")
        var operations: [CIBOperation] = []
        let crmConfig = configuration.children(named: "crm_config").first ?? XMLElement(name: "crm_config")
        let wantedConfig = withOptions(crmConfig, clusterName: clusterName)
        if wantedConfig != crmConfig { operations.append(.replace(scope: "crm_config", xml: XMLCodec.serialize(wantedConfig))) }
        let nodes = configuration.children(named: "nodes").first ?? XMLElement(name: "nodes")
        let wantedNodes = withNodes(nodes, nodelist: nodelist)
        if wantedNodes != nodes { operations.append(.replace(scope: "nodes", xml: XMLCodec.serialize(wantedNodes))) }
        return operations
    }

    /// The value of cluster option `name` in `document`'s crm_config (the first nvpair of that
    /// name in a cluster_property_set, `cib-bootstrap-options` first), nil when unset.
    public static func clusterOption(_ name: String, in document: XMLElement) -> String? {
        guard let crmConfig = document.children(named: "configuration").first?.children(named: "crm_config").first else { return nil }
        let sets = crmConfig.children(named: "cluster_property_set")
        let ordered = sets.filter { $0["id"] == bootstrapSet } + sets.filter { $0["id"] != bootstrapSet }
        for set in ordered {
            if let pair = set.children.first(where: { $0.name == "nvpair" && $0["name"] == name }) { return pair["value"] }
        }
        return nil
    }

    /// crm_config with the DC's options set in `cib-bootstrap-options` (created first when
    /// missing; an nvpair of that name kept with its id, its value set).
    static func withOptions(_ crmConfig: XMLElement, clusterName: String?) -> XMLElement {
        var config = crmConfig
        var index = config.children.firstIndex { $0.name == "cluster_property_set" && $0["id"] == bootstrapSet }
        if index == nil {
            config.children.insert(XMLElement(name: "cluster_property_set", attributes: [.init(name: "id", value: bootstrapSet)]), at: 0)
            index = 0
        }
        guard let index else { preconditionFailure("ControllerEntries: the bootstrap set was just made") }
        var set = config.children[index]
        for (name, value) in options(clusterName: clusterName) {
            if let at = set.children.firstIndex(where: { $0.name == "nvpair" && $0["name"] == name }) {
                set.children[at]["value"] = value
            } else {
                set.children.append(XMLElement(name: "nvpair", attributes: [
                    .init(name: "id", value: "\(bootstrapSet)-\(name)"), .init(name: "name", value: name), .init(name: "value", value: value),
                ]))
            }
        }
        config.children[index] = set
        return config
    }

    /// `nodes` with a `<node id uname/>` per nodelist node (a node of that id keeps its other
    /// attributes and children; its uname follows the nodelist). Nodes not in the nodelist stay.
    static func withNodes(_ nodes: XMLElement, nodelist: [ConfiguredNode]) -> XMLElement {
        var result = nodes
        for node in nodelist {
            let id = String(node.nodeID.rawValue)
            if let at = result.children.firstIndex(where: { $0.name == "node" && $0["id"] == id }) {
                result.children[at]["uname"] = node.name
            } else {
                result.children.append(XMLElement(name: "node", attributes: [.init(name: "id", value: id), .init(name: "uname", value: node.name)]))
            }
        }
        return result
    }
}
