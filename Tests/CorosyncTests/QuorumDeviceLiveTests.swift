import Foundation
import Synchronization
import Testing

/// The quorum device end to end on real corosync: `baton-qdevice node` on every node of a
/// test bed (registered with votequorum, model baton, qdevice's default timeouts 10 s / 30 s),
/// `baton-qdevice arbitrator` in the bed's hub namespace (10.231.0.254), mutual TLS between
/// them. Quorum is read with `corosync-quorumtool -s` in each node's namespace, as an admin
/// would. The same scenarios run with Debian's corosync-qnetd/qdevice (model net, ffsplit,
/// tie-breaker lowest) for the comparison; the figures are printed, not asserted.
extension RealCorosync {
@Suite(.serialized)
struct QuorumDeviceLiveTests {
    /// One node's `corosync-quorumtool -s`.
    struct QuorumView: CustomStringConvertible {
        let nodes: Int
        let quorate: Bool
        let totalVotes: Int
        /// The device's line in the membership list ("0  1  Qdevice"): its votes as this node counts them.
        let deviceVotes: Int?
        let raw: String
        var description: String { "nodes \(nodes) quorate \(quorate) total \(totalVotes) device \(deviceVotes.map(String.init) ?? "-")" }

        init(_ text: String) {
            raw = text
            func value(_ label: String) -> String? {
                guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(label) }) else { return nil }
                return String(line.dropFirst(label.count)).trimmingCharacters(in: .whitespaces)
            }
            nodes = Int(value("Nodes:") ?? "") ?? 0
            quorate = value("Quorate:") == "Yes"
            totalVotes = Int(value("Total votes:") ?? "") ?? 0
            var device: Int?
            for line in text.split(separator: "\n") {
                let words: [Substring] = line.split(separator: " ", omittingEmptySubsequences: true)
                if words.count == 3 && words[0] == "0" && words[2] == "Qdevice" { device = Int(words[1]) }
            }
            deviceVotes = device
        }
    }

    /// Which device runs in the bed.
    enum Device: String { case baton, qnetd }

    /// A bed with a device on every node and the arbitrator (or qnetd) in the hub.
    final class DeviceBed: Sendable {
        let bed: Testbed
        let device: Device
        let pki: String
        let logDirectory: String
        private let nodeDevices: Mutex<[Int: TestChild]> = Mutex([:])
        private let arbitratorChild: Mutex<TestChild?> = Mutex(nil)
        private let files: Mutex<[OutputFile]> = Mutex([])

        init(bed: Testbed, device: Device, pki: String) {
            self.bed = bed
            self.device = device
            self.pki = pki
            self.logDirectory = pki
        }

        /// `heuristics`: a `heuristics { … }` section for the device (the same for Baton and
        /// qdevice); `$DIR` in it stands for the bed's own temporary directory. `algorithm`:
        /// ffsplit or lms, for both.
        static func with(nodes: Int, device: Device, heuristics: String = "", algorithm: String = "ffsplit",
                         _ body: (DeviceBed) async throws -> Void) async throws {
            let pki = try makeTemporaryDirectory("baton-qdevice-live")
            defer { try? FileManager.default.removeItem(atPath: pki) }
            let section = pki + "/device-section"
            switch device {
            case .baton:
                let made = try await run([Paths.packageRoot.appendingPathComponent("scripts/make-test-pki").path, pki, "arbitrator", "site-a"])
                guard made.status == 0 else { throw TestFailure("make-test-pki: \(made.output)") }
                try """
                    baton {
                      host: 10.231.0.254
                      port: 9930
                      arbitrator_name: arbitrator
                      ca_file: \(pki)/ca.pem
                      cert_file: \(pki)/site-a.pem
                      key_file: \(pki)/site-a.key
                      tie_breaker: lowest
                      algorithm: \(algorithm)
                    }

                    """.write(toFile: section, atomically: true, encoding: .utf8)
            case .qnetd:
                try """
                    net {
                      host: 10.231.0.254
                      algorithm: \(algorithm)
                      tie_breaker: lowest
                      tls: off
                    }

                    """.write(toFile: section, atomically: true, encoding: .utf8)
            }
            if !heuristics.isEmpty {
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: section))
                handle.seekToEndOfFile()
                handle.write(Data(heuristics.replacingOccurrences(of: "$DIR", with: pki).utf8))
                try handle.close()
            }
            let options = ["--device-timeout", "10000", "--device-sync-timeout", "30000", "--device-section", section,
                           "--device-model", device == .baton ? "baton" : "net"]
            try await Testbed.with(nodes: nodes, qdeviceVotes: nodes - 1, options: options) { bed in
                let deviceBed = DeviceBed(bed: bed, device: device, pki: pki)
                do {
                    try deviceBed.startArbitrator()
                    for node in 1...nodes { try deviceBed.startDevice(node) }
                    try await body(deviceBed)
                } catch {
                    deviceBed.dumpLogs()
                    deviceBed.stopAll()
                    throw error
                }
                deviceBed.stopAll()
            }
        }

        private func output(_ name: String) throws -> Int32 {
            let file = try OutputFile(prefix: "baton-qdevice-live-\(name)")
            files.withLock { $0.append(file) }
            return file.descriptor
        }

        func startArbitrator() throws {
            let arguments: [String]
            switch device {
            case .baton:
                arguments = [Paths.qdevice, "arbitrator", "--host", "10.231.0.254", "--port", "9930", "--ca-file", "\(pki)/ca.pem",
                             "--cert-file", "\(pki)/arbitrator.pem", "--key-file", "\(pki)/arbitrator.key", "--accept", "site-a",
                             "--socket", arbitratorSocket]
            case .qnetd:
                // -f foreground, -s off: no TLS (the comparison is about decisions and timings); -d debug log.
                arguments = ["corosync-qnetd", "-f", "-s", "off", "-l", "10.231.0.254", "-d"]
            }
            let descriptor = try output("arbitrator")
            let child = try TestChild.spawn([Paths.testbed, "-d", bed.directory, "exec-hub"] + arguments, stdout: descriptor, stderr: descriptor)
            arbitratorChild.withLock { $0 = child }
        }

        func stopArbitrator() {
            arbitratorChild.withLock { child in
                child?.terminate()
                child = nil
            }
        }

        func startDevice(_ node: Int) throws {
            // qdevice keeps its socket and pid file in /run: a private tmpfs per node (as the bed's corosync has).
            let arguments = device == .baton ? [Paths.qdevice, "node", "--socket", socket(node)] : ["sh", "-c", "mount -t tmpfs tmpfs /run && exec corosync-qdevice -f -d"]
            // A device whose corosync was killed has exited (status 1): reap it before its successor.
            nodeDevices.withLock { $0.removeValue(forKey: node) }?.terminate()
            let descriptor = try output("node\(node)")
            let child = try TestChild.spawn([Paths.testbed, "-d", bed.directory, "exec", String(node)] + arguments, stdout: descriptor, stderr: descriptor)
            nodeDevices.withLock { $0[node] = child }
        }

        /// The status sockets (in the bed's own directory: each node's device has its own).
        func socket(_ node: Int) -> String { pki + "/node\(node).sock" }
        var arbitratorSocket: String { pki + "/arbitrator.sock" }

        /// `baton-qdevice status|metrics --socket PATH …` as an admin runs it; its output.
        func ask(_ arguments: [String]) async throws -> String {
            let result = try await run([Paths.qdevice] + arguments)
            guard result.status == 0 else { throw TestFailure("baton-qdevice \(arguments.joined(separator: " ")): \(result)") }
            return result.output
        }

        func stopAll() {
            for child in nodeDevices.withLock({ Array($0.values) }) { child.terminate() }
            nodeDevices.withLock { $0 = [:] }
            stopArbitrator()
            for file in files.withLock({ $0 }) { file.remove() }
        }

        func dumpLogs() {
            for file in files.withLock({ $0 }) {
                log("--- \(file.path) (last lines)\n" + file.text.split(separator: "\n").suffix(40).joined(separator: "\n"))
            }
        }

        /// The node device's latest "the arbitrator's vote for ring … came N ms after the ring" line.
        func decisionLine(_ node: Int) -> String {
            let text = files.withLock { $0 }.last { $0.path.contains("-node\(node)-") }?.text ?? ""
            return text.split(separator: "\n").last { $0.contains("after the ring") }.map(String.init) ?? "-"
        }

        func view(_ node: Int) async throws -> QuorumView {
            QuorumView(try await bed.exec(node, ["corosync-quorumtool", "-s"]).output)
        }

        /// Polls every listed node's view until `predicate` holds for all of them; returns the
        /// time it took from `since`.
        @discardableResult
        func waitUntil(_ what: String, nodes: [Int], since: ContinuousClock.Instant = .now,
                       _ predicate: @escaping (Int, QuorumView) -> Bool) async throws -> Duration {
            let deadline = ContinuousClock.now + Patience.deadline
            while true {
                var views: [Int: QuorumView] = [:]
                for node in nodes { views[node] = try await view(node) }
                if views.allSatisfy({ predicate($0.key, $0.value) }) { return ContinuousClock.now - since }
                if ContinuousClock.now > deadline {
                    throw TestFailure("\(device): \(what) not within \(Patience.deadline); views: \(views.sorted { $0.key < $1.key }.map { "node\($0.key): \($0.value)" })")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        /// Samples the views for `span` and fails if `predicate` ever stops holding (flapping).
        func holds(_ what: String, nodes: [Int], for span: Duration, _ predicate: @escaping (Int, QuorumView) -> Bool) async throws {
            let end = ContinuousClock.now + span
            while ContinuousClock.now < end {
                for node in nodes {
                    let view = try await view(node)
                    guard predicate(node, view) else { throw TestFailure("\(device): \(what) stopped holding on node\(node): \(view)") }
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f s", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }

    /// Both nodes members and quorate, the device's vote counted by both.
    static func allUp(_ count: Int) -> (Int, QuorumView) -> Bool {
        { _, view in view.nodes == count && view.quorate && view.totalVotes == 2 * count - 1 }
    }

    /// 2 nodes + arbitrator: the link between the nodes cut, three times → node 1 (tie-breaker
    /// lowest) keeps quorum every time, node 2 loses it, and both are quorate again after the
    /// heal; the vote does not flap in between.
    func linkCut(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 2, device: device) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            for round in 1...3 {
                let cut = ContinuousClock.now
                try await bed.bed.script(["split", "1", "2"])
                let decided = try await bed.waitUntil("round \(round): node 1 alone and quorate, node 2 alone and not", nodes: [1, 2], since: cut) { node, view in
                    view.nodes == 1 && view.quorate == (node == 1)
                }
                log("\(device) link cut round \(round): node 1 quorate alone, node 2 not, \(Self.seconds(decided)) after the cut")
                if device == .baton { for node in [1, 2] { log("  node\(node): \(bed.decisionLine(node))") } }
                try await bed.holds("round \(round): node 1 keeps quorum and node 2 stays without", nodes: [1, 2], for: .seconds(5)) { node, view in
                    view.nodes == 1 && view.quorate == (node == 1)
                }
                let heal = ContinuousClock.now
                try await bed.bed.script(["unsplit", "1", "2"])
                let healed = try await bed.waitUntil("round \(round): healed, both quorate with the vote", nodes: [1, 2], since: heal, Self.allUp(2))
                log("\(device) link cut round \(round): healed, both count the device's vote \(Self.seconds(healed)) after the heal")
                try await bed.holds("round \(round): both stay quorate after the heal", nodes: [1, 2], for: .seconds(5), Self.allUp(2))
            }
        }
    }

    /// Node 1 (the tie-breaker's choice) cut off from everyone: node 2 keeps quorum once the
    /// arbitrator has given up on node 1 (the survivor's time is the figure qnetd takes 12 s for).
    func isolation(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 2, device: device) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            let cut = ContinuousClock.now
            try await bed.bed.script(["cut", "1"])
            // Both sides watched together: when node 1 lost quorum, when node 2 held it alone.
            var lost: Duration?
            var survived: Duration?
            let deadline = ContinuousClock.now + Patience.deadline
            while lost == nil || survived == nil {
                let (one, two) = (try await bed.view(1), try await bed.view(2))
                if lost == nil && !one.quorate { lost = ContinuousClock.now - cut }
                if survived == nil && two.nodes == 1 && two.quorate { survived = ContinuousClock.now - cut }
                if ContinuousClock.now > deadline {
                    throw TestFailure("\(device): node 1 not without quorum or node 2 not quorate alone within \(Patience.deadline): node1 \(one), node2 \(two)")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            log("\(device) node 1 isolated: node 1 without quorum \(Self.seconds(lost!)), node 2 quorate alone \(Self.seconds(survived!)) after the cut")
            if device == .baton { log("  node2: \(bed.decisionLine(2))") }
            try await bed.holds("node 2 keeps quorum, node 1 stays without", nodes: [1, 2], for: .seconds(5)) { node, view in
                view.nodes == 1 && view.quorate == (node == 2)
            }
            let heal = ContinuousClock.now
            try await bed.bed.script(["heal", "1"])
            let healed = try await bed.waitUntil("healed, both quorate with the vote", nodes: [1, 2], since: heal, Self.allUp(2))
            log("\(device) node 1 isolated: healed, both count the device's vote \(Self.seconds(healed)) after the heal")
            try await bed.holds("both stay quorate after the heal", nodes: [1, 2], for: .seconds(5), Self.allUp(2))
        }
    }

    /// `baton-qdevice status` and `metrics` on real corosync: a node shows its ring, the ACK
    /// and that it casts; the arbitrator shows the site's partition; after the link between
    /// the nodes is cut, two partitions, node 1's with the ACK and node 2's with the NACK.
    /// The metrics pass `promtool check metrics`.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func statusAndMetrics() async throws {
        try await DeviceBed.with(nodes: 2, device: .baton) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            var text = ""
            try await waitUntil("node 1's status shows the ACK cast for its ring") {
                text = try await bed.ask(["status", "--socket", bed.socket(1)])
                return text.contains("vote:        ACK") && text.contains("casts:       yes for ring")
            }
            #expect(text.contains("votequorum:  registered") && text.contains("10.231.0.254:9930 connected") && text.contains("members 1,2"), "\(text)")
            let json = try await bed.ask(["status", "--socket", bed.socket(2), "--output", "json"])
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            #expect(object?["nodeID"] as? Int == 2 && object?["vote"] as? String == "ack" && object?["castsVote"] as? Bool == true, "\(json)")
            try await waitUntil("the arbitrator's status shows the site's one partition holding the vote") {
                text = try await bed.ask(["status", "--socket", bed.arbitratorSocket])
                return text.contains("(certificate site-a): vote held by {1,2}") && text.contains("members 1,2: ACK")
            }
            for socket in [bed.socket(1), bed.arbitratorSocket] {
                let metrics = try await bed.ask(["metrics", "--socket", socket])
                #expect(metrics.contains("baton_qdevice_"), "\(metrics)")
                if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
                    let file = bed.pki + "/metrics.txt"
                    try metrics.write(toFile: file, atomically: true, encoding: .utf8)
                    let lint = try await run(["/bin/sh", "-c", "/usr/bin/promtool check metrics < \"$1\"", "lint", file])
                    #expect(lint.status == 0, "promtool check metrics (\(socket)): \(lint)")
                }
            }
            #expect(try await bed.ask(["metrics", "--socket", bed.socket(1)]).contains("baton_qdevice_vote_cast 1"))

            // `baton crm status` on node 1 (baton-crmd there) shows the device's line and its JSON.
            let crmd = CrmdBed(testbed: bed.bed, dcDeadtimeSeconds: 20, noQuorumPolicy: nil)
            try crmd.launch([1])
            do {
                var crmStatus = CommandResult(status: -1, output: "")
                try await waitUntil("baton crm status on node 1 shows the quorum device's ACK, counted") {
                    crmStatus = try await run([Paths.baton, "crm", "status", "--node", "--socket", crmd.socket(1), "--qdevice-socket", bed.socket(1)])
                    return crmStatus.status == 0
                        && crmStatus.output.contains("  * Quorum device: baton, arbitrator 10.231.0.254:9930 connected, vote ACK for ring ")
                        && crmStatus.output.contains(", counted\n")
                }
                let crmJSON = try await run([Paths.baton, "crm", "status", "--node", "--output", "json", "--socket", crmd.socket(1),
                                             "--qdevice-socket", bed.socket(1)])
                let device = (try JSONSerialization.jsonObject(with: Data(crmJSON.output.utf8)) as? [String: Any])?["quorumDevice"] as? [String: Any]
                #expect(device?["vote"] as? String == "ack" && device?["castsVote"] as? Bool == true, "\(crmJSON)")
                let noDevice = try await run([Paths.baton, "crm", "status", "--node", "--socket", crmd.socket(1),
                                              "--qdevice-socket", bed.pki + "/absent.sock"])
                #expect(noDevice.status == 0 && !noDevice.output.contains("Quorum device"), "no device socket, no line: \(noDevice)")
            } catch {
                await crmd.stopAll()
                throw error
            }
            await crmd.stopAll()

            try await bed.bed.script(["split", "1", "2"])
            try await waitUntil("the arbitrator shows two partitions: node 1's with the ACK, node 2's with the NACK") {
                text = try await bed.ask(["status", "--socket", bed.arbitratorSocket])
                return text.contains("vote held by {1}") && text.contains("members 1: ACK") && text.contains("members 2: NACK")
            }
            try await waitUntil("node 2's status: NACK, casting no") {
                text = try await bed.ask(["status", "--socket", bed.socket(2)])
                return text.contains("vote:        NACK") && text.contains("casts:       no")
            }
            #expect(try await bed.ask(["metrics", "--socket", bed.arbitratorSocket]).contains("baton_qdevice_cluster_partitions{"))
            let bad = try await run([Paths.qdevice, "status", "--socket", bed.pki + "/absent.sock"])
            #expect(bad.status != 0 && bad.output.contains("Couldn't reach the quorum device at"), "\(bad)")
        }
    }

    /// qdevice issue #10 ("quorum lost in majority partition", 2 nodes + qnetd): node 2 dies;
    /// node 1, left alone with the device's vote, must never be seen without quorum on the way
    /// (sampled every 100 ms from the kill until it has been quorate alone for 5 s). The
    /// device waits up to 1 s for the arbitrator's vote on a new ring before it polls no; the
    /// arbitrator has seen node 2's connection close, so its ACK comes within that wait.
    func peerKilled(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 2, device: device) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            let kill = ContinuousClock.now
            try await bed.bed.script(["kill", "2"])
            var aloneSince: ContinuousClock.Instant?
            var dips = 0
            let deadline = ContinuousClock.now + Patience.deadline
            while aloneSince.map({ ContinuousClock.now - $0 < .seconds(5) }) ?? true {
                let view = try await bed.view(1)
                if !view.quorate { dips += 1 }
                if aloneSince == nil && view.nodes == 1 && view.quorate && view.totalVotes == 2 {
                    aloneSince = ContinuousClock.now
                    log("\(device) node 2 killed: node 1 quorate alone with the device's vote \(Self.seconds(ContinuousClock.now - kill)) after the kill")
                }
                if ContinuousClock.now > deadline { throw TestFailure("\(device): node 1 not quorate alone within \(Patience.deadline): \(view)") }
                try await Task.sleep(for: .milliseconds(100))
            }
            log("\(device) node 2 killed: node 1 seen without quorum in \(dips) samples")
            if device == .baton {
                #expect(dips == 0, "node 1 lost quorum on the way (qdevice issue #10)")
            }
            try await bed.bed.script(["start", "2"])
            try bed.startDevice(2)
            try await bed.waitUntil("node 2 back: both quorate with the vote", nodes: [1, 2], Self.allUp(2))
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func peerKilledSurvivorNeverLosesQuorum() async throws {
        try await peerKilled(.baton)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/corosync-qnetd")
                                                                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync-qdevice"),
                                                               "needs Debian's corosync-qnetd and corosync-qdevice (make test installs them)"))
    func qnetdSideBySidePeerKilled() async throws {
        try await peerKilled(.qnetd)
    }

    /// qdevice issue #7 (failback after heal, fixed by keep_active_partition_tie_breaker):
    /// node 1 isolated, node 2 takes the vote; node 1 comes back to the arbitrator but still
    /// cut from node 2: a 50:50 split the tie-breaker (lowest) would give node 1, but the
    /// partition that held the vote keeps it.
    func noFailback(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 2, device: device) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            try await bed.bed.script(["cut", "1"])
            try await bed.waitUntil("node 2 alone and quorate", nodes: [1, 2]) { node, view in view.nodes == 1 && view.quorate == (node == 2) }
            try await bed.bed.script(["split", "1", "2"])
            try await bed.bed.script(["heal", "1"])
            try await bed.holds("node 2 keeps the vote, node 1 (back at the arbitrator, still cut from node 2) stays without", nodes: [1, 2], for: .seconds(20)) { node, view in
                view.nodes == 1 && view.quorate == (node == 2)
            }
            log("\(device) no failback: node 2 kept the vote for 20 s after node 1 came back to the arbitrator")
            try await bed.bed.script(["unsplit", "1", "2"])
            try await bed.waitUntil("healed, both quorate with the vote", nodes: [1, 2], Self.allUp(2))
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func noFailbackAfterIsolation() async throws {
        try await noFailback(.baton)
    }

    /// sbd PR #76 / qdevice: corosync paused (SIGSTOP) on node 1, its device still running.
    /// Node 2 forms a ring alone; node 1's votequorum cannot answer, so node 1's device must not
    /// hold the arbitrator's decision up by staying connected with its old ring: node 2 gets the
    /// vote. Corosync resumed: both quorate again.
    func pausedCorosync(_ device: Device) async throws {
        try await DeviceBed.with(nodes: 2, device: device) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            let pidText = try String(contentsOfFile: bed.bed.directory + "/node1/pid", encoding: .utf8)
            guard let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestFailure("node 1's corosync pid: '\(pidText)'") }
            let pause = ContinuousClock.now
            kill(pid, SIGSTOP)
            do {
                let took = try await bed.waitUntil("node 2 alone and quorate while node 1's corosync is paused", nodes: [2], since: pause) { _, view in
                    view.nodes == 1 && view.quorate
                }
                log("\(device) node 1's corosync paused: node 2 quorate alone \(Self.seconds(took)) after the pause")
            } catch {
                kill(pid, SIGCONT)
                throw error
            }
            kill(pid, SIGCONT)
            try await bed.waitUntil("resumed: both quorate with the vote", nodes: [1, 2], Self.allUp(2))
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func pausedCorosyncDoesNotHoldTheVote() async throws {
        try await pausedCorosync(.baton)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/corosync-qnetd")
                                                                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync-qdevice"),
                                                               "needs Debian's corosync-qnetd and corosync-qdevice (make test installs them)"))
    func qnetdSideBySidePausedCorosync() async throws {
        try await pausedCorosync(.qnetd)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func isolatedNodeOneLeavesNodeTwoQuorate() async throws {
        try await isolation(.baton)
    }

    /// The arbitrator down with both nodes up: still quorate (2 of 3 votes, no device vote);
    /// then a node lost as well: the other loses quorum. The arbitrator back: the survivor
    /// is quorate again with the device's vote; the lost node back: both.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func arbitratorDownThenNodeLost() async throws {
        try await DeviceBed.with(nodes: 2, device: .baton) { bed in
            try await bed.waitUntil("both nodes quorate with the device's vote", nodes: [1, 2], Self.allUp(2))
            bed.stopArbitrator()
            try await bed.waitUntil("the arbitrator down: both quorate without the device's vote", nodes: [1, 2]) { _, view in
                view.nodes == 2 && view.quorate && view.totalVotes == 2
            }
            try await bed.holds("both stay quorate without the arbitrator", nodes: [1, 2], for: .seconds(5)) { _, view in
                view.nodes == 2 && view.quorate
            }
            try await bed.bed.script(["kill", "2"])
            let lost = ContinuousClock.now
            let took = try await bed.waitUntil("node 2 lost too: node 1 not quorate", nodes: [1], since: lost) { _, view in
                view.nodes == 1 && !view.quorate
            }
            log("baton arbitrator down, node 2 killed: node 1 not quorate \(Self.seconds(took)) after the kill")
            try bed.startArbitrator()
            try await bed.waitUntil("the arbitrator back: node 1 quorate alone with the vote", nodes: [1]) { _, view in
                view.nodes == 1 && view.quorate && view.totalVotes == 2
            }
            try await bed.bed.script(["start", "2"])
            try bed.startDevice(2)
            try await bed.waitUntil("node 2 back: both quorate with the vote", nodes: [1, 2], Self.allUp(2))
        }
    }

    /// 4 nodes (the device has 3 votes, quorum 4 of 7) split 2:2: {1, 2} (lowest) keeps
    /// quorum, {3, 4} does not; after the heal all four count the vote.
    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func fourNodesSplitTwoTwo() async throws {
        try await DeviceBed.with(nodes: 4, device: .baton) { bed in
            let all = [1, 2, 3, 4]
            try await bed.waitUntil("all four quorate with the device's vote", nodes: all, Self.allUp(4))
            let cut = ContinuousClock.now
            for (a, b) in [(1, 3), (1, 4), (2, 3), (2, 4)] { try await bed.bed.script(["split", String(a), String(b)]) }
            let decided = try await bed.waitUntil("{1,2} quorate, {3,4} not", nodes: all, since: cut) { node, view in
                view.nodes == 2 && view.quorate == (node <= 2)
            }
            log("baton 4 nodes split 2:2: {1,2} quorate, {3,4} not, \(Self.seconds(decided)) after the cut")
            try await bed.holds("{1,2} keeps quorum", nodes: all, for: .seconds(5)) { node, view in view.nodes == 2 && view.quorate == (node <= 2) }
            for (a, b) in [(1, 3), (1, 4), (2, 3), (2, 4)] { try await bed.bed.script(["unsplit", String(a), String(b)]) }
            try await bed.waitUntil("healed: all four quorate with the vote", nodes: all, Self.allUp(4))
        }
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)))
    func linkCutBetweenTwoNodesLeavesNodeOneQuorate() async throws {
        try await linkCut(.baton)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/corosync-qnetd")
                                                                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync-qdevice"),
                                                               "needs Debian's corosync-qnetd and corosync-qdevice (make test installs them)"))
    func qnetdSideBySideLinkCut() async throws {
        try await linkCut(.qnetd)
    }

    @Test(.timeLimit(.minutes(Patience.testMinutes)), .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/corosync-qnetd")
                                                                   && FileManager.default.isExecutableFile(atPath: "/usr/sbin/corosync-qdevice"),
                                                               "needs Debian's corosync-qnetd and corosync-qdevice (make test installs them)"))
    func qnetdSideBySideIsolation() async throws {
        try await isolation(.qnetd)
    }
}
}
