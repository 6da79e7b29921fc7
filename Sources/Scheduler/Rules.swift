import CIB

/// What a rule is evaluated against: a node (location rules, node attributes), a resource
/// agent (rsc_expression in defaults), and the time.
struct RuleContext {
    var node: SchedulerNode?
    var resourceClass: String?
    var provider: String?
    var type: String?
    var now: Int?
    /// For value-source="param" / "meta" in location rules.
    var parameters: [String: String] = [:]
    var meta: [String: String] = [:]
}

extension WorkingSet {
    func evaluate(_ rule: Rule, in context: RuleContext) -> Bool {
        let results = rule.conditions.map { condition -> Bool in
            switch condition {
            case .expression(let expression): return evaluate(expression, in: context)
            case .rule(let inner): return evaluate(inner, in: context)
            case .other(let element):
                switch element.name {
                case "date_expression": return evaluateDate(element, now: context.now)
                case "rsc_expression":
                    guard context.resourceClass != nil || context.type != nil else { return false }
                    if let value = element["class"], value != context.resourceClass { return false }
                    if let value = element["provider"], value != context.provider { return false }
                    if let value = element["type"], value != context.type { return false }
                    return true
                default: return false
                }
            }
        }
        if results.isEmpty { return true }
        return rule.booleanOperation?.lowercased() == "or" ? results.contains(true) : !results.contains(false)
    }

    func evaluate(_ expression: Expression, in context: RuleContext) -> Bool {
        guard let node = context.node else { return false }
        let actual = node.attributes[expression.attribute]
        let operation = expression.operation.lowercased()
        switch operation {
        case "defined": return actual != nil
        case "not_defined": return actual == nil
        default: break
        }
        var wanted = expression.value
        switch expression.valueSource?.lowercased() {
        case "param": wanted = wanted.flatMap { context.parameters[$0] }
        case "meta": wanted = wanted.flatMap { context.meta[$0] }
        default: break
        }
        guard let actual, let wanted else { return operation == "ne" }
        let type = expression.type?.lowercased()
            ?? ((Double(actual) != nil && Double(wanted) != nil && operation != "eq" && operation != "ne") ? "number" : "string")
        let comparison: Int
        if type == "number" || type == "integer", let left = Double(actual), let right = Double(wanted) {
            // Integers compare without their fractions; Int(_:) would trap on 1e300, inf or nan.
            let (l, r) = type == "integer" ? (left.rounded(.towardZero), right.rounded(.towardZero)) : (left, right)
            comparison = l < r ? -1 : (l > r ? 1 : 0)
        } else if type == "version" {
            let left = actual.split(separator: ".").map { Int($0) ?? 0 }, right = wanted.split(separator: ".").map { Int($0) ?? 0 }
            var result = 0
            for index in 0..<max(left.count, right.count) {
                let l = index < left.count ? left[index] : 0, r = index < right.count ? right[index] : 0
                if l != r { result = l < r ? -1 : 1; break }
            }
            comparison = result
        } else {
            comparison = actual == wanted ? 0 : (actual < wanted ? -1 : 1)
        }
        switch operation {
        case "eq": return comparison == 0
        case "ne": return comparison != 0
        case "lt": return comparison < 0
        case "lte": return comparison <= 0
        case "gt": return comparison > 0
        case "gte": return comparison >= 0
        default: return false
        }
    }

    /// date_expression: in_range (start/end or start + duration), gt (after start), lt (before end).
    /// date_spec is not evaluated (false).
    func evaluateDate(_ element: XMLElement, now: Int?) -> Bool {
        guard let now else { return false }
        let operation = element["operation"]?.lowercased() ?? "in_range"
        let (start, end) = DateRules.bounds(element)
        switch operation {
        case "in_range":
            if start == nil && end == nil { return false }
            if let start, now < start { return false }
            if let end, now > end { return false }
            return true
        case "gt": return start.map { now > $0 } ?? false
        case "lt": return end.map { now < $0 } ?? false
        default: return false
        }
    }

    func parseISODate(_ text: String) -> Int? { DateRules.parseISODate(text) }

    /// The values of a list of name/value sets, the sets whose rules hold, higher scores first.
    func values(of sets: [NameValueSet], in context: RuleContext) -> [String: String] {
        let ordered = sets.enumerated().sorted { lhs, rhs in
            let left = lhs.element.score ?? .zero, right = rhs.element.score ?? .zero
            return left != right ? left > right : lhs.offset < rhs.offset
        }.map(\.element)
        var result: [String: String] = [:]
        for set in ordered {
            guard set.rules.allSatisfy({ evaluate($0, in: context) }) else { continue }
            for pair in set.pairs where result[pair.name] == nil { if let value = pair.value { result[pair.name] = value } }
        }
        return result
    }
}

