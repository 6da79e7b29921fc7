/// Compares our `crm status` text with `crm_mon -1`'s on the same CIB: line for line, the
/// "Last updated" line (the time the tool ran) aside. Used by the differential test and
/// `baton crm-mon-differential`.
public enum CrmMonComparison {
    /// The lines compared: trailing whitespace dropped, "Last updated" masked.
    public static func normalize(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            var line = Substring(line)
            while let last = line.last, last == " " || last == "\r" { line = line.dropLast() }
            if line.hasPrefix("  * Last updated:") { return "  * Last updated: (masked)" }
            return String(line)
        }
        while lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Empty when the two agree; otherwise `-expected` / `+ours` lines from the first
    /// difference on (at most `limit`).
    public static func differences(expected: String, actual: String, limit: Int = 12) -> [String] {
        let left = normalize(expected), right = normalize(actual)
        guard left != right else { return [] }
        var first = 0
        while first < left.count && first < right.count && left[first] == right[first] { first += 1 }
        var lines: [String] = []
        for index in first..<max(left.count, right.count) where lines.count < limit {
            if index < left.count, index >= right.count || left[index] != right[index] { lines.append("-" + left[index]) }
            if index < right.count, index >= left.count || left[index] != right[index] { lines.append("+" + right[index]) }
        }
        precondition(!lines.isEmpty, "differences: unequal texts show at least one line")
        return lines
    }

    /// The section (and, among resources, the kind of line) where the texts first differ:
    /// the disagreement classes the differential reports.
    public static func classify(expected: String, actual: String) -> String? {
        let left = normalize(expected), right = normalize(actual)
        guard left != right else { return nil }
        var first = 0
        while first < left.count && first < right.count && left[first] == right[first] { first += 1 }
        var section = "summary"
        for line in left.prefix(first + 1) where !line.hasPrefix(" ") && line.hasSuffix(":") { section = String(line.dropLast()) }
        let line = first < left.count ? left[first] : first < right.count ? right[first] : ""
        switch section {
        case "Cluster Summary":
            if line.contains("resource instance") { return "summary: resource counts" }
            if line.contains("Current DC") { return "summary: DC" }
            return "summary"
        case "Node List": return "node list"
        case "Active Resources", "Full List of Resources":
            // The innermost open collective names the class.
            var kind = "primitive"
            for earlier in left.prefix(first + 1).reversed() {
                let trimmed = earlier.drop { $0 == " " }
                if trimmed.hasPrefix("* Container bundle set:") { kind = "bundle"; break }
                if trimmed.hasPrefix("* Clone Set:") { kind = trimmed.contains("promotable") ? "promotable clone" : "clone"; break }
                if trimmed.hasPrefix("* Resource Group:") && earlier.hasPrefix("  * ") { kind = "group"; break }
                if earlier.hasPrefix("  * ") && !trimmed.hasPrefix("* Resource Group:") { break }
            }
            return "resources: \(kind)"
        default: return section.isEmpty ? "other" : section
        }
    }
}
