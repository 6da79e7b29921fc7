import ArgumentParser
import CIB
import CIBGenerator
import Foundation

/// `baton crm cib …`: offline CIB tools in the shapes of crm_diff and cibadmin.
struct CrmCib: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cib",
        abstract: "The live CIB (cibadmin: query, replace, patch, upgrade) and offline tools (crm_diff, cibadmin --md5-sum).",
        subcommands: [CrmCibQuery.self, CrmCibReplace.self, CrmCibPatch.self, CrmCibUpgrade.self,
                      CrmCibDiff.self, CrmCibDigest.self, CrmCibDifferential.self, CrmCibBench.self]
    )

    /// Reads and parses an XML file, or says which file and why not.
    static func readDocument(_ path: String) throws -> XMLElement {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        do { return try XMLCodec.parse(bytes: [UInt8](data)) } catch {
            throw ValidationError("\(path): \(error)")
        }
    }
}

/// `baton crm cib diff -o OLD -n NEW`: what `crm_diff -o OLD -n NEW` prints; `-o OLD -p PATCH`:
/// what `crm_diff -o OLD -p PATCH` prints (as `baton crm cib patch -o -p`).
struct CrmCibDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Print the v2 patchset that turns OLD into NEW (crm_diff -o OLD -n NEW).",
        discussion: """
            The text is crm_diff's (Pacemaker 2.1.5), byte for byte: same changes, order, positions and \
            escaping. With -c, attribute reordering is not a change and the target's versioned digest is \
            included (crm_diff -c). Only format 2 is written (crm_diff writes format 1 for documents whose \
            crm_feature_set is below 3.0.9 or missing). Exit status as crm_diff's: 0 no difference \
            (nothing printed), 1 differences printed. With -p PATCH instead of -n: the patchset applied to \
            OLD, printed as crm_diff -o OLD -p PATCH prints it (exit 0; 1 when it does not apply).
            """)

    @Option(name: [.customShort("o"), .customLong("original")], help: "The original document.") var original: String
    @Option(name: [.customShort("n"), .customLong("new")], help: "The new document.") var new: String?
    @Option(name: [.customShort("p"), .customLong("patch")], help: "Apply this v2 patchset to the original instead.") var patch: String?
    @Flag(name: [.customShort("c"), .customLong("cib")], help: "Compare as a CIB: digest included, attribute order ignored.")
    var asCIB = false
    @Flag(name: [.customShort("u"), .customLong("no-version")], help: "Leave the version details out.") var noVersion = false

    func validate() throws {
        if asCIB && noVersion { throw ValidationError("-u/--no-version is incompatible with -c/--cib") }
        guard (new == nil) != (patch == nil) else { throw ValidationError("give -n NEW (print the patchset) or -p PATCH (apply it), one of them") }
        if patch != nil && noVersion { throw ValidationError("-u/--no-version goes with -n NEW") }
    }

    func run() throws {
        if let patch { return try CrmCibPatch.applyOffline(original: original, patch: patch, asCIB: asCIB) }
        guard let new else { throw ValidationError("-n NEW is needed") }
        let old = try CrmCib.readDocument(original)
        var target = try CrmCib.readDocument(new)
        if noVersion {
            // crm_diff -u copies the versions over before comparing, and leaves <version> out.
            for name in CIBVersion.attributeNames { if let value = old[name] { target[name] = value } }
        }
        let patch: Patchset?
        do { patch = try Patchset.make(from: old, to: target, asCIB: asCIB) } catch {
            throw ValidationError("\(error)")
        }
        guard var patch else { return }
        if noVersion { patch.versions = nil }
        print(patch.text(), terminator: "")
        throw ExitCode(1)
    }
}

