/* fuzz_conn.c -- libFuzzer target: the HTTP/1.1 request layer alone (mockapi/http/conn.c over
 * libhttp-parser): request lines, headers and their caps, bodies (Content-Length and chunked),
 * Expect: 100-continue, query splitting and percent-decoding, pipelining, keep-alive and closing,
 * upgrades. Much faster than fuzz_http, which also runs the router and the handlers behind it.
 *
 * Input: raw client bytes (FZ_PAUSE splits them, as in fuzz_http). Each request is answered by a
 * handler chosen by its path's first letter: a plain answer (most), a chunked stream in three
 * pieces, an answer by hand (conn_write_raw + conn_request_done), an upgrade whose later bytes are
 * read and dropped, or none at all (the connection waits). Checks the parsed request against the
 * header: NUL-terminated body of body_len bytes, path without '?', caps on headers and
 * parameters, every header with a name and a value. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "fuzzsrv.h"
#include "mockapi/http/conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct server {
    struct event_base *base;
    struct conn_set set;
    uint64_t requests;
    uint64_t conns;
};

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_conn: %s\n", what);
        abort();
    }
}

static void check_request(const struct http_request *r)
{
    check(r->method && r->url && r->path && r->query && r->body, "a request field is NULL");
    check(r->body[r->body_len] == '\0', "the body is not NUL-terminated");
    check(r->nheaders <= HTTP_MAX_HEADER_COUNT && r->nparams <= HTTP_MAX_QUERY_PARAMS,
          "more headers or parameters than the caps");
    check(r->body_len <= HTTP_MAX_BODY_BYTES, "a body past the cap");
    check(strlen(r->url) <= HTTP_MAX_URL_BYTES, "a URL past the cap");
    for (size_t i = 0; i < r->nheaders; i++)
        check(r->headers[i].name && r->headers[i].value, "a header without a name or value");
    for (size_t i = 0; i < r->nparams; i++)
        check(r->params[i].key && r->params[i].value, "a parameter without a key or value");
    const char *q = strchr(r->url, '?');
    check(q ? strcmp(r->query, q + 1) == 0 : r->query[0] == '\0', "the query is not the URL's");
}

static void on_upgraded(void *arg, struct conn *c, struct evbuffer *input)
{
    (void)arg;
    (void)c;
    evbuffer_drain(input, evbuffer_get_length(input));
}

static void on_request(void *arg, struct conn *c, struct http_request *req)
{
    (void)arg;
    static const char *const extra[] = {"X-Fuzz", "1", NULL};
    check_request(req);
    (void)http_request_header(req, "content-type");
    (void)http_request_param(req, "watch");
    const char *many[8];
    (void)http_request_params(req, "command", many, 8);
    switch (req->path[0] && req->path[1] ? req->path[1] : '/') {
    case 's': /* a chunked stream */
        if (conn_stream_begin(c, 200, "application/json", extra) < 0 ||
            conn_stream_write(c, req->body, req->body_len) < 0 ||
            conn_stream_write(c, "{}\n", 3) < 0)
            return;
        conn_stream_end(c);
        return;
    case 'r': /* by hand */
        if (conn_write_raw(c, "HTTP/1.1 204 No Content\r\n\r\n", 27) == 0)
            conn_request_done(c);
        return;
    case 'u': /* an upgrade */
        if (conn_write_raw(c, "HTTP/1.1 101 Switching Protocols\r\n\r\n", 36) == 0)
            conn_upgrade(c, on_upgraded, NULL);
        return;
    case 'h': /* no answer: the connection waits for one */
        return;
    case 'c':
        conn_close(c);
        return;
    default:
        conn_respond(c, 200, "text/plain", extra, req->body, req->body_len);
    }
}

static int serve(void *arg, int fd)
{
    struct server *s = arg;
    struct bufferevent *bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return -1;
    }
    struct conn_config cfg = {.set = &s->set,
                              .on_request = on_request,
                              .arg = s,
                              .request_counter = &s->requests,
                              .conn_counter = &s->conns,
                              .server_header = "fuzz"};
    return conn_new(bev, &cfg, "fuzz") ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_quiet();
    struct server s = {0};
    if (!(s.base = event_base_new()))
        abort();
    if (fz_converse(s.base, serve, &s, data, size, 1) < 0) {
        fprintf(stderr, "fuzz_conn: socketpair failed\n");
        abort();
    }
    conn_set_abort_all(&s.set);
    event_base_free(s.base);
    return 0;
}
