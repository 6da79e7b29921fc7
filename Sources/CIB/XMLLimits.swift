/// Limits on a CIB document, and the one linear scan that enforces them before libxml2 reads
/// a document.
///
/// Why: libxml2 is the reader of last resort (the fast reader hands it every document outside
/// its subset), and some of its costs are not linear in the input. Found by reading hostile
/// documents with it:
/// - Depth: 75,000 nested elements overflowed the stack (the tree conversion recursed), and
///   `XML_PARSE_HUGE` lifts libxml2's own depth limit. Pacemaker's CIBs are about 10 deep.
/// - Entities: a DOCTYPE declaring entities that expand to each other ("billion laughs")
///   expands without bound inside attribute values (2 GB in 60 s). Pacemaker's CIBs have no
///   DTD: a DOCTYPE is refused before libxml2 sees it.
/// - Attributes: libxml2 2.9 checks a tag's attributes for duplicates pairwise and appends each
///   one at the end of a linked list: quadratic in the attributes of one element (100,000:
///   seconds). Pacemaker's elements carry a handful; name-value pairs are child elements.
///
/// The scan knows comments, processing instructions, CDATA and quoted attribute values, so on
/// a well-formed document it counts exactly what libxml2 would read; on a malformed one it may
/// stop anywhere, and libxml2 then reports the malformation.
public enum XMLLimits {
    /// Elements open at once (the root counts as 1); a leaf may sit one deeper.
    public static let depthMax = 256
    /// Attributes on one element.
    public static let attributesPerElementMax = 1024
    /// Bytes in one document (a CIB of 32 nodes x 4000 resources is ~60 MB).
    public static let documentBytesMax = 512 * 1024 * 1024

    private static let lessThan = UInt8(ascii: "<"), greaterThan = UInt8(ascii: ">")
    private static let newline = UInt8(ascii: "\n"), slash = UInt8(ascii: "/"), equals = UInt8(ascii: "=")
    private static let doubleQuote = UInt8(ascii: "\""), singleQuote = UInt8(ascii: "'")

    /// Throws the first limit the document exceeds, naming the element and its line.
    static func check(_ bytes: UnsafeBufferPointer<UInt8>) throws(CIBError) {
        guard bytes.count <= documentBytesMax else {
            throw CIBError(.limitExceeded("document of \(bytes.count) bytes, over \(documentBytesMax)"),
                           element: "document", id: nil, line: 0)
        }
        var position = 0
        var line = 1
        var depth = 0
        let count = bytes.count

        func startsWith(_ text: StaticString, at index: Int) -> Bool {
            let length = text.utf8CodeUnitCount
            guard index + length <= count else { return false }
            for offset in 0..<length where bytes[index + offset] != text.utf8Start[offset] { return false }
            return true
        }
        /// Moves past `terminator` (counting lines); false at the end of the document.
        func skip(through terminator: StaticString) -> Bool {
            while position < count {
                if bytes[position] == newline { line += 1 }
                if startsWith(terminator, at: position) {
                    position += terminator.utf8CodeUnitCount
                    return true
                }
                position += 1
            }
            return false
        }
        func elementName(at start: Int) -> String {
            var end = start
            while end < count, end - start < 64 {
                let byte = bytes[end]
                if byte <= 0x20 || byte == greaterThan || byte == slash || byte == equals { break }
                end += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }

        while position < count {
            let byte = bytes[position]
            if byte == newline { line += 1 }
            guard byte == lessThan else { position += 1; continue }
            if startsWith("<!--", at: position) {
                position += 4
                guard skip(through: "-->") else { return }
            } else if startsWith("<![CDATA[", at: position) {
                position += 9
                guard skip(through: "]]>") else { return }
            } else if startsWith("<?", at: position) {
                position += 2
                guard skip(through: "?>") else { return }
            } else if startsWith("<!DOCTYPE", at: position) {
                throw CIBError(.limitExceeded("a DOCTYPE (document type declarations and their entities are refused: a CIB has none)"),
                               element: "!DOCTYPE", id: nil, line: line)
            } else if position + 1 < count, bytes[position + 1] == slash {
                depth = max(0, depth - 1)
                position += 2
            } else {
                // A start tag: count its attributes (one "=" outside quotes each) up to its ">".
                let tagLine = line
                position += 1
                let nameStart = position
                var attributes = 0
                var quote: UInt8?
                var isEmpty = false
                tag: while position < count {
                    let current = bytes[position]
                    if current == newline { line += 1 }
                    if let open = quote {
                        if current == open { quote = nil }
                    } else {
                        switch current {
                        case doubleQuote, singleQuote: quote = current
                        case equals:
                            attributes += 1
                            guard attributes <= attributesPerElementMax else {
                                throw CIBError(.limitExceeded("more than \(attributesPerElementMax) attributes on one element"),
                                               element: elementName(at: nameStart), id: nil, line: tagLine)
                            }
                        case greaterThan:
                            isEmpty = bytes[position - 1] == slash
                            break tag
                        case lessThan:
                            return   // not well-formed: libxml2 says where
                        default: break
                        }
                    }
                    position += 1
                }
                if !isEmpty {
                    depth += 1
                    guard depth <= depthMax else {
                        throw CIBError(.limitExceeded("elements nested more than \(depthMax) deep"),
                                       element: elementName(at: nameStart), id: nil, line: tagLine)
                    }
                }
                position += 1
            }
        }
    }
}
