/* ws.c -- WebSocket (RFC 6455) codec: the upgrade handshake, an incremental client-frame parser,
 * server-frame writers. Pure: no sockets, no event loop.
 *
 * Hand-written rather than Debian's libwslay (which would parse and write valid frames well):
 * kubefault must also emit frames that are wrong on purpose -- split into odd fragments, with
 * bad opcodes or RSV bits, oversized control frames, a missing close -- and a fault layer needs
 * byte control over every head it writes. That is ws_frame_head() and ws_write_frame(), and the
 * whole codec stays small enough to read in one sitting. */
#include "mockapi/stream/ws.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define GUID_LEN (sizeof(WS_GUID) - 1)
#define KEY_B64_LEN 24 /* base64 of 16 bytes, "==" padded */

/* ---- small helpers ---- */

static void set_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, WS_ERR_BYTES, fmt, ap);
    va_end(ap);
}

/* A bounded, printable copy of client text for error messages (non-printables as '.'). */
static const char *snippet(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 4 < len; i++)
        buf[i] = isprint((unsigned char)s[i]) ? s[i] : '.';
    if (s[i] != '\0' && i >= 3) {
        buf[i - 3] = buf[i - 2] = buf[i - 1] = '.';
    }
    buf[i] = '\0';
    return buf;
}

/* Whether the comma-separated list has token, blanks around items ignored. Header tokens compare
 * case-insensitively; subprotocols exactly (RFC 6455 §4.1 compares them as strings). */
static int list_has(const char *list, const char *token, int nocase)
{
    size_t tlen = strlen(token);
    const char *p = list;
    while (tlen > 0 && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == tlen &&
            (nocase ? strncasecmp(start, token, tlen) : strncmp(start, token, tlen)) == 0)
            return 1;
    }
    return 0;
}

static int key_valid(const char *key)
{
    if (strlen(key) != KEY_B64_LEN || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!isalnum((unsigned char)key[i]) && key[i] != '+' && key[i] != '/')
            return 0;
    return 1;
}

/* ---- handshake ---- */