/// `baton crm cib patch -o OLD -p PATCH`: what `crm_diff -o OLD -p PATCH` prints; with
/// `--xml-file PATCH` instead: `cibadmin --patch --xml-file PATCH` against baton-crmd.
struct CrmCibPatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch",
        abstract: "Apply a v2 patchset: to the live CIB through the DC (cibadmin --patch --xml-file), or to a file (crm_diff -o OLD -p PATCH).",
        discussion: """
            Live (-x/--xml-file): the patchset's source version must be the CIB's (a stale patchset is             refused); the result is acknowledged once applied on this node in the DC's order. Offline (-o, -p):             the result is printed as crm_diff prints it. A patchset that carries a digest must produce a \
            document with that digest. With -c the document's version must be the patchset's source (an \
            older document needs a full resync, a newer one makes the patchset stale). A change that does \
            not apply is named with its number and path; exit 1.
            """)

    @Option(name: [.customShort("o"), .customLong("original")], help: "Offline: the original document.") var original: String?
    @Option(name: [.customShort("p"), .customLong("patch")], help: "Offline: the v2 patchset.") var patch: String?
    @Flag(name: [.customShort("c"), .customLong("cib")], help: "Offline: check the versions as a CIB manager does.") var asCIB = false
    @Option(name: [.customShort("x"), .customLong("xml-file")], help: "Live: the v2 patchset to apply to baton-crmd's CIB.")
    var xmlFile: String?
    @OptionGroup var access: CrmdCIBAccess

    func validate() throws {
        if xmlFile != nil {
            guard original == nil, patch == nil, !asCIB else { throw ValidationError("-x/--xml-file (live) goes without -o, -p and -c (offline)") }
        } else if original == nil || patch == nil {
            throw ValidationError("give -x/--xml-file PATCH (the live CIB) or -o OLD -p PATCH (a file)")
        }
    }

    func run() throws {
        if let xmlFile {
            print(try access.send("cib patch", body: CrmdCIBAccess.readFile(xmlFile)), terminator: "")
            return
        }
        guard let original, let patch else { throw ValidationError("-o and -p are both needed") }
        try Self.applyOffline(original: original, patch: patch, asCIB: asCIB)
    }

    /// `crm_diff -o ORIGINAL -p PATCH [-c]`: the result printed as crm_diff prints it.
    static func applyOffline(original: String, patch: String, asCIB: Bool) throws {
        let document = try CrmCib.readDocument(original)
        let patchset: Patchset
        do { patchset = try Patchset(xml: CrmCib.readDocument(patch)) } catch {
            // crm_diff exits 1 for a patchset it cannot read or use, as for one that does not
            // apply (its own -c output can hold an unescaped '<' in a value: unreadable).
            FileHandle.standardError.write(Data("Could not apply patch \(patch): \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            let result = try patchset.apply(to: document, checkVersion: asCIB)
            print(PacemakerXMLText.text(result, formatted: true), terminator: "")
        } catch {
            FileHandle.standardError.write(Data("Could not apply patch \(patch): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `baton crm cib digest FILE`: what `cibadmin --md5-sum -x FILE` prints.
struct CrmCibDigest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "digest",
        abstract: "Print a CIB's digest (cibadmin --md5-sum; --versioned: --md5-sum-versioned).",
        discussion: """
            The on-disk digest is what cib.xml.sig holds; the versioned one is what a v2 patchset carries \
            and what nodes compare after applying one. Both are Pacemaker 2.1.5's, byte for byte.
            """)

    @Argument(help: "The CIB document.") var file: String
    @Flag(help: "The versioned digest (filtered; the on-disk form for feature sets before 3.0.5).") var versioned = false

    func run() throws {
        let root = try CrmCib.readDocument(file)
        print(versioned ? CIBDigest.compute(root) : CIBDigest.onDisk(root))
    }
}

/// `baton crm cib differential`: the test's comparison with crm_diff and cibadmin, more seeds.
struct CrmCibDifferential: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "differential",
        abstract: "Compare our patchsets and digests with crm_diff and cibadmin on generated CIBs (a lab command).",
        discussion: """
            Case I of seed S: a CIBGenerator CIB and a copy with random edits. Checks our diff against \
            crm_diff's (plain and -c), each patchset applied by crm_diff and crm_diff's applied by us, and \
            both digests against cibadmin. Exit 1 when a case disagrees.
            """)

    @Option(help: "The seed.") var seed: UInt64 = 20_261_206
    @Option(help: "The first case.") var first: Int = 0
    @Option(help: "How many cases.") var count: Int = 100
    @Option(help: "crm_diff to compare with.") var crmDiff: String = "/usr/sbin/crm_diff"
    @Option(help: "cibadmin to compare with.") var cibadmin: String = "/usr/sbin/cibadmin"
    @Option(help: "Save each disagreeing case's old and new document in this directory.") var save: String?

    func validate() throws {
        guard (1...100_000).contains(count), first >= 0 else { throw ValidationError("--count must be 1...100000, --first >= 0") }
    }

    func run() throws {
        let directory = NSTemporaryDirectory() + "baton-cib-differential-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tool: PatchsetDifferential.Tool = { program, arguments, files in
            for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name)) }
            let paths = arguments.map { files[$0] != nil ? directory + "/" + $0 : $0 }
            let run = try ChildRun(program, paths, captureOutput: true, outputLimit: 64 << 20)
            return (run.exitCode, run.output)
        }
        var disagreeing = 0
        for index in first..<(first + count) {
            let testCase = PatchsetDifferential.makeCase(seed: seed, index: index)
            let problems = try PatchsetDifferential.check(testCase, crmDiff: crmDiff, cibadmin: cibadmin, tool: tool)
            if !problems.isEmpty {
                disagreeing += 1
                if let save {
                    try FileManager.default.createDirectory(atPath: save, withIntermediateDirectories: true)
                    try Data(XMLCodec.serialize(testCase.old).utf8).write(to: URL(fileURLWithPath: "\(save)/\(seed)-\(index)-old.xml"))
                    try Data(XMLCodec.serialize(testCase.new).utf8).write(to: URL(fileURLWithPath: "\(save)/\(seed)-\(index)-new.xml"))
                }
                print("case \(index) of seed \(seed) disagrees:\n" + problems.joined(separator: "\n"))
            }
        }
        print("\(count - disagreeing) of \(count) cases agree with crm_diff and cibadmin")
        if disagreeing > 0 { throw ExitCode(1) }
    }
}

