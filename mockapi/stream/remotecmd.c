/* remotecmd.c -- exec/attach transports: a remote-command session carried over WebSocket channel
 * frames or SPDY/3.1 streams (facts: shared/docs/reference/streaming.md §1.3 and §2) */
#include "mockapi/stream/remotecmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "mockapi/base/log.h"
#include "mockapi/stream/spdy.h"
#include "mockapi/stream/ws.h"

#define REMOTECMD_MAX_INPUT (8u * 1024u * 1024u) /**< bytes taken from the socket in one turn */

/* Every transport's state shares this head: the connection, the session, and the rule that keeps
 * it alive while its own code is on the stack (busy): the close callback only marks it gone then,
 * and the outermost caller frees it (conn.h: a failed write may run the close callback at once). */
struct xport {
    struct conn *c;
    struct rcs_session *s;
    int busy;
    int gone; /* the connection went away: free, never touch c */
    int done; /* the session is over: close the connection, then free */
    int cut;  /* ended for output left unread (xport_over) */
    size_t max_pending;
    void (*release)(struct xport *x);
};

static void xport_free(struct xport *x)
{
    rcs_free(x->s);
    x->release(x);
}

static void on_conn_close(void *arg, struct conn *c)
{
    (void)c;
    struct xport *x = arg;
    x->gone = 1;
    if (!x->busy)
        xport_free(x);
}

/* The session is over: free the transport and close the connection once what is written has gone
 * out, now or when the transport's own code leaves. */
static void xport_end(struct xport *x)
{
    x->done = 1;
    if (x->busy || x->gone)
        return;
    struct conn *c = x->c;
    conn_set_close_cb(c, NULL, NULL);
    xport_free(x);
    conn_close(c);
}

/* The abort fault: end the connection with no protocol goodbye (no WebSocket close frame, no SPDY
 * FIN or GOAWAY). */
static int xport_sink_abort(void *arg)
{
    xport_end(arg); /* every transport's sink arg starts with its struct xport */
    return 0;
}

/* Before each write: has the client left more than max_pending bytes unread? Then (once) the
 * Failure Status that ends the session goes into status and its length is returned; else 0. The
 * output already queued stays queued: a client that reads on gets it all, then the Status. */
static size_t xport_over(struct xport *x, char *status, size_t len)
{
    if (x->cut || x->gone)
        return 0;
    size_t pending = conn_pending_bytes(x->c);
    if (pending <= x->max_pending)
        return 0;
    x->cut = 1;
    char msg[256];
    snprintf(msg, sizeof msg,
             "kubefault: the client left %zu bytes of output unread, more than the %zu the fake "
             "holds for it: the session was ended",
             pending, x->max_pending);
    log_warn("exec from %s: %s", conn_peer(x->c), msg);
    int n = rcs_failure_json(msg, status, len);
    return n > 0 ? (size_t)n : 0;
}

/* Leave a section entered with x->busy++: free or close when that is due. */
static void xport_settle(struct xport *x)
{
    if (--x->busy > 0)
        return;
    if (x->gone) {
        xport_free(x);
        return;
    }
    if (x->done) {
        struct conn *c = x->c;
        conn_set_close_cb(c, NULL, NULL);
        xport_free(x);
        conn_close(c);
    }
}

/* Take what the socket holds into a buffer of our own: the frame callbacks may end the
 * connection (and its input buffer) while a parser still reads. NULL when there is nothing. */
static unsigned char *take_input(struct evbuffer *input, size_t *len)
{
    size_t n = evbuffer_get_length(input);
    if (n > REMOTECMD_MAX_INPUT)
        n = REMOTECMD_MAX_INPUT;
    *len = n;
    if (n == 0)
        return NULL;
    unsigned char *buf = malloc(n);
    if (!buf)
        return NULL;
    if (evbuffer_remove(input, buf, n) != (int)n) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* A program that never reached rcs_new: let it go. */
static void spec_release(const struct remotecmd_spec *spec)
{
    if (spec->prog && spec->prog->release)
        spec->prog->release(spec->prog->ctx);
    if (spec->opts->on_free)
        spec->opts->on_free(spec->opts->on_free_arg, NULL);
}

static int header_lists(const char *value, const char *token)
{
    size_t tl = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && p[m - 1] == ' ')
            m--;
        if (m == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p += n;
    }
    return 0;
}

