// Shim over the system OpenSSL 3: the macros Swift cannot import become static inline
// functions, and the constants defined through macro expressions become plain constants.
#ifndef BATON_COPENSSL_SHIM_H
#define BATON_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
#include <signal.h>
#include <string.h>

static inline int baton_SSL_CTX_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}
static inline int baton_SSL_CTX_set_max_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_max_proto_version(context, version);
}
static inline long baton_SSL_CTX_set_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_mode(context, mode);
}
static inline uint64_t baton_SSL_CTX_set_options(SSL_CTX *context, uint64_t options) {
    return (uint64_t)SSL_CTX_set_options(context, options);
}
static inline long baton_BIO_get_mem_data(BIO *bio, char **pointer) {
    return BIO_get_mem_data(bio, pointer);
}
static inline size_t baton_BIO_ctrl_pending(BIO *bio) {
    return BIO_ctrl_pending(bio);
}
static inline int baton_BIO_set_mem_eof_return(BIO *bio, int value) {
    return (int)BIO_set_mem_eof_return(bio, value);
}
static inline X509 *baton_SSL_get1_peer_certificate(const SSL *ssl) {
    return SSL_get1_peer_certificate(ssl);
}
static inline int baton_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline int baton_SSL_CTX_set1_groups_list(SSL_CTX *context, const char *list) {
    return (int)SSL_CTX_set1_groups_list(context, list);
}
/// The ASN1_TIME of a certificate's notAfter, for logging expiry.
static inline const ASN1_TIME *baton_X509_get0_notAfter(const X509 *certificate) {
    return X509_get0_notAfter(certificate);
}
/// The certificates a context's verify store holds (the CA bundle): how many, and the i-th
/// (NULL for an entry that is a CRL).
static inline int baton_SSL_CTX_store_count(const SSL_CTX *context) {
    X509_STORE *store = SSL_CTX_get_cert_store(context);
    return store == NULL ? 0 : sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
}
static inline X509 *baton_SSL_CTX_store_certificate(const SSL_CTX *context, int index) {
    X509_STORE *store = SSL_CTX_get_cert_store(context);
    if (store == NULL) return NULL;
    return X509_OBJECT_get0_X509(sk_X509_OBJECT_value(X509_STORE_get0_objects(store), index));
}
/// Ignore SIGPIPE process-wide: a peer that goes away must not kill the daemon on write.
/* OpenSSL frees its global state from an atexit handler; a process that exits while an event
 * loop thread still works on a TLS connection (a CLI returning while its channel closes, a
 * daemon stopping) then crashes in that thread. Without the handler the kernel reclaims it all.
 * The first initialisation decides, so this runs before any other OpenSSL call. */
static inline int baton_openssl_init_without_exit_cleanup(void) {
    return OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
}

static inline void baton_ignore_sigpipe(void) {
    signal(SIGPIPE, SIG_IGN);
}

static const int baton_TLS1_2_VERSION = TLS1_2_VERSION;
static const int baton_TLS1_3_VERSION = TLS1_3_VERSION;
static const int baton_SSL_ERROR_NONE = SSL_ERROR_NONE;
static const int baton_SSL_ERROR_SSL = SSL_ERROR_SSL;
static const int baton_SSL_ERROR_WANT_READ = SSL_ERROR_WANT_READ;
static const int baton_SSL_ERROR_WANT_WRITE = SSL_ERROR_WANT_WRITE;
static const int baton_SSL_ERROR_SYSCALL = SSL_ERROR_SYSCALL;
static const int baton_SSL_ERROR_ZERO_RETURN = SSL_ERROR_ZERO_RETURN;
static const int baton_SSL_VERIFY_PEER = SSL_VERIFY_PEER;
static const int baton_SSL_VERIFY_FAIL_IF_NO_PEER_CERT = SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
static const int baton_SSL_FILETYPE_PEM = SSL_FILETYPE_PEM;
static const long baton_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long baton_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long baton_SSL_MODE_AUTO_RETRY = SSL_MODE_AUTO_RETRY;
static const uint64_t baton_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t baton_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t baton_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
static const uint64_t baton_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const int baton_SSL_SENT_SHUTDOWN = SSL_SENT_SHUTDOWN;
static const int baton_SSL_RECEIVED_SHUTDOWN = SSL_RECEIVED_SHUTDOWN;
static const int baton_GEN_DNS = GEN_DNS;
static const int baton_NID_commonName = NID_commonName;
static const int baton_NID_subject_alt_name = NID_subject_alt_name;
static const int baton_X509_V_OK = X509_V_OK;
static const int baton_X509_V_ERR_CERT_HAS_EXPIRED = X509_V_ERR_CERT_HAS_EXPIRED;

