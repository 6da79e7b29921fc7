import ArgumentParser
import ChildProcess
import CIB
import Foundation
import Glibc
import Scheduler

/// `baton scheduler-benchmark`: times the scheduler on a synthetic steady-state CIB (N nodes x R Dummy
/// resources, one location preference each, a colocation and an order per ten resources,
/// every resource probed on every node) and, with --compare, crm_simulate -R -Q on the same file.
///
/// Our side runs in a child process (this binary again, with the hidden --measure option), so
/// that its peak memory is its own, as crm_simulate's is: both are the ru_maxrss wait4 reports.
struct BenchmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler-benchmark",
        abstract: "Time the scheduler on a synthetic cluster, optionally against crm_simulate.",
        discussion: """
            One size: --nodes, --resources, --node-down, --compare. The whole table of issue 5
            (8x200, 16x500, 32x1000, 32x2000, 32x4000, each steady and with a node down, against
            crm_simulate, with peak memory and growth): --table [--max-resources R]. Our growth
            from 1000 to 4000 resources, the sizes taking turns: --growth [--rounds N].
            """)

    /// The sizes of the table (nodes, resources).
    static let tableSizes = [(8, 200), (16, 500), (32, 1000), (32, 2000), (32, 4000)]
    static let crmSimulatePath = "/usr/sbin/crm_simulate"

    @Option(help: "Number of nodes.") var nodes: Int = 8
    @Option(help: "Number of resources.") var resources: Int = 200
    @Flag(help: "Take the last node down (it must be fenced and its resources moved).") var nodeDown = false
    @Flag(help: "Also time `crm_simulate -R -Q -x FILE` on the same CIB.") var compare = false
    @Flag(help: "Run the whole table (every size, steady and a node down) against crm_simulate.") var table = false
    @Flag(help: "Measure our growth from 1000 to 4000 resources at 32 nodes: the sizes take turns, best of --rounds each.")
    var growth = false
    @Option(help: "With --growth: rounds over the six files.") var rounds: Int = 15
    @Option(help: "With --table: leave out the sizes with more resources than this.") var maxResources: Int = 4000
    @Option(help: "Write the generated CIB here (default: a temporary file; with --table, a directory).") var output: String?
    @Option(help: "Runs of our side per size (best and range reported).") var repeats: Int = 3
    @Option(help: "Runs of crm_simulate per size (best reported; default 3 up to 1000 resources, 1 beyond).")
    var crmRepeats: Int?
    @Option(help: .hidden) var measure: String?

    @Flag(help: "With --measure FILE: also schedule without the transition graph and print both (the graph's own cost).")
    var graphCost = false

    func validate() throws {
        guard (1...256).contains(nodes) else { throw ValidationError("--nodes must be 1...256") }
        guard (1...20_000).contains(resources) else { throw ValidationError("--resources must be 1...20000") }
        guard (1...20).contains(repeats) else { throw ValidationError("--repeats must be 1...20") }
        if let crmRepeats, !(1...20).contains(crmRepeats) { throw ValidationError("--crm-repeats must be 1...20") }
        guard (1...20_000).contains(maxResources) else { throw ValidationError("--max-resources must be 1...20000") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be 1...100") }
    }

    func run() throws {
        if let measure {
            try Self.measureInProcess(path: measure, graphCost: graphCost)
            return
        }
        if table {
            try runTable()
            return
        }
        if growth {
            try runGrowth()
            return
        }
        let path = output ?? (NSTemporaryDirectory() + "baton-benchmark-\(nodes)x\(resources)\(nodeDown ? "-down" : "").xml")
        let row = try measureSize(nodes: nodes, resources: resources, nodeDown: nodeDown, path: path, compare: compare)
        print("cluster: \(nodes) nodes x \(resources) resources\(nodeDown ? ", last node down" : "") (\(path))")
        print("baton:        parse \(format(row.parse)), schedule \(format(row.schedule)), total \(format(row.total))"
              + " (best of \(repeats); totals \(format(row.totalMin))-\(format(row.totalMax))), CPU \(format(row.cpu)),"
              + " peak \(megabytes(row.peakKilobytes)), \(row.summaryLines) summary lines")
        if let crm = row.crmSimulate {
            print("crm_simulate: \(format(crm.wall)) (exit \(crm.exitCode); best of \(row.crmRuns)\(crmRangeText(row))), CPU \(format(crm.cpu)), peak \(megabytes(crm.peakKilobytes))"
                  + String(format: "; baton is %.1fx faster (CPU: %.1fx)", crm.wall / row.total, crm.cpu / row.cpu))
        }
    }

    // MARK: our side, in this process (the child)

    /// Reads, parses and schedules one CIB file; prints the times for the parent.
    static func measureInProcess(path: String, graphCost: Bool = false) throws {
        let clock = ContinuousClock()
        let start = clock.now
        let startCPU = threadCPUSeconds()
        guard let bytes = readFile(path) else {
            throw CIBError(.unreadableFile(path: path), element: "document", id: nil, line: 0)
        }
        let cib = try CIB(bytes: bytes)
        let parsed = clock.now
        let transition = Scheduler.schedule(cib, now: Int(Date().timeIntervalSince1970))
        let scheduled = clock.now
        let scheduledCPU = threadCPUSeconds()
        var graphCostText = ""
        if graphCost {
            // The same run without the transition graph, after the measured one: the graph's
            // own cost is the difference (for a person; it raises this process's peak memory).
            let again = clock.now
            _ = Scheduler.schedule(cib, now: Int(Date().timeIntervalSince1970), buildGraph: false)
            graphCostText = " synapses=\(transition.graph.synapses.count) schedule-without-graph=\(seconds(clock.now - again))"
        }
        print("parse=\(seconds(parsed - start)) schedule=\(seconds(scheduled - parsed)) cpu=\(scheduledCPU - startCPU)"
              + " lines=\(transition.summary.count)" + graphCostText)
    }

    /// The file's bytes, read straight into one array (no intermediate Data and copy).
    static func readFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var information = stat()
        guard fstat(descriptor, &information) == 0, information.st_size >= 0,
              information.st_size <= XMLCodec.documentBytesMax else { return nil }
        let size = Int(information.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            while count < size {
                let got = read(descriptor, buffer.baseAddress! + count, size - count)
                if got > 0 { count += got } else if got < 0 && errno == EINTR { continue } else { failed = got < 0; break }
            }
        }
        return failed ? nil : bytes
    }

    /// CPU time of this thread: on a shared machine, less disturbed by other load than the
    /// wall clock (the work is single-threaded, as crm_simulate's is).
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    // MARK: the parent

    struct Row {
        var nodes: Int, resources: Int, nodeDown: Bool
        var parse: Double, schedule: Double, total: Double
        var totalMin: Double, totalMax: Double
        /// CPU seconds of the best run's parse + schedule.
        var cpu: Double
        var peakKilobytes: Int
        var summaryLines: Int
        var crmSimulate: ChildRun?
        /// Fastest and slowest crm_simulate run, and how many there were.
        var crmRange: (min: Double, max: Double)?
        var crmRuns: Int
    }

    /// Generates the CIB and runs our side `repeats` times and crm_simulate `crmRuns(for:)`
    /// times, taking turns (ours, crm_simulate, ours, …) so that on a shared machine whose
    /// speed changes from one second to the next both sides see the same stretches of time.
    /// Each side's best run counts (the one least disturbed by other load).
    func measureSize(nodes: Int, resources: Int, nodeDown: Bool, path: String, compare: Bool) throws -> Row {
        let text = SyntheticCluster(nodes: nodes, resources: resources, lastNodeDown: nodeDown).xml()
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let executable = ownExecutable()
        var best: (parse: Double, schedule: Double, cpu: Double, lines: Int)?
        var totals: [Double] = []
        var peak = 0
        func runOurs() throws {
            let child = try ChildRun(executable, ["scheduler-benchmark", "--measure", path], captureOutput: true)
            guard child.exitCode == 0, let measured = Self.readMeasurement(child.output) else {
                throw ValidationError("our side failed on \(path) (exit \(child.exitCode)): \(child.output)")
            }
            totals.append(measured.parse + measured.schedule)
            peak = max(peak, child.peakKilobytes)
            if best == nil || measured.parse + measured.schedule < best!.parse + best!.schedule { best = measured }
        }
        var crm: ChildRun?
        var crmWalls: [Double] = []
        func runCRMSimulate() throws {
            guard FileManager.default.isExecutableFile(atPath: Self.crmSimulatePath) else {
                throw ValidationError("\(Self.crmSimulatePath) not found (install pacemaker-cli-utils, or run scripts/ensure-packages)")
            }
            let run = try ChildRun(Self.crmSimulatePath, ["-R", "-Q", "-x", path], captureOutput: false)
            crmWalls.append(run.wall)
            if let chosen = crm, chosen.exitCode == 0, chosen.wall <= run.wall { return }
            crm = run
        }
        let crmCount = compare ? crmRuns(for: resources) : 0
        // Ours first and last; crm_simulate's runs spread in between.
        try runOurs()
        var oursLeft = repeats - 1
        for index in 0..<crmCount {
            try runCRMSimulate()
            let share = oursLeft / (crmCount - index)
            for _ in 0..<share { try runOurs() }
            oursLeft -= share
        }
        for _ in 0..<oursLeft { try runOurs() }
        let chosen = best!
        return Row(nodes: nodes, resources: resources, nodeDown: nodeDown, parse: chosen.parse, schedule: chosen.schedule,
                   total: chosen.parse + chosen.schedule, totalMin: totals.min()!, totalMax: totals.max()!, cpu: chosen.cpu,
                   peakKilobytes: peak, summaryLines: chosen.lines, crmSimulate: crm,
                   crmRange: crmWalls.isEmpty ? nil : (crmWalls.min()!, crmWalls.max()!), crmRuns: crmWalls.count)
    }

    /// crm_simulate's runs per size: `--crm-repeats`, else 3 up to 1000 resources and one
    /// beyond (a 32x4000 run takes it half a minute to two minutes).
    func crmRuns(for resources: Int) -> Int {
        crmRepeats ?? (resources <= 1000 ? 3 : 1)
    }

    static func readMeasurement(_ output: String) -> (parse: Double, schedule: Double, cpu: Double, lines: Int)? {
        var fields: [String: String] = [:]
        for part in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let pair = part.split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let parse = fields["parse"].flatMap(Double.init), let schedule = fields["schedule"].flatMap(Double.init),
              let cpu = fields["cpu"].flatMap(Double.init), let lines = fields["lines"].flatMap(Int.init) else { return nil }
        return (parse, schedule, cpu, lines)
    }

    func runTable() throws {
        let directory = output ?? NSTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let haveCRM = FileManager.default.isExecutableFile(atPath: Self.crmSimulatePath)
        if !haveCRM { print("note: \(Self.crmSimulatePath) not found: our side only (install pacemaker-cli-utils)") }
        print("scheduler-benchmark: our parse + schedule (best of \(repeats) child processes)")
        print("vs crm_simulate -R -Q -x (best of \(crmRuns(for: 1000)) runs up to 1000 resources, \(crmRuns(for: 2000)) beyond;"
              + " wall clock from spawn to exit), the two sides taking turns;")
        print("peak = ru_maxrss of each child process. Load average at start: \(Self.loadAverage()).")
        print("")
        print("| cluster | baton parse | schedule | total (range) | CPU | peak | crm_simulate | CPU | peak | ratio | CPU ratio | lines |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        var rows: [Row] = []
        for (nodes, resources) in Self.tableSizes where resources <= maxResources {
            for nodeDown in [false, true] {
                let path = (directory as NSString).appendingPathComponent("baton-benchmark-\(nodes)x\(resources)\(nodeDown ? "-down" : "").xml")
                let row = try measureSize(nodes: nodes, resources: resources, nodeDown: nodeDown, path: path, compare: haveCRM)
                rows.append(row)
                let cluster = "\(nodes) x \(resources)\(nodeDown ? ", node down" : "")"
                let crm = row.crmSimulate
                print("| \(cluster) | \(format(row.parse)) | \(format(row.schedule)) | \(format(row.total)) (\(format(row.totalMin))-\(format(row.totalMax))) "
                      + "| \(format(row.cpu)) | \(megabytes(row.peakKilobytes)) "
                      + "| \(crm.map { format($0.wall) + ($0.exitCode == 0 ? "" : " (exit \($0.exitCode))") + crmRangeText(row) } ?? "n/a") "
                      + "| \(crm.map { format($0.cpu) } ?? "n/a") | \(crm.map { megabytes($0.peakKilobytes) } ?? "n/a") "
                      + "| \(crm.map { String(format: "%.1fx", $0.wall / row.total) } ?? "n/a") "
                      + "| \(crm.map { String(format: "%.1fx", $0.cpu / row.cpu) } ?? "n/a") | \(row.summaryLines) |")
                fflush(nil)   // every stream: the table appears row by row
            }
        }
        print("")
        print("Load average at end: \(Self.loadAverage()).")
        printGrowth(rows)
    }

    /// Growth at 32 nodes from 1000 to 2000 and 4000 resources, steady and with a node down,
    /// measured so that the machine's slow stretches fall on every size alike: each round runs
    /// the six files once, one after the other, and each file's best round counts.
    func runGrowth() throws {
        let directory = output ?? NSTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sizes = [1000, 2000, 4000]
        var files: [(resources: Int, nodeDown: Bool, path: String)] = []
        for nodeDown in [false, true] {
            for resources in sizes {
                let path = (directory as NSString).appendingPathComponent("baton-benchmark-32x\(resources)\(nodeDown ? "-down" : "").xml")
                try SyntheticCluster(nodes: 32, resources: resources, lastNodeDown: nodeDown).xml()
                    .write(toFile: path, atomically: true, encoding: .utf8)
                files.append((resources, nodeDown, path))
            }
        }
        let executable = ownExecutable()
        var best = [Double](repeating: .infinity, count: files.count)
        for _ in 0..<rounds {
            for (index, file) in files.enumerated() {
                let child = try ChildRun(executable, ["scheduler-benchmark", "--measure", file.path], captureOutput: true)
                guard child.exitCode == 0, let measured = Self.readMeasurement(child.output) else {
                    throw ValidationError("our side failed on \(file.path) (exit \(child.exitCode)): \(child.output)")
                }
                best[index] = min(best[index], measured.parse + measured.schedule)
            }
        }
        func nLogN(_ count: Int) -> Double { Double(count) * log(Double(count)) }
        print("scheduler-benchmark --growth: parse + schedule at 32 nodes, best of \(rounds) rounds (the six files take turns)")
        for nodeDown in [false, true] {
            let times = files.indices.filter { files[$0].nodeDown == nodeDown }.map { best[$0] }
            let parts = sizes.indices.dropFirst().map { index in
                String(format: "1000->%d x%.2f (n log n x%.2f)", sizes[index], times[index] / times[0],
                       nLogN(sizes[index]) / nLogN(sizes[0]))
            }
            print((nodeDown ? "node down: " : "steady:    ") + zip(sizes, times).map { String(format: "%d %.3f s", $0, $1) }
                .joined(separator: ", ") + "; " + parts.joined(separator: ", "))
        }
    }

    /// Growth of the time with the number of resources at 32 nodes, against n log n.
    func printGrowth(_ rows: [Row]) {
        for nodeDown in [false, true] {
            let series = rows.filter { $0.nodes == 32 && $0.nodeDown == nodeDown }.sorted { $0.resources < $1.resources }
            guard let base = series.first, series.count > 1 else { continue }
            func nLogN(_ count: Int) -> Double { Double(count) * log(Double(count)) }
            var parts: [String] = []
            for row in series.dropFirst() {
                var part = String(format: "%d->%d: baton x%.2f (CPU x%.2f; n log n x%.2f, linear x%.2f)", base.resources,
                                  row.resources, row.total / base.total, row.cpu / base.cpu,
                                  nLogN(row.resources) / nLogN(base.resources), Double(row.resources) / Double(base.resources))
                if let crm = row.crmSimulate, let baseCRM = base.crmSimulate {
                    part += String(format: ", crm_simulate x%.2f (CPU x%.2f)", crm.wall / baseCRM.wall, crm.cpu / baseCRM.cpu)
                }
                parts.append(part)
            }
            print("growth at 32 nodes\(nodeDown ? ", node down" : ""): " + parts.joined(separator: "; "))
        }
    }

    // MARK: helpers

    static func loadAverage() -> String {
        var loads = [Double](repeating: 0, count: 3)
        guard getloadavg(&loads, 3) == 3 else { return "unknown" }
        return String(format: "%.2f %.2f %.2f", loads[0], loads[1], loads[2])
    }

    static func seconds(_ duration: Duration) -> Double {
        duration.inSeconds
    }

    private func format(_ seconds: Double) -> String {
        seconds < 10 ? String(format: "%.3f s", seconds) : String(format: "%.1f s", seconds)
    }

    /// " (fastest-slowest)" of crm_simulate's runs when there were several.
    private func crmRangeText(_ row: Row) -> String {
        guard let range = row.crmRange, row.crmRuns > 1 else { return "" }
        return " (\(format(range.min))-\(format(range.max)))"
    }

    private func megabytes(_ kilobytes: Int) -> String {
        String(format: "%.0f MB", Double(kilobytes) / 1024)
    }
}

