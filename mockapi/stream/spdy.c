/* spdy.c -- SPDY/3.1 frames for exec/attach: an incremental parser (any split of the input,
 * header blocks inflated through one per-connection zlib stream primed with the SPDY/3 dictionary,
 * every length checked against a named cap) and frame writers (header blocks deflated through one
 * per-connection stream, each block ended with Z_SYNC_FLUSH, as moby/spdystream does).
 *
 * Hand-written because no Debian library implements SPDY/3.1; the subset client-go needs is small,
 * and the fault layer wants control over every byte.
 * See shared/docs/reference/streaming.md §2 for what client-go sends and expects. */
#include "mockapi/stream/spdy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <zlib.h>

/* The SPDY/3 draft's compression dictionary: length-prefixed header names and
 * values, then status lines, dates and common value tokens. A protocol constant: both ends must
 * use exactly these bytes, and zlib checks them by adler32 (0xe3c6a7c2) in the stream header. */
#define DICT_TEXT                                                                                  \
    "\0\0\0\007options\0\0\0\004head\0\0\0\004post\0\0\0\003put\0\0\0\006delete"                   \
    "\0\0\0\005trace\0\0\0\006accept\0\0\0\016accept-charset\0\0\0\017accept-encoding"             \
    "\0\0\0\017accept-language\0\0\0\015accept-ranges\0\0\0\003age\0\0\0\005allow"                 \
    "\0\0\0\015authorization\0\0\0\015cache-control\0\0\0\012connection"                           \
    "\0\0\0\014content-base\0\0\0\020content-encoding\0\0\0\020content-language"                   \
    "\0\0\0\016content-length\0\0\0\020content-location\0\0\0\013content-md5"                      \
    "\0\0\0\015content-range\0\0\0\014content-type\0\0\0\004date\0\0\0\004etag"                    \
    "\0\0\0\006expect\0\0\0\007expires\0\0\0\004from\0\0\0\004host\0\0\0\010if-match"              \
    "\0\0\0\021if-modified-since\0\0\0\015if-none-match\0\0\0\010if-range"                         \
    "\0\0\0\023if-unmodified-since\0\0\0\015last-modified\0\0\0\010location"                       \
    "\0\0\0\014max-forwards\0\0\0\006pragma\0\0\0\022proxy-authenticate"                           \
    "\0\0\0\023proxy-authorization\0\0\0\005range\0\0\0\007referer\0\0\0\013retry-after"           \
    "\0\0\0\006server\0\0\0\002te\0\0\0\007trailer\0\0\0\021transfer-encoding"                     \
    "\0\0\0\007upgrade\0\0\0\012user-agent\0\0\0\004vary\0\0\0\003via\0\0\0\007warning"            \
    "\0\0\0\020www-authenticate\0\0\0\006method\0\0\0\003get\0\0\0\006status"                      \
    "\0\0\0\006200 OK\0\0\0\007version\0\0\0\010HTTP/1.1\0\0\0\003url\0\0\0\006public"             \
    "\0\0\0\012set-cookie\0\0\0\012keep-alive\0\0\0\006origin"                                     \
    "10010120120220520630030230330430530630740240540640740840941041141241341441541641"             \
    "7502504505203 Non-Authoritative Information204 No Content301 Moved Permanently40"             \
    "0 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"             \
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept O"             \
    "ct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,imag"             \
    "e/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/"             \
    "javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1"             \
    ",utf-,*,enq=0."

_Static_assert(sizeof(DICT_TEXT) - 1 == SPDY_DICTIONARY_LEN, "SPDY/3 dictionary is 1423 bytes");

const unsigned char spdy_dictionary[SPDY_DICTIONARY_LEN + 1] = DICT_TEXT;

/* ---- byte helpers ---- */

static uint32_t get32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static uint32_t get24(const unsigned char *b)
{
    return ((uint32_t)b[0] << 16) | ((uint32_t)b[1] << 8) | b[2];
}

