/// Parses and validates booth.conf-compatible text into a `BatonConfiguration`.
///
/// Syntax (booth's): one `key = value` per line; `#` starts a comment at the start of a line
/// or after whitespace outside quotes; values may be quoted with `"` or `'`. A `ticket = NAME`
/// line opens a ticket section; per-ticket keys before any ticket, or inside
/// `ticket = "__defaults__"`, set defaults for the tickets that follow. Global keys may appear
/// anywhere.
///
/// Baton's additions, which booth files never contain, so booth files load unchanged:
/// - member attributes after the address: `site = 10.0.0.1 name=site-a port=9930`
///   (`name=` is the name its TLS certificate must carry; default: the address as written);
/// - `tls-ca`, `tls-certificate`, `tls-private-key` (paths, PEM), `tls-handshake-timeout`;
/// - `identity = NAME`: this member, by certificate name or address.
///
/// Where booth was lenient by accident, Baton rejects: a non-numeric port, an unknown mode or
/// transport, an unknown key. `__defaults__` passes every per-ticket key.
public enum BatonConfigurationParser {
    public static let defaultsSectionName = "__defaults__"

    /// booth's defaults.
    public static let defaultPort: UInt16 = 9929
    public static let defaultExpire: Duration = .seconds(600)
    public static let defaultTimeout: Duration = .seconds(5)
    public static let defaultRetries = 10
    public static let defaultAcquireAfter: Duration = .zero
    public static let defaultMaximumTimeSkew: Duration = .seconds(120)
    public static let defaultHandshakeTimeout: Duration = .seconds(10)

    /// Parses `text`, which came from `fileName` (used only in diagnostics).
    public static func parse(text: String, fileName: String) throws(ConfigurationError) -> LoadedConfiguration {
        var state = ParserState(fileName: fileName)
        // "\r\n" is one Character in Swift: split on both forms.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        guard lines.count <= Limits.linesMaximum else {
            throw ConfigurationError(file: fileName, line: nil, rejection: .tooManyLines)
        }
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            guard line.utf8.count <= Limits.lineLengthMaximum else {
                throw state.error(lineNumber, .lineTooLong(length: line.utf8.count))
            }
            guard let entry = try lexLine(line, lineNumber: lineNumber, fileName: fileName) else { continue }
            try state.apply(entry)
        }
        return try state.finish()
    }
}

/// One `key = value` line after lexing.
struct ConfigurationEntry {
    let key: String
    /// The value, unquoted.
    let value: String
    /// Words after a quoted value (member attributes); for an unquoted value they are part
    /// of `value`.
    let trailingWords: [String]
    let wasQuoted: Bool
    let line: Int
}

private func isBlank(_ character: Character) -> Bool { character == " " || character == "\t" }

private func trimmed(_ text: Substring) -> Substring {
    var result = text
    while let first = result.first, isBlank(first) { result = result.dropFirst() }
    while let last = result.last, isBlank(last) { result = result.dropLast() }
    return result
}

/// Drops a trailing comment: `#` preceded by whitespace.
private func strippingComment(_ text: Substring) -> Substring {
    var previous: Character = " "
    var index = text.startIndex
    while index < text.endIndex {
        let character = text[index]
        if character == "#" && isBlank(previous) { return text[text.startIndex..<index] }
        previous = character
        index = text.index(after: index)
    }
    return text
}

func lexLine(_ line: Substring, lineNumber: Int, fileName: String) throws(ConfigurationError) -> ConfigurationEntry? {
    let content = trimmed(line)
    if content.isEmpty || content.first == "#" { return nil }
    guard let equals = content.firstIndex(of: "=") else {
        throw ConfigurationError(file: fileName, line: lineNumber, rejection: .malformedLine(String(content)))
    }
    let key = trimmed(content[content.startIndex..<equals]).lowercased()
    guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
        throw ConfigurationError(file: fileName, line: lineNumber, rejection: .malformedLine(String(content)))
    }
    let rest = trimmed(content[content.index(after: equals)...])
    if let quote = rest.first, quote == "\"" || quote == "'" {
        let afterOpening = rest.dropFirst()
        guard let closing = afterOpening.firstIndex(of: quote) else {
            throw ConfigurationError(file: fileName, line: lineNumber, rejection: .unterminatedQuote)
        }
        let value = String(afterOpening[afterOpening.startIndex..<closing])
        let remainder = trimmed(strippingComment(Substring(" " + afterOpening[afterOpening.index(after: closing)...])))
        let words = remainder.split(whereSeparator: isBlank).map(String.init)
        return ConfigurationEntry(key: key, value: value, trailingWords: words, wasQuoted: true, line: lineNumber)
    }
    let value = trimmed(strippingComment(rest))
    return ConfigurationEntry(key: key, value: String(value), trailingWords: [], wasQuoted: false, line: lineNumber)
}
