/* tls.c -- per-run TLS: a throwaway CA and server certificate made in memory at start-up */
#include "mockapi/http/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mockapi/base/file.h"

#define TLS_PATH_MAX FILE_PATH_MAX  /* cap on `<dir>/ca.crt` */
#define TLS_SERIAL_BYTES 16         /* RFC 5280 allows up to 20 octets; Go rejects more */
#define TLS_BACKDATE (60L * 60)     /* notBefore = now - 1h, for clocks that lag a little */
#define TLS_LIFETIME (365L * 86400) /* notAfter = now + 1y: longer than any run */
#define TLS_CA_CN "kubefault-ca"
#define TLS_SERVER_CN "kubefault-apiserver"

struct tls_ctx {
    SSL_CTX *ssl;
    char *ca_pem;
};

struct ext {
    int nid;
    const char *value; /* OpenSSL config syntax, as in openssl.cnf */
};

/* Go's x509 (client-go) checks keyCertSign on the CA and serverAuth on the leaf; it ignores the
 * CN and wants the names in the SAN. digitalSignature is the key usage ECDHE-ECDSA needs. */
static const struct ext ca_exts[] = {
    {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};

static const struct ext server_exts[] = {
    {NID_basic_constraints, "critical,CA:FALSE"},
    {NID_key_usage, "critical,digitalSignature"},
    {NID_ext_key_usage, "serverAuth"},
    {NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost"},
    {NID_subject_key_identifier, "hash"},
    {NID_authority_key_identifier, "keyid:always"},
};

static const unsigned char alpn_http11[] = "http/1.1";

/* Put "what: <last OpenSSL error>" into err and empty the thread's error queue, so a later
 * failure elsewhere does not report this one. */
static void ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256] = "unknown error";

    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: %s", what, buf);
    ERR_clear_error();
}

static EVP_PKEY *new_key(char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

    if (key == NULL)
        ssl_err(err, errlen, "EC P-256 key generation");
    return key;
}

static int set_random_serial(X509 *x)
{
    unsigned char raw[TLS_SERIAL_BYTES];
    BIGNUM *bn = NULL;
    int rc = -1;

    if (RAND_bytes(raw, sizeof raw) != 1)
        goto out;
    /* Top bit clear: positive (Go 1.23+ rejects negative serials). Next bit set: never zero
     * (RFC 5280) and always 16 octets. */
    raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
    bn = BN_bin2bn(raw, sizeof raw, NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    rc = 0;
out:
    BN_free(bn);
    return rc;
}

/* A certificate for key with subject CN=cn, signed by issuer_key. issuer is NULL for a
 * self-signed certificate (the CA). */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                      const struct ext *exts, size_t nexts, char *err, size_t errlen)
{
    X509 *x = NULL;
    X509 *ret = NULL;
    X509_NAME *name = NULL;
    X509_EXTENSION *ex = NULL;
    X509V3_CTX v3;
    const char *step = "X509_new";

    x = X509_new();
    if (x == NULL)
        goto out;
    step = "certificate fields";
    if (X509_set_version(x, X509_VERSION_3) != 1 || set_random_serial(x) != 0 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -TLS_BACKDATE) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), TLS_LIFETIME) == NULL ||
        X509_set_pubkey(x, key) != 1)
        goto out;
    step = "subject name";
    name = X509_NAME_new();
    if (name == NULL ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"kubefault", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(x, name) != 1)
        goto out;
    step = "issuer name";
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
        goto out;
    /* The subject key is set above, so "hash" can compute the SKI; AKI reads the issuer's SKI. */
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    for (size_t i = 0; i < nexts; i++) {
        step = OBJ_nid2sn(exts[i].nid);
        ex = X509V3_EXT_nconf_nid(NULL, &v3, exts[i].nid, exts[i].value);
        if (ex == NULL || X509_add_ext(x, ex, -1) != 1)
            goto out;
        X509_EXTENSION_free(ex);
        ex = NULL;
    }
    step = "X509_sign";
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
        goto out;
    ret = x;
    x = NULL;
out:
    if (ret == NULL)
        ssl_err(err, errlen, step);
    X509_EXTENSION_free(ex);
    X509_NAME_free(name);
    X509_free(x);
    return ret;
}

static char *cert_pem(X509 *x, char *err, size_t errlen)
{
    BIO *bio = NULL;
    char *data = NULL;
    char *pem = NULL;
    long n;

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_X509(bio, x) != 1)
        goto out;
    n = BIO_get_mem_data(bio, &data);
    if (n <= 0)
        goto out;
    pem = malloc((size_t)n + 1);
    if (pem == NULL)
        goto out;
    memcpy(pem, data, (size_t)n);
    pem[n] = '\0';
