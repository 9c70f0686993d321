/* fuzz_ws.c -- libFuzzer target: WebSocket (RFC 6455) client frames and the upgrade handshake
 * (mockapi/stream/ws.c), what kubectl, client-go and browsers send to exec/attach.
 *
 * Input: byte 0 is the mode, byte 1 a parameter, the rest the payload.
 *   mode bit 0 set:  the handshake: the payload's lines are Method, Upgrade, Connection,
 *                    Sec-WebSocket-Key, Sec-WebSocket-Version and Sec-WebSocket-Protocol (a missing
 *                    line is an absent header), checked against the server's subprotocols.
 *   mode bit 0 clear: frames, with a message cap picked by bits 1-2 (the default, 0, 125 or 4096
 *                    bytes); the callback stops the parser at message byte 1 when bit 3 is set.
 * Checks (frames): fed whole and fed in pieces of (byte 1 % 7) + 1 bytes, the parser hands over the
 * same messages and ends the same way; text messages it accepts are valid UTF-8 as it promises. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi/stream/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_WS_FIELDS 6

/* ---- the handshake ---- */

static void handshake(const uint8_t *p, size_t n)
{
    static const char *const prefs[] = {WS_PROTO_K8S_V5,     WS_PROTO_K8S_V4,     WS_PROTO_K8S_V1,
                                        WS_PROTO_K8S_V4_B64, WS_PROTO_K8S_V1_B64, NULL};
    static const char *const prefs_none[] = {WS_PROTO_K8S_V5, "", NULL};
    char *text = malloc(n + 1);
    char *field[FZ_WS_FIELDS] = {NULL};
    if (!text)
        abort();
    memcpy(text, p, n);
    text[n] = '\0';
    char *s = text;
    for (int i = 0; i < FZ_WS_FIELDS && s; i++) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        field[i] = s;
        s = nl ? nl + 1 : NULL;
    }
    struct ws_handshake h = {field[0], field[1], field[2], field[3], field[4], field[5]};
    for (int round = 0; round < 2; round++) {
        struct ws_accept a;
        char resp[1024];
        memset(&a, 0, sizeof a);
        if (ws_handshake(&h, round ? prefs_none : prefs, &a) == 0) {
            if (strlen(a.accept) != WS_ACCEPT_BYTES - 1 ||
                ws_handshake_response(&a, resp, sizeof resp) < 0) {
                fprintf(stderr, "fuzz_ws: accepted handshake without a response\n");
                abort();
            }
        } else if (a.code != 400 && a.code != 426) {
            fprintf(stderr, "fuzz_ws: refused handshake with code %d\n", a.code);
            abort();
        }
    }
    char accept[WS_ACCEPT_BYTES];
    ws_accept_key(text, accept);
    free(text);
}

/* ---- frames ---- */

struct digest {
    uint64_t h;
    size_t messages;
    size_t stop_at; /* stop after this message (1-based); 0 never */
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 1099511628211ull;
}

/* 1 when p[0..n) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int on_message(void *arg, const struct ws_message *m)
{
    struct digest *d = arg;
    d->messages++;
    int head[3] = {m->opcode, (int)m->frames, m->close_code};
    mix(d, head, sizeof head);
    mix(d, &m->len, sizeof m->len);
    mix(d, m->data, m->len);
    if (m->opcode == WS_OP_TEXT && !utf8_ok(m->data, m->len)) {
        fprintf(stderr, "fuzz_ws: a text message that is not UTF-8 was accepted\n");
        abort();
    }
    if (m->opcode == WS_OP_CLOSE && m->len > WS_MAX_CLOSE_REASON) {
        fprintf(stderr, "fuzz_ws: a close reason of %zu bytes\n", m->len);
        abort();
    }
    return d->stop_at && d->messages == d->stop_at;
}

/* Feed p in pieces of step bytes until it is all taken, the callback stops or it fails. */
static int feed(const uint8_t *p, size_t n, size_t step, size_t max, struct digest *d, char *err,
                size_t errlen, int *code)
{
    struct ws_parser *ps = ws_parser_new(max, on_message, d);
    if (!ps)
        abort();
    int rc = 0;
    size_t at = 0;
    while (at < n && rc == 0) {
        size_t k = n - at < step ? n - at : step, used = k;
        rc = ws_parser_feed(ps, p + at, k, &used);
        at += rc == 1 ? used : k;
    }
    if (rc == 0 && n == 0)
        rc = ws_parser_feed(ps, p, 0, NULL);
    snprintf(err, errlen, "%s", ws_parser_error(ps));
    *code = ws_parser_error_code(ps);
    d->h ^= ws_parser_closed(ps);
    ws_parser_free(ps);
    return rc;
}

static void frames(uint8_t mode, uint8_t param, const uint8_t *p, size_t n)
{
    static const size_t caps[4] = {0, 1, WS_MAX_CONTROL_PAYLOAD, 4096};
    size_t max = caps[(mode >> 1) & 3];
    size_t stop = (mode & 8) ? param : 0;
    char err1[WS_ERR_BYTES], err2[WS_ERR_BYTES];
    int code1, code2;
    struct digest whole = {14695981039346656037ull, 0, stop};
    struct digest parts = {14695981039346656037ull, 0, stop};
    int rc1 = feed(p, n, n ? n : 1, max, &whole, err1, sizeof err1, &code1);
    int rc2 = feed(p, n, (size_t)(param % 7) + 1, max, &parts, err2, sizeof err2, &code2);
    if (rc1 != rc2 || whole.messages != parts.messages || whole.h != parts.h ||
        strcmp(err1, err2) != 0 || code1 != code2) {
        fprintf(stderr,
                "fuzz_ws: fed whole: %d, %zu messages, \"%s\"; in pieces of %d: %d, %zu "
                "messages, \"%s\"\n",
                rc1, whole.messages, err1, param % 7 + 1, rc2, parts.messages, err2);
        abort();
    }
    if (rc1 < 0 &&
        (code1 != WS_CLOSE_PROTOCOL && code1 != WS_CLOSE_BAD_DATA && code1 != WS_CLOSE_TOO_BIG)) {
        fprintf(stderr, "fuzz_ws: error \"%s\" with close code %d\n", err1, code1);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (data[0] & 1)
        handshake(data + 2, size - 2);
    else
        frames(data[0], data[1], data + 2, size - 2);
    return 0;
}
