/* test_conn.c -- one connection over a socketpair and its own event base: request parsing (query
 * and header decoding, bodies split at every byte), answers and chunked streams byte for byte,
 * pipelining that waits for the answer, HTTP/1.0 and bad requests closing (our FIN, then input
 * dropped until the client's FIN), egress filters holding bytes back */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mockapi/http/conn.h"

#define WAIT_MS 3000
#define MAX_SEEN 8

struct seen_req {
    char method[16], path[256], query[256], body[256];
    size_t body_len;
    int keep_alive;
    uint64_t seq;
    char params[8][2][64];
    size_t nparams;
};

struct fixture {
    struct event_base *base;
    int peer; /* the client's end of the socketpair */
    struct conn_set set;
    uint64_t counter;
    struct conn *c;
    int answer;           /* answer requests at once with 200 "ok" */
    int closed;           /* the close callback ran */
    struct conn *pending; /* a request left unanswered */
    struct seen_req seen[MAX_SEEN];
    size_t nseen;
    char hdr_trim[64];
    const char *many[4];
    size_t nmany;
};

static void on_request(void *arg, struct conn *c, struct http_request *req)
{
    struct fixture *f = arg;
    if (f->nseen < MAX_SEEN) {
        struct seen_req *s = &f->seen[f->nseen];
        snprintf(s->method, sizeof s->method, "%s", req->method);
        snprintf(s->path, sizeof s->path, "%s", req->path);
        snprintf(s->query, sizeof s->query, "%s", req->query);
        snprintf(s->body, sizeof s->body, "%s", (const char *)req->body);
        s->body_len = req->body_len;
        s->keep_alive = req->keep_alive;
        s->seq = req->seq;
        for (size_t i = 0; i < req->nparams && i < 8; i++) {
            snprintf(s->params[i][0], 64, "%s", req->params[i].key);
            snprintf(s->params[i][1], 64, "%s", req->params[i].value);
        }
        s->nparams = req->nparams;
        const char *v = http_request_header(req, "x-trim");
        snprintf(f->hdr_trim, sizeof f->hdr_trim, "%s", v ? v : "(none)");
        f->nmany = http_request_params(req, "a", f->many, 4);
    }
    f->nseen++;
    if (f->answer)
        conn_respond(c, 200, "text/plain", NULL, "ok", 2);
    else
        f->pending = c;
}

