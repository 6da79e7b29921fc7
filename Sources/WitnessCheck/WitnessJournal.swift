/// The witness's verdict (issue 14's acceptance, issue 15's demo), pure: `scripts/ocf/Witness`
/// (ocf:baton:Witness) appends every start, stop and monitor, with the node it really ran on and
/// CLOCK_MONOTONIC, to one journal shared by every node (of one site or of several); a fence (or a
/// node's power loss) adds "TIME NODE fenced *". `WitnessJournal` reads that text and names every
/// instant an instance was active on two nodes at once (Pacemaker's PrimitiveAudit, which CTS
/// leaves disabled), and every monitor that said "running" where the journal says stopped; and
/// `handovers` gives, for each time an instance moved, the last instant it was active at the old
/// place and the first at the new one (the safety gap). Used by the CorosyncTests and `baton demo`.
public struct WitnessJournal: Equatable, Sendable {
    public struct Event: Equatable, Sendable {
        public let line: Int
        public let time: Double
        public let node: String
        public let kind: String
        public let instance: String
        /// The agent's exit code (start-end, stop-end, monitor) or, for wrong-node, the node
        /// the controller named.
        public let detail: String?
        public var rc: Int? { detail.flatMap { Int($0) } }
    }

    /// One move of an instance: active on `from` until `endedAt` (its successful stop-end, or
    /// the node's fence), then first started on `to` at `startedAt`. `gap` < 0 means both at once.
    public struct Handover: Equatable, Sendable {
        public let instance: String
        public let from: String
        public let endedAt: Double
        public let to: String
        public let startedAt: Double
        public var gap: Double { startedAt - endedAt }

        public init(instance: String, from: String, endedAt: Double, to: String, startedAt: Double) {
            self.instance = instance
            self.from = from
            self.endedAt = endedAt
            self.to = to
            self.startedAt = startedAt
        }
    }

    public let events: [Event]
    /// Lines that are not the agent's (torn, garbage): each is a failure of the check.
    public let unreadable: [String]

    static let kinds = ["start-begin", "start-end", "stop-begin", "stop-end", "monitor", "fenced", "wrong-node"]

    public init(_ text: String) {
        var events: [Event] = []
        var unreadable: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 4 || fields.count == 5, let time = Double(fields[0]), time.isFinite, Self.kinds.contains(fields[2]),
                  fields.count == 5 ? Int(fields[4]) != nil || fields[2] == "wrong-node" : !["start-end", "stop-end", "monitor"].contains(fields[2])
            else {
                unreadable.append("line \(index + 1): not a witness line: \(line)")
                continue
            }
            events.append(Event(line: index + 1, time: time, node: fields[1], kind: fields[2], instance: fields[3],
                                detail: fields.count == 5 ? fields[4] : nil))
        }
        self.events = events
        self.unreadable = unreadable
    }

    /// Where each instance is active after the last event (start-begin seen, no successful
    /// stop-end or fence since).
    public var active: [String: Set<String>] { replay().active }

    /// Every violation, in journal order; empty when the witness never tripped.
    public var violations: [String] { unreadable + replay().violations }

    /// Every move of an instance from one place to another, in order of the new start: the
    /// instant the old place ended it (its successful stop-end, or its node's fence) and the
    /// first start-begin at the new place. A start while still active at the old place is a
    /// handover with a negative gap (and a violation); `endedAt` is then when the old place
    /// ended it later (infinity if it never did). `group`, when given, maps a node to its site:
    /// a move between two nodes of one site is then no handover.
    public func handovers(group: (String) -> String = { $0 }) -> [Handover] {
        var active: [String: Set<String>] = [:]
        var lastEnded: [String: (node: String, time: Double)] = [:]
        var result: [Handover] = []
        // Overlapping handovers still waiting for the old place to end: (index in result).
        var open: [Int] = []
        func ended(_ instance: String, _ node: String, _ time: Double) {
            for index in open where result[index].instance == instance && result[index].from == node {
                let old = result[index]
                result[index] = Handover(instance: instance, from: node, endedAt: time, to: old.to, startedAt: old.startedAt)
            }
            open.removeAll { result[$0].instance == instance && result[$0].from == node }
            if active[instance]?.isEmpty == true { lastEnded[instance] = (node, time) }
        }
        for event in events {
            switch event.kind {
            case "start-begin":
                let others = (active[event.instance] ?? []).subtracting([event.node])
                if let other = others.sorted().first(where: { group($0) != group(event.node) }) {
                    result.append(Handover(instance: event.instance, from: other, endedAt: .infinity, to: event.node, startedAt: event.time))
                    open.append(result.count - 1)
                } else if others.isEmpty, let previous = lastEnded[event.instance], group(previous.node) != group(event.node) {
                    result.append(Handover(instance: event.instance, from: previous.node, endedAt: previous.time, to: event.node, startedAt: event.time))
                }
                lastEnded[event.instance] = nil
                active[event.instance, default: []].insert(event.node)
            case "stop-end" where event.rc == 0:
                if active[event.instance]?.remove(event.node) != nil { ended(event.instance, event.node, event.time) }
            case "fenced":
                for instance in active.keys where active[instance]?.contains(event.node) == true {
                    active[instance]?.remove(event.node)
                    ended(instance, event.node, event.time)
                }
            default:
                break
            }
        }
        return result
    }

    private func replay() -> (active: [String: Set<String>], violations: [String]) {
        var active: [String: Set<String>] = [:]
        var violations: [String] = []
        var last = -Double.infinity
        for event in events {
            let at = "line \(event.line) (\(Self.seconds(event.time)))"
            if event.time < last { violations.append("\(at): time goes back (\(Self.seconds(last)) before): the journal was not written under its lock") }
            last = max(last, event.time)
            switch event.kind {
            case "start-begin":
                let others = (active[event.instance] ?? []).subtracting([event.node])
                if !others.isEmpty {
                    violations.append("\(at): \(event.instance) starts on \(event.node) while active on \(others.sorted().joined(separator: ", "))")
                }
                active[event.instance, default: []].insert(event.node)
            case "stop-end" where event.rc == 0:
                active[event.instance]?.remove(event.node)
            case "monitor" where event.rc == 0:
                if !(active[event.instance] ?? []).contains(event.node) {
                    violations.append("\(at): a monitor says \(event.instance) runs on \(event.node), where the journal says it is stopped")
                }
            case "fenced":
                for instance in active.keys { active[instance]?.remove(event.node) }
            case "wrong-node":
                violations.append("\(at): \(event.instance) was asked to act on \(event.detail ?? "another node") but ran on \(event.node)")
            default:
                // start-end (a failed start may have left it running: still active), stop-begin,
                // a failed stop (still active), a monitor that found it stopped.
                break
            }
        }
        return (active, violations)
    }

    /// SECONDS with 6 decimals (microseconds), without Foundation's formatting.
    public static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return value > 0 ? "inf" : "-inf" }
        let micros = (abs(value) * 1_000_000).rounded()
        guard micros < 9e18 else { return "\(value)" }
        let whole = Int64(micros) / 1_000_000
        let fraction = String(Int64(micros) % 1_000_000)
        return (value < 0 ? "-" : "") + "\(whole)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
