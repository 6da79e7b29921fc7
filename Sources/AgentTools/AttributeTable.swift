/// A node's local attribute store as the agent tools see it: node attributes (`nodes`,
/// permanent), transient ones (`status`, what attrd keeps), cluster options (`crm_config`), and
/// what the controller would answer about the cluster (the local node, the members, quorum).
/// Pure: the shell reads and writes it as text (`text`, `init(text:)`) under a lock; the
/// cluster-wide store of baton-crmd replaces the file behind the same `AttributeStore`.
public struct AttributeTable: Sendable, Equatable {
    /// Where an attribute lives, by the CIB section Pacemaker puts it in.
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        case crmConfig = "crm_config"
        case nodes
        case status
    }

    public struct Key: Sendable, Hashable {
        public let scope: Scope
        /// Empty for crm_config.
        public let node: String
        public let name: String

        public init(scope: Scope, node: String, name: String) {
            self.scope = scope
            self.node = node
            self.name = name
        }
    }

    public struct Member: Sendable, Equatable {
        public let id: UInt32
        public let name: String
        /// "member", "lost", ...
        public let state: String
        /// The node's id in the CIB (`<node id>`), which names its attribute sets: the decimal
        /// Corosync id unless the CIB says otherwise.
        public let uuid: String

        public init(id: UInt32, name: String, state: String = "member", uuid: String? = nil) {
            self.id = id
            self.name = name
            self.state = state
            self.uuid = uuid ?? String(id)
        }
    }

    public static let entriesMax = 100_000
    public static let membersMax = 4096
    /// Bytes of a name or a value.
    public static let fieldMax = 64 << 10

    public private(set) var values: [Key: String] = [:]
    public var localNode: String?
    public var members: [Member] = []
    public var quorate = true

    public init(localNode: String? = nil, members: [Member] = [], quorate: Bool = true) {
        self.localNode = localNode
        self.members = members
        self.quorate = quorate
    }

    public subscript(_ key: Key) -> String? { values[key] }

    /// Sets (or, with nil, removes) `key`. Throws past a limit.
    public mutating func set(_ key: Key, _ value: String?) throws(AttributeStoreError) {
        guard let value else {
            values[key] = nil
            return
        }
        guard key.name.utf8.count <= Self.fieldMax, value.utf8.count <= Self.fieldMax, key.node.utf8.count <= Self.fieldMax else {
            throw AttributeStoreError("attribute \(key.name.prefix(64)): a name, node or value longer than \(Self.fieldMax) bytes")
        }
        guard values[key] != nil || values.count < Self.entriesMax else {
            throw AttributeStoreError("attribute \(key.name): the store already holds \(Self.entriesMax) attributes")
        }
        values[key] = value
    }

    public func member(named name: String) -> Member? { members.first { $0.name == name } }

    // MARK: text form

    static let header = "# baton node attribute store 1"

    /// One line per fact, tab-separated fields with `\\`, `\t`, `\n` escaped, sorted (the same
    /// table always gives the same text).
    public var text: String {
        var lines = [Self.header]
        if let localNode { lines.append("local\t" + escape(localNode)) }
        lines.append("quorum\t" + (quorate ? "1" : "0"))
        for member in members { lines.append("member\t\(member.id)\t\(escape(member.name))\t\(escape(member.state))") }
        let sorted = values.sorted { ($0.key.scope.rawValue, $0.key.node, $0.key.name) < ($1.key.scope.rawValue, $1.key.node, $1.key.name) }
        for (key, value) in sorted {
            lines.append(["attr", key.scope.rawValue, escape(key.node), escape(key.name), escape(value)].joined(separator: "\t"))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads the text form; an empty text is an empty table. Throws saying which line is bad.
    public init(text: String) throws(AttributeStoreError) {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { unescape($0) }
            switch (fields[0], fields.count) {
            case ("local", 2): localNode = fields[1]
            case ("quorum", 2) where fields[1] == "0" || fields[1] == "1": quorate = fields[1] == "1"
            case ("member", 4):
                guard let id = UInt32(fields[1]), members.count < Self.membersMax else {
                    throw AttributeStoreError("line \(lineNumber): bad member id '\(fields[1])' or more than \(Self.membersMax) members")
                }
                members.append(Member(id: id, name: fields[2], state: fields[3]))
            case ("attr", 5):
                guard let scope = Scope(rawValue: fields[1]) else {
                    throw AttributeStoreError("line \(lineNumber): unknown scope '\(fields[1])'")
                }
                try set(Key(scope: scope, node: fields[2], name: fields[3]), fields[4])
            default:
                throw AttributeStoreError("line \(lineNumber): not a store line: '\(line.prefix(80))'")
            }
        }
    }
}

