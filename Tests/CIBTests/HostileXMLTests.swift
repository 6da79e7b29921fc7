import Foundation
import Testing
@testable import CIB

/// Documents built to hurt the reader (issue 10, point 12): each must end in a `CIBError`
/// that says what and where, within a bounded time and memory, on both readers (the fast
/// reader and libxml2, which a carriage return in the document selects).
@Suite struct HostileXMLTests {
    /// Reads `text` the way `baton simulate` does; the error, or nil when it was accepted.
    static func refusal(_ text: String) -> CIBError? {
        do {
            _ = try CIB(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    static func limit(_ error: CIBError?) -> String? {
        guard let error, case .limitExceeded(let what) = error.kind else { return nil }
        return what
    }

    /// A minimal CIB around `body` (inside `<configuration>`); `libxml2` adds a carriage
    /// return the fast reader leaves to libxml2.
    static func cib(_ body: String, rootAttributes: String = "", libxml2: Bool) -> String {
        "<cib\(rootAttributes)>\(libxml2 ? "\r" : "")\n<configuration>\(body)</configuration>\n<status/>\n</cib>\n"
    }

    // Before: the recursive tree conversion overflowed the stack (the test process died);
    // libxml2 had no depth limit under XML_PARSE_HUGE.
    @Test(arguments: [false, true])
    func deeplyNestedElementsAreRefusedWithTheirLine(libxml2: Bool) {
        let depth = 75_000
        let text = Self.cib(String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth), libxml2: libxml2)
        let error = Self.refusal(text)
        #expect(Self.limit(error)?.contains("nested more than \(XMLLimits.depthMax) deep") == true, "\(String(describing: error))")
        #expect(error?.element == "a")
        #expect(error?.line == 2)
    }

    @Test func documentsAtTheDepthLimitAreRead() throws {
        // The root and configuration are 2 of the open elements; a leaf may sit below the last.
        let open = XMLLimits.depthMax - 2
        let text = Self.cib(String(repeating: "<a>", count: open) + "<leaf/>" + String(repeating: "</a>", count: open), libxml2: false)
        let fast = try CIB(parsing: text)
        let reference = try CIB(parsing: text.replacingFirst("<cib>", with: "<cib>\r"))
        #expect(fast == reference)
        #expect(Self.limit(Self.refusal(Self.cib(String(repeating: "<a>", count: open + 1) + String(repeating: "</a>", count: open + 1),
                                                 libxml2: false))) != nil)
    }

    // Before: libxml2 expanded the entities into the attribute value (this bounded input:
    // 10^6 bytes; the unbounded one reached 2 GB in 60 s) and the document was accepted.
    @Test func entityExpansionIsRefused() {
        var declarations = "<!ENTITY e0 \"aaaaaaaaaa\">\n"
        for level in 1...5 {
            declarations += "<!ENTITY e\(level) \"" + String(repeating: "&e\(level - 1);", count: 10) + "\">\n"
        }
        let text = "<?xml version=\"1.0\"?>\n<!DOCTYPE cib [\n\(declarations)]>\n<cib x=\"&e5;\"><configuration/><status/></cib>\n"
        let error = Self.refusal(text)
        #expect(Self.limit(error)?.contains("DOCTYPE") == true, "\(String(describing: error))")
        #expect(error?.line == 2)
        // Any DOCTYPE, even one without entities, and an external one (never fetched).
        #expect(Self.limit(Self.refusal("<!DOCTYPE cib>\n<cib><configuration/></cib>")) != nil)
        #expect(Self.limit(Self.refusal("<!DOCTYPE cib SYSTEM \"http://192.0.2.1/cib.dtd\">\n<cib><configuration/></cib>")) != nil)
        // The words inside a comment or CDATA are not a DOCTYPE.
        #expect(Self.refusal(Self.cib("<!-- <!DOCTYPE x> --><a/>", libxml2: true)) == nil)
    }

    // Before: the fast reader compared every attribute name with every earlier one (100,000
    // attributes: 5.7 s) and accepted the element; libxml2 2.9 is quadratic there too.
    @Test(arguments: [false, true])
    func elementsWithTooManyAttributesAreRefused(libxml2: Bool) {
        let attributes = (0..<100_000).map { " a\($0)=\"1\"" }.joined()
        let error = Self.refusal(Self.cib("", rootAttributes: attributes, libxml2: libxml2))
        #expect(Self.limit(error)?.contains("more than \(XMLLimits.attributesPerElementMax) attributes") == true, "\(String(describing: error))")
        #expect(error?.element == "cib")
        #expect(error?.line == 1)
    }

    @Test func manyAttributesUnderTheLimitAreReadLikeLibXML2() throws {
        let attributes = (0..<XMLLimits.attributesPerElementMax).map { " a\($0)=\"v\($0)\"" }.joined()
        let text = Self.cib("<x\(attributes)/>", libxml2: false)
        let fast = try #require(Array(text.utf8).withUnsafeBufferPointer { FastXMLReader.read($0) })
        let reference = try Array(text.utf8).withUnsafeBufferPointer { try XMLCodec.parseWithLibXML2($0) }
        #expect(fast == reference)
        #expect(fast.children[0].children[0].attributes.count == XMLLimits.attributesPerElementMax)
        // A repeated name far into the tag (past the pairwise comparisons) is still found.
        let repeated = Self.cib("<x\(attributes.replacingFirst("a1000=", with: "a17="))/>", libxml2: false)
        #expect(Array(repeated.utf8).withUnsafeBufferPointer { FastXMLReader.read($0) } == nil)
        #expect(Self.refusal(repeated) != nil)
    }

    // Found by `baton fuzz --target cib --seed 4` (input 232: "<constraints/>" damaged into
    // text): a CIB without a section was written out with the section empty, and read back
    // different from itself.
    @Test func aCIBWithoutSectionsReadsBackTheSame() throws {
        let cib = try CIB(parsing: "<cib epoch=\"1\"><configuration><resources/>text</configuration><status/></cib>")
        #expect(try CIB(parsing: cib.serialized()) == cib)
    }

    // Before: `interval="9223372036854775807"` trapped on overflow (seconds to milliseconds);
    // crm_simulate accepts it and clips the interval to 4294967295 ms.
    @Test func hugeIntervalsSaturateLikePacemaker() throws {
        #expect(Duration.milliseconds(parsing: "9223372036854775807") == Int.max)
        #expect(Duration.milliseconds(parsing: "99999999999999999999999") == Int.max)
        #expect(Duration.milliseconds(parsing: "922337203685477580min") == Int.max)
        #expect(Duration.milliseconds(parsing: "9223372036854775807ms") == Int.max)
        #expect(Duration.milliseconds(parsing: "5s") == 5000)
        #expect(Duration.milliseconds(parsing: "PT9223372036854775807S") == nil)
        #expect(Duration.milliseconds(parsing: "P9223372036854775807W") == nil)
        #expect(Duration.milliseconds(parsing: "PT1H1S") == 3_601_000)
        for value in ["9223372036854775807", "9223372036854775808", "99999999999999999999999", "4294967296"] {
            let text = Self.cib("""
                <resources><primitive id="rsc1" class="ocf" provider="heartbeat" type="apache"><operations>\
                <op name="monitor" interval="\(value)" id="op1" timeout="\(value)"/></operations></primitive></resources>
                """, libxml2: false)
            let cib = try CIB(parsing: text)
            guard case .primitive(let primitive) = cib.configuration.resources.first else {
                Issue.record("no primitive read")
                continue
            }
            #expect(primitive.operations?.operations.first?.intervalMilliseconds == 4_294_967_295)
        }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
