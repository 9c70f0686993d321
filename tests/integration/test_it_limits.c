/* test_it_limits.c -- the limits on what a client controls, each hit by one client over real
 * sockets while another client is served: connections per server (kube-apiserver and GitLab
 * ports: 503 "too many connections", a refused client that says nothing closed, a slot freed by a
 * close, accept() out of file descriptors pausing the listener instead of spinning), the request
 * head and body (431, 413; the GitLab port answering in GitLab's {"message": ...} shape), input
 * pipelined behind a watch (not read past HTTP_MAX_UNREAD_BYTES), a watcher that never reads (cut
 * at its unsent-bytes cap; it watches again from its last resourceVersion without losing an
 * event), a followed log nobody reads (cut), and exec/attach streams (output a client leaves
 * unread ends the session with a Failure Status, stdin past RCS_MAX_INPUT_BYTES, a WebSocket
 * message past WS_MAX_MESSAGE_BYTES closed 1009 with the reason, SPDY streams past
 * SPDY_MAX_STREAMS answered GOAWAY). README.md's "Limits" table lists them. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "gltest.h"
#include "itest.h"
#include "rcclient.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/http.h"
#include "mockapi/http/listener.h"
#include "mockapi/kube/containers.h"
#include "mockapi/kube/watch.h"
#include "mockapi/stream/remotecmd.h"
#include "mockapi/stream/session.h"
#include "mockapi/stream/spdy.h"
#include "mockapi/stream/ws.h"

#define WAIT_MS ITEST_WAIT_MS
#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
#define LIMIT_MSG "close idle connections or raise the limit (kubefault serve --max-connections)"

/* ---- helpers ---- */

/* A blocking TCP connection to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF before connecting (a
 * small receive window, so a client that does not read backs the server up quickly). */