/// One child process run to completion: its wall-clock time, exit code, peak resident memory
/// (ru_maxrss from wait4, so it is this child's alone) and, when captured, its standard output.
/// Spawned and reaped directly (ChildProcess's SpawnedChild): Foundation's Process polls its run
/// loop in waitUntilExit, which added up to 50 ms to every timed run.
struct ChildRun {
    var wall: Double
    var exitCode: Int32
    /// User + system CPU seconds of the child.
    var cpu: Double
    var peakKilobytes: Int
    var output: String

    /// `environment`: variables set (or replaced) for the child. `outputLimit`: bytes of the
    /// captured output kept (the rest is read and dropped, so the child never blocks on it).
    /// `withErrors`: standard error goes to the captured output too. Not captured, the output
    /// goes to /dev/null, or to this process's own when `inheritOutput`.
    init(_ path: String, _ arguments: [String], captureOutput: Bool, withErrors: Bool = false, inheritOutput: Bool = false,
         environment extra: [String: String] = [:], outputLimit: Int = Int.max) throws {
        var pipeEnds: [Int32] = [-1, -1]
        var sink: Int32 = -1
        if captureOutput {
            guard pipe(&pipeEnds) == 0 else { throw ValidationError("pipe failed: errno \(errno)") }
            _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)
        } else if !inheritOutput {
            sink = open("/dev/null", O_WRONLY | O_CLOEXEC)
            guard sink >= 0 else { throw ValidationError("cannot open /dev/null: errno \(errno)") }
        }
        defer { if sink >= 0 { close(sink) } }
        // Captured: stdout into the pipe, stderr too with `withErrors`, else this process's.
        // Not captured: both to /dev/null, or both this process's with `inheritOutput`.
        let standardOutput = captureOutput ? pipeEnds[1] : sink >= 0 ? sink : 1
        let standardError = captureOutput ? (withErrors ? pipeEnds[1] : 2) : sink >= 0 ? sink : 2
        let clock = ContinuousClock()
        let start = clock.now
        let child: SpawnedChild
        do {
            child = try SpawnedChild.spawn(path, arguments, environment: extra.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(extra) { $1 },
                                           standardOutput: standardOutput, standardError: standardError, ownGroup: false)
        } catch {
            if captureOutput {
                close(pipeEnds[0])
                close(pipeEnds[1])
            }
            throw ValidationError(error.description)
        }
        var collected: [UInt8] = []
        if captureOutput {
            close(pipeEnds[1])
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(pipeEnds[0], &chunk, chunk.count)
                if count > 0 { collected += chunk[0..<min(count, max(0, outputLimit - collected.count))]; continue }
                if count < 0 && errno == EINTR { continue }
                break
            }
            close(pipeEnds[0])
        }
        let exit = child.wait()
        wall = BenchmarkCommand.seconds(clock.now - start)
        exitCode = exit.shellStatus
        peakKilobytes = child.usage?.peakKilobytes ?? 0
        cpu = child.usage?.cpuSeconds ?? 0
        output = String(decoding: collected, as: UTF8.self)
    }
}

