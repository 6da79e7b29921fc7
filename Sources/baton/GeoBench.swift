import ArgumentParser
import BatonConfig
import CIB
import ChildProcess
import Foundation
import WitnessCheck

#if canImport(Glibc)
import Glibc
#endif

/// `baton geo-bench` (issue 15's benchmark, `make geo-bench`): the demo's geo bed (`GeoBed`) once
/// per configuration, each site's group `db` made of N ocf:baton:Witness primitives guarded by
/// ticket-db, and the figures side by side with booth's (../shared/design/TICKETS.md): planned
/// moves of N = 1, 10, 100 resources; site loss (power-off of the holder's three nodes);
/// partition of the holder; and moves and partitions again with every frame between the sites
/// (and between a site and the arbitrator) lost 5 %, delayed 20 ± 10 ms (so reordered) by the
/// impairing switch (this kernel has no netem; frames inside a site pass unimpaired). Every
/// figure comes from the witness journal (CLOCK_MONOTONIC) and the instant the command or fault
/// was made; the arithmetic is `GeoBenchFigures` (WitnessCheck, pure). A gap ≤ 0 or a witness
/// violation is a safety failure: the command exits 1.
struct GeoBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geo-bench",
        abstract: "Benchmark the geo cluster: planned moves of N resources, site loss, partitions, the safety gap (root).",
        discussion: """
            Builds the demo's bed (two sites of three corosync nodes with baton-crmd, a batond per site, the arbitrator) \
            once per configuration: N = 1, 10, 100 witnesses in the guarded group, and N = 1 behind a switch that loses 5 % \
            of the frames between sites and delays them 20 ± 10 ms. Prints min / median / max per figure beside booth's figures, and \
            exits 1 if the new site ever started before the old one's last stop (or a configuration could not finish). Several minutes; --quick: N = 1, one \
            run per row. Needs what `make demo` installs, and baton-impair built next to baton.
            """)

    @Flag(help: "Smoke run: N = 1 only, one repetition per row.") var quick = false
    @Option(help: "Planned moves per N (default 5, quick 1).") var moves: Int?
    @Option(help: "Site losses and partitions each (default 3, quick 1).") var faults: Int?
    @Option(help: "Sizes of the guarded group, comma-separated (default 1,10,100; quick 1).") var sizes: String?
    @Flag(help: "Skip the impaired-link configuration.") var noImpaired = false
    @Flag(help: "Only the impaired-link configuration.") var impairedOnly = false
    @Option(help: "The Baton repository (for sites/ and scripts/).") var repository = "."
    @Flag(help: "Print every step of the beds and keep their files.") var verbose = false

    func run() throws {
        let counts = try (sizes ?? (quick ? "1" : "1,10,100")).split(separator: ",").map { text -> Int in
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), (1...999).contains(count) else {
                throw ValidationError("--sizes: '\(text)' is not a group size 1...999")
            }
            return count
        }
        if noImpaired && impairedOnly { throw ValidationError("--no-impaired and --impaired-only exclude each other") }
        let plan = GeoBench.Plan(sizes: impairedOnly ? [] : counts, moves: moves ?? (quick ? 1 : 5), faults: faults ?? (quick ? 1 : 3),
                                 impaired: !noImpaired)
        guard plan.moves >= 1, plan.faults >= 0 else { throw ValidationError("--moves must be ≥ 1 and --faults ≥ 0") }
        var bench = GeoBench(repository: URL(fileURLWithPath: repository), verbose: verbose, plan: plan)
        do {
            try bench.run()
        } catch let error as GeoBed.DemoError {
            print("geo-bench failed: \(error)")
            throw ExitCode(1)
        }
        if !bench.safe || !bench.failures.isEmpty { throw ExitCode(1) }
    }
}

struct GeoBench {
    struct Plan {
        let sizes: [Int]
        let moves: Int
        let faults: Int
        let impaired: Bool
    }

    struct SiteLoss {
        let move: SiteMove
        let leaseLeft: Double
    }

