import CIB
import CIBResourceEdits
import Testing

/// The live mode's pure core: the file mode's edit as one v2 patchset from the version read,
/// refused (stale) on a CIB another write has moved on, and restart's target-role steps.
@Suite struct LiveResourceEditTests {
    static func cib() throws -> XMLElement { try XMLCodec.parse(ResourceEditsTests.text) }

    @Test func aMoveIsTheFileModesEditAsOnePatchFromTheVersionRead() throws {
        let cib = try Self.cib()
        let command = ResourceEdits.Command.move(resource: "rsc1", node: "node2", lifetime: "PT1H", promoted: false, force: false)
        let attempt = try LiveResourceEdit.attempt(command, on: cib, now: 1_000_000)
        var document = CIBDocument(root: cib)
        let fileMode = ResourceEdits.run(command, on: &document, now: 1_000_000)
        #expect(attempt.outcome == fileMode)
        let patch = try #require(attempt.patch)
        #expect(patch.versions?.source == CIBVersion(adminEpoch: 0, epoch: 1, numUpdates: 1))
        #expect(patch.versions?.target == CIBVersion(adminEpoch: 0, epoch: 2, numUpdates: 0))
        #expect(patch.digest == nil)
        #expect(patch.changes.allSatisfy { $0.path.hasPrefix("/cib/configuration") || $0.path == "/cib" }, "\(patch.text())")
        // Sent as text and read back (as baton-crmd reads it), it makes the file mode's CIB.
        let read = try Patchset(parsing: patch.text())
        #expect(try read.apply(to: cib, checkVersion: true) == document.root)
    }

    @Test func aPatchMadeOnAStaleCopyIsRefusedAsStale() throws {
        let cib = try Self.cib()
        let attempt = try LiveResourceEdit.attempt(.ban(resource: "rsc1", node: "node2", lifetime: nil, promoted: false, force: false), on: cib, now: 0)
        let patch = try #require(attempt.patch)
        // Another admin's write in between: the CIB is at epoch 2.
        var newer = CIBDocument(root: cib)
        _ = ResourceEdits.run(.setMeta(resource: "m2", name: "is-managed", value: "false", force: false), on: &newer, now: 0)
        #expect(throws: PatchsetError.self) { try patch.apply(to: newer.root, checkVersion: true) }
        do {
            _ = try patch.apply(to: newer.root, checkVersion: true)
        } catch {
            #expect(LiveResourceEdit.isStale("the patchset does not apply to CIB 0.2.0: \(error)"), "\(error)")
        }
        #expect(!LiveResourceEdit.isStale("the patchset does not apply: change 1 (create /cib/configuration/constraints): no match"))
        // Redone on the fresh copy, both edits are kept.
        let again = try #require(try LiveResourceEdit.attempt(.ban(resource: "rsc1", node: "node2", lifetime: nil, promoted: false, force: false),
                                                              on: newer.root, now: 0).patch)
        let result = CIBDocument(root: try again.apply(to: newer.root, checkVersion: true))
        #expect(result.configurationChild("constraints")?.children.map { $0["id"] } == ["cli-ban-rsc1-on-node2"])
        #expect(LiveResourceEdit.targetRole("m2", in: result.root) == nil)
        #expect(result.configurationChild("resources")?.children.last?.children.last?.children.first?.children.first?["value"] == "false")
    }

    @Test func anEditThatChangesNothingOrFailsSendsNothing() throws {
        let cib = try Self.cib()
        let clear = try LiveResourceEdit.attempt(.clear(resource: "rsc1", node: nil, force: false), on: cib, now: 0)
        #expect(clear.patch == nil && clear.outcome.exitCode == 0)
        let unknown = try LiveResourceEdit.attempt(.move(resource: "nope", node: "node2", lifetime: nil, promoted: false, force: false), on: cib, now: 0)
        #expect(unknown.patch == nil && unknown.outcome.exitCode == ResourceEdits.Exit.noSuchObject)
        #expect(LiveResourceEdit.activeNodes("nope", in: cib) == nil)
        #expect(LiveResourceEdit.activeNodes("rsc1", in: cib) == ["node1"])
        #expect(LiveResourceEdit.activeNodes("m1", in: cib) == [])
    }

    @Test func restartPutsTheTargetRoleBackOrRemovesIt() throws {
        let cib = try Self.cib()
        #expect(LiveResourceEdit.targetRole("m1", in: cib) == "Started")
        #expect(LiveResourceEdit.targetRole("rsc1", in: cib) == nil)
        let stop = try #require(try LiveResourceEdit.attempt(.setMeta(resource: "rsc1", name: "target-role", value: "Stopped", force: true), on: cib, now: 0).patch)
        let stopped = try stop.apply(to: cib, checkVersion: true)
        #expect(LiveResourceEdit.targetRole("rsc1", in: stopped) == "Stopped")
        let start = try LiveResourceEdit.restoreTargetRole("rsc1", original: nil, on: stopped)
        #expect(start.outcome.standardOutput == "Deleted 'rsc1' option: id=rsc1-meta_attributes-target-role name=target-role\n")
        let started = try #require(start.patch).apply(to: stopped, checkVersion: true)
        #expect(LiveResourceEdit.targetRole("rsc1", in: started) == nil)
        #expect(try CIBVersion(of: started) == CIBVersion(adminEpoch: 0, epoch: 3, numUpdates: 0))
        let kept = try LiveResourceEdit.restoreTargetRole("m1", original: "Started", on: cib)
        #expect(kept.patch == nil, "m1's target-role is already Started")
        let missing = try LiveResourceEdit.restoreTargetRole("nope", original: nil, on: cib)
        #expect(missing.outcome.exitCode == ResourceEdits.Exit.noSuchObject)
    }
}
