import Executor
import ExecutorShell
import Foundation
import Testing

/// The environment an agent sees under a real pacemaker-execd (Debian's Pacemaker 2.1.5, one
/// node on Corosync in private namespaces: no standalone execd client such as cts-exec-helper is
/// packaged) against the one Baton's executor gives it, as ocf:pacemaker:Dummy dumps it through
/// its `envfile` parameter: the probe, the start, the recurring monitor, and the notify of a
/// clone with notify=true (its clone and OCF_RESKEY_CRM_meta_notify_* variables; Dummy answers
/// a notify 3, unimplemented, after its dump, which Pacemaker records and ignores).
///
/// What the controller (pacemaker-controld) adds, the CRM_meta_* values and crm_feature_set, is
/// the executor's input: it is read from Pacemaker's dump and handed to Baton's executor as the
/// controller's request, as baton-crmd will. pacemaker-execd's own environment (what pacemakerd
/// exported to it) is read from its /proc/PID/environ and given as the executor's base
/// environment. Everything else must come out the same.
extension EndToEnd {
    @Suite struct ExecdEnvironment {
        /// Dummy's dump: `### ACTION @ DATE ###`, `env | sort`, `###`.
        static func sections(_ text: String) -> [(action: String, lines: [String])] {
            text.components(separatedBy: "\n###\n").compactMap { block in
                let lines = block.split(separator: "\n").map(String.init)
                guard let header = lines.first(where: { $0.hasPrefix("### ") }) else { return nil }
                let action = String(header.dropFirst(4).prefix { $0 != " " })
                // The shell's `_` and Dummy's own variables of the moment differ by design.
                return (action, lines.filter { !$0.hasPrefix("### ") && $0 != "###" && !$0.hasPrefix("_=") })
            }
        }

