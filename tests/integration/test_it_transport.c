/* test_it_transport.c -- HTTP/1.1 over real sockets: keep-alive, pipelining, chunked bodies, the
 * caps (414, 431, 413, too many query parameters), malformed requests, many connections, clients
 * that vanish; TLS with the bearer token, public paths, plain HTTP without one */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "mockapi/http/http.h"
#include "mockapi/kube/watch.h"

#define CONCURRENT_CONNS 200

static struct itest *start_plain(void **state)
{
    struct itest_opts o = {0};
    return itest_start(state, &o);
}

static struct itest *start_tls(void **state)
{
    struct itest_opts o = {0};
    o.tls = 1;
    return itest_start(state, &o);
}

/* The server still answers GET /version on a new connection. */
static void assert_still_serving(struct itest *t)
{
    long code;
    cJSON *v = itest_json(t, "GET", "/version", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(v, "minor"), "32");
    cJSON_Delete(v);
}

/* 1 when needle occurs in hay[0..len). */
static int contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* Parse the first raw response in b and check it is a Status with this code and message. */
static void assert_raw_status(const struct itest_buf *b, int code, const char *reason,
                              const char *message)
{
    struct itest_raw_resp r;
    if (!itest_raw_parse(b->data, b->len, &r))
        fail_msg("no complete response in %zu bytes (eof %d, reset %d): %.200s", b->len, b->eof,
                 b->reset, b->data);
    assert_int_equal(r.code, code);
    cJSON *st = cJSON_ParseWithLength(r.body, r.body_len);
    if (!st)
        fail_msg("body is not JSON: %.*s", (int)r.body_len, r.body);
    long c = code;
    itest_assert_status(st, &c, code, reason, message);
}

/* ---- keep-alive and pipelining ---- */

static void test_keep_alive(void **state)
{
    struct itest *t = start_plain(state);
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {0};
    struct itest_resp a, b;
    r.path = "/version";
    itest_client_request(cl, &r, &a);
    r.path = "/api/v1/namespaces/default/pods";
    itest_client_request(cl, &r, &b);
    assert_int_equal(a.curl, CURLE_OK);
    assert_int_equal(b.curl, CURLE_OK);
    assert_int_equal(a.code, 200);
    assert_int_equal(b.code, 200);
    assert_int_equal(a.connects, 1);
    assert_int_equal(b.connects, 0); /* the second reused the first connection */
    char conn[64];
    assert_null(itest_resp_header(&a, "Connection", conn, sizeof conn));
    itest_resp_release(&a);
    itest_resp_release(&b);
    itest_client_free(cl);
}

static void test_keep_alive_tls(void **state)
{
    struct itest *t = start_tls(state);
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {0};
    struct itest_resp a, b;
    r.path = "/api/v1/namespaces";
    itest_client_request(cl, &r, &a);
    itest_client_request(cl, &r, &b);
    assert_int_equal(a.code, 200);
    assert_int_equal(b.code, 200);
    assert_int_equal(a.connects, 1);
    assert_int_equal(b.connects, 0);
    itest_resp_release(&a);
    itest_resp_release(&b);
    itest_client_free(cl);
}

static void test_pipelined_in_order(void **state)
{
    struct itest *t = start_plain(state);
    static const char req[] = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /api/v1/namespaces/default HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    assert_true(b.eof); /* closed after the last one, as it asked */
    struct itest_raw_resp r;
    size_t off = 0, n;
    const char *want[] = {"\"gitVersion\":\"v1.32.0\"", "ok", "\"kind\":\"Namespace\"",
                          "\"kind\":\"APIVersions\""};
    for (size_t i = 0; i < 4; i++) {
        n = itest_raw_parse(b.data + off, b.len - off, &r);
        if (!n)
            fail_msg("response %zu missing: %.300s", i + 1, b.data + off);
        assert_int_equal(r.code, 200);
        char body[4096];
        snprintf(body, sizeof body, "%.*s", (int)r.body_len, r.body);
        if (!strstr(body, want[i]))
            fail_msg("response %zu out of order: %.200s", i + 1, body);
        off += n;
    }
    assert_int_equal(off, b.len); /* nothing more */
    itest_buf_release(&b);
}