/// Starts a daemon (batond for the demo and the benchmarks) with its output appended to
/// `logPath`; the caller stops it through the handle. `ownGroup` false keeps it in this
/// process's group, so that a Ctrl-C at the terminal stops it too.
func startDaemon(_ path: String, _ arguments: [String], logPath: String, ownGroup: Bool = false) throws -> SpawnedChild {
    let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard log >= 0 else { throw ValidationError("cannot open \(logPath): \(String(cString: strerror(errno)))") }
    defer { close(log) }
    do {
        return try SpawnedChild.spawn(path, arguments, standardOutput: log, standardError: log, ownGroup: ownGroup)
    } catch {
        throw ValidationError(error.description)
    }
}

/// The synthetic steady-state cluster of the design document's reference figures.
struct SyntheticCluster {
    let nodes: Int
    let resources: Int
    let lastNodeDown: Bool

    func node(for resource: Int) -> Int { ((resource - 1) / 10 * 10 + 1) % nodes + 1 }

    func xml() -> String {
        var out = "<cib epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\" validate-with=\"pacemaker-3.0\" have-quorum=\"1\" dc-uuid=\"1\">\n"
        out += "  <configuration>\n    <crm_config><cluster_property_set id=\"opts\">"
        out += "<nvpair id=\"opts-stonith\" name=\"stonith-enabled\" value=\"true\"/></cluster_property_set></crm_config>\n    <nodes>\n"
        for index in 1...nodes { out += "      <node id=\"\(index)\" uname=\"node\(index)\"/>\n" }
        out += "    </nodes>\n    <resources>\n      <primitive id=\"fencing\" class=\"stonith\" type=\"fence_dummy\"/>\n"
        for index in 1...resources {
            out += "      <primitive id=\"rsc\(index)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\"><operations>"
            out += "<op id=\"rsc\(index)-mon\" name=\"monitor\" interval=\"10s\"/></operations></primitive>\n"
        }
        out += "    </resources>\n    <constraints>\n"
        for index in 1...resources {
            out += "      <rsc_location id=\"loc\(index)\" rsc=\"rsc\(index)\" node=\"node\(node(for: index))\" score=\"100\"/>\n"
            if index % 10 == 0 {
                out += "      <rsc_colocation id=\"col\(index)\" rsc=\"rsc\(index)\" with-rsc=\"rsc\(index - 1)\" score=\"INFINITY\"/>\n"
                out += "      <rsc_order id=\"ord\(index)\" first=\"rsc\(index - 1)\" then=\"rsc\(index)\"/>\n"
            }
        }
        out += "    </constraints>\n  </configuration>\n  <status>\n"
        for nodeIndex in 1...nodes {
            let down = lastNodeDown && nodeIndex == nodes
            out += "    <node_state id=\"\(nodeIndex)\" uname=\"node\(nodeIndex)\" in_ccm=\"\(down ? "false" : "true")\" crmd=\"\(down ? "offline" : "online")\" join=\"\(down ? "down" : "member")\" expected=\"member\">\n"
            out += "      <lrm id=\"\(nodeIndex)\"><lrm_resources>\n"
            if nodeIndex == 1 {
                out += "        <lrm_resource id=\"fencing\" class=\"stonith\" type=\"fence_dummy\">" + operation("fencing", "start", 0, 0, call: 1) + "</lrm_resource>\n"
            }
            for index in 1...resources {
                let runsHere = node(for: index) == nodeIndex
                out += "        <lrm_resource id=\"rsc\(index)\" class=\"ocf\" provider=\"pacemaker\" type=\"Dummy\">"
                if runsHere {
                    out += operation("rsc\(index)", "start", 0, 0, call: 2) + operation("rsc\(index)", "monitor", 10_000, 0, call: 3)
                } else {
                    out += operation("rsc\(index)", "monitor", 0, 7, call: 2)
                }
                out += "</lrm_resource>\n"
            }
            out += "      </lrm_resources></lrm>\n    </node_state>\n"
        }
        out += "  </status>\n</cib>\n"
        return out
    }

    private func operation(_ resource: String, _ task: String, _ interval: Int, _ rc: Int, call: Int) -> String {
        let expected = task == "monitor" && interval == 0 ? 7 : 0
        return "<lrm_rsc_op id=\"\(resource)_\(task)_\(interval)\" operation=\"\(task)\" interval=\"\(interval)\" call-id=\"\(call)\" "
            + "rc-code=\"\(rc)\" op-status=\"0\" transition-key=\"1:1:\(expected):bench\" op-digest=\"f2317cad3d54cec5d7d7aa7d0bf35cf8\"/>"
    }
}
