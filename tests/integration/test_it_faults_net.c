/* test_it_faults_net.c -- the byte-level and listener fault types (reset, close, drip, refuse,
 * blackhole, accept-hang, accept-reset) over real sockets: the hooks call each type's on_request /
 * on_accept directly (no engine), listener modes are switched on the server thread.
 *
 * Checked: RST vs FIN as the client sees them (curl 56 "Connection reset by peer" vs 52 "Empty
 * reply"), exact byte counts before a cut, drip pacing within [expected, expected + 2 s], refuse
 * then reopen on the same port, a black-holed connect timing out while another port connects. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "itest.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"

#define CMS "/api/v1/namespaces/default/configmaps"
#define GET_VERSION "GET /version HTTP/1.1\r\nHost: t\r\n\r\n"
#define GET_API_V1 "GET /api/v1 HTTP/1.1\r\nHost: t\r\n\r\n"
#define READ_MS 3000
#define SLACK_MS 5000 /* pacing may run late by this much (wide: CI shares two cores) */
/* ... and early by one tick of CLOCK_MONOTONIC_COARSE, which libevent's timers use in itest's
 * event_base (event_base_new(), no EVENT_BASE_FLAG_PRECISE_TIMER; kubefault's own base is precise)
 */
#define COARSE_MS 10

extern const struct fault_type fault_type_reset, fault_type_close, fault_type_drip,
    fault_type_refuse, fault_type_blackhole, fault_type_accept_hang, fault_type_accept_reset;

/* The fault the hooks apply; set before the server starts or while no request is in flight. */
static struct {
    const struct fault_type *type;
    void *ctx;
    struct event_base *base;
    atomic_int requests; /* on_request applies the fault to this many more requests */
    atomic_int accepts;  /* on_accept applies it to this many more connections */
} F;

static enum hook_verdict hook_request(void *arg, struct conn *c, struct http_request *req,
                                      const struct route *route)
{
    (void)arg;
    if (atomic_load(&F.requests) <= 0)
        return HOOK_PASS;
    atomic_fetch_sub(&F.requests, 1);
    char note[128] = "";
    struct fault_request fr = {.ctx = F.ctx,
                               .conn = c,
                               .req = req,
                               .route = route,
                               .base = F.base,
                               .note = note,
                               .note_len = sizeof note};
    return F.type->on_request(&fr);
}

static enum hook_verdict hook_accept(void *arg, struct conn *c)
{
    (void)arg;
    if (atomic_load(&F.accepts) <= 0)
        return HOOK_PASS;
    atomic_fetch_sub(&F.accepts, 1);
    struct fault_accept fa = {.ctx = F.ctx, .conn = c, .base = F.base};
    return F.type->on_accept(&fa);
}

static const struct mockapi_hooks hooks = {.on_request = hook_request, .on_accept = hook_accept};

static void get_base(void *arg, struct mockapi_server *s)
{
    (void)arg;
    F.base = mockapi_server_base(s);
}

/* Parse spec (JSON) with type's parser; fails the test on any error. */
static void *parse_ok(const struct fault_type *type, const char *spec)
{
    struct diag d;
    void *ctx = NULL;
    diag_init(&d, "test");
    cJSON *j = cJSON_Parse(spec);
    assert_non_null(j);
    int rc = type->parse ? type->parse(j, "rules[0].fault", &d, &ctx) : 0;
    if (rc < 0 || d.n) {
        diag_print(&d, stderr);
        diag_release(&d);
        cJSON_Delete(j);
        fail_msg("%s: cannot parse %s", type->name, spec);
    }
    cJSON_Delete(j);
    diag_release(&d);
    return ctx;
}

static int teardown(void **state)
{
    int rc = itest_teardown(state); /* the server goes first: no connection still uses ctx */
    if (F.type && F.ctx)
        (F.type->free ? F.type->free : free)(F.ctx);
    memset(&F, 0, sizeof F);
    return rc;
}

