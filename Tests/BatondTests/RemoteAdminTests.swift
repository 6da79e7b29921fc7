import Foundation
import Testing

extension Cluster {
    /// `baton ARGS… -s TARGET` run on `caller`'s machine: with the caller's config and
    /// certificate, and a run directory without the target's socket, so the CLI dials the
    /// target over mutual TLS as it would from another host.
    func remoteBaton(_ arguments: [String], from caller: String, to target: String) async throws -> CommandResult {
        let elsewhere = directory + "/run-\(caller)-elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        return try await run(commandPrefix + [Paths.baton] + arguments + ["-c", configPath(caller), "-s", target, "--run-directory", elsewhere])
    }
}

extension EndToEnd {
    /// Issue 10, points 10 and 14: what a member certificate may do at another member.
    @Suite struct RemoteAdmin {
        /// Point 14: with `admin-from = sites` the arbitrator's certificate is refused (exit 1,
        /// the reason printed, the refusal logged with its name) and a site's is answered.
        /// Before the key existed every member certificate was answered.
        @Test func adminFromSitesRefusesTheArbitrator() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, extraConfig: "admin-from = sites") { cluster in
                let refused = try await cluster.remoteBaton(["grant", "-w", "ticketA"], from: "arbitrator", to: "site-a")
                #expect(refused.status == 1, "\(refused)")
                #expect(refused.stderr.contains("site-a refuses admin requests from arbitrator"), "\(refused)")
                let listRefused = try await cluster.remoteBaton(["attr", "list", "ticketA"], from: "arbitrator", to: "site-a")
                #expect(listRefused.status == 1, "\(listRefused)")
                try await waitUntil("site-a logs the refusal with the peer's name") {
                    let log = (try? String(contentsOfFile: cluster.logPath("site-a"), encoding: .utf8)) ?? ""
                    return log.contains("admin request from a member refused") && log.contains("peer.name=arbitrator")
                }
                #expect(!cluster.cibGranted("ticketA", at: "site-a"), "the refused grant must not have happened")
                let accepted = try await cluster.remoteBaton(["grant", "-w", "ticketA"], from: "site-b", to: "site-a")
                #expect(accepted.status == 0, "\(accepted)")
                #expect(accepted.stdout.contains("grant succeeded"), "\(accepted)")
                try await waitUntil("site-a's CIB shows the grant from site-b's request") { cluster.cibGranted("ticketA", at: "site-a") }
            }
        }

        /// Point 10: site attributes set remotely are bounded at the door. Before, the
        /// daemon took all 1,100 values of 4 KiB and trapped on `attr list` (a reply over the
        /// 4 MiB frame limit), and again after every restart; now the 65th is refused with the
        /// limit named, and `attr list` answers (also after a restart, from the journal).
        @Test func attributesAreBoundedAndTheListAnswers() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, extraConfig: "admin-from = all") { cluster in
                let value = String(repeating: "v", count: 4096)
                let caller = "arbitrator"
                // 64 sets, four at a time (each is a TLS handshake and a process).
                for start in stride(from: 0, to: 64, by: 4) {
                    try await withThrowingTaskGroup(of: CommandResult.self) { group in
                        for index in start..<(start + 4) {
                            group.addTask { try await cluster.remoteBaton(["attr", "set", "ticketA", "attribute-\(index)", value], from: caller, to: "site-a") }
                        }
                        for try await result in group { #expect(result.status == 0, "\(result)") }
                    }
                }
                let refused = try await cluster.remoteBaton(["attr", "set", "ticketA", "attribute-64", value], from: caller, to: "site-a")
                #expect(refused.status == 1, "\(refused)")
                #expect(refused.stderr.contains("already holds 64 attributes, the most one ticket may hold (64)"), "\(refused)")
                let tooLong = try await cluster.remoteBaton(["attr", "set", "ticketA", "x", value + "v"], from: caller, to: "site-a")
                #expect(tooLong.status == 64, "\(tooLong)")
                #expect(tooLong.stderr.contains("over the limit of 4096"), "\(tooLong)")
                let list = try await cluster.remoteBaton(["attr", "list", "ticketA"], from: caller, to: "site-a")
                #expect(list.status == 0, "\(list)")
                #expect(list.stdout.split(separator: "\n").count == 64, "\(list.stdout.count) bytes")
                // Restarted, site-a loads the 64 from its journal and still answers.
                #expect(try await cluster.stop("site-a") == 0)
                try cluster.start("site-a")
                try await cluster.waitReady()
                let again = try await cluster.baton(["attr", "list", "ticketA"], at: "site-a")
                #expect(again.status == 0, "\(again)")
                #expect(again.stdout.split(separator: "\n").count == 64)
                let status = try await cluster.baton(["status"], at: "site-a")
                #expect(status.status == 0, "\(status)")
            }
        }
    }
}
