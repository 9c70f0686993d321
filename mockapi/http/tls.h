/* tls.h -- per-run TLS: a CA, a server certificate for 127.0.0.1 and localhost, the SSL_CTX */
#ifndef KF_TLS_H
#define KF_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLS_TOKEN_LEN 32 /**< hex chars in a tls_random_token() token, without the NUL */

struct tls_ctx;

/**
 * Generate a fresh CA (EC P-256 key, CA:TRUE, keyUsage keyCertSign) and a server certificate signed
 * by it (EC P-256, SAN IP:127.0.0.1, IP:::1, DNS:localhost, extendedKeyUsage serverAuth, valid from
 * now-1h to now+1y, random positive 127-bit serial), and a server SSL_CTX holding that certificate
 * (TLS 1.2 and later). The ALPN callback selects "http/1.1" when the client offers it and nothing
 * otherwise, so the handshake goes on without ALPN; it never selects "h2" (Go clients offer h2 and
 * fall back to HTTP/1.1 without it). Nothing is written to disk; the keys live only in memory.
 * Returns NULL and a message in err on failure. Caller frees with tls_free().
 */
struct tls_ctx *tls_new(char *err, size_t errlen);

/** Free what tls_new() made; SSL objects made from the SSL_CTX keep their own reference. NULL is a
 * no-op. */
void tls_free(struct tls_ctx *t);

/** The server SSL_CTX. Borrows: valid until tls_free(); callers SSL_new() from it. */
SSL_CTX *tls_ssl_ctx(const struct tls_ctx *t);

/** The CA certificate as NUL-terminated PEM. Borrows: valid until tls_free(). */
const char *tls_ca_pem(const struct tls_ctx *t);

/**
 * Write the CA certificate (PEM) to `<dir>/ca.crt` atomically (file_write_atomic(): a temporary
 * file in dir, then rename), mode 0644. Returns 0, or -1 with a message in err that includes
 * strerror.
 */
int tls_write_ca(const struct tls_ctx *t, const char *dir, char *err, size_t errlen);

/**
 * A random bearer token: TLS_TOKEN_LEN lowercase hex chars from RAND_bytes and a NUL, into buf.
 * Returns 0, or -1 when len < TLS_TOKEN_LEN + 1 or the random generator fails (buf is then "").
 */
int tls_random_token(char *buf, size_t len);

#endif
