import Foundation
import Testing
@testable import CIB

/// Patchsets made and applied as Pacemaker 2.1.5 does. The expected texts are what
/// `crm_diff -o old.xml -n new.xml` (and `-c`) printed for these documents.
@Suite struct PatchsetTests {
    static let old = """
        <cib crm_feature_set="3.16.2" epoch="3" num_updates="2" admin_epoch="0">
          <configuration>
            <resources>
              <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
              <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
              <primitive id="c" class="ocf" provider="heartbeat" type="Dummy"/>
            </resources>
            <constraints>
              <rsc_location id="loc-a" rsc="a" node="n1" score="10"/>
            </constraints>
          </configuration>
          <status/>
        </cib>
        """
    static let new = """
        <cib crm_feature_set="3.16.2" epoch="4" num_updates="0" admin_epoch="0">
          <configuration>
            <resources>
              <primitive id="c" class="ocf" provider="heartbeat" type="Dummy"/>
              <primitive id="a" class="ocf" provider="pacemaker" type="Dummy" description="new"/>
              <primitive id="d" class="ocf" provider="heartbeat" type="Stateful"/>
            </resources>
            <constraints/>
          </configuration>
          <status/>
        </cib>
        """
    /// `crm_diff -c -o old.xml -n new.xml`.
    static let expectedWithDigest = #"""
        <diff format="2" digest="72f9f7bb5088d2d8f18f44096f965b5b">
          <version>
            <source admin_epoch="0" epoch="3" num_updates="2"/>
            <target admin_epoch="0" epoch="4" num_updates="0"/>
          </version>
          <change operation="delete" path="/cib/configuration/resources/primitive[@id=&apos;b&apos;]"/>
          <change operation="delete" path="/cib/configuration/constraints/rsc_location[@id=&apos;loc-a&apos;]"/>
          <change operation="modify" path="/cib">
            <change-list>
              <change-attr name="epoch" operation="set" value="4"/>
              <change-attr name="num_updates" operation="set" value="0"/>
            </change-list>
            <change-result>
              <cib crm_feature_set="3.16.2" epoch="4" num_updates="0" admin_epoch="0"/>
            </change-result>
          </change>
          <change operation="move" path="/cib/configuration/resources/primitive[@id=&apos;c&apos;]" position="0"/>
          <change operation="modify" path="/cib/configuration/resources/primitive[@id=&apos;a&apos;]">
            <change-list>
              <change-attr name="provider" operation="set" value="pacemaker"/>
              <change-attr name="description" operation="set" value="new"/>
            </change-list>
            <change-result>
              <primitive id="a" class="ocf" provider="pacemaker" type="Dummy" description="new"/>
            </change-result>
          </change>
          <change operation="move" path="/cib/configuration/resources/primitive[@id=&apos;a&apos;]" position="1"/>
          <change operation="create" path="/cib/configuration/resources" position="2">
            <primitive id="d" class="ocf" provider="heartbeat" type="Stateful"/>
          </change>
        </diff>
        """#

    static func parse(_ text: String) throws -> XMLElement { try XMLCodec.parse(text) }

    @Test func makesWhatCrmDiffPrints() throws {
        let patch = try #require(try Patchset.make(from: Self.parse(Self.old), to: Self.parse(Self.new), asCIB: true))
        #expect(patch.text() == Self.expectedWithDigest + "\n")
        let plain = try #require(try Patchset.make(from: Self.parse(Self.old), to: Self.parse(Self.new), asCIB: false))
        let expectedPlain = Self.expectedWithDigest.replacingFirst(#" digest="72f9f7bb5088d2d8f18f44096f965b5b""#, with: "")
        #expect(plain.text() == expectedPlain + "\n")
        #expect(patch.changesConfiguration)
        #expect(patch.versions == .init(source: CIBVersion(epoch: 3, numUpdates: 2), target: CIBVersion(epoch: 4)))
    }

    /// Found by the differential: a deleted child without an id as the only change under its
    /// parent gave no patchset at all (the empty mark hid the deletion); and a version
    /// attribute the new document lost reads as the old one's in `<target>`, as crm_diff's.
    @Test func aLoneDeletionAndALostVersionAttributeAreCrmDiffs() throws {
        let old = try Self.parse(#"<cib crm_feature_set="3.16.2" epoch="3" num_updates="2" admin_epoch="0"><configuration><resources><primitive id="a" class="ocf" type="Dummy"><operations><op id="a-m" name="monitor" interval="10s"/></operations></primitive></resources></configuration></cib>"#)
        var new = old
        new.children[0].children[0].children[0].children = []
        #expect(try Patchset.make(from: old, to: new, asCIB: false)?.changes == [
            .delete(path: "/cib/configuration/resources/primitive[@id='a']/operations", position: nil),
        ])
        new["admin_epoch"] = nil
        let patch = try #require(try Patchset.make(from: old, to: new, asCIB: false))
        #expect(patch.text() == #"""
            <diff format="2">
              <version>
                <source admin_epoch="0" epoch="3" num_updates="2"/>
                <target admin_epoch="0" epoch="3" num_updates="2"/>
              </version>
              <change operation="delete" path="/cib/configuration/resources/primitive[@id=&apos;a&apos;]/operations"/>
              <change operation="modify" path="/cib">
                <change-list>
                  <change-attr name="admin_epoch" operation="unset"/>
                </change-list>
                <change-result>
                  <cib crm_feature_set="3.16.2" epoch="3" num_updates="2"/>
                </change-result>
              </change>
            </diff>