    let repository: URL
    let verbose: Bool
    let plan: Plan
    var movesBySize: [Int: [SiteMove]] = [:]
    var losses: [SiteLoss] = []
    var partitions: [SiteMove] = []
    var impairedMoves: [SiteMove] = []
    var impairedPartitions: [SiteMove] = []
    var violations: [String] = []
    /// Configurations that could not finish (a command failed, a wait timed out): not a safety
    /// failure, but the bench exits 1 and says which.
    var failures: [String] = []
    /// `baton move -w` answers other than success whose handover the journal still shows done.
    var refusals: [String] = []
    var acquireAfter = 0.0
    var safe = true
    /// 5 % loss, 20 ± 10 ms: netem's usual "lossy WAN" example.
    static let impairment = ["0.05", "20", "10"]
    let started = Date()

    init(repository: URL, verbose: Bool, plan: Plan) {
        self.repository = repository
        self.verbose = verbose
        self.plan = plan
    }

    /// Every configuration; the table of what was measured also when a later one fails.
    mutating func run() throws {
        GeoBed.catchSignals()
        say("geo-bench: \((plan.sizes.map { "N=\($0)" } + (plan.impaired ? ["N=1 on impaired links"] : [])).joined(separator: ", ")); "
            + "\(plan.moves) planned moves per N, \(plan.faults) site losses (N=\(plan.sizes.first ?? 1)) and \(plan.faults) partitions per bed.")
        do {
            try measure()
        } catch {
            report()
            throw error
        }
        report()
    }

    mutating func measure() throws {
        for (index, size) in plan.sizes.enumerated() {
            violations += try attempt("N=\(size)") { this in
                try Self.withBed(repository: this.repository, verbose: this.verbose, started: this.started, name: "geobench-\(size)", size: size,
                                 impairSwitch: nil) { bed in
                    try this.sizeRuns(bed: &bed, size: size, first: index == 0)
                }
            }
        }
        if plan.impaired {
            violations += try attempt("impaired links") { this in
                try Self.withBed(repository: this.repository, verbose: this.verbose, started: this.started, name: "geobench-impaired", size: 1,
                                 impairSwitch: executableDirectory() + "/baton-impair") { bed in
                    try this.impairedRuns(bed: &bed)
                }
            }
        }
    }

    /// `body`'s violations; a failure other than an interruption is recorded and the next
    /// configuration runs.
    mutating func attempt(_ what: String, _ body: (inout GeoBench) throws -> [String]) throws -> [String] {
        do {
            return try body(&self)
        } catch let error as BedFailed {
            if geoDemoInterrupted != 0 { throw error.cause }
            failures.append("\(what): \(error.cause)")
            Self.say("   FAILED (\(what)): \(error.cause)")
            return error.violations
        } catch {
            if geoDemoInterrupted != 0 { throw error }
            failures.append("\(what): \(error)")
            Self.say("   FAILED (\(what)): \(error)")
            return []
        }
    }

    /// A bed whose runs failed, with the witness's verdict on what it did run.
    struct BedFailed: Error {
        let cause: Error
        let violations: [String]
    }

    mutating func sizeRuns(bed: inout GeoBed, size: Int, first: Bool) throws {
        acquireAfter = Self.acquireAfter(bed)
        try Self.moves(bed: &bed, count: plan.moves, into: &movesBySize[size, default: []], refusals: &refusals)
        guard first else { return }
        for _ in 0..<plan.faults {
            let loss = try Self.siteLoss(bed: &bed)
            losses.append(loss)
        }
        for _ in 0..<plan.faults {
            let move = try Self.partition(bed: &bed)
            partitions.append(move)
        }
    }

    mutating func impairedRuns(bed: inout GeoBed) throws {
        try bed.testbedCommand(["impair"] + Self.impairment)
        Self.say("   links between the sites impaired: loss \(Self.impairment[0]), delay \(Self.impairment[1]) ± \(Self.impairment[2]) ms")
        try Self.moves(bed: &bed, count: plan.moves, into: &impairedMoves, refusals: &refusals)
        for _ in 0..<plan.faults {
            let move = try Self.partition(bed: &bed)
            impairedPartitions.append(move)
        }
    }

    // MARK: - One bed