int remotecmd_is_websocket(const struct http_request *req)
{
    return header_lists(http_request_header(req, "Upgrade"), "websocket");
}

int remotecmd_is_spdy(const struct http_request *req)
{
    return header_lists(http_request_header(req, "Upgrade"), "SPDY/3.1");
}

/* ---- WebSocket ---- */

struct ws_xport {
    struct xport x; /* first: the callbacks get a struct xport * */
    struct ws_parser *p;
    int v5;
    int v1;  /* channel.k8s.io / base64.channel.k8s.io: the error channel carries the message text
                of a Failure, nothing for Success (the kubelet's v1WriteStatusFunc) */
    int b64; /* the base64 variants: text messages, an ASCII channel digit, base64 payload */
    int sent_close;
    int started;            /* rcs_start was called */
    struct event *start_ev; /* v5: the delayed start (REMOTECMD_WS_V5_START_MS) */
};

static void ws_release(struct xport *x)
{
    struct ws_xport *w = (struct ws_xport *)x;
    if (w->start_ev)
        event_free(w->start_ev);
    ws_parser_free(w->p);
    free(w);
}

static int ws_out(void *arg, const void *data, size_t len)
{
    struct ws_xport *w = arg;
    if (w->x.gone)
        return -1;
    return conn_write_raw(w->x.c, data, len);
}

/* One channel message in the base64 variants: '0'+channel, then the payload in base64. */
static int ws_b64_frame(struct ws_xport *w, unsigned char channel, const void *data, size_t len)
{
    size_t n = 4 * ((len + 2) / 3);
    unsigned char *text = malloc(n + 2);
    if (!text)
        return -1;
    text[0] = (unsigned char)('0' + channel);
    int enc = len ? EVP_EncodeBlock(text + 1, data, (int)len) : 0;
    int r = ws_write_message(ws_out, w, WS_OP_TEXT, text, (size_t)enc + 1, 0);
    free(text);
    return r;
}

static int ws_sink_write(void *arg, enum rcs_stream stream, const void *data, size_t len);

/* The client left too much output unread: the Failure on the error channel, close 1008, the end
 * (busy: a failed write frees nothing under us). */
static int ws_cut(struct ws_xport *w, const char *status, size_t len)
{
    w->x.busy++;
    if (ws_sink_write(w, RCS_ERROR, status, len) == 0 && !w->x.gone && !w->sent_close) {
        w->sent_close = 1;
        ws_write_close(ws_out, w, WS_CLOSE_POLICY, "kubefault: client too slow");
    }
    w->x.done = 1;
    xport_settle(&w->x);
    return -1;
}

static int ws_sink_write(void *arg, enum rcs_stream stream, const void *data, size_t len)
{
    struct ws_xport *w = arg;
    char msg[RCS_MAX_STATUS_BYTES];
    size_t cut = xport_over(&w->x, msg, sizeof msg);
    if (cut)
        return ws_cut(w, msg, cut);
    if (stream == RCS_ERROR && w->v1) { /* the Status's message, or nothing for Success */
        cJSON *st = cJSON_ParseWithLength(data, len);
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "message");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(st, "status");
        len = 0;
        if (cJSON_IsString(status) && strcmp(status->valuestring, "Success") != 0 &&
            cJSON_IsString(m))
            len = (size_t)snprintf(msg, sizeof msg, "%s", m->valuestring);
        cJSON_Delete(st);
        if (len >= sizeof msg)
            len = sizeof msg - 1;
        if (len == 0)
            return 0;
        data = msg;
    }
    if (w->b64)
        return ws_b64_frame(w, (unsigned char)stream, data, len);
    return ws_k8s_channel_frame(ws_out, arg, (unsigned char)stream, data, len);
}

static int ws_sink_end(void *arg)
{
    struct ws_xport *w = arg;
    w->sent_close = 1;
    /* kubectl's stdout and stderr reach EOF only on close 1000; then we wait for its close */
    return ws_write_close(ws_out, w, WS_CLOSE_NORMAL, NULL);
}

