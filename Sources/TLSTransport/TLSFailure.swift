import COpenSSL

/// Which end of the connection this handler is.
public enum TLSRole: String, Sendable, Equatable {
    case client
    case server
}

/// Which names the peer's certificate may carry.
public enum PeerNamePolicy: Sendable, Equatable {
    /// Client side: the member we dialled must be exactly this one.
    case exactly(String)
    /// Server side: any configured member may connect; the first name (in this order) that its
    /// certificate carries says which member it is.
    case anyOf([String])

    var candidates: [String] {
        switch self {
        case .exactly(let name): return [name]
        case .anyOf(let names): return names
        }
    }
}

/// A peer whose certificate chains to the configured CA and carries a member's name.
public struct VerifiedPeer: Sendable, Equatable, CustomStringConvertible {
    /// The member name it matched (from the `PeerNamePolicy`).
    public let name: String
    /// What its certificate carries: SAN DNS names, or the subject CN when it has none.
    public let certificateNames: [String]
    /// `address:port` of the remote end.
    public let address: String

    public var description: String { "\(name) at \(address)" }
}

/// Fired inbound (as a user event) once the handshake has finished and the peer's name is
/// verified; handlers after `TLSHandler` learn who is talking from it.
public struct TLSHandshakeCompleted: Sendable, Equatable {
    public let peer: VerifiedPeer
    /// `DatagramKey.secretBytes` from the connection's TLS 1.3 exporter (RFC 8446 7.5, label
    /// `DatagramKey.exporterLabel`): both ends of this one connection, and nobody else, hold
    /// it. Nil if OpenSSL could not export it (then nothing is sealed for this connection).
    public let exportedSecret: [UInt8]?

    public init(peer: VerifiedPeer, exportedSecret: [UInt8]? = nil) {
        self.peer = peer
        self.exportedSecret = exportedSecret
    }
}

/// Why a TLS connection was refused or broke. The cases a test or an operator cares about
/// are distinct; the rest carry OpenSSL's own words.
public enum TLSRefusal: Sendable, Equatable, CustomStringConvertible {
    /// The handshake did not finish in time (a silent or stuck peer).
    case handshakeTimeout(Duration)
    /// The server's peer sent no certificate.
    case noPeerCertificate
    /// The peer's certificate has expired.
    case peerCertificateExpired
    /// The peer's certificate does not chain to our CA (or is otherwise invalid).
    case peerCertificateUntrusted(String)
    /// The certificate is valid but names no member we accept here.
    case peerNameMismatch(expected: [String], presented: [String])
    /// The certificate names more than one member we accept: it could pose as either.
    case peerNameAmbiguous(matching: [String])
    /// The peer offered only TLS versions below 1.3.
    case protocolVersionRefused(String)
    /// The bytes were not TLS at all (plaintext, HTTP, garbage).
    case notTLS(String)
    /// The peer sent a TLS alert: it refused us (our certificate, our version…).
    case alertReceived(String)
    /// The connection closed before the handshake finished.
    case closedDuringHandshake
    /// Any other OpenSSL failure, in its words.
    case handshakeFailed(String)
    /// Reading or writing application data failed after the handshake.
    case connectionFailed(String)
    /// Too many writes queued while the handshake was still running.
    case pendingWritesExceeded(Int)
    /// A write after the connection failed or closed.
    case notConnected

