import Corosync
import Testing

@Suite struct CorosyncErrorTests {
    @Test func statusNamesAreTheCNames() {
        #expect(CorosyncStatus.tryAgain.name == "CS_ERR_TRY_AGAIN")
        #expect(CorosyncStatus.library.name == "CS_ERR_LIBRARY")
        #expect(CorosyncError.call(function: "cpg_join", status: .tryAgain).description == "cpg_join: CS_ERR_TRY_AGAIN")
        #expect(CorosyncError.call(function: "cpg_dispatch", status: .library).isConnectionLost)
    }

    @Test func ringIDPrintsLikeQuorumtool() {
        #expect(RingID(nodeID: NodeID(1), sequence: 0x1c).description == "1.1c")
    }

    @Test func groupNamesAreBounded() async {
        await #expect(throws: CorosyncError.invalidName(String(repeating: "x", count: 200), limit: 127)) {
            _ = try await ProcessGroup.join(String(repeating: "x", count: 200))
        }
    }
}
