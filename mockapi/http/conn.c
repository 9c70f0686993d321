/* conn.c -- one client connection: HTTP/1.1 requests in (libhttp-parser), responses and chunked
 * streams out through one egress path, upgrades handed to the stream engines.
 *
 * Why not evhttp: it answers malformed requests itself, hides the bytes it writes and cannot hand
 * an upgraded connection over (shared/docs/reference/streaming.md §3). Here every byte leaves
 * through staged -> egress filter -> wire, so a fault can shape any response the same way. */
#include "mockapi/http/conn.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <http_parser.h>
#include <openssl/ssl.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/log.h"
#include "mockapi/http/tls.h"

enum conn_mode { MODE_HTTP, MODE_UPGRADED };

/* How long a closing connection keeps reading (and dropping) what the client still sends after
 * our FIN, as Go's net/http waits in closeWriteAndWait (rstAvoidanceDelay, 500 ms). */
#define CONN_LINGER_MS 500

/* Response ends remembered for egress filters; past this many answers queued behind a held one,
 * the oldest boundaries are forgotten (a filter then sees them as one). */
#define CONN_MAX_PENDING_ENDS 32

struct conn {
    struct bufferevent *bev;
    struct conn_config cfg;
    char peer[64];
    uint64_t id;
    void *data;

    enum conn_mode mode;
    http_parser parser;
    http_parser_settings settings;

    /* the request being read, then answered */
    struct http_request req;
    int req_ready;       /* parsed completely, waiting for or in its answer */
    int req_in_progress; /* some of it was parsed */
    int header_is_value; /* the parser's last header callback was a value */
    size_t header_bytes;
    size_t body_cap;
    int cap_error;   /* an HTTP status answering a tripped cap, 0 when none */
    int streaming;   /* a chunked response is open */
    int close_after; /* close once everything is out */

    struct evbuffer *staged; /* written by protocol layers, not yet through the egress filter */
    uint64_t staged_in;      /* bytes ever added to staged */
    uint64_t
        ends[CONN_MAX_PENDING_ENDS]; /* staged_in offsets where responses ended, oldest first */
    size_t nends;
    int resp_code;       /* the answer being written: its status code */
    uint64_t resp_start; /* and staged_in where it began */
    uint64_t req_base;   /* staged_in when the current request was complete */
    int upgraded_req;    /* the request was upgraded: report it (101) when the connection ends */
    int resp_open;       /* a head was written and the answer is not complete */
    conn_egress_cb egress;
    void *egress_arg;
    int silenced; /* conn_silence: every staged byte is dropped, no filter can be installed */

    conn_close_cb on_close;
    void *close_arg;

    struct event *resume; /* zero-delay event that parses pipelined input after an answer */

    conn_upgraded_cb on_upgraded;
    void *upgraded_arg;

    struct conn *set_prev, *set_next;

    int depth;                  /* callbacks running on the stack; free waits until it is 0 */
    int dead;                   /* marked for freeing */
    int pause_on_handshake;     /* pause when the TLS handshake completes */
    int reset;                  /* close with RST */
    int plain_fd;               /* a plain socket bufferevent: egress may write to the fd itself */
    int refused;                /* over the set's limit: its first request is answered 503 */
    struct event *refuse_timer; /* closes a refused connection that sends no request */
    int lingering;              /* our FIN is sent: dropping input until the client's FIN */
    struct event *linger_timer; /* ends the lingering */
};

static uint64_t next_conn_id = 1;

static void conn_destroy(struct conn *c);
static void process_input(struct conn *c);

/* ---- requests ---- */

const char *http_request_header(const struct http_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

const char *http_request_param(const struct http_request *r, const char *key)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].key, key) == 0)
            return r->params[i].value;
    return NULL;
}

size_t http_request_params(const struct http_request *r, const char *key, const char **out,
                           size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nparams && n < max; i++)
        if (strcmp(r->params[i].key, key) == 0)
            out[n++] = r->params[i].value;
    return n;
}

