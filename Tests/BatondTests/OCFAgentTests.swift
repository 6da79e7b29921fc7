import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Issue 15 point 3: ocf:baton:batond (scripts/ocf/batond) driving a real batond, the way a
    /// site's cluster drives it: OCF actions and exit codes, start done when batond answers,
    /// monitor by pid and answer (a frozen batond is a failure, a dead one "not running"), and
    /// the stop that keeps the site's ticket granted (SIGUSR1) so that the next start carries on.
    /// Here site-a runs the file back end on loopback (no cluster needed); the failover to another
    /// node through the live CIB is CorosyncTests' (the crmd back end).
    @Suite struct OCFAgent {
        static let agent = Paths.packageRoot.appendingPathComponent("scripts/ocf/batond").path
        static let tickets = """
            ticket = "ticketA"
              expire = 20
              timeout = 500ms
              retries = 3

            """

        /// The agent's environment for site-a of `cluster`, as the executor gives it.
        static func environment(_ cluster: Cluster, _ extra: [String: String] = [:]) -> [String: String] {
            var environment = [
                "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                "OCF_ROOT": "/usr/lib/ocf", "OCF_RESOURCE_INSTANCE": "site-batond",
                "OCF_RESKEY_config": cluster.configPath("site-a"), "OCF_RESKEY_site": "site-a",
                "OCF_RESKEY_back_end": "file", "OCF_RESKEY_site_quorum": "none",
                "OCF_RESKEY_extra_options": "--cib-file \(cluster.cibPath("site-a"))",
                "OCF_RESKEY_run_directory": cluster.directory + "/run", "OCF_RESKEY_state_directory": cluster.directory + "/state-site-a",
                "OCF_RESKEY_log_file": cluster.logPath("site-a"), "OCF_RESKEY_pidfile": cluster.directory + "/site-a.pid",
                "OCF_RESKEY_binary": Paths.batond, "OCF_RESKEY_client": Paths.baton, "OCF_RESKEY_status_timeout": "5",
                "OCF_RESKEY_CRM_meta_timeout": "60000",
            ]
            for (name, value) in extra { environment[name] = value }
            return environment
        }

        static func action(_ cluster: Cluster, _ name: String, _ extra: [String: String] = [:]) async throws -> CommandResult {
            try await run([agent, name], timeLimit: Patience.deadline * 2, environment: environment(cluster, extra))
        }

        /// The batond the agent started (its pid file), if alive.
        static func pid(_ cluster: Cluster) -> pid_t? {
            guard let text = try? String(contentsOfFile: cluster.directory + "/site-a.pid", encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0
            else { return nil }
            return pid
        }

        @Test func startMonitorStopKeepTheSitesTicket() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: Self.tickets, start: false) { cluster in
                // The agent's batond is not the cluster's child: stopped here on every path.
                defer {
                    if let pid = Self.pid(cluster) {
                        kill(pid, SIGCONT)
                        kill(pid, SIGKILL)
                    }
                }
                let metadata = try await Self.action(cluster, "meta-data")
                #expect(metadata.status == 0 && metadata.stdout.contains("<resource-agent name=\"batond\"") && metadata.stdout.hasSuffix("</resource-agent>\n"))
                if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
                    let file = cluster.directory + "/batond-metadata.xml"
                    try metadata.stdout.write(toFile: file, atomically: true, encoding: .utf8)
                    let lint = try await run(["/usr/bin/python3", "-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])", file])
                    #expect(lint.status == 0, "meta-data is not well-formed XML: \(lint)")
                }
                #expect(try await Self.action(cluster, "validate-all").status == 0)
                let missing = try await Self.action(cluster, "validate-all", ["OCF_RESKEY_config": cluster.directory + "/nosuch.conf"])
                #expect(missing.status == 6 && missing.stderr.contains("ocf-exit-reason:config"), "\(missing)")
                #expect(try await Self.action(cluster, "validate-all", ["OCF_RESKEY_back_end": "nosuch"]).status == 6)
                #expect(try await Self.action(cluster, "frobnicate").status == 3)
                #expect(try await Self.action(cluster, "monitor").status == 7)
                #expect(try await Self.action(cluster, "stop").status == 0, "stopping what does not run succeeds")

                try cluster.start("site-b")
                try cluster.start("arbitrator")
                let started = try await Self.action(cluster, "start")
                #expect(started.status == 0, "\(started)")
                // Done means answering: a status right after the start succeeds.
                #expect(try await cluster.baton(["status"], at: "site-a").status == 0)
                #expect(try await Self.action(cluster, "monitor").status == 0)
                #expect(try await Self.action(cluster, "start").status == 0, "a second start of a running batond succeeds")
                try await cluster.waitReady()
                try await cluster.waitQuietPeriodsEnded()
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-b knows site-a leads") { try await cluster.leader("ticketA", at: "site-b") == "site-a" }

                // stop keeps the site's grant; the next start carries on; site-b never holds.
                for round in 1...2 {
                    let stop = try await Self.action(cluster, "stop")
                    #expect(stop.status == 0, "\(stop)")
                    #expect(cluster.cibGranted("ticketA", at: "site-a"), "round \(round): the stop revoked the site's grant")
                    #expect(try await Self.action(cluster, "monitor").status == 7)
                    let again = try await Self.action(cluster, "start")
                    #expect(again.status == 0, "\(again)")
                    try await waitUntil("site-a leads again after its restart (round \(round))") {
                        #expect(!cluster.cibGranted("ticketA", at: "site-b"))
                        return try await cluster.leader("ticketA", at: "site-a") == "site-a"
                    }
                    #expect(cluster.cibGranted("ticketA", at: "site-a"))
                }

                // kill -9: not running (the cluster then restarts it); a start resumes.
                let killed = try #require(Self.pid(cluster))
                kill(killed, SIGKILL)
                try await waitUntil("the killed batond gone") {
                    if Self.pid(cluster) == nil { return true }
                    return try await Self.action(cluster, "monitor").status == 7
                }
                #expect(try await Self.action(cluster, "monitor").status == 7)
                #expect(try await Self.action(cluster, "start").status == 0)
                try await waitUntil("site-a leads after a kill -9 and a start") { try await cluster.leader("ticketA", at: "site-a") == "site-a" }
                #expect(cluster.cibGranted("ticketA", at: "site-a") && !cluster.cibGranted("ticketA", at: "site-b"))

                // Frozen: alive but not answering is a failure, not "not running".
                let frozen = try #require(Self.pid(cluster))
                kill(frozen, SIGSTOP)
                let hung = try await Self.action(cluster, "monitor", ["OCF_RESKEY_status_timeout": "1"])
                kill(frozen, SIGCONT)
                #expect(hung.status == 1 && hung.stderr.contains("does not answer"), "\(hung)")

                // stop_hands_over=true: SIGTERM, the ticket handed over to site-b.
                let handOver = try await Self.action(cluster, "stop", ["OCF_RESKEY_stop_hands_over": "true"])
                #expect(handOver.status == 0, "\(handOver)")
                try await waitUntil("site-b holds after the handing-over stop") { cluster.cibGranted("ticketA", at: "site-b") }
                #expect(!cluster.cibGranted("ticketA", at: "site-a"))

                // A configuration batond refuses: start fails at once with the reason, "not configured".
                try "port = nonsense\n".write(toFile: cluster.directory + "/bad.conf", atomically: true, encoding: .utf8)
                let bad = try await Self.action(cluster, "start", ["OCF_RESKEY_config": cluster.directory + "/bad.conf"])
                #expect(bad.status == 6 && bad.stderr.contains("ocf-exit-reason:batond exited with status 1"), "\(bad)")
            }
        }
    }
}