/* Start a server (plain HTTP unless tls) whose hooks apply type with spec. */
static struct itest *start(void **state, int tls, const struct fault_type *type, const char *spec)
{
    memset(&F, 0, sizeof F);
    F.type = type;
    F.ctx = parse_ok(type, spec);
    struct itest_opts o = {0};
    o.tls = tls;
    o.hooks = &hooks;
    struct itest *t = itest_start(state, &o);
    itest_run(t, get_base, NULL);
    return t;
}

/* The whole answer to GET path as the server sends it unshaped (F.requests must be 0). */
static size_t plain_length(struct itest *t, const char *raw)
{
    struct itest_buf b;
    struct itest_raw_resp rr;
    char req[256];
    snprintf(req, sizeof req, "%.*sConnection: close\r\n\r\n", (int)(strlen(raw) - 2), raw);
    itest_tcp_exchange(t, req, strlen(req), READ_MS, &b);
    size_t n = itest_raw_parse(b.data, b.len, &rr);
    assert_int_equal(rr.code, 200);
    assert_int_equal(n, b.len);
    itest_buf_release(&b);
    return n;
}

/* ---- reset ---- */

static void test_reset_before_response(void **state)
{
    struct itest *t = start(state, 0, &fault_type_reset, "{\"type\":\"reset\"}");
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, GET_VERSION, strlen(GET_VERSION), READ_MS, &b);
    assert_int_equal(b.len, 0);
    assert_true(b.reset);
    itest_buf_release(&b);

    struct itest_req r = {.path = "/version"};
    struct itest_resp resp;
    atomic_store(&F.requests, 1);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_RECV_ERROR); /* 56: Connection reset by peer */
    assert_int_equal(resp.code, 0);
    itest_resp_release(&resp);
    itest_must(t, "GET", "/version", NULL, NULL, 200); /* the fault hit one request only */
}

static void test_reset_after_headers(void **state)
{
    struct itest *t =
        start(state, 0, &fault_type_reset, "{\"type\":\"reset\",\"at\":\"after-headers\"}");
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, GET_API_V1, strlen(GET_API_V1), READ_MS, &b);
    assert_true(b.reset);
    assert_true(b.len > 20);
    assert_memory_equal(b.data, "HTTP/1.1 200 OK\r\n", 17);
    assert_non_null(strstr(b.data, "\r\n\r\n"));
    assert_int_equal((size_t)(strstr(b.data, "\r\n\r\n") - b.data) + 4, b.len); /* no body */
    itest_buf_release(&b);
}

static void test_reset_after_headers_of_watch(void **state)
{
    /* a streamed answer: the head is written alone when the watch starts */
    struct itest *t =
        start(state, 0, &fault_type_reset, "{\"type\":\"reset\",\"at\":\"after-headers\"}");
    const char *req = "GET " CMS "?watch=true HTTP/1.1\r\nHost: t\r\n\r\n";
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, req, strlen(req), READ_MS, &b);
    assert_true(b.reset);
    assert_non_null(strstr(b.data, "Transfer-Encoding: chunked\r\n"));
    assert_int_equal((size_t)(strstr(b.data, "\r\n\r\n") - b.data) + 4, b.len);
    itest_buf_release(&b);
    itest_must(t, "GET", CMS, NULL, NULL, 200);
}

static void test_reset_after_bytes(void **state)
{
    struct itest *t =
        start(state, 0, &fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":300}}");
    size_t full = plain_length(t, GET_API_V1);
    assert_true(full > 1000);
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, GET_API_V1, strlen(GET_API_V1), READ_MS, &b);
    assert_int_equal(b.len, 300);
    assert_true(b.reset);
    assert_false(b.eof);
    itest_buf_release(&b);

    struct itest_req r = {.path = "/api/v1"};
    struct itest_resp resp;
    atomic_store(&F.requests, 1);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_RECV_ERROR); /* 56, mid-body */
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
}

