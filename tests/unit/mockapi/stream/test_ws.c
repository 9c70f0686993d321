/* test_ws.c -- tests mockapi/stream/ws.c: the RFC 6455 handshake and subprotocol choice, RFC
 * §5.7's frames, every split point, protocol errors and caps, a deterministic mutation loop, and
 * writer output read back by an independent unmasked parser */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/base/rng.h"
#include "mockapi/stream/ws.h"

#define MAX_EVENTS 64
#define PREFIX_BYTES 128
#define MUTATION_ROUNDS 5000
#define MUTATION_CAP 4096
#define MAX_FRAMES 320

static const char *const k8s_prefs[] = {WS_PROTO_K8S_V5, WS_PROTO_K8S_V4, WS_PROTO_K8S_V1, NULL};
static const unsigned char rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

/* ---- a growing byte buffer (also the writers' sink) ---- */

struct buf {
    unsigned char *p;
    size_t n, cap;
    int fail_after; /* as a sink: fail the write call with this 1-based number (0: never) */
    int calls;
};

static void buf_add(struct buf *b, const void *data, size_t len)
{
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->p + b->n, data, len);
    b->n += len;
}

static int sink(void *arg, const void *data, size_t len)
{
    struct buf *b = arg;
    if (b->fail_after && ++b->calls >= b->fail_after)
        return -1;
    buf_add(b, data, len);
    return 0;
}

/* A masked client frame, built as a client would. */
static void client_frame(struct buf *b, unsigned first, const void *data, size_t len,
                         const unsigned char mask[4])
{
    unsigned char head[WS_MAX_HEAD_BYTES];
    const unsigned char *in = data;
    buf_add(b, head, ws_frame_head(head, first, len, mask));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i] ^ mask[i & 3];
        buf_add(b, &c, 1);
    }
}

/* ---- recording parser events ---- */

struct ev {
    int opcode;
    size_t len;
    unsigned frames;
    int code;
    uint64_t hash; /* FNV-1a of the payload */
    char prefix[PREFIX_BYTES + 1];
};

struct rec {
    struct ev ev[MAX_EVENTS];
    size_t n;
    int stop; /* ask the parser to stop after every event */
};

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static int on_message(void *arg, const struct ws_message *m)
{
    struct rec *r = arg;
    assert_non_null(m->data);
    if (r->n < MAX_EVENTS) {
        struct ev *e = &r->ev[r->n];
        e->opcode = m->opcode;
        e->len = m->len;
        e->frames = m->frames;
        e->code = m->close_code;
        e->hash = fnv(m->data, m->len);
        size_t k = m->len < PREFIX_BYTES ? m->len : PREFIX_BYTES;
        memcpy(e->prefix, m->data, k);
        e->prefix[k] = '\0';
    }
    r->n++;
    return r->stop;
}

static void assert_same_events(const struct rec *a, const struct rec *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n && i < MAX_EVENTS; i++) {
        assert_int_equal(a->ev[i].opcode, b->ev[i].opcode);
        assert_int_equal(a->ev[i].len, b->ev[i].len);
        assert_int_equal(a->ev[i].frames, b->ev[i].frames);
        assert_int_equal(a->ev[i].code, b->ev[i].code);
        assert_true(a->ev[i].hash == b->ev[i].hash);
    }
}

/* Parse bytes in one go; returns the feed result. */
static int parse_all(const void *data, size_t len, size_t cap, struct rec *r, char *err,
                     size_t errlen)
{
    struct ws_parser *p = ws_parser_new(cap, on_message, r);
    assert_non_null(p);
    int rc = ws_parser_feed(p, data, len, NULL);
    if (err != NULL)
        snprintf(err, errlen, "%s", ws_parser_error(p));
    ws_parser_free(p);
    return rc;
}

/* ---- an independent parser for server frames (unmasked, minimal lengths) ---- */

struct sframe {
    unsigned first;
    const unsigned char *data;
    size_t len;
};