/// Date expressions on their own: parsing, and when a rule's answer next changes.
public enum DateRules {
    /// A date_expression's start and end (end = start + duration when it has a duration).
    static func bounds(_ element: XMLElement) -> (start: Int?, end: Int?) {
        let start = element["start"].flatMap(parseISODate)
        var end = element["end"].flatMap(parseISODate)
        if end == nil, let start, let duration = element.children(named: "duration").first {
            end = start.addingSaturated(durationSeconds(duration))
        }
        return (start, end)
    }

    /// The earliest wall-clock second after `now` at which a date_expression anywhere in
    /// `configuration` changes its answer, as Pacemaker 2.1.5's pe__eval_date_expr reports its
    /// next_change (the scheduler's recheck-by): in_range before its start: the start; inside
    /// it: the second after its end; gt not yet true: the second after its start; lt still true:
    /// its end. date_spec has none (cluster-recheck-interval bounds it, as in Pacemaker). Every
    /// expression counts, also those a rule's and/or would not reach: a re-run that finds
    /// nothing changed costs one idle graph, a missed one leaves a rule's change unapplied.
    public static func nextChange(in configuration: XMLElement, after now: Int) -> Int? {
        var earliest: Int?
        func note(_ second: Int) { if second > now { earliest = min(earliest ?? second, second) } }
        func walk(_ element: XMLElement) {
            if element.name == "date_expression" {
                let (start, end) = bounds(element)
                switch element["operation"]?.lowercased() ?? "in_range" {
                case "in_range":
                    if let start, now < start { note(start) } else if let end, now <= end { note(end.addingSaturated(1)) }
                case "gt":
                    if let start, now <= start { note(start.addingSaturated(1)) }
                case "lt":
                    if let end, now < end { note(end) }
                default: break
                }
            }
            for child in element.children { walk(child) }
        }
        walk(configuration)
        return earliest
    }

    static func durationSeconds(_ element: XMLElement) -> Int {
        let units: [(String, Int)] = [("years", 31_536_000), ("months", 2_592_000), ("weeks", 604_800), ("days", 86_400),
                                      ("hours", 3600), ("minutes", 60), ("seconds", 1)]
        return units.reduce(0) { total, unit in total.addingSaturated((Int(element[unit.0] ?? "") ?? 0).multipliedSaturated(by: unit.1)) }
    }

    /// "2005-01-01", "2005-01-01 12:00:00", "2005-01-01T12:00:00Z" (UTC) to seconds since the epoch.
    public static func parseISODate(_ text: String) -> Int? {
        let cleaned = text.trimmed.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "")
        let parts = cleaned.split(separator: " ")
        guard let datePart = parts.first else { return nil }
        var date = datePart.split(separator: "-").compactMap { Int($0) }
        if date.count == 2, datePart.split(separator: "-")[1].count == 3 {
            // Ordinal date YYYY-DDD.
            let year = date[0], ordinal = date[1]
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            var remaining = ordinal, month = 1
            while month <= 12 && remaining > lengths[month - 1] { remaining -= lengths[month - 1]; month += 1 }
            date = [year, month, max(remaining, 1)]
        }
        guard date.count == 3 else { return nil }
        var time = [0, 0, 0]
        // A UTC offset ("-05:00", "+0100"), after the time or as a field of its own.
        var offsetText: Substring?
        if parts.count > 1 {
            var timePart = parts[1]
            if let sign = timePart.dropFirst().firstIndex(where: { $0 == "+" || $0 == "-" }) {
                offsetText = timePart[sign...]
                timePart = timePart[..<sign]
            }
            let fields = timePart.split(separator: ":").compactMap { Int($0.prefix(2)) }
            for (index, value) in fields.prefix(3).enumerated() { time[index] = value }
        }
        if parts.count > 2, let first = parts[2].first, first == "+" || first == "-" { offsetText = parts[2] }
        var offset = 0
        if let offsetText, let sign = offsetText.first {
            let digits = offsetText.dropFirst().filter(\.isNumber)
            let hours = Int(digits.prefix(2)) ?? 0, minutes = Int(digits.dropFirst(2).prefix(2)) ?? 0
            offset = (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
        }
        // Days from civil (Howard Hinnant's algorithm), on fields small enough for it (a year
        // of 2^63 is no date).
        let (y0, m, d) = (date[0], date[1], date[2])
        guard abs(y0) <= 10_000_000, abs(m) <= 10_000_000, abs(d) <= 10_000_000 else { return nil }
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86_400 + time[0] * 3600 + time[1] * 60 + time[2] - offset
    }
}