static void test_pipelined_split_writes(void **state)
{
    /* one request split across writes, the next glued to its tail */
    struct itest *t = start_plain(state);
    int fd = itest_tcp_connect(t);
    static const char p1[] = "GET /vers";
    static const char p2[] = "ion HTTP/1.1\r\nHo";
    static const char p3[] =
        "st: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    itest_tcp_send(fd, p1, sizeof p1 - 1);
    usleep(20000);
    itest_tcp_send(fd, p2, sizeof p2 - 1);
    usleep(20000);
    itest_tcp_send(fd, p3, sizeof p3 - 1);
    struct itest_buf b;
    itest_tcp_read(fd, ITEST_WAIT_MS, &b);
    close(fd);
    struct itest_raw_resp r;
    size_t n = itest_raw_parse(b.data, b.len, &r);
    assert_true(n > 0);
    assert_int_equal(r.code, 200);
    size_t m = itest_raw_parse(b.data + n, b.len - n, &r);
    assert_true(m > 0);
    assert_int_equal(r.code, 200);
    assert_int_equal(r.body_len, 2);
    assert_memory_equal(r.body, "ok", 2);
    itest_buf_release(&b);
}

static void test_head_has_no_body(void **state)
{
    /* RFC 9110 9.3.2: a HEAD answer carries no content, so the next response on the connection
     * starts right after its headers (Go's net/http drops the body of HEAD answers) */
    struct itest *t = start_plain(state);
    static const char req[] = "HEAD /version HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    const char *end = strstr(b.data, "\r\n\r\n");
    assert_non_null(end);
    assert_int_equal(strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17), 0);
    if (strncmp(end + 4, "HTTP/1.1 200 OK\r\n", 17) != 0) {
        char after[96];
        snprintf(after, sizeof after, "%.80s", end + 4);
        itest_buf_release(&b);
        fail_msg("bytes after the HEAD answer's headers: %s", after);
    }
    itest_buf_release(&b);
}

static void test_expect_100_continue(void **state)
{
    struct itest *t = start_plain(state);
    static const char body[] = "{\"metadata\":{\"name\":\"cont\"}}";
    char head[512];
    int n = snprintf(head, sizeof head,
                     "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Expect: 100-continue\r\nConnection: close\r\n\r\n",
                     sizeof body - 1);
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, head, (size_t)n);
    /* the interim answer comes before the body is sent */
    char interim[64] = "";
    size_t got = 0;
    int64_t deadline = itest_now_ms() + ITEST_WAIT_MS;
    while (got < 25 && itest_now_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) == 1) {
            ssize_t r = recv(fd, interim + got, 25 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
    }
    assert_string_equal(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    itest_tcp_send(fd, body, sizeof body - 1);
    struct itest_buf b;
    itest_tcp_read(fd, ITEST_WAIT_MS, &b);
    close(fd);
    struct itest_raw_resp r;
    assert_true(itest_raw_parse(b.data, b.len, &r) > 0);
    assert_int_equal(r.code, 201);
    itest_buf_release(&b);
}

/* ---- request bodies ---- */

static void test_chunked_request_body(void **state)
{
    struct itest *t = start_plain(state);
    /* ~5 KB so the client sends several chunks */
    char body[8192];
    char big[5001];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"chunky\"},"
             "\"data\":{\"big\":\"%s\"}}",
             big);
    struct itest_req r = {0};
    struct itest_resp resp;
    r.method = "POST";
    r.path = "/api/v1/namespaces/default/configmaps";
    r.body = body;
    r.chunked = 1;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 201);
    cJSON *j = cJSON_Parse(resp.body);
    assert_non_null(j);
    assert_string_equal(itest_jstr(j, "data.big"), big);
    cJSON_Delete(j);
    itest_resp_release(&resp);
}