static void test_reset_after_bytes_past_the_end(void **state)
{
    /* a cut beyond the answer: all of it leaves, then the RST */
    struct itest *t =
        start(state, 0, &fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":1000000}}");
    struct itest_buf b;
    struct itest_raw_resp rr;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, GET_VERSION, strlen(GET_VERSION), READ_MS, &b);
    assert_true(b.reset);
    assert_int_equal(itest_raw_parse(b.data, b.len, &rr), b.len);
    assert_int_equal(rr.code, 200);
    itest_buf_release(&b);
}

static void test_reset_over_tls(void **state)
{
    struct itest *t =
        start(state, 1, &fault_type_reset, "{\"type\":\"reset\",\"at\":{\"afterBytes\":400}}");
    struct itest_req r = {.path = "/api/v1"};
    struct itest_resp resp;
    atomic_store(&F.requests, 1);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_RECV_ERROR);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
    itest_must(t, "GET", "/api/v1", NULL, NULL, 200);
}

/* ---- close ---- */

static void test_close_empty_reply(void **state)
{
    struct itest *t = start(state, 0, &fault_type_close, "{\"type\":\"close\"}");
    struct itest_req r = {.path = "/version"};
    struct itest_resp resp;
    atomic_store(&F.requests, 1);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_GOT_NOTHING); /* 52: Empty reply from server */
    itest_resp_release(&resp);

    struct itest_buf b;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, GET_VERSION, strlen(GET_VERSION), READ_MS, &b);
    assert_int_equal(b.len, 0);
    assert_true(b.eof);
    assert_false(b.reset);
    itest_buf_release(&b);
}

static void test_close_after_bytes(void **state)
{
    struct itest *t = start(state, 0, &fault_type_close, "{\"type\":\"close\",\"afterBytes\":333}");
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    itest_tcp_exchange(t, GET_API_V1, strlen(GET_API_V1), READ_MS, &b);
    assert_int_equal(b.len, 333);
    assert_true(b.eof);
    assert_false(b.reset);
    itest_buf_release(&b);

    struct itest_req r = {.path = "/api/v1"};
    struct itest_resp resp;
    atomic_store(&F.requests, 1);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_PARTIAL_FILE); /* 18: the body ended early */
    itest_resp_release(&resp);
}

static void test_close_over_tls(void **state)
{
    struct itest *t = start(state, 1, &fault_type_close, "{\"type\":\"close\"}");
    struct itest_req r = {.path = "/version"};
    struct itest_resp resp;
    atomic_store(&F.requests, 1);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_GOT_NOTHING);
    itest_resp_release(&resp);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

/* ---- drip ---- */

/* Read from fd until EOF, noting how many bytes had arrived by at_ms after start. */
static void read_timed(int fd, int64_t start_ms, int64_t at_ms, size_t *by_at, size_t *total,
                       int64_t *end_ms, int timeout_ms)
{
    int64_t deadline = itest_now_ms() + timeout_ms;
    *total = 0;
    *by_at = (size_t)-1;
    for (;;) {
        int64_t now = itest_now_ms();
        if (*by_at == (size_t)-1 && now - start_ms >= at_ms)
            *by_at = *total;
        if (now >= deadline)
            fail_msg("no EOF within %d ms (%zu bytes)", timeout_ms, *total);
        int wait = (int)(deadline - now);
        if (*by_at == (size_t)-1 && start_ms + at_ms - now < wait)
            wait = (int)(start_ms + at_ms - now);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait < 1 ? 1 : wait) <= 0)
            continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n >= 0);
        if (n == 0)
            break;
        *total += (size_t)n;
    }
    *end_ms = itest_now_ms();
    if (*by_at == (size_t)-1)
        *by_at = *total;
}