static int connect_port(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail_msg("socket: %s", strerror(errno));
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        fail_msg("connect to port %d: %s", port, strerror(errno));
    struct timeval tv = {WAIT_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/* Read until one complete response (Content-Length) is in out, the peer closes, or timeout_ms;
 * returns the response's code, 0 when none arrived complete. */
static int read_one(int fd, int timeout_ms, struct itest_buf *out, struct itest_raw_resp *r)
{
    size_t cap = 65536;
    memset(out, 0, sizeof *out);
    out->data = malloc(cap);
    assert_non_null(out->data);
    int64_t deadline = itest_now_ms() + timeout_ms;
    while (!itest_raw_parse(out->data, out->len, r)) {
        int64_t left = deadline - itest_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        if (out->len + 1 >= cap) {
            char *n = realloc(out->data, cap *= 2);
            assert_non_null(n);
            out->data = n;
        }
        ssize_t n = recv(fd, out->data + out->len, cap - out->len - 1, 0);
        if (n <= 0) {
            out->eof = n == 0;
            out->reset = n < 0 && errno == ECONNRESET;
            break;
        }
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
    return itest_raw_parse(out->data, out->len, r) ? r->code : 0;
}

/* The value of header name in a raw response head, into buf ("" when absent). */
static const char *raw_header(const struct itest_raw_resp *r, const char *name, char *buf,
                              size_t len)
{
    size_t nl = strlen(name);
    buf[0] = '\0';
    for (const char *p = r->head; p && p < r->head + r->head_len;) {
        const char *eol = memchr(p, '\n', (size_t)(r->head + r->head_len - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(r->head + r->head_len - p);
        if (ll > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = ll - (size_t)(v - p);
            while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            snprintf(buf, len, "%.*s", (int)vl, v);
            break;
        }
        p = eol ? eol + 1 : NULL;
    }
    return buf;
}

/* A raw response must be a Status with this code, reason and message. */
static void assert_raw_status(const struct itest_raw_resp *r, int code, const char *reason,
                              const char *message)
{
    assert_int_equal(r->code, code);
    cJSON *st = cJSON_ParseWithLength(r->body, r->body_len);
    if (!st)
        fail_msg("body is not JSON: %.*s", (int)r->body_len, r->body);
    long c = code;
    itest_assert_status(st, &c, code, reason, message);
}

static void get_connections(void *arg, struct mockapi_server *s)
{
    *(size_t *)arg = mockapi_server_connections(s);
}

/* Wait (bounded) until the server holds n connections. */
static void wait_connections(struct itest *t, size_t n)
{
    size_t have = 0;
    int64_t deadline = itest_now_ms() + WAIT_MS;
    do {
        itest_run(t, get_connections, &have);
        if (have == n)
            return;
        usleep(5000);
    } while (itest_now_ms() < deadline);
    fail_msg("the server holds %zu connections, expected %zu", have, n);
}

/* The server answers GET /version on a new connection. */
static void assert_still_serving(struct itest *t)
{
    long code;
    cJSON *v = itest_json(t, "GET", "/version", NULL, &code);
    assert_int_equal(code, 200);
    assert_string_equal(itest_jstr(v, "minor"), "32");
    cJSON_Delete(v);
}

/* GET /version on an open keep-alive connection fd, answered 200. */
static void assert_served_on(int fd)
{
    static const char req[] = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
    struct itest_buf b;
    struct itest_raw_resp r;
    itest_tcp_send(fd, req, sizeof req - 1);
    assert_int_equal(read_one(fd, WAIT_MS, &b, &r), 200);
    itest_buf_release(&b);
}

/* ---- connections ---- */

static void test_connection_limit(void **state)
{
    struct itest_opts o = {.max_connections = 8};
    struct itest *t = itest_start(state, &o);
    int fds[8];
    for (int i = 0; i < 8; i++)
        fds[i] = itest_tcp_connect(t);
    wait_connections(t, 8);

    /* the 9th: a 503 Status saying why, Retry-After and Connection: close, then a FIN */
    static const char req[] = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
    struct itest_buf b;
    struct itest_raw_resp r;
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, req, sizeof req - 1);
    itest_tcp_read(fd, WAIT_MS, &b);
    close(fd);
    assert_true(itest_raw_parse(b.data, b.len, &r) > 0);
    assert_raw_status(&r, 503, "ServiceUnavailable",
                      "too many connections: the server holds 8 (its limit); " LIMIT_MSG);
    char v[64];
    assert_string_equal(raw_header(&r, "Connection", v, sizeof v), "close");
    assert_string_equal(raw_header(&r, "Retry-After", v, sizeof v), "1");
    assert_true(b.eof);
    assert_false(b.reset);
    itest_buf_release(&b);

    /* what a client library sees: the same answer, no transport error */
    struct itest_req cr = {.path = "/api/v1/namespaces"};
    struct itest_resp resp;
    itest_request(t, &cr, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 503);
    itest_resp_release(&resp);

    /* the connections already held are served, and the refused ones are not counted */
    assert_served_on(fds[3]);
    wait_connections(t, 8);

    /* closing one frees a slot */
    close(fds[0]);
    wait_connections(t, 7);
    assert_still_serving(t);
    for (int i = 1; i < 8; i++)
        close(fds[i]);
}

static void test_connection_limit_silent_client_closed(void **state)
{
    /* a refused client that never sends its request is closed after CONN_REFUSE_WAIT_MS */
    struct itest_opts o = {.max_connections = 1};
    struct itest *t = itest_start(state, &o);
    int held = itest_tcp_connect(t);
    wait_connections(t, 1);
    int fd = itest_tcp_connect(t);
    struct itest_buf b;
    itest_tcp_read(fd, CONN_REFUSE_WAIT_MS + WAIT_MS, &b);
    close(fd);
    assert_true(b.eof);
    assert_int_equal(b.len, 0);
    itest_buf_release(&b);
    assert_served_on(held);
    close(held);
}

static void get_pauses(void *arg, struct mockapi_server *s)
{
    *(unsigned long *)arg = mockapi_server_accept_pauses(s);
}

static unsigned long pauses_now(struct itest *t)
{
    unsigned long n = 0;
    itest_run(t, get_pauses, &n);
    return n;
}

/* The child of test_accept_out_of_fds: its own file limit back, GET /version, 0 when answered
 * 200. Only system calls: it is forked from a threaded process. */
static int child_get_version(int port, const struct rlimit *rl)
{
    if (setrlimit(RLIMIT_NOFILE, rl) < 0)
        return 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        return 3;
    static const char req[] = "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
        return 4;
    char buf[64];
    size_t got = 0;
    struct pollfd p = {fd, POLLIN, 0};
    while (got < 12 && poll(&p, 1, 10000) > 0) {
        ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 5;
}

static void test_accept_out_of_fds(void **state)
{
    if (getenv("KF_TEST_WRAPPER") && *getenv("KF_TEST_WRAPPER")) {
        /* valgrind keeps descriptors of its own above the soft limit and emulates setrlimit() for
         * them: the limit this test lowers is not the one accept() meets there */
        print_message("skipped under KF_TEST_WRAPPER (valgrind manages the descriptor limit)\n");
        skip();
    }
    /* accept() fails with EMFILE while the process has no descriptor left: the listener rests
     * LISTENER_PAUSE_MS at a time instead of spinning, and the waiting client is served once
     * descriptors are back */
    struct itest *t = itest_start(state, &(struct itest_opts){0});
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int lowest = dup(0); /* the next descriptor number the process would get */
    assert_true(lowest >= 0);
    close(lowest);
    low = old;
    low.rlim_cur = (rlim_t)lowest;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    pid_t pid = fork();
    if (pid == 0)
        _exit(child_get_version(itest_port(t), &old));
    int fork_errno = errno;
    unsigned long first = 0;
    int64_t deadline = itest_now_ms() + WAIT_MS;
    while (pid > 0 && (first = pauses_now(t)) == 0 && itest_now_ms() < deadline)
        usleep(10000);
    usleep(5 * LISTENER_PAUSE_MS * 1000);
    unsigned long later = pauses_now(t);
    setrlimit(RLIMIT_NOFILE, &old);
    if (pid < 0)
        fail_msg("fork: %s", strerror(fork_errno));
    int status = -1;
    deadline = itest_now_ms() + 2 * WAIT_MS;
    while (waitpid(pid, &status, WNOHANG) == 0 && itest_now_ms() < deadline)
        usleep(10000);
    if (itest_now_ms() >= deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the client was not served once descriptors were back");
    }
    assert_true(first >= 1);
    /* each pause lasts LISTENER_PAUSE_MS: a handful in 5 of them, where a spinning loop would
     * have retried accept() thousands of times */
    if (later > 20)
        fail_msg("%lu accept pauses in %d ms", later, 5 * LISTENER_PAUSE_MS);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_still_serving(t);
}

/* ---- the request head and body, while another client is served ---- */

static void test_head_cap_while_other_client_served(void **state)
{
    struct itest *t = itest_start(state, &(struct itest_opts){0});
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {.path = "/version"};
    struct itest_resp a;
    itest_client_request(cl, &r, &a);
    assert_int_equal(a.code, 200);
    itest_resp_release(&a);

    /* client B sends half of an oversized header and stops */
    size_t total = HTTP_MAX_HEADER_BYTES + 1024, half = HTTP_MAX_HEADER_BYTES / 2;
    char *big = malloc(total);
    assert_non_null(big);
    memset(big, 'a', total);
    int fd = itest_tcp_connect(t);
    static const char head[] = "GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ";
    itest_tcp_send(fd, head, sizeof head - 1);
    itest_tcp_send(fd, big, half);

    /* meanwhile A's next request is answered on its connection */
    r.path = "/api/v1/namespaces";
    itest_client_request(cl, &r, &a);
    assert_int_equal(a.code, 200);
    assert_int_equal(a.connects, 0);
    itest_resp_release(&a);

    /* B goes past the cap: 431 and a close */
    if (itest_tcp_try_send(fd, big + half, total - half) == 0)
        itest_tcp_try_send(fd, "\r\n\r\n", 4);
    free(big);
    struct itest_buf b;
    struct itest_raw_resp rr;
    itest_tcp_read(fd, WAIT_MS, &b);
    close(fd);
    assert_true(itest_raw_parse(b.data, b.len, &rr) > 0);
    assert_raw_status(&rr, 431, "BadRequest",
                      "request headers larger than 65536 bytes or more than 128 lines");
    assert_true(b.eof || b.reset);
    itest_buf_release(&b);

    /* and A still is */
    r.path = "/version";
    itest_client_request(cl, &r, &a);
    assert_int_equal(a.code, 200);
    assert_int_equal(a.connects, 0);
    itest_resp_release(&a);
    itest_client_free(cl);
}

static void test_body_cap_while_other_client_served(void **state)
{
    struct itest *t = itest_start(state, &(struct itest_opts){0});
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {.path = "/version"};
    struct itest_resp a;
    itest_client_request(cl, &r, &a);
    assert_int_equal(a.code, 200);
    itest_resp_release(&a);

    /* client B streams a chunked body, half the cap so far */
    int fd = itest_tcp_connect(t);
    static const char head[] = "POST " CMS " HTTP/1.1\r\nHost: x\r\n"
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
    while (sent < HTTP_MAX_BODY_BYTES / 2) {
        itest_tcp_send(fd, buf, (size_t)n + chunk + 2);
        sent += chunk;
    }

    /* A is served meanwhile */
    r.path = "/api/v1/namespaces/default";
    itest_client_request(cl, &r, &a);
    assert_int_equal(a.code, 200);
    assert_int_equal(a.connects, 0);
    itest_resp_release(&a);

    /* B goes past the cap: 413 */
    while (sent <= HTTP_MAX_BODY_BYTES + chunk) {
        if (itest_tcp_try_send(fd, buf, (size_t)n + chunk + 2) < 0)
            break; /* answered and closed while we were still sending */
        sent += chunk;
    }
    free(buf);
    struct itest_buf b;
    struct itest_raw_resp rr;
    itest_tcp_read(fd, WAIT_MS, &b);
    close(fd);
    assert_true(itest_raw_parse(b.data, b.len, &rr) > 0);
    assert_raw_status(&rr, 413, "RequestEntityTooLarge",
                      "the request body is larger than 4194304 bytes");
    itest_buf_release(&b);

    r.path = "/version";
    itest_client_request(cl, &r, &a);
    assert_int_equal(a.code, 200);
    assert_int_equal(a.connects, 0);
    itest_resp_release(&a);
    itest_client_free(cl);
}

static void test_pipelined_input_bounded(void **state)
{
    /* a client that pipelines while its watch is being answered is not read past
     * HTTP_MAX_UNREAD_BYTES: its sends stall (TCP backpressure) instead of growing the server */
    struct itest *t = itest_start(state, &(struct itest_opts){0});
    int fd = itest_tcp_connect(t);
    static const char watch[] = "GET " CMS "?watch=true HTTP/1.1\r\nHost: x\r\n\r\n";
    itest_tcp_send(fd, watch, sizeof watch - 1);
    struct itest_stream *other = itest_stream_open(t, CMS "?watch=true", NULL);
    static const char req[] = "GET /version HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[64 * 1024];
    size_t n = 0;
    while (n + sizeof req <= sizeof buf) {
        memcpy(buf + n, req, sizeof req - 1);
        n += sizeof req - 1;
    }
    size_t sent = 0, cap = (size_t)64 << 20;
    int64_t stalled_since = -1;
    while (sent < cap) {
        ssize_t k = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0) {
            sent += (size_t)k;
            stalled_since = -1;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            fail_msg("send: %s", strerror(errno));
        if (stalled_since < 0)
            stalled_since = itest_now_ms();
        else if (itest_now_ms() - stalled_since > 300)
            break; /* the server stopped reading */
        usleep(1000);
    }
    /* what the kernel buffers on loopback plus the server's cap, far below what was offered */
    if (sent >= cap)
        fail_msg("the server read %zu pipelined bytes behind an open watch", sent);
    /* meanwhile: writes are answered and the other watcher sees them */
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"during\"}}", 201);
    cJSON_Delete(itest_expect_event(other, "ADDED", "during", WAIT_MS));
    assert_still_serving(t);
    close(fd);
    itest_stream_close(other);
}

/* ---- the fake GitLab ---- */

static struct gltest G;

static int gl_teardown(void **state)
{
    return gltest_teardown(state, &G);
}

static int gl_port(const struct gltest *g)
{
    return gitlab_server_port(g->gs);
}

/* A GitLab answer: code and {"message": message}. */
static void assert_gl_message(long got_code, const char *body, size_t len, long code,
                              const char *message)
{
    assert_int_equal(got_code, code);
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j)
        fail_msg("not JSON: %.*s", (int)len, body);
    const char *m = itest_jstr(j, "message");
    int same = m && strcmp(m, message) == 0 && cJSON_GetArraySize(j) == 1;
    if (!same)
        itest_fail_json(j, "expected {\"message\": \"%s\"}", message);
    cJSON_Delete(j);
}

static void test_gitlab_connection_limit(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .long_poll_ms = -1, .max_connections = 2};
    gltest_start(state, &G, NULL, &o);
    int port = gl_port(&G);
    static const char req[] = "GET /api/v4/nothing HTTP/1.1\r\nHost: x\r\n\r\n";
    int fds[2];
    struct itest_buf b;
    struct itest_raw_resp r;
    for (int i = 0; i < 2; i++) {
        fds[i] = connect_port(port, 0);
        itest_tcp_send(fds[i], req, sizeof req - 1);
        assert_int_equal(read_one(fds[i], WAIT_MS, &b, &r), 404);
        itest_buf_release(&b);
    }
    /* a third connection: GitLab's shape, 503 */
    struct gltest_req gr = {.method = "POST", .path = "runners/verify", .body = "{}"};
    struct itest_resp resp;
    gltest_do(&G, &gr, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_gl_message(resp.code, resp.body, resp.len, 503,
                      "503 Service Unavailable - too many connections: the server holds 2 (its "
                      "limit); " LIMIT_MSG);
    itest_resp_release(&resp);
    /* a held connection is still served; a closed one frees a slot */
    itest_tcp_send(fds[1], req, sizeof req - 1);
    assert_int_equal(read_one(fds[1], WAIT_MS, &b, &r), 404);
    itest_buf_release(&b);
    close(fds[0]);
    long code = 503;
    int64_t deadline = itest_now_ms() + WAIT_MS;
    while (code == 503 && itest_now_ms() < deadline) {
        gltest_request_job(&G, NULL, "", 0, &resp);
        code = resp.code;
        itest_resp_release(&resp);
        if (code == 503)
            usleep(5000);
    }
    assert_int_equal(code, 204); /* no job queued */
    close(fds[1]);
}

static void test_gitlab_oversized_requests(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .long_poll_ms = -1};
    gltest_start(state, &G, NULL, &o);
    /* a body over the cap */
    size_t len = HTTP_MAX_BODY_BYTES + 1;
    char *body = malloc(len + 1);
    assert_non_null(body);
    memset(body, ' ', len);
    body[len] = '\0';
    struct gltest_req gr = {.method = "POST",
                            .path = "jobs/request",
                            .body = body,
                            .body_len = len,
                            .timeout_ms = 10000};
    struct itest_resp resp;
    gltest_do(&G, &gr, &resp);
    free(body);
    assert_gl_message(resp.code, resp.body, resp.len, 413,
                      "413 Request Entity Too Large - the request body is larger than 4194304 "
                      "bytes");
    itest_resp_release(&resp);
    /* too many header lines */
    char req[16384];
    size_t n = (size_t)snprintf(req, sizeof req, "GET /api/v4/jobs/1 HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < HTTP_MAX_HEADER_COUNT; i++)
        n += (size_t)snprintf(req + n, sizeof req - n, "X-H%d: v\r\n", i);
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    int fd = connect_port(gl_port(&G), 0);
    itest_tcp_send(fd, req, n);
    struct itest_buf b;
    struct itest_raw_resp r;
    assert_int_equal(read_one(fd, WAIT_MS, &b, &r), 431);
    close(fd);
    assert_gl_message(r.code, r.body, r.body_len, 431,
                      "431 Request Header Fields Too Large - request headers larger than 65536 "
                      "bytes or more than 128 lines");
    char v[64];
    assert_string_equal(raw_header(&r, "Content-Type", v, sizeof v), "application/json");
    itest_buf_release(&b);
    /* the runner's requests are still served */
    gltest_request_job(&G, NULL, "", 0, &resp);
    assert_int_equal(resp.code, 204);
    itest_resp_release(&resp);
}

/* ---- a watcher that never reads ---- */

#define WATCH_CAP (128 * 1024)
#define WATCH_MAX_CMS 400
#define CM_DATA_BYTES 8192

static void set_watch_cap(void *arg, struct mockapi_server *s)
{
    (void)arg;
    watch_hub_set_max_pending(mockapi_server_watches(s), WATCH_CAP);
}

static void get_watches(void *arg, struct mockapi_server *s)
{
    *(size_t *)arg = watch_hub_count(mockapi_server_watches(s));
}

static size_t watches_now(struct itest *t)
{
    size_t n = 0;
    itest_run(t, get_watches, &n);
    return n;
}

static void create_cm(struct itest *t, int i)
{
    static char body[CM_DATA_BYTES + 128];
    int n =
        snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"cm-%03d\"},\"data\":{\"v\":\"", i);
    memset(body + n, 'v', CM_DATA_BYTES);
    snprintf(body + n + CM_DATA_BYTES, sizeof body - (size_t)n - CM_DATA_BYTES, "\"}}");
    itest_must(t, "POST", CMS, "application/json", body, 201);
}

/* The complete ADDED events in a raw chunked watch response (one event per chunk, as the server
 * writes them), checked to be cm-000, cm-001, ... in order; returns how many, the resourceVersion
 * of the last in *last_rv (unchanged when none). A cut inside a chunk ends the walk. */
static int complete_events(const struct itest_buf *b, long long *last_rv)
{
    const char *p = strstr(b->data, "\r\n\r\n");
    assert_non_null(p);
    assert_int_equal(strncmp(b->data, "HTTP/1.1 200", 12), 0);
    p += 4;
    const char *end = b->data + b->len;
    int n = 0;
    for (;;) {
        char *e;
        unsigned long size = strtoul(p, &e, 16);
        if (e == p || e + 2 > end || e[0] != '\r' || size == 0)
            break;
        const char *data = e + 2;
        if (data + size + 2 > end)
            break; /* the cut */
        cJSON *ev = cJSON_ParseWithLength(data, size);
        char want[16];
        snprintf(want, sizeof want, "cm-%03d", n);
        if (!ev || !itest_jstr(ev, "type") || strcmp(itest_jstr(ev, "type"), "ADDED") != 0 ||
            !itest_jstr(ev, "object.metadata.name") ||
            strcmp(itest_jstr(ev, "object.metadata.name"), want) != 0)
            itest_fail_json(ev, "event %d of the slow watcher, expected ADDED %s", n, want);
        *last_rv = strtoll(itest_jstr(ev, "object.metadata.resourceVersion"), NULL, 10);
        cJSON_Delete(ev);
        n++;
        p = data + size + 2;
    }
    return n;
}

static void test_watch_slow_reader_cut(void **state)
{
    struct itest *t = itest_start(state, &(struct itest_opts){0});
    itest_run(t, set_watch_cap, NULL);
    long long rv = itest_list_rv(t, CMS);
    char path[256], req[512];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    int slow = connect_port(itest_port(t), 4096);
    itest_tcp_send(slow, req, (size_t)n);
    struct itest_stream *fast = itest_stream_open(t, path, NULL);
    int64_t deadline = itest_now_ms() + WAIT_MS;
    while (watches_now(t) < 2 && itest_now_ms() < deadline)
        usleep(5000);
    assert_int_equal(watches_now(t), 2);

    /* events pile up for the slow watcher until it is cut; the other gets each one at once and
     * every write is answered */
    int made = 0, cut_at = -1;
    while (made < WATCH_MAX_CMS && (cut_at < 0 || made < cut_at + 5)) {
        create_cm(t, made);
        char name[16];
        snprintf(name, sizeof name, "cm-%03d", made);
        cJSON_Delete(itest_expect_event(fast, "ADDED", name, WAIT_MS));
        made++;
        if (cut_at < 0 && watches_now(t) == 1)
            cut_at = made;
    }
    if (cut_at < 0)
        fail_msg("the watcher that never reads was not cut after %d events of %d bytes", made,
                 CM_DATA_BYTES);
    assert_still_serving(t);

    /* the slow client reads now: the events before the cut in order, then the server's close */
    struct itest_buf b;
    itest_tcp_read(slow, WAIT_MS, &b);
    close(slow);
    assert_true(b.eof);
    assert_false(b.reset);
    long long last = rv;
    int got = complete_events(&b, &last);
    itest_buf_release(&b);
    assert_true(got < made);

    /* watching again from the last resourceVersion it saw, it misses nothing */
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", last);
    struct itest_stream *again = itest_stream_open(t, path, NULL);
    for (int i = got; i < made; i++) {
        char name[16];
        snprintf(name, sizeof name, "cm-%03d", i);
        cJSON_Delete(itest_expect_event(again, "ADDED", name, WAIT_MS));
    }
    itest_stream_close(again);
    itest_stream_close(fast);
}

/* ---- exec and attach ---- */

#define BIG_CHUNK (256 * 1024)
#define BIG_CHUNKS 64
#define STREAM_CAP (1024 * 1024)

/* "bigout" prints BIG_CHUNKS x BIG_CHUNK bytes, a millisecond apart (16 MiB), then exits 0. */
static enum hook_verdict on_remotecmd(void *arg, struct hook_remotecmd *rc)
{
    (void)arg;
    static char chunk[BIG_CHUNK];
    if (rc->argc < 1 || strcmp(rc->argv[0], "bigout") != 0)
        return HOOK_PASS;
    memset(chunk, 'o', sizeof chunk);
    struct rcs_step w = {
        .kind = RCS_STEP_WRITE, .stream = RCS_STDOUT, .data = chunk, .len = BIG_CHUNK};
    struct rcs_step nap = {.kind = RCS_STEP_SLEEP, .ms = 1};
    for (int i = 0; i < BIG_CHUNKS; i++)
        if (rcs_script_add(rc->script, &w) < 0 || rcs_script_add(rc->script, &nap) < 0)
            return HOOK_PASS;
    rc->has_script = 1;
    return HOOK_PASS;
}

static const struct mockapi_hooks bigout_hooks = {.on_remotecmd = on_remotecmd};

static void set_stream_cap(void *arg, struct mockapi_server *s)
{
    (void)arg;
    ctr_runtime_set_max_pending(mockapi_server_containers(s), STREAM_CAP);
}

/* A plain-HTTP server (hooks may be NULL) with pod "p" (container "c") Running. */
static struct itest *start_with_pod(void **state, const struct mockapi_hooks *hooks)
{
    struct itest_opts o = {.hooks = hooks};
    struct itest *t = itest_start(state, &o);
    itest_must(t, "POST", PODS, "application/json",
               "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
               "\"image\":\"busybox\",\"command\":[\"sleep\",\"3600\"]}]}}",
               201);
    cJSON *p = itest_wait_field(t, PODS "/p", "status.phase", "Running", WAIT_MS);
    if (!p)
        fail_msg("pod p did not reach Running");
    cJSON_Delete(p);
    return t;
}

/* An exec (argv) or attach (argv NULL) of p/c with these streams. */
static struct rcc *open_session(struct itest *t, enum rcc_transport tr, const char *const *argv,
                                int in, int out)
{
    struct rcc_opts o = {.transport = tr, .stdin_ = in, .stdout_ = out};
    char path[8192], err[RCC_ERR_MAX];
    assert_non_null(rcc_path(path, sizeof path, "default", "p", "c", argv, &o));
    o.path_and_query = path;
    struct rcc *c = rcc_open(itest_port(t), &o, WAIT_MS, err, sizeof err, NULL, NULL, 0);
    if (!c)
        fail_msg("%s: %s", path, err);
    itest_rcc_keep(c);
    return c;
}

/* Another client's exec works: echo hi, exit 0. */
static void assert_exec_served(struct itest *t, enum rcc_transport tr)
{
    const char *argv[] = {"echo", "hi", NULL};
    struct rcc *c = open_session(t, tr, argv, 0, 1);
    if (rcc_wait_end(c, WAIT_MS) < 0)
        fail_msg("echo did not end: %s", rcc_error(c));
    assert_string_equal(rcc_stdout(c, NULL), "hi\n");
    assert_int_equal(rcc_exit_code(c), 0);
    itest_rcc_free(c);
}

/* The session ended with a Failure Status whose message starts with want. */
static void assert_failure(struct rcc *c, const char *want)
{
    if (rcc_wait_end(c, WAIT_MS) < 0)
        fail_msg("the session did not end: %s", rcc_error(c));
    assert_int_equal(rcc_exit_code(c), -2);
    cJSON *st = cJSON_Parse(rcc_status(c));
    assert_non_null(st);
    const char *m = itest_jstr(st, "message");
    if (!m || strncmp(m, want, strlen(want)) != 0)
        itest_fail_json(st, "expected a Failure saying \"%s...\"", want);
    assert_string_equal(itest_jstr(st, "status"), "Failure");
    cJSON_Delete(st);
}

static void get_sessions(void *arg, struct mockapi_server *s)
{
    *(size_t *)arg = ctr_runtime_sessions(mockapi_server_containers(s));
}

static void run_output_unread(void **state, enum rcc_transport tr)
{
    struct itest *t = start_with_pod(state, &bigout_hooks);
    itest_run(t, set_stream_cap, NULL);
    const char *argv[] = {"bigout", NULL};
    struct rcc *slow = open_session(t, tr, argv, 0, 1);
    /* the slow client reads nothing; another is served meanwhile; the server ends the session
     * (a session that ended on its own would wait for the client's goodbye) */
    assert_exec_served(t, tr);
    size_t sessions = 1;
    int64_t deadline = itest_now_ms() + WAIT_MS;
    while (itest_now_ms() < deadline) {
        itest_run(t, get_sessions, &sessions);
        if (sessions == 0)
            break;
        usleep(5000);
    }
    assert_int_equal(sessions, 0);
    assert_exec_served(t, tr);
    /* now it reads: part of the output, then the Failure that ended the session */
    assert_failure(slow, "kubefault: the client left ");
    size_t len;
    const char *out = rcc_stdout(slow, &len);
    assert_true(len > 0);
    assert_true(len < (size_t)BIG_CHUNK * BIG_CHUNKS);
    assert_true(out[0] == 'o' && out[len - 1] == 'o');
    if (tr == RCC_WS)
        assert_int_equal(rcc_close_code(slow), WS_CLOSE_POLICY);
    if (rcc_finish(slow, WAIT_MS) < 0)
        fail_msg("the server did not close the connection: %s", rcc_error(slow));
    itest_rcc_free(slow);
}

static void test_exec_output_unread_spdy(void **state)
{
    run_output_unread(state, RCC_SPDY);
}

static void test_exec_output_unread_ws(void **state)
{
    run_output_unread(state, RCC_WS);
}

static void test_stdin_over_cap(void **state)
{
    struct itest *t = start_with_pod(state, NULL);
    size_t len = RCS_MAX_INPUT_BYTES + 1;
    char *big = malloc(len);
    assert_non_null(big);
    memset(big, '#', len);
    for (int k = 0; k < 2; k++) {
        enum rcc_transport tr = k ? RCC_WS : RCC_SPDY;
        /* the runner's save-script exec: a script on stdin */
        const char *argv[] = {"sh", "-c", itest_bash_detect, NULL};
        struct rcc *c = open_session(t, tr, argv, 1, 1);
        assert_int_equal(rcc_write_stdin(c, big, len), 0);
        rcc_close_stdin(c);
        assert_failure(c, "kubefault: a script of more than 1048576 bytes on stdin: the fake keeps "
                          "at most that much, so nothing was run");
        itest_rcc_free(c);
        /* a line typed into an attach */
        c = open_session(t, tr, NULL, 1, 1);
        assert_int_equal(rcc_write_stdin(c, big, len), 0);
        assert_failure(c, "kubefault: a line of more than 1048576 bytes on stdin");
        itest_rcc_free(c);
        assert_exec_served(t, tr);
    }
    free(big);
}

#define LOG_LINE_BYTES (512 * 1024)
#define LOG_LINES 32

static void test_log_follow_slow_reader_cut(void **state)
{
    struct itest *t = start_with_pod(state, NULL);
    /* a follower that never reads */
    int slow = connect_port(itest_port(t), 4096);
    static const char req[] = "GET " PODS "/p/log?follow=true HTTP/1.1\r\nHost: x\r\n\r\n";
    itest_tcp_send(slow, req, sizeof req - 1);
    char head[5];
    struct pollfd p = {slow, POLLIN, 0};
    assert_int_equal(poll(&p, 1, WAIT_MS), 1);
    assert_int_equal(recv(slow, head, 4, 0), 4); /* "HTTP": the stream is open */
    /* the container prints 16 MiB: lines typed into its shell through an attach */
    struct rcc *typist = open_session(t, RCC_SPDY, NULL, 1, 0);
    char *line = malloc(LOG_LINE_BYTES);
    assert_non_null(line);
    memcpy(line, "echo ", 5);
    memset(line + 5, 'l', LOG_LINE_BYTES - 6);
    line[LOG_LINE_BYTES - 1] = '\n';
    for (int i = 0; i < LOG_LINES; i++) {
        assert_int_equal(rcc_write_stdin(typist, line, LOG_LINE_BYTES), 0);
        if (i == LOG_LINES / 2)
            assert_still_serving(t);
    }
    free(line);
    /* the log is still read by others */
    struct itest_req r = {.path = PODS "/p/log?tailLines=1"};
    struct itest_resp resp;
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    assert_int_equal(resp.len, LOG_LINE_BYTES - 5);
    itest_resp_release(&resp);
    /* the follower reads now: part of it, then the server's close */
    struct itest_buf b;
    itest_tcp_read(slow, WAIT_MS, &b);
    close(slow);
    assert_true(b.eof);
    assert_false(b.reset);
    assert_true(b.len < (size_t)LOG_LINE_BYTES * LOG_LINES);
    itest_buf_release(&b);
    assert_int_equal(rcc_close_stdin(typist), 0);
    itest_rcc_free(typist);
}

/* A cat session: what is written comes back. */
static void assert_echoes(struct rcc *cat, const char *line)
{
    assert_int_equal(rcc_write_stdin(cat, line, strlen(line)), 0);
    if (rcc_wait_output(cat, line, WAIT_MS) < 0)
        fail_msg("cat did not echo \"%s\": %s (stdout \"%s\")", line, rcc_error(cat),
                 rcc_stdout(cat, NULL));
}

/* Send an upgrade request on a new connection and read the 101's head. */
static int upgrade_raw(struct itest *t, const char *req)
{
    int fd = itest_tcp_connect(t);
    itest_tcp_send(fd, req, strlen(req));
    char head[2048];
    size_t got = 0;
    while (got < sizeof head - 1 && (got < 4 || memcmp(head + got - 4, "\r\n\r\n", 4) != 0)) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, WAIT_MS) <= 0 || recv(fd, head + got, 1, 0) != 1)
            fail_msg("no answer to the upgrade");
        got++;
    }
    head[got] = '\0';
    if (strncmp(head, "HTTP/1.1 101", 12) != 0)
        fail_msg("upgrade refused: %s", head);
    return fd;
}

