import ArgumentParser
import CIB
import Foundation
import Scheduler

/// `baton scheduler-benchmark`: times the scheduler on a synthetic steady-state CIB (N nodes x R Dummy
/// resources, one location preference each, a colocation and an order per ten resources,
/// every resource probed on every node) and, with --compare, crm_simulate -R -Q on the same file.
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler-benchmark",
        abstract: "Time the scheduler on a synthetic cluster, optionally against crm_simulate.")

    @Option(help: "Number of nodes.") var nodes: Int = 8
    @Option(help: "Number of resources.") var resources: Int = 200
    @Flag(help: "Take the last node down (it must be fenced and its resources moved).") var nodeDown = false
    @Flag(help: "Also time `crm_simulate -R -Q -x FILE` on the same CIB.") var compare = false
    @Option(help: "Write the generated CIB here (default: a temporary file).") var output: String?
    @Option(help: "Runs of our scheduler to time (the best is reported).") var repeats: Int = 3

    func validate() throws {
        guard (1...256).contains(nodes) else { throw ValidationError("--nodes must be 1...256") }
        guard (1...20_000).contains(resources) else { throw ValidationError("--resources must be 1...20000") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be 1...20") }
    }

    func run() throws {
        let text = SyntheticCluster(nodes: nodes, resources: resources, lastNodeDown: nodeDown).xml()
        let path = output ?? (NSTemporaryDirectory() + "baton-benchmark-\(nodes)x\(resources).xml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000_000)
        var summaryCount = 0
        let parseStart = clock.now
        let cib = try CIB(parsing: text)
        let parseTime = clock.now - parseStart
        for _ in 0..<repeats {
            let start = clock.now
            let transition = Scheduler.schedule(cib, now: Int(Date().timeIntervalSince1970))
            best = min(best, clock.now - start)
            summaryCount = transition.summary.count
        }
        print("cluster: \(nodes) nodes x \(resources) resources\(nodeDown ? ", last node down" : "") (\(path))")
        print("baton:        parse \(format(parseTime)), schedule \(format(best)) (best of \(repeats)), \(summaryCount) summary lines")
        if compare {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/crm_simulate")
            process.arguments = ["-R", "-Q", "-x", path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let start = clock.now
            try process.run()
            process.waitUntilExit()
            print("crm_simulate: \(format(clock.now - start)) (exit \(process.terminationStatus))")
        }
    }

    private func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.3f s", seconds)
    }
}

/// The synthetic steady-state cluster of the design document's reference figures.
struct SyntheticCluster {
    let nodes: Int
    let resources: Int
    let lastNodeDown: Bool

    func node(for resource: Int) -> Int { ((resource - 1) / 10 * 10 + 1) % nodes + 1 }

    func xml() -> String {
        var out = "<cib epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" validate-with=\"pacemaker-3.0\" have-quorum=\"1\" dc-uuid=\"1\">\n"
        out += "  <configuration>\n    <crm_config><cluster_property_set id=\"opts\">"
        out += "<nvpair id=\"opts-stonith\" name=\"stonith-enabled\" value=\"true\"/></cluster_property_set></crm_config>\n    <nodes>\n"
        for index in 1...nodes { out += "      <node id=\"\(index)\" uname=\"node\(index)\"/>\n" }
        out += "    </nodes>\n    <resources>\n      <primitive id=\"fencing\" class=\"stonith\" type=\"fence_dummy\"/>\n"
        for index in 1...resources {
            out += "      <primitive id=\"rsc\(index)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><operations>"
            out += "<op id=\"rsc\(index)-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>\n"
        }
        out += "    </resources>\n    <constraints>\n"
        for index in 1...resources {
            out += "      <rsc_location id=\"loc\(index)\" rsc=\"rsc\(index)\" node=\"node\(node(for: index))\" score=\"100\"/>\n"
            if index % 10 == 0 {
                out += "      <rsc_colocation id=\"col\(index)\" rsc=\"rsc\(index)\" with-rsc=\"rsc\(index - 1)\" score=\"INFINITY\"/>\n"
                out += "      <rsc_order id=\"ord\(index)\" first=\"rsc\(index - 1)\" then=\"rsc\(index)\"/>\n"
            }
        }
        out += "    </constraints>\n  </configuration>\n  <status>\n"
        for nodeIndex in 1...nodes {
            let down = lastNodeDown && nodeIndex == nodes
            out += "    <node_state id=\"\(nodeIndex)\" uname=\"node\(nodeIndex)\" in_ccm=\"\(down ? "false" : "true")\" crmd=\"\(down ? "offline" : "online")\" join=\"\(down ? "down" : "member")\" expected=\"member\">\n"
            out += "      <lrm id=\"\(nodeIndex)\"><lrm_resources>\n"
            if nodeIndex == 1 {
                out += "        <lrm_resource id=\"fencing\" class=\"stonith\" type=\"fence_dummy\">" + operation("fencing", "start", 0, 0, call: 1) + "</lrm_resource>\n"
            }
            for index in 1...resources {
                let runsHere = node(for: index) == nodeIndex
                out += "        <lrm_resource id=\"rsc\(index)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
                if runsHere {
                    out += operation("rsc\(index)", "start", 0, 0, call: 2) + operation("rsc\(index)", "monitor", 10_000, 0, call: 3)
                } else {
                    out += operation("rsc\(index)", "monitor", 0, 7, call: 2)
                }
                out += "</lrm_resource>\n"
            }
            out += "      </lrm_resources></lrm>\n    </node_state>\n"
        }
        out += "  </status>\n</cib>\n"
        return out
    }

    private func operation(_ resource: String, _ task: String, _ interval: Int, _ rc: Int, call: Int) -> String {
        let expected = task == "monitor" && interval == 0 ? 7 : 0
        return "<lrm_rsc_op id=\"\(resource)_\(task)_\(interval)\" operation=\"\(task)\" interval=\"\(interval)\" call-id=\"\(call)\" "
            + "rc-code=\"\(rc)\" op-status=\"0\" transition-key=\"1:1:\(expected):bench\" op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\"/>"
    }
}