/* Splits b into frames; returns the count, or -1 on anything malformed. */
static int server_frames(const struct buf *b, struct sframe *out, int max)
{
    size_t at = 0;
    int n = 0;
    while (at < b->n) {
        if (b->n - at < 2 || n == max)
            return -1;
        unsigned first = b->p[at], b1 = b->p[at + 1];
        if (b1 & 0x80)
            return -1; /* server frames are never masked */
        uint64_t len = b1 & 0x7F;
        size_t hl = 2;
        if (len == 126) {
            if (b->n - at < 4)
                return -1;
            len = ((uint64_t)b->p[at + 2] << 8) | b->p[at + 3];
            hl = 4;
            if (len < 126)
                return -1;
        } else if (len == 127) {
            if (b->n - at < 10)
                return -1;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = (len << 8) | b->p[at + 2 + i];
            hl = 10;
            if (len <= 0xFFFF)
                return -1;
        }
        if (b->n - at - hl < len)
            return -1;
        out[n].first = first;
        out[n].data = b->p + at + hl;
        out[n].len = (size_t)len;
        n++;
        at += hl + (size_t)len;
    }
    return n;
}

/* ---- handshake ---- */

static void test_accept_key_rfc(void **state)
{
    (void)state;
    char acc[WS_ACCEPT_BYTES];
    /* RFC 6455 §1.3 */
    assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", acc), 0);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char long_key[WS_MAX_KEY_BYTES + 2];
    memset(long_key, 'A', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    assert_int_equal(ws_accept_key(long_key, acc), -1);
}

static struct ws_handshake kubectl_request(const char *protocol)
{
    struct ws_handshake h = {
        "GET", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", protocol};
    return h;
}

static void test_handshake_response(void **state)
{
    (void)state;
    struct ws_handshake h = kubectl_request(WS_PROTO_K8S_V5);
    struct ws_accept a;
    char head[512];
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), 0);
    assert_int_equal(a.code, 101);
    assert_string_equal(a.protocol, WS_PROTO_K8S_V5);
    int n = ws_handshake_response(&a, head, sizeof(head));
    assert_string_equal(head, "HTTP/1.1 101 Switching Protocols\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                              "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n");
    assert_int_equal(n, (int)strlen(head));
    assert_int_equal(ws_handshake_response(&a, head, 40), -1);
}

static void test_subprotocol_choice(void **state)
{
    (void)state;
    struct ws_accept a;
    struct ws_handshake h = kubectl_request("v4.channel.k8s.io, v5.channel.k8s.io");
    /* the server's order decides: v5 over v4 */
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), 0);
    assert_string_equal(a.protocol, WS_PROTO_K8S_V5);
    h.protocol = "v4.channel.k8s.io";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), 0);
    assert_string_equal(a.protocol, WS_PROTO_K8S_V4);
    h.protocol = "base64.channel.k8s.io,channel.k8s.io";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), 0);
    assert_string_equal(a.protocol, WS_PROTO_K8S_V1);

    /* none acceptable: refused, naming what was offered and what is known */
    h.protocol = "base64.channel.k8s.io";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_int_equal(a.code, 400);
    assert_string_equal(a.err, "ws: no acceptable subprotocol in \"base64.channel.k8s.io\" "
                               "(known: \"v5.channel.k8s.io\", \"v4.channel.k8s.io\", "
                               "\"channel.k8s.io\")");
    assert_null(a.protocol);
    /* tokens compare case-sensitively; a prefix is not a match */
    h.protocol = "V5.CHANNEL.K8S.IO, v5.channel.k8s.io.x";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    /* none offered */
    h.protocol = NULL;
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_non_null(strstr(a.err, "ws: no subprotocol offered"));
    /* ... unless "" is acceptable: then no Sec-WebSocket-Protocol is sent */
    static const char *const legacy[] = {WS_PROTO_K8S_V4, "", NULL};
    assert_int_equal(ws_handshake(&h, legacy, &a), 0);
    assert_string_equal(a.protocol, "");
    char head[512];
    assert_true(ws_handshake_response(&a, head, sizeof(head)) > 0);
    assert_null(strstr(head, "Sec-WebSocket-Protocol"));
    h.protocol = " , ";
    assert_int_equal(ws_handshake(&h, legacy, &a), 0);
    assert_string_equal(a.protocol, "");
}