        static func values(_ lines: [String]) -> [String: String] {
            Dictionary(lines.compactMap { line in
                line.firstIndex(of: "=").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) }
            }, uniquingKeysWith: { first, _ in first })
        }

        @Test func batonsExecutorGivesAgentsPacemakerExecdsEnvironment() async throws {
            if let missing = PrivatePacemaker.missing() {
                print("SKIPPING the pacemaker-execd environment comparison: \(missing)")
                return
            }
            let directory = try makeTemporaryDirectory("baton-execd")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let pacemaker = try PrivatePacemaker(directory: directory + "/pacemaker")
            defer { pacemaker.stop() }
            try await pacemaker.start()
            let inside = pacemaker.prefix
            let property = try await run(inside + ["/usr/sbin/crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false"])
            #expect(property.status == 0, "\(property)")
            let clone = """
                <clone id="d1-clone"><meta_attributes id="d1-clone-meta">\
                <nvpair id="d1-clone-notify" name="notify" value="true"/></meta_attributes>\
                <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">\
                <instance_attributes id="d1-ia"><nvpair id="d1-state" name="state" value="\(directory)/d1.state"/>\
                <nvpair id="d1-env" name="envfile" value="\(directory)/env-execd"/></instance_attributes>\
                <operations><op id="d1-monitor" name="monitor" interval="10s" timeout="25s"/></operations></primitive></clone>
                """
            let created = try await run(inside + ["/usr/sbin/cibadmin", "-C", "-o", "resources", "-X", clone])
            #expect(created.status == 0, "\(created)")
            var dumped: [(action: String, lines: [String])] = []
            let wanted = ["monitor", "start", "notify"]
            try await waitUntil("Pacemaker probes, starts, notifies and monitors d1", interval: .milliseconds(250)) {
                dumped = Self.sections((try? String(contentsOfFile: directory + "/env-execd", encoding: .utf8)) ?? "")
                let recurring = dumped.contains { Self.values($0.lines)["OCF_RESKEY_CRM_meta_interval"].map { $0 != "0" } ?? false }
                return recurring && wanted.allSatisfy { action in dumped.contains { $0.action == action } }
            }
            let notify = try #require(dumped.first { $0.action == "notify" }.map { Self.values($0.lines) })
            // What makes it a clone's post-start notification, as the controller set it.
            #expect(notify["OCF_RESKEY_CRM_meta_notify_type"] == "post" && notify["OCF_RESKEY_CRM_meta_notify_operation"] == "start",
                    "\(notify.filter { $0.key.contains("notify") })")
            #expect(notify["OCF_RESKEY_CRM_meta_clone"] == "0" && notify["OCF_RESKEY_CRM_meta_notify_start_resource"] != nil)
            // pacemaker-execd's own environment, inside the namespaces.
            let execd = try await run(inside + ["/bin/sh", "-c", "tr '\\0' '\\n' < /proc/$(pidof pacemaker-execd)/environ"])
            #expect(execd.status == 0, "\(execd)")
            var base = Self.values(execd.stdout.split(separator: "\n").map(String.init))
            // What execd's logging set-up (crm_log_init) exports at run time, after its exec, so
            // absent from /proc/PID/environ: the daemon's name, and its log file for HA_LOGFILE.
            base["PCMK_service"] = "pacemaker-execd"
            base["HA_LOGFILE"] = base["PCMK_logfile"]
            // execd runs agents in its own working directory, its core directory. Its agents find
            // Pacemaker's own tools in /usr/sbin: no Baton tools on PATH for this comparison.
            let settings = ExecutorSettings(baseEnvironment: base, workingDirectory: "/var/lib/pacemaker/cores", agentToolsDirectory: nil)
            let shell = try ExecutorShell(settings: settings) { _ in }
            let resource = AgentResource(id: "d1", standard: .ocf, provider: "pacemaker", type: "Dummy", parameters: [
                "state": "\(directory)/d1.state", "envfile": "\(directory)/env-baton",
            ])
            // Each of Pacemaker's runs until the first recurring monitor's, run once by Baton.
            let last = try #require(dumped.firstIndex { Self.values($0.lines)["OCF_RESKEY_CRM_meta_interval"].map { $0 != "0" } ?? false })
            for (index, section) in dumped.prefix(last + 1).enumerated() {
                let theirs = Self.values(section.lines)
                var meta: [String: String] = [:]
                for (name, value) in theirs where name.hasPrefix("OCF_RESKEY_CRM_meta_") { meta[String(name.dropFirst(20))] = value }
                let interval = Duration.milliseconds(Int64(meta["interval"] ?? "0") ?? 0)
                let timeout = Duration.milliseconds(Int64(meta["timeout"] ?? "20000") ?? 20000)
                for name in ["interval", "timeout", "name"] { meta[name] = nil }
                let request = OperationRequest(
                    resource: resource, action: section.action, interval: .zero, timeout: timeout, meta: meta,
                    featureSet: theirs["OCF_RESKEY_crm_feature_set"])
                // A recurring op's run is one run here: its interval only goes into the environment.
                let result = try await shell.perform(interval > .zero ? OperationRequest(
                    resource: resource, action: section.action, interval: .zero, timeout: timeout,
                    meta: meta.merging(["interval": String(interval.components.seconds * 1000), "name": section.action]) { $1 },
                    featureSet: theirs["OCF_RESKEY_crm_feature_set"]) : request)
                #expect(result.verdict.status == .done)
                let ours = Self.sections(try String(contentsOfFile: directory + "/env-baton", encoding: .utf8))
                let mine = Set(ours[index].lines.map { $0.replacingOccurrences(of: "env-baton", with: "env-execd") })
                let expected = Set(section.lines)
                #expect(mine.symmetricDifference(expected).isEmpty, """
                    \(section.action) #\(index): only Baton's: \(mine.subtracting(expected).sorted()); \
                    only pacemaker-execd's: \(expected.subtracting(mine).sorted())
                    """)
            }
        }
    }
}
