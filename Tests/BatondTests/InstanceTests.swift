import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Issue 10, point 7: several geo clusters on one host, and a second batond of one.
    @Suite struct Instances {
        /// Two arbitrators of two geo clusters (geo1.conf, geo2.conf, no `name=`, the same
        /// member name) on one host with the default socket names: each `baton list -c X`
        /// answers with its own tickets. Before, both sockets were `booth-arbitrator.sock`: the
        /// second daemon removed the first's, and `-c geo1` answered with geo2's tickets.
        @Test func twoConfigurationsOnOneHostEachAnswerForItself() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, start: false) { cluster in
                let shared = cluster.directory + "/shared-run"
                var children: [Child] = []
                defer {
                    for child in children {
                        child.signalAndReap(SIGTERM)
                    }
                }
                for geo in ["geo1", "geo2"] {
                    let port = try freePort()
                    let text = cluster.config(for: cluster.member("arbitrator"))
                        .replacingOccurrences(of: "port = \(cluster.port)", with: "port = \(port)")
                        .replacingOccurrences(of: "ticketA", with: "ticket-\(geo)")
                    try text.write(toFile: "\(cluster.directory)/\(geo).conf", atomically: true, encoding: .utf8)
                    let log = open("\(cluster.directory)/\(geo).log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
                    defer { close(log) }
                    children.append(try Child.spawn([
                        Paths.batond, "-c", "\(cluster.directory)/\(geo).conf", "--state-directory", "\(cluster.directory)/state-\(geo)",
                        "--run-directory", shared, "--back-end", "none",
                    ], stdout: log, stderr: log))
                    try await waitUntil("\(geo)'s socket") { FileManager.default.fileExists(atPath: "\(shared)/\(geo)-arbitrator.sock") }
                }
                for geo in ["geo1", "geo2"] {
                    let list = try await run([Paths.baton, "list", "-c", "\(cluster.directory)/\(geo).conf", "--run-directory", shared])
                    #expect(list.status == 0, "\(list)")
                    #expect(list.stdout.contains("ticket: ticket-\(geo),"), "\(geo): \(list)")
                    #expect(!list.stdout.contains("ticket: ticket-\(geo == "geo1" ? "geo2" : "geo1"),"), "\(geo) answered with the other's tickets: \(list)")
                }
                #expect(children.allSatisfy { $0.poll() == nil }, "both daemons keep running")
            }
        }

        /// A second batond with the same configuration (same socket, same state directory)
        /// refuses to start, with the reason, before touching anything: the first keeps its
        /// socket and its granted ticket. Before, the second revoked the first's ticket in the
        /// CIB (not held at its startup), compacted the journal and removed the socket, then
        /// failed to listen on the port.
        @Test func aSecondDaemonOfOneConfigurationRefusesToStart() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                try await waitUntil("site-a's CIB granted") { cluster.cibGranted("ticketA", at: "site-a") }
                let journal = "\(cluster.directory)/state-site-a/tickets.journal"
                let inodeBefore = try FileManager.default.attributesOfItem(atPath: journal)[.systemFileNumber] as? Int
                let second = try await run([
                    Paths.batond, "-c", cluster.configPath("site-a"), "--state-directory", "\(cluster.directory)/state-site-a",
                    "--socket", cluster.socketPath("site-a"), "--back-end", "file", "--cib-file", cluster.cibPath("site-a"),
                ])
                #expect(second.status == 1, "\(second)")
                #expect(second.stderr.contains("another batond holds it"), "\(second)")
                #expect(cluster.cibGranted("ticketA", at: "site-a"), "the second daemon must not revoke the first's ticket")
                #expect(FileManager.default.fileExists(atPath: cluster.socketPath("site-a")))
                let list = try await cluster.baton(["list"], at: "site-a")
                #expect(list.status == 0 && list.stdout.contains("ticket: ticketA, leader: 127.0.0.1"), "\(list)")
                // The second never compacted the journal (a compaction renames a new file over it).
                #expect(try FileManager.default.attributesOfItem(atPath: journal)[.systemFileNumber] as? Int == inodeBefore)
                // Another state directory but the same socket: the live socket is never removed.
                let third = try await run([
                    Paths.batond, "-c", cluster.configPath("site-a"), "--state-directory", "\(cluster.directory)/state-third",
                    "--socket", cluster.socketPath("site-a"), "--back-end", "file", "--cib-file", cluster.directory + "/cib-third.xml",
                ])
                #expect(third.status == 1, "\(third)")
                #expect(third.stderr.contains(cluster.socketPath("site-a")), "\(third)")
                #expect(try await cluster.baton(["status"], at: "site-a").status == 0)
            }
        }
    }
}