static void on_close(void *arg, struct conn *c)
{
    (void)c;
    struct fixture *f = arg;
    f->closed = 1;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    int sv[2];
    if (!f || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    f->base = event_base_new();
    evutil_make_socket_nonblocking(sv[0]);
    struct bufferevent *bev = bufferevent_socket_new(f->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
    struct conn_config cfg = {
        .set = &f->set, .on_request = on_request, .arg = f, .request_counter = &f->counter};
    f->c = conn_new(bev, &cfg, "test-peer");
    f->peer = sv[1];
    f->answer = 1;
    *state = f;
    return f->base && f->c ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    conn_set_abort_all(&f->set);
    event_base_free(f->base);
    close(f->peer);
    free(f);
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop until *counter reaches want (or WAIT_MS passes). */
static void run_until(struct fixture *f, const size_t *counter, size_t want)
{
    int64_t deadline = now_ms() + WAIT_MS;
    while (*counter < want && now_ms() < deadline) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(f->base, &tv);
        event_base_dispatch(f->base);
    }
}

static void spin(struct fixture *f, int ms)
{
    struct timeval tv = {0, ms * 1000};
    event_base_loopexit(f->base, &tv);
    event_base_dispatch(f->base);
}

static void send_all(struct fixture *f, const char *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(f->peer, data + off, len - off, MSG_NOSIGNAL);
        assert_true(n > 0);
        off += (size_t)n;
    }
}

/* What the client has received so far (after running the loop a little). */
static size_t recv_some(struct fixture *f, char *buf, size_t len)
{
    size_t got = 0;
    int quiet = 0;
    int64_t deadline = now_ms() + 200;
    while (now_ms() < deadline && got + 1 < len && quiet < 3) {
        spin(f, 5);
        ssize_t n = recv(f->peer, buf + got, len - 1 - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            quiet = 0;
        } else if (n == 0) {
            break;
        } else if (got > 0) {
            quiet++; /* the answer is in and nothing more comes */
        }
    }
    buf[got] = '\0';
    return got;
}

static void test_parse_request(void **state)
{
    struct fixture *f = *state;
    static const char req[] =
        "GET /api/v1/namespaces/default/pods?labelSelector=app%3Dx%2Cy&watch=1"
        "&flag&plus=a+b&a=1&a=2 HTTP/1.1\r\nHost: h\r\nX-Trim:   v v  \r\n"
        "\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    assert_int_equal(f->nseen, 1);
    struct seen_req *s = &f->seen[0];
    assert_string_equal(s->method, "GET");
    assert_string_equal(s->path, "/api/v1/namespaces/default/pods");
    assert_string_equal(s->query, "labelSelector=app%3Dx%2Cy&watch=1&flag&plus=a+b&a=1&a=2");
    assert_int_equal(s->nparams, 6);
    assert_string_equal(s->params[0][0], "labelSelector");
    assert_string_equal(s->params[0][1], "app=x,y");
    assert_string_equal(s->params[1][1], "1");
    assert_string_equal(s->params[2][0], "flag");
    assert_string_equal(s->params[2][1], "");
    assert_string_equal(s->params[3][1], "a b");
    assert_int_equal(f->nmany, 2);
    assert_string_equal(f->hdr_trim, "v v");
    assert_true(s->keep_alive);
    assert_int_equal(s->seq, 1);
    assert_int_equal(f->counter, 1);
}

static void test_body_split_at_every_byte(void **state)
{
    struct fixture *f = *state;
    static const char req[] =
        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
    for (size_t i = 0; i < sizeof req - 1; i++) {
        send_all(f, req + i, 1);
        spin(f, 1);
    }
    run_until(f, &f->nseen, 1);
    assert_int_equal(f->nseen, 1);
    assert_string_equal(f->seen[0].method, "POST");
    assert_string_equal(f->seen[0].body, "hello world");
    assert_int_equal(f->seen[0].body_len, 11);
    char out[512];
    recv_some(f, out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
}

static void test_chunked_body(void **state)
{
    struct fixture *f = *state;
    static const char req[] = "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    assert_string_equal(f->seen[0].body, "hello world");
}

static void test_respond_bytes(void **state)
{
    struct fixture *f = *state;
    static const char req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    char out[512];
    recv_some(f, out, sizeof out);
    assert_string_equal(out, "HTTP/1.1 200 OK\r\nCache-Control: no-cache, private\r\n"
                             "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
}

static void test_stream_bytes(void **state)
{
    struct fixture *f = *state;
    f->answer = 0;
    static const char req[] = "GET /w HTTP/1.1\r\nHost: h\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    assert_non_null(f->pending);
    static const char *const extra[] = {"X-A", "b", NULL};
    conn_stream_begin(f->pending, 200, "application/json", extra);
    assert_true(conn_streaming(f->pending));
    conn_stream_write(f->pending, "hello", 5);
    conn_stream_write(f->pending, "", 0); /* nothing: a zero chunk would end the stream */
    conn_stream_write(f->pending, "0123456789abcdefg", 17);
    conn_stream_end(f->pending);
    assert_false(conn_streaming(f->pending));
    char out[1024];
    recv_some(f, out, sizeof out);
    assert_string_equal(out, "HTTP/1.1 200 OK\r\nCache-Control: no-cache, private\r\n"
                             "Content-Type: application/json\r\nX-A: b\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n");
}

static void test_pipelining_waits_for_the_answer(void **state)
{
    struct fixture *f = *state;
    f->answer = 0;
    static const char req[] =
        "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    spin(f, 20);
    assert_int_equal(f->nseen, 1); /* the second waits until the first is answered */
    assert_string_equal(f->seen[0].path, "/1");
    f->answer = 1;
    conn_respond(f->pending, 200, "text/plain", NULL, "one", 3);
    run_until(f, &f->nseen, 2);
    assert_int_equal(f->nseen, 2);
    assert_string_equal(f->seen[1].path, "/2");
    assert_int_equal(f->seen[1].seq, 2);
    char out[1024];
    recv_some(f, out, sizeof out);
    const char *one = strstr(out, "\r\n\r\none");
    const char *two = strstr(out, "\r\n\r\nok");
    assert_non_null(one);
    assert_non_null(two);
    assert_true(one < two);
}

/* The server sent its FIN after the answer and keeps the connection, dropping input, until the
 * client's FIN (conn.c lingers so the client is not reset): close our end and see it freed. */
static void assert_closes_after_client(struct fixture *f)
{
    char b;
    assert_int_equal(recv(f->peer, &b, 1, MSG_DONTWAIT), 0);
    static const char late[] = "GET /late HTTP/1.1\r\n\r\n";
    send_all(f, late, sizeof late - 1); /* read and dropped, never answered */
    shutdown(f->peer, SHUT_WR);
    int64_t deadline = now_ms() + WAIT_MS;
    while (f->set.count > 0 && now_ms() < deadline)
        spin(f, 5);
    assert_int_equal(f->set.count, 0);
    assert_int_equal(recv(f->peer, &b, 1, MSG_DONTWAIT), 0);
}

static void test_http10_closes(void **state)
{
    struct fixture *f = *state;
    conn_set_close_cb(f->c, on_close, f);
    static const char req[] = "GET /x HTTP/1.0\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    assert_false(f->seen[0].keep_alive);
    char out[512];
    recv_some(f, out, sizeof out);
    assert_non_null(strstr(out, "Connection: close\r\n"));
    assert_closes_after_client(f);
    assert_int_equal(f->nseen, 1);
}

struct hold {
    int release;
};

static void holding_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    struct hold *h = arg;
    if (h->release)
        evbuffer_add_buffer(conn_wire(c), staged);
}

static void test_egress_holds_and_kicks(void **state)
{
    struct fixture *f = *state;
    struct hold h = {0};
    conn_set_egress(f->c, holding_egress, &h);
    static const char req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 1);
    char out[512];
    assert_int_equal(recv_some(f, out, sizeof out), 0);
    assert_true(conn_pending_bytes(f->c) > 0);
    h.release = 1;
    conn_egress_kick(f->c);
    recv_some(f, out, sizeof out);
    assert_non_null(strstr(out, "\r\n\r\nok"));
    /* removing the filter flushes what is staged */
    h.release = 0;
    send_all(f, req, sizeof req - 1);
    run_until(f, &f->nseen, 2);
    assert_int_equal(recv_some(f, out, sizeof out), 0);
    conn_set_egress(f->c, NULL, NULL);
    recv_some(f, out, sizeof out);
    assert_non_null(strstr(out, "\r\n\r\nok"));
    assert_int_equal(conn_pending_bytes(f->c), 0);
}

static void test_peer_close_runs_close_cb(void **state)
{
    struct fixture *f = *state;
    conn_set_close_cb(f->c, on_close, f);
    assert_string_equal(conn_peer(f->c), "test-peer");
    assert_true(conn_id(f->c) > 0);
    assert_int_equal(f->set.count, 1);
    shutdown(f->peer, SHUT_WR);
    int64_t deadline = now_ms() + WAIT_MS;
    while (!f->closed && now_ms() < deadline)
        spin(f, 5);
    assert_true(f->closed);
    assert_int_equal(f->set.count, 0);
}

static void test_bad_request_closes(void **state)
{
    struct fixture *f = *state;
    static const char req[] = "NOT-HTTP\r\n\r\n";
    send_all(f, req, sizeof req - 1);
    char out[1024];
    recv_some(f, out, sizeof out);
    assert_int_equal(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26), 0);
    assert_non_null(strstr(out, "\"reason\":\"BadRequest\""));
    assert_closes_after_client(f);
    assert_int_equal(f->nseen, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_split_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_respond_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_waits_for_the_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_egress_holds_and_kicks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_close_runs_close_cb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_request_closes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
