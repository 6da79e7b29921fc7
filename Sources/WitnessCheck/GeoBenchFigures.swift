/// The figures of `baton geo-bench` (issue 15's benchmark), pure: from the witness journal of a
/// geo bed and the instant a command or fault began (CLOCK_MONOTONIC, the journal's clock), what
/// one move of a guarded set between two sites took, split into the agents' own work and the
/// rest; min/median/max over repetitions; and the side-by-side table. No I/O here: the shell
/// (Sources/baton/GeoBench.swift) runs the bed and reads the journal.

/// min / median / max of a non-empty list of figures.
public struct Spread: Equatable, Sendable {
    public let min: Double
    public let median: Double
    public let max: Double
    public let count: Int

    /// nil for an empty list (no figure is not a zero).
    public init?(_ values: [Double]) {
        guard !values.isEmpty, values.allSatisfy(\.isFinite) else { return nil }
        let sorted = values.sorted()
        min = sorted[0]
        max = sorted[sorted.count - 1]
        count = sorted.count
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// "0.312" for one figure, "0.301 / 0.312 / 0.340" (min / median / max) for several, in s.
    public var text: String {
        count == 1 ? GeoBenchFigures.seconds(min)
            : "\(GeoBenchFigures.seconds(min)) / \(GeoBenchFigures.seconds(median)) / \(GeoBenchFigures.seconds(max))"
    }
}

/// One move of the guarded set from one site to another, every time CLOCK_MONOTONIC seconds.
public struct SiteMove: Equatable, Sendable {
    /// When the command was given or the fault made (power-off, partition).
    public let commandAt: Double
    /// The old site's last end of a guarded instance: a successful stop-end, or its node's fence.
    public let lastStopAt: Double
    /// The new site's first start-begin of a guarded instance.
    public let firstStartAt: Double
    /// The new site's last successful start-end: every instance of the set started.
    public let allStartedAt: Double
    /// The agents' own stop time at the old site: the sum of stop-begin → stop-end per instance
    /// (a group stops one after the other).
    public let stopWork: Double
    /// The agents' own start time at the new site, summed the same way.
    public let startWork: Double

    public init(commandAt: Double, lastStopAt: Double, firstStartAt: Double, allStartedAt: Double, stopWork: Double, startWork: Double) {
        self.commandAt = commandAt
        self.lastStopAt = lastStopAt
        self.firstStartAt = firstStartAt
        self.allStartedAt = allStartedAt
        self.stopWork = stopWork
        self.startWork = startWork
    }

    /// The safety gap: the old site's last stop → the new site's first start; ≤ 0 is a failure.
    public var gap: Double { firstStartAt - lastStopAt }
    /// Command (or fault) → every instance started at the new site.
    public var total: Double { allStartedAt - commandAt }
    /// What is neither the agents' work nor the handover itself (the gap): the command reaching
    /// the old site's DC, the scheduling between one agent call and the next, the last start's
    /// report — and each agent process's own start-up and exit around its journal lines.
    public var overhead: Double { total - gap - stopWork - startWork }

    /// The agents' processes as the executors timed them (the sum of the move's stops and
    /// starts' exec-time in the sites' CIBs: fork → exit, Pacemaker's measure of an operation),
    /// when the shell could read them.
    public var processWork: Double?

