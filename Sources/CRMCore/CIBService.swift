import CIB
import TicketWire

/// An admin's CIB write, in cibadmin's shapes: what crosses the group inside a `CIBWrite`
/// request's payload (the DC executes it; every member then applies the DC's v2 patchset).
public enum CIBOperation: Hashable, Sendable {
    /// `cibadmin --patch --xml-file`: a v2 patchset (crm_diff's text). With versions, the
    /// CIB's version must be the patchset's source (Pacemaker's `cib_apply_diff`).
    case patch(String)
    /// `cibadmin --replace [--scope S] --xml-file`: the whole CIB (`<cib>`, scope nil) or one
    /// section (`<resources>` … for scope "resources"). A whole CIB older than the current one
    /// is refused (Pacemaker's "Update was older than existing configuration").
    case replace(scope: String?, xml: String)
    /// `cibadmin --upgrade`: validate-with raised to the newest schema this build knows.
    case upgrade

    /// The schema `--upgrade` sets (Pacemaker 2.1.5's newest).
    public static let newestSchema = "pacemaker-3.9"

    /// Scopes a replace or query may name (cibadmin's `--scope`), and where each lives.
    public static let configurationSections = ["crm_config", "nodes", "resources", "constraints", "rsc_defaults",
                                               "op_defaults", "acls", "fencing-topology", "tags", "alerts"]
    public static func isScope(_ name: String) -> Bool {
        name == "configuration" || name == "status" || configurationSections.contains(name)
    }

    /// The request's payload: the operation, after the stamp when given (operation 4: the
    /// stamp's three strings, then the operation's own encoding).
    public func encoded(stamp: CIBWriteStamp?) -> [UInt8] {
        guard let stamp else { return encoded() }
        var writer = ByteWriter(capacity: 96)
        writer.u8(4)
        writer.string(stamp.time, lengthMax: MessageWire.nameBytesMax)
        writer.string(stamp.client, lengthMax: MessageWire.nameBytesMax)
        writer.string(stamp.user, lengthMax: MessageWire.nameBytesMax)
        writer.raw(encoded())
        return writer.bytes
    }

    /// A request's payload: the operation and its stamp, if it carries one.
    public static func decodeRequest(_ bytes: [UInt8]) throws(CIBRequestError) -> (operation: CIBOperation, stamp: CIBWriteStamp?) {
        guard bytes.first == 4 else { return (try CIBOperation(decoding: bytes), nil) }
        var reader = ByteReader(bytes)
        let stamp: CIBWriteStamp
        do {
            _ = try reader.u8("cib.stamped")
            stamp = CIBWriteStamp(time: try reader.string("cib.stamp.time", lengthMax: MessageWire.nameBytesMax),
                                  client: try reader.string("cib.stamp.client", lengthMax: MessageWire.nameBytesMax),
                                  user: try reader.string("cib.stamp.user", lengthMax: MessageWire.nameBytesMax))
        } catch {
            throw CIBRequestError("CIB operation's stamp: \(error)")
        }
        let rest = Array(bytes[reader.offset...])
        guard rest.first != 4 else { throw CIBRequestError("a stamped CIB operation inside another") }
        return (try CIBOperation(decoding: rest), stamp)
    }

    public func encoded() -> [UInt8] {
        var writer = ByteWriter(capacity: 64)
        switch self {
        case .patch(let text):
            writer.u8(1)
            writer.raw(Array(text.utf8))
        case .replace(let scope, let xml):
            writer.u8(2)
            writer.string(scope ?? "", lengthMax: MessageWire.nameBytesMax)
            writer.raw(Array(xml.utf8))
        case .upgrade:
            writer.u8(3)
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(CIBRequestError) {
        var reader = ByteReader(bytes)
        do {
            switch try reader.u8("cib.operation") {
            case 1:
                self = .patch(try Self.text(bytes[reader.offset...], "the patchset"))
            case 2:
                let scope = try reader.string("cib.scope", lengthMax: MessageWire.nameBytesMax)
                self = .replace(scope: scope.isEmpty ? nil : scope, xml: try Self.text(bytes[reader.offset...], "the replacement"))
            case 3:
                guard reader.remaining == 0 else { throw CIBRequestError("upgrade takes no body (\(reader.remaining) bytes follow)") }
                self = .upgrade
            case let other:
                throw CIBRequestError("unknown CIB operation \(other)")
            }
        } catch let error as CIBRequestError {
            throw error
        } catch {
            throw CIBRequestError("CIB operation: \(error)")
        }
    }

    private static func text(_ bytes: ArraySlice<UInt8>, _ what: String) throws(CIBRequestError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw CIBRequestError("\(what) is not UTF-8") }
        return text
    }
}

/// Who asked for a CIB write, and when (the asking node's clock, ctime's text): what Pacemaker's
/// CIB manager writes on `<cib>` at every configuration change as `cib-last-written`,
/// `update-client` and `update-user` (with `update-origin`, the asking node's name), and
/// crm_mon prints as "Last change: TIME by USER via CLIENT on ORIGIN".
public struct CIBWriteStamp: Hashable, Sendable {
    public var time: String
    public var client: String
    public var user: String
    public init(time: String, client: String, user: String) {
        self.time = time
        self.client = client
        self.user = user
    }
}

/// Why the DC refused a CIB write (sent back to the admin who asked).
public struct CIBRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One node's copy of the CIB: the document (configuration and root attributes; its status
/// section is kept empty here, the status is rendered from the node core's state at query
/// time and never written to disk), its version and, when known, its versioned digest.
/// Pure: executing an operation (on the DC) and applying a patchset (everywhere).
public struct CIBReplica: Sendable, Equatable {
    public private(set) var document: XMLElement
    public private(set) var version: CIBVersion
    /// The versioned digest of `document`, when computed or carried by the last patchset.
    public private(set) var knownDigest: String?
    /// The serialized size when last measured, plus half of each patchset's text since (point
    /// 4's choice of when to digest: an estimate is enough).
    public internal(set) var approximateBytes: Int

