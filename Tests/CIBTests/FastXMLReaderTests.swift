import Foundation
import Testing
@testable import CIB

/// The fast reader is only a fast path for libxml2: wherever it returns a tree, libxml2 must
/// return the same tree (names, attributes in order, values, children and lines), and where
/// libxml2 refuses a document the fast reader must give up too.
@Suite struct FastXMLReaderTests {
    /// Differences between two trees, lines included (libxml2 caps lines at 65535 without
    /// saying which: lines from there on are not compared).
    static func differences(_ fast: XMLElement, _ reference: XMLElement, path: String = "") -> [String] {
        let here = path + "/" + reference.name
        var found: [String] = []
        if fast.name != reference.name { found.append("\(here): name \(fast.name)") }
        if fast.attributes != reference.attributes { found.append("\(here): attributes \(fast.attributes) vs \(reference.attributes)") }
        if reference.line < 65535 && fast.line != reference.line { found.append("\(here): line \(fast.line) vs \(reference.line)") }
        if fast.children.count != reference.children.count {
            found.append("\(here): \(fast.children.count) children vs \(reference.children.count)")
        } else {
            for (left, right) in zip(fast.children, reference.children) {
                found += differences(left, right, path: here)
                if found.count > 5 { break }
            }
        }
        return found
    }

    static func fast(_ text: String) -> XMLElement? {
        Array(text.utf8).withUnsafeBufferPointer { FastXMLReader.read($0) }
    }