static void test_drip_paced(void **state)
{
    struct itest *t =
        start(state, 0, &fault_type_drip, "{\"type\":\"drip\",\"bytes\":64,\"every\":\"100ms\"}");
    const char *req = "GET /version HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    size_t full = plain_length(t, GET_VERSION);
    size_t slices = (full + 63) / 64;
    assert_true(slices >= 3);
    int64_t expect = (int64_t)(slices - 1) * 100;
    atomic_store(&F.requests, 1);
    int fd = itest_tcp_connect(t);
    int64_t t0 = itest_now_ms();
    itest_tcp_send(fd, req, strlen(req));
    size_t by_150 = 0, total = 0;
    int64_t end = 0;
    read_timed(fd, t0, 150, &by_150, &total, &end, (int)expect + SLACK_MS + 1000);
    close(fd);
    assert_int_equal(total, full);
    assert_true(by_150 >= 64 && by_150 <= 128); /* two slices at most: 0 ms and 100 ms */
    assert_true(end - t0 >= expect - COARSE_MS);
    assert_true(end - t0 <= expect + SLACK_MS);
}

static void test_drip_over_tls(void **state)
{
    struct itest *t =
        start(state, 1, &fault_type_drip, "{\"type\":\"drip\",\"bytes\":1000,\"every\":\"50ms\"}");
    struct itest_req r = {.path = "/api/v1"};
    struct itest_resp plain, resp;
    itest_request(t, &r, &plain);
    assert_int_equal(plain.curl, CURLE_OK);
    atomic_store(&F.requests, 1);
    int64_t t0 = itest_now_ms();
    itest_request(t, &r, &resp);
    int64_t took = itest_now_ms() - t0;
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 200);
    assert_int_equal(resp.len, plain.len);
    assert_memory_equal(resp.body, plain.body, plain.len);
    /* the head and body are more than len bytes: at least len / 1000 pauses of 50 ms */
    int64_t expect = (int64_t)(plain.len / 1000) * 50;
    assert_true(took >= expect - COARSE_MS);
    assert_true(took <= expect + SLACK_MS);
    itest_resp_release(&plain);
    itest_resp_release(&resp);
}

static void test_drip_keep_alive(void **state)
{
    /* answers on one kept-alive connection: dripped, then normal, then dripped again */
    struct itest *t =
        start(state, 0, &fault_type_drip, "{\"type\":\"drip\",\"bytes\":100,\"every\":\"20ms\"}");
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {.path = "/api/v1"};
    struct itest_resp resp[3];
    for (int i = 0; i < 3; i++) {
        atomic_store(&F.requests, i == 1 ? 0 : 1);
        itest_client_request(cl, &r, &resp[i]);
    }
    itest_client_free(cl);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(resp[i].curl, CURLE_OK);
        assert_int_equal(resp[i].code, 200);
        assert_int_equal(resp[i].len, resp[0].len);
        assert_memory_equal(resp[i].body, resp[0].body, resp[0].len);
        if (i)
            assert_int_equal(resp[i].connects, 0);
    }
    for (int i = 0; i < 3; i++)
        itest_resp_release(&resp[i]);
}

static void test_drip_stall_after_headers(void **state)
{
    struct itest *t =
        start(state, 0, &fault_type_drip,
              "{\"type\":\"drip\",\"stallAfter\":\"headers\",\"stallFor\":\"600ms\"}");
    const char *req = "GET /api/v1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    size_t full = plain_length(t, GET_API_V1);
    atomic_store(&F.requests, 1);
    int fd = itest_tcp_connect(t);
    int64_t t0 = itest_now_ms();
    itest_tcp_send(fd, req, strlen(req));
    struct itest_buf head;
    itest_tcp_read(fd, 300, &head); /* only the head within 300 ms */
    assert_false(head.eof);
    assert_non_null(strstr(head.data, "\r\n\r\n"));
    assert_int_equal((size_t)(strstr(head.data, "\r\n\r\n") - head.data) + 4, head.len);
    struct itest_buf rest;
    itest_tcp_read(fd, 600 + SLACK_MS, &rest);
    int64_t took = itest_now_ms() - t0;
    close(fd);
    assert_true(rest.eof);
    assert_int_equal(head.len + rest.len, full);
    assert_true(took >= 600 - COARSE_MS);
    assert_true(took <= 600 + SLACK_MS);
    itest_buf_release(&head);
    itest_buf_release(&rest);
}