static void put32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* A control frame header: control bit, version, type, flags, 24-bit length. */
static void put_control_head(unsigned char *b, uint16_t type, uint8_t flags, uint32_t len)
{
    b[0] = (unsigned char)(0x80 | (SPDY_VERSION >> 8));
    b[1] = (unsigned char)(SPDY_VERSION & 0xff);
    b[2] = (unsigned char)(type >> 8);
    b[3] = (unsigned char)type;
    put32(b + 4, len);
    b[4] = flags;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- parser ---- */

struct spdy_parser {
    spdy_frame_cb on_frame;
    void *arg;

    unsigned char head[SPDY_FRAME_HEAD];
    size_t head_got;
    uint32_t length;        /* payload length of the frame being read */
    unsigned char *payload; /* grows to the largest frame seen, at most SPDY_MAX_FRAME_LEN */
    size_t payload_cap;
    size_t payload_got;

    z_stream zin;
    unsigned char *block; /* inflated header block, SPDY_MAX_HEADER_BLOCK + 1 (the +1 detects
                             overflow) */
    char *arena;          /* NUL-terminated copies of names and values */
    struct spdy_header headers[SPDY_MAX_HEADERS];
    struct spdy_setting settings[SPDY_MAX_SETTINGS];

    uint32_t last_syn_id; /* stream ids must increase */
    size_t nsyn;          /* SYN_STREAMs seen */

    int dead;
    char failure[SPDY_ERR_MAX];
};

#define ARENA_SIZE (SPDY_MAX_HEADER_BLOCK + 2 * SPDY_MAX_HEADERS)

static int fail(struct spdy_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first failure; the parser is dead from here on. Always returns -1. */
static int fail(struct spdy_parser *p, const char *fmt, ...)
{
    if (!p->dead) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->failure, sizeof(p->failure), fmt, ap);
        va_end(ap);
        p->dead = 1;
    }
    return -1;
}

struct spdy_parser *spdy_parser_new(spdy_frame_cb on_frame, void *arg)
{
    struct spdy_parser *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->on_frame = on_frame;
    p->arg = arg;
    if (inflateInit(&p->zin) != Z_OK) {
        free(p);
        return NULL;
    }
    return p;
}

void spdy_parser_free(struct spdy_parser *p)
{
    if (p == NULL)
        return;
    inflateEnd(&p->zin);
    free(p->payload);
    free(p->block);
    free(p->arena);
    free(p);
}

size_t spdy_parser_pending(const struct spdy_parser *p)
{
    return p->head_got + p->payload_got;
}

/* Inflate one compressed header block into p->block; returns the inflated length or -1. The
 * stream is shared by every block of the connection, so a block must end on a flush point. */
static long inflate_block(struct spdy_parser *p, const unsigned char *in, size_t inlen)
{
    if (p->block == NULL) {
        p->block = malloc(SPDY_MAX_HEADER_BLOCK + 1);
        if (p->block == NULL)
            return fail(p, "spdy: out of memory for a header block");
    }
    p->zin.next_in = (unsigned char *)in; /* zlib's API is not const */
    p->zin.avail_in = (uInt)inlen;
    p->zin.next_out = p->block;
    p->zin.avail_out = SPDY_MAX_HEADER_BLOCK + 1;
    while (p->zin.avail_in > 0) {
        int r = inflate(&p->zin, Z_SYNC_FLUSH);
        if (r == Z_NEED_DICT) {
            r = inflateSetDictionary(&p->zin, spdy_dictionary, SPDY_DICTIONARY_LEN);
            if (r != Z_OK)
                return fail(p, "spdy: header block wants a zlib dictionary other than SPDY/3's");
            continue;
        }
        if (r == Z_STREAM_END)
            return fail(p, "spdy: header block ends the zlib stream (expected a sync flush)");
        if (p->zin.avail_out == 0)
            return fail(p, "spdy: header block inflates past cap %u bytes",
                        (unsigned)SPDY_MAX_HEADER_BLOCK);
        if (r != Z_OK)
            return fail(p, "spdy: bad header block compression (zlib: %s)",
                        p->zin.msg ? p->zin.msg : "no progress");
    }
    /* Inflating with output room left after all input means zlib holds nothing back. */
    return (long)(SPDY_MAX_HEADER_BLOCK + 1 - p->zin.avail_out);
}