out:
    if (pem == NULL)
        ssl_err(err, errlen, "PEM encoding of the CA certificate");
    BIO_free(bio);
    return pem;
}

/* Select "http/1.1" if offered, else nothing: NOACK lets the handshake finish without ALPN, the
 * way a server without ALPN support behaves, and Go then speaks HTTP/1.1. Never h2: the server
 * only speaks HTTP/1.1. OpenSSL has checked that `in` is a well-formed list; the bounds check
 * stays for defense. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    const unsigned int want = sizeof alpn_http11 - 1;

    (void)ssl;
    (void)arg;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int n = in[i];

        if (n == 0 || n > inlen - i - 1)
            break;
        if (n == want && memcmp(in + i + 1, alpn_http11, want) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *new_ssl_ctx(X509 *cert, EVP_PKEY *key, char *err, size_t errlen)
{
    SSL_CTX *ssl = NULL;
    const char *step = "SSL_CTX_new";

    ssl = SSL_CTX_new(TLS_server_method());
    if (ssl == NULL)
        goto fail;
    step = "SSL_CTX_set_min_proto_version";
    if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1)
        goto fail;
    /* The fake never renegotiates; refusing it closes a known DoS vector for free. */
    SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    step = "SSL_CTX_use_certificate";
    if (SSL_CTX_use_certificate(ssl, cert) != 1)
        goto fail;
    step = "SSL_CTX_use_PrivateKey";
    if (SSL_CTX_use_PrivateKey(ssl, key) != 1)
        goto fail;
    step = "SSL_CTX_check_private_key";
    if (SSL_CTX_check_private_key(ssl) != 1)
        goto fail;
    SSL_CTX_set_alpn_select_cb(ssl, on_alpn, NULL);
    return ssl;
fail:
    ssl_err(err, errlen, step);
    SSL_CTX_free(ssl);
    return NULL;
}

struct tls_ctx *tls_new(char *err, size_t errlen)
{
    struct tls_ctx *t = NULL;
    struct tls_ctx *ret = NULL;
    EVP_PKEY *ca_key = NULL;
    EVP_PKEY *srv_key = NULL;
    X509 *ca = NULL;
    X509 *srv = NULL;

    t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "tls: out of memory");
        goto out;
    }
    ca_key = new_key(err, errlen);
    if (ca_key == NULL)
        goto out;
    srv_key = new_key(err, errlen);
    if (srv_key == NULL)
        goto out;
    ca = new_cert(ca_key, TLS_CA_CN, NULL, ca_key, ca_exts, sizeof ca_exts / sizeof ca_exts[0], err,
                  errlen);
    if (ca == NULL)
        goto out;
    srv = new_cert(srv_key, TLS_SERVER_CN, ca, ca_key, server_exts,
                   sizeof server_exts / sizeof server_exts[0], err, errlen);
    if (srv == NULL)
        goto out;
    t->ca_pem = cert_pem(ca, err, errlen);
    if (t->ca_pem == NULL)
        goto out;
    t->ssl = new_ssl_ctx(srv, srv_key, err, errlen);
    if (t->ssl == NULL)
        goto out;
    ret = t;
    t = NULL;
out:
    /* The SSL_CTX holds its own references to srv and srv_key. The CA key is freed here, so
     * nothing can sign another certificate for this CA once start-up is over. */
    X509_free(srv);
    X509_free(ca);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(ca_key);
    tls_free(t);
    return ret;
}

void tls_free(struct tls_ctx *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ssl);
    free(t->ca_pem);
    free(t);
}

SSL_CTX *tls_ssl_ctx(const struct tls_ctx *t)
{
    return t->ssl;
}

const char *tls_ca_pem(const struct tls_ctx *t)
{
    return t->ca_pem;
}

int tls_write_ca(const struct tls_ctx *t, const char *dir, char *err, size_t errlen)
{
    char path[TLS_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/ca.crt", dir);

    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errlen, "%s/ca.crt: path too long (max %d)", dir, TLS_PATH_MAX - 1);
        return -1;
    }
    /* Not mkstemp's 0600: a CA certificate is public, and other tools (curl --cacert) read it. */
    return file_write_atomic(path, t->ca_pem, strlen(t->ca_pem), 0644, err, errlen);
}

int tls_random_token(char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[TLS_TOKEN_LEN / 2];

    if (buf == NULL || len < TLS_TOKEN_LEN + 1)
        goto fail;
    if (RAND_bytes(raw, sizeof raw) != 1) {
        ERR_clear_error();
        goto fail;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 0x0f];
    }
    buf[TLS_TOKEN_LEN] = '\0';
    return 0;
fail:
    if (buf != NULL && len > 0)
        buf[0] = '\0';
    return -1;
}
