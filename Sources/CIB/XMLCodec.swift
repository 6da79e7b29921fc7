import CLibXML2

/// libxml2 must be initialised once before concurrent use; a lazily initialised global
/// constant is run exactly once by the Swift runtime (swift_once), so this is not mutable state.
private let libxml2Initialized: Bool = {
    xmlInitParser()
    return true
}()

private struct FirstParseError {
    var message: String?
    var line = 0
}

/// Reads and writes XML documents with libxml2, to and from `XMLElement` trees.
public enum XMLCodec {
    /// Bounds: documents above this size are refused (a CIB of 32 nodes x 4000 resources is ~60 MB).
    public static let documentBytesMax = XMLLimits.documentBytesMax

    public static func parse(_ text: String) throws(CIBError) -> XMLElement {
        // A native string is contiguous UTF-8: read it in place rather than copy 10s of MB.
        let result = text.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(CIBError) -> XMLElement in try parse(buffer: buffer) }
        }
        if let result { return try result.get() }
        return try parse(bytes: Array(text.utf8))
    }

    public static func parse(bytes: [UInt8]) throws(CIBError) -> XMLElement {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(CIBError) -> XMLElement in try parse(buffer: buffer) }
        }
        return try result.get()
    }

    /// The fast reader for the plain XML CIBs are made of; libxml2 for everything else and
    /// for every document that is not well-formed (its messages and lines name the error).
    static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(CIBError) -> XMLElement {
        guard buffer.count <= documentBytesMax else {
            throw CIBError(.limitExceeded("document of \(buffer.count) bytes, over \(documentBytesMax)"),
                           element: "document", id: nil, line: 0)
        }
        if let root = FastXMLReader.read(buffer) { return root }
        return try parseWithLibXML2(buffer)
    }

    /// A CIB document: its root and, when the fast reader's status lane read it, the typed
    /// status section (left out of the root). libxml2 documents come without.
    static func parseCIB(buffer: UnsafeBufferPointer<UInt8>) throws(CIBError) -> (root: XMLElement, status: Status?) {
        guard buffer.count <= documentBytesMax else {
            throw CIBError(.limitExceeded("document of \(buffer.count) bytes, over \(documentBytesMax)"),
                           element: "document", id: nil, line: 0)
        }
        if let read = FastXMLReader.readCIB(buffer) { return read }
        return (try parseWithLibXML2(buffer), nil)
    }

    /// The reference reader alone, for differential tests and fuzzing (`parse` takes the
    /// fast reader first).
    public static func parseWithLibXML2(bytes: [UInt8]) throws(CIBError) -> XMLElement {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(CIBError) -> XMLElement in try parseWithLibXML2(buffer) }
        }
        return try result.get()
    }

    /// Reads a document with libxml2 (the reference reader: the fast reader must agree with it).
    static func parseWithLibXML2(_ bytes: UnsafeBufferPointer<UInt8>) throws(CIBError) -> XMLElement {
        precondition(libxml2Initialized, "libxml2 initialisation must have run")
        // Depth, attributes per element, size and DOCTYPE (entities) first: what libxml2 would
        // spend unbounded stack, time or memory on is refused before it reads a byte.
        try XMLLimits.check(bytes)
        guard let context = xmlNewParserCtxt() else {
            throw CIBError(.malformedXML(message: "libxml2 could not allocate a parser"),
                           element: "document", id: nil, line: 0)
        }
        defer { xmlFreeParserCtxt(context) }
        // Keep the first error (the later ones are consequences of it): a structured error
        // handler on this context records it into storage reached through `_private`.
        let firstError = UnsafeMutablePointer<FirstParseError>.allocate(capacity: 1)
        firstError.initialize(to: FirstParseError())
        defer { firstError.deinitialize(count: 1); firstError.deallocate() }
        context.pointee._private = UnsafeMutableRawPointer(firstError)
        context.pointee.sax.pointee.serror = { userData, error in
            guard let userData, let error else { return }
            let context = userData.assumingMemoryBound(to: xmlParserCtxt.self)
            guard let storage = context.pointee._private?.assumingMemoryBound(to: FirstParseError.self),
                  storage.pointee.message == nil else { return }
            storage.pointee.message = error.pointee.message.map { String(cString: $0) }
            storage.pointee.line = Int(error.pointee.line)
        }
        // No XML_PARSE_HUGE (it lifts libxml2's limits on depth, text size and entity
        // amplification; Pacemaker does not pass it either), no XML_PARSE_NOENT (entities are
        // not substituted), no network.
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue
            | XML_PARSE_NOWARNING.rawValue | XML_PARSE_BIG_LINES.rawValue)
        // libxml2 wants a non-null pointer even for an empty document.
        let empty: [CChar] = [0]
        let document: xmlDocPtr? = empty.withUnsafeBufferPointer { emptyBuffer in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return xmlCtxtReadMemory(context, emptyBuffer.baseAddress!, 0, "cib.xml", nil, options)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                xmlCtxtReadMemory(context, $0, Int32(bytes.count), "cib.xml", nil, options)
            }
        }
        guard let document, context.pointee.wellFormed != 0 else {
            if let document { xmlFreeDoc(document) }
            let error = context.pointee.lastError
            let message = (firstError.pointee.message ?? error.message.map { String(cString: $0) })?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "document is not well-formed"
            let line = firstError.pointee.message != nil ? firstError.pointee.line : Int(error.line)
            throw CIBError(.malformedXML(message: message), element: "document", id: nil, line: line)
        }
        defer { xmlFreeDoc(document) }
        guard let root = xmlDocGetRootElement(document) else {
            throw CIBError(.malformedXML(message: "document has no root element"),
                           element: "document", id: nil, line: 0)
        }
        return try convert(root, depth: 1)
    }

    /// Recursive, on a depth `XMLLimits.check` has bounded (checked again here: a stack
    /// overflow is not an error message).
    private static func convert(_ node: xmlNodePtr, depth: Int) throws(CIBError) -> XMLElement {
        guard depth <= XMLLimits.depthMax + 1 else {
            throw CIBError(.limitExceeded("elements nested more than \(XMLLimits.depthMax) deep"),
                           element: String(cString: node.pointee.name), id: nil, line: Int(xmlGetLineNo(node)))
        }
        var element = XMLElement(name: String(cString: node.pointee.name), line: Int(xmlGetLineNo(node)))
        var attribute = node.pointee.properties
        while let current = attribute {
            let name = String(cString: current.pointee.name)
            var value = ""
            if let raw = baton_attribute_value(current) {
                value = String(cString: raw)
                baton_xml_free(raw)
            }
            element.attributes.append(.init(name: name, value: value))
            attribute = current.pointee.next
        }
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE {
                element.children.append(try convert(current, depth: depth + 1))
            }
            child = current.pointee.next
        }
        return element
    }

    /// Serialises an element tree as an indented UTF-8 XML document.
    public static func serialize(_ root: XMLElement) -> String {
        precondition(libxml2Initialized, "libxml2 initialisation must have run")
        let document = xmlNewDoc("1.0")!
        defer { xmlFreeDoc(document) }
        let rootNode = build(root, in: document)
        xmlDocSetRootElement(document, rootNode)
        var buffer: UnsafeMutablePointer<xmlChar>?
        var size: Int32 = 0
        xmlDocDumpFormatMemoryEnc(document, &buffer, &size, "UTF-8", 1)
        guard let buffer else { preconditionFailure("libxml2 failed to serialise a document") }
        defer { baton_xml_free(buffer) }
        let text = String(decoding: UnsafeBufferPointer(start: buffer, count: Int(size)), as: UTF8.self)
        precondition(size > 0 && text.hasPrefix("<?xml"), "serialised document must start with a declaration")
        return text
    }

    private static func build(_ element: XMLElement, in document: xmlDocPtr) -> xmlNodePtr {
        let node = xmlNewDocNode(document, nil, element.name, nil)!
        for attribute in element.attributes {
            xmlNewProp(node, attribute.name, attribute.value)
        }
        for child in element.children {
            xmlAddChild(node, build(child, in: document))
        }
        return node
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: WhitespaceSet) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
    fileprivate enum WhitespaceSet { case whitespacesAndNewlines }
}