/* Decode an inflated name/value block: a 32-bit count, then 32-bit length-prefixed names and
 * values. Fills p->headers with NUL-terminated copies in p->arena. */
static int decode_block(struct spdy_parser *p, const unsigned char *b, size_t n, size_t *count)
{
    if (p->arena == NULL) {
        p->arena = malloc(ARENA_SIZE);
        if (p->arena == NULL)
            return fail(p, "spdy: out of memory for headers");
    }
    if (n < 4)
        return fail(p, "spdy: truncated header block (%zu bytes, no count)", n);
    uint32_t num = get32(b);
    if (num > SPDY_MAX_HEADERS)
        return fail(p, "spdy: header count %lu past cap %d", (unsigned long)num, SPDY_MAX_HEADERS);
    size_t at = 4;
    size_t used = 0; /* arena bytes; never past n + 2 * num <= ARENA_SIZE */
    for (uint32_t i = 0; i < num; i++) {
        const unsigned char *str[2];
        uint32_t len[2];
        for (int k = 0; k < 2; k++) {
            if (n - at < 4)
                return fail(p, "spdy: truncated header block (header %lu of %lu)",
                            (unsigned long)i + 1, (unsigned long)num);
            len[k] = get32(b + at);
            at += 4;
            if (len[k] > n - at)
                return fail(p,
                            "spdy: truncated header block (header %lu %s length %lu, %zu "
                            "bytes left)",
                            (unsigned long)i + 1, k == 0 ? "name" : "value", (unsigned long)len[k],
                            n - at);
            str[k] = b + at;
            at += len[k];
        }
        if (len[0] == 0)
            return fail(p, "spdy: empty header name (header %lu)", (unsigned long)i + 1);
        for (uint32_t j = 0; j < len[0]; j++)
            if (str[0][j] >= 'A' && str[0][j] <= 'Z')
                return fail(p, "spdy: header name \"%.*s\" is not lower case",
                            (int)(len[0] > 64 ? 64 : len[0]), (const char *)str[0]);
        for (uint32_t j = 0; j < i; j++)
            if (p->headers[j].name_len == len[0] && memcmp(p->headers[j].name, str[0], len[0]) == 0)
                return fail(p, "spdy: duplicate header name \"%.*s\"",
                            (int)(len[0] > 64 ? 64 : len[0]), (const char *)str[0]);
        char *name = p->arena + used;
        memcpy(name, str[0], len[0]);
        name[len[0]] = '\0';
        used += len[0] + 1;
        char *value = p->arena + used;
        memcpy(value, str[1], len[1]);
        value[len[1]] = '\0';
        used += len[1] + 1;
        p->headers[i] = (struct spdy_header){name, len[0], value, len[1]};
    }
    if (at != n)
        return fail(p, "spdy: %zu stray bytes after the header block", n - at);
    *count = num;
    return 0;
}

static int deliver(struct spdy_parser *p, const struct spdy_frame *f)
{
    if (p->on_frame != NULL && p->on_frame(p->arg, f) != 0)
        return fail(p, "spdy: stopped by the frame handler");
    return 0;
}

