/* test_spdy.c -- SPDY/3.1 codec: every frame type through writer and parser, splits at every byte,
 * header blocks compressed by Python's zlib, malformed input and a mutation loop */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <zlib.h>

#include "mockapi/stream/spdy.h"

#define LOG_MAX 8192

/* Every frame the parser hands over, one line each, so two runs compare as strings. */
struct log {
    char text[LOG_MAX];
    size_t len;
    size_t frames;
    int stop_after; /* return -1 from the callback on this frame (1-based); 0 never */
};

static void logf_(struct log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(struct log *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->text) - l->len ? (size_t)n : sizeof(l->text) - l->len - 1;
}

static void log_bytes(struct log *l, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            logf_(l, "%c", c);
        else
            logf_(l, "\\x%02x", c);
    }
}

static int on_frame(void *arg, const struct spdy_frame *f)
{
    struct log *l = arg;
    l->frames++;
    if (f->control)
        logf_(l, "C%u f=%u", (unsigned)f->type, (unsigned)f->flags);
    else
        logf_(l, "D f=%u", (unsigned)f->flags);
    logf_(l, " id=%lu", (unsigned long)f->stream_id);
    if (f->type == SPDY_SYN_STREAM)
        logf_(l, " assoc=%lu pri=%u slot=%u", (unsigned long)f->assoc_id, f->priority, f->slot);
    if (f->type == SPDY_RST_STREAM || f->type == SPDY_GOAWAY)
        logf_(l, " status=%lu", (unsigned long)f->status);
    if (f->type == SPDY_PING)
        logf_(l, " ping=%lu", (unsigned long)f->ping_id);
    if (f->type == SPDY_WINDOW_UPDATE)
        logf_(l, " delta=%lu", (unsigned long)f->delta);
    for (size_t i = 0; i < f->nheaders; i++) {
        /* the parser promises NUL terminators */
        assert_int_equal(f->headers[i].name[f->headers[i].name_len], '\0');
        assert_int_equal(f->headers[i].value[f->headers[i].value_len], '\0');
        logf_(l, " %s=", f->headers[i].name);
        log_bytes(l, f->headers[i].value, f->headers[i].value_len);
    }
    for (size_t i = 0; i < f->nsettings; i++)
        logf_(l, " set(%u,%lu)=%lu", f->settings[i].flags, (unsigned long)f->settings[i].id,
              (unsigned long)f->settings[i].value);
    if (f->data_len > 0) {
        logf_(l, " len=%zu ", f->data_len);
        log_bytes(l, (const char *)f->data, f->data_len > 40 ? 40 : f->data_len);
    }
    logf_(l, "\n");
    if (l->stop_after > 0 && l->frames == (size_t)l->stop_after)
        return -1;
    return 0;
}

/* Parse buf in chunks of the given sizes (the rest in one go); returns feed's result. */
static int parse(const unsigned char *buf, size_t n, size_t split, struct log *l, char *err,
                 size_t errlen)
{
    struct spdy_parser *p = spdy_parser_new(on_frame, l);
    assert_non_null(p);
    int rc = 0;
    if (split > 0 && split < n) {
        rc = spdy_parser_feed(p, buf, split, err, errlen);
        if (rc == 0)
            rc = spdy_parser_feed(p, buf + split, n - split, err, errlen);
    } else {
        rc = spdy_parser_feed(p, buf, n, err, errlen);
    }
    if (rc == 0)
        assert_int_equal(spdy_parser_pending(p), 0);
    spdy_parser_free(p);
    return rc;
}

static unsigned char *load_vector(const char *name, size_t *n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/spdy/%s", KF_VECTORS_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(65536);
    assert_non_null(buf);
    *n = fread(buf, 1, 65536, f);
    fclose(f);
    return buf;
}