    /// A bed with `size` witnesses, up, ticket-db granted to site-a and every witness started
    /// there; `body`; everything torn down. Returns the witness's violations on the whole journal.
    static func withBed(repository: URL, verbose: Bool, started: Date, name: String, size: Int, impairSwitch: String?,
                        _ body: (inout GeoBed) throws -> Void) throws -> [String] {
        var bed = try GeoBed(repository: repository, verbose: verbose, name: name, guarded: .witnesses(size), impairSwitch: impairSwitch)
        bed.echo = verbose
        try? FileManager.default.removeItem(at: bed.directory)
        try FileManager.default.createDirectory(at: bed.directory, withIntermediateDirectories: true)
        defer { bed.cleanUp() }
        let began = Date()
        try bed.prepareFiles()
        bed.bedCreated = true
        try bed.testbedCommand(["up", "--sites", "3,3"] + (impairSwitch.map { ["--impair-switch", $0] } ?? []))
        for site in GeoBed.sites.keys.sorted() {
            for node in GeoBed.sites[site]! { try bed.startCrmd(node) }
            try bed.waitForDC(site)
        }
        for member in ["site-a", "site-b", "arbitrator"] { try bed.startBatond(member) }
        try bed.waitUntil("every batond connected to its two peers", timeout: 60) {
            ["site-a", "site-b", "arbitrator"].allSatisfy { member in (try? bed.cli(["peers"], as: member).output.components(separatedBy: ", connected").count) == 3 }
        }
        try bed.retryGrant()
        try Self.waitAllStarted(bed: bed, at: "site-a", timeout: 120 + Double(size))
        say("\n[\(String(format: "%.1f", Date().timeIntervalSince(started)))] bed \(name) (N=\(size)\(impairSwitch == nil ? "" : ", impaired links")): up, granted and started at site-a "
            + "in \(GeoBenchFigures.seconds(Date().timeIntervalSince(began))) s")
        var failure: Error?
        do {
            try body(&bed)
        } catch {
            failure = error
        }
        let verdict = bed.journal.violations
        say("   witness (\(name)): \(verdict.isEmpty ? "never active at two sites at once" : "TRIPPED \(verdict.count) times")")
        bed.finished = verdict.isEmpty && failure == nil
        if let failure { throw BedFailed(cause: failure, violations: verdict.map { "\(name): \($0)" }) }
        return verdict.map { "\(name): \($0)" }
    }

    /// ticket-db's acquire-after in the bed's configuration (seconds).
    static func acquireAfter(_ bed: GeoBed) -> Double {
        guard let loaded = try? BatonConfigurationParser.load(path: bed.configPath("site-a")),
              let ticket = loaded.configuration.tickets.first(where: { $0.name == "ticket-db" }) else { return .nan }
        return Double(ticket.acquireAfter.components.seconds) + Double(ticket.acquireAfter.components.attoseconds) / 1e18
    }

    static func waitAllStarted(bed: GeoBed, at site: String, timeout: Double) throws {
        try bed.waitUntil("all \(bed.guarded.instances.count) witnesses active at \(site) only", timeout: timeout) {
            let active = bed.journal.active
            return bed.guarded.instances.allSatisfy { (active[$0] ?? []).map(GeoBed.siteOf) == [site] }
        }
    }

    /// Who holds ticket-db, as the holder's own site sees it (site-a after the grant).
    static func holderSite(_ bed: GeoBed) -> String {
        bed.activeSites.count == 1 ? bed.activeSites.first! : "site-a"
    }

    static func other(_ site: String) -> String { site == "site-a" ? "site-b" : "site-a" }

    /// Waits until the journal has the whole move after `since` and returns it.
    static func awaitMove(bed: GeoBed, since: Double, from: String, to: String, timeout: Double) throws -> SiteMove {
        var move: SiteMove?
        var missing = ""
        do {
            try bed.waitUntil("the move \(from) → \(to)", timeout: timeout) {
                do {
                    move = try GeoBenchFigures.move(bed.journal, after: since, from: from, to: to,
                                                    instances: Set(bed.guarded.instances), site: GeoBed.siteOf)
                    return true
                } catch {
                    missing = "\(error)"
                    return false
                }
            }
        } catch {
            throw GeoBed.DemoError(description: "\(error) (\(missing))")
        }
        return move!
    }

