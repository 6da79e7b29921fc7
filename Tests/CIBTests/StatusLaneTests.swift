import Foundation
import Testing
@testable import CIB

/// The fast reader's status lane decodes `<status>` straight into the model. It is only a
/// faster way to the same value: `CIB(parsing:)` (the lane) must give exactly what
/// `CIB(xml: XMLCodec.parse(…))` (a whole element tree, then the model's initialisers) gives,
/// value for value, and the same error where that one fails.
@Suite struct StatusLaneTests {
    /// The two ways' outcomes for one document; nil when they agree.
    static func disagreement(_ text: String) -> String? {
        let generic = Result { () throws(CIBError) -> CIB in try CIB(xml: XMLCodec.parse(text)) }
        let lane = Result { () throws(CIBError) -> CIB in try CIB(parsing: text) }
        switch (generic, lane) {
        case (.success(let expected), .success(let got)):
            guard expected != got else { return nil }
            if expected.status != got.status {
                for (left, right) in zip(expected.status.nodeStates, got.status.nodeStates) where left != right {
                    return "node_state \(left.id ?? "?") differs:\n\(left)\nvs\n\(right)"
                }
                return "status differs: \(expected.status.extras) vs \(got.status.extras)"
            }
            return "CIB differs outside the status section"
        case (.failure(let expected), .failure(let got)):
            return expected == got ? nil : "different errors: \(expected) vs \(got)"
        case (.success, .failure(let got)): return "only the lane failed: \(got)"
        case (.failure(let expected), .success): return "only the generic way failed: \(expected)"
        }
    }

    /// Whether the lane (rather than the generic way) read the status section.
    static func laneRead(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { FastXMLReader.readCIB($0)?.status != nil }
    }

    @Test(.enabled(if: ConformanceData.isPresent, "conformance data not found next to the repository"))
    func sameCIBOnEveryConformanceInput() throws {
        var failures: [String] = []
        var throughLane = 0
        let inputs = try ConformanceData.inputs()
        for input in inputs {
            let text = try String(contentsOf: input, encoding: .utf8)
            if Self.laneRead(text) { throughLane += 1 }
            if let problem = Self.disagreement(text) { failures.append("\(input.lastPathComponent): \(problem)") }
        }
        #expect(failures.isEmpty, "\(failures.count) differ; first: \(failures.prefix(3).joined(separator: "\n"))")
        // The suite's status sections are ordinary: the lane must be the way they are read.
        #expect(throughLane >= inputs.count - 20, "only \(throughLane) of \(inputs.count) inputs went through the lane")
    }

    /// A status section with everything the lane reads its own way and everything it leaves
    /// to the model's initialisers.
    static let rich = """
    <cib epoch="3" num_updates="7" admin_epoch="0">
      <configuration><crm_config/><nodes><node id="1" uname="a"/></nodes><resources/><constraints/></configuration>
      <status x-status="kept">
        <node_state id="1" uname="a" in_ccm="true" crmd="online" join="member" expected="member" x-node="n">
          <transient_attributes id="1">
            <instance_attributes id="status-1"><nvpair id="status-1-fail-count-r" name="fail-count-r#start_0" value="2"/></instance_attributes>
          </transient_attributes>
          <lrm id="1" x-lrm="l">
            <lrm_resources id="lr" x-resources="r">
              <lrm_resource id="r" class="ocf" provider="pacemaker" type="Dummy" container="c" x-resource="1">
                <!-- history -->
                <lrm_rsc_op id="r_last_0" operation_key="r_start_0" operation="start" call-id="4" rc-code="0" op-status="0"
                    interval="0" last-rc-change="1700000000" last-run="1700000000" exec-time="12" transition-key="1:2:0:abc"
                    transition-magic="0:0;1:2:0:abc" op-digest="0123456789abcdef0123456789abcdef" exit-reason="" on_node="a"/>
                <lrm_rsc_op id="r_monitor_10000" operation="monitor" interval="10000" call-id="5" rc-code="0" op-status="0"></lrm_rsc_op>
                <x-unknown id="u"><deeper/></x-unknown>
                <lrm_rsc_op id="r_last_failure_0" operation="monitor" interval="10000" call-id="6" rc-code="7" op-status="0"><x-note/></lrm_rsc_op>
              </lrm_resource>
              <lrm_resource id="s" class="stonith" type="fence_dummy"/>
              <x-between/>
              <lrm_resource id="t" class="ocf" provider="heartbeat" type="IPaddr2">
                <lrm_rsc_op id="t_last_0" operation="monitor" interval="0" call-id="1" rc-code="7" op-status="0"/>
              </lrm_resource>
            </lrm_resources>
            <x-after-resources/>
          </lrm>
          <x-node-child/>
        </node_state>
        <node_state id="2" uname="b" in_ccm="false" crmd="offline" join="down" expected="down"/>
        <tickets><ticket_state id="T" granted="true" last-granted="1700000000" owner="site-a"/></tickets>
        <x-status-child/>
      </status>
    </cib>
    """