static void test_handshake_refusals(void **state)
{
    (void)state;
    struct ws_accept a;
    struct ws_handshake h = kubectl_request(WS_PROTO_K8S_V5);

    h.key = NULL;
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_int_equal(a.code, 400);
    assert_string_equal(a.err, "ws: missing Sec-WebSocket-Key");
    h.key = "";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_string_equal(a.err, "ws: missing Sec-WebSocket-Key");
    h.key = "short\x01key";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_string_equal(a.err, "ws: Sec-WebSocket-Key \"short.key\" is not 16 bytes of base64");
    h.key = "dGhlIHNhbXBsZSBub25jZQ==";

    h.version = "8";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_int_equal(a.code, 426);
    assert_string_equal(a.err, "ws: unsupported Sec-WebSocket-Version \"8\" (expected: 13)");
    h.version = NULL;
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_int_equal(a.code, 426);
    h.version = "13";

    h.upgrade = "h2c";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_string_equal(a.err, "ws: Upgrade header does not list \"websocket\"");
    h.upgrade = "WebSocket";
    h.connection = "keep-alive";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_string_equal(a.err, "ws: Connection header does not list \"upgrade\"");
    h.connection = "keep-alive, Upgrade";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), 0);

    h.method = "POST";
    assert_int_equal(ws_handshake(&h, k8s_prefs, &a), -1);
    assert_string_equal(a.err, "ws: method \"POST\" cannot upgrade (expected: GET)");
}

/* ---- parser ---- */

static void test_rfc_examples(void **state)
{
    (void)state;
    struct rec r = {0};
    char err[WS_ERR_BYTES];

    /* §5.7: a single-frame masked text message "Hello" */
    static const unsigned char masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                                 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    assert_int_equal(parse_all(masked_hello, sizeof(masked_hello), 0, &r, NULL, 0), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].opcode, WS_OP_TEXT);
    assert_string_equal(r.ev[0].prefix, "Hello");

    /* §5.7: the same unmasked: a client must mask */
    static const unsigned char hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    memset(&r, 0, sizeof(r));
    assert_int_equal(parse_all(hello, sizeof(hello), 0, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: unmasked text frame from the client");
    assert_int_equal(r.n, 0);

    /* §5.7: a masked pong "Hello" */
    static const unsigned char pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                         0x7f, 0x9f, 0x4d, 0x51, 0x58};
    memset(&r, 0, sizeof(r));
    assert_int_equal(parse_all(pong, sizeof(pong), 0, &r, NULL, 0), 0);
    assert_int_equal(r.ev[0].opcode, WS_OP_PONG);
    assert_string_equal(r.ev[0].prefix, "Hello");

    /* §5.7: fragmented "Hel" + "lo", masked, with a ping between the fragments */
    struct buf b = {0};
    client_frame(&b, WS_OP_TEXT, "Hel", 3, rfc_mask);
    client_frame(&b, WS_FIN | WS_OP_PING, "Hello", 5, rfc_mask);
    client_frame(&b, WS_FIN | WS_OP_CONTINUATION, "lo", 2, rfc_mask);
    memset(&r, 0, sizeof(r));
    assert_int_equal(parse_all(b.p, b.n, 0, &r, NULL, 0), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[0].opcode, WS_OP_PING);
    assert_string_equal(r.ev[0].prefix, "Hello");
    assert_int_equal(r.ev[1].opcode, WS_OP_TEXT);
    assert_int_equal(r.ev[1].frames, 2);
    assert_string_equal(r.ev[1].prefix, "Hello");
    free(b.p);

    /* §5.7: 256 bytes (16-bit length) and 64 KiB (64-bit length) binary */
    static const unsigned char head256[] = {0x82, 0x7E, 0x01, 0x00};
    static const unsigned char head64k[] = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
    unsigned char *payload = malloc(65536);
    assert_non_null(payload);
    for (size_t i = 0; i < 65536; i++)
        payload[i] = (unsigned char)(i * 7 + 3);
    size_t sizes[] = {256, 65536};
    const unsigned char *heads[] = {head256, head64k};
    size_t head_lens[] = {sizeof(head256), sizeof(head64k)};
    for (int k = 0; k < 2; k++) {
        memset(&b, 0, sizeof(b));
        client_frame(&b, WS_FIN | WS_OP_BINARY, payload, sizes[k], rfc_mask);
        assert_int_equal(b.p[0], heads[k][0]);
        assert_int_equal(b.p[1], heads[k][1] | 0x80);
        assert_memory_equal(b.p + 2, heads[k] + 2, head_lens[k] - 2);
        memset(&r, 0, sizeof(r));
        assert_int_equal(parse_all(b.p, b.n, 0, &r, NULL, 0), 0);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.ev[0].opcode, WS_OP_BINARY);
        assert_int_equal(r.ev[0].len, sizes[k]);
        assert_true(r.ev[0].hash == fnv(payload, sizes[k]));
        free(b.p);
    }
    free(payload);
}

