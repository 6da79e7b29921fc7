import Testing
@testable import CIB

/// Pacemaker's digests, byte for byte. The expected values were printed by Pacemaker 2.1.5's
/// `cibadmin --md5-sum` / `--md5-sum-versioned` on these documents (and the differential test
/// recomputes them with the tools on generated CIBs).
@Suite struct CIBDigestTests {
    @Test func md5MatchesRFC1321() {
        #expect(MD5.hex(Array("".utf8)) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5.hex(Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8))
                == "57edf4a22be3c955ac49da2e2107b67a")
        // Fed in pieces across block boundaries: the same digest.
        var md5 = MD5()
        let text = Array(String(repeating: "0123456789", count: 100).utf8)
        for start in stride(from: 0, to: text.count, by: 37) { md5.update(text[start..<min(text.count, start + 37)]) }
        #expect(md5.finalizeHex() == MD5.hex(text))
    }

    static let document = """
        <cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="3" num_updates="2" admin_epoch="0">
          <configuration>
            <crm_config/>
            <nodes/>
            <resources>
              <primitive id="r1" class="ocf" provider="heartbeat" type="Dummy" description="a&amp;b &lt;x&gt; 'q' é&lt;"/>
            </resources>
            <constraints/>
          </configuration>
          <status/>
        </cib>
        """

    @Test func digestsAreCibadmins() throws {
        let root = try XMLCodec.parse(Self.document)
        #expect(CIBDigest.onDisk(root) == "e365aa452c3e04082a7a4f194c4bfba6")
        #expect(CIBDigest.compute(root) == "0f23bb45a3e35dc30a764a56203df624")
    }

    @Test func textEscapesLikeCrmXMLEscapeQuirkIncluded() {
        func escaped(_ value: String) -> String {
            var buffer = [UInt8]()
            PacemakerXMLText.appendEscaped(value, to: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
        #expect(escaped("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;")
        #expect(escaped("t\tn\nr\r") == "t    n\\nr\\r")
        #expect(escaped("\u{1}\u{7f}") == "\\001\\177")
        #expect(escaped("é<&") == "é<&", "escaping stops at the first non-ASCII character")
    }

    @Test func filteredAttributesStayOutOfTheVersionedDigestOnly() throws {
        var root = try XMLCodec.parse(Self.document)
        let versioned = CIBDigest.compute(root), onDisk = CIBDigest.onDisk(root)
        root["cib-last-written"] = "Sun Dec  6 12:00:00 2026"
        root["update-origin"] = "node1"
        #expect(CIBDigest.compute(root) == versioned)
        #expect(CIBDigest.onDisk(root) != onDisk)
        root["crm_feature_set"] = "3.0.1"   // before 3.0.5: the on-disk form
        #expect(CIBDigest.compute(root) == CIBDigest.onDisk(root))
    }
}
