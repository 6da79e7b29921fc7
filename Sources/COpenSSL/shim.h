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
/// Ignore SIGPIPE process-wide: a peer that goes away must not kill the daemon on write.
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

#endif
