/// A fast reader for the XML that CIBs are made of: ASCII, UTF-8 (or no) declaration, elements,
/// attributes, the five predefined entities and character references, comments, processing
/// instructions and CDATA (text is not kept: the CIB has none that matters).
///
/// Why: building libxml2's DOM and then converting it costs most of the time of reading a big
/// CIB (a 32-node x 1000-resource status section is ~9 MB); scanning the bytes once straight
/// into `XMLElement`s is several times faster. It is only a fast path: anything outside the
/// subset above, or anything not well-formed, makes it return nil, and the caller reads the
/// document with libxml2 as before (same tree, same error messages and lines). It therefore
/// must never accept what libxml2 refuses, nor read a document differently; the CIB tests
/// compare both readers on every conformance input and on tricky documents.
///
/// Line numbers follow libxml2: an element's line is where its start tag ends.
struct FastXMLReader {
    /// Deeper documents, and elements with more attributes, are left to libxml2's path, where
    /// `XMLLimits` refuses them with an error that says where.
    static let depthMax = XMLLimits.depthMax
    /// Up to this many attributes a tag's names are compared pairwise for duplicates; beyond,
    /// through a set (linear in the attributes, not quadratic).
    private static let pairwiseAttributesMax = 16

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var line = 1
    private var strings = StringTable()
    /// Scratch space for the start tag being read (reused: no allocation per element).
    private let tagAttributes = MoveBuffer<XMLElement.Attribute>()
    private var tagAttributeNames: [Range<Int>] = []
    /// The names of a tag with more than `pairwiseAttributesMax` attributes.
    private var tagAttributeNameSet: Set<String> = []
    /// The names last read at each attribute position and element depth: sibling elements
    /// repeat them, so their String is reused after a byte comparison.
    private var attributeNameCache: [(bytes: Range<Int>, name: String)] = []
    private var elementNameCache: [(bytes: Range<Int>, name: String)] = []

