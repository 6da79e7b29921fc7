import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `baton` is a small front (Sources/BatonFront) that answers the ticket commands with text
/// output through the admin socket itself and hands every other command line to `baton-full`
/// (ArgumentParser). What users see must not depend on which of the two answered: every command
/// line here runs through both against the same live batond and must give the same exit
/// status, output and messages. And the front must really be small: it links none of the
/// libraries `list` never uses, and it answers `list` with no `baton-full` beside it.
extension EndToEnd {
    @Suite struct AdminFront {
        /// Things that change between two runs a moment apart: local times in `list`, uptime,
        /// seconds since a peer was heard.
        static func steady(_ text: String) -> String {
            var text = text
            for (pattern, replacement) in [(#"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"#, "TIME"), (#"up \d+ s"#, "up N s"),
                                           (#"\d+\.\d s ago"#, "N s ago")] {
                text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
            }
            return text
        }

        static func same(_ front: CommandResult, _ full: CommandResult, _ arguments: [String]) {
            #expect(front.status == full.status, "exit status of baton \(arguments): front \(front), full \(full)")
            #expect(steady(front.stdout) == steady(full.stdout), "stdout of baton \(arguments): front \(front), full \(full)")
            #expect(steady(front.stderr) == steady(full.stderr), "stderr of baton \(arguments): front \(front), full \(full)")
        }

        @Test func bothCommandLinesAnswerAlike() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let site = ["-c", cluster.configPath("site-a"), "--run-directory", cluster.directory + "/run"]
                func both(_ arguments: [String]) async throws -> (CommandResult, CommandResult) {
                    (try await run([Paths.baton] + arguments), try await run([Paths.batonFull] + arguments))
                }
                // Read-only command lines: the same daemon state for both.
                let readOnly: [[String]] = [
                    ["list"] + site, ["peers"] + site, ["status"] + site, ["list", "--output", "text"] + site,
                    ["list", "--output", "json"] + site, ["list", "--timeout", "30"] + site, site + ["list"],
                    ["list", "--socket", cluster.socketPath("site-a")], ["list", "--config", cluster.configPath("site-a"), "-s", "site-a", "--run-directory", cluster.directory + "/run"],
                    ["list", "--socket", cluster.directory + "/nobody.sock"], ["status", "--socket", cluster.directory + "/nobody.sock"],
                    ["list", "-c", cluster.directory + "/missing.conf"], ["status", "-c", cluster.directory + "/missing.conf"],
                    ["list", "-s", "nobody"] + site, ["list", "--run-directory", cluster.directory + "/empty", "-c", cluster.configPath("site-a")],
                    ["attr", "get", "ticketA", "unset"] + site, ["attr", "list", "ticketA"] + site, ["attr", "list", "nosuchticket"] + site,
                    ["list", "extra"] + site, ["list", "-c"], ["list", "--timeout", "soon"] + site, ["list", "--output", "yaml"] + site,
                    ["list", "--config=\(cluster.configPath("site-a"))"], ["list", "-c", cluster.configPath("site-a"), "-c", cluster.configPath("site-b")],
                    ["grant"] + site, ["grant", "-x", "ticketA"] + site, ["move", "ticketA"] + site, ["attr"] + site,
                    ["attr", "set", "ticketA", "", "value"] + site, ["attr", "set", "ticketA", "name", String(repeating: "v", count: 5000)] + site,
                    ["bogus"], [], ["--help"], ["help"], ["list", "--help"], ["help", "grant"], ["grant", "help"] + site,
                ]
                for arguments in readOnly {
                    let (front, full) = try await both(arguments)
                    Self.same(front, full, arguments)
                }
                // Command lines that change state, as sequences that end where they began: first
                // all through `baton`, then all through `baton-full`.
                let sequence: [[String]] = [
                    ["grant", "-w", "ticketA"], ["grant", "ticketA"], ["list"], ["attr", "set", "ticketA", "colour", "blue"],
                    ["attr", "get", "ticketA", "colour"], ["attr", "list", "ticketA"], ["attr", "delete", "ticketA", "colour"],
                    ["standby", "ticketA"], ["activate", "ticketA"], ["revoke", "-w", "ticketA"], ["revoke", "ticketA"], ["list"],
                    ["grant", "-w", "-C", "ticketA"], ["revoke", "-w", "ticketA"], ["move", "--to", "site-b", "ticketA"], ["revoke", "nosuchticket"],
                ].map { $0 + site }
                var frontResults: [CommandResult] = []
                for arguments in sequence { frontResults.append(try await run([Paths.baton] + arguments)) }
                try await waitUntil("ticketA revoked everywhere after the front's run") {
                    let atA = try await cluster.leader("ticketA", at: "site-a")
                    let atB = try await cluster.leader("ticketA", at: "site-b")
                    return atA == nil && atB == nil
                }
                for (arguments, front) in zip(sequence, frontResults) {
                    Self.same(front, try await run([Paths.batonFull] + arguments), arguments)
                }
                #expect(frontResults[0].status == 0, "the front granted: \(frontResults[0])")
            }
        }