/* Start the program once (see REMOTECMD_WS_V5_START_MS). */
static void ws_start(struct ws_xport *w)
{
    if (w->started || w->x.gone || w->x.done)
        return;
    w->started = 1;
    if (w->start_ev)
        evtimer_del(w->start_ev);
    rcs_start(w->x.s);
}

static void on_ws_start(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ws_xport *w = arg;
    w->x.busy++;
    ws_start(w);
    xport_settle(&w->x);
}

static int ws_on_message(void *arg, const struct ws_message *m)
{
    struct ws_xport *w = arg;
    if (m->opcode == WS_OP_TEXT || m->opcode == WS_OP_BINARY)
        ws_start(w); /* a client that sends has made its streams */
    switch (m->opcode) {
    case WS_OP_PING:
        if (w->sent_close || rcs_get_faults(w->x.s)->no_pong) /* nothing after our close */
            return 0;
        if (ws_write_pong(ws_out, w, m->data, m->len) < 0)
            return 1;
        return 0;
    case WS_OP_CLOSE:
        if (!w->sent_close) {
            w->sent_close = 1;
            if (ws_write_close(ws_out, w, WS_CLOSE_NORMAL, NULL) < 0)
                return 1;
        }
        w->x.done = 1;
        return 1;
    case WS_OP_TEXT: /* base64 variants: '0'..'4' then base64 */
        if (!w->b64 || m->len == 0)
            return 0;
        if (m->data[0] == '0' + WS_K8S_STDIN || m->data[0] == '0' + WS_K8S_RESIZE) {
            size_t n = m->len - 1;
            unsigned char *raw = malloc(3 * (n / 4) + 3);
            if (!raw)
                return 0;
            int dec = n ? EVP_DecodeBlock(raw, m->data + 1, (int)n) : 0;
            if (dec > 0) { /* EVP_DecodeBlock counts the padding's zero bytes */
                if (m->data[m->len - 1] == '=')
                    dec--;
                if (n >= 2 && m->data[m->len - 2] == '=')
                    dec--;
                rcs_input(w->x.s, (enum rcs_stream)(m->data[0] - '0'), raw, (size_t)dec);
            }
            free(raw);
        }
        return 0;
    case WS_OP_BINARY:
        if (m->len == 0 || w->b64)
            return 0;
        if (m->data[0] == WS_K8S_CLOSE) {
            if (w->v5 && m->len >= 2 && m->data[1] == WS_K8S_STDIN)
                rcs_input(w->x.s, RCS_STDIN, NULL, 0);
            return 0;
        }
        if (m->data[0] == WS_K8S_STDIN || m->data[0] == WS_K8S_RESIZE)
            rcs_input(w->x.s, (enum rcs_stream)m->data[0], m->data + 1, m->len - 1);
        return 0;
    default:
        return 0;
    }
}

static void ws_on_upgraded(void *arg, struct conn *c, struct evbuffer *input)
{
    struct ws_xport *w = arg;
    w->x.busy++;
    size_t len;
    unsigned char *buf = take_input(input, &len);
    if (buf && !w->x.done) {
        int r = ws_parser_feed(w->p, buf, len, NULL);
        if (r < 0 && !w->x.gone) {
            /* the close carries the reason (1009: "ws: message of N bytes exceeds the cap of M
             * bytes"), cut to what a close frame holds */
            char reason[WS_MAX_CLOSE_REASON + 1];
            snprintf(reason, sizeof reason, "%s", ws_parser_error(w->p));
            log_info("exec from %s: websocket: %s", conn_peer(c), ws_parser_error(w->p));
            if (!w->sent_close) {
                w->sent_close = 1;
                ws_write_close(ws_out, w, ws_parser_error_code(w->p), reason);
            }
            w->x.done = 1;
        }
    }
    free(buf);
    xport_settle(&w->x);
}