    /// The status lane (readCIB only): off, waiting for the root's first `<status>`, or done
    /// (tried once, whether it succeeded or not).
    private enum StatusLane { case off, waiting, done }
    private var statusLane = StatusLane.off
    private var decodedStatus: Status?
    /// Scratch space of the lane (reused: no allocation per lrm_resource).
    private let laneOperations = MoveBuffer<LRMOperation>()
    private let laneResources = MoveBuffer<LRMResource>()

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The root element, or nil when the document must be read by libxml2.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>) -> XMLElement? {
        var reader = FastXMLReader(bytes)
        return reader.document()
    }

    /// A CIB document: the root element and, when the status lane read the root's first
    /// `<status>` straight into the typed model, that status (then left out of the root's
    /// children). Nil when the document must be read by libxml2.
    static func readCIB(_ bytes: UnsafeBufferPointer<UInt8>) -> (root: XMLElement, status: Status?)? {
        var reader = FastXMLReader(bytes)
        reader.statusLane = .waiting
        guard let root = reader.document() else { return nil }
        return (root, reader.decodedStatus)
    }

    // MARK: bytes

    private static let lessThan = UInt8(ascii: "<"), greaterThan = UInt8(ascii: ">")
    private static let ampersand = UInt8(ascii: "&"), slash = UInt8(ascii: "/")
    private static let question = UInt8(ascii: "?"), exclamation = UInt8(ascii: "!")
    private static let equals = UInt8(ascii: "=")
    private static let newline = UInt8(ascii: "\n"), tab = UInt8(ascii: "\t"), space = UInt8(ascii: " ")
    private static let doubleQuote = UInt8(ascii: "\""), singleQuote = UInt8(ascii: "'")
    private static let closingBracket = UInt8(ascii: "]"), semicolon = UInt8(ascii: ";")

    @inline(__always) private func byte(at index: Int) -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    @inline(__always) private func startsWith(_ text: StaticString, at index: Int) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let pattern = text.utf8Start
        for offset in 0..<count where bytes[index + offset] != pattern[offset] { return false }
        return true
    }

    /// A byte that may appear as itself in text, attribute values and comments: printable
    /// ASCII, tab and newline. Carriage returns (line-end normalisation), other controls and
    /// anything non-ASCII are left to libxml2.
    @inline(__always) private static func isPlain(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte < 0x7f) || byte == 0x09 || byte == 0x0a
    }

    @inline(__always) private static func isNameStart(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || byte == 0x5f
    }

    /// Colons (namespaces: libxml2 keeps only the local name) are left to libxml2.
    @inline(__always) private static func isNameByte(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2d || byte == 0x2e
    }

    /// Skips spaces, tabs and newlines; false on a carriage return.
    @inline(__always) private mutating func skipWhitespace() -> Bool {
        while position < bytes.count {
            switch bytes[position] {
            case Self.space, Self.tab: position += 1
            case Self.newline: position += 1; line += 1
            case 0x0d: return false
            default: return true
            }
        }
        return true
    }

    /// The extent of a name at the current position (empty when there is none).
    private mutating func name() -> Range<Int> {
        let start = position
        guard let first = byte(at: position), Self.isNameStart(first) else { return start..<start }
        position += 1
        while position < bytes.count, Self.isNameByte(bytes[position]) { position += 1 }
        // A name that goes on with a byte the fast path does not know (":" or non-ASCII) is
        // not a name here: the caller fails, and libxml2 reads the document.
        if position < bytes.count, bytes[position] == UInt8(ascii: ":") || bytes[position] >= 0x80 {
            return start..<start
        }
        return start..<position
    }

    // MARK: document

    private mutating func document() -> XMLElement? {
        if startsWith("<?xml", at: 0) {
            guard declaration() else { return nil }
        }
        guard misc(), position < bytes.count else { return nil }
        guard let root = element() else { return nil }
        guard misc(), position == bytes.count else { return nil }
        return root
    }

    /// `<?xml version="1.x" encoding="UTF-8" standalone="…"?>`; any other encoding is
    /// libxml2's to read.
    private mutating func declaration() -> Bool {
        position = 5
        var seen: [String] = []
        while true {
            let before = position
            guard skipWhitespace() else { return false }
            if startsWith("?>", at: position) { position += 2; break }
            guard position > before else { return false }
            let nameRange = name()
            guard !nameRange.isEmpty else { return false }
            let attribute = string(nameRange)
            guard skipWhitespace(), byte(at: position) == Self.equals else { return false }
            position += 1
            guard skipWhitespace(), let quote = byte(at: position), quote == Self.doubleQuote || quote == Self.singleQuote
            else { return false }
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote {
                guard Self.isPlain(bytes[position]), bytes[position] != Self.newline, bytes[position] != Self.lessThan,
                      bytes[position] != Self.ampersand else { return false }
                position += 1
            }
            guard position < bytes.count else { return false }
            let value = string(start..<position)
            position += 1
            switch attribute {
            case "version": guard seen.isEmpty, value == "1.0" else { return false }
            case "encoding": guard seen == ["version"], value.lowercased() == "utf-8" else { return false }
            case "standalone":
                guard seen.first == "version", !seen.contains("standalone"), value == "yes" || value == "no"
                else { return false }
            default: return false
            }
            seen.append(attribute)
        }
        return seen.first == "version"
    }

    /// Whitespace, comments and processing instructions outside the root element.
    private mutating func misc() -> Bool {
        while true {
            guard skipWhitespace() else { return false }
            if startsWith("<!--", at: position) {
                guard comment() else { return false }
            } else if startsWith("<?", at: position) {
                guard processingInstruction() else { return false }
            } else {
                return true
            }
        }
    }

    /// Skips plain bytes (counting lines) up to and past the first `terminator`; false at a
    /// byte that is not plain or at the end of the document.
    private mutating func skip(through terminator: StaticString) -> Bool {
        let first = terminator.utf8Start[0]
        while position < bytes.count {
            let current = bytes[position]
            if current == first, startsWith(terminator, at: position) {
                position += terminator.utf8CodeUnitCount
                return true
            }
            guard Self.isPlain(current) else { return false }
            if current == Self.newline { line += 1 }
            position += 1
        }
        return false
    }

    /// `<!-- … -->`: "--" may not appear inside.
    private mutating func comment() -> Bool {
        position += 4
        guard skip(through: "--"), byte(at: position) == Self.greaterThan else { return false }
        position += 1
        return true
    }

    /// `<?target …?>`; a target spelled "xml" in any case is reserved.
    private mutating func processingInstruction() -> Bool {
        position += 2
        let target = name()
        guard !target.isEmpty else { return false }
        if target.count == 3, (bytes[target.lowerBound] | 0x20) == UInt8(ascii: "x"),
           (bytes[target.lowerBound + 1] | 0x20) == UInt8(ascii: "m"),
           (bytes[target.lowerBound + 2] | 0x20) == UInt8(ascii: "l") { return false }
        if startsWith("?>", at: position) { position += 2; return true }
        guard let next = byte(at: position), next == Self.space || next == Self.tab || next == Self.newline else { return false }
        return skip(through: "?>")
    }

    /// `<![CDATA[ … ]]>` in content.
    private mutating func characterData() -> Bool {
        position += 9
        return skip(through: "]]>")
    }

    // MARK: elements

    private struct Open {
        var element: XMLElement
        let name: Range<Int>
    }

    /// The element at the current position and everything in it (iteratively: no recursion
    /// on the document's depth).
    private mutating func element(depth baseDepth: Int = 0) -> XMLElement? {
        var stack: [Open] = []
        // The children of the open element at each depth, collected in reused buffers and
        // copied once, at the exact size, when it closes (no growth per appended child).
        var childBuffers: [MoveBuffer<XMLElement>] = []
        while true {
            // At "<" of a start tag.
            var laneRead = false
            if statusLane == .waiting, baseDepth == 0, stack.count == 1, stack[0].element.name == "cib",
               nextNameIs("status") {
                // The root's first <status>: straight into the typed model when the lane can;
                // else (anything it does not expect) read again the generic way.
                statusLane = .done
                let (start, startLine) = (position, line)
                if let status = laneStatus() {
                    decodedStatus = status
                    laneRead = true
                } else {
                    (position, line) = (start, startLine)
                }
            }
            if !laneRead {
                guard let (open, isEmpty) = startTag(depth: baseDepth + stack.count) else { return nil }
                if isEmpty {
                    guard !stack.isEmpty else { return open.element }
                    childBuffers[stack.count - 1].append(open.element)
                } else {
                    guard baseDepth + stack.count < Self.depthMax else { return nil }
                    stack.append(open)
                    if childBuffers.count < stack.count { childBuffers.append(MoveBuffer()) }
                }
            }
            // Content until the next start tag, closing the elements whose end tags come first.
            while true {
                guard content() else { return nil }
                if byte(at: position + 1) == Self.slash {
                    guard var closed = stack.popLast(), endTag(closed.name) else { return nil }
                    let depth = stack.count
                    if !childBuffers[depth].isEmpty { closed.element.children = childBuffers[depth].take() }
                    guard !stack.isEmpty else { return closed.element }
                    childBuffers[depth - 1].append(closed.element)
                } else {
                    break
                }
            }
        }
    }

    /// Text, comments, processing instructions and CDATA up to the next start or end tag
    /// (left at its "<").
    private mutating func content() -> Bool {
        while position < bytes.count {
            let current = bytes[position]
            if current == Self.lessThan {
                if startsWith("<!--", at: position) {
                    guard comment() else { return false }
                } else if startsWith("<![CDATA[", at: position) {
                    guard characterData() else { return false }
                } else if byte(at: position + 1) == Self.question {
                    guard processingInstruction() else { return false }
                } else if byte(at: position + 1) == Self.exclamation {
                    return false
                } else {
                    return true
                }
            } else if current == Self.ampersand {
                guard reference() != nil else { return false }
            } else if current == Self.greaterThan {
                // "]]>" may not appear in text.
                guard position < 2 || bytes[position - 1] != Self.closingBracket || bytes[position - 2] != Self.closingBracket
                else { return false }
                position += 1
            } else {
                guard Self.isPlain(current) else { return false }
                if current == Self.newline { line += 1 }
                position += 1
            }
        }
        return false
    }

    /// `<name attribute="value" …>` or `…/>`.
    private mutating func startTag(depth: Int) -> (Open, isEmpty: Bool)? {
        guard let (nameRange, isEmpty) = scanStartTag() else { return nil }
        // One allocation of the exact size.
        let name = cachedName(nameRange, at: depth, isElement: true)
        let element = XMLElement(name: name, attributes: tagAttributes.take(), line: line)
        return (Open(element: element, name: nameRange), isEmpty)
    }

    /// Reads a start tag, leaving its attributes in `tagAttributes` and the position after
    /// its ">" (or "/>"); `line` is then the element's line.
    private mutating func scanStartTag() -> (name: Range<Int>, isEmpty: Bool)? {
        position += 1
        let nameRange = name()
        guard !nameRange.isEmpty else { return nil }
        tagAttributes.removeAll()
        tagAttributeNames.removeAll(keepingCapacity: true)
        while true {
            let before = position
            guard skipWhitespace(), let current = byte(at: position) else { return nil }
            var isEmpty = false
            if current == Self.slash {
                guard byte(at: position + 1) == Self.greaterThan else { return nil }
                isEmpty = true
            } else if current != Self.greaterThan {
                // Attributes are separated by whitespace.
                guard position > before, tagAttributes.count < XMLLimits.attributesPerElementMax,
                      let (attributeName, value) = attribute() else { return nil }
                let name = cachedName(attributeName, at: tagAttributes.count, isElement: false)
                if tagAttributes.count < Self.pairwiseAttributesMax {
                    for earlier in tagAttributeNames where equal(earlier, attributeName) { return nil }
                    tagAttributeNames.append(attributeName)
                } else {
                    if tagAttributes.count == Self.pairwiseAttributesMax {
                        tagAttributeNameSet = Set(tagAttributes.buffer.lazy.map(\.name))
                    }
                    guard tagAttributeNameSet.insert(name).inserted else { return nil }
                }
                tagAttributes.append(XMLElement.Attribute(name: name, value: value))
                continue
            }
            position += isEmpty ? 2 : 1
            return (nameRange, isEmpty)
        }
    }

    // MARK: the status lane

    // A status section is nearly all of a big CIB (32 nodes x 1000 resources: 32,000
    // lrm_resource and 64,000 lrm_rsc_op elements). The lane reads it into `Status` without
    // building those elements: each lrm_rsc_op is decoded from the attributes just scanned,
    // each lrm_resource from its start tag and its operations. Everything else in the status
    // section (transient attributes, tickets, unknown elements) is read the generic way and
    // decoded by the model's own initialisers, on elements that hold the same attributes and
    // the same other children in the same order: the result is the value `Status(xml:)` gives.
    // Anything the lane does not expect (a second lrm in a node_state, an element inside an
    // lrm_rsc_op, a value the model refuses …) makes it give up, and the section is read
    // again the generic way, so that errors are reported exactly as before. The CIB tests
    // compare both ways on every conformance input and on mutated documents.

    /// `true` when the start tag at the current "<" has this name (nothing is consumed).
    private func nextNameIs(_ expected: StaticString) -> Bool {
        let count = expected.utf8CodeUnitCount
        guard startsWith(expected, at: position + 1), let after = byte(at: position + 1 + count) else { return false }
        return !Self.isNameByte(after) && after != UInt8(ascii: ":") && after < 0x80
    }

    /// After `content()`: true at an end tag (which is then read and checked against `name`),
    /// false at a start tag; nil when the document is not what it should be.
    private mutating func atEndTag(of name: Range<Int>) -> Bool? {
        guard content() else { return nil }
        guard byte(at: position + 1) == Self.slash else { return false }
        return endTag(name) ? true : nil
    }

    /// The element at the current "<" (named `elementName`, at `depth`) without its children
    /// named `special`, which `readSpecial` reads (false: give up); the other children are
    /// read the generic way.
    private mutating func laneElement(
        _ elementName: String, depth: Int, special: StaticString, _ readSpecial: (inout FastXMLReader) -> Bool
    ) -> XMLElement? {
        guard let (name, isEmpty) = scanStartTag() else { return nil }
        let elementLine = line
        let attributes = tagAttributes.take()
        var others: [XMLElement] = []
        if !isEmpty {
            while true {
                guard let closed = atEndTag(of: name) else { return nil }
                if closed { break }
                if nextNameIs(special) {
                    guard readSpecial(&self) else { return nil }
                } else {
                    guard let other = element(depth: depth + 1) else { return nil }
                    others.append(other)
                }
            }
        }
        return XMLElement(name: elementName, attributes: attributes, children: others, line: elementLine)
    }

    /// `<status>` at depth 1.
    private mutating func laneStatus() -> Status? {
        var nodeStates: [NodeState] = []
        guard let shell = laneElement("status", depth: 1, special: "node_state", { reader in
            guard let state = reader.laneNodeState() else { return false }
            nodeStates.append(state)
            return true
        }) else { return nil }
        guard var status = try? Status(xml: shell) else { return nil }
        status.nodeStates = nodeStates
        return status
    }

    /// `<node_state>` at depth 2: its first (and only) `<lrm>` through the lane.
    private mutating func laneNodeState() -> NodeState? {
        var lrm: LocalResourceManager?
        guard let shell = laneElement("node_state", depth: 2, special: "lrm", { reader in
            guard lrm == nil, let decoded = reader.laneLRM() else { return false }
            lrm = decoded
            return true
        }) else { return nil }
        guard var state = try? NodeState(xml: shell) else { return nil }
        state.lrm = lrm
        return state
    }

    /// `<lrm>` at depth 3 with its first (and only) `<lrm_resources>`.
    private mutating func laneLRM() -> LocalResourceManager? {
        var resources: (id: String?, list: [LRMResource], extras: Extras)?
        guard let shell = laneElement("lrm", depth: 3, special: "lrm_resources", { reader in
            guard resources == nil, let decoded = reader.laneLRMResources() else { return false }
            resources = decoded
            return true
        }) else { return nil }
        guard var lrm = try? LocalResourceManager(xml: shell) else { return nil }
        if let resources {
            lrm.hasResourcesElement = true
            lrm.resourcesID = resources.id
            lrm.resources = resources.list
            lrm.resourcesExtras = resources.extras
        }
        return lrm
    }

    /// `<lrm_resources>` at depth 4: its id, its lrm_resource children and the rest.
    private mutating func laneLRMResources() -> (id: String?, list: [LRMResource], extras: Extras)? {
        laneResources.removeAll()
        guard let shell = laneElement("lrm_resources", depth: 4, special: "lrm_resource", { reader in
            guard let resource = reader.laneLRMResource() else { return false }
            reader.laneResources.append(resource)
            return true
        }) else { return nil }
        var id: String?
        var extraAttributes: [XMLElement.Attribute] = []
        for attribute in shell.attributes {
            if attribute.name == "id" { if id == nil { id = attribute.value } } else { extraAttributes.append(attribute) }
        }
        return (id, laneResources.take(), Extras(attributes: extraAttributes, children: shell.children))
    }

    /// `<lrm_resource>` at depth 5: the attributes decoded at once, each empty lrm_rsc_op
    /// from its scanned attributes, any other child the generic way.
    private mutating func laneLRMResource() -> LRMResource? {
        guard let (name, isEmpty) = scanStartTag() else { return nil }
        guard var resource = try? LRMResource(attributes: tagAttributes.buffer, line: line) else { return nil }
        guard !isEmpty else { return resource }
        laneOperations.removeAll()
        while true {
            guard let closed = atEndTag(of: name) else { return nil }
            if closed { break }
            let (start, startLine) = (position, line)
            if nextNameIs("lrm_rsc_op") {
                // The common case first: an empty element with plain values, decoded while
                // scanned; else the start tag is scanned again the general way.
                if let operation = scanPlainOperation() {
                    laneOperations.append(operation)
                    continue
                }
                (position, line) = (start, startLine)
                guard let (_, operationIsEmpty) = scanStartTag() else { return nil }
                if operationIsEmpty {
                    guard let operation = try? LRMOperation(attributes: tagAttributes.buffer, children: [], line: line)
                    else { return nil }
                    laneOperations.append(operation)
                    continue
                }
                // An operation with children: the generic way.
                (position, line) = (start, startLine)
                guard let element = element(depth: 6), let operation = try? LRMOperation(xml: element) else { return nil }
                laneOperations.append(operation)
            } else {
                guard let other = element(depth: 6) else { return nil }
                resource.extras.children.append(other)
            }
        }
        resource.operations = laneOperations.take()
        return resource
    }

    /// An empty `<lrm_rsc_op …/>` whose values are all plain (no references, tabs or
    /// newlines) and whose numbers are plain digits, decoded as it is scanned: the numbers
    /// straight from their bytes, the strings through the string table, without building an
    /// attribute list. The value equals `LRMOperation(attributes:…)` on the same attributes.
    /// Nil for anything else (the caller then scans the tag the general way, which also
    /// finds any error).
    private mutating func scanPlainOperation() -> LRMOperation? {
        position += 1 + 10   // "<lrm_rsc_op"
        var id, operation, transitionKey, transitionMagic, opDigest, exitReason, onNode: String?
        var interval, callID, rcCode, opStatus, lastRCChange, lastRun: Int?
        var extraAttributes: [XMLElement.Attribute] = []
        var extraNames: [Range<Int>] = []
        var seen: UInt16 = 0
        while true {
            let before = position
            guard skipWhitespace(), let current = byte(at: position) else { return nil }
            if current == Self.slash {
                guard byte(at: position + 1) == Self.greaterThan else { return nil }
                position += 2
                break
            }
            guard current != Self.greaterThan, position > before else { return nil }
            let nameRange = name()
            guard !nameRange.isEmpty, skipWhitespace(), byte(at: position) == Self.equals else { return nil }
            position += 1
            guard skipWhitespace(), let quote = byte(at: position), quote == Self.doubleQuote || quote == Self.singleQuote
            else { return nil }
            position += 1
            let valueStart = position
            while position < bytes.count {
                let byte = bytes[position]
                if byte == quote { break }
                guard byte >= 0x20, byte < 0x7f, byte != Self.lessThan, byte != Self.ampersand else { return nil }
                position += 1
            }
            guard position < bytes.count else { return nil }
            let value = valueStart..<position
            position += 1
            // Which field (by length, then bytes); a field seen twice is left to the general way.
            let field = Self.operationField(bytes, nameRange)
            if field >= 0 {
                guard seen & (1 << field) == 0 else { return nil }
                seen |= 1 << field
            }
            switch field {
            case 0: id = string(value)
            case 1: operation = string(value)
            case 2: guard let number = digits(value) else { return nil }; interval = number
            case 3: guard let number = digits(value) else { return nil }; callID = number
            case 4: guard let number = digits(value) else { return nil }; rcCode = number
            case 5: guard let number = digits(value) else { return nil }; opStatus = number
            case 6: transitionKey = string(value)
            case 7: transitionMagic = string(value)
            case 8: opDigest = string(value)
            case 9: guard let number = digits(value) else { return nil }; lastRCChange = number
            case 10: guard let number = digits(value) else { return nil }; lastRun = number
            case 11: exitReason = string(value)
            case 12: onNode = string(value)
            default:
                // Few extras in practice; many are read the general way (linear duplicate check).
                guard extraNames.count < Self.pairwiseAttributesMax else { return nil }
                for earlier in extraNames where equal(earlier, nameRange) { return nil }
                extraNames.append(nameRange)
                extraAttributes.append(XMLElement.Attribute(
                    name: cachedName(nameRange, at: extraAttributes.count, isElement: false), value: string(value)))
            }
        }
        guard let id, let operation else { return nil }
        return LRMOperation(id: id, operation: operation, interval: interval ?? 0, callID: callID, rcCode: rcCode,
                            opStatus: opStatus, transitionKey: transitionKey, transitionMagic: transitionMagic,
                            opDigest: opDigest, lastRCChange: lastRCChange, lastRun: lastRun, exitReason: exitReason,
                            onNode: onNode, extras: Extras(attributes: extraAttributes, children: []))
    }

    /// A value of plain decimal digits (1 to 18, no sign or spaces): its number; else nil.
    @inline(__always) private func digits(_ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for index in range {
            let digit = bytes[index] &- 0x30
            guard digit <= 9 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// The typed field of an lrm_rsc_op attribute name, numbered as in `scanPlainOperation`;
    /// -1 for a name the model keeps untyped.
    @inline(__always) private static func operationField(_ bytes: UnsafeBufferPointer<UInt8>, _ name: Range<Int>) -> Int {
        func named(_ text: StaticString) -> Bool {
            let pattern = text.utf8Start
            for offset in 0..<name.count where bytes[name.lowerBound + offset] != pattern[offset] { return false }
            return true
        }
        switch name.count {
        case 2: return named("id") ? 0 : -1
        case 7: return named("call-id") ? 3 : named("rc-code") ? 4 : named("on_node") ? 12 : -1
        case 8: return named("interval") ? 2 : named("last-run") ? 10 : -1
        case 9: return named("operation") ? 1 : named("op-status") ? 5 : named("op-digest") ? 8 : -1
        case 11: return named("exit-reason") ? 11 : -1
        case 14: return named("transition-key") ? 6 : named("last-rc-change") ? 9 : -1
        case 16: return named("transition-magic") ? 7 : -1
        default: return -1
        }
    }

    /// `name="value"` (or single quotes), with the value as libxml2 gives it: references
    /// replaced, tabs and newlines written as spaces.
    private mutating func attribute() -> (Range<Int>, String)? {
        let nameRange = name()
        guard !nameRange.isEmpty, skipWhitespace(), byte(at: position) == Self.equals else { return nil }
        position += 1
        guard skipWhitespace(), let quote = byte(at: position), quote == Self.doubleQuote || quote == Self.singleQuote
        else { return nil }
        position += 1
        let start = position
        // The common case: nothing to replace, so the bytes are the value.
        while position < bytes.count {
            let current = bytes[position]
            if current == quote {
                let value = string(start..<position)
                position += 1
                return (nameRange, value)
            }
            guard current >= 0x20, current < 0x7f, current != Self.lessThan, current != Self.ampersand else { break }
            position += 1
        }
        var value = Array(bytes[start..<position])
        while position < bytes.count {
            let current = bytes[position]
            if current == quote {
                position += 1
                return (nameRange, String(decoding: value, as: UTF8.self))
            }
            if current == Self.ampersand {
                guard let replacement = reference() else { return nil }
                value.append(replacement)
                continue
            }
            guard Self.isPlain(current), current != Self.lessThan else { return nil }
            if current == Self.newline { line += 1 }
            value.append(current == Self.tab || current == Self.newline ? Self.space : current)
            position += 1
        }
        return nil
    }

    /// `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` or a character reference to a plain ASCII
    /// character; anything else (other entities, non-ASCII) is libxml2's.
    private mutating func reference() -> UInt8? {
        let start = position + 1
        var end = start
        while end < bytes.count, end - start < 10, bytes[end] != Self.semicolon { end += 1 }
        guard end < bytes.count, bytes[end] == Self.semicolon, end > start else { return nil }
        var result: UInt8?
        if bytes[start] == UInt8(ascii: "#") {
            var value = 0
            let isHex = start + 1 < end && bytes[start + 1] == UInt8(ascii: "x")
            let digits = (isHex ? start + 2 : start + 1)..<end
            guard !digits.isEmpty else { return nil }
            for index in digits {
                let digit = bytes[index]
                switch digit {
                case 0x30...0x39: value = value * (isHex ? 16 : 10) + Int(digit - 0x30)
                case 0x61...0x66 where isHex: value = value * 16 + Int(digit - 0x61 + 10)
                case 0x41...0x46 where isHex: value = value * 16 + Int(digit - 0x41 + 10)
                default: return nil
                }
            }
            // Tab, newline and printable ASCII; a character reference is not normalised.
            guard value == 0x09 || value == 0x0a || (value >= 0x20 && value < 0x7f) else { return nil }
            result = UInt8(value)
        } else {
            switch string(start..<end) {
            case "amp": result = Self.ampersand
            case "lt": result = Self.lessThan
            case "gt": result = Self.greaterThan
            case "quot": result = Self.doubleQuote
            case "apos": result = Self.singleQuote
            default: return nil
            }
        }
        position = end + 1
        return result
    }

    /// `</name>` for the element opened with `name`.
    private mutating func endTag(_ expected: Range<Int>) -> Bool {
        position += 2
        let nameRange = name()
        guard equal(nameRange, expected), skipWhitespace(), byte(at: position) == Self.greaterThan else { return false }
        position += 1
        return true
    }

    /// The String for a name, from `cache` when the name there (at `position`) has the same bytes.
    @inline(__always) private mutating func cachedName(_ range: Range<Int>, at position: Int, isElement: Bool) -> String {
        if isElement {
            if position < elementNameCache.count, equal(elementNameCache[position].bytes, range) { return elementNameCache[position].name }
        } else {
            if position < attributeNameCache.count, equal(attributeNameCache[position].bytes, range) { return attributeNameCache[position].name }
        }
        let name = string(range)
        if isElement {
            if position < elementNameCache.count { elementNameCache[position] = (range, name) }
            else if position == elementNameCache.count { elementNameCache.append((range, name)) }
        } else {
            if position < attributeNameCache.count { attributeNameCache[position] = (range, name) }
            else if position == attributeNameCache.count { attributeNameCache.append((range, name)) }
        }
        return name
    }

    @inline(__always) private func equal(_ left: Range<Int>, _ right: Range<Int>) -> Bool {
        guard left.count == right.count else { return false }
        for offset in 0..<left.count where bytes[left.lowerBound + offset] != bytes[right.lowerBound + offset] { return false }
        return true
    }

    /// The bytes as a String; longer strings that repeat (names, digests, agent names) share
    /// one copy.
    @inline(__always) private mutating func string(_ range: Range<Int>) -> String {
        strings.string(UnsafeBufferPointer(rebasing: bytes[range]))
    }
}

/// Interns the strings of a document. Long ones (over Swift's 15 inline bytes) so that the
/// many repeats of a long name or value in a CIB are one allocation; short ones because a
/// status section repeats nearly every value on every node, and finding the String made
/// before (two words compared) is cheaper than making it again. Fixed-size tables: a
/// collision replaces the older entry (still correct, only less sharing).
private struct StringTable {
    static let slots = 4096
    static let shortSlots = 8192
    private var entries: [String?] = Array(repeating: nil, count: slots)
    /// Short strings by their bytes packed in two words (the length in the top byte).
    private var shortEntries: [(low: UInt64, high: UInt64, string: String)] =
        Array(repeating: (0, 0, ""), count: shortSlots)

    mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count > 15 else { return short(bytes) }
        // Hashed and compared eight bytes at a time (the bytes a byte at a time were a
        // visible part of reading a status section full of 32-byte digests).
        let count = bytes.count
        let base = UnsafeRawPointer(bytes.baseAddress!)
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ Self.word(base, offset)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
            offset += 8
        }
        if offset < count {
            hash = (hash ^ Self.word(base, count - 8)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 29
        }
        let slot = Int(truncatingIfNeeded: (hash &* 0x94D0_49BB_1331_11EB) >> 52) & (Self.slots - 1)
        if var existing = entries[slot] {
            let same = existing.withUTF8 { stored in
                guard stored.count == count else { return false }
                let other = UnsafeRawPointer(stored.baseAddress!)
                var offset = 0
                while offset + 8 <= count {
                    if Self.word(base, offset) != Self.word(other, offset) { return false }
                    offset += 8
                }
                return offset == count || Self.word(base, count - 8) == Self.word(other, count - 8)
            }
            if same { return existing }
        }
        let created = String(decoding: bytes, as: UTF8.self)
        entries[slot] = created
        return created
    }

    @inline(__always) private static func word(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    private mutating func short(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        precondition(bytes.count <= 15, "short strings have at most 15 bytes")
        // The bytes packed little-endian: byte i at bits 8i of `low` (i < 8) or 8(i-8) of
        // `high`; read with (overlapping) word loads inside the range rather than byte by byte.
        let count = bytes.count
        var low: UInt64 = 0, high = UInt64(count) << 56
        if count >= 8 {
            let base = UnsafeRawPointer(bytes.baseAddress!)
            low = Self.word(base, 0)
            if count > 8 { high |= Self.word(base, count - 8) >> UInt64(8 * (16 - count)) }
        } else if count >= 4 {
            let base = UnsafeRawPointer(bytes.baseAddress!)
            let first = UInt64(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self)))
            let last = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
            low = first | (last << UInt64(8 * (count - 4)))
        } else {
            for index in 0..<count { low |= UInt64(bytes[index]) << UInt64(8 * index) }
        }
        // The empty string packs to (0, 0): the initial entries are correct for it.
        let mixed = (low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
        let slot = Int(truncatingIfNeeded: mixed >> 51) & (Self.shortSlots - 1)
        let entry = shortEntries[slot]
        if entry.low == low && entry.high == high { return entry.string }
        let created = String(decoding: bytes, as: UTF8.self)
        shortEntries[slot] = (low, high, created)
        return created
    }
}