int ws_accept_key(const char *key, char out[WS_ACCEPT_BYTES])
{
    unsigned char buf[WS_MAX_KEY_BYTES + GUID_LEN];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t klen = strlen(key);

    if (klen > WS_MAX_KEY_BYTES)
        return -1;
    memcpy(buf, key, klen);
    memcpy(buf + klen, WS_GUID, GUID_LEN);
    if (EVP_Digest(buf, klen + GUID_LEN, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return -1;
    /* 20 bytes encode to exactly 28 characters plus the NUL EVP_EncodeBlock writes */
    EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
    return 0;
}

int ws_handshake(const struct ws_handshake *req, const char *const *prefs, struct ws_accept *out)
{
    char sn[WS_MAX_PROTOCOL_BYTES];

    memset(out, 0, sizeof(*out));
    out->code = 400;
    if (req->method != NULL && strcmp(req->method, "GET") != 0) {
        set_err(out->err, "ws: method \"%s\" cannot upgrade (expected: GET)",
                snippet(req->method, sn, sizeof(sn)));
        return -1;
    }
    if (req->upgrade == NULL || !list_has(req->upgrade, "websocket", 1)) {
        set_err(out->err, "ws: Upgrade header does not list \"websocket\"");
        return -1;
    }
    if (req->connection == NULL || !list_has(req->connection, "upgrade", 1)) {
        set_err(out->err, "ws: Connection header does not list \"upgrade\"");
        return -1;
    }
    if (req->version == NULL || strcmp(req->version, "13") != 0) {
        out->code = 426;
        if (req->version == NULL)
            set_err(out->err, "ws: missing Sec-WebSocket-Version (expected: 13)");
        else
            set_err(out->err, "ws: unsupported Sec-WebSocket-Version \"%s\" (expected: 13)",
                    snippet(req->version, sn, sizeof(sn)));
        return -1;
    }
    if (req->key == NULL || req->key[0] == '\0') {
        set_err(out->err, "ws: missing Sec-WebSocket-Key");
        return -1;
    }
    if (!key_valid(req->key)) {
        set_err(out->err, "ws: Sec-WebSocket-Key \"%s\" is not 16 bytes of base64",
                snippet(req->key, sn, sizeof(sn)));
        return -1;
    }

    const char *list = req->protocol != NULL ? req->protocol : "";
    int none_offered = strspn(list, " \t,") == strlen(list);
    for (size_t i = 0; prefs != NULL && prefs[i] != NULL && out->protocol == NULL; i++) {
        if (prefs[i][0] == '\0' ? none_offered : list_has(list, prefs[i], 0))
            out->protocol = prefs[i];
    }
    if (out->protocol == NULL) {
        char known[WS_ERR_BYTES / 2] = "";
        size_t used = 0;
        for (size_t i = 0; prefs != NULL && prefs[i] != NULL && used < sizeof(known); i++) {
            int n =
                snprintf(known + used, sizeof(known) - used, "%s\"%s\"", i ? ", " : "", prefs[i]);
            if (n < 0)
                break;
            used += (size_t)n;
        }
        if (none_offered)
            set_err(out->err, "ws: no subprotocol offered (known: %s)", known);
        else
            set_err(out->err, "ws: no acceptable subprotocol in \"%s\" (known: %s)",
                    snippet(list, sn, sizeof(sn)), known);
        return -1;
    }
    if (ws_accept_key(req->key, out->accept) != 0) {
        out->code = 500;
        set_err(out->err, "ws: cannot compute Sec-WebSocket-Accept");
        out->protocol = NULL;
        return -1;
    }
    out->code = 101;
    return 0;
}

int ws_handshake_response(const struct ws_accept *a, char *buf, size_t len)
{
    int n;
    if (a->protocol != NULL && a->protocol[0] != '\0')
        n = snprintf(buf, len,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n\r\n",
                     a->accept, a->protocol);
    else
        n = snprintf(buf, len,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     a->accept);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return n;
}

/* ---- parser ---- */

struct ws_parser {
    ws_message_cb cb;
    void *arg;
    size_t max_message;

    unsigned char head[WS_MAX_HEAD_BYTES];
    size_t head_have; /* bytes of the current head collected */
    size_t head_need; /* 2 until the second byte tells the whole head's length */
    int in_payload;   /* collecting the payload of the frame whose head is complete */
    unsigned first;   /* FIN | RSV | opcode of the current frame */
    uint64_t remaining;
    unsigned char mask[4];
    size_t mask_pos;

    int msg_opcode; /* opcode of the data message being reassembled, 0 when none */
    unsigned msg_frames;
    unsigned char *msg;
    size_t msg_len, msg_cap;

    unsigned char ctl[WS_MAX_CONTROL_PAYLOAD];
    size_t ctl_len;

    int closed;
    int dead;
    int err_code;
    char err[WS_ERR_BYTES];
};

struct ws_parser *ws_parser_new(size_t max_message, ws_message_cb cb, void *arg)
{
    struct ws_parser *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->cb = cb;
    p->arg = arg;
    p->max_message = max_message ? max_message : WS_MAX_MESSAGE_BYTES;
    p->head_need = 2;
    return p;
}

void ws_parser_free(struct ws_parser *p)
{
    if (p == NULL)
        return;
    free(p->msg);
    free(p);
}

const char *ws_parser_error(const struct ws_parser *p)
{
    return p->err;
}

int ws_parser_error_code(const struct ws_parser *p)
{
    return p->err_code;
}

int ws_parser_closed(const struct ws_parser *p)
{
    return p->closed;
}

size_t ws_parser_buffered(const struct ws_parser *p)
{
    return p->msg_len;
}

static int fail(struct ws_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ws_parser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    p->err_code = code;
    p->dead = 1;
    return -1;
}

static int is_control(unsigned opcode)
{
    return (opcode & 0x8) != 0;
}

static const char *op_name(unsigned opcode)
{
    switch (opcode) {
    case WS_OP_CONTINUATION:
        return "continuation";
    case WS_OP_TEXT:
        return "text";
    case WS_OP_BINARY:
        return "binary";
    case WS_OP_CLOSE:
        return "close";
    case WS_OP_PING:
        return "ping";
    case WS_OP_PONG:
        return "pong";
    }
    return "unknown";
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t more;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return 0;
        }
        if (n - i - 1 < more)
            return 0;
        for (size_t k = 1; k <= more; k++) {
            unsigned b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
                return 0;
        }
        i += more + 1;
    }
    return 1;
}