    @Test func richStatusSectionReadsTheSame() {
        #expect(Self.laneRead(Self.rich))
        #expect(Self.disagreement(Self.rich) == nil, "\(Self.disagreement(Self.rich) ?? "")")
        let cib = try? CIB(parsing: Self.rich)
        let resources = cib?.status.nodeStates.first?.lrm?.resources ?? []
        #expect(resources.map(\.id) == ["r", "s", "t"])
        #expect(resources.first?.operations.map(\.id) == ["r_last_0", "r_monitor_10000", "r_last_failure_0"])
        #expect(resources.first?.extras.children.map(\.name) == ["x-unknown"])
        #expect(cib?.status.nodeStates.first?.lrm?.resourcesExtras.children.map(\.name) == ["x-between"])
        #expect(cib?.status.tickets?.states.first?.isGranted == true)
    }

    /// Variants the lane gives up on (the generic way reads them) or that are errors: the
    /// outcome must still be the generic way's.
    @Test(arguments: [
        ("second lrm", "<x-node-child/>", "<lrm id=\"again\"/>"),
        ("second lrm_resources", "<x-after-resources/>", "<lrm_resources id=\"again\"/>"),
        ("second status", "</status>\n</cib>", "</status><status><node_state id=\"9\"/></status></cib>"),
        ("processing instruction", "<!-- history -->", "<?note keep?>"),
        ("bad call-id", "call-id=\"4\"", "call-id=\"four\""),
        ("bad interval", "interval=\"10000\" call-id=\"5\"", "interval=\"ten\" call-id=\"5\""),
        ("op without operation", "operation=\"start\"", "x-operation=\"start\""),
        ("op without id", "<lrm_rsc_op id=\"t_last_0\"", "<lrm_rsc_op"),
        ("resource without id", "<lrm_resource id=\"s\"", "<lrm_resource"),
        ("bad ticket", "last-granted=\"1700000000\"", "last-granted=\"soon\""),
        ("bad nvpair", "<nvpair id=\"status-1-fail-count-r\"", "<nvpair"),
        ("bad configuration and status", "<nodes><node id=\"1\" uname=\"a\"/></nodes>", "<nodes><node uname=\"a\"/></nodes>"),
        ("no status", "<status x-status=\"kept\">", "<x-status x-status=\"kept\">"),
        ("status not under the root", "<configuration>", "<configuration><status/>"),
        // Values the operation scanner leaves to the general way.
        ("negative call-id", "call-id=\"1\"", "call-id=\"-1\""),
        ("spaces around a number", "rc-code=\"7\"", "rc-code=\" 7 \""),
        ("leading zeros", "call-id=\"6\"", "call-id=\"0006\""),
        ("nineteen digits", "last-run=\"1700000000\"", "last-run=\"1700000000000000000\""),
        ("number too large", "last-run=\"1700000000\"", "last-run=\"99999999999999999999\""),
        ("reference in a value", "exit-reason=\"\"", "exit-reason=\"a&amp;b&#x41;\""),
        ("tab in a value", "exit-reason=\"\"", "exit-reason=\"a\tb\""),
        ("single quotes", "op-digest=\"0123456789abcdef0123456789abcdef\"", "op-digest='0123456789abcdef0123456789abcdef'"),
        ("repeated attribute", "on_node=\"a\"", "on_node=\"a\" on_node=\"b\""),
        ("repeated unknown attribute", "exec-time=\"12\"", "exec-time=\"12\" exec-time=\"13\""),
        ("no space between attributes", "rc-code=\"7\" op-status", "rc-code=\"7\"op-status"),
        ("empty interval", "interval=\"0\" call-id=\"1\"", "interval=\"\" call-id=\"1\""),
    ])
    func variantsReadTheSame(_ name: String, _ original: String, _ replacement: String) {
        #expect(Self.rich.contains(original), "\(name): the variant does not apply")
        var text = Self.rich.replacingOccurrences(of: original, with: replacement)
        if name == "bad configuration and status" { text = text.replacingOccurrences(of: "call-id=\"4\"", with: "call-id=\"x\"") }
        if name == "no status" { text = text.replacingOccurrences(of: "</status>", with: "</x-status>") }
        #expect(Self.disagreement(text) == nil, "\(name): \(Self.disagreement(text) ?? "")")
    }

    /// Seeded byte mutations of the rich document: whatever each way makes of it, the two
    /// must agree.
    @Test func mutatedDocumentsReadTheSame() {
        let alphabet = Array("<>/=\"'&;#!?- \n\tab1x".utf8)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let seed = Array(Self.rich.utf8)
        let statusStart = seed.count - Self.rich[Self.rich.range(of: "<status")!.lowerBound...].utf8.count
        var problems: [String] = []
        var throughLane = 0
        for _ in 0..<2000 {
            var bytes = seed
            for _ in 0..<(1 + next(3)) {
                // Mostly inside the status section, where the lane reads.
                let position = statusStart + next(bytes.count - statusStart)
                switch next(3) {
                case 0: bytes[position] = alphabet[next(alphabet.count)]
                case 1: bytes.insert(alphabet[next(alphabet.count)], at: position)
                default: bytes.remove(at: position)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if Self.laneRead(text) { throughLane += 1 }
            if let problem = Self.disagreement(text) { problems.append("\(problem) in:\n\(text)") }
        }
        #expect(problems.isEmpty, "\(problems.count) disagreements; first: \(problems.first?.prefix(4000) ?? "")")
        #expect(throughLane >= 200, "only \(throughLane) mutated documents went through the lane")
    }
}