/* Every frame type, as the writers make them. */
static unsigned char *all_frames(size_t *n)
{
    static const struct spdy_header h1[] = {SPDY_HDR("streamtype", "error")};
    static const struct spdy_header h2[] = {SPDY_HDR("streamtype", "stdout"),
                                            SPDY_HDR("x-multi", "a\0b"), SPDY_HDR("empty", "")};
    static const struct spdy_header h3[] = {
        SPDY_HDR("x-stream-protocol-version", "v4.channel.k8s.io")};
    static const struct spdy_setting st[] = {{1, 4, 100}, {0, 7, 65536}};
    char err[SPDY_ERR_MAX] = "";
    struct spdy_encoder *e = spdy_encoder_new();
    struct evbuffer *out = evbuffer_new();
    assert_non_null(e);
    assert_non_null(out);
    assert_int_equal(spdy_write_syn_stream(e, out, 1, 0, 0, 0, h1, 1, err, sizeof(err)), 0);
    assert_int_equal(spdy_write_syn_stream(e, out, 3, 1, 7, SPDY_FLAG_FIN, h2, 3, err, sizeof(err)),
                     0);
    assert_int_equal(spdy_write_syn_reply(e, out, 1, 0, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(spdy_write_syn_reply(e, out, 3, SPDY_FLAG_FIN, h3, 1, err, sizeof(err)), 0);
    assert_int_equal(spdy_write_headers(e, out, 3, 0, h1, 1, err, sizeof(err)), 0);
    assert_int_equal(spdy_write_data(out, 3, 0, "hello\n", 6), 0);
    assert_int_equal(spdy_write_data(out, 3, SPDY_FLAG_FIN, NULL, 0), 0);
    assert_int_equal(spdy_write_rst_stream(out, 5, SPDY_RST_CANCEL), 0);
    assert_int_equal(spdy_write_ping(out, 0x7fffffff), 0);
    assert_int_equal(spdy_write_goaway(out, 3, SPDY_GOAWAY_OK), 0);
    assert_int_equal(spdy_write_settings(out, SPDY_FLAG_SETTINGS_CLEAR, st, 2), 0);
    assert_int_equal(spdy_write_settings(out, 0, NULL, 0), 0);
    assert_int_equal(spdy_write_window_update(out, 0, 12345), 0);
    assert_int_equal(spdy_write_window_update(out, 3, SPDY_MAX_STREAM_ID), 0);
    *n = evbuffer_get_length(out);
    unsigned char *buf = malloc(*n);
    assert_non_null(buf);
    evbuffer_remove(out, buf, *n);
    evbuffer_free(out);
    spdy_encoder_free(e);
    return buf;
}

static const char ALL_FRAMES_LOG[] =
    "C1 f=0 id=1 assoc=0 pri=0 slot=0 streamtype=error\n"
    "C1 f=1 id=3 assoc=1 pri=7 slot=0 streamtype=stdout x-multi=a\\x00b empty=\n"
    "C2 f=0 id=1\n"
    "C2 f=1 id=3 x-stream-protocol-version=v4.channel.k8s.io\n"
    "C8 f=0 id=3 streamtype=error\n"
    "D f=0 id=3 len=6 hello\\x0a\n"
    "D f=1 id=3\n"
    "C3 f=0 id=5 status=5\n"
    "C6 f=0 id=0 ping=2147483647\n"
    "C7 f=0 id=3 status=0\n"
    "C4 f=1 id=0 set(1,4)=100 set(0,7)=65536\n"
    "C4 f=0 id=0\n"
    "C9 f=0 id=0 delta=12345\n"
    "C9 f=0 id=3 delta=2147483647\n";

static void test_dictionary(void **state)
{
    (void)state;
    assert_int_equal(adler32(1, spdy_dictionary, SPDY_DICTIONARY_LEN), 0xe3c6a7c2UL);
    assert_memory_equal(spdy_dictionary, "\0\0\0\007options", 11);
    assert_memory_equal(spdy_dictionary + SPDY_DICTIONARY_LEN - 6, "enq=0.", 6);
}

static void test_roundtrip(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *buf = all_frames(&n);
    struct log l = {0};
    char err[SPDY_ERR_MAX] = "";
    assert_int_equal(parse(buf, n, 0, &l, err, sizeof(err)), 0);
    assert_string_equal(l.text, ALL_FRAMES_LOG);
    /* the control frame header: control bit, version 3, type; data: stream id, flags, length */
    assert_memory_equal(buf, "\x80\x03\x00\x01", 4);
    free(buf);
}

static void test_split_everywhere(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *buf = all_frames(&n);
    char err[SPDY_ERR_MAX] = "";
    for (size_t k = 1; k < n; k++) {
        struct log l = {0};
        assert_int_equal(parse(buf, n, k, &l, err, sizeof(err)), 0);
        assert_string_equal(l.text, ALL_FRAMES_LOG);
    }
    /* one byte at a time */
    struct log l = {0};
    struct spdy_parser *p = spdy_parser_new(on_frame, &l);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(spdy_parser_feed(p, buf + i, 1, err, sizeof(err)), 0);
    assert_int_equal(spdy_parser_pending(p), 0);
    spdy_parser_free(p);
    assert_string_equal(l.text, ALL_FRAMES_LOG);
    free(buf);
}

static void test_feed_evbuffer(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *buf = all_frames(&n);
    struct evbuffer *in = evbuffer_new();
    assert_non_null(in);
    /* several chains, so the peek loop crosses chain boundaries mid-frame */
    for (size_t at = 0; at < n; at += 7)
        evbuffer_add_reference(in, buf + at, n - at < 7 ? n - at : 7, NULL, NULL);
    struct log l = {0};
    char err[SPDY_ERR_MAX] = "";
    struct spdy_parser *p = spdy_parser_new(on_frame, &l);
    assert_non_null(p);
    assert_int_equal(spdy_parser_feed_evbuffer(p, in, err, sizeof(err)), 0);
    assert_int_equal(evbuffer_get_length(in), 0);
    assert_string_equal(l.text, ALL_FRAMES_LOG);
    spdy_parser_free(p);
    evbuffer_free(in);
    free(buf);
}

/* Frames made by tests/vectors/spdy/gen_vectors.py with Python's zlib. */
static void test_python_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *want;
    } cases[] = {
        {"exec_session.bin", "C1 f=0 id=1 assoc=0 pri=0 slot=0 streamtype=error\n"
                             "C1 f=0 id=3 assoc=0 pri=1 slot=0 streamtype=stdin\n"
                             "C1 f=0 id=5 assoc=0 pri=2 slot=0 streamtype=stdout\n"
                             "C1 f=0 id=7 assoc=0 pri=3 slot=0 streamtype=stderr\n"
                             "C1 f=0 id=9 assoc=0 pri=4 slot=0 streamtype=resize\n"
                             "C6 f=0 id=0 ping=1\n"
                             "D f=1 id=3\n"
                             "D f=0 id=9 len=25 {\"Width\":80,\"Height\":24}\\x0a\n"
                             "C3 f=0 id=1 status=5\n"
                             "C7 f=0 id=9 status=0\n"},
        {"headers_multi.bin",
         "C1 f=1 id=1 assoc=0 pri=7 slot=0 streamtype=stdout x-multi=a\\x00bc empty= port=8080\n"
         "C2 f=0 id=1 status=200 OK\n"
         "C8 f=1 id=1 version=HTTP/1.1\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        unsigned char *buf = load_vector(cases[i].file, &n);
        char err[SPDY_ERR_MAX] = "";
        for (size_t k = 0; k < n; k++) {
            struct log l = {0};
            if (parse(buf, n, k, &l, err, sizeof(err)) != 0)
                fail_msg("%s split %zu: %s", cases[i].file, k, err);
            assert_string_equal(l.text, cases[i].want);
        }
        free(buf);
    }
}

static void expect_error(const unsigned char *buf, size_t n, const char *want)
{
    for (size_t k = 0; k < n; k++) {
        struct log l = {0};
        char err[SPDY_ERR_MAX] = "";
        assert_int_equal(parse(buf, n, k, &l, err, sizeof(err)), -1);
        if (strstr(err, want) == NULL)
            fail_msg("split %zu: got \"%s\", want \"%s\"", k, err, want);
    }
}

static void test_python_bad_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *want;
    } cases[] = {
        {"bad_count.bin", "spdy: header count 65 past cap 64"},
        {"bad_truncated.bin", "spdy: truncated header block (header 2 of 2)"},
        {"bad_dict.bin", "spdy: header block wants a zlib dictionary other than SPDY/3's"},
        {"bad_finish.bin", "spdy: header block ends the zlib stream"},
        {"bad_zlib.bin", "spdy: bad header block compression (zlib: "},
        {"bad_version.bin", "spdy: unsupported version 2 (expected 3)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        unsigned char *buf = load_vector(cases[i].file, &n);
        expect_error(buf, n, cases[i].want);
        free(buf);
    }
}