    /// What is neither the agents' processes nor the handover: the resource managers' own
    /// scheduling and messaging. The start-up of the new site's first agent and the exit of the
    /// old site's last one fall inside the handover too (counted twice: a few ms).
    public var processOverhead: Double? { processWork.map { total - gap - $0 } }
}

/// One `lrm_rsc_op` of a site's CIB, as much as the bench needs.
public struct RecordedOperation: Hashable, Sendable {
    public let node: String
    public let resource: String
    public let operation: String
    public let callID: Int
    public let execMilliseconds: Int
    public init(node: String, resource: String, operation: String, callID: Int, execMilliseconds: Int) {
        self.node = node
        self.resource = resource
        self.operation = operation
        self.callID = callID
        self.execMilliseconds = execMilliseconds
    }
}

public struct GeoBenchError: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum GeoBenchFigures {
    /// The move of `instances` from site `from` to site `to` in the journal's events at or
    /// after `commandAt` (`site` maps a node to its site). Every instance must have started
    /// successfully at `to`; at `from` each must have ended (stop-end 0, or a fence of a node of
    /// `from`). Throws, naming what is missing, otherwise (the shell polls until it does not).
    public static func move(_ journal: WitnessJournal, after commandAt: Double, from: String, to: String,
                            instances: Set<String>, site: (String) -> String) throws -> SiteMove {
        let events = journal.events.filter { $0.time >= commandAt }
        var stopBegan: [String: Double] = [:]
        var startBegan: [String: Double] = [:]
        var stopWork = 0.0
        var startWork = 0.0
        var ended: Set<String> = []
        var started: Set<String> = []
        var lastStop = -Double.infinity
        var fencedAt: Double?
        var firstStart = Double.infinity
        var allStarted = -Double.infinity
        for event in events {
            let place = site(event.node)
            if event.kind == "fenced" && place == from {
                fencedAt = max(fencedAt ?? event.time, event.time)
                lastStop = max(lastStop, event.time)
                continue
            }
            guard instances.contains(event.instance) else { continue }
            let key = event.node + " " + event.instance
            switch (event.kind, place) {
            case ("stop-begin", from):
                stopBegan[key] = event.time
            case ("stop-end", from) where event.rc == 0:
                if let began = stopBegan.removeValue(forKey: key) { stopWork += event.time - began }
                ended.insert(event.instance)
                lastStop = max(lastStop, event.time)
            case ("start-begin", to):
                startBegan[key] = event.time
                firstStart = min(firstStart, event.time)
            case ("start-end", to) where event.rc == 0:
                if let began = startBegan.removeValue(forKey: key) { startWork += event.time - began }
                started.insert(event.instance)
                allStarted = max(allStarted, event.time)
            default:
                break
            }
        }
        if fencedAt == nil, ended.count < instances.count {
            throw GeoBenchError("\(instances.count - ended.count) of \(instances.count) not stopped at \(from) (e.g. \(instances.subtracting(ended).sorted().first!))")
        }
        guard started.count == instances.count else {
            throw GeoBenchError("\(instances.count - started.count) of \(instances.count) not started at \(to) (e.g. \(instances.subtracting(started).sorted().first!))")
        }
        return SiteMove(commandAt: commandAt, lastStopAt: lastStop, firstStartAt: firstStart, allStartedAt: allStarted,
                        stopWork: stopWork, startWork: startWork)
    }

    /// The exec-time, in s, of the operations a move recorded (in `after`, not in `before`):
    /// the stops of `instances` on a node of `from` and their starts on a node of `to` (`site`
    /// maps a node to its site). nil when some instance's stop or start is not there.
    public static func processWork(before: Set<RecordedOperation>, after: Set<RecordedOperation>, instances: Set<String>,
                                   from: String, to: String, site: (String) -> String) -> Double? {
        let new = after.subtracting(before).filter { instances.contains($0.resource) }
        let stops = new.filter { $0.operation == "stop" && site($0.node) == from }
        let starts = new.filter { $0.operation == "start" && site($0.node) == to }
        guard Set(stops.map(\.resource)) == instances, Set(starts.map(\.resource)) == instances else { return nil }
        return Double((stops.map(\.execMilliseconds) + starts.map(\.execMilliseconds)).reduce(0, +)) / 1000
    }

    /// Every gap that is not > 0, described; empty when the bench is safe.
    public static func unsafeGaps(_ rows: [(what: String, moves: [SiteMove])]) -> [String] {
        rows.flatMap { row in
            row.moves.enumerated().filter { !($0.element.gap > 0) }.map { index, move in
                "\(row.what), run \(index + 1): the new site started \(seconds(-move.gap)) s before the old one's last stop"
            }
        }
    }

    /// Columns aligned on their widest cell, the first row the header, a rule under it.
    public static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            (0..<columns).map { column in
                let cell = column < cells.count ? cells[column] : ""
                return column == columns - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
    }

    /// Seconds with 3 decimals (milliseconds), without Foundation's formatting.
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return value > 0 ? "inf" : "-inf" }
        let millis = Int64((abs(value) * 1000).rounded())
        let fraction = String(millis % 1000)
        return (value < 0 && millis != 0 ? "-" : "") + "\(millis / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
