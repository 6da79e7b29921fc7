import Foundation
import Testing

extension EndToEnd {
    @Suite struct Operations {
        /// Issue 3, test 6: move, standby/activate, a failing before-acquire-handler, attr-prereq manual.
        @Test func moveStandbyHandlerAndPrerequisite() async throws {
            let handlerPath = "HANDLER"
            // move -w waits timeout * (retries + 1) for the handover, as booth does; with
            // shortTicket's 500 ms x 4 a loaded machine (load 16 seen) ran past those 2 s and
            // the move answered exit 1 while it was still under way. This test is about what
            // the commands do, not how fast: give ticketA 8 s (below renewal, expire / 2 = 10 s).
            let tickets = """
                ticket = "ticketA"
                  expire = 20
                  timeout = 2s
                  retries = 3

                ticket = "ticketH"
                  expire = 6
                  timeout = 500ms
                  retries = 3
                  before-acquire-handler = \(handlerPath)

                ticket = "ticketP"
                  expire = 6
                  timeout = 500ms
                  retries = 3
                  attr-prereq = manual ready eq yes

                """
            // The handler path is only known once the cluster's directory exists: write the
            // configs with a placeholder, then fix them up before starting.
            try await withCluster(members: twoSitesAndArbitrator, tickets: tickets, start: false) { cluster in
                let handler = cluster.directory + "/deny-handler"
                try "#!/bin/sh\necho \"denied $BOOTH_TICKET at $BOOTH_LOCAL\" >&2\nexit 1\n".write(toFile: handler, atomically: true, encoding: .utf8)
                chmod(handler, 0o755)
                for member in cluster.members {
                    let path = cluster.configPath(member.name)
                    let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: handlerPath, with: handler)
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                }
                try cluster.startAll()
                try await cluster.waitReady()

                // move: site-a holds, moves to site-b and waits.
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                let started = ContinuousClock.now
                let move = try await cluster.baton(["move", "ticketA", "--to", "site-b", "-w"], at: "site-a")
                let moveTook = ContinuousClock.now - started
                #expect(move.status == 0, "\(move)")
                #expect(move.stdout.contains("site-b"), "\(move)")
                print("move -w ticketA site-a -> site-b: \(format(moveTook)) (\(move.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))")
                try await waitUntil("site-b's CIB shows the ticket after the move") { cluster.cibGranted("ticketA", at: "site-b") }
                #expect(!cluster.cibGranted("ticketA", at: "site-a"), "site-a still granted after the move")
                for name in ["site-a", "arbitrator"] {
                    try await waitUntil("\(name) knows site-b leads") { try await cluster.leader("ticketA", at: name) == "site-b" }
                }

                // standby / activate at the holder: the CIB file shows standby, the ticket stays.
                let standby = try await cluster.baton(["standby", "ticketA"], at: "site-b")
                #expect(standby.status == 0, "\(standby)")
                try await waitUntil("site-b's CIB shows standby") { cluster.cibState("ticketA", at: "site-b")["standby"] == "true" }
                #expect(cluster.cibGranted("ticketA", at: "site-b"), "standby must keep the ticket")
                let standbyList = try await cluster.ticketJSON("ticketA", at: "site-b")
                #expect(standbyList["standby"] as? Bool == true, "\(standbyList)")
                let activate = try await cluster.baton(["activate", "ticketA"], at: "site-b")
                #expect(activate.status == 0, "\(activate)")
                try await waitUntil("site-b's CIB shows standby false") { cluster.cibState("ticketA", at: "site-b")["standby"] == "false" }
                #expect(cluster.cibGranted("ticketA", at: "site-b"))

                // A before-acquire-handler that exits 1 denies the grant.
                let denied = try await cluster.grant("ticketH", at: "site-a")
                #expect(denied.status == 1, "\(denied)")
                #expect(denied.stderr.contains("before-acquire-handler failed"), "\(denied)")
                #expect(!cluster.cibGranted("ticketH", at: "site-a"))
                #expect(try await cluster.leader("ticketH", at: "site-a") == nil)

                // attr-prereq manual: refused until the site attribute matches.
                let early = try await cluster.grant("ticketP", at: "site-a")
                #expect(early.status == 1, "\(early)")
                #expect(early.stderr.contains("attribute prerequisite ready is not met"), "\(early)")
                let set = try await cluster.baton(["attr", "set", "ticketP", "ready", "yes"], at: "site-a")
                #expect(set.status == 0, "\(set)")
                let get = try await cluster.baton(["attr", "get", "ticketP", "ready"], at: "site-a")
                #expect(get.status == 0 && get.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "yes", "\(get)")
                let late = try await cluster.grant("ticketP", at: "site-a")
                #expect(late.status == 0 && late.stdout.contains("grant succeeded!"), "\(late)")
                #expect(cluster.cibGranted("ticketP", at: "site-a"))
            }
        }

        /// Issue 3, test 7: manual tickets: grant at a, grant at b refused, grant -F at b, and
        /// `list` warns of two holders.
        @Test func manualTickets() async throws {
            let tickets = """
                ticket = "ticketM"
                  mode = manual

                """
            try await withCluster(members: twoSitesAndArbitrator, tickets: tickets) { cluster in
                let grant = try await cluster.grant("ticketM", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                #expect(cluster.cibGranted("ticketM", at: "site-a"))
                #expect(cluster.cibState("ticketM", at: "site-a")["expires"] == "INF", "\(cluster.cibState("ticketM", at: "site-a"))")
                try await waitUntil("site-b knows site-a holds the manual ticket") {
                    try await cluster.leader("ticketM", at: "site-b") == "site-a"
                }
                let list = try await cluster.baton(["list"], at: "site-b")
                #expect(list.stdout.contains("ticket: ticketM, leader: 127.0.0.1, expires: INF [manual mode]"), "\(list)")

                let refused = try await cluster.baton(["grant", "-w", "ticketM"], at: "site-b")
                #expect(refused.status == 1, "\(refused)")
                print("manual grant at site-b while site-a holds: \(refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
                #expect(!cluster.cibGranted("ticketM", at: "site-b"))

                let forced = try await cluster.baton(["grant", "-F", "-w", "ticketM"], at: "site-b")
                #expect(forced.status == 0, "\(forced)")
                #expect(cluster.cibGranted("ticketM", at: "site-b"))
                #expect(cluster.cibGranted("ticketM", at: "site-a"))
                let warning = "WARNING: The ticket ticketM is granted to multiple sites: 127.0.0.1, 127.0.0.2. Revoke the ticket from the faulty sites."
                var seenAt: [String] = []
                for name in ["site-a", "site-b", "arbitrator"] {
                    let seen = (try? await waitUntil("\(name) warns of two holders") {
                        try await cluster.baton(["list"], at: name).stdout.contains(warning)
                    }) != nil
                    if seen { seenAt.append(name) }
                }
                print("manual double grant: the WARNING line is printed by list at \(seenAt)")
                #expect(seenAt.contains("site-b"), "list at site-b does not warn")
                #expect(seenAt.count == 3, "list warns only at \(seenAt)")
            }
        }
    }
}