/* A stream of many kinds of frame: fragments, interleaved control frames, every length form. */
static void sample_stream(struct buf *b, int with_64k)
{
    static const unsigned char m2[4] = {0x00, 0xff, 0x55, 0xaa};
    unsigned char payload[300];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (unsigned char)(i ^ 0x5c);
    client_frame(b, WS_FIN | WS_OP_TEXT, "Hello", 5, rfc_mask);
    client_frame(b, WS_OP_TEXT, "Hel", 3, rfc_mask);
    client_frame(b, WS_FIN | WS_OP_PING, "x", 1, m2);
    client_frame(b, WS_FIN | WS_OP_CONTINUATION, "lo", 2, rfc_mask);
    client_frame(b, WS_FIN | WS_OP_BINARY, "", 0, m2);                    /* empty */
    client_frame(b, WS_OP_BINARY, payload, 100, m2);                      /* 3 fragments */
    client_frame(b, WS_OP_CONTINUATION, payload + 100, 0, m2);            /* empty one */
    client_frame(b, WS_FIN | WS_OP_CONTINUATION, payload + 100, 200, m2); /* 16-bit */
    unsigned char k8s[] = {WS_K8S_STDIN, 'l', 's', '\n'};
    client_frame(b, WS_FIN | WS_OP_BINARY, k8s, sizeof(k8s), rfc_mask);
    unsigned char eof[] = {WS_K8S_CLOSE, WS_K8S_STDIN};
    client_frame(b, WS_FIN | WS_OP_BINARY, eof, sizeof(eof), rfc_mask);
    client_frame(b, WS_FIN | WS_OP_PONG, "", 0, m2);
    if (with_64k) {
        unsigned char *big = calloc(1, 70000);
        assert_non_null(big);
        big[69999] = 9;
        client_frame(b, WS_FIN | WS_OP_BINARY, big, 70000, m2); /* 64-bit */
        free(big);
    }
    client_frame(b, WS_FIN | WS_OP_TEXT, "caf\xc3\xa9", 5, m2); /* UTF-8 */
    unsigned char close[] = {0x03, 0xe8, 'b', 'y', 'e'};
    client_frame(b, WS_FIN | WS_OP_CLOSE, close, sizeof(close), rfc_mask);
}

static void test_every_split(void **state)
{
    (void)state;
    struct buf b = {0};
    sample_stream(&b, 0);
    struct rec want = {0};
    assert_int_equal(parse_all(b.p, b.n, 0, &want, NULL, 0), 0);
    assert_int_equal(want.n, 10);
    assert_int_equal(want.ev[4].len, 300);
    assert_int_equal(want.ev[4].frames, 3);
    assert_int_equal(want.ev[9].opcode, WS_OP_CLOSE);
    assert_int_equal(want.ev[9].code, 1000);
    assert_string_equal(want.ev[9].prefix, "bye");

    for (size_t cut = 0; cut <= b.n; cut++) {
        struct rec got = {0};
        struct ws_parser *p = ws_parser_new(0, on_message, &got);
        assert_non_null(p);
        assert_int_equal(ws_parser_feed(p, b.p, cut, NULL), 0);
        assert_int_equal(ws_parser_feed(p, b.p + cut, b.n - cut, NULL), 0);
        assert_same_events(&want, &got);
        assert_int_equal(ws_parser_closed(p), 1);
        ws_parser_free(p);
    }
    /* three pieces: every pair of cuts */
    for (size_t c1 = 0; c1 <= b.n; c1 += 3) {
        for (size_t c2 = c1; c2 <= b.n; c2 += 5) {
            struct rec got = {0};
            struct ws_parser *p = ws_parser_new(0, on_message, &got);
            assert_int_equal(ws_parser_feed(p, b.p, c1, NULL), 0);
            assert_int_equal(ws_parser_feed(p, b.p + c1, c2 - c1, NULL), 0);
            assert_int_equal(ws_parser_feed(p, b.p + c2, b.n - c2, NULL), 0);
            assert_same_events(&want, &got);
            ws_parser_free(p);
        }
    }
    free(b.p);

    /* with the 64-bit frame: one go, then byte by byte */
    memset(&b, 0, sizeof(b));
    sample_stream(&b, 1);
    memset(&want, 0, sizeof(want));
    assert_int_equal(parse_all(b.p, b.n, 0, &want, NULL, 0), 0);
    assert_int_equal(want.n, 11);
    assert_int_equal(want.ev[8].len, 70000);
    struct rec got = {0};
    struct ws_parser *p = ws_parser_new(0, on_message, &got);
    for (size_t i = 0; i < b.n; i++)
        assert_int_equal(ws_parser_feed(p, b.p + i, 1, NULL), 0);
    assert_same_events(&want, &got);
    ws_parser_free(p);
    free(b.p);
}