static void test_drip_stall_for_good_client_leaves(void **state)
{
    /* the server holds the rest for good; the client gives up: the held bytes, the state and the
     * timer go with the connection (the sanitizer build checks) */
    struct itest *t =
        start(state, 0, &fault_type_drip,
              "{\"type\":\"drip\",\"bytes\":10,\"every\":\"20ms\",\"stallAfter\":50}");
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, GET_API_V1, strlen(GET_API_V1));
    itest_tcp_read(fd, 500, &b);
    assert_int_equal(b.len, 50);
    assert_false(b.eof);
    itest_buf_release(&b);
    close(fd);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_drip_client_leaves_mid_drip(void **state)
{
    /* a timer is pending when the client goes: it must never fire on the freed connection */
    struct itest *t =
        start(state, 0, &fault_type_drip, "{\"type\":\"drip\",\"bytes\":8,\"every\":\"30ms\"}");
    struct itest_buf b;
    atomic_store(&F.requests, 1);
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, GET_API_V1, strlen(GET_API_V1));
    itest_tcp_read(fd, 100, &b);
    assert_true(b.len >= 8 && b.len < 100);
    itest_buf_release(&b);
    close(fd);
    struct itest_buf later;
    itest_tcp_exchange(t, GET_VERSION, strlen(GET_VERSION), 300, &later); /* let timers run */
    itest_buf_release(&later);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_drip_watch_stream(void **state)
{
    /* a streamed answer: each event is dripped as it is written; the client leaves mid-stream */
    struct itest *t =
        start(state, 0, &fault_type_drip, "{\"type\":\"drip\",\"bytes\":16,\"every\":\"20ms\"}");
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"a\"}}", 201);
    const char *req = "GET " CMS "?watch=true HTTP/1.1\r\nHost: t\r\n\r\n";
    atomic_store(&F.requests, 1);
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, req, strlen(req));
    struct itest_buf b;
    itest_tcp_read(fd, 1500, &b);
    assert_non_null(strstr(b.data, "\"ADDED\""));
    itest_buf_release(&b);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"b\"}}", 201);
    itest_tcp_read(fd, 60, &b); /* part of the next event, with a timer pending */
    itest_buf_release(&b);
    close(fd);
    itest_must(t, "GET", CMS "/b", NULL, NULL, 200);
}

/* ---- refuse and blackhole: the listener ---- */

struct mode_req {
    enum listen_mode mode;
    int rc;
    enum listen_mode now;
    char err[256];
};

static void set_mode(void *arg, struct mockapi_server *s)
{
    struct mode_req *m = arg;
    m->rc = mockapi_server_listen_mode(s, m->mode, m->err, sizeof m->err);
    m->now = mockapi_server_get_listen_mode(s);
}

static void switch_mode(struct itest *t, enum listen_mode mode)
{
    struct mode_req m = {.mode = mode};
    itest_run(t, set_mode, &m);
    if (m.rc != 0)
        fail_msg("listen mode %d: %s", (int)mode, m.err);
    assert_int_equal(m.now, mode);
}

