/// How the conformance suite compares Transition Summaries: the lines between
/// `Transition Summary:` and `Executing Cluster Transition:`, blank lines dropped, whitespace
/// runs collapsed to one space, `ocf::` read as `ocf:`, compared as an ordered list.
public enum SummaryComparison {
    /// The normalised Transition Summary lines of a whole crm_simulate output.
    public static func transitionSummary(ofSimulateOutput text: String) -> [String] {
        var inside = false
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("Transition Summary:") { inside = true; continue }
            if line.hasPrefix("Executing Cluster Transition:") { break }
            if inside, let normalised = normalize(String(line)) { lines.append(normalised) }
        }
        return lines
    }

    /// One line normalised; nil for a blank line.
    public static func normalize(_ line: String) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
        guard !words.isEmpty else { return nil }
        return words.joined(separator: " ").replacingOccurrences(of: "ocf::", with: "ocf:")
    }

    public static func normalize(lines: [String]) -> [String] { lines.compactMap(normalize) }

    /// A unified-style listing of the differences (expected lines with "-", ours with "+").
    public static func diff(expected: [String], actual: [String]) -> [String] {
        // Longest common subsequence; summaries are short (a few hundred lines at most).
        let n = expected.count, m = actual.count
        var table = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i][j] = expected[i] == actual[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var result: [String] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, expected[i] == actual[j] {
                result.append("  " + expected[i]); i += 1; j += 1
            } else if j < m, i == n || table[i][j + 1] >= table[i + 1][j] {
                result.append("+ " + actual[j]); j += 1
            } else {
                result.append("- " + expected[i]); i += 1
            }
        }
        return result
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

extension Substring {
    func range(of target: String) -> Range<Substring.Index>? {
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(target) {
                return index..<self.index(index, offsetBy: target.count)
            }
            index = self.index(after: index)
        }
        return nil
    }
}
