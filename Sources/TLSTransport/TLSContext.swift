import COpenSSL
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// Where a member's TLS material lives. Files are PEM.
public struct TLSFiles: Sendable, Equatable {
    public var certificateAuthorityFile: String
    public var certificateFile: String
    public var privateKeyFile: String

    public init(certificateAuthorityFile: String, certificateFile: String, privateKeyFile: String) {
        self.certificateAuthorityFile = certificateAuthorityFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }
}

/// Why a TLS context could not be built from its files.
public struct TLSContextError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}

/// One configured OpenSSL `SSL_CTX`: TLS 1.3 only, this member's certificate and key, the CA
/// bundle peers must chain to, and peer verification required in both directions.
///
/// Sendable: the `SSL_CTX` is fully configured in `init` and never mutated afterwards;
/// OpenSSL documents a configured `SSL_CTX` as safe to share between threads that create
/// `SSL` objects from it (its reference count is atomic). It is freed once, in `deinit`, when
/// no `TLSHandler` holds it any more (each handler keeps a strong reference).
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    public let files: TLSFiles

    public init(files: TLSFiles) throws(TLSContextError) {
        TLSContext.withoutExitCleanup
        TLSContext.ignoreBrokenPipe
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_method()) else {
            throw TLSContextError(file: files.certificateFile, reason: "SSL_CTX_new failed: \(drainOpenSSLErrors())")
        }
        self.context = context
        self.files = files
        // TLS 1.3 only: a 1.2 peer is refused during the handshake.
        precondition(baton_SSL_CTX_set_min_proto_version(context, baton_TLS1_3_VERSION) == 1, "TLS 1.3 minimum is accepted by OpenSSL 3")
        precondition(baton_SSL_CTX_set_max_proto_version(context, baton_TLS1_3_VERSION) == 1, "TLS 1.3 maximum is accepted by OpenSSL 3")
        _ = baton_SSL_CTX_set_options(context, baton_SSL_OP_NO_RENEGOTIATION | baton_SSL_OP_NO_COMPRESSION | baton_SSL_OP_NO_TICKET)
        _ = baton_SSL_CTX_set_mode(context, baton_SSL_MODE_AUTO_RETRY)
        // Members reconnect rarely: no session tickets, so no post-handshake messages either.
        _ = SSL_CTX_set_num_tickets(context, 0)
        // Key exchange: X25519 and P-256 only, on both sides. OpenSSL's default list offers
        // finite-field groups up to ffdhe8192, whose key share costs a server about 90 ms of
        // CPU per ClientHello (X25519: well under 1 ms) before the client has proven anything.
        // A client offering none of these is refused at its hello.
        precondition(baton_SSL_CTX_set1_groups_list(context, TLSContext.keyExchangeGroups) == 1, "OpenSSL accepts the groups \(TLSContext.keyExchangeGroups)")
        // Both sides verify; a server also requires the client's certificate.
        SSL_CTX_set_verify(context, baton_SSL_VERIFY_PEER | baton_SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        guard SSL_CTX_load_verify_locations(context, files.certificateAuthorityFile, nil) == 1 else {
            throw TLSContextError(file: files.certificateAuthorityFile, reason: "cannot load the CA bundle: \(drainOpenSSLErrors())")
        }
        guard SSL_CTX_use_certificate_chain_file(context, files.certificateFile) == 1 else {
            throw TLSContextError(file: files.certificateFile, reason: "cannot load the certificate: \(drainOpenSSLErrors())")
        }
        guard SSL_CTX_use_PrivateKey_file(context, files.privateKeyFile, baton_SSL_FILETYPE_PEM) == 1 else {
            throw TLSContextError(file: files.privateKeyFile, reason: "cannot load the private key: \(drainOpenSSLErrors())")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSContextError(file: files.privateKeyFile, reason: "the private key does not match the certificate: \(drainOpenSSLErrors())")
        }
    }

    deinit {
        SSL_CTX_free(context)
    }

    /// The key exchange groups offered and accepted, in OpenSSL's list syntax.
    public static let keyExchangeGroups = "X25519:P-256"

    /// OpenSSL's state is never freed at exit (baton_openssl_init_without_exit_cleanup): a
    /// process exiting while an event loop still closes a connection crashed in OpenSSL's
    /// atexit cleanup (a `baton -s` run under load, SIGSEGV in NIO's thread). Runs once, first.
    static let withoutExitCleanup: Void = { _ = baton_openssl_init_without_exit_cleanup() }()

    /// A peer that goes away must not kill the process with SIGPIPE on a write. Runs once.
    static let ignoreBrokenPipe: Void = baton_ignore_sigpipe()

    /// The name this member's own certificate carries (SAN DNS names, else the subject CN).
    public var ownCertificateNames: [String] {
        guard let certificate = SSL_CTX_get0_certificate(context) else { return [] }
        return certificateNames(certificate)
    }

    /// When this member's own certificate and each certificate of the CA bundle stop being
    /// valid (notAfter, seconds since 1970 UTC), with the certificate's names: what an admin
    /// alerts on before members start refusing each other.
    public var certificateExpiries: [CertificateExpiry] {
        var expiries: [CertificateExpiry] = []
        if let own = SSL_CTX_get0_certificate(context), let notAfter = notAfterSeconds(own) {
            expiries.append(CertificateExpiry(role: .own, names: certificateNames(own), notAfter: notAfter))
        }
        for index in 0..<baton_SSL_CTX_store_count(context) {
            guard let authority = baton_SSL_CTX_store_certificate(context, index), let notAfter = notAfterSeconds(authority) else { continue }
            expiries.append(CertificateExpiry(role: .authority, names: certificateNames(authority), notAfter: notAfter))
        }
        return expiries
    }
}