    /// The feature set a baton-crmd DC stamps on a `<cib>` without one: Pacemaker 2.1.5's
    /// CRM_FEATURE_SET, as its operation records carry it (the stock 2.1.5 tools refuse a CIB
    /// with a higher one: crm_resource "Protocol violated").
    public static let featureSet = "3.16.1"

    /// An empty CIB (what a node without a stored one starts from: version 0.0.0).
    public static var empty: CIBReplica {
        let root = XMLElement(name: "cib", attributes: [
            .init(name: "crm_feature_set", value: featureSet), .init(name: "validate-with", value: CIBOperation.newestSchema),
            .init(name: "epoch", value: "0"), .init(name: "num_updates", value: "0"), .init(name: "admin_epoch", value: "0"),
        ], children: [
            XMLElement(name: "configuration", children: [
                XMLElement(name: "crm_config"), XMLElement(name: "nodes"), XMLElement(name: "resources"), XMLElement(name: "constraints"),
            ]),
            XMLElement(name: "status"),
        ])
        do { return try CIBReplica(document: root) } catch { preconditionFailure("the empty CIB is a CIB: \(error)") }
    }

    /// Takes a `<cib>` document; its status section is emptied (status lives in memory).
    public init(document root: XMLElement, bytes: Int? = nil) throws(CIBRequestError) {
        guard root.name == "cib" else { throw CIBRequestError("the root element is <\(root.name)>, not <cib>") }
        do { version = try CIBVersion(of: root) } catch { throw CIBRequestError("\(error)") }
        document = Self.withEmptyStatus(root)
        knownDigest = nil
        approximateBytes = bytes ?? XMLCodec.serialize(document).utf8.count
    }

    static func withEmptyStatus(_ root: XMLElement) -> XMLElement {
        var document = root
        document.children.removeAll { $0.name == "status" }
        document.children.append(XMLElement(name: "status"))
        return document
    }

    /// The versioned digest, computed once per document.
    public mutating func digest() -> String {
        if let knownDigest { return knownDigest }
        let digest = CIBDigest.compute(document)
        knownDigest = digest
        return digest
    }

    /// Takes the digest a full sync carried: its bytes (checked by the transfer's MD5) are
    /// the sender's, so their digest is the sender's, without a pass over a large document.
    mutating func adoptDigest(_ digest: String) {
        knownDigest = digest
    }

    /// The document's text, as a full sync sends it.
    public func serialized() -> [UInt8] { Array(XMLCodec.serialize(document).utf8) }