static void request_release(struct http_request *r)
{
    free(r->url);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    for (size_t i = 0; i < r->nparams; i++) {
        free(r->params[i].key);
        free(r->params[i].value);
    }
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..len) into a new string; '+' becomes a space when plus_is_space. */
static char *decode(const char *s, size_t len, int plus_is_space)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out[n++] = ' ';
        } else {
            out[n++] = s[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* Split the URL into path, query and decoded parameters. Returns 0, or an HTTP status. */
static int split_url(struct http_request *r)
{
    const char *q = strchr(r->url, '?');
    size_t plen = q ? (size_t)(q - r->url) : strlen(r->url);
    r->path = decode(r->url, plen, 0);
    r->query = strdup(q ? q + 1 : "");
    if (!r->path || !r->query)
        return HTTP_INTERNAL;
    const char *p = r->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            if (r->nparams == HTTP_MAX_QUERY_PARAMS)
                return HTTP_BADREQUEST;
            const char *eq = memchr(p, '=', len);
            struct http_param *pr = &r->params[r->nparams];
            pr->key = decode(p, eq ? (size_t)(eq - p) : len, 1);
            pr->value = eq ? decode(eq + 1, len - (size_t)(eq - p) - 1, 1) : strdup("");
            if (!pr->key || !pr->value) {
                free(pr->key);
                free(pr->value);
                pr->key = pr->value = NULL;
                return HTTP_INTERNAL;
            }
            r->nparams++;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

static int append(char **dst, const char *at, size_t len)
{
    size_t old = *dst ? strlen(*dst) : 0;
    char *n = realloc(*dst, old + len + 1);
    if (!n)
        return -1;
    memcpy(n + old, at, len);
    n[old + len] = '\0';
    *dst = n;
    return 0;
}

static struct conn *parser_conn(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = parser_conn(p);
    request_release(&c->req);
    c->req_in_progress = 1;
    c->header_is_value = 0;
    c->header_bytes = 0;
    c->body_cap = 0;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = parser_conn(p);
    size_t have = c->req.url ? strlen(c->req.url) : 0;
    if (have + len > HTTP_MAX_URL_BYTES) {
        c->cap_error = HTTP_URITOOLONG;
        return -1;
    }
    return append(&c->req.url, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = parser_conn(p);
    struct http_request *r = &c->req;
    c->header_bytes += len;
    if (c->header_bytes > HTTP_MAX_HEADER_BYTES) {
        c->cap_error = HTTP_HEADERSTOOLARGE;
        return -1;
    }
    if (r->nheaders == 0 || c->header_is_value) {
        if (r->nheaders == HTTP_MAX_HEADER_COUNT) {
            c->cap_error = HTTP_HEADERSTOOLARGE;
            return -1;
        }
        r->nheaders++;
        c->header_is_value = 0;
    }
    return append(&r->headers[r->nheaders - 1].name, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct conn *c = parser_conn(p);
    struct http_request *r = &c->req;
    c->header_bytes += len;
    if (c->header_bytes > HTTP_MAX_HEADER_BYTES) {
        c->cap_error = HTTP_HEADERSTOOLARGE;
        return -1;
    }
    if (r->nheaders == 0)
        return -1;
    c->header_is_value = 1;
    return append(&r->headers[r->nheaders - 1].value, at, len);
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = parser_conn(p);
    for (size_t i = 0; i < c->req.nheaders; i++) {
        if (!c->req.headers[i].value && !(c->req.headers[i].value = strdup("")))
            return -1;
        /* the parser drops leading blanks; trailing ones go here, as Go's server trims both */
        char *v = c->req.headers[i].value;
        size_t n = strlen(v);
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            v[--n] = '\0';
        if (!c->req.headers[i].name && !(c->req.headers[i].name = strdup("")))
            return -1;
    }
    if (p->content_length != ULLONG_MAX && p->content_length > HTTP_MAX_BODY_BYTES) {
        c->cap_error = HTTP_PAYLOADTOOLARGE;
        return -1;
    }
    /* curl waits a second for this before sending a large body; Go clients never ask */
    const char *expect = http_request_header(&c->req, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0)
        conn_write_raw(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct conn *c = parser_conn(p);
    struct http_request *r = &c->req;
    if (r->body_len + len > HTTP_MAX_BODY_BYTES) {
        c->cap_error = HTTP_PAYLOADTOOLARGE;
        return -1;
    }
    if (r->body_len + len + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 1024;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        unsigned char *nb = realloc(r->body, cap);
        if (!nb)
            return -1;
        r->body = nb;
        c->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = parser_conn(p);
    struct http_request *r = &c->req;
    r->method = http_method_str((enum http_method)p->method);
    r->upgrade = p->upgrade;
    r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    if (!r->url && !(r->url = strdup("")))
        return -1;
    if (!r->body && !(r->body = calloc(1, 1)))
        return -1;
    c->req_ready = 1;
    c->req_in_progress = 0;
    c->req_base = c->staged_in;
    http_parser_pause(p, 1);
    return 0;
}

/* ---- egress ---- */

static void stage(struct conn *c, const void *data, size_t len)
{
    if (evbuffer_add(c->staged, data, len) == 0)
        c->staged_in += len;
}

static void stage_printf(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void stage_printf(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = evbuffer_add_vprintf(c->staged, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->staged_in += (uint64_t)n;
}

/* The answer now being written is complete: remember where it ends in the staged stream. */
static void mark_response_end(struct conn *c)
{
    if (c->nends == CONN_MAX_PENDING_ENDS) {
        memmove(c->ends, c->ends + 1, (CONN_MAX_PENDING_ENDS - 1) * sizeof c->ends[0]);
        c->nends--;
    }
    c->ends[c->nends++] = c->staged_in;
}

size_t conn_egress_current(const struct conn *c, int *ends)
{
    uint64_t out = c->staged_in - evbuffer_get_length(c->staged);
    size_t staged = evbuffer_get_length(c->staged);
    for (size_t i = 0; i < c->nends; i++)
        if (c->ends[i] > out) {
            *ends = 1;
            return (size_t)(c->ends[i] - out);
        }
    *ends = 0;
    return staged;
}

/* Forget response ends the wire has passed. */
static void forget_passed_ends(struct conn *c)
{
    uint64_t out = c->staged_in - evbuffer_get_length(c->staged);
    size_t i = 0;
    while (i < c->nends && c->ends[i] <= out)
        i++;
    if (i) {
        memmove(c->ends, c->ends + i, (c->nends - i) * sizeof c->ends[0]);
        c->nends -= i;
    }
}

/* Without a filter, staged bytes go to the wire. When the bufferevent has nothing queued on a
 * plain socket it may write to, write them now: handing them over would add the socket to the poll
 * set for writing, write on the next turn of the loop and take it out again, two epoll_ctl calls
 * and a loop turn for each answer or watch event. What the socket does not take now (or an error,
 * which the bufferevent then reports) is queued as before, behind which later bytes wait. */
static void to_wire(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->plain_fd && evbuffer_get_length(out) == 0 &&
        (bufferevent_get_enabled(c->bev) & EV_WRITE))
        evbuffer_write(c->staged, bufferevent_getfd(c->bev));
    evbuffer_add_buffer(out, c->staged);
}

static void egress_flush(struct conn *c)
{
    if (c->dead || !c->bev)
        return;
    if (c->silenced)
        evbuffer_drain(c->staged, evbuffer_get_length(c->staged));
    else if (c->egress)
        c->egress(c->egress_arg, c, c->staged);
    else
        to_wire(c);
    if (!c->dead)
        forget_passed_ends(c);
}

/* Flush from outside our callbacks: an egress filter may reset the connection, so hold off the
 * free until the filter returns, then free and tell the caller. */
static int flush_guarded(struct conn *c)
{
    c->depth++;
    egress_flush(c);
    c->depth--;
    if (!c->dead)
        return 0;
    if (c->depth == 0)
        conn_destroy(c);
    return -1;
}

int conn_egress_kick(struct conn *c)
{
    if (c->dead)
        return -1;
    return flush_guarded(c);
}

struct evbuffer *conn_wire(struct conn *c)
{
    return bufferevent_get_output(c->bev);
}

size_t conn_pending_bytes(const struct conn *c)
{
    return evbuffer_get_length(c->staged) + evbuffer_get_length(bufferevent_get_output(c->bev));
}

int conn_set_egress(struct conn *c, conn_egress_cb cb, void *arg)
{
    if (c->dead)
        return -1;
    if (c->silenced)
        return 0; /* a fault ended it: whatever a later one would send must not leave */
    c->egress = cb;
    c->egress_arg = arg;
    return flush_guarded(c);
}

int conn_silence(struct conn *c)
{
    if (c->dead)
        return -1;
    c->silenced = 1;
    c->egress = NULL;
    c->egress_arg = NULL;
    return flush_guarded(c);
}

int conn_silenced(const struct conn *c)
{
    return c->silenced;
}

int conn_write_raw(struct conn *c, const void *data, size_t len)
{
    if (c->dead)
        return -1;
    stage(c, data, len);
    return flush_guarded(c);
}

static void on_linger_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_abort(arg); /* not inside one of our callbacks: frees at once */
}

/* Everything is out: send our FIN now, then read and drop what the client still sends until its
 * FIN or CONN_LINGER_MS. Closing at once with its bytes unread in our socket (the rest of a body
 * answered 413 from its Content-Length, requests pipelined behind a Connection: close) would send
 * a reset instead, and a reset can destroy the answer before the client has read it. */
static void linger(struct conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    struct timeval tv = {0, CONN_LINGER_MS * 1000};
    if (c->reset || fd < 0 ||
        !(c->linger_timer = evtimer_new(bufferevent_get_base(c->bev), on_linger_over, c)) ||
        evtimer_add(c->linger_timer, &tv) < 0 || shutdown(fd, SHUT_WR) < 0) {
        conn_abort(c);
        return;
    }
    c->lingering = 1;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0); /* read on: it is dropped as it comes */
    bufferevent_enable(c->bev, EV_READ);
}

/* If everything is out and the connection should close, close it (FIN, then linger). */
static void maybe_finish_close(struct conn *c)
{
    if (c->close_after && !c->dead && !c->lingering && conn_pending_bytes(c) == 0)
        linger(c);
}

/* ---- responses ---- */

static void write_head(struct conn *c, int code, const char *content_type, const char *const *extra,
                       int chunked, size_t len)
{
    c->resp_code = code;
    c->resp_start = c->staged_in;
    c->resp_open = 1;
    stage_printf(c, "HTTP/1.1 %d %s\r\n", code, http_reason(code));
    if (c->cfg.server_header)
        stage_printf(c, "Server: %s\r\n", c->cfg.server_header);
    stage_printf(c, "Cache-Control: no-cache, private\r\n");
    if (content_type)
        stage_printf(c, "Content-Type: %s\r\n", content_type);
    for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
        stage_printf(c, "%s: %s\r\n", extra[i], extra[i + 1]);
    if (chunked)
        stage_printf(c, "Transfer-Encoding: chunked\r\n");
    else if (code >= 200 && code != 204 && code != 304) /* RFC 9110 8.6: none on these */
        stage_printf(c, "Content-Length: %zu\r\n", len);
    if (!c->req.keep_alive)
        stage_printf(c, "Connection: close\r\n");
    stage(c, "\r\n", 2);
}

int conn_respond(struct conn *c, int code, const char *content_type, const char *const *extra,
                 const void *body, size_t len)
{
    if (c->dead)
        return -1;
    write_head(c, code, content_type, extra, 0, len);
    if (len && strcmp(c->req.method ? c->req.method : "", "HEAD") != 0)
        stage(c, body, len);
    mark_response_end(c);
    if (flush_guarded(c) < 0)
        return -1;
    conn_request_done(c);
    return 0;
}

int conn_stream_begin(struct conn *c, int code, const char *content_type, const char *const *extra)
{
    if (c->dead)
        return -1;
    write_head(c, code, content_type, extra, 1, 0);
    c->streaming = 1;
    return flush_guarded(c);
}

int conn_stream_write(struct conn *c, const void *data, size_t len)
{
    if (c->dead || !c->streaming)
        return -1;
    if (len == 0)
        return 0;
    stage_printf(c, "%zx\r\n", len);
    stage(c, data, len);
    stage(c, "\r\n", 2);
    return flush_guarded(c);
}

int conn_stream_end(struct conn *c)
{
    if (c->dead || !c->streaming)
        return -1;
    stage(c, "0\r\n\r\n", 5);
    c->streaming = 0;
    mark_response_end(c);
    if (flush_guarded(c) < 0)
        return -1;
    conn_request_done(c);
    return 0;
}

int conn_streaming(const struct conn *c)
{
    return c->streaming;
}

/* Resume parsing pipelined input from a zero-delay callback, never from inside the handler. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    c->depth++;
    process_input(c);
    c->depth--;
    if (c->dead && c->depth == 0)
        conn_destroy(c);
}

void conn_request_done(struct conn *c)
{
    if (c->dead || !c->req_ready || c->mode != MODE_HTTP)
        return;
    int keep = c->req.keep_alive;
    int upgrade = c->req.upgrade;
    if (c->cfg.on_response)
        c->cfg.on_response(c->cfg.arg, c, &c->req, c->resp_open ? c->resp_code : 0,
                           c->staged_in - c->resp_start, 1);
    c->resp_open = 0;
    c->req_ready = 0;
    if (!keep || upgrade) {
        /* An upgrade answered without switching leaves the stream in an unknown state. */
        c->close_after = 1;
        maybe_finish_close(c);
        return;
    }
    http_parser_pause(&c->parser, 0);
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        event_active(c->resume, EV_TIMEOUT, 0);
}

void conn_upgrade(struct conn *c, conn_upgraded_cb cb, void *arg)
{
    c->mode = MODE_UPGRADED;
    c->req_ready = 0;
    c->upgraded_req = 1;
    c->on_upgraded = cb;
    c->upgraded_arg = arg;
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        cb(arg, c, bufferevent_get_input(c->bev));
}

/* ---- answers the connection gives by itself: a JSON body, then close ---- */

/* The Status reason kube-apiserver gives with code. */
static const char *status_reason(int code)
{
    switch (code) {
    case HTTP_PAYLOADTOOLARGE:
        return "RequestEntityTooLarge";
    case HTTP_BADREQUEST:
    case HTTP_HEADERSTOOLARGE:
    case HTTP_URITOOLONG:
        return "BadRequest";
    case HTTP_SERVUNAVAIL:
        return "ServiceUnavailable";
    default:
        return "InternalError";
    }
}

static size_t status_body(int code, const char *message, char *buf, size_t len)
{
    const char *reason = status_reason(code);
    int n = snprintf(buf, len,
                     "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                     "\"status\":\"Failure\",\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}\n",
                     message, reason, code);
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* Answer the request being read (complete or not) with code and a JSON body saying message, then
 * close. */
static void respond_error(struct conn *c, int code, const char *message)
{
    static const char *const retry[] = {"Retry-After", "1", NULL};
    char body[1024];
    size_t n = c->cfg.error_body ? c->cfg.error_body(code, message, body, sizeof body) : 0;
    if (n == 0 || n >= sizeof body)
        n = status_body(code, message, body, sizeof body);
    c->req.keep_alive = 0;
    c->req_ready = 1;
    conn_respond(c, code, HTTP_CT_JSON, code == HTTP_SERVUNAVAIL ? retry : NULL, body, n);
}

/* A refused connection's request: 503 with how many connections the server holds. */
static void respond_limit(struct conn *c)
{
    char msg[256];
    struct conn_set *set = c->cfg.set;
    snprintf(msg, sizeof msg,
             "too many connections: the server holds %zu (its limit); close idle connections or "
             "raise the limit (kubefault serve --max-connections)",
             set->count - set->refusing);
    respond_error(c, HTTP_SERVUNAVAIL, msg);
}

static void process_input(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->dead && c->mode == MODE_HTTP && !c->req_ready && !c->close_after) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            return;
        size_t n = http_parser_execute(&c->parser, &c->settings, v.iov_base, v.iov_len);
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        if (err != HPE_OK && err != HPE_PAUSED) {
            char snip[129], msg[256];
            log_snippet(v.iov_base, v.iov_len, snip, sizeof snip);
            log_info("conn %llu %s: bad request (%s): %s", (unsigned long long)c->id, c->peer,
                     http_errno_name(err), snip);
            evbuffer_drain(in, evbuffer_get_length(in));
            if (c->cap_error == HTTP_PAYLOADTOOLARGE)
                snprintf(msg, sizeof msg, "the request body is larger than %d bytes",
                         HTTP_MAX_BODY_BYTES);
            else if (c->cap_error == HTTP_HEADERSTOOLARGE || err == HPE_HEADER_OVERFLOW)
                snprintf(msg, sizeof msg,
                         "request headers larger than %d bytes or more than %d lines",
                         HTTP_MAX_HEADER_BYTES, HTTP_MAX_HEADER_COUNT);
            else if (c->cap_error == HTTP_URITOOLONG)
                snprintf(msg, sizeof msg, "request target longer than %d bytes",
                         HTTP_MAX_URL_BYTES);
            else
                snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                         http_errno_description(err));
            respond_error(c,
                          c->cap_error                 ? c->cap_error
                          : err == HPE_HEADER_OVERFLOW ? HTTP_HEADERSTOOLARGE
                                                       : HTTP_BADREQUEST,
                          msg);
            return;
        }
        evbuffer_drain(in, n);
        if (!c->req_ready)
            continue;
        if (c->refused) {
            respond_limit(c);
            return;
        }
        int status = split_url(&c->req);
        c->req.seq = c->cfg.request_counter ? ++*c->cfg.request_counter : 0;
        c->req.start_ns = clock_mono_ns();
        if (status) {
            respond_error(c, status,
                          status == HTTP_BADREQUEST ? "too many query parameters"
                                                    : "out of memory");
            return;
        }
        c->cfg.on_request(c->cfg.arg, c, &c->req);
    }
}

/* ---- bufferevent callbacks ---- */

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->depth++;
    if (c->lingering)
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    else if (c->mode == MODE_UPGRADED && (c->close_after || !c->on_upgraded))
        /* closing: the protocol engine may already be gone; what the client still sends is
         * read and dropped (unread input would turn our FIN into a reset) */
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    else if (c->mode == MODE_UPGRADED)
        c->on_upgraded(c->upgraded_arg, c, bufferevent_get_input(bev));
    else if (c->mode == MODE_HTTP)
        process_input(c);
    c->depth--;
    if (c->dead && c->depth == 0)
        conn_destroy(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    c->depth++;
    maybe_finish_close(c);
    c->depth--;
    if (c->dead && c->depth == 0)
        conn_destroy(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if ((what & BEV_EVENT_CONNECTED) && c->pause_on_handshake) {
        c->pause_on_handshake = 0;
        conn_pause(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        unsigned long e;
        while ((e = bufferevent_get_openssl_error(bev)) != 0)
            log_debug("conn %llu: tls error %lu", (unsigned long long)c->id, e);
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        c->depth++;
        conn_abort(c);
        c->depth--;
        if (c->depth == 0)
            conn_destroy(c);
    }
}

struct conn *conn_new(struct bufferevent *bev, const struct conn_config *cfg, const char *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c || !(c->staged = evbuffer_new()) ||
        !(c->resume = event_new(bufferevent_get_base(bev), -1, 0, on_resume, c))) {
        if (c && c->staged)
            evbuffer_free(c->staged);
        free(c);
        bufferevent_free(bev);
        return NULL;
    }
    c->bev = bev;
    c->plain_fd = !bufferevent_openssl_get_ssl(bev) && bufferevent_getfd(bev) >= 0;
    c->cfg = *cfg;
    c->id = c->cfg.conn_counter ? ++*c->cfg.conn_counter : next_conn_id++;
    snprintf(c->peer, sizeof c->peer, "%s", peer ? peer : "?");
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    http_parser_settings_init(&c->settings);
    c->settings.on_message_begin = on_message_begin;
    c->settings.on_url = on_url;
    c->settings.on_header_field = on_header_field;
    c->settings.on_header_value = on_header_value;
    c->settings.on_headers_complete = on_headers_complete;
    c->settings.on_body = on_body;
    c->settings.on_message_complete = on_message_complete;
    if (c->cfg.set) {
        c->set_next = c->cfg.set->head;
        if (c->set_next)
            c->set_next->set_prev = c;
        c->cfg.set->head = c;
        c->cfg.set->count++;
    }
    bufferevent_setcb(bev, on_read, on_write, on_event, c);
    /* a client that pipelines while a long answer (a watch) is open waits for us; it cannot grow
     * our input buffer without bound */
    bufferevent_setwatermark(bev, EV_READ, 0, HTTP_MAX_UNREAD_BYTES);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return c;
}

const char *conn_peer(const struct conn *c)
{
    return c->peer;
}

uint64_t conn_id(const struct conn *c)
{
    return c->id;
}

void conn_set_data(struct conn *c, void *data)
{
    c->data = data;
}

void *conn_get_data(const struct conn *c)
{
    return c->data;
}

void conn_set_close_cb(struct conn *c, conn_close_cb cb, void *arg)
{
    c->on_close = cb;
    c->close_arg = arg;
}

/* Mark dead, tell the owner, and free now unless a callback of ours is on the stack. */
static void conn_kill(struct conn *c, int rst)
{
    if (c->dead)
        return;
    c->dead = 1;
    c->reset = rst;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (c->req_ready && c->mode == MODE_HTTP && c->cfg.on_response)
        c->cfg.on_response(c->cfg.arg, c, &c->req, c->resp_open ? c->resp_code : 0,
                           c->resp_open ? c->staged_in - c->resp_start : 0, 0);
    /* an upgraded stream's answer lasts as long as the connection: 101 and every byte since */
    if (c->upgraded_req && c->cfg.on_response)
        c->cfg.on_response(c->cfg.arg, c, &c->req, 101, c->staged_in - c->req_base, !rst);
    if (c->on_close) {
        conn_close_cb cb = c->on_close;
        c->on_close = NULL;
        cb(c->close_arg, c);
    }
    if (c->depth == 0)
        conn_destroy(c);
}

void conn_close(struct conn *c)
{
    if (c->dead)
        return;
    c->close_after = 1;
    c->depth++;
    egress_flush(c);
    maybe_finish_close(c);
    c->depth--;
    if (c->dead && c->depth == 0)
        conn_destroy(c);
}

void conn_reset(struct conn *c)
{
    conn_kill(c, 1);
}

void conn_abort(struct conn *c)
{
    conn_kill(c, 0);
}

void conn_pause(struct conn *c)
{
    if (!c->dead)
        bufferevent_disable(c->bev, EV_READ | EV_WRITE);
}

void conn_pause_after_handshake(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (ssl && !SSL_is_init_finished(ssl))
        c->pause_on_handshake = 1;
    else
        conn_pause(c);
}

void conn_resume(struct conn *c)
{
    if (!c->dead)
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void conn_set_abort_all(struct conn_set *set)
{
    while (set->head)
        conn_abort(set->head); /* not inside a callback: frees at once and unlinks */
}

static void conn_destroy(struct conn *c)
{
    struct conn_set *set = c->cfg.set;
    if (set) {
        if (c->set_prev)
            c->set_prev->set_next = c->set_next;
        else
            set->head = c->set_next;
        if (c->set_next)
            c->set_next->set_prev = c->set_prev;
        set->count--;
        if (c->refused)
            set->refusing--;
        if (set->at_max && set->count - set->refusing < set->max) {
            set->at_max = 0;
            log_info("below the connection limit again (%zu of %zu open): serving new connections",
                     set->count - set->refusing, set->max);
        }
    }
    if (c->refuse_timer)
        event_free(c->refuse_timer);
    if (c->linger_timer)
        event_free(c->linger_timer);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (c->reset && fd >= 0) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    event_free(c->resume); /* also cancels a resume still queued */
    bufferevent_free(c->bev);
    evbuffer_free(c->staged);
    request_release(&c->req);
    free(c);
}

static void on_refuse_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    log_debug("conn %llu %s: no request within %d ms of being refused: closing",
              (unsigned long long)c->id, c->peer, CONN_REFUSE_WAIT_MS);
    conn_abort(c); /* not inside one of our callbacks: frees at once */
}

/* c was accepted over its set's limit: answer its first request 503 (process_input), and close it
 * if none comes in time. Its requests never reach the server's callbacks. */
static int refuse(struct conn *c)
{
    struct conn_set *set = c->cfg.set;
    struct timeval tv = {CONN_REFUSE_WAIT_MS / 1000, (CONN_REFUSE_WAIT_MS % 1000) * 1000};
    c->refused = 1;
    set->refusing++;
    c->cfg.on_response = NULL;
    c->cfg.request_counter = NULL;
    if (!(c->refuse_timer = evtimer_new(bufferevent_get_base(c->bev), on_refuse_timeout, c)) ||
        evtimer_add(c->refuse_timer, &tv) < 0)
        return -1;
    if (!set->at_max) {
        set->at_max = 1;
        log_warn("connection limit reached (%zu open): answering new connections 503 (too many "
                 "connections) until one closes",
                 set->count - set->refusing);
    }
    return 0;
}

struct conn *conn_accept(struct event_base *base, struct tls_ctx *tls, int fd,
                         const struct sockaddr *sa, const struct conn_config *cfg)
{
    char peer[64] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(peer, sizeof peer, "%s:%u", ip, ntohs(in->sin_port));
    }
    struct conn_set *set = cfg->set;
    int over = set && set->max && set->count - set->refusing >= set->max;
    if (over && set->refusing >= CONN_MAX_REFUSING) {
        /* a flood past the limit: no room even to say so */
        log_debug("%s: over the connection limit with %zu being refused already: closed", peer,
                  set->refusing);
        evutil_closesocket(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *bev;
    if (tls) {
        SSL *ssl = SSL_new(tls_ssl_ctx(tls));
        if (!ssl) {
            evutil_closesocket(fd);
            return NULL;
        }
        bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev)
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
        else
            SSL_free(ssl);
    } else {
        bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        evutil_closesocket(fd);
        return NULL;
    }
    struct conn *c = conn_new(bev, cfg, peer);
    if (c && over) {
        if (refuse(c) < 0)
            conn_abort(c);
        return NULL;
    }
    return c;
}
