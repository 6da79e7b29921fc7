import CIB
import Testing
@testable import Scheduler

/// Cases cut down from the Pacemaker regression tests that failed (issue 11), each checked
/// against crm_simulate 2.1.5 on the same input; the full tests are on the expected-pass list.
@Suite struct SuiteFailuresTests {
    static func interleavedClone(_ id: String, disabled: Bool = false) -> String {
        let role = disabled ? "<nvpair id=\"\(id)-m2\" name=\"target-role\" value=\"Stopped\"/>" : ""
        return """
        <clone id="\(id)-clone"><meta_attributes id="\(id)-m"><nvpair id="\(id)-m1" name="interleave" value="true"/>\(role)
        </meta_attributes>\(Fixture.dummy(id))</clone>
        """
    }

    /// order-clone: a chain of interleaved clones headed by a disabled one leaves every clone
    /// after it unassigned (no summary line), whatever the order the constraints are listed in.
    @Test func aChainOfInterleavedClonesAfterADisabledOneStaysUnassigned() throws {
        let resources = Self.interleavedClone("a", disabled: true) + Self.interleavedClone("b") + Self.interleavedClone("c")
        let constraints = """
        <rsc_order id="b-then-c" first="b-clone" then="c-clone"/><rsc_order id="a-then-b" first="a-clone" then="b-clone"/>
        """
        #expect(try Fixture.summary(Fixture.cib(resources: resources, constraints: constraints)) == [])
    }
}
