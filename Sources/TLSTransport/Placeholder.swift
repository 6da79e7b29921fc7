enum TLSTransportPlaceholder {}
import COpenSSL
enum Placeholder { static func v() -> UInt { OpenSSL_version_num() } }
