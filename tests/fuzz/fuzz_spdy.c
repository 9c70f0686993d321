/* fuzz_spdy.c -- libFuzzer target: SPDY/3.1 frames and header blocks (mockapi/stream/spdy.c), what
 * kubectl and client-go send after an exec/attach upgrade.
 *
 * Input: byte 0 is the mode, byte 1 where to split, the rest the payload.
 *   mode bit 0 clear: the payload is wire bytes, fed as they are;
 *   mode bit 0 set:   the payload is records [type:1][flags:1][length:2, big endian][body], turned
 *                     into frames by this target: SYN_STREAM, SYN_REPLY and HEADERS bodies are
 *                     their fixed fields (10, 4 or 4 bytes) then a raw name/value block which is
 *                     deflated here with the SPDY/3 dictionary (one compressor per connection, a
 *                     sync flush per block, as spdystream writes them), so mutations reach the
 *                     header block decoder past zlib; type 0 is a DATA frame (body: stream id,
 *                     then data); other types are control frames with the body as payload.
 * Checks: the same bytes fed whole and split at one point give the same frames and the same
 * result; every header block the parser accepts, written back with spdy_write_syn_stream() when
 * the writer takes it, parses to the same headers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "mockapi/stream/spdy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SPDY_MAX_WIRE (4u << 20) /**< built frames past this are not built */

/* ---- a digest of what a parser hands over ---- */

struct digest {
    uint64_t h;
    size_t frames;
    int roundtrip; /* write accepted header blocks back and parse them again */
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 1099511628211ull;
}

static void mix_u32(struct digest *d, uint32_t v)
{
    mix(d, &v, sizeof v);
}

/* Compare two header lists. 1 when equal. */
static int same_headers(const struct spdy_header *a, size_t na, const struct spdy_header *b,
                        size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].name_len != b[i].name_len || a[i].value_len != b[i].value_len ||
            memcmp(a[i].name, b[i].name, a[i].name_len) != 0 ||
            memcmp(a[i].value, b[i].value, a[i].value_len) != 0)
            return 0;
    return 1;
}

struct roundtrip {
    const struct spdy_frame *want;
    int seen;
};

static int on_roundtrip(void *arg, const struct spdy_frame *f)
{
    struct roundtrip *rt = arg;
    rt->seen++;
    if (!same_headers(rt->want->headers, rt->want->nheaders, f->headers, f->nheaders)) {
        fprintf(stderr, "fuzz_spdy: a header block written back parses differently\n");
        abort();
    }
    return 0;
}

/* Write f's headers back as a SYN_STREAM and parse them again: they must come back the same. */
static void roundtrip(const struct spdy_frame *f)
{
    char err[SPDY_ERR_MAX];
    struct evbuffer *out = evbuffer_new();
    if (!out)
        abort();
    /* a fresh encoder per block: the writer may refuse (upper case, too many), which kills it */
    struct spdy_encoder *e = spdy_encoder_new();
    if (!e)
        abort();
    if (spdy_write_syn_stream(e, out, 1, 0, 0, 0, f->headers, f->nheaders, err, sizeof err) == 0) {
        struct roundtrip rt = {f, 0};
        struct spdy_parser *p = spdy_parser_new(on_roundtrip, &rt);
        size_t n = evbuffer_get_length(out);
        unsigned char *b = evbuffer_pullup(out, -1);
        if (!p || spdy_parser_feed(p, b, n, err, sizeof err) < 0 || rt.seen != 1) {
            fprintf(stderr, "fuzz_spdy: a header block written back does not parse: %s\n", err);
            abort();
        }
        spdy_parser_free(p);
    }
    spdy_encoder_free(e);
    evbuffer_free(out);
}

static int on_frame(void *arg, const struct spdy_frame *f)
{
    struct digest *d = arg;
    d->frames++;
    mix_u32(d, (uint32_t)f->control << 16 | f->type);
    mix_u32(d, f->flags);
    mix_u32(d, f->length);
    mix_u32(d, f->stream_id);
    mix_u32(d, f->assoc_id);
    mix_u32(d, (uint32_t)f->priority << 8 | f->slot);
    mix_u32(d, f->status);
    mix_u32(d, f->ping_id);
    mix_u32(d, f->delta);
    for (size_t i = 0; i < f->nheaders; i++) {
        if (f->headers[i].name[f->headers[i].name_len] != '\0' ||
            f->headers[i].value[f->headers[i].value_len] != '\0') {
            fprintf(stderr, "fuzz_spdy: header %zu is not NUL-terminated\n", i);
            abort();
        }
        mix(d, f->headers[i].name, f->headers[i].name_len + 1);
        mix(d, f->headers[i].value, f->headers[i].value_len + 1);
    }
    for (size_t i = 0; i < f->nsettings; i++) {
        mix_u32(d, f->settings[i].flags);
        mix_u32(d, f->settings[i].id);
        mix_u32(d, f->settings[i].value);
    }
    if (f->data_len)
        mix(d, f->data, f->data_len);
    if (d->roundtrip && f->nheaders)
        roundtrip(f);
    return 0;
}