void remotecmd_websocket(struct conn *c, struct http_request *req,
                         const struct remotecmd_spec *spec)
{
    static const char *const prefs[] = {WS_PROTO_K8S_V5, WS_PROTO_K8S_V4,     WS_PROTO_K8S_V4_B64,
                                        WS_PROTO_K8S_V1, WS_PROTO_K8S_V1_B64, NULL};
    struct ws_handshake hs = {
        .method = req->method,
        .upgrade = http_request_header(req, "Upgrade"),
        .connection = http_request_header(req, "Connection"),
        .key = http_request_header(req, "Sec-WebSocket-Key"),
        .version = http_request_header(req, "Sec-WebSocket-Version"),
        .protocol = http_request_header(req, "Sec-WebSocket-Protocol"),
    };
    struct ws_accept acc;
    if (ws_handshake(&hs, prefs, &acc) < 0) {
        static const char *const v13[] = {"Sec-WebSocket-Version", "13", NULL};
        char body[WS_ERR_BYTES + 1];
        int n = snprintf(body, sizeof body, "%s\n", acc.err);
        conn_respond(c, acc.code, HTTP_CT_TEXT, acc.code == 426 ? v13 : NULL, body,
                     n > 0 ? (size_t)n : 0);
        spec_release(spec);
        return;
    }
    char head[512];
    int hl = ws_handshake_response(&acc, head, sizeof head);
    struct ws_xport *w = calloc(1, sizeof *w);
    if (!w || hl < 0) {
        free(w);
        spec_release(spec);
        conn_respond(c, 500, HTTP_CT_TEXT, NULL, "out of memory\n", 14);
        return;
    }
    w->x.c = c;
    w->x.release = ws_release;
    w->x.max_pending = spec->max_pending ? spec->max_pending : REMOTECMD_MAX_PENDING_BYTES;
    w->v5 = strcmp(acc.protocol, WS_PROTO_K8S_V5) == 0;
    w->v1 = strcmp(acc.protocol, WS_PROTO_K8S_V1) == 0 ||
            strcmp(acc.protocol, WS_PROTO_K8S_V1_B64) == 0;
    w->b64 = strstr(acc.protocol, "base64") != NULL;
    struct rcs_sink sink = {ws_sink_write, ws_sink_end, xport_sink_abort, w};
    w->p = ws_parser_new(0, ws_on_message, w);
    w->x.s = rcs_new(spec->opts, &sink, spec->prog, spec->script, spec->faults);
    if (w->x.s && spec->created)
        spec->created(spec->created_arg, w->x.s);
    if (!w->p || !w->x.s) {
        rcs_free(w->x.s);
        ws_parser_free(w->p);
        free(w);
        conn_respond(c, 500, HTTP_CT_TEXT, NULL, "out of memory\n", 14);
        return;
    }
    conn_set_close_cb(c, on_conn_close, &w->x);
    w->x.busy++;
    if (conn_write_raw(c, head, (size_t)hl) == 0) {
        struct event_base *base = spec->opts->base;
        if (w->v5 && base && REMOTECMD_WS_V5_START_MS > 0)
            w->start_ev = evtimer_new(base, on_ws_start, w);
        conn_upgrade(c, ws_on_upgraded, w);
        struct timeval later = {0, REMOTECMD_WS_V5_START_MS * 1000};
        if (!w->started && (!w->start_ev || evtimer_add(w->start_ev, &later) < 0))
            ws_start(w); /* not v5, or the timer failed: at once */
    }
    xport_settle(&w->x);
}

/* ---- SPDY/3.1 ---- */

struct spdy_xport {
    struct xport x;
    struct spdy_parser *p;
    struct spdy_encoder *e;
    struct evbuffer *out;
    uint32_t sid[RCS_NSTREAMS]; /* the client's stream for each session stream, 0: not open */
    int want[RCS_NSTREAMS];
    int started;
};

static void spdy_release(struct xport *x)
{
    struct spdy_xport *s = (struct spdy_xport *)x;
    spdy_parser_free(s->p);
    spdy_encoder_free(s->e);
    if (s->out)
        evbuffer_free(s->out);
    free(s);
}

