import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// `baton status` on an arbitrator with baton-qdevice beside it (issue 16, the admin view):
    /// booth's line stays alone on stdout, the quorum device's sites follow the words on
    /// stderr, and `--output json` carries them as `quorum_device`. A real baton-qdevice
    /// arbitrator on loopback with the cluster's certificates (no corosync needed for its view).
    @Suite struct ArbitratorDeviceStatus {
        @Test func statusOnTheArbitratorShowsTheQuorumDevice() async throws {
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket) { cluster in
                let pki = cluster.directory + "/pki"
                let socket = cluster.directory + "/run/qdevice-arbitrator.sock"
                let output = cluster.directory + "/qdevice.out"
                let descriptor = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard descriptor >= 0 else { throw TestFailure("cannot open \(output)") }
                let device = try Child.spawn([
                    BuildPaths.product("baton-qdevice"), "arbitrator", "--host", "127.0.0.3", "--port", String(try freePort()),
                    "--ca-file", pki + "/ca.pem", "--cert-file", pki + "/arbitrator.pem", "--key-file", pki + "/arbitrator.key",
                    "--accept", "site-a", "--socket", socket,
                ], stdout: descriptor, stderr: descriptor)
                close(descriptor)
                defer { device.killAndReap() }

                var status = try await cluster.baton(["status", "--qdevice-socket", socket], at: "arbitrator")
                try await waitUntil("baton status on the arbitrator shows the quorum device") {
                    status = try await cluster.baton(["status", "--qdevice-socket", socket], at: "arbitrator")
                    return status.stderr.contains("Quorum device arbitrator: ")
                }
                #expect(status.status == 0, "\(status)")
                #expect(status.stdout.hasPrefix("booth_lockpid=") && status.stdout.contains(" booth_type=arbitrator ")
                        && status.stdout.split(separator: "\n").count == 1, "booth's line alone on stdout: \(status)")
                #expect(status.stderr.hasPrefix("batond running: arbitrator arbitrator, "), "\(status)")
                let json = try await cluster.baton(["status", "--qdevice-socket", socket, "--output", "json"], at: "arbitrator")
                let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
                #expect((object?["quorum_device"] as? String)?.hasPrefix("Quorum device arbitrator: ") == true, "\(json)")
                // A site shows no device; a socket nobody answers on says so.
                let site = try await cluster.baton(["status", "--qdevice-socket", socket], at: "site-a")
                #expect(site.status == 0 && !site.stderr.contains("Quorum device"), "\(site)")
                device.killAndReap()  // -9: its socket file stays, nobody answers on it
                let gone = try await cluster.baton(["status", "--qdevice-socket", socket], at: "arbitrator")
                #expect(gone.status == 0, "\(gone)")
                #expect(gone.stderr.contains("Quorum device arbitrator: NOT ANSWERING (\(socket): "), "a killed device's socket: \(gone)")
                print("baton status on the arbitrator with baton-qdevice:\n\(status.stdout)\(status.stderr)")
            }
        }
    }
}