static const char *type_name(uint16_t type)
{
    switch (type) {
    case SPDY_SYN_STREAM:
        return "syn_stream";
    case SPDY_SYN_REPLY:
        return "syn_reply";
    case SPDY_RST_STREAM:
        return "rst_stream";
    case SPDY_SETTINGS:
        return "settings";
    case SPDY_PING:
        return "ping";
    case SPDY_GOAWAY:
        return "goaway";
    case SPDY_HEADERS:
        return "headers";
    case SPDY_WINDOW_UPDATE:
        return "window_update";
    default:
        return "control";
    }
}

/* The payload of a control frame is complete in p->payload: check it and hand it over. */
static int control_frame(struct spdy_parser *p, struct spdy_frame *f)
{
    const unsigned char *b = p->payload;
    uint32_t n = f->length;
    uint32_t fixed = 0; /* bytes before a header block */
    switch (f->type) {
    case SPDY_SYN_STREAM:
        fixed = 10;
        break;
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS:
        fixed = 4;
        break;
    case SPDY_RST_STREAM:
    case SPDY_GOAWAY:
    case SPDY_WINDOW_UPDATE:
        if (n != 8)
            return fail(p, "spdy: %s length %lu (expected 8)", type_name(f->type),
                        (unsigned long)n);
        break;
    case SPDY_PING:
        if (n != 4)
            return fail(p, "spdy: ping length %lu (expected 4)", (unsigned long)n);
        break;
    case SPDY_SETTINGS:
        if (n < 4)
            return fail(p, "spdy: settings length %lu (expected at least 4)", (unsigned long)n);
        break;
    default:
        /* SPDY/3 §2.2.1: unknown control frames are ignored; pass them on to be logged. */
        f->data = b;
        f->data_len = n;
        return deliver(p, f);
    }

    switch (f->type) {
    case SPDY_SYN_STREAM:
    case SPDY_SYN_REPLY:
    case SPDY_HEADERS: {
        if (n < fixed)
            return fail(p, "spdy: %s length %lu (expected at least %lu)", type_name(f->type),
                        (unsigned long)n, (unsigned long)fixed);
        f->stream_id = get32(b) & SPDY_MAX_STREAM_ID;
        if (f->stream_id == 0)
            return fail(p, "spdy: %s on stream 0", type_name(f->type));
        if (f->type == SPDY_SYN_STREAM) {
            f->assoc_id = get32(b + 4) & SPDY_MAX_STREAM_ID;
            f->priority = (uint8_t)(b[8] >> 5);
            f->slot = b[9];
            if (f->stream_id <= p->last_syn_id)
                return fail(p, "spdy: syn_stream id %lu not above the last one (%lu)",
                            (unsigned long)f->stream_id, (unsigned long)p->last_syn_id);
            if (p->nsyn >= SPDY_MAX_STREAMS)
                return fail(p, "spdy: more than %d streams on one connection", SPDY_MAX_STREAMS);
            p->last_syn_id = f->stream_id;
            p->nsyn++;
        }
        long inflated = inflate_block(p, b + fixed, n - fixed);
        if (inflated < 0)
            return -1;
        size_t count = 0;
        if (decode_block(p, p->block, (size_t)inflated, &count) != 0)
            return -1;
        f->headers = p->headers;
        f->nheaders = count;
        return deliver(p, f);
    }
    case SPDY_RST_STREAM:
        f->stream_id = get32(b) & SPDY_MAX_STREAM_ID;
        f->status = get32(b + 4);
        if (f->stream_id == 0)
            return fail(p, "spdy: rst_stream on stream 0");
        if (f->status == 0)
            return fail(p, "spdy: rst_stream with status 0");
        return deliver(p, f);
    case SPDY_GOAWAY:
        f->stream_id = get32(b) & SPDY_MAX_STREAM_ID;
        f->status = get32(b + 4);
        return deliver(p, f);
    case SPDY_WINDOW_UPDATE:
        f->stream_id = get32(b) & SPDY_MAX_STREAM_ID;
        f->delta = get32(b + 4) & SPDY_MAX_STREAM_ID;
        if (f->delta == 0)
            return fail(p, "spdy: window_update with delta 0");
        return deliver(p, f);
    case SPDY_PING:
        f->ping_id = get32(b);
        return deliver(p, f);
    case SPDY_SETTINGS: {
        uint32_t count = get32(b);
        if (count > SPDY_MAX_SETTINGS)
            return fail(p, "spdy: settings count %lu past cap %d", (unsigned long)count,
                        SPDY_MAX_SETTINGS);
        if (n != 4 + 8 * count)
            return fail(p, "spdy: settings length %lu does not match count %lu", (unsigned long)n,
                        (unsigned long)count);
        for (uint32_t i = 0; i < count; i++) {
            const unsigned char *e = b + 4 + 8 * i;
            p->settings[i].flags = e[0];
            p->settings[i].id = get24(e + 1);
            p->settings[i].value = get32(e + 4);
        }
        f->settings = p->settings;
        f->nsettings = count;
        return deliver(p, f);
    }
    default:
        return fail(p, "spdy: internal error (control type %u)", (unsigned)f->type);
    }
}