static void test_chunked_request_body_raw(void **state)
{
    struct itest *t = start_plain(state);
    static const char req[] = "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n"
                              "Host: x\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                              "10\r\n{\"metadata\":{\"na\r\n"
                              "d\r\nme\":\"raw-cm\"}\r\n"
                              "1a\r\n,\"data\":{\"k\":\"v\"},\"kind\":\"\r\n"
                              "c\r\nConfigMap\"}\n\r\n"
                              "0\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    struct itest_raw_resp r;
    assert_true(itest_raw_parse(b.data, b.len, &r) > 0);
    if (r.code != 201)
        fail_msg("%d: %.*s", r.code, (int)r.body_len, r.body);
    itest_buf_release(&b);
    long code;
    cJSON *j = itest_json(t, "GET", "/api/v1/namespaces/default/configmaps/raw-cm", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "data.k"), "v");
    cJSON_Delete(j);
}

/* ---- malformed requests and caps ---- */

static void test_malformed_request_line(void **state)
{
    struct itest *t = start_plain(state);
    static const char req[] = "GARBAGE\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    assert_true(b.eof); /* answered, then closed */
    struct itest_raw_resp r;
    assert_true(itest_raw_parse(b.data, b.len, &r) > 0);
    assert_int_equal(r.code, 400);
    assert_non_null(strstr(r.head, "Connection: close"));
    cJSON *st = cJSON_ParseWithLength(r.body, r.body_len);
    assert_non_null(st);
    assert_string_equal(itest_jstr(st, "reason"), "BadRequest");
    const char *msg = itest_jstr(st, "message");
    assert_non_null(msg);
    assert_int_equal(strncmp(msg, "malformed HTTP request: ", 24), 0);
    cJSON_Delete(st);
    itest_buf_release(&b);
    assert_still_serving(t);
}

static void test_malformed_after_good_request(void **state)
{
    /* a good request, then junk on the same connection: the first is answered, then a 400 */
    struct itest *t = start_plain(state);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02junk\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    struct itest_raw_resp r;
    size_t n = itest_raw_parse(b.data, b.len, &r);
    assert_true(n > 0);
    assert_int_equal(r.code, 200);
    assert_true(itest_raw_parse(b.data + n, b.len - n, &r) > 0);
    assert_int_equal(r.code, 400);
    assert_true(b.eof);
    itest_buf_release(&b);
    assert_still_serving(t);
}

