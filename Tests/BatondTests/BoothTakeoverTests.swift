import Foundation
import Testing
import TestSupport

/// A ticket booth left granted, taken over by batond without the site losing it (issue 17,
/// point 1: the switch from booth with no downtime). The site's CIB is a real one, written by
/// Pacemaker's own crm_ticket (CIB_file) exactly as booth writes it; the members are real batond
/// processes with the pacemaker back end.
let takeoverTicket = """
    ticket = "ticketA"
      expire = 30
      timeout = 500ms
      retries = 3

    """

private let crmTicket = "/usr/sbin/crm_ticket"

extension EndToEnd {
    @Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: crmTicket), "needs Pacemaker's crm_ticket (pacemaker-cli-utils)"))
    struct BoothTakeover {
        /// booth's ticket_state as booth's pcmk_write_ticket_atomic writes it (granted or revoked,
        /// with owner, expires, term and booth-cfg-name) into a CIB file.
        static func writeBoothState(cib: String, granted: Bool, expires: Int) async throws {
            let empty = """
                <cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
                  <configuration><crm_config/><nodes/><resources/><constraints/></configuration><status/>
                </cib>
                """
            try empty.write(toFile: cib, atomically: true, encoding: .utf8)
            let result = try await run(
                [crmTicket, "-t", "ticketA", granted ? "-g" : "-r", "--force", "-S", "owner", "-v", "1696554816",
                 "-S", "expires", "-v", String(expires), "-S", "term", "-v", "3", "-S", "booth-cfg-name", "-v", "booth"],
                environment: ["CIB_file": cib, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
            guard result.status == 0 else { throw TestFailure("crm_ticket writing booth's state into \(cib): \(result)") }
        }

        static func cibGranted(_ cib: String) async throws -> Bool {
            try await cibGrantedAnswer(cib) ?? false
        }

        /// crm_ticket's answer: true or false (105: no such ticket or attribute), nil when it
        /// gave none (another exit status, or the look was stopped).
        static func cibGrantedAnswer(_ cib: String) async throws -> Bool? {
            let result = try await run([crmTicket, "-t", "ticketA", "-G", "granted", "--quiet"],
                                       environment: ["CIB_file": cib, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
            switch result.status {
            case 0: return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
            case 105: return false
            default: return nil
            }
        }

        /// Set once to end the watcher's loop: cancelling it instead would cut its last
        /// crm_ticket run short, and an unanswered look is no answer.
        final class Stop: @unchecked Sendable {
            // @unchecked Sendable: `stopped` is only touched under `lock`.
            private let lock = NSLock()
            private var stopped = false
            func set() { lock.withLock { stopped = true } }
            var isSet: Bool { lock.withLock { stopped } }
        }

        static func cibExpires(_ cib: String) async throws -> Int? {
            let result = try await run([crmTicket, "-t", "ticketA", "-G", "expires", "--quiet"],
                                       environment: ["CIB_file": cib, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
            return Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        /// booth's `%F %T` in local time.
        static func boothTime(_ epoch: Int) -> String {
            var seconds = time_t(epoch)
            var parts = tm()
            localtime_r(&seconds, &parts)
            var buffer = [CChar](repeating: 0, count: 32)
            let length = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
            return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        func adopt(_ cluster: Cluster, _ name: String, list: String) async throws -> CommandResult {
            let member = cluster.member(name)
            var arguments = [Paths.batond, "-c", cluster.configPath(name), "--state-directory", "\(cluster.directory)/state-\(name)",
                             "--socket", cluster.socketPath(name), "--adopt-booth", list]
            arguments += member.role == .site ? ["--back-end", "pacemaker"] : ["--back-end", "none"]
            return try await run((cluster.memberPrefix[name] ?? []) + arguments)
        }

        @Test func aTicketBoothLeftGrantedIsTakenOverWithoutTheSiteLosingIt() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: takeoverTicket, start: false) { cluster in
                // What booth leaves: site-a granted, site-b revoked with site-a as owner, the lease
                // ending 20 s from now; `booth list` saved before booth was stopped.
                let leaseEnd = Int(Date().timeIntervalSince1970) + 20
                for (name, granted) in [("site-a", true), ("site-b", false)] {
                    try await Self.writeBoothState(cib: cluster.cibPath(name), granted: granted, expires: leaseEnd)
                    cluster.memberPrefix[name] = ["/usr/bin/env", "CIB_file=\(cluster.cibPath(name))"]
                    cluster.extraArguments[name] = ["--back-end", "pacemaker"]
                }
                let list = "\(cluster.directory)/booth-list.txt"
                try "ticket: ticketA, leader: 127.0.0.1, expires: \(Self.boothTime(leaseEnd))\n".write(toFile: list, atomically: true, encoding: .utf8)

                for name in ["site-a", "site-b", "arbitrator"] {
                    let adopted = try await adopt(cluster, name, list: list)
                    #expect(adopted.status == 0, "adopt at \(name): \(adopted)")
                    print("batond --adopt-booth at \(name): \(adopted.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
                    #expect(adopted.stdout.contains(name == "site-a" ? "ticketA: held here" : "ticketA: held by site-a"), "\(adopted)")
                }
                let again = try await adopt(cluster, "site-b", list: list)
                #expect(again.status == 1 && again.stderr.contains("tickets.journal exists"), "a second adoption is refused: \(again)")

                // Watch site-a's CIB from now on: granted at every look, and site-b never.
                let stop = Stop()
                let watching = Task { () -> (looks: Int, lostAt: [Int], siteBGranted: Int, lastLook: Int, unanswered: Int) in
                    var looks = 0, lost: [Int] = [], siteB = 0, lastLook = 0, unanswered = 0
                    while !stop.isSet {
                        looks += 1
                        switch try? await Self.cibGrantedAnswer(cluster.cibPath("site-a")) {
                        case true?: break
                        case false?: lost.append(looks)
                        case nil: unanswered += 1
                        }
                        if (try? await Self.cibGrantedAnswer(cluster.cibPath("site-b"))) == true { siteB += 1 }
                        lastLook = Int(Date().timeIntervalSince1970)
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    return (looks, lost, siteB, lastLook, unanswered)
                }
                try cluster.startAll()
                try await cluster.waitReady()
                for name in ["site-a", "site-b", "arbitrator"] {
                    try await waitUntil("\(name) sees site-a lead ticketA") { try await cluster.leader("ticketA", at: name) == "site-a" }
                }
                // batond renews: the lease in the CIB moves past booth's, and the grant outlives it.
                try await waitUntil("site-a's CIB expires moves past booth's lease end") {
                    (try await Self.cibExpires(cluster.cibPath("site-a")) ?? 0) > leaseEnd
                }
                while Int(Date().timeIntervalSince1970) <= leaseEnd + 2 { try await Task.sleep(for: .milliseconds(200)) }
                #expect(try await cluster.leader("ticketA", at: "site-b") == "site-a")
                let status = try await cluster.baton(["list"], at: "site-a")
                #expect(isBoothListLine(status.stdout.split(separator: "\n").first.map(String.init) ?? "", ticket: "ticketA", leaderAddress: "127.0.0.1"), "\(status)")
                stop.set()
                let seen = await watching.value
                print("site-a's CIB looked at \(seen.looks) times over the switch and booth's lease end: not granted at \(seen.lostAt.count) looks (\(seen.unanswered) unanswered); site-b granted at \(seen.siteBGranted)")
                // The looks spanned the switch and booth's lease end (how many depends on how fast
                // crm_ticket runs on a loaded machine: 29 on a quiet one).
                #expect(seen.looks - seen.unanswered >= 3 && seen.lastLook > leaseEnd, "looks: \(seen.looks), the last at \(seen.lastLook), booth's lease end \(leaseEnd)")
                #expect(seen.lostAt.isEmpty, "site-a lost the grant at looks \(seen.lostAt)")
                #expect(seen.siteBGranted == 0)
                #expect(try await Self.cibGranted(cluster.cibPath("site-a")))
            }
        }

        /// What does not match is refused with the file and line, and nothing is written.
        @Test func adoptionRefusesWhatItCannotCarryOn() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: takeoverTicket, start: false) { cluster in
                let leaseEnd = Int(Date().timeIntervalSince1970) + 60
                // booth says site-a holds it, but site-a's CIB has it revoked.
                try await Self.writeBoothState(cib: cluster.cibPath("site-a"), granted: false, expires: leaseEnd)
                cluster.memberPrefix["site-a"] = ["/usr/bin/env", "CIB_file=\(cluster.cibPath("site-a"))"]
                let list = "\(cluster.directory)/booth-list.txt"
                func attempt(_ text: String, at name: String = "site-a") async throws -> CommandResult {
                    try text.write(toFile: list, atomically: true, encoding: .utf8)
                    return try await adopt(cluster, name, list: list)
                }
                let held = "ticket: ticketA, leader: 127.0.0.1, expires: \(Self.boothTime(leaseEnd))\n"
                let mismatch = try await attempt(held)
                #expect(mismatch.status == 1 && mismatch.stderr.contains("booth-list.txt:1: booth lists 127.0.0.1 as the holder of ticketA, but this site's CIB"), "\(mismatch)")
                let garbage = try await attempt("ticket: ticketA, leader: 127.0.0.1, expires: \(Self.boothTime(leaseEnd))\nhello\n")
                #expect(garbage.status == 1 && garbage.stderr.contains("booth-list.txt:2: not a line of `booth list`"), "\(garbage)")
                let unknown = try await attempt("ticket: ticketZ, leader: 127.0.0.1, expires: \(Self.boothTime(leaseEnd))\n", at: "arbitrator")
                #expect(unknown.status == 1 && unknown.stderr.contains("ticket ticketZ is not in batond's configuration"), "\(unknown)")
                let stranger = try await attempt("ticket: ticketA, leader: 10.9.9.9, expires: \(Self.boothTime(leaseEnd))\n", at: "arbitrator")
                #expect(stranger.status == 1 && stranger.stderr.contains("leader 10.9.9.9 is no member"), "\(stranger)")
                let ending = try await attempt("ticket: ticketA, leader: 127.0.0.1, expires: \(Self.boothTime(Int(Date().timeIntervalSince1970)))\n", at: "arbitrator")
                #expect(ending.status == 1 && ending.stderr.contains("within two timeouts"), "\(ending)")
                let pending = try await attempt("ticket: ticketA, leader: 127.0.0.1, expires: \(Self.boothTime(leaseEnd)) (commit pending until \(Self.boothTime(leaseEnd)))\n", at: "arbitrator")
                #expect(pending.status == 1 && pending.stderr.contains("not committed yet"), "\(pending)")
                for name in ["site-a", "arbitrator"] {
                    #expect(!FileManager.default.fileExists(atPath: "\(cluster.directory)/state-\(name)/tickets.journal"), "nothing written at \(name)")
                }
            }
        }
    }
}
