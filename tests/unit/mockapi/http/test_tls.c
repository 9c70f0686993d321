/* test_tls.c -- per-run CA and server cert: chain, names, in-memory handshakes, ALPN, tokens */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mockapi/http/tls.h"

#define HANDSHAKE_ROUNDS 32 /* a TLS 1.3 handshake over a BIO pair needs 2-3; bound the loop */
#define TIMING_RUNS 50

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct tls_ctx *must_new(void)
{
    char err[256] = "";
    struct tls_ctx *t = tls_new(err, sizeof err);

    if (t == NULL)
        fail_msg("tls_new: %s", err);
    return t;
}

static X509 *ca_cert(const struct tls_ctx *t)
{
    BIO *bio = BIO_new_mem_buf(tls_ca_pem(t), -1);
    X509 *ca;

    assert_non_null(bio);
    ca = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(ca);
    return ca;
}

static X509 *server_cert(const struct tls_ctx *t)
{
    X509 *x = SSL_CTX_get0_certificate(tls_ssl_ctx(t));

    assert_non_null(x);
    return x;
}

/* X509_verify_cert for srv against ca alone, with the TLS-server purpose. */
static int verify_with(X509 *ca, X509 *srv)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    int rc;

    assert_non_null(st);
    assert_non_null(sc);
    assert_int_equal(X509_STORE_add_cert(st, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(sc, st, srv, NULL), 1);
    assert_int_equal(X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_SERVER), 1);
    rc = X509_verify_cert(sc);
    X509_STORE_CTX_free(sc);
    X509_STORE_free(st);
    ERR_clear_error();
    return rc;
}

/* Seconds from now to t (negative when t is in the past). */
static long secs_from_now(const ASN1_TIME *t)
{
    int day = 0;
    int sec = 0;

    assert_int_equal(ASN1_TIME_diff(&day, &sec, NULL, t), 1);
    return (long)day * 86400 + sec;
}

static void check_p256(X509 *x)
{
    char group[64] = "";
    size_t len = 0;
    EVP_PKEY *key = X509_get0_pubkey(x);

    assert_non_null(key);
    assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
    assert_int_equal(EVP_PKEY_get_group_name(key, group, sizeof group, &len), 1);
    assert_string_equal(group, "prime256v1");
}

static void check_serial(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

    assert_non_null(bn);
    assert_false(BN_is_negative(bn));
    assert_false(BN_is_zero(bn));
    assert_true(BN_num_bytes(bn) <= 20);
    BN_free(bn);
}

/*
 * One in-memory handshake: a client trusting only t's CA, verifying `name` (a DNS name or an IP
 * literal), offering `alpn` (wire format, NULL for no ALPN), over a BIO pair. Returns 1 when both
 * ends finished the handshake and exchanged a ping and a pong; the selected protocol goes into
 * proto ("" for none).
 */
static int handshake(const struct tls_ctx *t, const char *name, const unsigned char *alpn,
                     unsigned int alpnlen, char *proto, size_t protolen)
{
    SSL_CTX *cctx = NULL;
    SSL *cli = NULL;
    SSL *srv = NULL;
    BIO *cbio = NULL;
    BIO *sbio = NULL;
    X509 *ca = ca_cert(t);
    const unsigned char *sel = NULL;
    unsigned int sellen = 0;
    int cdone = 0;
    int sdone = 0;
    int ok = 0;
    char buf[8] = "";

    proto[0] = '\0';
    cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(cctx);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), ca), 1);
    cli = SSL_new(cctx);
    srv = SSL_new(tls_ssl_ctx(t));
    assert_non_null(cli);
    assert_non_null(srv);
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(cli), name) != 1) {
        assert_int_equal(SSL_set1_host(cli, name), 1);
        assert_int_equal(SSL_set_tlsext_host_name(cli, name), 1);
    }
    /* SSL_set_alpn_protos returns 0 on success. */
    if (alpn != NULL)
        assert_int_equal(SSL_set_alpn_protos(cli, alpn, alpnlen), 0);
    assert_int_equal(BIO_new_bio_pair(&cbio, 0, &sbio, 0), 1);
    SSL_set_bio(cli, cbio, cbio);
    SSL_set_bio(srv, sbio, sbio);
    SSL_set_connect_state(cli);
    SSL_set_accept_state(srv);

    for (int i = 0; i < HANDSHAKE_ROUNDS && !(cdone && sdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(cli);
            int e = SSL_get_error(cli, r);

            if (r == 1)
                cdone = 1;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                goto out;
        }
        if (!sdone) {
            int r = SSL_do_handshake(srv);
            int e = SSL_get_error(srv, r);

            if (r == 1)
                sdone = 1;
            else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                goto out;
        }
    }
    if (!cdone || !sdone)
        goto out;
    assert_int_equal(SSL_get_verify_result(cli), X509_V_OK);
    assert_true(SSL_version(cli) >= TLS1_2_VERSION);

    SSL_get0_alpn_selected(cli, &sel, &sellen);
    assert_true(sellen < protolen);
    if (sellen > 0)
        memcpy(proto, sel, sellen);
    proto[sellen] = '\0';
    /* Both ends must agree on what was chosen. */
    SSL_get0_alpn_selected(srv, &sel, &sellen);
    assert_int_equal(sellen, strlen(proto));
    if (sellen > 0)
        assert_memory_equal(sel, proto, sellen);

    assert_int_equal(SSL_write(cli, "ping", 4), 4);
    assert_int_equal(SSL_read(srv, buf, sizeof buf), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(SSL_write(srv, "pong", 4), 4);
    assert_int_equal(SSL_read(cli, buf, sizeof buf), 4);
    assert_memory_equal(buf, "pong", 4);
    ok = 1;
out:
    SSL_free(cli);
    SSL_free(srv);
    SSL_CTX_free(cctx);
    X509_free(ca);
    ERR_clear_error();
    return ok;
}

