import Foundation
import TestSupport
import Testing
import CIB
@testable import CIBFiles

/// The configuration on disk, with real files in a temporary directory.
@Suite struct CIBStoreTests {
    static func cib(epoch: Int, resource: String) throws -> XMLElement {
        try XMLCodec.parse("""
            <cib crm_feature_set="3.16.2" epoch="\(epoch)" num_updates="7" admin_epoch="0">
              <configuration><resources><primitive id="\(resource)" class="ocf" provider="heartbeat" type="Dummy"/></resources></configuration>
              <status><node_state id="1" uname="n1" in_ccm="true"/></status>
            </cib>
            """)
    }

    static func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = try makeTemporaryDirectory("cib-store")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    static func contents(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func savesTheConfigurationWithItsSignatureAndWithoutStatus() throws {
        try Self.withDirectory { directory in
            let store = CIBStore(directory: directory)
            try store.save(Self.cib(epoch: 3, resource: "r1"), lastWritten: "Sun Dec  6 12:00:00 2026")
            let text = try Self.contents(store.path)
            #expect(!text.contains("node_state") && !text.contains("<status"), "the status section is never written")
            let signature = try Self.contents(store.signaturePath)
            let written = try XMLCodec.parse(text)
            #expect(signature == CIBDigest.onDisk(written), "the .sig holds the on-disk digest, no newline")
            #expect(written["num_updates"] == "0" && written["cib-last-written"] == "Sun Dec  6 12:00:00 2026")
            let loaded = try store.load()
            #expect(loaded.children.map(\.name) == ["configuration", "status"], "an empty status is added at load")
            #expect(loaded.children[1].children.isEmpty)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("cib.") && $0.count == 10 }
            #expect(leftovers.isEmpty, "no temporary files left: \(leftovers)")
        }
    }

    @Test func aModifiedFileIsAnErrorNamingItAndTheBackupIsKept() throws {
        try Self.withDirectory { directory in
            let store = CIBStore(directory: directory)
            try store.save(Self.cib(epoch: 3, resource: "r1"))
            try store.save(Self.cib(epoch: 4, resource: "r2"))
            // An admin edits cib.xml by hand: the signature no longer matches.
            let edited = try Self.contents(store.path).replacingOccurrences(of: "r2", with: "r9")
            try Data(edited.utf8).write(to: URL(fileURLWithPath: store.path))
            do {
                _ = try store.load()
                Issue.record("a modified cib.xml was accepted")
            } catch let error as CIBStoreError {
                #expect(error.file == store.path)
                guard case .digestMismatch = error.kind else { Issue.record("\(error)"); return }
                #expect(error.description.contains("does not match its signature \(store.path).sig"))
            }
            let (document, file, skipped) = try store.loadNewestGood()
            #expect(file == directory + "/cib-0.raw")
            #expect(skipped.count == 1)
            #expect(document.children[0].children[0].children[0]["id"] == "r1", "the previous good copy")
        }
    }

    /// A crash in the middle of writing: Pacemaker-style atomic replace leaves either pair
    /// whole; a torn cib.xml written in place (what a non-atomic writer leaves) is refused.
    @Test func aTornWriteIsRefusedAndThePreviousCopyServes() throws {
        try Self.withDirectory { directory in
            let store = CIBStore(directory: directory)
            try store.save(Self.cib(epoch: 3, resource: "r1"))
            try store.save(Self.cib(epoch: 4, resource: "r2"))
            let whole = try Data(contentsOf: URL(fileURLWithPath: store.path))
            try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: store.path))
            do {
                _ = try store.load()
                Issue.record("a torn cib.xml was accepted")
            } catch let error as CIBStoreError {
                #expect(error.file == store.path)
                guard case .corrupt = error.kind else { Issue.record("\(error)"); return }
            }
            #expect(try store.loadNewestGood().file == directory + "/cib-0.raw")
        }
    }

    /// A crash while the temporary file was written leaves it beside an intact pair; a crash
    /// between the two renames leaves the new cib.xml beside the old signature: refused, and
    /// the backup made before the write serves.
    @Test func aCrashDuringSaveLeavesAPairThatVerifiesOrABackupThatDoes() throws {
        try Self.withDirectory { directory in
            let store = CIBStore(directory: directory)
            try store.save(Self.cib(epoch: 3, resource: "r1"))
            try store.save(Self.cib(epoch: 4, resource: "r2"))
            try Data("<cib epoch=\"5\"><configur".utf8).write(to: URL(fileURLWithPath: directory + "/cib.Xy12Ab"))
            #expect(try store.load()["epoch"] == "4")
            try store.save(Self.cib(epoch: 5, resource: "r3"))
            let previousSignature = try Self.contents(directory + "/cib-1.raw.sig")
            try Data(previousSignature.utf8).write(to: URL(fileURLWithPath: store.signaturePath))
            #expect(throws: CIBStoreError.self) { try store.load() }
            let newest = try store.loadNewestGood()
            #expect(newest.file == directory + "/cib-1.raw")
            #expect(newest.document["epoch"] == "4")
        }
    }

    @Test func backupsAreBounded() throws {
        try Self.withDirectory { directory in
            let store = CIBStore(directory: directory, backupsMax: 3)
            for epoch in 1...8 { try store.save(Self.cib(epoch: epoch, resource: "r\(epoch)")) }
            let backups = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".raw") }.sorted()
            #expect(backups == ["cib-0.raw", "cib-1.raw", "cib-2.raw"])
            #expect(store.readSequence() == 1)   // 7 backups made: the next goes to 7 mod 3
            let newestBackup = try store.loadNewestGood().document   // cib.xml itself
            #expect(newestBackup["epoch"] == "8")
        }
    }

    @Test func aMissingFileIsNamed() throws {
        try Self.withDirectory { directory in
            let store = CIBStore(directory: directory)
            #expect(throws: CIBStoreError(.missing, file: store.path)) { try store.load() }
        }
    }
}