    public var description: String {
        switch self {
        case .handshakeTimeout(let timeout): return "handshake not finished within \(timeout)"
        case .noPeerCertificate: return "peer presented no certificate"
        case .peerCertificateExpired: return "peer certificate has expired"
        case .peerCertificateUntrusted(let reason): return "peer certificate not trusted: \(reason)"
        case .peerNameMismatch(let expected, let presented):
            return "peer certificate names \(presented) match none of the expected \(expected)"
        case .peerNameAmbiguous(let matching): return "peer certificate names several members \(matching); one member, one certificate"
        case .protocolVersionRefused(let reason): return "peer does not speak TLS 1.3: \(reason)"
        case .notTLS(let reason): return "peer did not speak TLS: \(reason)"
        case .alertReceived(let reason): return "peer refused the connection: \(reason)"
        case .closedDuringHandshake: return "connection closed during the handshake"
        case .handshakeFailed(let reason): return "handshake failed: \(reason)"
        case .connectionFailed(let reason): return "connection failed: \(reason)"
        case .pendingWritesExceeded(let count): return "more than \(count) writes queued during the handshake"
        case .notConnected: return "connection is not open"
        }
    }
}

/// A refused or failed TLS connection: who (address, and our role) and why.
public struct TLSConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let peerAddress: String
    public let role: TLSRole
    public let refusal: TLSRefusal

    public var description: String { "TLS \(role) connection with \(peerAddress): \(refusal)" }
}

/// Turns what OpenSSL says after a failed call into a `TLSRefusal`. Must run on the thread
/// that made the call (the error queue is per thread); drains that queue.
func classifyFailure(ssl: OpaquePointer, sslError: Int32, handshaking: Bool, expectedNames: [String] = [], presentedNames: [String] = []) -> TLSRefusal {
    var codes: [UInt] = []
    while codes.count < 16 {
        let code = ERR_get_error()
        if code == 0 { break }
        codes.append(code)
    }
    ERR_clear_error()
    let message = codes.isEmpty ? "no OpenSSL error recorded" : codes.map(openSSLErrorString).joined(separator: "; ")
    if sslError == baton_SSL_ERROR_ZERO_RETURN || (sslError == baton_SSL_ERROR_SYSCALL && codes.isEmpty) {
        return handshaking ? .closedDuringHandshake : .connectionFailed("unexpected end of stream")
    }
    let reasons = codes.filter { baton_ERR_GET_LIB($0) == baton_ERR_LIB_SSL }.map { baton_ERR_GET_REASON($0) }
    let verifyResult = SSL_get_verify_result(ssl)
    if reasons.contains(baton_SSL_R_CERTIFICATE_VERIFY_FAILED) || (handshaking && verifyResult != Int(baton_X509_V_OK)) {
        if verifyResult == Int(baton_X509_V_ERR_CERT_HAS_EXPIRED) { return .peerCertificateExpired }
        if verifyResult == Int(baton_X509_V_ERR_HOSTNAME_MISMATCH) {
            return .peerNameMismatch(expected: expectedNames, presented: presentedNames)
        }
        if verifyResult != Int(baton_X509_V_OK) {
            return .peerCertificateUntrusted(String(cString: X509_verify_cert_error_string(verifyResult)))
        }
    }
    if reasons.contains(baton_SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) { return .noPeerCertificate }
    let versionReasons = [baton_SSL_R_UNSUPPORTED_PROTOCOL, baton_SSL_R_NO_PROTOCOLS_AVAILABLE]
    if reasons.contains(where: versionReasons.contains) { return .protocolVersionRefused(message) }
    if let alert = reasons.first(where: { $0 >= baton_SSL_AD_REASON_OFFSET && $0 < baton_SSL_AD_REASON_OFFSET + 256 }) {
        if alert == baton_SSL_R_TLSV1_ALERT_PROTOCOL_VERSION { return .protocolVersionRefused(message) }
        return .alertReceived(message)
    }
    let notTLSReasons = [
        baton_SSL_R_WRONG_VERSION_NUMBER, baton_SSL_R_HTTP_REQUEST, baton_SSL_R_HTTPS_PROXY_REQUEST,
        baton_SSL_R_PACKET_LENGTH_TOO_LONG, baton_SSL_R_RECORD_LENGTH_MISMATCH,
    ]
    if handshaking && reasons.contains(where: notTLSReasons.contains) { return .notTLS(message) }
    return handshaking ? .handshakeFailed(message) : .connectionFailed(message)
}