/* A SYN_STREAM whose block is raw (already a name/value block), compressed here with zlib. */
static size_t make_syn(unsigned char *out, size_t cap, uint32_t id, const unsigned char *raw,
                       size_t rawlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit(&z, Z_DEFAULT_COMPRESSION), Z_OK);
    assert_int_equal(deflateSetDictionary(&z, spdy_dictionary, SPDY_DICTIONARY_LEN), Z_OK);
    z.next_in = (unsigned char *)raw;
    z.avail_in = (uInt)rawlen;
    z.next_out = out + 18;
    z.avail_out = (uInt)(cap - 18);
    assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    assert_int_equal(z.avail_in, 0);
    size_t len = 10 + (cap - 18 - z.avail_out);
    deflateEnd(&z);
    memcpy(out, "\x80\x03\x00\x01", 4);
    out[4] = 0;
    out[5] = (unsigned char)(len >> 16);
    out[6] = (unsigned char)(len >> 8);
    out[7] = (unsigned char)len;
    memset(out + 8, 0, 10);
    out[8] = (unsigned char)(id >> 24);
    out[9] = (unsigned char)(id >> 16);
    out[10] = (unsigned char)(id >> 8);
    out[11] = (unsigned char)id;
    return 8 + len;
}

static void test_malformed(void **state)
{
    (void)state;
    /* data frame length one past the cap: refused from the header, nothing buffered */
    static const unsigned char big_data[] = {0, 0, 0, 1, 0, 0x10, 0x00, 0x01};
    expect_error(big_data, sizeof(big_data), "spdy: frame length 1048577 past cap 1048576 (data)");
    static const unsigned char big_ctl[] = {0x80, 3, 0, 1, 0, 0xff, 0xff, 0xff};
    expect_error(big_ctl, sizeof(big_ctl), "past cap 1048576 (syn_stream)");
    static const unsigned char data0[] = {0, 0, 0, 0, 0, 0, 0, 0};
    expect_error(data0, sizeof(data0), "spdy: data frame on stream 0");
    static const unsigned char ping5[] = {0x80, 3, 0, 6, 0, 0, 0, 5, 0, 0, 0, 1, 0};
    expect_error(ping5, sizeof(ping5), "spdy: ping length 5 (expected 4)");
    static const unsigned char rst0[] = {0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0};
    expect_error(rst0, sizeof(rst0), "spdy: rst_stream with status 0");
    static const unsigned char goaway4[] = {0x80, 3, 0, 7, 0, 0, 0, 4, 0, 0, 0, 1};
    expect_error(goaway4, sizeof(goaway4), "spdy: goaway length 4 (expected 8)");
    static const unsigned char wu0[] = {0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0};
    expect_error(wu0, sizeof(wu0), "spdy: window_update with delta 0");
    static const unsigned char settings_bad[] = {0x80, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1};
    expect_error(settings_bad, sizeof(settings_bad),
                 "spdy: settings length 4 does not match count 1");
    static const unsigned char settings_many[] = {0x80, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0, 17};
    expect_error(settings_many, sizeof(settings_many), "spdy: settings count 17 past cap 16");
    static const unsigned char syn_short[] = {0x80, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1};
    expect_error(syn_short, sizeof(syn_short), "spdy: syn_stream length 4 (expected at least 10)");
    static const unsigned char syn_empty[] = {0x80, 3, 0, 1, 0, 0, 0, 10, 0,
                                              0,    0, 1, 0, 0, 0, 0, 0,  0};
    expect_error(syn_empty, sizeof(syn_empty), "spdy: truncated header block (0 bytes, no count)");
    static const unsigned char reply0[] = {0x80, 3, 0, 2, 0, 0, 0, 4, 0, 0, 0, 0};
    expect_error(reply0, sizeof(reply0), "spdy: syn_reply on stream 0");

    unsigned char frame[512];
    /* upper-case name, empty name, duplicate name, stray bytes after the block */
    static const unsigned char upper[] = "\0\0\0\001\0\0\0\001A\0\0\0\001v";
    size_t n = make_syn(frame, sizeof(frame), 1, upper, sizeof(upper) - 1);
    expect_error(frame, n, "spdy: header name \"A\" is not lower case");
    static const unsigned char empty[] = "\0\0\0\001\0\0\0\0\0\0\0\001v";
    n = make_syn(frame, sizeof(frame), 1, empty, sizeof(empty) - 1);
    expect_error(frame, n, "spdy: empty header name (header 1)");
    static const unsigned char dup[] = "\0\0\0\002\0\0\0\001a\0\0\0\0\0\0\0\001a\0\0\0\0";
    n = make_syn(frame, sizeof(frame), 1, dup, sizeof(dup) - 1);
    expect_error(frame, n, "spdy: duplicate header name \"a\"");
    static const unsigned char stray[] = "\0\0\0\0xyz";
    n = make_syn(frame, sizeof(frame), 1, stray, sizeof(stray) - 1);
    expect_error(frame, n, "spdy: 3 stray bytes after the header block");
    static const unsigned char longname[] = "\0\0\0\001\0\0\0\077ab";
    n = make_syn(frame, sizeof(frame), 1, longname, sizeof(longname) - 1);
    expect_error(frame, n, "spdy: truncated header block (header 1 name length 63, 2 bytes left)");
}