/* Runs first, so the first figure includes OpenSSL's one-time provider and algorithm loading. */
static void test_timing(void **state)
{
    double first;
    double min = 1e9;
    double max = 0;
    double sum = 0;
    double t0 = now_ms();
    struct tls_ctx *t = must_new();

    (void)state;
    first = now_ms() - t0;
    tls_free(t);
    for (int i = 0; i < TIMING_RUNS; i++) {
        double d;

        t0 = now_ms();
        t = must_new();
        d = now_ms() - t0;
        tls_free(t);
        min = d < min ? d : min;
        max = d > max ? d : max;
        sum += d;
    }
    printf("tls_new: first call %.2f ms; next %d calls min %.2f / mean %.2f / max %.2f ms\n", first,
           TIMING_RUNS, min, sum / TIMING_RUNS, max);
    /* Generous: sanitizer and valgrind builds are many times slower than the ~1-2 ms release
     * figure. */
    assert_true(sum / TIMING_RUNS < 500.0);
}

static void test_chain_verifies(void **state)
{
    struct tls_ctx *t = must_new();
    struct tls_ctx *other = must_new();
    X509 *ca = ca_cert(t);
    X509 *other_ca = ca_cert(other);

    (void)state;
    assert_int_equal(verify_with(ca, server_cert(t)), 1);
    /* Negative control: another run's CA must not vouch for this server. */
    assert_int_not_equal(verify_with(other_ca, server_cert(t)), 1);
    X509_free(other_ca);
    X509_free(ca);
    tls_free(other);
    tls_free(t);
}

