import Scheduler

/// How two Transition Summaries of the same CIB differ (ours against crm_simulate's), for the
/// differential test's report. Both are normalised lines (SummaryComparison).
public enum SummaryDisagreement: String, CaseIterable, Sendable, Comparable {
    /// The same lines once the "due to …" reasons (and "blocked") are dropped.
    case reasonOnly = "only the \"due to\" reason"
    /// The same lines, in any order, once clone instance numbers are read as one
    /// (reasons may differ too).
    case instanceNumbersOnly = "only instance numbers"
    /// Another action, another node, an action missing or extra.
    case differentActions = "different actions"

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// nil when the summaries agree.
    public static func classify(expected: [String], actual: [String]) -> SummaryDisagreement? {
        if expected == actual { return nil }
        if expected.map(withoutReason) == actual.map(withoutReason) { return .reasonOnly }
        let anonymous = { (lines: [String]) in lines.map { withoutInstanceNumbers(withoutReason($0)) }.sorted() }
        if anonymous(expected) == anonymous(actual) { return .instanceNumbersOnly }
        return .differentActions
    }

    /// The line up to the end of its "( node … )" part: what happens, not why.
    /// `* Stop rsc2 ( node2 ) due to node availability` -> `* Stop rsc2 ( node2 )`;
    /// a fence line loses its quoted reason.
    public static func withoutReason(_ line: String) -> String {
        if line.hasPrefix("* Fence"), let quote = line.firstIndex(of: "'") {
            return String(line[..<quote]).trimmingSpaces
        }
        guard let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") else {
            // No node part ("* Stop rsc blocked"): drop a trailing "blocked" or reason.
            let words = line.split(separator: " ")
            if let due = words.firstIndex(of: "due") { return words[..<due].joined(separator: " ") }
            return words.filter { $0 != "blocked" }.joined(separator: " ")
        }
        return String(line[...close])
    }

    /// Every `name:N` word read as `name:*`.
    public static func withoutInstanceNumbers(_ line: String) -> String {
        line.split(separator: " ").map { word -> String in
            guard let colon = word.lastIndex(of: ":"), word.index(after: colon) < word.endIndex,
                  word[word.index(after: colon)...].allSatisfy(\.isNumber) else { return String(word) }
            return word[...colon] + "*"
        }.joined(separator: " ")
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.last == " " { text = text.dropLast() }
        while text.first == " " { text = text.dropFirst() }
        return String(text)
    }
}