/// The store behind the tools (a locked file on one node today; baton-crmd's cluster-wide store
/// later): one read-modify-write at a time.
public protocol AttributeStore: Sendable {
    func transaction<T>(_ body: (inout AttributeTable) throws -> T) throws -> T
}

public struct AttributeStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

func escape(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A }) else { return text }
    var out = ""
    for character in text {
        switch character {
        case "\\": out += "\\\\"
        case "\t": out += "\\t"
        case "\n": out += "\\n"
        default: out.append(character)
        }
    }
    return out
}

func unescape(_ field: Substring) -> String {
    guard field.contains("\\") else { return String(field) }
    var out = ""
    var escaped = false
    for character in field {
        if escaped {
            out.append(character == "t" ? "\t" : character == "n" ? "\n" : character)
            escaped = false
        } else if character == "\\" {
            escaped = true
        } else {
            out.append(character)
        }
    }
    return out
}

/// One attribute set or deleted: what a tool run changed in its table, as the cluster-wide
/// store sends it to baton-crmd (`attributes apply`): one line each, `set\tSCOPE\tNODE\tNAME\t
/// VALUE` or `delete\tSCOPE\tNODE\tNAME`, escaped as the table's text.
public struct AttributeChangeLine: Sendable, Equatable {
    public let key: AttributeTable.Key
    /// nil: deleted.
    public let value: String?

    public init(key: AttributeTable.Key, value: String?) {
        self.key = key
        self.value = value
    }

    /// The keys whose value differs between the two tables, in a stable order.
    public static func changes(from before: AttributeTable, to after: AttributeTable) -> [AttributeChangeLine] {
        Set(before.values.keys).union(after.values.keys).filter { before[$0] != after[$0] }
            .sorted { ($0.scope.rawValue, $0.node, $0.name) < ($1.scope.rawValue, $1.node, $1.name) }
            .map { AttributeChangeLine(key: $0, value: after[$0]) }
    }

    public static func text(_ changes: [AttributeChangeLine]) -> String {
        changes.map { change in
            let fields = [change.key.scope.rawValue, escape(change.key.node), escape(change.key.name)]
            if let value = change.value { return (["set"] + fields + [escape(value)]).joined(separator: "\t") + "\n" }
            return (["delete"] + fields).joined(separator: "\t") + "\n"
        }.joined()
    }

    /// Reads `text(_:)`'s form; at most `AttributeTable.entriesMax` lines. Throws naming the bad line.
    public static func parse(_ text: String) throws(AttributeStoreError) -> [AttributeChangeLine] {
        var changes: [AttributeChangeLine] = []
        var lineNumber = 0
        for line in text.split(separator: "\n") {
            lineNumber += 1
            guard changes.count < AttributeTable.entriesMax else { throw AttributeStoreError("more than \(AttributeTable.entriesMax) changes") }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map { unescape($0) }
            guard fields.count >= 4, let scope = AttributeTable.Scope(rawValue: fields[1]) else {
                throw AttributeStoreError("change line \(lineNumber): not a change: '\(line.prefix(80))'")
            }
            let key = AttributeTable.Key(scope: scope, node: fields[2], name: fields[3])
            switch (fields[0], fields.count) {
            case ("set", 5): changes.append(AttributeChangeLine(key: key, value: fields[4]))
            case ("delete", 4): changes.append(AttributeChangeLine(key: key, value: nil))
            default: throw AttributeStoreError("change line \(lineNumber): not a change: '\(line.prefix(80))'")
            }
        }
        return changes
    }
}