static void test_refuse_then_reopen(void **state)
{
    struct itest *t = start(state, 0, &fault_type_refuse, "{\"type\":\"refuse\"}");
    itest_must(t, "GET", "/version", NULL, NULL, 200);
    switch_mode(t, LISTEN_REFUSE);
    assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), ECONNREFUSED);
    struct itest_req r = {.path = "/version"};
    struct itest_resp resp;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_COULDNT_CONNECT); /* 7 */
    itest_resp_release(&resp);
    switch_mode(t, LISTEN_NORMAL); /* the same port again */
    assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), 0);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_refuse_keeps_open_connections(void **state)
{
    /* "connections already accepted are not touched" */
    struct itest *t = start(state, 0, &fault_type_refuse, "{\"type\":\"refuse\"}");
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {.path = "/version"};
    struct itest_resp resp;
    itest_client_request(cl, &r, &resp);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
    switch_mode(t, LISTEN_REFUSE);
    itest_client_request(cl, &r, &resp); /* the kept-alive connection still answers */
    assert_int_equal(resp.code, 200);
    assert_int_equal(resp.connects, 0);
    itest_resp_release(&resp);
    itest_client_free(cl);
    switch_mode(t, LISTEN_NORMAL);
}

static void test_blackhole_times_out_then_recovers(void **state)
{
    struct itest *t = start(state, 0, &fault_type_blackhole, "{\"type\":\"blackhole\"}");
    /* an unaffected port on the same host connects while ours hangs */
    int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t slen = sizeof sin;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(other, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(other, 16), 0);
    assert_int_equal(getsockname(other, (struct sockaddr *)&sin, &slen), 0);

    switch_mode(t, LISTEN_BLACKHOLE);
    int64_t took = 0;
    for (int i = 0; i < 3; i++) { /* every try, not only the first */
        assert_int_equal(itest_try_connect(itest_port(t), 1000, &took), ETIMEDOUT);
        assert_true(took >= 1000 && took < 1000 + SLACK_MS);
    }
    assert_int_equal(itest_try_connect(ntohs(sin.sin_port), 1000, NULL), 0);
    struct itest_req r = {.path = "/version", .timeout_ms = 1000};
    struct itest_resp resp;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OPERATION_TIMEDOUT); /* 28 */
    itest_resp_release(&resp);

    switch_mode(t, LISTEN_NORMAL);
    assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), 0);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
    close(other);
}