    // MARK: - The runs

    /// `count` planned moves, back and forth: `baton move ticket-db --to OTHER -w` at the holder.
    /// A move whose command fails is still timed from the journal (the handover may go on after
    /// the command's answer); the answer is kept in `refusals`.
    static func moves(bed: inout GeoBed, count: Int, into result: inout [SiteMove], refusals: inout [String]) throws {
        for run in 1...count {
            let from = holderSite(bed)
            let to = Self.other(from)
            let recordedBefore = Self.recordedOperations(bed)
            let since = bed.monotonicNow()
            let command = try bed.cli(["move", "ticket-db", "--to", to, "-w"], as: from)
            if command.status != 0 {
                let answer = "N=\(bed.guarded.instances.count), move \(run): `baton move ticket-db --to \(to) -w` at \(from) exited \(command.status) after "
                    + "\(GeoBenchFigures.seconds(bed.monotonicNow() - since)) s: \(command.output.trimmingCharacters(in: .whitespacesAndNewlines))"
                say("   " + answer + " (waiting for the handover in the journal all the same)")
                refusals.append(answer)
            }
            var move = try awaitMove(bed: bed, since: since, from: from, to: to, timeout: 60 + Double(bed.guarded.instances.count))
            // The agents' processes as the executors timed them, once both sites' CIBs hold
            // every result (a little after the journal's last line). Each poll queries both
            // sites' whole CIBs: every 250 ms, not the journal's 50.
            try? bed.waitUntil("the move's operations in both sites' CIBs", timeout: 20, interval: 250_000) {
                move.processWork = GeoBenchFigures.processWork(before: recordedBefore, after: Self.recordedOperations(bed),
                                                               instances: Set(bed.guarded.instances), from: from, to: to, site: GeoBed.siteOf)
                return move.processWork != nil
            }
            say("   move \(run)/\(count) \(from) → \(to): \(describe(move))")
            result.append(move)
            try bed.waitUntil("\(from)'s batond sees \(to) holding ticket-db", timeout: 60) { bed.holder(at: from) == to }
        }
    }

    /// The holder's three nodes lose power; the other site acquires at its view of the lease's
    /// end and starts the group. Then the lost site comes back (and starts nothing).
    static func siteLoss(bed: inout GeoBed) throws -> SiteLoss {
        let from = holderSite(bed)
        let to = Self.other(from)
        let leaseLeft = bed.leaseRemaining(at: to) ?? .nan
        let since = bed.monotonicNow()
        for node in GeoBed.sites[from]! { try bed.powerOff(node) }
        let move = try awaitMove(bed: bed, since: since, from: from, to: to, timeout: Double(GeoBed.lease) * 3 + 60)
        say("   power-off of \(from): \(describe(move)); lease left at the kill \(GeoBenchFigures.seconds(leaseLeft)) s")
        for node in GeoBed.sites[from]! { try bed.testbedCommand(["power-on", String(node)]) }
        for node in GeoBed.sites[from]! { try bed.startCrmd(node) }
        try bed.waitForDC(from)
        try bed.startBatond(from)
        try bed.waitUntil("\(from)'s batond knows \(to) holds ticket-db", timeout: 60) { bed.holder(at: from) == to }
        return SiteLoss(move: move, leaseLeft: leaseLeft)
    }

    /// The holder's nodes cut off from the other site and the arbitrator: it must stop the group
    /// before its lease ends; the other site starts it after its own view of the lease.
    static func partition(bed: inout GeoBed) throws -> SiteMove {
        let from = holderSite(bed)
        let to = Self.other(from)
        let nodes = GeoBed.sites[from]!.map(String.init)
        let since = bed.monotonicNow()
        try bed.testbedCommand(["partition"] + nodes)
        let move = try awaitMove(bed: bed, since: since, from: from, to: to, timeout: Double(GeoBed.lease) * 3 + 60)
        say("   partition of \(from): stopped \(GeoBenchFigures.seconds(move.lastStopAt - since)) s after the cut, "
            + "\(to) started \(GeoBenchFigures.seconds(move.firstStartAt - since)) s after it; \(describe(move))")
        try bed.testbedCommand(["unpartition"] + nodes)
        try bed.waitUntil("\(from)'s batond sees \(to) holding ticket-db", timeout: 60) { bed.holder(at: from) == to }
        return move
    }

