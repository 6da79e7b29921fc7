import COpenSSL
import NIOCore
import TestSupport
import Testing
@testable import TLSTransport

/// Issue 10, point 11: only X25519 and P-256 are offered and accepted. OpenSSL's default list
/// let a client make the server compute an ffdhe8192 key share (about 90 ms of CPU) per
/// ClientHello, before the client proved anything.
@Suite(.timeLimit(.minutes(Patience.testMinutes))) struct KeyExchangeGroups {
    /// Our context with its groups replaced by `groups` (a foreign peer's choice).
    static func context(_ pki: TestPKI, _ name: String, groups: String) throws -> TLSContext {
        let context = try TLSContext(files: pki.files(name))
        #expect(baton_SSL_CTX_set1_groups_list(context.context, groups) == 1, "OpenSSL refused the groups \(groups)")
        return context
    }

    @Test func theContextsListIsX25519AndP256() {
        #expect(TLSContext.keyExchangeGroups == "X25519:P-256")
    }

    @Test(arguments: ["X25519", "P-256", "X25519:ffdhe8192", "ffdhe8192:P-256"])
    func aClientOfferingACheapGroupIsAccepted(_ groups: String) async throws {
        let pki = try await SharedPKI.shared.get()
        let pair = try EmbeddedPair(pki, clientContext: try Self.context(pki, "site-b", groups: groups))
        try pair.activate()
        try pair.pump()
        #expect(pair.serverHandler.verifiedPeer?.name == "site-b", "a client offering \(groups) was refused")
        #expect(pair.clientHandler.verifiedPeer?.name == "site-a")
    }

    @Test(arguments: ["ffdhe8192", "ffdhe2048", "X448", "P-384", "P-521", "ffdhe8192:X448"])
    func aClientOfferingOnlyOtherGroupsIsRefusedAtItsHello(_ groups: String) async throws {
        let pki = try await SharedPKI.shared.get()
        let pair = try EmbeddedPair(pki, clientContext: try Self.context(pki, "site-b", groups: groups))
        try pair.activate()
        // The server refuses the ClientHello itself (the first bytes it reads).
        let error = #expect(throws: TLSConnectionError.self) { try pair.pump() }
        #expect(error?.role == .server, "\(String(describing: error))")
        #expect(pair.serverHandler.verifiedPeer == nil, "a client offering only \(groups) was accepted")
        #expect(pair.clientHandler.verifiedPeer == nil)
        #expect(!pair.server.isActive)
    }

    /// Dialling: our client offers only these groups too, so a server that insists on another
    /// one cannot make us compute it.
    @Test(arguments: ["ffdhe8192", "X448"])
    func ourClientDoesNotOfferOtherGroups(_ groups: String) async throws {
        let pki = try await SharedPKI.shared.get()
        let pair = try EmbeddedPair(pki, serverContext: try Self.context(pki, "site-a", groups: groups))
        try pair.activate()
        try? pair.pump()
        #expect(pair.clientHandler.verifiedPeer == nil, "our client agreed to \(groups)")
        #expect(!pair.client.isActive || !pair.server.isActive)
    }
}