/* Move the frames written into s->out to the connection. */
static int spdy_flush(struct spdy_xport *s)
{
    size_t n = evbuffer_get_length(s->out);
    if (n == 0)
        return 0;
    if (s->x.gone)
        return -1;
    unsigned char *d = evbuffer_pullup(s->out, -1);
    int r = conn_write_raw(s->x.c, d, n);
    if (!s->x.gone)
        evbuffer_drain(s->out, n);
    return r;
}

/* The client left too much output unread: the Failure on the error stream, FIN on every stream,
 * the end (busy, as ws_cut). */
static int spdy_cut(struct spdy_xport *s, const char *status, size_t len);

static int spdy_sink_write(void *arg, enum rcs_stream stream, const void *data, size_t len)
{
    struct spdy_xport *s = arg;
    char status[RCS_MAX_STATUS_BYTES];
    size_t cut = xport_over(&s->x, status, sizeof status);
    if (cut)
        return spdy_cut(s, status, cut);
    if (!s->sid[stream])
        return 0; /* the client did not open it: the kubelet drops such output too */
    const unsigned char *p = data;
    while (len > 0) { /* client-go writes 32 KiB frames; stay well within the 24-bit length */
        size_t n = len > 32768 ? 32768 : len;
        if (spdy_write_data(s->out, s->sid[stream], 0, p, n) < 0)
            return -1;
        p += n;
        len -= n;
    }
    return spdy_flush(s);
}

static int spdy_sink_end(void *arg)
{
    struct spdy_xport *s = arg;
    static const enum rcs_stream order[] = {RCS_ERROR, RCS_STDOUT, RCS_STDERR};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (s->sid[order[i]] && spdy_write_data(s->out, s->sid[order[i]], SPDY_FLAG_FIN, "", 0) < 0)
            return -1;
    return spdy_flush(s); /* the client ends with RST_STREAMs and GOAWAY */
}

static int spdy_cut(struct spdy_xport *s, const char *status, size_t len)
{
    s->x.busy++;
    if (spdy_sink_write(s, RCS_ERROR, status, len) == 0 && !s->x.gone)
        spdy_sink_end(s);
    s->x.done = 1;
    xport_settle(&s->x);
    return -1;
}

static int stream_type(const struct spdy_frame *f)
{
    static const char *const names[RCS_NSTREAMS] = {"stdin", "stdout", "stderr", "error", "resize"};
    for (size_t i = 0; i < f->nheaders; i++) {
        if (strcmp(f->headers[i].name, "streamtype") != 0)
            continue;
        for (int t = 0; t < RCS_NSTREAMS; t++)
            if (strcmp(f->headers[i].value, names[t]) == 0)
                return t;
    }
    return -1;
}

static int spdy_ready(const struct spdy_xport *s)
{
    for (int t = 0; t < RCS_NSTREAMS; t++)
        if (s->want[t] && !s->sid[t])
            return 0;
    return 1;
}

static int spdy_on_frame(void *arg, const struct spdy_frame *f)
{
    struct spdy_xport *s = arg;
    char err[SPDY_ERR_MAX];
    if (s->x.gone || s->x.done)
        return -1;
    if (!f->control) {
        for (int t = 0; t < RCS_NSTREAMS; t++) {
            if (s->sid[t] != f->stream_id || (t != RCS_STDIN && t != RCS_RESIZE))
                continue;
            if (f->data_len)
                rcs_input(s->x.s, (enum rcs_stream)t, f->data, f->data_len);
            if ((f->flags & SPDY_FLAG_FIN) && t == RCS_STDIN)
                rcs_input(s->x.s, RCS_STDIN, NULL, 0);
        }
        return 0;
    }
    switch (f->type) {
    case SPDY_SYN_STREAM: {
        int t = stream_type(f);
        if (t >= 0 && !s->sid[t])
            s->sid[t] = f->stream_id;
        if (spdy_write_syn_reply(s->e, s->out, f->stream_id, 0, NULL, 0, err, sizeof err) < 0) {
            log_warn("exec: %s", err);
            return -1;
        }
        if (spdy_flush(s) < 0)
            return -1;
        if (!s->started && spdy_ready(s)) {
            s->started = 1;
            if (rcs_start(s->x.s) < 0)
                return -1;
        }
        return 0;
    }
    case SPDY_PING:
        if (rcs_get_faults(s->x.s)->no_pong)
            return 0;
        if (spdy_write_ping(s->out, f->ping_id) < 0 || spdy_flush(s) < 0)
            return -1;
        return 0;
    case SPDY_GOAWAY:
        s->x.done = 1;
        return -1;
    default: /* RST_STREAM, SETTINGS, WINDOW_UPDATE: spdystream has no flow control */
        return 0;
    }
}