static void test_listener_mode_switches(void **state)
{
    /* refuse -> blackhole -> refuse -> normal, and setting the current mode again */
    struct itest *t = start(state, 0, &fault_type_refuse, "{\"type\":\"refuse\"}");
    switch_mode(t, LISTEN_REFUSE);
    switch_mode(t, LISTEN_BLACKHOLE);
    assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), ETIMEDOUT);
    switch_mode(t, LISTEN_BLACKHOLE);
    switch_mode(t, LISTEN_REFUSE);
    assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), ECONNREFUSED);
    switch_mode(t, LISTEN_NORMAL);
    switch_mode(t, LISTEN_NORMAL);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_listener_mode_cycles(void **state)
{
    /* many switches in a row keep the port: no TIME_WAIT or leftover socket blocks the reopen */
    struct itest *t = start(state, 0, &fault_type_blackhole, "{\"type\":\"blackhole\"}");
    for (int i = 0; i < 20; i++) {
        switch_mode(t, i % 2 ? LISTEN_BLACKHOLE : LISTEN_REFUSE);
        if (i % 5 == 0)
            assert_int_equal(itest_try_connect(itest_port(t), 200, NULL),
                             i % 2 ? ETIMEDOUT : ECONNREFUSED);
        switch_mode(t, LISTEN_NORMAL);
        assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), 0);
    }
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_blackhole_over_tls(void **state)
{
    struct itest *t = start(state, 1, &fault_type_blackhole, "{\"type\":\"blackhole\"}");
    switch_mode(t, LISTEN_BLACKHOLE);
    assert_int_equal(itest_try_connect(itest_port(t), 1000, NULL), ETIMEDOUT);
    switch_mode(t, LISTEN_NORMAL);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

/* ---- accept-reset and accept-hang ---- */

static void test_accept_reset(void **state)
{
    struct itest *t = start(state, 0, &fault_type_accept_reset, "{\"type\":\"accept-reset\"}");
    atomic_store(&F.accepts, 1);
    int fd = itest_tcp_connect(t);
    struct itest_buf b;
    itest_tcp_read(fd, READ_MS, &b); /* nothing sent: the RST comes on its own */
    close(fd);
    assert_int_equal(b.len, 0);
    assert_true(b.reset);
    itest_buf_release(&b);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_accept_reset_tls(void **state)
{
    struct itest *t = start(state, 1, &fault_type_accept_reset, "{\"type\":\"accept-reset\"}");
    atomic_store(&F.accepts, 1);
    struct itest_req r = {.path = "/version"};
    struct itest_resp resp;
    itest_request(t, &r, &resp);
    assert_int_not_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 0);
    itest_resp_release(&resp);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_accept_hang(void **state)
{
    struct itest *t = start(state, 0, &fault_type_accept_hang, "{\"type\":\"accept-hang\"}");
    atomic_store(&F.accepts, 1);
    struct itest_req r = {.path = "/version", .timeout_ms = 1000};
    struct itest_resp resp;
    int64_t t0 = itest_now_ms();
    itest_request(t, &r, &resp);
    int64_t took = itest_now_ms() - t0;
    assert_int_equal(resp.curl, CURLE_OPERATION_TIMEDOUT);
    assert_true(took >= 1000 && took < 1000 + SLACK_MS);
    itest_resp_release(&resp);

    atomic_store(&F.accepts, 1); /* a raw client: connected, sent, nothing back, no close */
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, GET_VERSION, strlen(GET_VERSION));
    struct itest_buf b;
    itest_tcp_read(fd, 500, &b);
    close(fd);
    assert_int_equal(b.len, 0);
    assert_false(b.eof);
    assert_false(b.reset);
    itest_buf_release(&b);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

static void test_accept_hang_tls(void **state)
{
    struct itest *t = start(state, 1, &fault_type_accept_hang, "{\"type\":\"accept-hang\"}");
    atomic_store(&F.accepts, 1);
    struct itest_req r = {.path = "/version", .timeout_ms = 1000};
    struct itest_resp resp;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&resp);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reset_before_response, teardown),
        cmocka_unit_test_teardown(test_reset_after_headers, teardown),
        cmocka_unit_test_teardown(test_reset_after_headers_of_watch, teardown),
        cmocka_unit_test_teardown(test_reset_after_bytes, teardown),
        cmocka_unit_test_teardown(test_reset_after_bytes_past_the_end, teardown),
        cmocka_unit_test_teardown(test_reset_over_tls, teardown),
        cmocka_unit_test_teardown(test_close_empty_reply, teardown),
        cmocka_unit_test_teardown(test_close_after_bytes, teardown),
        cmocka_unit_test_teardown(test_close_over_tls, teardown),
        cmocka_unit_test_teardown(test_drip_paced, teardown),
        cmocka_unit_test_teardown(test_drip_over_tls, teardown),
        cmocka_unit_test_teardown(test_drip_keep_alive, teardown),
        cmocka_unit_test_teardown(test_drip_stall_after_headers, teardown),
        cmocka_unit_test_teardown(test_drip_stall_for_good_client_leaves, teardown),
        cmocka_unit_test_teardown(test_drip_client_leaves_mid_drip, teardown),
        cmocka_unit_test_teardown(test_drip_watch_stream, teardown),
        cmocka_unit_test_teardown(test_refuse_then_reopen, teardown),
        cmocka_unit_test_teardown(test_refuse_keeps_open_connections, teardown),
        cmocka_unit_test_teardown(test_blackhole_times_out_then_recovers, teardown),
        cmocka_unit_test_teardown(test_listener_mode_switches, teardown),
        cmocka_unit_test_teardown(test_listener_mode_cycles, teardown),
        cmocka_unit_test_teardown(test_blackhole_over_tls, teardown),
        cmocka_unit_test_teardown(test_accept_reset, teardown),
        cmocka_unit_test_teardown(test_accept_reset_tls, teardown),
        cmocka_unit_test_teardown(test_accept_hang, teardown),
        cmocka_unit_test_teardown(test_accept_hang_tls, teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