    /// Every lrm_rsc_op of both sites' CIBs (`baton crm cib query` on the first node of each
    /// site that answers): node, resource, operation, call-id, exec-time.
    static func recordedOperations(_ bed: GeoBed) -> Set<RecordedOperation> {
        var found: Set<RecordedOperation> = []
        for site in GeoBed.sites.keys.sorted() {
            for node in GeoBed.sites[site]! {
                guard let run = try? ChildRun(bed.baton, ["crm", "cib", "query", "--socket", bed.crmdSocket(node)], captureOutput: true,
                                              outputLimit: 1 << 24),
                      run.exitCode == 0, let root = try? XMLCodec.parse(run.output) else { continue }
                for state in root.children(named: "status").flatMap({ $0.children(named: "node_state") }) {
                    guard let uname = state["uname"] else { continue }
                    let resources = state.children(named: "lrm").flatMap { $0.children(named: "lrm_resources") }.flatMap { $0.children(named: "lrm_resource") }
                    for resource in resources {
                        guard let id = resource["id"] else { continue }
                        for op in resource.children where op.name == "lrm_rsc_op" {
                            guard let operation = op["operation"], let call = op["call-id"].flatMap({ Int($0) }),
                                  let exec = op["exec-time"].flatMap({ Int($0) }) else { continue }
                            found.insert(RecordedOperation(node: uname, resource: id, operation: operation, callID: call, execMilliseconds: exec))
                        }
                    }
                }
                break
            }
        }
        return found
    }

    static func describe(_ move: SiteMove) -> String {
        "total \(GeoBenchFigures.seconds(move.total)) s = gap \(GeoBenchFigures.seconds(move.gap)) + stops \(GeoBenchFigures.seconds(move.stopWork))"
            + " + starts \(GeoBenchFigures.seconds(move.startWork)) + rest \(GeoBenchFigures.seconds(move.overhead))"
            + (move.processWork.map { "; agents' processes (exec-time) \(GeoBenchFigures.seconds($0)) s" } ?? "")
            + (move.processOverhead.map { ", rest beyond them \(GeoBenchFigures.seconds($0))" } ?? "")
    }

    // MARK: - The table

