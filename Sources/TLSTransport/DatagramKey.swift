import COpenSSL

/// Sealed datagrams between two members, keyed by one TLS 1.3 connection.
///
/// Election messages are idempotent and the election tolerates loss, duplication and
/// reordering, but a TCP stream delivers nothing behind a lost segment until it is
/// retransmitted (and TCP's retransmission timer backs off exponentially): at 25 % loss a
/// stream stalls for seconds and the election's own resends cannot overtake the stall. So
/// batond keeps TLS 1.3 over TCP for authentication and key agreement, and sends election
/// frames as UDP datagrams sealed with AES-256-GCM under a key both ends export from that
/// connection (`TLSHandshakeCompleted.exportedSecret`).
///
/// Layout of a datagram (all integers big-endian):
///
///     0      1 byte    version 0xB1
///     1      8 bytes   key id (from the secret; picks the key, says nothing else)
///     9      8 bytes   sequence number (per key, from 1; the GCM nonce is salt ‖ sequence)
///     17     …         ciphertext of one encoded frame
///     end-16 16 bytes  GCM tag over the header (as associated data) and the ciphertext
///
/// What binds the sender: only the two ends of one verified connection hold its secret, and
/// the receiver files each key under the member that connection's certificate named. A key
/// seals in one direction only (the dialler's: every member sends on the connection it
/// dialled), so sequence numbers never repeat under one key, and `ReplayWindow` drops
/// replays. Anything that does not open (garbage, a truncated datagram, another key, a
/// flipped bit) is refused by `open`.
public struct DatagramKey: Sendable {
    public static let secretBytes = 64
    public static let exporterLabel = "EXPORTER-baton-datagram-v1"
    public static let version: UInt8 = 0xB1
    public static let headerBytes = 17
    public static let tagBytes = 16
    /// Whole datagram, header and tag included: fits an Ethernet MTU with IPv4/IPv6 and UDP
    /// headers, so that no datagram is fragmented (a lost fragment loses the datagram).
    public static let datagramBytesMax = 1400
    public static var plaintextBytesMax: Int { datagramBytesMax - headerBytes - tagBytes }

    public let id: UInt64
    private let key: [UInt8]
    private let salt: [UInt8]

    /// The secret's layout: key (32 bytes), key id (8), nonce salt (4), the rest unused.
    public init(secret: [UInt8]) {
        TLSContext.withoutExitCleanup
        precondition(secret.count == DatagramKey.secretBytes, "datagram secret of \(secret.count) bytes")
        key = Array(secret[0..<32])
        id = secret[32..<40].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        salt = Array(secret[40..<44])
    }

    /// The key id a datagram names, if it has the shape of one.
    public static func keyID(of datagram: [UInt8]) -> UInt64? {
        guard datagram.count >= headerBytes + tagBytes, datagram.count <= datagramBytesMax, datagram[0] == version else { return nil }
        return datagram[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private func nonce(_ sequence: UInt64) -> [UInt8] {
        salt + (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * $0)) }
    }

    private func header(_ sequence: UInt64) -> [UInt8] {
        var bytes = [DatagramKey.version]
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: id >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: sequence >> UInt64(shift))) }
        return bytes
    }

    /// The datagram carrying `plaintext` (at most `plaintextBytesMax` bytes) as `sequence`.
    public func seal(_ plaintext: [UInt8], sequence: UInt64) -> [UInt8] {
        precondition(plaintext.count <= DatagramKey.plaintextBytesMax, "datagram plaintext of \(plaintext.count) bytes")
        precondition(sequence > 0, "sequence numbers start at 1")
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let head = header(sequence)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: DatagramKey.tagBytes)
        var length: Int32 = 0
        var total: Int32 = 0
        var ok = EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce(sequence)) == 1
        ok = ok && EVP_EncryptUpdate(context, nil, &length, head, Int32(head.count)) == 1
        ok = ok && EVP_EncryptUpdate(context, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1
        total = length
        ok = ok && ciphertext.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(context, $0.baseAddress! + Int(total), &length) } == 1
        total += length
        ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(DatagramKey.tagBytes), &tag) == 1
        precondition(ok && Int(total) == plaintext.count, "AES-256-GCM sealing failed")
        return head + ciphertext[0..<Int(total)] + tag
    }

    /// The sequence number and plaintext of a datagram sealed under this key; nil for
    /// anything else (wrong key, damaged, truncated, forged).
    public func open(_ datagram: [UInt8]) -> (sequence: UInt64, plaintext: [UInt8])? {
        guard DatagramKey.keyID(of: datagram) == id else { return nil }
        let sequence = datagram[9..<17].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard sequence > 0 else { return nil }
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        let head = Array(datagram[0..<DatagramKey.headerBytes])
        let body = Array(datagram[DatagramKey.headerBytes..<(datagram.count - DatagramKey.tagBytes)])
        var tag = Array(datagram[(datagram.count - DatagramKey.tagBytes)...])
        var plaintext = [UInt8](repeating: 0, count: body.count + 16)
        var length: Int32 = 0
        var ok = EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce(sequence)) == 1
        ok = ok && EVP_DecryptUpdate(context, nil, &length, head, Int32(head.count)) == 1
        ok = ok && EVP_DecryptUpdate(context, &plaintext, &length, body, Int32(body.count)) == 1
        let total = length
        ok = ok && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(DatagramKey.tagBytes), &tag) == 1
        ok = ok && plaintext.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(context, $0.baseAddress! + Int(total), &length) } == 1
        guard ok, Int(total) == body.count else { return nil }
        return (sequence, Array(plaintext[0..<body.count]))
    }
}

/// Which sequence numbers of one key were already accepted: the highest, and a bitmap of
/// the 64 below it (RFC 4303's window). Older than the window, or seen: a replay.
public struct ReplayWindow: Sendable, Equatable {
    public private(set) var highest: UInt64 = 0
    private var seen: UInt64 = 0
    public static let width: UInt64 = 64

    public init() {}

    /// True (and recorded) the first time `sequence` is offered inside the window.
    public mutating func accept(_ sequence: UInt64) -> Bool {
        precondition(sequence > 0, "sequence numbers start at 1")
        if sequence > highest {
            let shift = sequence - highest
            seen = shift >= ReplayWindow.width ? 0 : seen << shift
            seen |= 1
            highest = sequence
            return true
        }
        let age = highest - sequence
        guard age < ReplayWindow.width else { return false }
        let bit = UInt64(1) << age
        guard seen & bit == 0 else { return false }
        seen |= bit
        return true
    }
}