/* A complete frame is in p->head and p->payload. */
static int complete_frame(struct spdy_parser *p)
{
    const unsigned char *h = p->head;
    struct spdy_frame f;
    memset(&f, 0, sizeof(f));
    f.flags = h[4];
    f.length = p->length;
    if (h[0] & 0x80) {
        f.control = 1;
        f.type = (uint16_t)((h[2] << 8) | h[3]);
        return control_frame(p, &f);
    }
    f.type = SPDY_DATA;
    f.stream_id = get32(h) & SPDY_MAX_STREAM_ID;
    f.data = p->payload;
    f.data_len = p->length;
    return deliver(p, &f);
}

/* The 8-byte header is in: check it before buffering a byte of payload. */
static int check_head(struct spdy_parser *p)
{
    const unsigned char *h = p->head;
    p->length = get24(h + 5);
    if (h[0] & 0x80) {
        unsigned version = ((unsigned)(h[0] & 0x7f) << 8) | h[1];
        if (version != SPDY_VERSION)
            return fail(p, "spdy: unsupported version %u (expected %d)", version, SPDY_VERSION);
    } else if ((get32(h) & SPDY_MAX_STREAM_ID) == 0) {
        return fail(p, "spdy: data frame on stream 0");
    }
    if (p->length > SPDY_MAX_FRAME_LEN)
        return fail(p, "spdy: frame length %lu past cap %u (%s)", (unsigned long)p->length,
                    (unsigned)SPDY_MAX_FRAME_LEN,
                    (h[0] & 0x80) ? type_name((uint16_t)((h[2] << 8) | h[3])) : "data");
    if (p->length > p->payload_cap) {
        unsigned char *grown = realloc(p->payload, p->length);
        if (grown == NULL)
            return fail(p, "spdy: out of memory for a %lu-byte frame", (unsigned long)p->length);
        p->payload = grown;
        p->payload_cap = p->length;
    }
    return 0;
}

int spdy_parser_feed(struct spdy_parser *p, const void *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *in = data;
    while (!p->dead && len > 0) {
        if (p->head_got < SPDY_FRAME_HEAD) {
            size_t take = SPDY_FRAME_HEAD - p->head_got;
            if (take > len)
                take = len;
            memcpy(p->head + p->head_got, in, take);
            p->head_got += take;
            in += take;
            len -= take;
            if (p->head_got < SPDY_FRAME_HEAD || check_head(p) != 0)
                continue;
        }
        size_t take = p->length - p->payload_got;
        if (take > len)
            take = len;
        if (take > 0) {
            memcpy(p->payload + p->payload_got, in, take);
            p->payload_got += take;
            in += take;
            len -= take;
        }
        if (p->payload_got == p->length) {
            /* Reset before delivering, so the frame boundary holds whatever the callback does. */
            p->head_got = 0;
            p->payload_got = 0;
            complete_frame(p);
        }
    }
    if (p->dead) {
        set_err(err, errlen, "%s", p->failure);
        return -1;
    }
    return 0;
}

