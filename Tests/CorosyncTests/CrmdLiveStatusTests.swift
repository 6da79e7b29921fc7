import CRMCore
import Foundation
import Testing

/// `baton crm status` against a live baton-crmd on three corosync nodes: the DC wrote what
/// Pacemaker's controller writes (nodes from the nodelist, dc-version, cluster-infrastructure),
/// and the text on every node equals the stock `CIB_file=<that node's CIB> crm_mon -1`'s,
/// the "Last updated" and "Last change" lines aside.
extension RealCorosync {
@Suite(.serialized)
struct CrmdLiveStatusTests {
    static let crmMon = "/usr/sbin/crm_mon"

    /// The lines compared: trailing blanks dropped, the two time lines masked.
    static func masked(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = String(line.reversed().drop { $0 == " " }.reversed())
            if trimmed.hasPrefix("  * Last updated:") { return "  * Last updated: (masked)" }
            if trimmed.hasPrefix("  * Last change:") { return "  * Last change: (masked)" }
            return trimmed
        }
        while lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Node `node`'s `baton crm status` and crm_mon -1 on the CIB it serves, both in UTC.
    static func bothTexts(_ bed: CrmdBed, node: Int) async throws -> (ours: String, stock: String) {
        let query = try await bed.cib(node, ["query"])
        guard query.status == 0 else { throw TestFailure("cib query on node\(node): \(query.output)") }
        let path = try bed.file("queried-node\(node).xml", query.output)
        let ours = try await run(["/usr/bin/env", "TZ=UTC", Paths.baton, "crm", "status", "--socket", bed.socket(node)])
        guard ours.status == 0 else { throw TestFailure("baton crm status on node\(node) exited \(ours.status): \(ours.output)") }
        let stock = try await run(["/bin/sh", "-c", "TZ=UTC LC_ALL=C CIB_file='\(path)' \(crmMon) -1 2>/dev/null"])
        return (ours.output, stock.output)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func liveStatusIsCrmMonsTextOnTheDaemonsCIB() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.crmMon) else {
            print("CrmdLiveStatusTests: skipped, \(Self.crmMon) is not installed")
            return
        }
        try await CrmdBed.with { bed in
            try bed.launch([1, 2, 3])
            let dc = try await bed.waitForOneDC(on: [1, 2, 3], quorate: true)
            // The DC's entries reach every node's CIB.
            try await waitUntil("the DC's nodes and options in every node's CIB") {
                for node in 1...3 {
                    guard let query = try? await bed.cib(node, ["query"]), query.status == 0 else { return false }
                    let text = query.output
                    guard text.contains("name=\"dc-version\" value=\"\(ControllerEntries.dcVersion)\""),
                          text.contains("name=\"cluster-infrastructure\" value=\"corosync\""),
                          (1...3).allSatisfy({ text.contains("<node id=\"\($0)\" uname=\"node\($0)\"/>") }) else { return false }
                }
                return true
            }
            try await bed.waitForOneCIB(on: [1, 2, 3])
            for node in 1...3 {
                let (ours, stock) = try await Self.bothTexts(bed, node: node)
                #expect(Self.masked(ours) == Self.masked(stock), "node\(node):\n--- baton crm status\n\(ours)\n--- crm_mon -1\n\(stock)")
                #expect(ours.contains("  * Stack: corosync\n  * Current DC: node\(dc.nodeID) (version \(ControllerEntries.dcVersion)) - partition with quorum\n"), "\(ours)")
                #expect(ours.contains("Node List:\n  * Online: [ node1 node2 node3 ]\n"), "\(ours)")
            }
            // An admin's write on a non-DC: the CIB records who, how, where and when, as
            // Pacemaker's CIB manager does, and "Last change" is crm_mon's, unmasked.
            let writer = [1, 2, 3].first { $0 != Int(dc.nodeID.rawValue) }!
            let resources = try bed.file("status-resources.xml", "<resources><primitive id=\"web\" class=\"ocf\" provider=\"heartbeat\" type=\"apache\"/></resources>")
            let written = try await bed.cib(writer, ["replace", "-o", "resources", "--xml-file", resources])
            #expect(written.status == 0, "\(written.output)")
            try await bed.waitForOneCIB(on: [1, 2, 3])
            for node in 1...3 {
                let (ours, stock) = try await Self.bothTexts(bed, node: node)
                let lastChange = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("  * Last change:") }.map(String.init) }
                let line = try #require(lastChange(ours), "\(ours)")
                #expect(line == lastChange(stock), "node\(node):\n--- baton crm status\n\(ours)\n--- crm_mon -1\n\(stock)")
                #expect(line.hasSuffix(" by root via cibadmin on node\(writer)") && line.count > "  * Last change:  by root via cibadmin on node1".count, "\(line)")
                #expect(Self.masked(ours) == Self.masked(stock), "node\(node):\n--- baton crm status\n\(ours)\n--- crm_mon -1\n\(stock)")
            }
            // A node away: node_state says so, and both texts show it OFFLINE.
            let away = [1, 2, 3].first { $0 != Int(dc.nodeID.rawValue) }!
            await bed.stopDaemon(away)
            let rest = [1, 2, 3].filter { $0 != away }
            _ = try await bed.waitForOneDC(on: rest, quorate: true)
            for node in rest {
                let (ours, stock) = try await Self.bothTexts(bed, node: node)
                #expect(Self.masked(ours) == Self.masked(stock), "node\(node):\n--- baton crm status\n\(ours)\n--- crm_mon -1\n\(stock)")
                #expect(ours.contains("  * OFFLINE: [ node\(away) ]\n"), "\(ours)")
            }
        }
    }
}
}