static void test_oversized_headers_431(void **state)
{
    struct itest *t = start_plain(state);
    size_t big = HTTP_MAX_HEADER_BYTES + 1000;
    char *req = malloc(big + 200);
    assert_non_null(req);
    int n = snprintf(req, 200, "GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + n, 'a', big);
    memcpy(req + n + big, "\r\n\r\n", 4);
    struct itest_buf b;
    itest_tcp_exchange(t, req, (size_t)n + big + 4, ITEST_WAIT_MS, &b);
    free(req);
    assert_raw_status(&b, 431, NULL,
                      "request headers larger than 65536 bytes or more than 128 lines");
    itest_buf_release(&b);
    assert_still_serving(t);
}

static void test_too_many_headers_431(void **state)
{
    struct itest *t = start_plain(state);
    char req[16384];
    size_t n = (size_t)snprintf(req, sizeof req, "GET /version HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < HTTP_MAX_HEADER_COUNT; i++)
        n += (size_t)snprintf(req + n, sizeof req - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    assert_true(n < sizeof req);
    struct itest_buf b;
    itest_tcp_exchange(t, req, n, ITEST_WAIT_MS, &b);
    assert_raw_status(&b, 431, NULL,
                      "request headers larger than 65536 bytes or more than 128 lines");
    itest_buf_release(&b);
    assert_still_serving(t);
}

static void test_max_headers_accepted(void **state)
{
    /* exactly HTTP_MAX_HEADER_COUNT header lines is fine */
    struct itest *t = start_plain(state);
    char req[16384];
    size_t n = (size_t)snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nConnection: close\r\n");
    for (int i = 0; i < HTTP_MAX_HEADER_COUNT - 1; i++)
        n += (size_t)snprintf(req + n, sizeof req - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    struct itest_buf b;
    itest_tcp_exchange(t, req, n, ITEST_WAIT_MS, &b);
    struct itest_raw_resp r;
    assert_true(itest_raw_parse(b.data, b.len, &r) > 0);
    assert_int_equal(r.code, 200);
    itest_buf_release(&b);
}

static void test_uri_too_long_414(void **state)
{
    struct itest *t = start_plain(state);
    size_t plen = HTTP_MAX_URL_BYTES + 10;
    char *req = malloc(plen + 100);
    assert_non_null(req);
    size_t n = (size_t)snprintf(req, 100, "GET /api/v1/namespaces/");
    memset(req + n, 'a', plen);
    n += plen;
    n += (size_t)snprintf(req + n, 100, " HTTP/1.1\r\nHost: x\r\n\r\n");
    struct itest_buf b;
    itest_tcp_exchange(t, req, n, ITEST_WAIT_MS, &b);
    free(req);
    assert_raw_status(&b, 414, NULL, "request target longer than 16384 bytes");
    itest_buf_release(&b);
    assert_still_serving(t);
}

static void test_too_many_query_params(void **state)
{
    struct itest *t = start_plain(state);
    char path[2048];
    size_t n = (size_t)snprintf(path, sizeof path, "/api/v1/namespaces/default/pods?");
    for (int i = 0; i <= HTTP_MAX_QUERY_PARAMS; i++)
        n += (size_t)snprintf(path + n, sizeof path - n, "p%d=1&", i);
    long code;
    itest_assert_status(itest_json(t, "GET", path, NULL, &code), &code, 400, "BadRequest",
                        "too many query parameters");
    assert_still_serving(t);
}

static void test_body_over_cap_413_curl(void **state)
{
    struct itest *t = start_plain(state);
    size_t len = HTTP_MAX_BODY_BYTES + 1;
    char *body = malloc(len + 1);
    assert_non_null(body);
    memset(body, ' ', len);
    body[len] = '\0';
    struct itest_req r = {0};
    struct itest_resp resp;
    r.method = "POST";
    r.path = "/api/v1/namespaces/default/configmaps";
    r.body = body;
    r.body_len = len;
    r.timeout_ms = 10000;
    itest_request(t, &r, &resp);
    free(body);
    assert_int_equal(resp.code, 413);
    cJSON *st = cJSON_Parse(resp.body);
    if (!st)
        fail_msg("413 body is not JSON: %.200s", resp.body);
    long code = resp.code;
    itest_assert_status(st, &code, 413, "RequestEntityTooLarge",
                        "the request body is larger than 4194304 bytes");
    itest_resp_release(&resp);
    assert_still_serving(t);
}

static void test_body_over_cap_413_declared(void **state)
{
    /* Content-Length over the cap: answered from the headers alone */
    struct itest *t = start_plain(state);
    static const char req[] = "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: application/json\r\nContent-Length: 4194305\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    assert_raw_status(&b, 413, "RequestEntityTooLarge",
                      "the request body is larger than 4194304 bytes");
    assert_true(b.eof);
    itest_buf_release(&b);
    assert_still_serving(t);
}

static void test_body_over_cap_413_chunked(void **state)
{
    /* no length up front: the cap trips while the chunks arrive */
    struct itest *t = start_plain(state);
    int fd = itest_tcp_connect(t);
    static const char head[] = "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                               "Content-Type: application/json\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n";
    itest_tcp_send(fd, head, sizeof head - 1);
    size_t chunk = 64 * 1024;
    char *buf = malloc(chunk + 32);
    assert_non_null(buf);
    int n = snprintf(buf, 32, "%zx\r\n", chunk);
    memset(buf + n, ' ', chunk);
    memcpy(buf + n + chunk, "\r\n", 2);
    size_t sent = 0;
    while (sent <= HTTP_MAX_BODY_BYTES + chunk) {
        if (itest_tcp_try_send(fd, buf, (size_t)n + chunk + 2) < 0)
            break; /* the server answered and closed while we were still sending */
        sent += chunk;
    }
    free(buf);
    struct itest_buf b;
    itest_tcp_read(fd, ITEST_WAIT_MS, &b);
    close(fd);
    assert_raw_status(&b, 413, "RequestEntityTooLarge",
                      "the request body is larger than 4194304 bytes");
    itest_buf_release(&b);
    assert_still_serving(t);
}

/* ---- many connections, vanishing clients ---- */

static void test_concurrent_connections(void **state)
{
    struct itest *t = start_plain(state);
    int fds[CONCURRENT_CONNS];
    struct itest_buf bufs[CONCURRENT_CONNS];
    static const char req[] = "GET /api/v1/namespaces/default HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n";
    /* all connected before any request is sent: 200 connections open at once */
    for (int i = 0; i < CONCURRENT_CONNS; i++)
        fds[i] = itest_tcp_connect(t);
    for (int i = 0; i < CONCURRENT_CONNS; i++)
        itest_tcp_send(fds[i], req, sizeof req - 1);
    int64_t start = itest_now_ms();
    for (int i = 0; i < CONCURRENT_CONNS; i++) {
        itest_tcp_read(fds[i], ITEST_WAIT_MS, &bufs[i]);
        close(fds[i]);
    }
    int ok = 0;
    for (int i = 0; i < CONCURRENT_CONNS; i++) {
        struct itest_raw_resp r;
        if (itest_raw_parse(bufs[i].data, bufs[i].len, &r) && r.code == 200 &&
            contains(r.body, r.body_len, "\"name\":\"default\""))
            ok++;
        itest_buf_release(&bufs[i]);
    }
    assert_int_equal(ok, CONCURRENT_CONNS);
    assert_true(itest_now_ms() - start < 10000);
    assert_still_serving(t);
}

struct watch_count {
    size_t n;
};

static void count_watches(void *arg, struct mockapi_server *s)
{
    struct watch_count *wc = arg;
    wc->n = watch_hub_count(mockapi_server_watches(s));
}

static size_t watches_now(struct itest *t)
{
    struct watch_count wc = {0};
    itest_run(t, count_watches, &wc);
    return wc.n;
}

static void test_client_closes_mid_request(void **state)
{
    struct itest *t = start_plain(state);
    static const char *partial[] = {
        "GET /api/v1/namespaces/default/po",           /* mid request line */
        "GET /version HTTP/1.1\r\nHost: x\r\nUser-Ag", /* mid headers */
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"metadata\":", /* mid body
                                                                                        */
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"met", /* mid chunk */
    };
    for (size_t i = 0; i < sizeof partial / sizeof partial[0]; i++) {
        int fd = itest_tcp_connect(t);
        itest_tcp_send(fd, partial[i], strlen(partial[i]));
        close(fd);
        assert_still_serving(t);
    }
    /* a full request whose answer the client never reads, closed at once (RST on write) */
    for (int i = 0; i < 20; i++) {
        int fd = itest_tcp_connect(t);
        static const char req[] = "GET /openapi/v3/api/v1 HTTP/1.1\r\nHost: x\r\n\r\n";
        itest_tcp_send(fd, req, sizeof req - 1);
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    assert_still_serving(t);
    /* nothing was created from the half bodies */
    long code;
    cJSON *list = itest_json(t, "GET", "/api/v1/namespaces/default/configmaps", NULL, &code);
    assert_int_equal(code, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(list, "items")), 0);
    cJSON_Delete(list);
}

static void test_client_closes_watch(void **state)
{
    struct itest *t = start_plain(state);
    struct itest_stream *st[3];
    for (int i = 0; i < 3; i++)
        st[i] = itest_stream_open(t, "/api/v1/namespaces/default/pods?watch=true", NULL);
    assert_int_equal(watches_now(t), 3);
    for (int i = 0; i < 3; i++)
        itest_stream_close(st[i]);
    /* the server notices the closes and frees the watches */
    int64_t deadline = itest_now_ms() + ITEST_WAIT_MS;
    while (watches_now(t) != 0 && itest_now_ms() < deadline)
        usleep(10000);
    assert_int_equal(watches_now(t), 0);
    /* and events for the dead watches go nowhere */
    long code;
    cJSON_Delete(itest_json(t, "POST", "/api/v1/namespaces/default/configmaps",
                            "{\"metadata\":{\"name\":\"after\"}}", &code));
    assert_int_equal(code, 201);
    assert_still_serving(t);
}

static void test_server_stops_with_open_streams(void **state)
{
    /* watches and a kept-alive connection still open when the server is freed */
    struct itest *t = start_plain(state);
    struct itest_stream *w = itest_stream_open(t, "/api/v1/pods?watch=true", NULL);
    struct itest_stream *w2 =
        itest_stream_open(t, "/api/v1/namespaces/default/configmaps?watch=1", NULL);
    int fd = itest_tcp_connect(t);
    static const char half[] = "GET /version HTTP/1.1\r\n";
    itest_tcp_send(fd, half, sizeof half - 1);
    itest_stop(t);
    *state = NULL;
    CURLcode rc;
    assert_true(itest_stream_wait_end(w, ITEST_WAIT_MS, &rc));
    assert_true(itest_stream_wait_end(w2, ITEST_WAIT_MS, &rc));
    itest_stream_close(w);
    itest_stream_close(w2);
    struct itest_buf b;
    itest_tcp_read(fd, ITEST_WAIT_MS, &b);
    assert_true(b.eof || b.reset);
    itest_buf_release(&b);
    close(fd);
}

/* ---- authentication ---- */

static void test_tls_token_required(void **state)
{
    struct itest *t = start_tls(state);
    assert_non_null(itest_token(t));
    assert_int_equal(strncmp(itest_url(t), "https://127.0.0.1:", 18), 0);
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/api/v1/namespaces/default/pods";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);

    /* no token, a wrong one, and Basic credentials (not a bearer token) */
    const char *tokens[] = {"", "wrong-token", ""};
    const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        memset(&r, 0, sizeof r);
        r.path = "/api/v1/namespaces/default/pods";
        r.token = tokens[i];
        if (i == 2)
            r.headers = basic;
        itest_request(t, &r, &resp);
        assert_int_equal(resp.curl, CURLE_OK);
        cJSON *st = cJSON_Parse(resp.body);
        if (!st)
            fail_msg("401 body is not JSON: %.200s", resp.body);
        itest_assert_status(st, &resp.code, 401, "Unauthorized", "Unauthorized");
        itest_resp_release(&resp);
    }
}

static void test_tls_token_with_trailing_blanks(void **state)
{
    /* conn.h promises header values with surrounding blanks trimmed, as Go's net/http does: a
     * token followed by blanks is still the token */
    struct itest *t = start_tls(state);
    char hdr[512];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s  \t", itest_token(t));
    const char *hdrs[] = {hdr, NULL};
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/api/v1/namespaces";
    r.token = "";
    r.headers = hdrs;
    itest_request(t, &r, &resp);
    long code = resp.code;
    itest_resp_release(&resp);
    assert_int_equal(code, 200);
}

static void test_tls_fixed_token(void **state)
{
    struct itest_opts o = {0};
    o.tls = 1;
    o.token = "sekrit-token";
    struct itest *t = itest_start(state, &o);
    assert_string_equal(itest_token(t), "sekrit-token");
    long code;
    cJSON *j = itest_json(t, "GET", "/api/v1/namespaces", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(j, "kind"), "NamespaceList");
    cJSON_Delete(j);
    /* a token that only starts like the right one */
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/api/v1/namespaces";
    r.token = "sekrit-token-and-more";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 401);
    itest_resp_release(&resp);
    r.token = "sekrit";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 401);
    itest_resp_release(&resp);
}