static void spdy_on_upgraded(void *arg, struct conn *c, struct evbuffer *input)
{
    struct spdy_xport *s = arg;
    s->x.busy++;
    size_t len;
    unsigned char *buf = take_input(input, &len);
    if (buf && !s->x.done && !s->x.gone) {
        char err[SPDY_ERR_MAX];
        if (spdy_parser_feed(s->p, buf, len, err, sizeof err) < 0 && !s->x.gone && !s->x.done) {
            log_info("exec from %s: %s: GOAWAY", conn_peer(c), err);
            if (spdy_write_goaway(s->out, 0, SPDY_GOAWAY_PROTOCOL_ERROR) == 0)
                spdy_flush(s);
            s->x.done = 1;
        }
    }
    free(buf);
    xport_settle(&s->x);
}

/* The version we answer with: v4 when the client offers it (as the kubelet answers, whatever the
 * client's order), else v5 (X-Stream-Protocol-Version may repeat). */
static const char *spdy_version(const struct http_request *req)
{
    static const char *const ours[] = {"v4.channel.k8s.io", "v5.channel.k8s.io"};
    for (size_t o = 0; o < sizeof ours / sizeof ours[0]; o++)
        for (size_t i = 0; i < req->nheaders; i++)
            if (strcasecmp(req->headers[i].name, "X-Stream-Protocol-Version") == 0 &&
                header_lists(req->headers[i].value, ours[o]))
                return ours[o];
    return NULL;
}

void remotecmd_spdy(struct conn *c, struct http_request *req, const struct remotecmd_spec *spec)
{
    const struct rcs_opts *opts = spec->opts;
    const char *version = spdy_version(req);
    if (!version) {
        static const char body[] =
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"unable to upgrade: unable to negotiate protocol: server supports "
            "[v4.channel.k8s.io v5.channel.k8s.io]\",\"reason\":\"BadRequest\",\"code\":400}\n";
        conn_respond(c, 400, HTTP_CT_JSON, NULL, body, sizeof body - 1);
        spec_release(spec);
        return;
    }
    struct spdy_xport *s = calloc(1, sizeof *s);
    if (!s) {
        spec_release(spec);
        conn_respond(c, 500, HTTP_CT_TEXT, NULL, "out of memory\n", 14);
        return;
    }
    s->x.c = c;
    s->x.release = spdy_release;
    s->x.max_pending = spec->max_pending ? spec->max_pending : REMOTECMD_MAX_PENDING_BYTES;
    memcpy(s->want, opts->want, sizeof s->want);
    s->want[RCS_ERROR] = 1;
    s->want[RCS_RESIZE] = opts->tty;
    struct rcs_sink sink = {spdy_sink_write, spdy_sink_end, xport_sink_abort, s};
    s->p = spdy_parser_new(spdy_on_frame, s);
    s->e = spdy_encoder_new();
    s->out = evbuffer_new();
    s->x.s = rcs_new(opts, &sink, spec->prog, spec->script, spec->faults);
    if (s->x.s && spec->created)
        spec->created(spec->created_arg, s->x.s);
    if (!s->p || !s->e || !s->out || !s->x.s) {
        xport_free(&s->x);
        conn_respond(c, 500, HTTP_CT_TEXT, NULL, "out of memory\n", 14);
        return;
    }
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: %s\r\n\r\n",
                      version);
    conn_set_close_cb(c, on_conn_close, &s->x);
    s->x.busy++;
    if (conn_write_raw(c, head, (size_t)hl) == 0)
        conn_upgrade(c, spdy_on_upgraded, s);
    xport_settle(&s->x);
}