/// A certificate's end of validity, for metrics and status.
public struct CertificateExpiry: Sendable, Equatable {
    public enum Role: String, Sendable { case own, authority }
    public let role: Role
    /// SAN DNS names, else the subject CN.
    public let names: [String]
    /// notAfter in seconds since 1970-01-01 UTC.
    public let notAfter: Int
}

/// A certificate's notAfter in seconds since 1970 UTC (nil when OpenSSL cannot read it).
func notAfterSeconds(_ certificate: OpaquePointer) -> Int? {
    var broken = tm()
    guard let time = baton_X509_get0_notAfter(certificate), ASN1_TIME_to_tm(time, &broken) == 1 else { return nil }
    return Int(timegm(&broken))
}

/// Holds the current `TLSContext` and replaces it on `reload()` (SIGHUP), so certificates can
/// be renewed without a restart. Connections keep the context they were made with; new ones
/// take the current one.
public final class ReloadableTLSContext: Sendable {
    private let current: NIOLockedValueBox<TLSContext>

    public init(files: TLSFiles) throws(TLSContextError) {
        current = NIOLockedValueBox(try TLSContext(files: files))
    }

    public var context: TLSContext {
        current.withLockedValue { $0 }
    }

    /// Re-reads the files (the same paths, or new ones). On failure the previous context stays
    /// in use and the error says which file is at fault.
    public func reload(files: TLSFiles? = nil) throws(TLSContextError) {
        let replacement = try TLSContext(files: files ?? context.files)
        current.withLockedValue { $0 = replacement }
    }
}

/// Reads and clears this thread's OpenSSL error queue. OpenSSL's queue is per thread: call it
/// on the thread that made the failing call, right after the call.
func drainOpenSSLErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        messages.append(openSSLErrorString(code))
        if messages.count >= 16 {
            ERR_clear_error()
            break
        }
    }
    return messages.isEmpty ? "no OpenSSL error recorded" : messages.joined(separator: "; ")
}

func openSSLErrorString(_ code: UInt) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// SAN DNS names of a certificate, or its subject CN when it has none.
func certificateNames(_ certificate: OpaquePointer) -> [String] {
    var names: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    var index: Int32 = 0
    while index < 32 {
        let length = baton_X509_subject_alternative_dns_name(certificate, index, &buffer, Int32(buffer.count))
        if length < 0 { break }
        names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        index += 1
    }
    if names.isEmpty {
        let length = baton_X509_subject_common_name(certificate, &buffer, Int32(buffer.count))
        if length >= 0 {
            names.append(String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }
    return names
}