    static func libxml2(_ text: String) -> XMLElement? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { try? XMLCodec.parseWithLibXML2($0) }
    }

    /// The agreement property for one document; returns what went wrong.
    static func disagreement(_ text: String) -> String? {
        let reference = libxml2(text)
        guard let fast = fast(text) else { return nil }   // giving up is always allowed
        guard let reference else { return "fast reader accepted a document libxml2 refuses" }
        let found = differences(fast, reference)
        return found.isEmpty ? nil : found.joined(separator: "; ")
    }

    @Test(.enabled(if: ConformanceData.isPresent, "conformance data not found next to the repository"))
    func agreesWithLibXML2OnEveryConformanceInput() throws {
        var failures: [String] = []
        var fallbacks = 0
        for input in try ConformanceData.inputs() {
            let text = try String(contentsOf: input, encoding: .utf8)
            if Self.fast(text) == nil { fallbacks += 1 }
            if let problem = Self.disagreement(text) { failures.append("\(input.lastPathComponent): \(problem)") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(10).joined(separator: "\n"))")
        // The suite is plain XML: the fast path must be the one taken (else it is not a fast path).
        #expect(fallbacks <= 10, "\(fallbacks) conformance inputs needed libxml2")
    }

    static let wellFormed: [String] = [
        "<cib/>",
        "<?xml version=\"1.0\"?>\n<cib a=\"1\"/>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><cib/>",
        "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n\n<cib/>\n",
        "<!-- before --><?pi data?>\n<cib><!-- inside\n comment --><a/><?pi\nmore?></cib><!-- after -->\n",
        "<cib\n  a=\"1\"\n  b = '2'\n>\n  <c\n d=\"x\"/>\n</cib>",
        "<cib a=\"x &amp; y &lt;&gt; &quot;&apos;\" b=\"&#65;&#x42;&#10;&#9;\"/>",
        "<cib a=\"tab\there\" b=\"new\nline\" c=\"two\n\nlines\"><d e=\"f\"/></cib>",
        "<cib>text &amp; more <![CDATA[ <not> & markup ]]> &#65; <a>x</a> > ] ]] </cib>",
        "<cib a=\"'\" b='\"' c=\">\"/>",
        "<cib><a><b><c/></b></a ><a  /></cib  >",
        "<cib x.y=\"1\" x-y=\"2\" _z=\"3\" A9=\"4\"/>",
        "<cib a=\"\"></cib>",
    ]

    static let malformed: [String] = [
        "", "   ", "<cib>", "<cib></cab>", "<cib a=\"1\" a=\"2\"/>", "<cib a=\"1\"b=\"2\"/>", "<cib a=\"<\"/>",
        "<cib a=\"&nbsp;\"/>", "<cib a=\"&#0;\"/>", "<cib><!-- a -- b --></cib>", "<cib/><cib/>", "<cib/>trailing",
        "<cib>]]></cib>", "<cib>\u{1}</cib>", "<cib a=1/>", "<cib a=\"1/>", "<1cib/>", "<cib><?xml version=\"1.0\"?></cib>",
        "<cib>&undefined;</cib>", "<cib>& </cib>", "<cib a=\"&amp\"/>", "<cib></cib >x", " <?xml version=\"1.0\"?><cib/>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\" version=\"1.0\"?><cib/>", "<cib><a></cib></a>", "<cib/",
    ]

    /// Well-formed, but outside the fast reader's subset: libxml2 reads them.
    /// (A DOCTYPE is outside the subset too, and refused on libxml2's path: HostileXMLTests.)
    static let leftToLibXML2: [String] = [
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><cib/>", "<cib a=\"caf\u{e9}\"/>",
        "<x:cib xmlns:x=\"urn:x\"/>", "<cib a=\"1\"\r\n/>", "<cib a=\"&#233;\"/>",
    ]

    @Test func agreesOnWellFormedDocuments() {
        for text in Self.wellFormed {
            #expect(Self.libxml2(text) != nil, "libxml2 should read: \(text)")
            #expect(Self.fast(text) != nil, "the fast reader should read: \(text)")
            #expect(Self.disagreement(text) == nil, "\(text): \(Self.disagreement(text) ?? "")")
        }
    }

    @Test func givesUpOnMalformedDocuments() {
        for text in Self.malformed {
            #expect(Self.libxml2(text) == nil, "libxml2 should refuse: \(text)")
            #expect(Self.fast(text) == nil, "the fast reader should give up on: \(text)")
        }
    }

    @Test func leavesTheRestToLibXML2() throws {
        for text in Self.leftToLibXML2 {
            #expect(Self.fast(text) == nil, "outside the fast subset: \(text)")
            #expect(Self.libxml2(text) != nil, "libxml2 should read: \(text)")
        }
        // Through the public entry point the result is libxml2's.
        let root = try XMLCodec.parse("<cib a=\"caf\u{e9}\"/>")
        #expect(root["a"] == "caf\u{e9}")
    }

    /// Seeded byte mutations of a small CIB: wherever the fast reader still reads the
    /// document, libxml2 must read the same thing.
    @Test func agreesOnMutatedDocuments() {
        let seedText = """
        <?xml version="1.0"?>
        <cib epoch="1" num_updates="0">
          <configuration><!-- c --><resources><primitive id="a&amp;b" class='ocf' type="Dummy"/></resources></configuration>
          <status><node_state id="1"><lrm><lrm_resources/></lrm></node_state></status>
        </cib>
        """
        let alphabet = Array("<>/=\"'&;#!?-[] \n\tab:1x".utf8)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var problems: [String] = []
        var readFast = 0
        for _ in 0..<3000 {
            var bytes = Array(seedText.utf8)
            for _ in 0..<(1 + next(3)) {
                let position = next(bytes.count)
                switch next(3) {
                case 0: bytes[position] = alphabet[next(alphabet.count)]
                case 1: bytes.insert(alphabet[next(alphabet.count)], at: position)
                default: bytes.remove(at: position)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if Self.fast(text) != nil { readFast += 1 }
            if let problem = Self.disagreement(text) { problems.append("\(problem) in:\n\(text)") }
        }
        #expect(problems.isEmpty, "\(problems.count) disagreements; first: \(problems.first ?? "")")
        // Many mutations keep the document well-formed (inside values, whitespace): the fast
        // path must have been compared, not only skipped.
        #expect(readFast >= 300, "only \(readFast) mutated documents took the fast path")
    }
}