static int close_code_valid(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Check what the first two bytes say, as soon as they are in. */
static int check_start(struct ws_parser *p)
{
    unsigned b0 = p->head[0], b1 = p->head[1];
    unsigned opcode = b0 & WS_OPCODE_MASK;
    unsigned len7 = b1 & 0x7F;

    if (p->closed)
        return fail(p, WS_CLOSE_PROTOCOL, "ws: %s frame after close", op_name(opcode));
    if (b0 & WS_RSV_MASK)
        return fail(p, WS_CLOSE_PROTOCOL,
                    "ws: reserved bits 0x%02x set without a negotiated extension",
                    b0 & WS_RSV_MASK);
    if (opcode > WS_OP_BINARY && opcode != WS_OP_CLOSE && opcode != WS_OP_PING &&
        opcode != WS_OP_PONG)
        return fail(p, WS_CLOSE_PROTOCOL, "ws: unknown opcode 0x%x", opcode);
    if (!(b1 & 0x80))
        return fail(p, WS_CLOSE_PROTOCOL, "ws: unmasked %s frame from the client", op_name(opcode));
    if (is_control(opcode)) {
        if (!(b0 & WS_FIN))
            return fail(p, WS_CLOSE_PROTOCOL, "ws: fragmented %s frame", op_name(opcode));
        if (len7 > WS_MAX_CONTROL_PAYLOAD)
            return fail(p, WS_CLOSE_PROTOCOL, "ws: %s frame longer than %d bytes", op_name(opcode),
                        WS_MAX_CONTROL_PAYLOAD);
    } else if (opcode == WS_OP_CONTINUATION && p->msg_opcode == 0) {
        return fail(p, WS_CLOSE_PROTOCOL, "ws: continuation frame without a message to continue");
    } else if (opcode != WS_OP_CONTINUATION && p->msg_opcode != 0) {
        return fail(p, WS_CLOSE_PROTOCOL, "ws: %s frame inside a fragmented %s message",
                    op_name(opcode), op_name((unsigned)p->msg_opcode));
    }
    p->head_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
    return 0;
}

/* The whole head is in: take the length and mask, make room for the payload. */
static int start_payload(struct ws_parser *p)
{
    unsigned opcode = p->head[0] & WS_OPCODE_MASK;
    unsigned len7 = p->head[1] & 0x7F;
    uint64_t len = len7;
    size_t at = 2;

    if (len7 == 126) {
        len = ((uint64_t)p->head[2] << 8) | p->head[3];
        at = 4;
    } else if (len7 == 127) {
        len = 0;
        for (size_t i = 0; i < 8; i++)
            len = (len << 8) | p->head[2 + i];
        at = 10;
        if (len >> 63)
            return fail(p, WS_CLOSE_PROTOCOL, "ws: 64-bit frame length has its high bit set");
    }
    memcpy(p->mask, p->head + at, 4);
    p->mask_pos = 0;
    p->first = p->head[0];
    p->remaining = len;
    p->in_payload = 1;
    p->head_have = 0;
    p->head_need = 2;

    if (is_control(opcode)) {
        p->ctl_len = 0;
        return 0;
    }
    if (len > p->max_message || p->msg_len > p->max_message - len)
        return fail(p, WS_CLOSE_TOO_BIG, "ws: message of %llu bytes exceeds the cap of %zu bytes",
                    (unsigned long long)(p->msg_len + len), p->max_message);
    if (opcode != WS_OP_CONTINUATION) {
        p->msg_opcode = (int)opcode;
        p->msg_frames = 0;
    }
    p->msg_frames++;
    size_t want = p->msg_len + (size_t)len;
    if (want > p->msg_cap) {
        /* grow by doubling, never past the cap, so a stream of small frames stays cheap */
        size_t cap = p->msg_cap ? p->msg_cap : 256;
        while (cap < want)
            cap = cap > p->max_message / 2 ? p->max_message : cap * 2;
        unsigned char *grown = realloc(p->msg, cap);
        if (grown == NULL)
            return fail(p, WS_CLOSE_INTERNAL, "ws: out of memory for a %zu-byte message", want);
        p->msg = grown;
        p->msg_cap = cap;
    }
    return 0;
}

static int deliver(struct ws_parser *p, int opcode, const unsigned char *data, size_t len,
                   unsigned frames, int close_code)
{
    struct ws_message m = {opcode, data != NULL ? data : (const unsigned char *)"", len, frames,
                           close_code};
    return p->cb != NULL ? p->cb(p->arg, &m) : 0;
}

/* The payload is complete. Returns 0, 1 when the callback asked to stop, -1 on error. */
static int end_frame(struct ws_parser *p)
{
    unsigned opcode = p->first & WS_OPCODE_MASK;
    p->in_payload = 0;

    if (opcode == WS_OP_CLOSE) {
        int code = WS_CLOSE_NO_STATUS;
        if (p->ctl_len == 1)
            return fail(p, WS_CLOSE_PROTOCOL, "ws: close frame with a 1-byte payload");
        if (p->ctl_len >= 2) {
            code = (p->ctl[0] << 8) | p->ctl[1];
            if (!close_code_valid((unsigned)code))
                return fail(p, WS_CLOSE_PROTOCOL, "ws: invalid close code %d", code);
            if (!utf8_valid(p->ctl + 2, p->ctl_len - 2))
                return fail(p, WS_CLOSE_BAD_DATA, "ws: close reason is not valid UTF-8");
        }
        p->closed = 1;
        return deliver(p, WS_OP_CLOSE, p->ctl + (p->ctl_len >= 2 ? 2 : 0),
                       p->ctl_len >= 2 ? p->ctl_len - 2 : 0, 1, code)
                   ? 1
                   : 0;
    }
    if (is_control(opcode))
        return deliver(p, (int)opcode, p->ctl, p->ctl_len, 1, 0) ? 1 : 0;
    if (!(p->first & WS_FIN))
        return 0;
    int mop = p->msg_opcode;
    size_t mlen = p->msg_len;
    unsigned frames = p->msg_frames;
    p->msg_opcode = 0;
    p->msg_len = 0;
    p->msg_frames = 0;
    if (mop == WS_OP_TEXT && !utf8_valid(p->msg, mlen))
        return fail(p, WS_CLOSE_BAD_DATA, "ws: text message is not valid UTF-8");
    return deliver(p, mop, p->msg, mlen, frames, 0) ? 1 : 0;
}

int ws_parser_feed(struct ws_parser *p, const void *data, size_t len, size_t *consumed)
{
    const unsigned char *in = data;
    size_t i = 0;
    int rc = 0;

    while (!p->dead && rc == 0 && i < len) {
        if (!p->in_payload) {
            while (i < len && p->head_have < p->head_need)
                p->head[p->head_have++] = in[i++];
            if (p->head_have < p->head_need)
                break;
            if (p->head_have == 2 && check_start(p) != 0)
                break;
            if (p->head_have < p->head_need)
                continue;
            if (start_payload(p) != 0)
                break;
        } else {
            unsigned opcode = p->first & WS_OPCODE_MASK;
            size_t n = len - i;
            if ((uint64_t)n > p->remaining)
                n = (size_t)p->remaining;
            unsigned char *dst = is_control(opcode) ? p->ctl + p->ctl_len : p->msg + p->msg_len;
            for (size_t k = 0; k < n; k++)
                dst[k] = in[i + k] ^ p->mask[(p->mask_pos + k) & 3];
            p->mask_pos = (p->mask_pos + n) & 3;
            if (is_control(opcode))
                p->ctl_len += n;
            else
                p->msg_len += n;
            p->remaining -= n;
            i += n;
        }
        /* a zero-length frame ends as soon as its head is in */
        if (p->in_payload && p->remaining == 0)
            rc = end_frame(p);
    }
    if (consumed != NULL)
        *consumed = i;
    return p->dead ? -1 : rc;
}

/* ---- writers ---- */

size_t ws_frame_head(unsigned char out[WS_MAX_HEAD_BYTES], unsigned first, uint64_t len,
                     const unsigned char *mask)
{
    size_t n = 2;
    unsigned char m = mask != NULL ? 0x80 : 0;

    out[0] = (unsigned char)first;
    if (len <= WS_MAX_CONTROL_PAYLOAD) {
        out[1] = m | (unsigned char)len;
    } else if (len <= 0xFFFF) {
        out[1] = m | 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        n = 4;
    } else {
        out[1] = m | 127;
        for (size_t i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask != NULL) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

int ws_write_frame(ws_write_cb write, void *arg, unsigned first, const void *data, size_t len)
{
    unsigned char head[WS_MAX_HEAD_BYTES];
    size_t n = ws_frame_head(head, first, len, NULL);
    if (write(arg, head, n) != 0)
        return -1;
    return len > 0 ? write(arg, data, len) : 0;
}

int ws_write_message(ws_write_cb write, void *arg, int opcode, const void *data, size_t len,
                     size_t frag)
{
    const unsigned char *p = data;
    unsigned op = (unsigned)opcode;

    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY)
        return -1;
    if (frag == 0 || frag >= len)
        return ws_write_frame(write, arg, WS_FIN | op, data, len);
    for (size_t off = 0; off < len; off += frag) {
        size_t n = len - off < frag ? len - off : frag;
        unsigned fin = off + n == len ? WS_FIN : 0;
        if (ws_write_frame(write, arg, fin | op, p + off, n) != 0)
            return -1;
        op = WS_OP_CONTINUATION;
    }
    return 0;
}

int ws_write_ping(ws_write_cb write, void *arg, const void *data, size_t len)
{
    if (len > WS_MAX_CONTROL_PAYLOAD)
        return -1;
    return ws_write_frame(write, arg, WS_FIN | WS_OP_PING, data, len);
}

int ws_write_pong(ws_write_cb write, void *arg, const void *data, size_t len)
{
    if (len > WS_MAX_CONTROL_PAYLOAD)
        return -1;
    return ws_write_frame(write, arg, WS_FIN | WS_OP_PONG, data, len);
}

int ws_write_close(ws_write_cb write, void *arg, int code, const char *reason)
{
    unsigned char payload[WS_MAX_CONTROL_PAYLOAD];
    size_t rlen = reason != NULL ? strlen(reason) : 0;

    if (rlen > WS_MAX_CLOSE_REASON)
        return -1;
    if (code == 0)
        return ws_write_frame(write, arg, WS_FIN | WS_OP_CLOSE, NULL, 0);
    payload[0] = (unsigned char)((unsigned)code >> 8);
    payload[1] = (unsigned char)code;
    if (rlen > 0)
        memcpy(payload + 2, reason, rlen);
    return ws_write_frame(write, arg, WS_FIN | WS_OP_CLOSE, payload, 2 + rlen);
}

int ws_k8s_channel_frame(ws_write_cb write, void *arg, unsigned char channel, const void *data,
                         size_t len)
{
    unsigned char head[WS_MAX_HEAD_BYTES + 1];
    size_t n = ws_frame_head(head, WS_FIN | WS_OP_BINARY, (uint64_t)len + 1, NULL);
    head[n++] = channel;
    if (write(arg, head, n) != 0)
        return -1;
    return len > 0 ? write(arg, data, len) : 0;
}