static void test_callback_stops(void **state)
{
    (void)state;
    struct buf b = {0};
    client_frame(&b, WS_FIN | WS_OP_BINARY, "a", 1, rfc_mask);
    size_t first = b.n;
    client_frame(&b, WS_FIN | WS_OP_BINARY, "b", 1, rfc_mask);
    struct rec r = {0};
    r.stop = 1;
    struct ws_parser *p = ws_parser_new(0, on_message, &r);
    size_t used = 0;
    assert_int_equal(ws_parser_feed(p, b.p, b.n, &used), 1);
    assert_int_equal(used, first);
    assert_int_equal(r.n, 1);
    assert_int_equal(ws_parser_feed(p, b.p + used, b.n - used, &used), 1);
    assert_int_equal(used, b.n - first);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.ev[1].prefix, "b");
    ws_parser_free(p);
    ws_parser_free(NULL);
    free(b.p);
}

struct bad_case {
    const char *name;
    unsigned first;
    const char *payload;
    size_t len;
    const char *err;
    int code;
};

static void test_errors(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"rsv1", WS_FIN | 0x40 | WS_OP_TEXT, "a", 1,
         "ws: reserved bits 0x40 set without a negotiated extension", 1002},
        {"opcode 3", WS_FIN | 0x3, "", 0, "ws: unknown opcode 0x3", 1002},
        {"opcode 0xB", WS_FIN | 0xB, "", 0, "ws: unknown opcode 0xb", 1002},
        {"fragmented ping", WS_OP_PING, "", 0, "ws: fragmented ping frame", 1002},
        {"continuation first", WS_FIN | WS_OP_CONTINUATION, "a", 1,
         "ws: continuation frame without a message to continue", 1002},
        {"close 1 byte", WS_FIN | WS_OP_CLOSE, "\x03", 1, "ws: close frame with a 1-byte payload",
         1002},
        {"close 999", WS_FIN | WS_OP_CLOSE, "\x03\xe7", 2, "ws: invalid close code 999", 1002},
        {"close 1005", WS_FIN | WS_OP_CLOSE, "\x03\xed", 2, "ws: invalid close code 1005", 1002},
        {"close 5000", WS_FIN | WS_OP_CLOSE, "\x13\x88", 2, "ws: invalid close code 5000", 1002},
        {"close reason", WS_FIN | WS_OP_CLOSE, "\x03\xe8\xff", 3,
         "ws: close reason is not valid UTF-8", 1007},
        {"text utf8", WS_FIN | WS_OP_TEXT, "\xc0\xaf", 2, "ws: text message is not valid UTF-8",
         1007},
        {"surrogate", WS_FIN | WS_OP_TEXT, "\xed\xa0\x80", 3, "ws: text message is not valid UTF-8",
         1007},
        {"truncated utf8", WS_FIN | WS_OP_TEXT, "ab\xe2\x82", 4,
         "ws: text message is not valid UTF-8", 1007},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = {0};
        client_frame(&b, cases[i].first, cases[i].payload, cases[i].len, rfc_mask);
        struct rec r = {0};
        struct ws_parser *p = ws_parser_new(0, on_message, &r);
        int rc = ws_parser_feed(p, b.p, b.n, NULL);
        if (rc != -1 || strcmp(ws_parser_error(p), cases[i].err) != 0)
            fail_msg("%s: rc %d, error \"%s\"", cases[i].name, rc, ws_parser_error(p));
        assert_int_equal(ws_parser_error_code(p), cases[i].code);
        assert_int_equal(r.n, 0);
        /* errors stick */
        assert_int_equal(ws_parser_feed(p, b.p, b.n, NULL), -1);
        ws_parser_free(p);
        free(b.p);
    }

    char err[WS_ERR_BYTES];
    struct rec r = {0};
    /* a 126-byte ping (16-bit length form) */
    struct buf b = {0};
    char big[200] = {0};
    client_frame(&b, WS_FIN | WS_OP_PING, big, 126, rfc_mask);
    assert_int_equal(parse_all(b.p, b.n, 0, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: ping frame longer than 125 bytes");
    free(b.p);

    /* a data frame inside a fragmented message */
    memset(&b, 0, sizeof(b));
    client_frame(&b, WS_OP_BINARY, "a", 1, rfc_mask);
    client_frame(&b, WS_FIN | WS_OP_TEXT, "b", 1, rfc_mask);
    assert_int_equal(parse_all(b.p, b.n, 0, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: text frame inside a fragmented binary message");
    free(b.p);

    /* anything after a close */
    memset(&b, 0, sizeof(b));
    memset(&r, 0, sizeof(r));
    client_frame(&b, WS_FIN | WS_OP_CLOSE, "", 0, rfc_mask);
    client_frame(&b, WS_FIN | WS_OP_PING, "", 0, rfc_mask);
    assert_int_equal(parse_all(b.p, b.n, 0, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: ping frame after close");
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].code, WS_CLOSE_NO_STATUS);
    free(b.p);

    /* 64-bit length with the high bit set: refused at the head, nothing buffered */
    static const unsigned char huge[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(parse_all(huge, sizeof(huge), 0, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: 64-bit frame length has its high bit set");
    static const unsigned char big64[] = {0x82, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(parse_all(big64, sizeof(big64), 0, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: message of 9151314442816847872 bytes exceeds the cap of "
                             "4194304 bytes");
}

static void test_caps(void **state)
{
    (void)state;
    char err[WS_ERR_BYTES];
    struct rec r = {0};
    char data[1001] = {0};
    struct buf b = {0};

    /* exactly the cap passes; one more fails before any payload is buffered */
    client_frame(&b, WS_FIN | WS_OP_BINARY, data, 1000, rfc_mask);
    assert_int_equal(parse_all(b.p, b.n, 1000, &r, NULL, 0), 0);
    assert_int_equal(r.ev[0].len, 1000);
    free(b.p);
    memset(&b, 0, sizeof(b));
    client_frame(&b, WS_FIN | WS_OP_BINARY, data, 1001, rfc_mask);
    struct ws_parser *p = ws_parser_new(1000, on_message, &r);
    assert_int_equal(ws_parser_feed(p, b.p, 8, NULL), -1);
    assert_string_equal(ws_parser_error(p),
                        "ws: message of 1001 bytes exceeds the cap of 1000 bytes");
    assert_int_equal(ws_parser_error_code(p), WS_CLOSE_TOO_BIG);
    assert_int_equal(ws_parser_buffered(p), 0);
    ws_parser_free(p);
    free(b.p);

    /* fragments that add up past the cap */
    memset(&b, 0, sizeof(b));
    for (int i = 0; i < 10; i++)
        client_frame(&b, (i ? WS_OP_CONTINUATION : WS_OP_BINARY), data, 100, rfc_mask);
    client_frame(&b, WS_FIN | WS_OP_CONTINUATION, data, 1, rfc_mask);
    memset(&r, 0, sizeof(r));
    assert_int_equal(parse_all(b.p, b.n, 1000, &r, err, sizeof(err)), -1);
    assert_string_equal(err, "ws: message of 1001 bytes exceeds the cap of 1000 bytes");
    assert_int_equal(r.n, 0);
    free(b.p);
}

/* Thousands of mutated streams, fed in random pieces: never a crash, never past the cap. */
static void test_mutations(void **state)
{
    (void)state;
    struct buf base = {0};
    sample_stream(&base, 0);
    struct rng g;
    rng_init(&g, 4);
    unsigned char *work = malloc(base.n + 64);
    assert_non_null(work);
    size_t outcomes[3] = {0};

    for (int round = 0; round < MUTATION_ROUNDS; round++) {
        size_t n = base.n;
        memcpy(work, base.p, n);
        int edits = 1 + (int)rng_below(&g, 4);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rng_below(&g, n);
            switch (rng_below(&g, 4)) {
            case 0: /* flip bits */
                work[at] ^= (unsigned char)(1u << rng_below(&g, 8));
                break;
            case 1: /* random byte, often in a head */
                work[at] = (unsigned char)rng_next(&g);
                break;
            case 2: /* truncate */
                n = at + 1;
                break;
            default: /* an extreme length byte */
                work[at] = rng_below(&g, 2) ? 0xFF : 0x7F;
                break;
            }
        }
        struct rec r = {0};
        struct ws_parser *p = ws_parser_new(MUTATION_CAP, on_message, &r);
        assert_non_null(p);
        int rc = 0;
        for (size_t at = 0; at < n && rc == 0;) {
            size_t piece = 1 + (size_t)rng_below(&g, 40);
            if (piece > n - at)
                piece = n - at;
            rc = ws_parser_feed(p, work + at, piece, NULL);
            at += piece;
            assert_true(ws_parser_buffered(p) <= MUTATION_CAP);
        }
        assert_true(rc == 0 || rc == -1);
        if (rc == -1)
            assert_memory_equal(ws_parser_error(p), "ws: ", 4);
        outcomes[rc + 1]++;
        ws_parser_free(p);
    }
    /* the loop must exercise both paths */
    assert_true(outcomes[0] > MUTATION_ROUNDS / 10);
    assert_true(outcomes[1] > 0);
    free(work);
    free(base.p);
}

/* ---- writers ---- */

static void test_writer_rfc_bytes(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_int_equal(ws_write_message(sink, &b, WS_OP_TEXT, "Hello", 5, 0), 0);
    assert_int_equal(b.n, 7);
    assert_memory_equal(b.p, "\x81\x05Hello", 7);
    b.n = 0;
    assert_int_equal(ws_write_message(sink, &b, WS_OP_TEXT, "Hello", 5, 3), 0);
    assert_int_equal(b.n, 9);
    assert_memory_equal(b.p, "\x01\x03Hel\x80\x02lo", 9);
    b.n = 0;
    assert_int_equal(ws_write_ping(sink, &b, "Hello", 5), 0);
    assert_memory_equal(b.p, "\x89\x05Hello", 7);
    b.n = 0;
    assert_int_equal(ws_write_pong(sink, &b, "Hello", 5), 0);
    assert_memory_equal(b.p, "\x8a\x05Hello", 7);

    unsigned char *payload = calloc(1, 65536);
    assert_non_null(payload);
    b.n = 0;
    assert_int_equal(ws_write_message(sink, &b, WS_OP_BINARY, payload, 256, 0), 0);
    assert_int_equal(b.n, 4 + 256);
    assert_memory_equal(b.p, "\x82\x7E\x01\x00", 4);
    b.n = 0;
    assert_int_equal(ws_write_message(sink, &b, WS_OP_BINARY, payload, 65536, 0), 0);
    assert_int_equal(b.n, 10 + 65536);
    assert_memory_equal(b.p, "\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    free(payload);
    free(b.p);
}

static void test_writer_roundtrip(void **state)
{
    (void)state;
    struct buf b = {0};
    struct sframe f[MAX_FRAMES];
    unsigned char data[1000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 13);

    /* fragmented into 7-byte frames: 143 frames, continuation after the first, FIN on the last */
    assert_int_equal(ws_write_message(sink, &b, WS_OP_BINARY, data, sizeof(data), 7), 0);
    int n = server_frames(&b, f, MAX_FRAMES);
    assert_int_equal(n, 143);
    struct buf joined = {0};
    for (int i = 0; i < n; i++) {
        assert_int_equal(f[i].first,
                         (i == n - 1 ? WS_FIN : 0) | (i == 0 ? WS_OP_BINARY : WS_OP_CONTINUATION));
        buf_add(&joined, f[i].data, f[i].len);
    }
    assert_int_equal(joined.n, sizeof(data));
    assert_memory_equal(joined.p, data, sizeof(data));
    free(joined.p);

    /* every fragment size round-trips */
    for (size_t frag = 1; frag <= 300; frag += 37) {
        b.n = 0;
        assert_int_equal(ws_write_message(sink, &b, WS_OP_TEXT, data, 300, frag), 0);
        n = server_frames(&b, f, MAX_FRAMES);
        assert_int_equal(n, (int)((300 + frag - 1) / frag));
        assert_int_equal(f[n - 1].first & WS_FIN, WS_FIN);
    }

    /* close with code and reason; without a code; reason cap */
    b.n = 0;
    assert_int_equal(ws_write_close(sink, &b, WS_CLOSE_NORMAL, "done"), 0);
    assert_int_equal(server_frames(&b, f, MAX_FRAMES), 1);
    assert_int_equal(f[0].first, WS_FIN | WS_OP_CLOSE);
    assert_int_equal(f[0].len, 6);
    assert_memory_equal(f[0].data,
                        "\x03\xe8"
                        "done",
                        6);
    b.n = 0;
    assert_int_equal(ws_write_close(sink, &b, 0, NULL), 0);
    assert_int_equal(b.n, 2);
    assert_memory_equal(b.p, "\x88\x00", 2);
    char reason[WS_MAX_CLOSE_REASON + 2];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(ws_write_close(sink, &b, WS_CLOSE_NORMAL, reason), -1);
    reason[WS_MAX_CLOSE_REASON] = '\0';
    b.n = 0;
    assert_int_equal(ws_write_close(sink, &b, 4000, reason), 0);
    assert_int_equal(server_frames(&b, f, MAX_FRAMES), 1);
    assert_int_equal(f[0].len, WS_MAX_CONTROL_PAYLOAD);
    assert_int_equal(ws_write_ping(sink, &b, data, WS_MAX_CONTROL_PAYLOAD + 1), -1);
    assert_int_equal(ws_write_message(sink, &b, WS_OP_CLOSE, "x", 1, 0), -1);

    /* Kubernetes channel frames */
    b.n = 0;
    assert_int_equal(ws_k8s_channel_frame(sink, &b, WS_K8S_STDOUT, "hi", 2), 0);
    assert_int_equal(b.n, 5);
    assert_memory_equal(b.p, "\x82\x03\x01hi", 5);
    b.n = 0;
    assert_int_equal(ws_k8s_channel_frame(sink, &b, WS_K8S_ERROR, data, 200), 0);
    assert_int_equal(server_frames(&b, f, MAX_FRAMES), 1);
    assert_int_equal(f[0].first, WS_FIN | WS_OP_BINARY);
    assert_int_equal(f[0].len, 201);
    assert_int_equal(f[0].data[0], WS_K8S_ERROR);
    assert_memory_equal(f[0].data + 1, data, 200);
    b.n = 0;
    assert_int_equal(ws_k8s_channel_frame(sink, &b, WS_K8S_STDERR, NULL, 0), 0);
    assert_memory_equal(b.p, "\x82\x01\x02", 3);

    /* a deliberately bad frame for faults: RSV bits and opcode as given */
    b.n = 0;
    assert_int_equal(ws_write_frame(sink, &b, 0x40 | 0x3, "z", 1), 0);
    assert_memory_equal(b.p, "\x43\x01z", 3);

    /* write failures propagate, on the head and on the payload */
    struct buf bad = {0};
    bad.fail_after = 1;
    assert_int_equal(ws_write_message(sink, &bad, WS_OP_BINARY, data, 10, 0), -1);
    bad.calls = 0;
    bad.fail_after = 2;
    assert_int_equal(ws_k8s_channel_frame(sink, &bad, 1, data, 10), -1);
    bad.calls = 0;
    bad.fail_after = 3;
    assert_int_equal(ws_write_message(sink, &bad, WS_OP_BINARY, data, 10, 4), -1);
    free(bad.p);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc),
        cmocka_unit_test(test_handshake_response),
        cmocka_unit_test(test_subprotocol_choice),
        cmocka_unit_test(test_handshake_refusals),
        cmocka_unit_test(test_rfc_examples),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_writer_rfc_bytes),
        cmocka_unit_test(test_writer_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