/// A reusable buffer whose contents are moved, not copied, into an array of the exact size:
/// collecting a tag's attributes or an element's children in an `Array` and copying it out
/// retained every String and array in it once more, and clearing the buffer released them
/// again (a few million reference-count operations for a big status section).
private final class MoveBuffer<Element> {
    private var storage: UnsafeMutablePointer<Element>
    private var capacity = 16
    private(set) var count = 0

    init() { storage = .allocate(capacity: 16) }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// The contents in place (valid until the buffer next changes).
    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: storage, count: count) }

    subscript(index: Int) -> Element { storage[index] }

    @inline(__always) func append(_ element: __owned Element) {
        if count == capacity {
            let larger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
            larger.moveInitialize(from: storage, count: count)
            storage.deallocate()
            storage = larger
            capacity *= 2
        }
        (storage + count).initialize(to: element)
        count += 1
    }

    @inline(__always) func removeAll() {
        storage.deinitialize(count: count)
        count = 0
    }

    /// The contents, moved into a new array; the buffer is empty afterwards.
    @inline(__always) func take() -> [Element] {
        let taken = count
        count = 0
        guard taken > 0 else { return [] }
        // Reserved, then appended by moving: `Array(unsafeUninitializedCapacity:)` allocates
        // through a function the standard library keeps unspecialised, which looks up the
        // array storage's generic metadata at run time on every call (4 % of reading a big
        // status section); `reserveCapacity` on an empty array is specialised here.
        var result: [Element] = []
        result.reserveCapacity(taken)
        for index in 0..<taken { result.append((storage + index).move()) }
        return result
    }
}