/// `baton crm cib bench`: the figures of a large CIB (32 nodes x 4,000 resources by default).
struct CrmCibBench: ParsableCommand {
    struct Timing {
        var wall: Double
        var cpu: Double
    }

    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time parse, digest, a one-resource patchset (make and apply) and a chunked full sync on a large CIB (a lab command).")

    @Option(help: "Nodes in the status section.") var nodes: Int = 32
    @Option(help: "Resources (each with one history entry per node).") var resources: Int = 4000
    @Option(help: "Repetitions of the patchset figures (the median is printed).") var repeats: Int = 5

    func validate() throws {
        guard (1...64).contains(nodes), (1...20_000).contains(resources), (1...100).contains(repeats) else {
            throw ValidationError("--nodes 1...64, --resources 1...20000, --repeats 1...100")
        }
    }

    func run() throws {
        // CPU time of this (single-threaded) work: the machine's load does not inflate it as it
        // does wall-clock time; both are printed.
        func cpuNow() -> Double {
            var spec = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
            return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
        }
        let clock = ContinuousClock()
        func time<T>(_ body: () throws -> T) rethrows -> (T, Timing) {
            let start = clock.now, cpuStart = cpuNow()
            let value = try body()
            return (value, Timing(wall: BenchmarkCommand.seconds(clock.now - start), cpu: cpuNow() - cpuStart))
        }
        func median(_ values: [Timing]) -> Timing { values.sorted { $0.cpu < $1.cpu }[values.count / 2] }
        func ms(_ timing: Timing) -> String { String(format: "%.0f ms CPU (%.0f ms wall)", timing.cpu * 1000, timing.wall * 1000) }

        let text = LargeCIB.text(nodes: nodes, resources: resources)
        print("CIB: \(nodes) nodes x \(resources) resources, \(text.utf8.count / 1_000_000) MB of XML")
        let (old, parse) = try time { try XMLCodec.parse(text) }
        print("parse: \(ms(parse))")
        let (_, digest) = time { CIBDigest.compute(old) }
        print("versioned digest: \(ms(digest))")

        var makes = [Timing](), plainMakes = [Timing](), applies = [Timing](), changes = 0
        for round in 0..<repeats {
            // One resource changed, as `crm_resource --meta -p target-role` would, epoch bumped.
            var new = old
            LargeCIB.setAttribute(in: &new, resource: round % resources, name: "description", value: "round \(round)")
            try CIBVersion(of: old).bumped(by: .configuration).write(to: &new)
            let (patch, make) = try time { try Patchset.make(from: old, to: new) }
            guard let patch else { throw ValidationError("no patchset for a changed resource") }
            let (_, plainMake) = try time { try Patchset.make(from: old, to: new, asCIB: false) }
            plainMakes.append(plainMake)
            changes = patch.changes.count
            let (result, apply) = try time { try patch.apply(to: old) }
            guard result == new else { throw ValidationError("the applied patchset did not give the new CIB") }
            makes.append(make)
            applies.append(apply)
        }
        print("one-resource patchset (\(changes) changes), median of \(repeats):")
        print("  make with the target's digest: \(ms(median(makes))); without the digest: \(ms(median(plainMakes)))")
        print("  apply with the version and digest checks: \(ms(median(applies)))")

        let bytes = Array(text.utf8)
        let (chunks, split) = time { SyncChunks.split(bytes, transfer: 1) }
        let (reassembled, join) = try time { () throws -> [UInt8]? in
            var reassembler = SyncChunks.Reassembler()
            var result: [UInt8]?
            for chunk in chunks { result = try reassembler.add(SyncChunks.Chunk(decoding: chunk.encoded())) }
            return result
        }
        guard reassembled == bytes else { throw ValidationError("the reassembled sync differs") }
        print("full sync: \(chunks.count) chunks of at most \(SyncChunks.messageBytesMaxDefault) bytes; split \(ms(split)), encode+decode+reassemble \(ms(join))")
    }
}
