import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A single-node Corosync + Pacemaker in private network, mount and pid namespaces (tmpfs over
/// /run, /dev/shm, /var/lib/pacemaker, /var/lib/corosync, /var/log/pacemaker, /etc/corosync),
/// as TESTBED.md describes. The namespace's pid 1 is a small shell; killing it ends everything
/// inside, so nothing outlives the test.
final class PrivatePacemaker: @unchecked Sendable {
    // @unchecked Sendable: one test drives it from one task at a time.
    let directory: String
    let unshare: Child
    private(set) var namespacePID: pid_t = 0

    static let script = """
        #!/bin/bash
        # pid 1 of private net/mount/pid namespaces: a one-node corosync, then pacemakerd.
        # Each daemon's exit status lands in DIR/NAME.exit, so a failed start is seen at once.
        set -eu
        dir=$1 transport=$2
        ip link set lo up
        for d in /run /dev/shm /var/lib/pacemaker /var/lib/corosync /var/log/pacemaker /var/log/cluster /etc/corosync; do
          mkdir -p "$d"; mount -t tmpfs tmpfs "$d"
        done
        mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores /run/crm
        chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker /run/crm
        chmod 750 /var/lib/pacemaker/*
        cat > /etc/corosync/corosync.conf <<CONF
        totem {
          version: 2
          cluster_name: baton-e2e
          transport: $transport
          crypto_cipher: none
          crypto_hash: none
        }
        nodelist {
          node {
            ring0_addr: 127.0.0.1
            name: node1
            nodeid: 1
          }
        }
        quorum {
          provider: corosync_votequorum
        }
        logging {
          to_stderr: yes
          to_syslog: no
          to_logfile: no
        }
        CONF
        (set +e; corosync -f > "$dir/corosync.log" 2>&1; echo $? > "$dir/corosync.exit") &
        until corosync-quorumtool -s >/dev/null 2>&1 || [ -e "$dir/corosync.exit" ]; do sleep 0.1; done
        # pacemakerd's pid (in the namespace) in DIR/pacemakerd.pid, for a test that stops it alone.
        (set +e; PCMK_logfile="$dir/pacemaker.log" pacemakerd > "$dir/pacemakerd.out" 2>&1 & echo $! > "$dir/pacemakerd.pid"; wait $!; echo $? > "$dir/pacemakerd.exit") &
        echo started > "$dir/namespace-started"
        while true; do sleep 1; done
        """

    /// Why Pacemaker cannot run here, or nil.
    static func missing() -> String? {
        var reasons: [String] = []
        if getuid() != 0 { reasons.append("not root (private namespaces and mounts need CAP_SYS_ADMIN)") }
        for binary in ["/usr/sbin/corosync", "/usr/sbin/pacemakerd", "/usr/sbin/crm_ticket", "/usr/bin/unshare", "/usr/bin/nsenter"]
        where !FileManager.default.isExecutableFile(atPath: binary) {
            reasons.append("no \(binary)")
        }
        if getpwnam("hacluster") == nil { reasons.append("no hacluster user (apt-get install pacemaker)") }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// `transport`: corosync's totem transport (`knet`; anything else makes a start that fails,
    /// for the test of the failure message).
    init(directory: String, transport: String = "knet") throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/namespace.sh"
        try PrivatePacemaker.script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        let log = open(directory + "/namespace.out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(log) }
        // Run by bash, not exec'd: a child another test spawns at the instant the script is
        // written holds its descriptor until its own exec, and unshare's exec of the script then
        // failed "Text file busy" (seen once in a parallel run); bash only reads it.
        unshare = try Child.spawn(["/usr/bin/unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc", "/bin/bash", path, directory, transport],
                                  stdout: log, stderr: log)
    }

    /// Waits until the namespace's pid 1 exists and `crm_ticket -l` answers inside; fails at
    /// once when pacemakerd has exited. The error carries the daemons' logs (`log()`).
    func start() async throws {
        do {
            try await waitReady()
        } catch {
            throw TestFailure("Pacemaker did not start in private namespaces: \(error)\n\(log())")
        }
    }

    private func waitReady() async throws {
        try await waitUntil("the namespace's pid 1") {
            let children = (try? String(contentsOfFile: "/proc/\(unshare.pid)/task/\(unshare.pid)/children", encoding: .utf8)) ?? ""
            guard let pid = children.split(separator: " ").first.flatMap({ pid_t($0) }) else { return false }
            namespacePID = pid
            return true
        }
        try await waitUntil("Pacemaker's CIB answers crm_ticket -l", interval: .milliseconds(250)) {
            if let status = exitStatus("pacemakerd") { throw TestFailure("pacemakerd exited with status \(status)") }
            return try await run(prefix + ["/usr/sbin/crm_ticket", "-l"], timeLimit: Patience.deadline).status == 0
        }
    }

    /// `nsenter` into the namespace's network, mounts and pids. The pid namespace too: the
    /// namespace's /proc (--mount-proc) has no /proc/self for an outside process, and Swift
    /// reads its command line from there (batond would see no arguments). nsenter then forks,
    /// so the pid a test holds is nsenter's; whatever runs inside dies with the namespace's
    /// pid 1 (`stop()`).
    /// `--root --wd`: keep the namespace's pid 1's root and working directory (entering a mount
    /// namespace resets both to the namespace's `/`): under chroot-based CI the test's paths
    /// only exist inside the chroot, and relative paths resolve as they do outside.
    var prefix: [String] { ["/usr/bin/nsenter", "-t", "\(namespacePID)", "-n", "-m", "-p", "--root", "--wd", "--"] }

    /// A daemon's exit status, once the namespace script recorded it (NAME.exit).
    func exitStatus(_ daemon: String) -> Int? {
        (try? String(contentsOfFile: "\(directory)/\(daemon).exit", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Kills the namespace's pid 1 (the kernel then kills everything inside) and reaps unshare.
    func stop() {
        if namespacePID > 0 { kill(namespacePID, SIGKILL) }
        let deadline = ContinuousClock.now + Patience.slack
        while unshare.poll() == nil && ContinuousClock.now < deadline { usleep(20_000) }
        unshare.killAndReap()
    }

    /// The tails of what the namespace's daemons wrote: Pacemaker's own log (pacemaker.log,
    /// where pacemakerd and its children say why they stopped), corosync's, and their exits.
    func log(lines: Int = 40) -> String {
        ["namespace.out", "corosync.log", "corosync.exit", "pacemakerd.out", "pacemaker.log", "pacemakerd.exit"].map { name in
            let text = (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "(absent)\n"
            return "--- \(name) ---\n" + text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

extension EndToEnd {
    @Suite struct Pacemaker {
        /// Issue 3, test 10: site-a's batond drives a real Pacemaker with `--back-end pacemaker`;
        /// every member runs inside the same private namespaces on 127.0.0.x.
        @Test func pacemakerBackEnd() async throws {
            if let missing = PrivatePacemaker.missing() {
                print("SKIPPING the Pacemaker back-end test: \(missing)")
                return
            }
            try await withCluster(members: twoSitesAndArbitrator, tickets: shortTicket, start: false) { cluster in
                let pacemaker = try PrivatePacemaker(directory: cluster.directory + "/pacemaker")
                // Runs after the cluster's defer (declared later, runs first): daemons go first.
                defer { pacemaker.stop() }
                try await pacemaker.start()
                // nsenter keeps the working directory (and root) of the namespace's pid 1, which
                // is this test process's: without --wd it would be the namespace's `/`.
                let workingDirectory = try await run(pacemaker.prefix + ["/bin/pwd"])
                #expect(workingDirectory.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == FileManager.default.currentDirectoryPath,
                        "\(workingDirectory)")
                cluster.commandPrefix = pacemaker.prefix
                cluster.extraArguments["site-a"] = ["--back-end", "pacemaker"]
                try cluster.startAll()
                defer { cluster.stopAll() }
                try await cluster.waitReady()

                func crmTicket(_ arguments: [String]) async throws -> CommandResult {
                    try await run(pacemaker.prefix + ["/usr/sbin/crm_ticket"] + arguments)
                }
                let started = ContinuousClock.now
                let grant = try await cluster.grant("ticketA", at: "site-a")
                let latency = ContinuousClock.now - started
                #expect(grant.status == 0 && grant.stdout.contains("grant succeeded!"), "\(grant)")
                print("grant -w with the pacemaker back end (real crm_ticket writes): \(format(latency))")
                // The back end runs crm_ticket once per attribute, as booth does (--grant, then
                // owner, term, expires): wait for the whole state, not the first write of it.
                var xml = CommandResult(status: -1, stdout: "", stderr: "")
                try await waitUntil("crm_ticket shows ticketA granted with booth's attributes", interval: .milliseconds(200)) {
                    xml = try await crmTicket(["--ticket", "ticketA", "--query-xml"])
                    return ["granted=\"true\"", "owner=\"site-a\"", "term=", "expires="].allSatisfy(xml.stdout.contains)
                }
                let details = try await crmTicket(["-L"])
                print("crm_ticket -L after the grant: \(details.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
                #expect(details.stdout.contains("ticketA\tgranted"), "\(details)")
                #expect(xml.stdout.contains("owner=\"site-a\""), "\(xml)")
                // Issue 10, point 3: expires follows the renewals (it was written only at the grant).
                func expires() async throws -> Int {
                    Int(try await crmTicket(["--ticket", "ticketA", "--get-attr", "expires"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                }
                let expiresAtGrant = try await expires()
                try await waitUntil("crm_ticket's expires moves past the grant's", interval: .milliseconds(500)) {
                    try await expires() >= expiresAtGrant + 2
                }

                let revoke = try await cluster.baton(["revoke", "-w", "ticketA"], at: "site-a")
                #expect(revoke.status == 0, "\(revoke)")
                try await waitUntil("crm_ticket shows ticketA revoked", interval: .milliseconds(200)) {
                    try await crmTicket(["--ticket", "ticketA", "--get-attr", "granted"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "false"
                }
                let after = try await crmTicket(["-L"])
                print("crm_ticket -L after the revoke: \(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
                #expect(after.stdout.contains("ticketA\trevoked"), "\(after)")
            }
        }

        /// A Pacemaker that fails to start (here: corosync refuses its configuration, so
        /// pacemakerd cannot reach it and exits) fails the test at once, and the failure says
        /// why in the daemons' own words: the tails of pacemaker.log and corosync's log.
        @Test func aFailedStartShowsPacemakersAndCorosyncsLogs() async throws {
            if let missing = PrivatePacemaker.missing() {
                print("SKIPPING the Pacemaker start-failure test: \(missing)")
                return
            }
            let directory = "/tmp/baton-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let pacemaker = try PrivatePacemaker(directory: directory + "/pacemaker", transport: "no-such-transport")
            defer { pacemaker.stop() }
            do {
                try await pacemaker.start()
                Issue.record("Pacemaker started on a corosync that refused its configuration")
            } catch {
                let message = "\(error)"
                #expect(message.contains("pacemakerd exited with status"), "\(message)")
                for file in ["pacemaker.log", "corosync.log"] {
                    let text = try String(contentsOfFile: pacemaker.directory + "/" + file, encoding: .utf8)
                    let last = try #require(text.split(separator: "\n").last, "\(file) is empty")
                    #expect(message.contains("--- \(file) ---") && message.contains(last), "the failure does not show \(file)'s last line \(last.debugDescription): \(message)")
                }
            }
        }
    }
}
