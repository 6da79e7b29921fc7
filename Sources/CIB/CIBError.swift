/// Why a CIB could not be read: always names the element, its id (when it has one) and the
/// line of the source document.
public struct CIBError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// libxml2 could not parse the document (not well-formed, empty, wrong encoding).
        case malformedXML(message: String)
        /// The root element is not `<cib>`.
        case unexpectedRoot
        case missingAttribute(name: String)
        case invalidValue(attribute: String, value: String)
        case unreadableFile(path: String)
        /// The document exceeds one of `XMLLimits` (depth, attributes, size) or holds what a CIB
        /// never does (a DOCTYPE with its entities).
        case limitExceeded(String)
        /// Two configuration elements with the same id (Pacemaker's schema rejects the document:
        /// "ID … redefined"); `firstLine` is the line of the first one.
        case duplicateID(firstElement: String, firstLine: Int)
    }

    public var kind: Kind
    public var element: String
    public var id: String?
    public var line: Int

    public init(_ kind: Kind, element: String, id: String?, line: Int) {
        self.kind = kind
        self.element = element
        self.id = id
        self.line = line
    }

    public var description: String {
        let place = "<\(element)\(id.map { " id=\"\($0)\"" } ?? "")> at line \(line)"
        switch kind {
        case .malformedXML(let message): return "malformed XML near \(place): \(message)"
        case .unexpectedRoot: return "expected <cib> as the root element, found \(place)"
        case .missingAttribute(let name): return "\(place) lacks the required attribute \(name)"
        case .invalidValue(let attribute, let value):
            return "\(place) has an invalid value \"\(value)\" for \(attribute)"
        case .unreadableFile(let path): return "cannot read \(path)"
        case .limitExceeded(let what): return "refused at \(place): \(what)"
        case .duplicateID(let firstElement, let firstLine):
            let first = firstLine == line ? "an earlier <\(firstElement)> on the same line" : "<\(firstElement)> at line \(firstLine)"
            return "\(place) reuses the id of \(first): every id in the configuration must be unique"
        }
    }
}
