import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Sends `payload` on a raw TCP connection and reports what came back and whether the server
/// closed the connection (python3, so no TLS library is involved).
func rawExchange(host: String, port: Int, payload: String) async throws -> CommandResult {
    let script = """
        import socket, sys
        patience = float(sys.argv[4])
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=patience)
        s.sendall(bytes.fromhex(sys.argv[3]))
        s.settimeout(patience)
        received = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    print("closed-by-server")
                    break
                received += chunk
        except socket.timeout:
            print("still-open")
        except ConnectionResetError:
            print("closed-by-server")
        print("received", len(received), received[:64].hex())
        """
    let hex = payload.utf8.map { String(format: "%02x", $0) }.joined()
    // The server must close; how long python waits for that is a backstop, not the claim.
    return try await run(["/usr/bin/python3", "-c", script, host, String(port), hex, String(Patience.deadlineSeconds)],
                         timeLimit: Patience.deadline * 2)
}

func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

extension EndToEnd {
    @Suite struct Refusals {
        /// Issue 3, test 9: a member with a foreign CA's certificate cannot join; s_client without
        /// a certificate or with a foreign one, garbage bytes and an HTTP request are refused;
        /// afterwards the daemons still grant and list.
        @Test func foreignPeersAndGarbageAreRefused() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let grant = try await cluster.grant("ticketA", at: "site-a")
                #expect(grant.status == 0, "\(grant)")
                let foreign = cluster.directory + "/foreign"
                let pki = try await run([Paths.makeTestPKI, foreign, "site-b", "intruder"])
                #expect(pki.status == 0, "\(pki)")
                var refusals: [String] = []

                // 1. site-b comes back with a certificate (named site-b) from a foreign CA.
                try await cluster.stop("site-b")
                let genuineConfig = try String(contentsOfFile: cluster.configPath("site-b"), encoding: .utf8)
                try cluster.config(for: cluster.member("site-b"), certificate: foreign + "/site-b.pem")
                    .write(toFile: cluster.configPath("site-b"), atomically: true, encoding: .utf8)
                let refusedBefore = count("TLS connection refused", in: cluster.logTail("site-a", lines: 100_000))
                try cluster.start("site-b")
                try await waitUntil("site-a and the arbitrator log refusing the impostor", interval: .milliseconds(100)) {
                    let a = cluster.logTail("site-a", lines: 100_000)
                    let arbitrator = cluster.logTail("arbitrator", lines: 100_000)
                    return count("TLS connection refused", in: a) > refusedBefore && arbitrator.contains("TLS connection refused")
                }
                let refusalLine = cluster.logTail("site-a", lines: 100_000).split(separator: "\n").last { $0.contains("TLS connection refused") } ?? ""
                print("site-a refusing site-b's foreign-CA certificate: \(refusalLine)")
                refusals.append("member certificate from a foreign CA (site-b)")
                // Tickets unaffected: site-a keeps renewing with the arbitrator across two renewals.
                try await Task.sleep(for: .seconds(6.5))
                #expect(try await cluster.leader("ticketA", at: "site-a") == "site-a")
                #expect(try await cluster.leader("ticketA", at: "arbitrator") == "site-a")
                #expect(cluster.cibGranted("ticketA", at: "site-a"))
                #expect(!cluster.cibGranted("ticketA", at: "site-b"), "the impostor holds the ticket")
                let peers = try await cluster.baton(["peers", "--output", "json"], at: "site-a")
                #expect(peers.stdout.contains("\"connected\" : false"), "site-a shows the impostor connected: \(peers.stdout)")
                try await cluster.stop("site-b")
                try genuineConfig.write(toFile: cluster.configPath("site-b"), atomically: true, encoding: .utf8)