static void test_tls_public_paths(void **state)
{
    struct itest *t = start_tls(state);
    const char *paths[] = {"/version", "/healthz", "/readyz", "/livez"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct itest_req r = {0};
        struct itest_resp resp;
        r.path = paths[i];
        r.token = "";
        itest_request(t, &r, &resp);
        assert_int_equal(resp.curl, CURLE_OK);
        if (resp.code != 200)
            fail_msg("%s without a token: %ld %s", paths[i], resp.code, resp.body);
        itest_resp_release(&resp);
    }
    /* discovery is not public */
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/api";
    r.token = "";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 401);
    itest_resp_release(&resp);
}

static void test_plain_http_needs_no_token(void **state)
{
    struct itest *t = start_plain(state);
    assert_null(itest_token(t));
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/api/v1/namespaces/default/pods";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
    /* any token is ignored too */
    r.token = "whatever";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
}

static void test_plain_bytes_to_tls_port(void **state)
{
    /* an HTTP client talking to the TLS port gets a closed connection, and the server lives */
    struct itest *t = start_tls(state);
    int fd = itest_tcp_connect(t);
    static const char req[] = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
    itest_tcp_send(fd, req, sizeof req - 1);
    struct itest_buf b;
    itest_tcp_read(fd, ITEST_WAIT_MS, &b);
    close(fd);
    assert_true(b.eof || b.reset);
    itest_buf_release(&b);
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/version";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_keep_alive, itest_teardown),
        cmocka_unit_test_teardown(test_keep_alive_tls, itest_teardown),
        cmocka_unit_test_teardown(test_pipelined_in_order, itest_teardown),
        cmocka_unit_test_teardown(test_pipelined_split_writes, itest_teardown),
        cmocka_unit_test_teardown(test_head_has_no_body, itest_teardown),
        cmocka_unit_test_teardown(test_expect_100_continue, itest_teardown),
        cmocka_unit_test_teardown(test_chunked_request_body, itest_teardown),
        cmocka_unit_test_teardown(test_chunked_request_body_raw, itest_teardown),
        cmocka_unit_test_teardown(test_malformed_request_line, itest_teardown),
        cmocka_unit_test_teardown(test_malformed_after_good_request, itest_teardown),
        cmocka_unit_test_teardown(test_oversized_headers_431, itest_teardown),
        cmocka_unit_test_teardown(test_too_many_headers_431, itest_teardown),
        cmocka_unit_test_teardown(test_max_headers_accepted, itest_teardown),
        cmocka_unit_test_teardown(test_uri_too_long_414, itest_teardown),
        cmocka_unit_test_teardown(test_too_many_query_params, itest_teardown),
        cmocka_unit_test_teardown(test_body_over_cap_413_curl, itest_teardown),
        cmocka_unit_test_teardown(test_body_over_cap_413_declared, itest_teardown),
        cmocka_unit_test_teardown(test_body_over_cap_413_chunked, itest_teardown),
        cmocka_unit_test_teardown(test_concurrent_connections, itest_teardown),
        cmocka_unit_test_teardown(test_client_closes_mid_request, itest_teardown),
        cmocka_unit_test_teardown(test_client_closes_watch, itest_teardown),
        cmocka_unit_test_teardown(test_server_stops_with_open_streams, itest_teardown),
        cmocka_unit_test_teardown(test_tls_token_required, itest_teardown),
        cmocka_unit_test_teardown(test_tls_token_with_trailing_blanks, itest_teardown),
        cmocka_unit_test_teardown(test_tls_fixed_token, itest_teardown),
        cmocka_unit_test_teardown(test_tls_public_paths, itest_teardown),
        cmocka_unit_test_teardown(test_plain_http_needs_no_token, itest_teardown),
        cmocka_unit_test_teardown(test_plain_bytes_to_tls_port, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
