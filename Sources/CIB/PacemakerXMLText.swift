/// XML text exactly as Pacemaker 2.1.5 writes it itself (lib/common/xml.c `pcmk__xml2text`),
/// not as libxml2 does: the bytes its digests are computed over and the shape `crm_diff`
/// prints. `XMLCodec.serialize` stays the document writer; this is for compatibility only.
///
/// The rules, from the source and checked against `cibadmin --md5-sum` and `crm_diff`:
/// - `<name a="v" …/>` for an element without children, `<name …>…</name>` otherwise;
///   attributes in document order, each as ` name="value"`.
/// - Formatted: two spaces per depth before each tag, a newline after each; unformatted: no
///   whitespace at all.
/// - Values escaped by `crm_xml_escape`: `< > " ' &` as entities, a tab as four spaces, a
///   newline as the two characters `\n`, a carriage return as `\r`, other bytes below 0x20 and
///   0x7f as a backslash and three octal digits. Its loop stops at the first pair of bytes
///   with the high bit set (any non-ASCII UTF-8 character): the rest of that value is
///   copied unescaped. Pacemaker's digests include that quirk, so this does too.
/// - Filtered (the versioned digest): the attributes `crm-debug-origin`, `cib-last-written`,
///   `update-origin`, `update-client` and `update-user` are left out.
/// Comments and text are not modelled by `XMLElement`; CIBs carry neither.
public enum PacemakerXMLText {
    /// Attributes a filtered dump leaves out (lib/common/digest.c `pcmk__xa_filterable`).
    public static let filteredAttributes: Set<String> = [
        "crm-debug-origin", "cib-last-written", "update-origin", "update-client", "update-user",
    ]

    /// `filteredAttributes.contains(name)`, with the hash taken only for names of their
    /// lengths and first letters (a CIB has ~20 million attributes to check at 60 MB).
    @inline(__always)
    static func isFiltered(_ name: String) -> Bool {
        let count = name.utf8.count
        guard count == 11 || count == 13 || count == 16, let first = name.utf8.first,
              first == UInt8(ascii: "c") || first == UInt8(ascii: "u") else { return false }
        return filteredAttributes.contains(name)
    }

    /// The text of `element`: `formatted` as `crm_diff` prints it, else on one line.
    public static func text(_ element: XMLElement, formatted: Bool, filtered: Bool = false) -> String {
        var buffer = [UInt8]()
        buffer.reserveCapacity(4096)
        append(element, formatted: formatted, filtered: filtered, depth: 0, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Appends the bytes of `element` to `buffer` (recursive on a depth the readers bound).
    public static func append(_ element: XMLElement, formatted: Bool, filtered: Bool, depth: Int,
                              to buffer: inout [UInt8]) {
        precondition(depth <= XMLLimits.depthMax + 1, "element tree deeper than the readers allow")
        if formatted { buffer.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth)) }
        buffer.append(UInt8(ascii: "<"))
        buffer.append(contentsOf: element.name.utf8)
        for attribute in element.attributes where !(filtered && isFiltered(attribute.name)) {
            buffer.append(UInt8(ascii: " "))
            buffer.append(contentsOf: attribute.name.utf8)
            buffer.append(contentsOf: "=\"".utf8)
            appendEscaped(attribute.value, to: &buffer)
            buffer.append(UInt8(ascii: "\""))
        }
        if element.children.isEmpty {
            buffer.append(contentsOf: "/>".utf8)
            if formatted { buffer.append(UInt8(ascii: "\n")) }
            return
        }
        buffer.append(UInt8(ascii: ">"))
        if formatted { buffer.append(UInt8(ascii: "\n")) }
        for child in element.children {
            append(child, formatted: formatted, filtered: filtered, depth: depth + 1, to: &buffer)
        }
        if formatted { buffer.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth)) }
        buffer.append(contentsOf: "</".utf8)
        buffer.append(contentsOf: element.name.utf8)
        buffer.append(UInt8(ascii: ">"))
        if formatted { buffer.append(UInt8(ascii: "\n")) }
    }

    /// `crm_xml_escape`, quirk included (see the type's comment).
    static func appendEscaped(_ value: String, to buffer: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            // Most values need nothing escaped: copy them whole.
            if !bytes.contains(where: { $0 < 0x20 || $0 > 0x7e || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
                || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "&") }) {
                buffer.append(contentsOf: bytes)
                return
            }
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                // The C loop also reads the terminating NUL as the next byte.
                let next: UInt8 = index + 1 < bytes.count ? bytes[index + 1] : 0
                if byte & 0x80 != 0 && next & 0x80 != 0 {
                    // `index++; break;` in the C loop: the rest is copied as it is.
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index...]))
                    return
                }
                switch byte {
                case UInt8(ascii: "<"): buffer.append(contentsOf: "&lt;".utf8)
                case UInt8(ascii: ">"): buffer.append(contentsOf: "&gt;".utf8)
                case UInt8(ascii: "\""): buffer.append(contentsOf: "&quot;".utf8)
                case UInt8(ascii: "'"): buffer.append(contentsOf: "&apos;".utf8)
                case UInt8(ascii: "&"): buffer.append(contentsOf: "&amp;".utf8)
                case UInt8(ascii: "\t"): buffer.append(contentsOf: "    ".utf8)
                case UInt8(ascii: "\n"): buffer.append(contentsOf: "\\n".utf8)
                case UInt8(ascii: "\r"): buffer.append(contentsOf: "\\r".utf8)
                default:
                    if byte < 0x20 || byte > 0x7e {
                        // `"\\%.3o"` of a C char: signed, so a lone high byte prints as a
                        // negative int's octal (32 bits).
                        let signed = Int32(Int8(bitPattern: byte))
                        buffer.append(UInt8(ascii: "\\"))
                        buffer.append(contentsOf: octal(UInt32(bitPattern: signed)).utf8)
                    } else {
                        buffer.append(byte)
                    }
                }
                index += 1
            }
        }
    }

    private static func octal(_ value: UInt32) -> String {
        let digits = String(value, radix: 8)
        return digits.count >= 3 ? digits : String(repeating: "0", count: 3 - digits.count) + digits
    }
}
