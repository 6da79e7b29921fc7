import CIB
import SeededRandom

/// Differential check of `Patchset` and `CIBDigest` against Pacemaker's own tools on one
/// generated CIB and a mutated copy of it. Pure: the tool runs behind `Tool`, which writes the
/// named files into a scratch directory, runs the program there and returns its exit status
/// and standard output (the test and `baton crm cib differential` each bring one).
///
/// Checks, for old = generated, new = mutated:
/// 1. our patchset's text is `crm_diff -o old -n new`'s, byte for byte (and with `-c`, the
///    one carrying the versioned digest);
/// 2. `crm_diff -o old -p OURS` gives the same document as `crm_diff -o old -p THEIRS`;
/// 3. our `apply` of THEIRS gives that document too;
/// 4. our on-disk and versioned digests of new are what `cibadmin --md5-sum[-versioned]` print.
/// Steps 2 and 3 are skipped when crm_diff's text is not XML (its escaping quirk with
/// non-ASCII values, which our text reproduces).
public enum PatchsetDifferential {
    public typealias Tool = (_ program: String, _ arguments: [String], _ files: [String: String]) throws -> (status: Int32, output: String)

    public struct Case: Sendable {
        public var old: XMLElement
        public var new: XMLElement
    }

    /// The case for `seed`/`index`: a generated CIB and its mutation.
    public static func makeCase(seed: UInt64, index: Int) -> Case {
        var random = SplitMix64(seed: seed, index: index)
        let generated = CIBGenerator().generate(using: &random)
        // The generator writes parseable XML; a failure here is a generator bug.
        let old = try! XMLCodec.parse(generated.xml)
        let new = CIBMutator().mutate(old, using: &random)
        return Case(old: old, new: new)
    }

    /// The disagreements found (empty: all checks agree). `crmDiff` and `cibadmin` are the
    /// tools' paths.
    public static func check(_ testCase: Case, crmDiff: String, cibadmin: String, tool: Tool) throws -> [String] {
        var problems = [String]()
        let oldText = XMLCodec.serialize(testCase.old), newText = XMLCodec.serialize(testCase.new)
        let files = ["old.xml": oldText, "new.xml": newText]

        for asCIB in [false, true] {
            let flags = asCIB ? ["-c"] : []
            let theirs = try tool(crmDiff, flags + ["-o", "old.xml", "-n", "new.xml"], files)
            let ours: Patchset?
            do { ours = try Patchset.make(from: testCase.old, to: testCase.new, asCIB: asCIB) } catch {
                problems.append("make\(asCIB ? " -c" : ""): \(error)")
                continue
            }
            let ourText = ours?.text() ?? ""
            if ourText != theirs.output {
                problems.append("crm_diff\(asCIB ? " -c" : "") printed\n\(theirs.output)\nwe made\n\(ourText)")
            }
            guard !asCIB, let ours, theirs.status == 1 else { continue }
            let theirPatch: Patchset
            do { theirPatch = try Patchset(parsing: theirs.output) } catch {
                // crm_xml_escape stops escaping at the first non-ASCII character of a value, so
                // crm_diff can print a '<' inside an attribute: not XML, for Pacemaker either.
                // Ours printed the same bytes (checked above); nothing more to compare.
                if ourText != theirs.output { problems.append("cannot read crm_diff's patchset: \(error)") }
                continue
            }
            let patchFiles = ["old.xml": oldText, "ours.xml": XMLCodec.serialize(ours.xml),
                              "theirs.xml": XMLCodec.serialize(theirPatch.xml)]
            let applyTheirs = try tool(crmDiff, ["-o", "old.xml", "-p", "theirs.xml"], patchFiles)
            let applyOurs = try tool(crmDiff, ["-o", "old.xml", "-p", "ours.xml"], patchFiles)
            if applyOurs.output != applyTheirs.output || applyOurs.status != applyTheirs.status {
                problems.append("crm_diff -p: our patchset gives\n\(applyOurs.output)\ntheirs gives\n\(applyTheirs.output)")
            }
            do {
                let applied = try theirPatch.apply(to: testCase.old, checkVersion: false)
                let text = PacemakerXMLText.text(applied, formatted: true)
                if applyTheirs.status == 0 && text != applyTheirs.output {
                    problems.append("our apply of crm_diff's patchset gives\n\(text)\ncrm_diff -p gives\n\(applyTheirs.output)")
                }
            } catch {
                if applyTheirs.status == 0 { problems.append("our apply of crm_diff's patchset failed: \(error)") }
            }
        }

        let onDisk = try tool(cibadmin, ["--md5-sum", "-x", "new.xml"], files)
        let versioned = try tool(cibadmin, ["--md5-sum-versioned", "-x", "new.xml"], files)
        let ourOnDisk = CIBDigest.onDisk(testCase.new), ourVersioned = CIBDigest.compute(testCase.new)
        if onDisk.output.trimmingNewlines() != ourOnDisk {
            problems.append("cibadmin --md5-sum printed \(onDisk.output.trimmingNewlines()), we computed \(ourOnDisk)")
        }
        if versioned.output.trimmingNewlines() != ourVersioned {
            problems.append("cibadmin --md5-sum-versioned printed \(versioned.output.trimmingNewlines()), we computed \(ourVersioned)")
        }
        return problems
    }
}

extension String {
    fileprivate func trimmingNewlines() -> String {
        var text = Substring(self)
        while text.last == "\n" { text.removeLast() }
        return String(text)
    }
}