            """#)
    }

    @Test func equalDocumentsMakeNoPatchset() throws {
        #expect(try Patchset.make(from: Self.parse(Self.old), to: Self.parse(Self.old)) == nil)
    }

    @Test func readsBackWhatItWrites() throws {
        let patch = try #require(try Patchset.make(from: Self.parse(Self.old), to: Self.parse(Self.new)))
        #expect(try Patchset(parsing: Self.expectedWithDigest) == patch)
        #expect(try Patchset(xml: patch.xml) == patch)
    }

    @Test func appliesToTheNewDocumentWithVersionAndDigestChecks() throws {
        let old = try Self.parse(Self.old), new = try Self.parse(Self.new)
        let patch = try Patchset(parsing: Self.expectedWithDigest)
        let result = try patch.apply(to: old)
        #expect(result == new)
        #expect(CIBDigest.compute(result) == patch.digest)
    }

    @Test func refusesAStalePatchsetAndAskForResyncWhenBehind() throws {
        let patch = try Patchset(parsing: Self.expectedWithDigest)
        var newer = try Self.parse(Self.old)
        newer["epoch"] = "9"
        #expect(throws: PatchsetError(.documentNewer(document: CIBVersion(epoch: 9, numUpdates: 2), source: CIBVersion(epoch: 3, numUpdates: 2)))) {
            try patch.apply(to: newer)
        }
        var older = try Self.parse(Self.old)
        older["num_updates"] = "1"
        #expect(throws: PatchsetError(.documentOlder(document: CIBVersion(epoch: 3, numUpdates: 1), source: CIBVersion(epoch: 3, numUpdates: 2)))) {
            try patch.apply(to: older)
        }
    }

    @Test func aDigestMismatchIsAnError() throws {
        var patch = try Patchset(parsing: Self.expectedWithDigest)
        patch.digest = "00000000000000000000000000000000"
        let old = try Self.parse(Self.old)
        do {
            _ = try patch.apply(to: old)
            Issue.record("a wrong digest was accepted")
        } catch {
            guard case .digestMismatch(let expected, let computed) = error.kind else { Issue.record("\(error)"); return }
            #expect(expected == "00000000000000000000000000000000" && computed == "72f9f7bb5088d2d8f18f44096f965b5b")
        }
    }

    @Test func aChangeWithoutItsElementNamesTheChangeAndPath() throws {
        let patch = Patchset(versions: nil, digest: nil, changes: [
            .delete(path: "/cib/configuration/resources/primitive[@id='gone']", position: nil),   // skipped, as Pacemaker does
            .modify(path: "/cib/configuration/resources/primitive[@id='nope']", attributes: [],
                    result: XMLElement(name: "primitive", attributes: [.init(name: "id", value: "nope")])),
            .move(path: "/cib/configuration/constraints/rsc_order[@id='o']", position: 0),
        ])
        let old = try Self.parse(Self.old)
        do {
            _ = try patch.apply(to: old, checkVersion: false)
            Issue.record("a patchset naming missing elements applied")
        } catch {
            #expect(error == PatchsetError(.noMatch, change: 2, path: "/cib/configuration/resources/primitive[@id='nope']", otherFailures: 1))
            #expect(error.description == "change 2 at /cib/configuration/resources/primitive[@id='nope']: no element of the document matches the path (and 1 more failed changes)")
        }
    }

    @Test func malformedPatchsetsSayWhatIsWrong() {
        #expect(throws: PatchsetError.self) { try Patchset(parsing: "<diff format=\"1\"/>") }
        #expect(throws: PatchsetError(.unknownOperation("explode"), change: 1, path: "/cib")) {
            try Patchset(parsing: #"<diff format="2"><change operation="explode" path="/cib"/></diff>"#)
        }
        #expect(throws: PatchsetError.self) {
            try Patchset(parsing: #"<diff format="2"><change operation="create" path="/cib" position="0"/></diff>"#)
        }
    }

    /// Many siblings: the id index resolves each path without scanning, and creates, deletes
    /// and moves land where Pacemaker puts them.
    @Test func manySiblingsRoundTrip() throws {
        func document(_ ids: [Int]) -> XMLElement {
            XMLElement(name: "cib", attributes: [.init(name: "crm_feature_set", value: "3.16.2"), .init(name: "epoch", value: "1"),
                                                 .init(name: "num_updates", value: "0"), .init(name: "admin_epoch", value: "0")],
                       children: [XMLElement(name: "configuration", children: [XMLElement(name: "resources", children: ids.map {
                           XMLElement(name: "primitive", attributes: [.init(name: "id", value: "r\($0)"), .init(name: "type", value: "Dummy")])
                       })])])
        }
        let old = document(Array(0..<2000))
        var ids = Array(0..<2000).filter { $0 % 97 != 0 } + [5000, 5001]
        ids.swapAt(10, 1500)
        var new = document(ids)
        new["epoch"] = "2"
        let patch = try #require(try Patchset.make(from: old, to: new))
        #expect(try patch.apply(to: old) == new)
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