static void test_ws_message_too_big(void **state)
{
    struct itest *t = start_with_pod(state, NULL);
    const char *cat_argv[] = {"cat", NULL};
    struct rcc *cat = open_session(t, RCC_WS, cat_argv, 1, 1);
    assert_echoes(cat, "before\n");

    int fd = upgrade_raw(t, "GET " PODS "/p/exec?command=sleep&command=10&container=c&stdin=true"
                            "&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                            "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n");
    /* a binary frame head announcing one byte more than the cap */
    uint64_t big = (uint64_t)WS_MAX_MESSAGE_BYTES + 1;
    unsigned char frame[14] = {WS_FIN | WS_OP_BINARY, 0x80 | 127};
    for (int i = 0; i < 8; i++)
        frame[2 + i] = (unsigned char)(big >> (56 - 8 * i));
    itest_tcp_send(fd, frame, sizeof frame); /* with a zero mask key */
    struct itest_buf b;
    itest_tcp_read(fd, WAIT_MS, &b);
    close(fd);
    assert_true(b.eof);
    /* the server's frames: a close 1009 with the reason */
    const unsigned char *p = (const unsigned char *)b.data, *end = p + b.len;
    int code = 0;
    char reason[WS_MAX_CLOSE_REASON + 1] = "";
    while (p + 2 <= end) {
        size_t n = p[1] & 0x7f, h = 2;
        if (n == 126) {
            n = (size_t)p[2] << 8 | p[3];
            h = 4;
        }
        assert_true(n < 126 || (p[0] & 0x0f) != WS_OP_CLOSE);
        if (p + h + n > end)
            break;
        if ((p[0] & 0x0f) == WS_OP_CLOSE && n >= 2) {
            code = p[h] << 8 | p[h + 1];
            snprintf(reason, sizeof reason, "%.*s", (int)(n - 2), (const char *)p + h + 2);
        }
        p += h + n;
    }
    itest_buf_release(&b);
    assert_int_equal(code, WS_CLOSE_TOO_BIG);
    assert_string_equal(reason, "ws: message of 4194305 bytes exceeds the cap of 4194304 bytes");

    assert_echoes(cat, "after\n");
    assert_int_equal(rcc_close_stdin(cat), 0);
    if (rcc_wait_end(cat, WAIT_MS) < 0)
        fail_msg("cat did not end: %s", rcc_error(cat));
    assert_int_equal(rcc_exit_code(cat), 0);
    itest_rcc_free(cat);
}

struct spdy_seen {
    int replies;
    int goaway;
    uint32_t goaway_status;
};

static int on_server_frame(void *arg, const struct spdy_frame *f)
{
    struct spdy_seen *s = arg;
    if (f->control && f->type == SPDY_SYN_REPLY)
        s->replies++;
    if (f->control && f->type == SPDY_GOAWAY) {
        s->goaway = 1;
        s->goaway_status = f->status;
    }
    return 0;
}

static void test_spdy_too_many_streams(void **state)
{
    struct itest *t = start_with_pod(state, NULL);
    const char *cat_argv[] = {"cat", NULL};
    struct rcc *cat = open_session(t, RCC_SPDY, cat_argv, 1, 1);
    assert_echoes(cat, "before\n");

    int fd = upgrade_raw(t, "POST " PODS "/p/exec?command=sleep&command=10&container=c"
                            "&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                            "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io"
                            "\r\n\r\n");
    struct spdy_encoder *e = spdy_encoder_new();
    struct evbuffer *out = evbuffer_new();
    assert_non_null(e);
    assert_non_null(out);
    char err[SPDY_ERR_MAX];
    for (uint32_t i = 0; i <= SPDY_MAX_STREAMS; i++) {
        struct spdy_header h[] = {i == 0   ? (struct spdy_header)SPDY_HDR("streamtype", "error")
                                  : i == 1 ? (struct spdy_header)SPDY_HDR("streamtype", "stdout")
                                           : (struct spdy_header)SPDY_HDR("streamtype", "other")};
        assert_int_equal(spdy_write_syn_stream(e, out, 2 * i + 1, 0, 0, 0, h, 1, err, sizeof err),
                         0);
    }
    size_t n = evbuffer_get_length(out);
    itest_tcp_send(fd, evbuffer_pullup(out, -1), n);
    evbuffer_free(out);
    spdy_encoder_free(e);
    struct itest_buf b;
    itest_tcp_read(fd, WAIT_MS, &b);
    close(fd);
    assert_true(b.eof);
    struct spdy_seen seen = {0};
    struct spdy_parser *p = spdy_parser_new(on_server_frame, &seen);
    assert_non_null(p);
    int rc = spdy_parser_feed(p, b.data, b.len, err, sizeof err);
    spdy_parser_free(p);
    itest_buf_release(&b);
    assert_int_equal(rc, 0);
    assert_int_equal(seen.replies, SPDY_MAX_STREAMS);
    assert_true(seen.goaway);
    assert_int_equal(seen.goaway_status, SPDY_GOAWAY_PROTOCOL_ERROR);

    assert_echoes(cat, "after\n");
    assert_int_equal(rcc_close_stdin(cat), 0);
    if (rcc_wait_end(cat, WAIT_MS) < 0)
        fail_msg("cat did not end: %s", rcc_error(cat));
    assert_int_equal(rcc_exit_code(cat), 0);
    itest_rcc_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_connection_limit, itest_teardown),
        cmocka_unit_test_teardown(test_connection_limit_silent_client_closed, itest_teardown),
        cmocka_unit_test_teardown(test_accept_out_of_fds, itest_teardown),
        cmocka_unit_test_teardown(test_head_cap_while_other_client_served, itest_teardown),
        cmocka_unit_test_teardown(test_body_cap_while_other_client_served, itest_teardown),
        cmocka_unit_test_teardown(test_pipelined_input_bounded, itest_teardown),
        cmocka_unit_test_teardown(test_gitlab_connection_limit, gl_teardown),
        cmocka_unit_test_teardown(test_gitlab_oversized_requests, gl_teardown),
        cmocka_unit_test_teardown(test_watch_slow_reader_cut, itest_teardown),
        cmocka_unit_test_teardown(test_exec_output_unread_spdy, itest_teardown),
        cmocka_unit_test_teardown(test_exec_output_unread_ws, itest_teardown),
        cmocka_unit_test_teardown(test_stdin_over_cap, itest_teardown),
        cmocka_unit_test_teardown(test_log_follow_slow_reader_cut, itest_teardown),
        cmocka_unit_test_teardown(test_ws_message_too_big, itest_teardown),
        cmocka_unit_test_teardown(test_spdy_too_many_streams, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