    /// What the DC does with a write: the next document (version set by Pacemaker's rules)
    /// and the patchset that turns this one into it; nil for a write that changes nothing.
    /// `withDigest` puts the target's versioned digest in the patchset (point 4).
    /// A `stamp` (with `origin`, the asking node's name) is written on `<cib>` when the
    /// configuration changes, as Pacemaker's `cib_perform_op` does; the patchset carries it.
    public func execute(_ operation: CIBOperation, withDigest: Bool, stamp: CIBWriteStamp? = nil,
                        origin: String? = nil) throws(CIBRequestError) -> (replica: CIBReplica, patch: Patchset)? {
        var next: XMLElement
        switch operation {
        case .patch(let text):
            var patch: Patchset
            do { patch = try Patchset(parsing: text) } catch { throw CIBRequestError("the patchset: \(error)") }
            // Its digest covers the status section the admin's query showed, which this
            // replica keeps empty (status is rendered from memory): versions are checked.
            patch.digest = nil
            if patch.changes.contains(where: { $0.path.hasPrefix("/cib/status") }) {
                throw CIBRequestError("the status section is the DC's (node states and attributes): use baton crm attribute")
            }
            do { next = try patch.apply(to: document, checkVersion: patch.versions != nil) } catch {
                throw CIBRequestError("the patchset does not apply to CIB \(version): \(error)")
            }
        case .replace(nil, let xml):
            next = try Self.parse(xml, expecting: "cib")
            let given: CIBVersion
            do { given = try CIBVersion(of: next) } catch { throw CIBRequestError("\(error)") }
            guard given >= version else {
                throw CIBRequestError("the replacement's version \(given) is older than the CIB's \(version) (Update was older than existing configuration)")
            }
        case .replace(let scope?, let xml):
            guard scope != "status" else { throw CIBRequestError("the status section is the DC's: it is not replaced") }
            guard CIBOperation.isScope(scope) else { throw CIBRequestError("unknown scope '\(scope)'") }
            let section = try Self.parse(xml, expecting: scope)
            next = document
            if scope == "configuration" {
                next.children = next.children.map { $0.name == "configuration" ? section : $0 }
            } else {
                guard let index = next.children.firstIndex(where: { $0.name == "configuration" }) else {
                    throw CIBRequestError("the CIB has no <configuration> to hold <\(scope)>")
                }
                if let at = next.children[index].children.firstIndex(where: { $0.name == scope }) {
                    next.children[index].children[at] = section
                } else {
                    next.children[index].children.append(section)
                }
            }
        case .upgrade:
            next = document
            next["validate-with"] = CIBOperation.newestSchema
        }
        next = Self.withEmptyStatus(next)
        let reached: CIBVersion
        do { reached = try CIBVersion(of: next) } catch { throw CIBRequestError("\(error)") }
        var unversioned = next
        version.write(to: &unversioned)
        guard unversioned != document || reached > version else { return nil }
        // A patchset or replacement that raised the version keeps it (cibadmin's own bump,
        // admin_epoch raised by hand); otherwise the change bumps it by Pacemaker's rules.
        let changesConfiguration = next.children(named: "configuration") != document.children(named: "configuration")
        let target = reached > version ? reached : version.bumped(by: changesConfiguration ? .configuration : .status)
        target.write(to: &next)
        // A CIB without a feature set (a seed written by hand) gets the DC's with its first
        // configuration change, as Pacemaker's DC stamps it at takeover: without it Pacemaker's
        // tools read the status as a pre-3.0 CIB's (crm_mon -f finds no fail-count-RSC#OP_MS).
        if changesConfiguration, next["crm_feature_set"] == nil { next["crm_feature_set"] = Self.featureSet }
        if let stamp, changesConfiguration || operation == .upgrade {
            next["cib-last-written"] = stamp.time
            next["update-origin"] = origin
            next["update-client"] = stamp.client
            next["update-user"] = stamp.user
        }
        // The versioned digest's form follows the feature set: a write that changes it sends
        // no digest (the receivers, like this replica, compute the new form when asked).
        let featureSetChanged = next["crm_feature_set"] != document["crm_feature_set"]
        let made: Patchset?
        do {
            made = try Patchset.make(from: document, to: next, asCIB: true, withDigest: withDigest && !featureSetChanged)
        } catch { throw CIBRequestError("\(error)") }
        guard let patch = made else { return nil }
        var replica = self
        replica.document = next
        replica.version = target
        replica.knownDigest = patch.digest
        return (replica, patch)
    }

    private static func parse(_ xml: String, expecting name: String) throws(CIBRequestError) -> XMLElement {
        let root: XMLElement
        do { root = try XMLCodec.parse(xml) } catch { throw CIBRequestError("the XML: \(error)") }
        guard root.name == name else { throw CIBRequestError("expected <\(name)> for this scope, got <\(root.name)>") }
        return root
    }

    /// Applies the DC's patchset (version checked, digest checked when it carries one). On
    /// an error the replica is unchanged: the caller asks the DC for a full sync.
    public mutating func apply(_ patch: Patchset, bytes: Int) throws(PatchsetError) {
        let next = try patch.apply(to: document, checkVersion: true)
        let reached: CIBVersion
        do { reached = try CIBVersion(of: next) } catch { throw PatchsetError(.malformed("\(error)")) }
        if let target = patch.versions?.target, target != reached {
            throw PatchsetError(.malformed("the result has version \(reached), the patchset's target is \(target)"))
        }
        document = next
        version = reached
        knownDigest = patch.digest
        approximateBytes += bytes / 2
    }
}

/// A full copy of the CIB on its way over the group (join round or resync), one chunk per
/// message: the version and digest of the whole say whether a member needs it at all.
public struct CIBSync: Hashable, Sendable {
    public var view: UInt64
    public var version: CIBVersion
    /// The versioned digest of the document sent ("" when the sender did not compute it).
    public var digest: String
    /// One `SyncChunks.Chunk`, encoded.
    public var chunk: [UInt8]

    public init(view: UInt64, version: CIBVersion, digest: String, chunk: [UInt8]) {
        self.view = view
        self.version = version
        self.digest = digest
        self.chunk = chunk
    }
}