static void test_ca_fields(void **state)
{
    struct tls_ctx *t = must_new();
    X509 *ca = ca_cert(t);
    const char *pem = tls_ca_pem(t);

    (void)state;
    assert_true(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
    assert_non_null(strstr(pem, "-----END CERTIFICATE-----\n"));
    assert_int_equal(X509_get_version(ca), X509_VERSION_3);
    assert_true(X509_check_ca(ca) >= 1);
    assert_true(X509_get_extension_flags(ca) & EXFLAG_CA);
    assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
    check_p256(ca);
    check_serial(ca);
    X509_free(ca);
    tls_free(t);
}

static void test_server_fields(void **state)
{
    struct tls_ctx *t = must_new();
    X509 *srv = server_cert(t);
    GENERAL_NAMES *sans = X509_get_ext_d2i(srv, NID_subject_alt_name, NULL, NULL);
    long nb = secs_from_now(X509_get0_notBefore(srv));
    long na = secs_from_now(X509_get0_notAfter(srv));

    (void)state;
    assert_non_null(sans);
    assert_int_equal(sk_GENERAL_NAME_num(sans), 3);
    GENERAL_NAMES_free(sans);
    assert_int_equal(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
    assert_int_equal(X509_check_host(srv, "example.com", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(srv, "10.0.0.1", 0), 0);

    assert_int_equal(X509_check_ca(srv), 0);
    assert_true(X509_get_extension_flags(srv) & EXFLAG_XKUSAGE);
    assert_true(X509_get_extended_key_usage(srv) & XKU_SSL_SERVER);
    assert_true(X509_get_key_usage(srv) & KU_DIGITAL_SIGNATURE);
    check_p256(srv);
    check_serial(srv);
    /* now - 1h .. now + 1y, with slack for the time the test takes */
    assert_true(nb <= -3600 + 60 && nb >= -3600 - 60);
    assert_true(na >= 365L * 86400 - 60 && na <= 365L * 86400 + 60);
    assert_int_equal(SSL_CTX_get_min_proto_version(tls_ssl_ctx(t)), TLS1_2_VERSION);
    tls_free(t);
}

static void test_serials_differ(void **state)
{
    struct tls_ctx *a = must_new();
    struct tls_ctx *b = must_new();

    (void)state;
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(server_cert(a)),
                                          X509_get0_serialNumber(server_cert(b))),
                         0);
    assert_string_not_equal(tls_ca_pem(a), tls_ca_pem(b));
    tls_free(b);
    tls_free(a);
}

static void test_handshake_alpn_http11(void **state)
{
    static const unsigned char offer[] = "\x02h2\x08http/1.1";
    struct tls_ctx *t = must_new();
    char proto[32];

    (void)state;
    assert_true(handshake(t, "localhost", offer, sizeof offer - 1, proto, sizeof proto));
    assert_string_equal(proto, "http/1.1");
    assert_true(handshake(t, "127.0.0.1", offer, sizeof offer - 1, proto, sizeof proto));
    assert_string_equal(proto, "http/1.1");
    assert_true(handshake(t, "::1", offer, sizeof offer - 1, proto, sizeof proto));
    assert_string_equal(proto, "http/1.1");
    tls_free(t);
}

static void test_handshake_alpn_h2_only(void **state)
{
    static const unsigned char offer[] = "\x02h2";
    struct tls_ctx *t = must_new();
    char proto[32];

    (void)state;
    assert_true(handshake(t, "localhost", offer, sizeof offer - 1, proto, sizeof proto));
    assert_string_equal(proto, "");
    tls_free(t);
}

static void test_handshake_no_alpn(void **state)
{
    struct tls_ctx *t = must_new();
    char proto[32];

    (void)state;
    assert_true(handshake(t, "localhost", NULL, 0, proto, sizeof proto));
    assert_string_equal(proto, "");
    tls_free(t);
}

static void test_handshake_wrong_name_fails(void **state)
{
    struct tls_ctx *t = must_new();
    char proto[32];

    (void)state;
    /* Proves the client really verifies: a name not in the SAN must fail. */
    assert_false(handshake(t, "example.com", NULL, 0, proto, sizeof proto));
    tls_free(t);
}

static void test_write_ca(void **state)
{
    struct tls_ctx *t = must_new();
    char tmpl[] = "/tmp/test_tls.XXXXXX";
    char *dir = mkdtemp(tmpl);
    char path[512];
    char buf[4096];
    char err[512] = "";
    struct stat st;
    FILE *f;
    size_t n;
    DIR *d;
    struct dirent *de;
    int entries = 0;

    (void)state;
    assert_non_null(dir);
    assert_int_equal(tls_write_ca(t, dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_string_equal(buf, tls_ca_pem(t));
    /* Rewriting replaces the file and leaves no temporary behind. */
    assert_int_equal(tls_write_ca(t, dir, err, sizeof err), 0);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            entries++;
    closedir(d);
    assert_int_equal(entries, 1);
    unlink(path);
    rmdir(dir);

    assert_int_equal(tls_write_ca(t, "/nonexistent/kubefault", err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file or directory"));
    tls_free(t);
}

static void test_random_token(void **state)
{
    char a[TLS_TOKEN_LEN + 1];
    char b[TLS_TOKEN_LEN + 1];
    char small[TLS_TOKEN_LEN] = "x";

    (void)state;
    assert_int_equal(tls_random_token(a, sizeof a), 0);
    assert_int_equal(tls_random_token(b, sizeof b), 0);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_int_equal(strspn(b, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    assert_int_equal(tls_random_token(small, sizeof small), -1);
    assert_string_equal(small, "");
}

static void test_free_null(void **state)
{
    (void)state;
    tls_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timing),
        cmocka_unit_test(test_chain_verifies),
        cmocka_unit_test(test_ca_fields),
        cmocka_unit_test(test_server_fields),
        cmocka_unit_test(test_serials_differ),
        cmocka_unit_test(test_handshake_alpn_http11),
        cmocka_unit_test(test_handshake_alpn_h2_only),
        cmocka_unit_test(test_handshake_no_alpn),
        cmocka_unit_test(test_handshake_wrong_name_fails),
        cmocka_unit_test(test_write_ca),
        cmocka_unit_test(test_random_token),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