int spdy_parser_feed_evbuffer(struct spdy_parser *p, struct evbuffer *in, char *err, size_t errlen)
{
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        int r = spdy_parser_feed(p, v.iov_base, v.iov_len, err, errlen);
        evbuffer_drain(in, v.iov_len);
        if (r != 0)
            return -1;
    }
    if (p->dead) {
        set_err(err, errlen, "%s", p->failure);
        return -1;
    }
    return 0;
}

/* ---- writers ---- */

struct spdy_encoder {
    z_stream zout;
    int dead;
};

struct spdy_encoder *spdy_encoder_new(void)
{
    struct spdy_encoder *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    if (deflateInit(&e->zout, Z_DEFAULT_COMPRESSION) != Z_OK) {
        free(e);
        return NULL;
    }
    if (deflateSetDictionary(&e->zout, spdy_dictionary, SPDY_DICTIONARY_LEN) != Z_OK) {
        deflateEnd(&e->zout);
        free(e);
        return NULL;
    }
    return e;
}

void spdy_encoder_free(struct spdy_encoder *e)
{
    if (e == NULL)
        return;
    deflateEnd(&e->zout);
    free(e);
}

/* Append head (hlen bytes) and body as one frame, or nothing. */
static int add_frame(struct evbuffer *out, const unsigned char *head, size_t hlen, const void *body,
                     size_t blen)
{
    /* Reserve first, so the second add cannot fail after the first succeeded. */
    if (evbuffer_expand(out, hlen + blen) != 0)
        return -1;
    if (evbuffer_add(out, head, hlen) != 0)
        return -1;
    if (blen > 0 && evbuffer_add(out, body, blen) != 0)
        return -1;
    return 0;
}

/* Serialise headers into a raw name/value block (malloc'd into *raw). */
static int build_block(const struct spdy_header *h, size_t n, unsigned char **raw, size_t *rawlen,
                       char *err, size_t errlen)
{
    *raw = NULL;
    if (n > SPDY_MAX_HEADERS) {
        set_err(err, errlen, "spdy: %zu headers past cap %d", n, SPDY_MAX_HEADERS);
        return -1;
    }
    size_t total = 4;
    for (size_t i = 0; i < n; i++) {
        if (h[i].name == NULL || h[i].name_len == 0 || (h[i].value == NULL && h[i].value_len)) {
            set_err(err, errlen, "spdy: header %zu has an empty name or no value", i + 1);
            return -1;
        }
        for (size_t j = 0; j < h[i].name_len; j++)
            if (h[i].name[j] >= 'A' && h[i].name[j] <= 'Z') {
                set_err(err, errlen, "spdy: header name \"%.*s\" is not lower case",
                        (int)(h[i].name_len > 64 ? 64 : h[i].name_len), h[i].name);
                return -1;
            }
        if (h[i].name_len > SPDY_MAX_HEADER_BLOCK || h[i].value_len > SPDY_MAX_HEADER_BLOCK ||
            (total += 8 + h[i].name_len + h[i].value_len) > SPDY_MAX_HEADER_BLOCK) {
            set_err(err, errlen, "spdy: header block past cap %u bytes",
                    (unsigned)SPDY_MAX_HEADER_BLOCK);
            return -1;
        }
    }
    unsigned char *b = malloc(total);
    if (b == NULL) {
        set_err(err, errlen, "spdy: out of memory for a header block");
        return -1;
    }
    size_t at = 0;
    put32(b, (uint32_t)n);
    at += 4;
    for (size_t i = 0; i < n; i++) {
        put32(b + at, (uint32_t)h[i].name_len);
        at += 4;
        memcpy(b + at, h[i].name, h[i].name_len);
        at += h[i].name_len;
        put32(b + at, (uint32_t)h[i].value_len);
        at += 4;
        if (h[i].value_len > 0)
            memcpy(b + at, h[i].value, h[i].value_len);
        at += h[i].value_len;
    }
    *raw = b;
    *rawlen = total;
    return 0;
}