                // 2. openssl s_client without a certificate, and with a foreign one.
                try await makeCertificate("intruder", pki: cluster.directory + "/pki")
                let opensslVariants: [(String, [String])] = [
                    ("openssl s_client with a certificate from the members' CA naming no member",
                     ["-cert", cluster.directory + "/pki/intruder.pem", "-key", cluster.directory + "/pki/intruder.key"]),
                    ("openssl s_client without a certificate", []),
                    ("openssl s_client with a foreign CA's certificate", ["-cert", foreign + "/intruder.pem", "-key", foreign + "/intruder.key"]),
                    ("openssl s_client with a foreign CA's certificate named like a member", ["-cert", foreign + "/site-b.pem", "-key", foreign + "/site-b.key"]),
                ]
                for (label, extra) in opensslVariants {
                    let before = count("TLS connection refused", in: cluster.logTail("site-a", lines: 100_000))
                    // -ign_eof: keep reading after stdin ends, so the server's verdict (an alert,
                    // or the close) is seen; TLS 1.3 clients learn of a rejected certificate only then.
                    let result = try await run(
                        ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(cluster.port)", "-tls1_3", "-ign_eof",
                         "-CAfile", cluster.directory + "/pki/ca.pem"] + extra,
                        timeLimit: Patience.deadline)
                    try await waitUntil("site-a logs refusing: \(label)") {
                        count("TLS connection refused", in: cluster.logTail("site-a", lines: 100_000)) > before
                    }
                    let alert = result.stderr.split(separator: "\n").first { $0.contains("alert") }.map(String.init) ?? "(no alert line)"
                    print("\(label): refused by site-a; s_client exit \(result.status), \(alert)")
                    refusals.append(label)
                }

                // 3. a genuine member's certificate (site-b's, from the wrong address) that then
                // sends bytes that are no frame: refused at the frame layer, connection closed.
                do {
                    let junk = cluster.directory + "/junk.txt"
                    try "this is not a Baton frame\n".write(toFile: junk, atomically: true, encoding: .utf8)
                    let before = count("refused bad frame", in: cluster.logTail("site-a", lines: 100_000))
                    let result = try await run(
                        ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(cluster.port)", "-tls1_3", "-ign_eof", "-quiet",
                         "-CAfile", cluster.directory + "/pki/ca.pem",
                         "-cert", cluster.directory + "/pki/site-b.pem", "-key", cluster.directory + "/pki/site-b.key"],
                        timeLimit: Patience.deadline, stdin: junk)
                    try await waitUntil("site-a logs refusing a bad frame from a verified peer") {
                        count("refused bad frame", in: cluster.logTail("site-a", lines: 100_000)) > before
                    }
                    let line = cluster.logTail("site-a", lines: 100_000).split(separator: "\n").last { $0.contains("refused bad frame") } ?? ""
                    print("a verified member certificate sending a non-frame: s_client exit \(result.status); site-a: \(line)")
                    refusals.append("a genuine member certificate sending bytes that are no frame")
                }

                // 4. garbage bytes and an HTTP request on the member port.
                let raw: [(String, String)] = [
                    ("garbage bytes", String(repeating: "\u{7}garbage\u{1}\u{2}\u{3}", count: 20)),
                    ("an HTTP request", "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
                ]
                for (label, payload) in raw {
                    let before = count("TLS connection refused", in: cluster.logTail("site-a", lines: 100_000))
                    let result = try await rawExchange(host: "127.0.0.1", port: cluster.port, payload: payload)
                    #expect(result.status == 0, "\(result)")
                    #expect(result.stdout.contains("closed-by-server"), "\(label): the connection stayed open: \(result)")
                    #expect(!result.stdout.contains("HTTP/"), "\(label): answered like an HTTP server: \(result)")
                    try await waitUntil("site-a logs refusing \(label)") {
                        count("TLS connection refused", in: cluster.logTail("site-a", lines: 100_000)) > before
                    }
                    print("\(label): site-a closed the connection (\(result.stdout.split(separator: "\n").joined(separator: "; ")))")
                    refusals.append(label)
                }

                // Afterwards: the genuine site-b rejoins, and grant / list still work.
                try cluster.start("site-b")
                try await cluster.waitReady()
                try await waitUntil("the rejoined site-b knows site-a leads") {
                    try await cluster.leader("ticketA", at: "site-b") == "site-a"
                }
                let revoke = try await cluster.baton(["revoke", "-w", "ticketA"], at: "site-a")
                #expect(revoke.status == 0, "\(revoke)")
                let regrant = try await cluster.grant("ticketA", at: "site-b")
                #expect(regrant.status == 0 && regrant.stdout.contains("grant succeeded!"), "\(regrant)")
                for name in ["site-a", "site-b", "arbitrator"] {
                    try await waitUntil("\(name) lists site-b as leader") {
                        let list = try await cluster.baton(["list"], at: name)
                        return list.stdout.split(separator: "\n").contains { isBoothListLine(String($0), ticket: "ticketA", leaderAddress: "127.0.0.2") }
                    }
                }
                print("refusals tested: \(refusals.joined(separator: "; "))")
            }
        }
    }
}
