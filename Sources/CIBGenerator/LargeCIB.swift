import CIB

/// A large steady-state CIB for size and speed figures: `resources` Dummy primitives and, for
/// each of `nodes` nodes, one probe result per resource (32 x 4,000 is ~60 MB of XML, the
/// size issue 13 names).
public enum LargeCIB {
    public static func text(nodes: Int, resources: Int) -> String {
        precondition(nodes >= 1 && resources >= 1, "LargeCIB: at least one node and one resource")
        var text = "<cib crm_feature_set=\"3.16.2\" validate-with=\"pacemaker-3.9\" epoch=\"10\" num_updates=\"0\" admin_epoch=\"0\">"
        text += "<configuration><crm_config/><nodes>"
        for node in 1...nodes { text += "<node id=\"\(node)\" uname=\"node\(node)\"/>" }
        text += "</nodes><resources>"
        for resource in 0..<resources {
            text += "<primitive id=\"rsc\(resource)\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\">"
                + "<operations><op id=\"rsc\(resource)-monitor-10s\" name=\"monitor\" interval=\"10s\"/></operations></primitive>"
        }
        text += "</resources><constraints/></configuration><status>"
        for node in 1...nodes {
            text += "<node_state id=\"\(node)\" uname=\"node\(node)\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\">"
                + "<lrm id=\"\(node)\"><lrm_resources>"
            for resource in 0..<resources {
                text += "<lrm_resource id=\"rsc\(resource)\" type=\"Dummy\" class=\"ocf\" provider=\"heartbeat\">"
                    + "<lrm_rsc_op id=\"rsc\(resource)_last_0\" operation_key=\"rsc\(resource)_monitor_0\" operation=\"monitor\""
                    + " crm-debug-origin=\"do_update_resource\" crm_feature_set=\"3.16.2\""
                    + " transition-key=\"\(resource):0:7:6f1d3c1e-4b1a-4c8e-9a51-0c2f4e0b\(node)\""
                    + " transition-magic=\"0:7;\(resource):0:7:6f1d3c1e-4b1a-4c8e-9a51-0c2f4e0b\(node)\" exit-reason=\"\""
                    + " call-id=\"\(resource + 1)\" rc-code=\"7\" op-status=\"0\" interval=\"0\" last-rc-change=\"1767225600\""
                    + " exec-time=\"12\" queue-time=\"0\" op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\" on_node=\"node\(node)\"/></lrm_resource>"
            }
            text += "</lrm_resources></lrm></node_state>"
        }
        return text + "</status></cib>"
    }

    /// Sets an attribute of primitive `rsc<resource>` in a document made by `text`.
    public static func setAttribute(in root: inout XMLElement, resource: Int, name: String, value: String) {
        guard let configuration = root.children.firstIndex(where: { $0.name == "configuration" }),
              let resources = root.children[configuration].children.firstIndex(where: { $0.name == "resources" }) else {
            preconditionFailure("LargeCIB.setAttribute: not a LargeCIB document")
        }
        precondition(root.children[configuration].children[resources].children[resource]["id"] == "rsc\(resource)",
                     "LargeCIB keeps primitives in id order")
        root.children[configuration].children[resources].children[resource][name] = value
    }
}