/* Feed wire to a new parser, in two pieces cut at split. The result of the last feed. */
static int parse(const unsigned char *wire, size_t len, size_t split, struct digest *d, char *err,
                 size_t errlen)
{
    struct spdy_parser *p = spdy_parser_new(on_frame, d);
    if (!p)
        abort();
    if (split > len)
        split = len;
    int rc = spdy_parser_feed(p, wire, split, err, errlen);
    if (rc == 0)
        rc = spdy_parser_feed(p, wire + split, len - split, err, errlen);
    else /* dead: later feeds fail with the same message */
        rc = spdy_parser_feed(p, wire + split, len - split, err, errlen) < 0 ? -1 : 0;
    mix_u32(d, (uint32_t)spdy_parser_pending(p));
    spdy_parser_free(p);
    return rc;
}

/* ---- building frames from records ---- */

static void put_head(struct evbuffer *w, int control, uint32_t word, uint8_t flags, uint32_t len)
{
    unsigned char h[8];
    h[0] = (unsigned char)(word >> 24) | (control ? 0x80 : 0);
    h[1] = (unsigned char)(word >> 16);
    h[2] = (unsigned char)(word >> 8);
    h[3] = (unsigned char)word;
    h[4] = flags;
    h[5] = (unsigned char)(len >> 16);
    h[6] = (unsigned char)(len >> 8);
    h[7] = (unsigned char)len;
    evbuffer_add(w, h, sizeof h);
}

/* Deflate a raw block on the connection's compressor (sync flush). 0 or -1. */
static int deflate_block(z_stream *z, const unsigned char *raw, size_t n, struct evbuffer *out)
{
    unsigned char buf[4096];
    z->next_in = (unsigned char *)raw;
    z->avail_in = (uInt)n;
    do {
        z->next_out = buf;
        z->avail_out = sizeof buf;
        if (deflate(z, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
            return -1;
        evbuffer_add(out, buf, sizeof buf - z->avail_out);
    } while (z->avail_out == 0);
    return 0;
}

static void build(const uint8_t *p, size_t n, struct evbuffer *wire)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK ||
        deflateSetDictionary(&z, spdy_dictionary, SPDY_DICTIONARY_LEN) != Z_OK)
        abort();
    struct evbuffer *block = evbuffer_new();
    if (!block)
        abort();
    while (n >= 4 && evbuffer_get_length(wire) < FZ_SPDY_MAX_WIRE) {
        uint8_t type = p[0], flags = p[1];
        size_t len = (size_t)p[2] << 8 | p[3];
        p += 4;
        n -= 4;
        if (len > n)
            len = n;
        size_t fixed = type == SPDY_SYN_STREAM                          ? 10
                       : type == SPDY_SYN_REPLY || type == SPDY_HEADERS ? 4
                       : type == SPDY_DATA                              ? 4
                                                                        : 0;
        if (len < fixed)
            fixed = len;
        if (type == SPDY_DATA) {
            uint32_t id = fixed == 4 ? (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3] : 1;
            put_head(wire, 0, id & SPDY_MAX_STREAM_ID, flags, (uint32_t)(len - fixed));
            evbuffer_add(wire, p + fixed, len - fixed);
        } else if (type == SPDY_SYN_STREAM || type == SPDY_SYN_REPLY || type == SPDY_HEADERS) {
            evbuffer_drain(block, evbuffer_get_length(block));
            if (deflate_block(&z, p + fixed, len - fixed, block) < 0)
                abort();
            size_t blen = evbuffer_get_length(block);
            put_head(wire, 1, (uint32_t)SPDY_VERSION << 16 | type, flags, (uint32_t)(fixed + blen));
            evbuffer_add(wire, p, fixed);
            evbuffer_add_buffer(wire, block);
        } else {
            put_head(wire, 1, (uint32_t)SPDY_VERSION << 16 | type, flags, (uint32_t)len);
            evbuffer_add(wire, p, len);
        }
        p += len;
        n -= len;
    }
    evbuffer_free(block);
    deflateEnd(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0];
    struct evbuffer *wire = evbuffer_new();
    if (!wire)
        abort();
    if (mode & 1)
        build(data + 2, size - 2, wire);
    else
        evbuffer_add(wire, data + 2, size - 2);
    size_t len = evbuffer_get_length(wire);
    const unsigned char *b = len ? evbuffer_pullup(wire, -1) : (const unsigned char *)"";
    size_t split = len ? (size_t)data[1] * len / 255 : 0;

    char err1[SPDY_ERR_MAX] = "", err2[SPDY_ERR_MAX] = "";
    struct digest whole = {14695981039346656037ull, 0, (mode & 2) != 0};
    struct digest parts = {14695981039346656037ull, 0, 0};
    int rc1 = parse(b, len, len, &whole, err1, sizeof err1);
    int rc2 = parse(b, len, split, &parts, err2, sizeof err2);
    if (rc1 != rc2 || whole.frames != parts.frames || whole.h != parts.h ||
        strcmp(err1, err2) != 0) {
        fprintf(stderr,
                "fuzz_spdy: fed whole: %d, %zu frames, \"%s\"; split at %zu: %d, %zu frames, "
                "\"%s\"\n",
                rc1, whole.frames, err1, split, rc2, parts.frames, err2);
        abort();
    }
    evbuffer_free(wire);
    return 0;
}