/* Write a frame whose payload is fixed (fixed_len bytes) + the compressed header block. */
static int write_header_frame(struct spdy_encoder *e, struct evbuffer *out, uint16_t type,
                              uint8_t flags, const unsigned char *fixed, size_t fixed_len,
                              const struct spdy_header *h, size_t n, char *err, size_t errlen)
{
    unsigned char *raw = NULL;
    unsigned char *z = NULL;
    size_t rawlen = 0;
    int rc = -1;
    if (e->dead) {
        set_err(err, errlen, "spdy: header compressor is out of step after an earlier failure");
        goto out;
    }
    if (build_block(h, n, &raw, &rawlen, err, errlen) != 0)
        goto out;
    /* deflateBound does not count the sync flush marker: leave room for it and a spare. */
    size_t zcap = SPDY_FRAME_HEAD + fixed_len + deflateBound(&e->zout, (uLong)rawlen) + 64;
    z = malloc(zcap);
    if (z == NULL) {
        set_err(err, errlen, "spdy: out of memory for a header block");
        goto out;
    }
    size_t at = SPDY_FRAME_HEAD + fixed_len;
    e->zout.next_in = raw;
    e->zout.avail_in = (uInt)rawlen;
    e->zout.next_out = z + at;
    e->zout.avail_out = (uInt)(zcap - at);
    int r = deflate(&e->zout, Z_SYNC_FLUSH);
    if (r != Z_OK || e->zout.avail_in != 0 || e->zout.avail_out == 0) {
        /* avail_out == 0 could mean output held back: the stream is no longer trustworthy. */
        e->dead = 1;
        set_err(err, errlen, "spdy: header compression failed (zlib: %d)", r);
        goto out;
    }
    size_t payload = zcap - e->zout.avail_out - SPDY_FRAME_HEAD;
    put_control_head(z, type, flags, (uint32_t)payload);
    memcpy(z + SPDY_FRAME_HEAD, fixed, fixed_len);
    if (add_frame(out, z, SPDY_FRAME_HEAD + payload, NULL, 0) != 0) {
        e->dead = 1;
        set_err(err, errlen, "spdy: out of memory for a frame");
        goto out;
    }
    rc = 0;
out:
    free(raw);
    free(z);
    return rc;
}

static int check_id(uint32_t id, char *err, size_t errlen)
{
    if (id == 0 || id > SPDY_MAX_STREAM_ID) {
        set_err(err, errlen, "spdy: stream id %lu out of range", (unsigned long)id);
        return -1;
    }
    return 0;
}

int spdy_write_syn_reply(struct spdy_encoder *e, struct evbuffer *out, uint32_t stream_id,
                         uint8_t flags, const struct spdy_header *headers, size_t nheaders,
                         char *err, size_t errlen)
{
    unsigned char fixed[4];
    if (check_id(stream_id, err, errlen) != 0)
        return -1;
    put32(fixed, stream_id);
    return write_header_frame(e, out, SPDY_SYN_REPLY, flags, fixed, sizeof(fixed), headers,
                              nheaders, err, errlen);
}

int spdy_write_syn_stream(struct spdy_encoder *e, struct evbuffer *out, uint32_t stream_id,
                          uint32_t assoc_id, uint8_t priority, uint8_t flags,
                          const struct spdy_header *headers, size_t nheaders, char *err,
                          size_t errlen)
{
    unsigned char fixed[10];
    if (check_id(stream_id, err, errlen) != 0)
        return -1;
    if (assoc_id > SPDY_MAX_STREAM_ID || priority > 7) {
        set_err(err, errlen, "spdy: associated id or priority out of range");
        return -1;
    }
    put32(fixed, stream_id);
    put32(fixed + 4, assoc_id);
    fixed[8] = (unsigned char)(priority << 5);
    fixed[9] = 0;
    return write_header_frame(e, out, SPDY_SYN_STREAM, flags, fixed, sizeof(fixed), headers,
                              nheaders, err, errlen);
}

