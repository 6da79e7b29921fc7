import ArgumentParser
import Foundation
import GeoSimulation

/// `baton demo`: a geo cluster (two sites and an arbitrator) told in plain words: by default
/// the whole geo cluster (two sites of three corosync nodes with baton-crmd in network
/// namespaces, real resources guarded by a ticket, root needed: `GeoDemo`); with `--loopback`,
/// three batond processes on loopback with file back ends (no corosync, no root); with
/// `--simulated`, the same election code in the deterministic simulator (no processes).
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a geo cluster granting a ticket, losing a site, failing over and moving back.",
        discussion: """
            By default (as root, with corosync, resource-agents and python3 installed): two sites of three nodes each in \
            network namespaces (corosync and baton-crmd per node), a batond per site and an arbitrator, a floating address, \
            a service and a witness guarded by ticket-db; about a minute. --loopback: three batond processes on loopback with \
            file back ends (no root). --simulated: the simulator's story. Run from the repository (it reads sites/, \
            scripts/testbed, scripts/ocf and scripts/make-test-pki), or give --repository.
            """)

    @Flag(help: "Keep the demo's files and print every election message (simulated) or daemon log line (live).") var verbose = false
    @Flag(help: "Run the simulated story instead of real processes.") var simulated = false
    @Flag(help: "Three batond processes on loopback with file back ends (no corosync, no root) instead of the geo cluster.") var loopback = false
    @Option(help: "The Baton repository (for sites/ and scripts/).") var repository = "."

    static let story: [(say: String, script: [String])] = [
        ("Two sites, site-a and site-b, and an arbitrator on a third site start. Ticket ticketA guards a database that may run at one site only. Lease (expire) 10 s, resend timeout 1 s.",
         ["cluster sites=2 arbitrators=1 expire=10s timeout=1s", "start all", "run 2s"]),
        ("The admin grants ticketA to site-a and waits for the answer (baton grant -w ticketA on site-a).",
         ["grant site-a -w", "run 1s", "show"]),
        ("Thirty seconds pass. site-a renews its lease every 5 s; one message per renewal to each member.",
         ["run 30s", "show"]),
        ("site-a dies (power loss). Nobody can reach it. The others wait until their copy of the lease runs out, then site-b acquires the ticket: no random back-off, no duel.",
         ["crash site-a", "run 12s", "show"]),
        ("site-a comes back. It learns from the others that site-b holds the ticket and does not touch it.",
         ["start site-a", "run 2s", "show"]),
        ("Planned switchover back to site-a (baton move ticketA --to site-a): site-b stops what the ticket guards, releases it naming site-a, and site-a acquires it in a few round trips.",
         ["move site-b to site-a -w", "run 1s", "show"]),
        ("site-a loses quorum inside its own cluster. It stops what the ticket guards and releases the ticket at once, so site-b need not wait out the lease.",
         ["quorum site-a lost", "run 1s", "show"]),
        ("The admin revokes the ticket (baton revoke -w ticketA). Nobody holds it; nobody acquires it by itself.",
         ["revoke site-b -w", "run 1s", "show"]),
    ]

    func run() throws {
        if simulated && loopback { throw ValidationError("--simulated and --loopback are two different demos: give one") }
        if loopback {
            do {
                var demo = try LoopbackDemo(repository: URL(fileURLWithPath: repository), verbose: verbose)
                try demo.run()
            } catch let error as LoopbackDemo.DemoError {
                print("demo failed: \(error)")
                throw ExitCode(1)
            }
            return
        }
        guard simulated else {
            do {
                var demo = try GeoDemo(repository: URL(fileURLWithPath: repository), verbose: verbose)
                try demo.run()
            } catch let error as GeoDemo.DemoError {
                print("demo failed: \(error)")
                throw ExitCode(1)
            }
            return
        }
        print("Baton demo: a geo cluster of two sites and an arbitrator (simulated members running the real election code).")
        print("Times are seconds since the members started.\n")
        var script: [String] = []
        var lastLength = 0
        var doubleHolders: [String] = []
        for (number, step) in Demo.story.enumerated() {
            print("\(number + 1). \(step.say)")
            script.append(contentsOf: step.script)
            let (transcript, seen) = try ScriptedCluster.run(script.joined(separator: "\n"))
            doubleHolders = seen
            let lines = transcript.split(separator: "\n").map(String.init)
            for line in lines[lastLength...] where shouldShow(line) {
                print("     \(line.hasPrefix("> ") ? "$ " + line.dropFirst(2) : line)")
            }
            lastLength = lines.count
            print("")
        }
        if doubleHolders.isEmpty {
            print("Checked after every event: at no instant did two sites hold ticketA. The same election code runs")
            print("thousands of simulated fault scenarios in the test suite; baton geo-simulate --seeds 100000 runs more.")
        } else {
            print("SAFETY VIOLATION: \(doubleHolders.joined(separator: "; "))")
            throw ExitCode(1)
        }
    }

    func shouldShow(_ line: String) -> Bool {
        if line.hasPrefix("> ") {
            return !line.hasPrefix("> run") && !line.hasPrefix("> cluster") && !line.hasPrefix("> show") && !line.hasPrefix("> start")
        }
        if verbose { return true }
        let keep = ["GRANTED", "REVOKED in the CIB (", "reply:", "became leader", "lease of", "crashed", "started", "released",
                    "quorum", "ticketA:"]
        if line.contains("not-held-at-startup") { return false }
        return keep.contains { line.contains($0) }
    }
}