        /// `--output json` reports failures as JSON too (issue 17, point 4): one object
        /// `{"error": MESSAGE, "exit_status": N}` on stdout, nothing on stderr, the same exit
        /// status as in text; a refused command prints its outcome object once. Both command
        /// lines alike. Before, the error was a text line on stderr.
        @Test func jsonFailuresAreJSON() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let site = ["-c", cluster.configPath("site-a"), "--run-directory", cluster.directory + "/run", "--output", "json"]
                let failing: [([String], Int32)] = [
                    (["list", "--socket", cluster.directory + "/nobody.sock", "--output", "json"], 7),
                    (["status", "-c", cluster.directory + "/missing.conf", "--output", "json"], 1),
                    (["list", "-c", cluster.directory + "/missing.conf", "--output", "json"], 6),
                    (["grant"] + site, 64), (["list", "--timeout", "soon"] + site, 64), (["attr", "list", "nosuchticket"] + site, 1),
                    (["list", "-s", "nobody"] + site, 6), (["revoke", "nosuchticket"] + site, 1),
                ]
                for binary in [Paths.baton, Paths.batonFull] {
                    for (arguments, status) in failing {
                        let result = try await run([binary] + arguments)
                        let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
                        let name = "\(binary.split(separator: "/").last ?? "") \(arguments)"
                        #expect(result.status == status, "\(name): \(result)")
                        #expect(object?["exit_status"] as? Int == Int(result.status), "\(name): \(result)")
                        #expect((object?["error"] as? String)?.isEmpty == false || object?["succeeded"] as? Bool == false, "\(name): \(result)")
                        #expect(result.stderr.isEmpty, "\(name): \(result)")
                    }
                    let granted = try await run([binary, "grant", "-w", "ticketA"] + site)
                    #expect(granted.status == 0, "\(granted)")
                    let refused = try await run([binary, "grant", "ticketA"] + site)
                    let outcome = try? JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any]
                    #expect(refused.status == 1 && outcome?["succeeded"] as? Bool == false && refused.stderr.isEmpty, "\(refused)")
                    let revoked = try await run([binary, "revoke", "-w", "ticketA"] + site)
                    #expect(revoked.status == 0, "\(revoked)")
                    try await waitUntil("ticketA revoked everywhere") {
                        let atA = try await cluster.leader("ticketA", at: "site-a")
                        let atB = try await cluster.leader("ticketA", at: "site-b")
                        return atA == nil && atB == nil
                    }
                }
            }
        }

        /// The front alone in a directory: `list` (text or JSON) needs nothing else; what it hands on fails
        /// with the path it looked for (exit 127), so the test also proves which answered.
        @Test func theFrontAnswersListWithoutTheFullCommandLine() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let alone = cluster.directory + "/alone"
                try FileManager.default.createDirectory(atPath: alone, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: Paths.baton, toPath: alone + "/baton")
                let site = ["-c", cluster.configPath("site-a"), "--run-directory", cluster.directory + "/run"]
                let grant = try await run([alone + "/baton", "grant", "-w", "ticketA"] + site)
                #expect(grant.status == 0, "\(grant)")
                let list = try await run([alone + "/baton", "list"] + site)
                #expect(list.status == 0 && list.stdout.hasPrefix("ticket: ticketA, leader: 127.0.0.1, expires: "), "\(list)")
                let json = try await run([alone + "/baton", "list", "--output", "json"] + site)
                let tickets = try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
                #expect(json.status == 0 && tickets?.first?["leader"] as? String == "site-a", "\(json)")
                let help = try await run([alone + "/baton", "list", "--help"])
                #expect(help.status == 127 && help.stderr == "baton: cannot run \(alone)/baton-full: No such file or directory\n", "\(help)")
            }
        }

        /// None of OpenSSL, libxml2 (with ICU), Corosync's libraries or libsystemd: their
        /// relocations were a fifth of `list`'s start-up.
        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ldd"), "needs /usr/bin/ldd"))
        func theFrontLinksOnlyTheCLibraries() async throws {
            let ldd = try await run(["/usr/bin/ldd", Paths.baton])
            #expect(ldd.status == 0, "\(ldd)")
            for library in ["libssl", "libcrypto", "libxml2", "libicu", "libcpg", "libqb", "libquorum", "libcmap", "libsystemd", "libz"] {
                #expect(!ldd.stdout.contains(library), "baton loads \(library): \(ldd.stdout)")
            }
        }
    }
}
