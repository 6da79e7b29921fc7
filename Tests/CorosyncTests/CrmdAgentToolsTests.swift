import CRMCore
import Foundation
import Testing

/// The agent tools (baton-agent-tools as attrd_updater, crm_attribute, crm_node) with
/// baton-crmd's socket present: they act on the cluster through the daemon. An attribute set
/// by attrd_updater on node2 is seen by crm_attribute -G on node3 and sits in every node's
/// status section; a cluster option set by crm_attribute on node3 is a CIB write seen on node1.
extension RealCorosync {
@Suite(.serialized)
struct CrmdAgentToolsTests {
    /// A tool run on `node` against that node's baton-crmd.
    static func tool(_ bed: CrmdBed, _ node: Int, _ arguments: [String]) async throws -> CommandResult {
        try await run(["/usr/bin/env", "BATON_CRMD_SOCKET=\(bed.socket(node))", "BATON_ATTRIBUTE_STORE=\(bed.testbed.directory)/no-store-\(node)",
                       BuildPaths.product("baton-agent-tools")] + arguments)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func theAgentToolsActOnTheClusterThroughBatonCrmd() async throws {
        if let missing = Requirement.built("baton-agent-tools") { throw TestFailure(missing) }
        try await CrmdBed.with { bed in
            try bed.launch([1, 2, 3])
            _ = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            try await waitUntil("the DC's node entries on node3") {
                (try? await bed.cib(3, ["query", "-o", "nodes"]))?.output.contains("<node id=\"2\" uname=\"node2\"/>") == true
            }
            let updated = try await Self.tool(bed, 2, ["attrd_updater", "-n", "probe-seen", "-U", "from-node2"])
            #expect(updated.status == 0, "\(updated.output)")
            try await waitUntil("node2's attribute read by crm_attribute on node3") {
                let read = try? await Self.tool(bed, 3, ["crm_attribute", "-N", "node2", "-l", "reboot", "-n", "probe-seen", "-G", "-q"])
                return read?.status == 0 && read?.output == "from-node2\n"
            }
            for node in 1...3 {
                let status = try await bed.cib(node, ["query", "-o", "status"])
                #expect(status.output.contains("name=\"probe-seen\" value=\"from-node2\""), "node\(node): \(status.output)")
            }
            // Not in any node-local store: the tools never fell back to one.
            #expect(!FileManager.default.fileExists(atPath: "\(bed.testbed.directory)/no-store-2/attributes"))

            // crm_node: the cluster's nodes and this node's name, from the daemon.
            let list = try await Self.tool(bed, 3, ["crm_node", "-l"])
            #expect(list.status == 0 && list.output == "1 node1 member\n2 node2 member\n3 node3 member\n", "\(list.output)")
            let name = try await Self.tool(bed, 3, ["crm_node", "-n"])
            #expect(name.output == "node3\n", "\(name.output)")

            // A cluster option (crm_config): a CIB write through the DC, seen from node1.
            let option = try await Self.tool(bed, 3, ["crm_attribute", "-n", "probe-option", "-v", "on"])
            #expect(option.status == 0, "\(option.output)")
            try await waitUntil("node3's cluster option on node1") {
                let read = try? await Self.tool(bed, 1, ["crm_attribute", "-n", "probe-option", "-G", "-q"])
                return read?.status == 0 && read?.output == "on\n"
            }
            // Deleted through attrd_updater on node3 (for node2), gone on node1.
            let deleted = try await Self.tool(bed, 3, ["attrd_updater", "-n", "probe-seen", "-N", "node2", "-D"])
            #expect(deleted.status == 0, "\(deleted.output)")
            try await waitUntil("the attribute deleted everywhere") {
                guard let status = try? await bed.cib(1, ["query", "-o", "status"]), status.status == 0 else { return false }
                return !status.output.contains("probe-seen")
            }
        }
    }
}
}
