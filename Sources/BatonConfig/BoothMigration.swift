/// A booth configuration turned into a Baton one (`baton migrate-booth`): the same file, line
/// for line, comments and ticket sections kept, with what only booth reads commented out
/// (`authfile`, `enable-authfile`, `transport`: members authenticate with TLS certificates and
/// always talk TCP with TLS 1.3), the TLS keys added before the first ticket, and each member's
/// certificate name (`name=`) added where the admin gave one. The result is parsed before it is
/// returned: what comes out loads, or the error says what and where.
public enum BoothMigration {
    public struct Result: Sendable, Equatable {
        /// The Baton configuration text.
        public let text: String
        /// What the admin must know: lines commented out, members without a certificate name.
        public let notes: [String]
    }

    /// Keys booth reads that Baton replaces.
    static let boothOnlyKeys: Set<String> = ["authfile", "enable-authfile", "transport"]
    static let transportKeys: Set<String> = ["tls-ca", "tls-certificate", "tls-private-key"]

    /// `names`: member address as written in the booth file -> the name its certificate
    /// carries. `fileName` names the booth file in diagnostics.
    public static func convert(
        _ boothText: String, fileName: String, certificateAuthority: String, certificate: String, privateKey: String,
        names: [String: String] = [:]
    ) throws(ConfigurationError) -> Result {
        // The booth file must load as it is (Baton reads booth files, with warnings).
        _ = try BatonConfigurationParser.parse(text: boothText, fileName: fileName)
        var output: [String] = ["# Converted from \(fileName) by baton migrate-booth: booth-only lines are commented out,",
                                "# TLS keys added before the first ticket. The same file goes on every member.", ""]
        var notes: [String] = []
        var tlsWritten = false
        var namedAddresses: Set<String> = []
        let tlsBlock = [
            "# Members authenticate with TLS certificates signed by this CA (booth's authfile is not used).",
            "tls-ca = \(certificateAuthority)",
            "tls-certificate = \(certificate)",
            "tls-private-key = \(privateKey)",
            "",
        ]
        let lines = boothText.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (offset, rawLine) in lines.enumerated() {
            var line = rawLine
            if line.last == "\r" { line = line.dropLast() }
            guard let entry = try lexLine(line, lineNumber: offset + 1, fileName: fileName) else {
                output.append(String(line))
                continue
            }
            if boothOnlyKeys.contains(entry.key) {
                output.append("# \(line)    # booth only: Baton members use TLS 1.3 over TCP with certificates")
                notes.append("\(fileName):\(offset + 1): '\(entry.key)' commented out")
                continue
            }
            if transportKeys.contains(entry.key) {
                notes.append("\(fileName):\(offset + 1): '\(entry.key)' replaced by the one given")
                continue
            }
            if entry.key == "ticket" && !tlsWritten {
                output += tlsBlock
                tlsWritten = true
            }
            if entry.key == "site" || entry.key == "arbitrator" {
                let words = entry.wasQuoted ? [entry.value] + entry.trailingWords : entry.value.split(separator: " ").map(String.init)
                let address = words.first ?? ""
                let hasName = words.dropFirst().contains { $0.hasPrefix("name=") }
                if let name = names[address], !hasName {
                    // Rebuilt from its words (a trailing comment kept after them).
                    var comment = ""
                    if let hash = line.firstRange(of: " #")?.upperBound ?? line.firstRange(of: "\t#")?.upperBound {
                        var start = line.index(before: hash)
                        while start > line.startIndex, line[line.index(before: start)] == " " || line[line.index(before: start)] == "\t" {
                            start = line.index(before: start)
                        }
                        comment = String(line[start...])
                    }
                    output.append("\(entry.key) = \(words.joined(separator: " ")) name=\(name)\(comment)")
                    namedAddresses.insert(address)
                    continue
                }
                if !hasName {
                    notes.append("\(entry.key) \(address): no certificate name given (--name \(address)=NAME): its certificate must carry \(address) as its name")
                }
            }
            output.append(String(line))
        }
        if !tlsWritten { output += [""] + tlsBlock }
        for address in names.keys.sorted() where !namedAddresses.contains(address) {
            notes.append("--name \(address)=\(names[address]!): no member with that address in \(fileName)")
        }
        let text = output.joined(separator: "\n") + (output.last == "" ? "" : "\n")
        // What comes out must load, with its TLS keys (a bad path is the loader's to report).
        let converted = try BatonConfigurationParser.parse(text: text, fileName: "\(fileName) (converted)")
        precondition(converted.configuration.transportSecurity != nil, "the converted configuration carries the TLS keys just written")
        return Result(text: text, notes: notes)
    }
}