/// ERR_GET_REASON / ERR_GET_LIB as functions (inline functions or macros depending on version).
static inline int baton_ERR_GET_REASON(unsigned long code) {
    return ERR_GET_REASON(code);
}
static inline int baton_ERR_GET_LIB(unsigned long code) {
    return ERR_GET_LIB(code);
}
/// 1 when `name` is an IPv4 or IPv6 literal.
static inline int baton_is_ip_address(const char *name) {
    ASN1_OCTET_STRING *address = a2i_IPADDRESS(name);
    if (address == NULL) return 0;
    ASN1_OCTET_STRING_free(address);
    return 1;
}
/// 1 when the certificate names `name`: a SAN DNS entry (or the subject CN when it has no SAN
/// DNS entry), compared as text; or, for an IP literal, also a SAN IP entry.
static inline int baton_certificate_names(X509 *certificate, const char *name, size_t length) {
    if (X509_check_host(certificate, name, length, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1) return 1;
    if (baton_is_ip_address(name) && X509_check_ip_asc(certificate, name, 0) == 1) return 1;
    return 0;
}
/// The subject CN into `buffer` (NUL-terminated); -1 when there is none.
static inline int baton_X509_subject_common_name(X509 *certificate, char *buffer, int length) {
    return X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, buffer, length);
}
/// The SAN DNS entries, one per call: index from 0; returns the length written, or -1 when
/// there is no entry at that index.
static inline int baton_X509_subject_alternative_dns_name(X509 *certificate, int index, char *buffer, int length) {
    GENERAL_NAMES *names = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    if (names == NULL) return -1;
    int found = -1;
    int seen = 0;
    for (int position = 0; position < sk_GENERAL_NAME_num(names); position++) {
        const GENERAL_NAME *entry = sk_GENERAL_NAME_value(names, position);
        if (entry->type != GEN_DNS) continue;
        if (seen++ != index) continue;
        const unsigned char *data = ASN1_STRING_get0_data(entry->d.dNSName);
        int size = ASN1_STRING_length(entry->d.dNSName);
        if (size >= length) size = length - 1;
        memcpy(buffer, data, (size_t)size);
        buffer[size] = 0;
        found = size;
        break;
    }
    GENERAL_NAMES_free(names);
    return found;
}

static const int baton_SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE = SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
static const int baton_SSL_R_CERTIFICATE_VERIFY_FAILED = SSL_R_CERTIFICATE_VERIFY_FAILED;
static const int baton_SSL_R_UNSUPPORTED_PROTOCOL = SSL_R_UNSUPPORTED_PROTOCOL;
static const int baton_SSL_R_WRONG_VERSION_NUMBER = SSL_R_WRONG_VERSION_NUMBER;
static const int baton_SSL_R_HTTP_REQUEST = SSL_R_HTTP_REQUEST;
static const int baton_SSL_R_HTTPS_PROXY_REQUEST = SSL_R_HTTPS_PROXY_REQUEST;
static const int baton_SSL_R_PACKET_LENGTH_TOO_LONG = SSL_R_PACKET_LENGTH_TOO_LONG;
static const int baton_SSL_R_RECORD_LENGTH_MISMATCH = SSL_R_RECORD_LENGTH_MISMATCH;
static const int baton_SSL_R_UNEXPECTED_RECORD = SSL_R_UNEXPECTED_RECORD;
static const int baton_SSL_R_UNEXPECTED_MESSAGE = SSL_R_UNEXPECTED_MESSAGE;
static const int baton_SSL_R_NO_PROTOCOLS_AVAILABLE = SSL_R_NO_PROTOCOLS_AVAILABLE;
static const int baton_SSL_R_TLSV1_ALERT_PROTOCOL_VERSION = SSL_R_TLSV1_ALERT_PROTOCOL_VERSION;
static const int baton_SSL_AD_REASON_OFFSET = SSL_AD_REASON_OFFSET;
static const int baton_ERR_LIB_SSL = ERR_LIB_SSL;
static const int baton_X509_V_ERR_HOSTNAME_MISMATCH = X509_V_ERR_HOSTNAME_MISMATCH;
static const unsigned int baton_X509_CHECK_FLAG_NO_WILDCARDS = X509_CHECK_FLAG_NO_WILDCARDS;

#endif