    mutating func report() {
        func spread(_ values: [Double]) -> String { Spread(values)?.text ?? "-" }
        func met(_ flags: [Bool]) -> String { flags.isEmpty ? "-" : flags.allSatisfy { $0 } ? "met (\(flags.count)/\(flags.count))" : "MISSED \(flags.filter { !$0 }.count)/\(flags.count)" }
        var rows: [[String]] = [["", "min / median / max (s)", "target", "verdict", "booth (TICKETS.md)"]]
        for size in plan.sizes {
            let moves = movesBySize[size] ?? []
            // The agents' time is their processes' (exec-time, fork → exit, as Pacemaker records
            // an operation's); where a CIB could not be read, the journal's begin → end.
            let agents = moves.map { $0.processWork ?? ($0.stopWork + $0.startWork) }
            rows.append(["planned move, N=\(size): command → all started", spread(moves.map(\.total)),
                         "≤ handover + agents + 0.2", met(zip(moves, agents).map { $0.total <= $0.gap + $1 + 0.2 }),
                         size == 1 ? "no move: revoke, then grant -w (55–78 ms)" : ""])
            rows.append(["  handover (old's last stop → new's first start)", spread(moves.map(\.gap)), "", "", ""])
            rows.append(["  agents' processes (Σ exec-time: fork → exit)", spread(moves.compactMap(\.processWork)), "", "", ""])
            rows.append(["  inside them (Σ journal begin → end)", spread(moves.map { $0.stopWork + $0.startWork }), "", "", ""])
            rows.append(["  the rest (scheduling and messages)", spread(zip(moves, agents).map { $0.total - $0.gap - $1 }), "≤ 0.2", "", ""])
        }
        if !losses.isEmpty {
            rows.append(["site loss: power-off → all started at the other", spread(losses.map(\.move.total)),
                         "≤ lease left + acquire-after + starts + 0.5",
                         met(losses.map { $0.move.total <= $0.leaseLeft + acquireAfter + $0.move.startWork + 0.5 }),
                         "kill -9, expire 10: new leader 6.4–10.2 s (ticket only)"])
            rows.append(["  lease left at the kill (other site's view)", spread(losses.map(\.leaseLeft)), "", "", ""])
            rows.append(["  acquire-after", GeoBenchFigures.seconds(acquireAfter), "", "", "acquire-after 5: 13.9–15.9 s"])
            rows.append(["  agents' starts (Σ)", spread(losses.map(\.move.startWork)), "", "", ""])
            rows.append(["  beyond lease left + acquire-after + starts", spread(losses.map { $0.move.total - $0.leaseLeft - acquireAfter - $0.move.startWork }), "≤ 0.5", "", ""])
        }
        if !partitions.isEmpty {
            rows.append(["partition: cut → old site stopped", spread(partitions.map { $0.lastStopAt - $0.commandAt }), "", "",
                         "holder revokes its CIB at 9.32 s"])
            rows.append(["partition: cut → other site started", spread(partitions.map { $0.firstStartAt - $0.commandAt }), "", "",
                         "other site granted at 9.42 s"])
        }
        if !impairedMoves.isEmpty {
            rows.append(["impaired links: planned move, N=1", spread(impairedMoves.map(\.total)), "", "", ""])
        }
        if !impairedPartitions.isEmpty {
            rows.append(["impaired links: partition → other started", spread(impairedPartitions.map { $0.firstStartAt - $0.commandAt }), "", "", ""])
        }
        let gapRows: [(what: String, moves: [SiteMove])] = plan.sizes.map { ("planned move N=\($0)", movesBySize[$0] ?? []) }
            + [("power-off", losses.map(\.move)), ("partition", partitions),
               ("impaired: planned move", impairedMoves), ("impaired: partition", impairedPartitions)]
        for row in gapRows where !row.moves.isEmpty {
            rows.append(["safety gap: \(row.what)", spread(row.moves.map(\.gap)), "> 0",
                         row.moves.allSatisfy { $0.gap > 0 } ? "safe" : "UNSAFE", row.what == "partition" ? "0.10 (ticket level)" : ""])
        }
        let impairment = "loss \(Self.impairment[0]), \(Self.impairment[1]) ± \(Self.impairment[2]) ms on every frame between sites"
        say("\nFigures (release build: \(isReleaseBuild ? "yes" : "no, a debug build"); impaired = \(impairment); "
            + "booth's figures are ticket-level, measured without resources):\n")
        say(GeoBenchFigures.table(rows))
        let unsafe = GeoBenchFigures.unsafeGaps(gapRows)
        safe = unsafe.isEmpty && violations.isEmpty
        if safe {
            say("\nSafe: every gap measured > 0, the witness never saw a resource at two sites at once. Total \(elapsed) s.")
        } else {
            say("\nSAFETY FAILURE:\n" + (unsafe + violations).prefix(30).map { "   " + $0 }.joined(separator: "\n"))
        }
        if !refusals.isEmpty {
            say("\nThe move command failed, the handover still completed (timed above):\n" + refusals.map { "   " + $0 }.joined(separator: "\n"))
        }
        if !failures.isEmpty {
            say("\nNOT FINISHED (their rows have fewer runs or none):\n" + failures.map { "   " + $0 }.joined(separator: "\n"))
        }
    }

    var isReleaseBuild: Bool { executableDirectory().hasSuffix("/release") }
    var elapsed: String { String(format: "%.1f", Date().timeIntervalSince(started)) }

    func say(_ text: String) { Self.say(text) }
    static func say(_ text: String) {
        print(text)
        fflush(nil)
    }
}
