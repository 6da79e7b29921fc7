import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Issue 17 point 7: a running stock Pacemaker site moved to baton-crmd without stopping or
    /// starting anything (the README's "Migrating a running Pacemaker site", step by step, on
    /// the one-node Pacemaker of `PrivatePacemaker`).
    @Suite struct PacemakerMigration {
        /// The resources Pacemaker starts: a Dummy alone, and a group of a Pacemaker Dummy and a
        /// resource-agents (ocf:heartbeat) Dummy; each monitored every 2 s.
        static let resources = """
            <resources>
              <primitive id="d1" class="ocf" provider="pacemaker" type="Dummy">
                <operations><op id="d1-monitor-2s" name="monitor" interval="2s" timeout="20s"/></operations>
              </primitive>
              <group id="g1">
                <primitive id="g1-a" class="ocf" provider="pacemaker" type="Dummy">
                  <operations><op id="g1-a-monitor-2s" name="monitor" interval="2s" timeout="20s"/></operations>
                </primitive>
                <primitive id="g1-hb" class="ocf" provider="heartbeat" type="Dummy">
                  <operations><op id="g1-hb-monitor-2s" name="monitor" interval="2s" timeout="20s"/></operations>
                </primitive>
              </group>
            </resources>
            """
        static let ids = ["d1", "g1-a", "g1-hb"]
        /// Each resource's state file inside the namespace (its /run is the namespace's tmpfs):
        /// Pacemaker's Dummy under HA_VARRUN (/var/run), resource-agents' under HA_RSCTMP.
        static let stateFiles = ["d1": "/run/Dummy-d1.state", "g1-a": "/run/Dummy-g1-a.state",
                                 "g1-hb": "/run/resource-agents/Dummy-g1-hb.state"]
        /// cluster-recheck-interval in the migrated CIB, for the observation window.
        static let recheckSeconds = 5

        @Test(.timeLimit(.minutes(Patience.testMinutes)))
        func aRunningPacemakerSiteMovesToBatonCrmdWithoutStartingOrStoppingAnything() async throws {
            if let missing = PrivatePacemaker.missing() {
                print("SKIPPING the Pacemaker migration test: \(missing)")
                return
            }
            if let missing = Requirement.built("baton-crmd") { throw TestFailure(missing) }
            let directory = "/tmp/baton-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let pacemaker = try PrivatePacemaker(directory: directory + "/pacemaker")
            // Killing the namespace's pid 1 ends corosync, whatever is left of Pacemaker,
            // baton-crmd and the agents' processes (declared first: runs last).
            defer { pacemaker.stop() }
            try await pacemaker.start()
            var crmd: Child?
            defer { crmd?.killAndReap() }
            let socket = directory + "/crmd.sock"
            let crmdLog = directory + "/baton-crmd.log"

            func inside(_ arguments: [String]) async throws -> CommandResult {
                try await run(pacemaker.prefix + arguments)
            }
            func must(_ arguments: [String]) async throws -> CommandResult {
                let result = try await inside(arguments)
                guard result.status == 0 else { throw TestFailure("\(arguments.joined(separator: " ")) exited \(result.status): \(result.description)") }
                return result
            }
            /// Each state file's inode and modification time (nil: absent).
            func stamps() async throws -> [String: String?] {
                var found: [String: String?] = [:]
                for id in Self.ids {
                    let stat = try await inside(["/usr/bin/stat", "-c", "%i %y", Self.stateFiles[id]!])
                    found[id] = stat.status == 0 ? stat.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
                }
                return found
            }
            func logs() -> String {
                pacemaker.log() + "\n--- baton-crmd.log ---\n" + ((try? String(contentsOfFile: crmdLog, encoding: .utf8)) ?? "(absent)")
                    .split(separator: "\n", omittingEmptySubsequences: false).suffix(60).joined(separator: "\n")
            }

            // 1. Stock Pacemaker runs the resources (no fencing device: stonith-enabled=false).
            _ = try await must(["/usr/sbin/crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false"])
            _ = try await must(["/usr/sbin/crm_attribute", "--type", "crm_config", "--name", "cluster-recheck-interval", "--update", "\(Self.recheckSeconds)s"])
            _ = try await must(["/usr/sbin/cibadmin", "--replace", "--scope", "resources", "--xml-text", Self.resources])
            do {
                try await waitUntil("Pacemaker started \(Self.ids) (their state files there, crm_mon says Started)", within: Patience.deadline * 2,
                                    interval: .milliseconds(250)) {
                    let files = try await stamps()
                    guard files.values.allSatisfy({ $0 != nil }) else { return false }
                    let monitor = try await inside(["/usr/sbin/crm_mon", "-1"])
                    return Self.ids.allSatisfy { id in Self.startedLine(id, in: monitor.stdout) }
                }
            } catch {
                throw TestFailure("\(error)\n\(logs())")
            }

            // 2. Maintenance mode, seen in the CIB.
            _ = try await must(["/usr/sbin/crm_attribute", "--name", "maintenance-mode", "--update", "true"])
            try await waitUntil("Pacemaker's CIB says maintenance-mode=true", interval: .milliseconds(200)) {
                try await inside(["/usr/sbin/crm_attribute", "--name", "maintenance-mode", "--query", "--quiet"]).stdout == "true\n"
            }
            // Pacemaker cancels its monitors in maintenance mode: wait until its CIB shows the
            // resources unmanaged (the scheduler ran with the new option).
            try await waitUntil("crm_mon shows the resources unmanaged", interval: .milliseconds(250)) {
                let monitor = try await inside(["/usr/sbin/crm_mon", "-1"])
                return Self.ids.allSatisfy { id in
                    monitor.stdout.split(separator: "\n").contains { $0.contains(id) && $0.contains("Started node1") && $0.contains("unmanaged") }
                }
            }
            let before = try await stamps()
            func mode(_ id: String) async throws -> String {
                try await must(["/usr/bin/stat", "-c", "%a", Self.stateFiles[id]!]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let pacemakersMode = try await mode("d1")

            // 3. The CIB taken (status section included, as an admin's `cibadmin -Q` gives it).
            let query = try await must(["/usr/sbin/cibadmin", "--query"])
            let savedCIB = directory + "/pacemaker-cib.xml"
            try query.stdout.write(toFile: savedCIB, atomically: true, encoding: .utf8)

            // 4. pacemakerd stopped (by its pid); the resources keep running.
            let pid = try String(contentsOfFile: pacemaker.directory + "/pacemakerd.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await must(["/bin/kill", "-TERM", pid])
            try await waitUntil("pacemakerd exits", within: Patience.deadline * 2, interval: .milliseconds(250)) {
                pacemaker.exitStatus("pacemakerd") != nil
            }
            #expect(pacemaker.exitStatus("pacemakerd") == 0, "pacemakerd's exit after SIGTERM\n\(logs())")
            let leftovers = try await inside(["/bin/sh", "-c", "ps -e -o comm= | grep -c '^pacemaker' || true"])
            #expect(leftovers.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "no Pacemaker daemon left: \(leftovers.description)")
            let afterStop = try await stamps()
            #expect(afterStop == before, "stopping Pacemaker in maintenance mode touched no state file")

            // 5. baton-crmd in the same namespaces, over the same corosync, on the saved CIB.
            let output = open(crmdLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw TestFailure("cannot open \(crmdLog)") }
            crmd = try Child.spawn(pacemaker.prefix + [BuildPaths.product("baton-crmd"), "--socket", socket, "--cib-dir", directory + "/crmd-cib",
                                                       "--cib", savedCIB], stdout: output, stderr: output)
            close(output)
            func status() async throws -> CommandResult { try await run([Paths.baton, "crm", "status", "--socket", socket]) }
            func cibStatus() async throws -> String {
                let result = try await run([Paths.baton, "crm", "cib", "query", "-o", "status", "--socket", socket])
                return result.status == 0 ? result.stdout : ""
            }
            func operations(_ text: String) -> [String] {
                text.split(separator: "\n").filter { $0.contains("<lrm_rsc_op ") }.map(String.init)
            }
            var lastStatus = ""
            var reattach = Duration.zero
            do {
                reattach = try await waitUntil("baton-crmd is DC and its probes found \(Self.ids) running (rc 0)", within: Patience.deadline * 2,
                                    interval: .milliseconds(250)) {
                    if let exit = crmd?.poll() { throw TestFailure("baton-crmd exited with status \(exit)") }
                    let shown = try await status()
                    lastStatus = shown.description
                    guard shown.status == 0, shown.stdout.contains("Current DC: node1") else { return false }
                    let history = operations(try await cibStatus())
                    return Self.ids.allSatisfy { id in
                        history.contains { $0.contains("operation_key=\"\(id)_monitor_0\"") && $0.contains("rc-code=\"0\"") }
                    }
                }
            } catch {
                throw TestFailure("\(error)\nlast baton crm status: \(lastStatus)\n\(logs())")
            }
            print("baton-crmd started -> DC with every resource probed running: \(reattach)")
            let reattached = try await status()
            print("baton crm status after the reattach, maintenance on:\n\(reattached.stdout)")
            for id in Self.ids { #expect(Self.startedLine(id, in: reattached.stdout), "\(id) Started on node1: \(reattached.stdout)") }
            let afterStart = try await stamps()
            #expect(afterStart == before, "baton-crmd's start in maintenance mode touched no state file")

            // 6. Maintenance off through baton; the recurring monitors start, nothing else.
            let off = try await run([Paths.baton, "crm", "property", "maintenance-mode", "false", "--socket", socket])
            #expect(off.status == 0, "baton crm property maintenance-mode false: \(off.description)")
            let read = try await run([Paths.baton, "crm", "property", "maintenance-mode", "-q", "--socket", socket])
            #expect(read.stdout == "false\n", "baton crm property maintenance-mode -q: \(read.description)")
            do {
                try await waitUntil("every resource's 2 s monitor recorded with rc 0 by baton-crmd", interval: .milliseconds(250)) {
                    let history = operations(try await cibStatus())
                    return Self.ids.allSatisfy { id in
                        history.contains { $0.contains("operation_key=\"\(id)_monitor_2000\"") && $0.contains("rc-code=\"0\"") }
                    }
                }
            } catch {
                throw TestFailure("\(error)\n\(try await cibStatus())\n\(logs())")
            }
            // A few recheck intervals (and many monitor intervals) for anything the DC would do.
            let window = Duration.seconds(3 * Self.recheckSeconds)
            let until = ContinuousClock.now + window
            while ContinuousClock.now < until { try await Task.sleep(for: .milliseconds(250)) }
            let history = operations(try await cibStatus())
            let actions = history.filter { $0.contains("operation=\"start\"") || $0.contains("operation=\"stop\"") }
            #expect(actions.isEmpty, "no start or stop in baton-crmd's history: \(actions)")
            #expect(history.allSatisfy { $0.contains("operation=\"monitor\"") }, "probes and monitors only: \(history)")
            let afterWindow = try await stamps()
            #expect(afterWindow == before, "no state file touched after maintenance ended")
            let managed = try await status()
            print("baton crm status \(window) after maintenance-mode=false:\n\(managed.stdout)")
            for id in Self.ids {
                #expect(Self.startedLine(id, in: managed.stdout) && !managed.stdout.contains("unmanaged"), "\(id) Started and managed: \(managed.stdout)")
            }
            #expect(!managed.stdout.contains("Failed Resource Actions"), "no failed action: \(managed.stdout)")

            // 7. Negative control: d1's state removed by hand -> its monitor fails and baton-crmd
            // starts it again (the probes and monitors are real, not a history replayed).
            _ = try await must(["/bin/rm", Self.stateFiles["d1"]!])
            do {
                let recovery = try await waitUntil("baton-crmd restarted d1 (a new state file, a start in its history)", interval: .milliseconds(250)) {
                    let stamp = try await stamps()["d1"] ?? nil
                    guard let stamp, stamp != before["d1"] ?? nil else { return false }
                    return operations(try await cibStatus()).contains { $0.contains("operation_key=\"d1_start_0\"") && $0.contains("rc-code=\"0\"") }
                }
                print("d1's state file removed -> restarted by baton-crmd (monitor every 2 s): \(recovery)")
            } catch {
                throw TestFailure("\(error)\n\(try await cibStatus())\n\(logs())")
            }
            let after = try await stamps()
            // The agent ran with Pacemaker's umask (0026): its new state file has the mode
            // Pacemaker's run gave it (0640), not a world-readable one.
            let batonsMode = try await mode("d1")
            #expect(batonsMode == pacemakersMode, "d1's state file: mode \(batonsMode) under baton-crmd, \(pacemakersMode) under Pacemaker")
            for id in Self.ids where id != "d1" { #expect(after[id] == before[id], "\(id) untouched by d1's recovery") }
            let recovered = try await status()
            print("baton crm status after d1's recovery:\n\(recovered.stdout)")
            #expect(Self.startedLine("d1", in: recovered.stdout), "d1 Started again: \(recovered.stdout)")
            #expect(crmd?.poll() == nil, "baton-crmd still runs\n\(logs())")

            // 8. The way back (the README's step 7): maintenance on through baton, baton-crmd
            // stopped, pacemakerd started again on its own saved CIB (maintenance-mode=true
            // there), its probes find everything, maintenance off with crm_attribute: nothing
            // started or stopped by either.
            let back = try await run([Paths.baton, "crm", "property", "maintenance-mode", "true", "--socket", socket])
            #expect(back.status == 0, "baton crm property maintenance-mode true: \(back)")
            try await waitUntil("baton crm status shows management disabled", interval: .milliseconds(250)) {
                try await status().stdout.contains("Resource management is DISABLED")
            }
            let beforeBack = try await stamps()
            if let child = crmd {
                // SIGTERM to baton-crmd alone (nsenter's child, by its pid); nsenter exits with
                // its status.
                let children = (try? String(contentsOfFile: "/proc/\(child.pid)/task/\(child.pid)/children", encoding: .utf8)) ?? ""
                let daemon = try #require(children.split(separator: " ").first.flatMap { pid_t($0) }, "baton-crmd's pid under nsenter \(child.pid)")
                kill(daemon, SIGTERM)
                let exit = try await child.finish(within: Patience.deadline, "baton-crmd after SIGTERM")
                #expect(exit == 0, "baton-crmd exits 0 after SIGTERM\n\(logs())")
            }
            let afterBatonStop = try await stamps()
            #expect(afterBatonStop == beforeBack, "stopping baton-crmd in maintenance mode touched no state file")
            let pacemakerAgainLog = directory + "/pacemaker-again.log"
            let againOutput = open(directory + "/pacemakerd-again.out", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard againOutput >= 0 else { throw TestFailure("cannot open pacemakerd-again.out") }
            let pacemakerdAgain = try Child.spawn(pacemaker.prefix + ["/usr/bin/env", "PCMK_logfile=\(pacemakerAgainLog)", "/usr/sbin/pacemakerd"],
                                                  stdout: againOutput, stderr: againOutput)
            close(againOutput)
            defer { pacemakerdAgain.killAndReap() }
            func againLog() -> String {
                ((try? String(contentsOfFile: pacemakerAgainLog, encoding: .utf8)) ?? "(absent)")
                    .split(separator: "\n", omittingEmptySubsequences: false).suffix(40).joined(separator: "\n")
            }
            do {
                try await waitUntil("Pacemaker again: crm_mon shows \(Self.ids) Started node1 (unmanaged)", within: Patience.deadline * 2,
                                    interval: .milliseconds(250)) {
                    if let exit = pacemakerdAgain.poll() { throw TestFailure("pacemakerd exited with status \(exit)") }
                    let monitor = try await inside(["/usr/sbin/crm_mon", "-1"])
                    return Self.ids.allSatisfy { id in
                        monitor.stdout.split(separator: "\n").contains { $0.contains("* \(id)\t") && $0.contains("Started node1 (unmanaged)") }
                    }
                }
            } catch {
                throw TestFailure("\(error)\n--- pacemaker-again.log ---\n\(againLog())")
            }
            _ = try await must(["/usr/sbin/crm_attribute", "--name", "maintenance-mode", "--update", "false"])
            try await waitUntil("Pacemaker again: crm_mon shows \(Self.ids) Started node1, managed", interval: .milliseconds(250)) {
                let monitor = try await inside(["/usr/sbin/crm_mon", "-1"])
                return Self.ids.allSatisfy { Self.startedLine($0, in: monitor.stdout) } && !monitor.stdout.contains("unmanaged")
            }
            let backUntil = ContinuousClock.now + window
            while ContinuousClock.now < backUntil { try await Task.sleep(for: .milliseconds(250)) }
            let afterBack = try await stamps()
            #expect(afterBack == beforeBack, "Pacemaker, back in charge, started or stopped nothing (state files unchanged)")
            let final = try await inside(["/usr/sbin/crm_mon", "-1"])
            print("crm_mon -1 after the way back:\n\(final.stdout)")
            for id in Self.ids { #expect(Self.startedLine(id, in: final.stdout), "\(id) Started under Pacemaker again: \(final.stdout)") }
        }

        /// `baton crm property` without a CIB file acts on the running cluster; with no daemon at
        /// the socket either, it says so, naming the socket and the other way.
        @Test func propertyWithNeitherACIBFileNorADaemonSaysWhichItLacks() async throws {
            if let missing = Requirement.built("baton-full") { throw TestFailure(missing) }
            let directory = try makeTemporaryDirectory("baton-property")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var environment = ProcessInfo.processInfo.environment
            environment["CIB_file"] = nil
            let socket = directory + "/absent.sock"
            let result = try await run([Paths.baton, "crm", "property", "maintenance-mode", "false", "--socket", socket], environment: environment)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("no baton-crmd at \(socket)") && result.stderr.contains("--cib FILE"), "\(result)")
        }

        /// Whether crm_mon's (or `baton crm status`'s) text has RESOURCE started on node1.
        static func startedLine(_ id: String, in text: String) -> Bool {
            text.split(separator: "\n").contains { line in
                line.contains("* \(id)\t") && line.contains("Started node1")
            }
        }
    }
}