int spdy_write_headers(struct spdy_encoder *e, struct evbuffer *out, uint32_t stream_id,
                       uint8_t flags, const struct spdy_header *headers, size_t nheaders, char *err,
                       size_t errlen)
{
    unsigned char fixed[4];
    if (check_id(stream_id, err, errlen) != 0)
        return -1;
    put32(fixed, stream_id);
    return write_header_frame(e, out, SPDY_HEADERS, flags, fixed, sizeof(fixed), headers, nheaders,
                              err, errlen);
}

int spdy_write_data(struct evbuffer *out, uint32_t stream_id, uint8_t flags, const void *data,
                    size_t len)
{
    unsigned char h[SPDY_FRAME_HEAD];
    if (stream_id == 0 || stream_id > SPDY_MAX_STREAM_ID || len > SPDY_MAX_LENGTH ||
        (data == NULL && len > 0))
        return -1;
    put32(h, stream_id);
    put32(h + 4, (uint32_t)len);
    h[4] = flags;
    return add_frame(out, h, sizeof(h), data, len);
}

/* A control frame with an 8-byte body of two 32-bit words. */
static int write_two_words(struct evbuffer *out, uint16_t type, uint32_t a, uint32_t b)
{
    unsigned char f[SPDY_FRAME_HEAD + 8];
    put_control_head(f, type, 0, 8);
    put32(f + 8, a);
    put32(f + 12, b);
    return add_frame(out, f, sizeof(f), NULL, 0);
}

int spdy_write_rst_stream(struct evbuffer *out, uint32_t stream_id, uint32_t status)
{
    if (stream_id == 0 || stream_id > SPDY_MAX_STREAM_ID || status == 0)
        return -1;
    return write_two_words(out, SPDY_RST_STREAM, stream_id, status);
}

int spdy_write_goaway(struct evbuffer *out, uint32_t last_good_id, uint32_t status)
{
    if (last_good_id > SPDY_MAX_STREAM_ID)
        return -1;
    return write_two_words(out, SPDY_GOAWAY, last_good_id, status);
}

int spdy_write_window_update(struct evbuffer *out, uint32_t stream_id, uint32_t delta)
{
    if (stream_id > SPDY_MAX_STREAM_ID || delta == 0 || delta > SPDY_MAX_STREAM_ID)
        return -1;
    return write_two_words(out, SPDY_WINDOW_UPDATE, stream_id, delta);
}

int spdy_write_ping(struct evbuffer *out, uint32_t id)
{
    unsigned char f[SPDY_FRAME_HEAD + 4];
    put_control_head(f, SPDY_PING, 0, 4);
    put32(f + 8, id);
    return add_frame(out, f, sizeof(f), NULL, 0);
}

int spdy_write_settings(struct evbuffer *out, uint8_t flags, const struct spdy_setting *settings,
                        size_t n)
{
    unsigned char f[SPDY_FRAME_HEAD + 4 + 8 * SPDY_MAX_SETTINGS];
    if (n > SPDY_MAX_SETTINGS || (settings == NULL && n > 0))
        return -1;
    put_control_head(f, SPDY_SETTINGS, flags, (uint32_t)(4 + 8 * n));
    put32(f + 8, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = f + 12 + 8 * i;
        if (settings[i].id > 0xffffff)
            return -1;
        put32(e, settings[i].id);
        e[0] = settings[i].flags;
        put32(e + 4, settings[i].value);
    }
    return add_frame(out, f, 12 + 8 * n, NULL, 0);
}