/* A header block that inflates past SPDY_MAX_HEADER_BLOCK (a tiny compressed frame). */
static void test_inflate_cap(void **state)
{
    (void)state;
    size_t vlen = SPDY_MAX_HEADER_BLOCK;
    unsigned char *raw = calloc(1, 13 + vlen);
    assert_non_null(raw);
    memcpy(raw, "\0\0\0\001\0\0\0\001a", 9);
    raw[9] = (unsigned char)(vlen >> 24);
    raw[10] = (unsigned char)(vlen >> 16);
    raw[11] = (unsigned char)(vlen >> 8);
    raw[12] = (unsigned char)vlen;
    memset(raw + 13, 'x', vlen);
    unsigned char frame[4096];
    size_t n = make_syn(frame, sizeof(frame), 1, raw, 13 + vlen);
    struct log l = {0};
    char err[SPDY_ERR_MAX] = "";
    assert_int_equal(parse(frame, n, 0, &l, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: header block inflates past cap 65536 bytes");
    /* exactly at the cap is fine */
    vlen = SPDY_MAX_HEADER_BLOCK - 13;
    raw[9] = (unsigned char)(vlen >> 24);
    raw[10] = (unsigned char)(vlen >> 16);
    raw[11] = (unsigned char)(vlen >> 8);
    raw[12] = (unsigned char)vlen;
    n = make_syn(frame, sizeof(frame), 1, raw, 13 + vlen);
    assert_int_equal(parse(frame, n, 0, &l, err, sizeof(err)), 0);
    assert_int_equal(l.frames, 1);
    free(raw);
}

static void test_streams(void **state)
{
    (void)state;
    static const struct spdy_header h[] = {SPDY_HDR("streamtype", "stdout")};
    char err[SPDY_ERR_MAX] = "";
    struct spdy_encoder *e = spdy_encoder_new();
    struct evbuffer *out = evbuffer_new();
    assert_non_null(e);
    assert_non_null(out);
    /* ids must increase */
    assert_int_equal(spdy_write_syn_stream(e, out, 5, 0, 0, 0, h, 1, err, sizeof(err)), 0);
    assert_int_equal(spdy_write_syn_stream(e, out, 3, 0, 0, 0, h, 1, err, sizeof(err)), 0);
    struct log l = {0};
    struct spdy_parser *p = spdy_parser_new(on_frame, &l);
    assert_int_equal(spdy_parser_feed_evbuffer(p, out, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: syn_stream id 3 not above the last one (5)");
    assert_int_equal(l.frames, 1);
    /* dead from here on, with the same message */
    err[0] = '\0';
    assert_int_equal(spdy_parser_feed(p, "\0\0\0\1\0\0\0\0", 8, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: syn_stream id 3 not above the last one (5)");
    assert_int_equal(l.frames, 1);
    spdy_parser_free(p);
    spdy_encoder_free(e);

    /* more than SPDY_MAX_STREAMS */
    e = spdy_encoder_new();
    for (uint32_t i = 0; i <= SPDY_MAX_STREAMS; i++)
        assert_int_equal(spdy_write_syn_stream(e, out, 2 * i + 1, 0, 0, 0, h, 1, err, sizeof(err)),
                         0);
    memset(&l, 0, sizeof(l));
    p = spdy_parser_new(on_frame, &l);
    assert_int_equal(spdy_parser_feed_evbuffer(p, out, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: more than 64 streams on one connection");
    assert_int_equal(l.frames, SPDY_MAX_STREAMS);
    spdy_parser_free(p);
    spdy_encoder_free(e);
    evbuffer_free(out);
}

static void test_callback_stop_and_unknown(void **state)
{
    (void)state;
    /* an unknown control type (10, CREDENTIAL) is passed on, not refused */
    static const unsigned char frames[] = {0x80, 3, 0, 10, 0, 0, 0, 2, 'h', 'i', 0x80, 3,
                                           0,    6, 0, 0,  0, 4, 0, 0, 0,   7,   0x80, 3,
                                           0,    6, 0, 0,  0, 4, 0, 0, 0,   9};
    struct log l = {0};
    char err[SPDY_ERR_MAX] = "";
    assert_int_equal(parse(frames, sizeof(frames), 0, &l, err, sizeof(err)), 0);
    assert_string_equal(l.text, "C10 f=0 id=0 len=2 hi\nC6 f=0 id=0 ping=7\nC6 f=0 id=0 ping=9\n");
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    assert_int_equal(parse(frames, sizeof(frames), 0, &l, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: stopped by the frame handler");
    assert_int_equal(l.frames, 2);
}

static void test_writer_errors(void **state)
{
    (void)state;
    char err[SPDY_ERR_MAX] = "";
    struct spdy_encoder *e = spdy_encoder_new();
    struct evbuffer *out = evbuffer_new();
    assert_non_null(e);
    assert_non_null(out);
    static const struct spdy_header upper[] = {SPDY_HDR("StreamType", "x")};
    assert_int_equal(spdy_write_syn_reply(e, out, 1, 0, upper, 1, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: header name \"StreamType\" is not lower case");
    static const struct spdy_header noname[] = {SPDY_HDR("", "x")};
    assert_int_equal(spdy_write_syn_reply(e, out, 1, 0, noname, 1, err, sizeof(err)), -1);
    assert_int_equal(spdy_write_syn_reply(e, out, 0, 0, NULL, 0, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: stream id 0 out of range");
    assert_int_equal(spdy_write_syn_reply(e, out, 0x80000000u, 0, NULL, 0, err, sizeof(err)), -1);
    struct spdy_header many[SPDY_MAX_HEADERS + 1];
    for (size_t i = 0; i < SPDY_MAX_HEADERS + 1; i++)
        many[i] = (struct spdy_header)SPDY_HDR("a", "b");
    assert_int_equal(
        spdy_write_syn_reply(e, out, 1, 0, many, SPDY_MAX_HEADERS + 1, err, sizeof(err)), -1);
    assert_string_equal(err, "spdy: 65 headers past cap 64");
    assert_int_equal(spdy_write_syn_stream(e, out, 1, 0, 8, 0, NULL, 0, err, sizeof(err)), -1);
    assert_int_equal(spdy_write_data(out, 0, 0, "x", 1), -1);
    assert_int_equal(spdy_write_data(out, 1, 0, "x", SPDY_MAX_LENGTH + 1), -1);
    assert_int_equal(spdy_write_rst_stream(out, 1, 0), -1);
    assert_int_equal(spdy_write_window_update(out, 1, 0), -1);
    assert_int_equal(spdy_write_goaway(out, 0x80000000u, 0), -1);
    struct spdy_setting s = {0, 0x1000000, 1};
    assert_int_equal(spdy_write_settings(out, 0, &s, 1), -1);
    assert_int_equal(spdy_write_settings(out, 0, &s, SPDY_MAX_SETTINGS + 1), -1);
    /* nothing was appended by any failed writer */
    assert_int_equal(evbuffer_get_length(out), 0);
    /* and the encoder is still in step after refusals that happen before compression */
    static const struct spdy_header ok[] = {SPDY_HDR("streamtype", "error")};
    assert_int_equal(spdy_write_syn_stream(e, out, 1, 0, 0, 0, ok, 1, err, sizeof(err)), 0);
    struct log l = {0};
    struct spdy_parser *p = spdy_parser_new(on_frame, &l);
    assert_int_equal(spdy_parser_feed_evbuffer(p, out, err, sizeof(err)), 0);
    assert_string_equal(l.text, "C1 f=0 id=1 assoc=0 pri=0 slot=0 streamtype=error\n");
    spdy_parser_free(p);
    spdy_parser_free(NULL);
    spdy_encoder_free(e);
    spdy_encoder_free(NULL);
    evbuffer_free(out);
}

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: deterministic, so a failing iteration can be replayed */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static int on_frame_quiet(void *arg, const struct spdy_frame *f)
{
    size_t *count = arg;
    (*count)++;
    /* touch everything the frame points to, so ASan sees any bad pointer */
    volatile unsigned sum = 0;
    for (size_t i = 0; i < f->nheaders; i++) {
        sum += (unsigned char)f->headers[i].name[f->headers[i].name_len];
        for (size_t j = 0; j < f->headers[i].value_len; j++)
            sum += (unsigned char)f->headers[i].value[j];
    }
    for (size_t i = 0; i < f->data_len; i++)
        sum += f->data[i];
    for (size_t i = 0; i < f->nsettings; i++)
        sum += f->settings[i].value;
    (void)sum;
    return 0;
}

/* Thousands of mutated frame sequences, fed in random pieces: errors are fine, crashes are not. */
static void test_mutations(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *base = all_frames(&n);
    size_t vn = 0;
    unsigned char *vec = load_vector("exec_session.bin", &vn);
    unsigned char *buf = malloc(n + vn + 64);
    assert_non_null(buf);
    uint64_t seed = 0x5eed5eedULL;
    size_t ok = 0, failed = 0, frames = 0;
    for (int iter = 0; iter < 20000; iter++) {
        const unsigned char *src = (iter & 1) ? vec : base;
        size_t len = (iter & 1) ? vn : n;
        memcpy(buf, src, len);
        int edits = 1 + (int)(rng_next(&seed) % 8);
        for (int k = 0; k < edits; k++) {
            size_t at = (size_t)(rng_next(&seed) % len);
            switch (rng_next(&seed) % 4) {
            case 0:
                buf[at] ^= (unsigned char)(1u << (rng_next(&seed) % 8));
                break;
            case 1:
                buf[at] = (unsigned char)rng_next(&seed);
                break;
            case 2: /* truncate */
                len = at + 1;
                break;
            default: /* extreme lengths and counts land here often */
                buf[at] = (rng_next(&seed) & 1) ? 0xff : 0x00;
                break;
            }
        }
        struct spdy_parser *p = spdy_parser_new(on_frame_quiet, &frames);
        assert_non_null(p);
        char err[SPDY_ERR_MAX];
        int rc = 0;
        for (size_t at = 0; at < len && rc == 0;) {
            size_t piece = 1 + (size_t)(rng_next(&seed) % 40);
            if (piece > len - at)
                piece = len - at;
            rc = spdy_parser_feed(p, buf + at, piece, err, sizeof(err));
            at += piece;
        }
        if (rc == 0) {
            ok++;
        } else {
            failed++;
            assert_memory_equal(err, "spdy: ", 6);
        }
        spdy_parser_free(p);
    }
    print_message("mutations: %zu parsed, %zu refused, %zu frames\n", ok, failed, frames);
    /* the loop exercised both outcomes */
    assert_true(ok > 100);
    assert_true(failed > 100);
    assert_true(frames > 1000);
    free(buf);
    free(vec);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dictionary),       cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_split_everywhere), cmocka_unit_test(test_feed_evbuffer),
        cmocka_unit_test(test_python_vectors),   cmocka_unit_test(test_python_bad_vectors),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_inflate_cap),
        cmocka_unit_test(test_streams),          cmocka_unit_test(test_callback_stop_and_unknown),
        cmocka_unit_test(test_writer_errors),    cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
