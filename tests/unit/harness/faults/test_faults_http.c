/* test_faults_http.c -- the HTTP answer fault types (status, error, delay, hang, empty-reply,
 * malformed-body, wrong-content-type): every parse error a scenario author can meet, and the exact
 * bytes each answer puts on the wire, over one connection on a socketpair and a private event
 * base (no server, no engine). Behaviour over real sockets with curl is in
 * tests/integration/test_it_faults_http.c; what kubectl prints is in tests/kubectl/faults-http.sh.
 */
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

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "harness/fault.h"
#include "harness/faults/param.h"
#include "mockapi/base/rng.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/route.h"
#include "../testutil.h"

#define WAIT_MS 2000
#define GET_POD "GET /api/v1/namespaces/default/pods/p1 HTTP/1.1\r\nHost: t\r\n\r\n"
#define POST_POD_HEAD "POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: t\r\n"

extern const struct fault_type fault_type_status, fault_type_error, fault_type_delay,
    fault_type_hang, fault_type_empty_reply, fault_type_malformed_body,
    fault_type_wrong_content_type;

/* ---- parsing ---- */

static void test_registry(void **state)
{
    (void)state;
    static const char *const names[] = {
        "status", "error", "delay", "hang", "empty-reply", "malformed-body", "wrong-content-type"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct fault_type *t = fault_type_find(names[i]);
        assert_non_null(t);
        assert_int_equal(t->layer, FAULT_LAYER_HTTP);
        assert_non_null(t->on_request);
        assert_non_null(t->parse);
        assert_non_null(t->keys);
        assert_true(strlen(t->summary) > 10);
        assert_true(strlen(t->client_sees) > 10);
    }
}

static void test_parse_status(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_status;
    free_ctx(t, fault_ok(t, "{\"type\":\"status\",\"code\":500,\"message\":\"boom\"}"));
    free_ctx(t, fault_ok(t, "{\"code\":429,\"reason\":\"TooManyRequests\",\"message\":\"m\","
                            "\"details\":{\"name\":\"p1\"},\"retryAfter\":1}"));
    free_ctx(t, fault_ok(t, "{\"code\":503,\"body\":\"down\",\"contentType\":\"text/plain\"}"));
    fault_fails_with(t, "{\"code\":500,\"message\":\"m\",\"x\":1}",
                     "s.json: rules[0].fault: unknown key \"x\" (accepted: type, code, reason, "
                     "message, details, retryAfter, body, contentType)",
                     NULL);
    fault_fails_with(t, "{\"code\":500,\"mesage\":\"m\"}", "did you mean \"message\"?", NULL);
    fault_fails(t, "{\"message\":\"m\"}", "s.json: rules[0].fault: missing key \"code\"");
    fault_fails_with(t, "{\"code\":700,\"message\":\"m\"}", "s.json: rules[0].fault.code: ", "700",
                     NULL);
    fault_fails_with(t, "{\"code\":\"500\",\"message\":\"m\"}", "rules[0].fault.code: ", NULL);
    fault_fails(t, "{\"code\":500}",
                "s.json: rules[0].fault: missing key \"message\" (or \"body\" for a raw answer)");
    fault_fails(t, "{\"code\":500,\"body\":\"x\",\"message\":\"m\"}",
                "s.json: rules[0].fault: \"body\" replaces the Status: drop \"message\"");
    fault_fails_with(t, "{\"code\":500,\"message\":\"m\",\"retryAfter\":-1}",
                     "rules[0].fault.retryAfter: ", NULL);
    fault_fails_with(t, "{\"code\":500,\"message\":\"m\",\"details\":[]}",
                     "rules[0].fault.details: ", NULL);
    fault_fails(t, "{\"code\":500,\"message\":\"m\",\"contentType\":\"\"}",
                "s.json: rules[0].fault.contentType: must not be empty");
}

static void test_parse_error(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_error;
    static const char *const names[] = {"etcd-leader-changed",
                                        "etcd-request-timed-out",
                                        "etcd-request-timed-out-leader-failure",
                                        "quota-evaluation-timeout",
                                        "quota-exceeded",
                                        "webhook-timeout",
                                        "webhook-failed",
                                        "webhook-denied",
                                        "too-many-requests",
                                        "context-deadline-exceeded"};
    char json[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(json, sizeof json, "{\"type\":\"error\",\"name\":\"%s\"}", names[i]);
        free_ctx(t, fault_ok(t, json));
    }
    free_ctx(t,
             fault_ok(t, "{\"name\":\"webhook-failed\",\"webhook\":\"w\",\"url\":\"https://s/p\","
                         "\"timeoutSeconds\":30,\"cause\":\"EOF\",\"after\":\"0s\","
                         "\"code\":503,\"reason\":\"\",\"retryAfter\":2}"));
    free_ctx(t, fault_ok(t, "{\"name\":\"quota-exceeded\",\"quota\":\"q\",\"requested\":\"a=1\","
                            "\"used\":\"a=2\",\"limited\":\"a=2\",\"message\":\"m\"}"));
    fault_fails(t, "{}", "s.json: rules[0].fault: missing key \"name\"");
    fault_fails(t, "{\"name\":\"etcd-leader\"}",
                "s.json: rules[0].fault.name: unknown error \"etcd-leader\" (known: "
                "etcd-leader-changed, etcd-request-timed-out, "
                "etcd-request-timed-out-leader-failure, quota-evaluation-timeout, quota-exceeded, "
                "webhook-timeout, webhook-failed, webhook-denied, too-many-requests, "
                "context-deadline-exceeded)");
    fault_fails_with(t, "{\"name\":\"etcd-leader-chnged\"}",
                     "; did you mean \"etcd-leader-changed\"?", NULL);
    /* a key another error takes is still unknown to this one, and the list says what is */
    fault_fails_with(t, "{\"name\":\"etcd-leader-changed\",\"webhook\":\"w\"}",
                     "s.json: rules[0].fault: unknown key \"webhook\" (accepted: type, name, "
                     "code, reason, message, retryAfter, after)",
                     NULL);
    fault_fails_with(t, "{\"name\":\"webhook-denied\",\"url\":\"u\"}",
                     "unknown key \"url\" (accepted: type, name, code, reason, message, "
                     "retryAfter, after, webhook, detail)",
                     NULL);
    fault_fails_with(t, "{\"name\":\"too-many-requests\",\"nope\":1}", "unknown key \"nope\"",
                     NULL);
    fault_fails_with(t, "{\"name\":\"webhook-timeout\",\"timeoutSeconds\":31}",
                     "s.json: rules[0].fault.timeoutSeconds: ", "31", NULL);
    fault_fails_with(t, "{\"name\":\"webhook-timeout\",\"after\":\"10\"}",
                     "s.json: rules[0].fault.after: ", NULL);
    fault_fails(t, "{\"name\":\"webhook-timeout\",\"after\":\"11m\"}",
                "s.json: rules[0].fault.after: \"11m\" is longer than the limit of 10m");
    fault_fails(t, "{\"name\":\"too-many-requests\",\"format\":\"html\"}",
                "s.json: rules[0].fault.format: unknown format \"html\" (known: text, status)");
    fault_fails(t, "{\"name\":\"webhook-failed\",\"webhook\":\"\"}",
                "s.json: rules[0].fault.webhook: must not be empty");
    fault_fails_with(t, "{\"name\":\"etcd-leader-changed\",\"code\":200}",
                     "s.json: rules[0].fault.code: ", NULL);
}

static void test_parse_delay(void **state)
{
    (void)state;
    const struct fault_type *t = &fault_type_delay;
    free_ctx(t, fault_ok(t, "{\"type\":\"delay\",\"fixed\":\"250ms\"}"));
    free_ctx(t, fault_ok(t, "{\"uniform\":{\"min\":\"1s\",\"max\":\"1m30s\"}}"));
    free_ctx(t, fault_ok(t, "{\"lognormal\":{\"median\":\"2s\",\"sigma\":0.5},\"max\":\"30s\"}"));
    free_ctx(t, fault_ok(t, "{\"fixed\":\"0s\"}"));
    fault_fails(t, "{}",
                "s.json: rules[0].fault: missing the distribution (fixed, uniform, lognormal or "
                "empirical)");
    fault_fails(t, "{\"fixed\":\"1s\",\"uniform\":{\"min\":\"1s\",\"max\":\"2s\"}}",
                "s.json: rules[0].fault: give one distribution only (fixed, uniform, lognormal or "
                "empirical)");
    fault_fails_with(t, "{\"fixed\":\"1s\",\"x\":1}",
                     "unknown key \"x\" (accepted: type, fixed, uniform, lognormal, empirical, "
                     "max)",
                     NULL);
    fault_fails_with(t, "{\"fixed\":\"2x\"}", "s.json: rules[0].fault.fixed: ", NULL);
    fault_fails_with(t, "{\"fixed\":250}", "s.json: rules[0].fault.fixed: ", NULL);
    fault_fails(t, "{\"fixed\":\"11m\"}",
                "s.json: rules[0].fault.fixed: \"11m\" is longer than the limit of 10m");
    fault_fails(t, "{\"fixed\":\"5s\",\"max\":\"2s\"}",
                "s.json: rules[0].fault: the delay is longer than \"max\" (2s)");
    fault_fails(t, "{\"uniform\":{\"min\":\"2s\",\"max\":\"1s\"}}",
                "s.json: rules[0].fault.uniform: \"max\" is below \"min\"");
    fault_fails(t, "{\"uniform\":{\"min\":\"2s\"}}",
                "s.json: rules[0].fault.uniform: missing key \"max\"");
    fault_fails_with(t, "{\"uniform\":{\"min\":\"1s\",\"max\":\"2s\",\"mean\":\"1s\"}}",
                     "s.json: rules[0].fault.uniform: unknown key \"mean\"", NULL);
    fault_fails_with(t, "{\"lognormal\":{\"median\":\"1s\",\"sigma\":11}}",
                     "s.json: rules[0].fault.lognormal.sigma: ", NULL);
    fault_fails_with(t, "{\"lognormal\":\"1s\"}", "s.json: rules[0].fault.lognormal: ", NULL);
    /* empirical: measured delays, each checked at its own path; the cap cuts them, never refuses */
    free_ctx(t, fault_ok(t, "{\"empirical\":[\"12s\",\"31s\",\"2m5s\"],\"max\":\"1m\"}"));
    free_ctx(t, fault_ok(t, "{\"type\":\"delay\",\"empirical\":[\"0s\"]}"));
    fault_fails(t, "{\"empirical\":[]}",
                "s.json: rules[0].fault.empirical: an empirical delay needs at least one value, "
                "e.g. [\"12s\", \"31s\"]");
    fault_fails(t, "{\"empirical\":[\"1s\",\"11m\"]}",
                "s.json: rules[0].fault.empirical[1]: \"11m\" is longer than the limit of 10m");
    fault_fails_with(t, "{\"empirical\":[\"1s\",2]}",
                     "s.json: rules[0].fault.empirical[1]: ", NULL);
    fault_fails_with(t, "{\"empirical\":\"1s\"}", "s.json: rules[0].fault.empirical: ", NULL);
    fault_fails(t, "{\"empirical\":[\"1s\"],\"fixed\":\"1s\"}",
                "s.json: rules[0].fault: give one distribution only (fixed, uniform, lognormal or "
                "empirical)");
}

static void test_parse_others(void **state)
{
    (void)state;
    free_ctx(&fault_type_hang, fault_ok(&fault_type_hang, "{\"type\":\"hang\"}"));
    fault_fails(&fault_type_hang, "{\"type\":\"hang\",\"for\":\"1s\"}",
                "s.json: rules[0].fault: unknown key \"for\" (accepted: type)");
    free_ctx(&fault_type_empty_reply, fault_ok(&fault_type_empty_reply, "{}"));
    fault_fails(&fault_type_empty_reply, "{\"code\":1}",
                "s.json: rules[0].fault: unknown key \"code\" (accepted: type)");
    free_ctx(&fault_type_malformed_body, fault_ok(&fault_type_malformed_body, "{}"));
    free_ctx(&fault_type_malformed_body, fault_ok(&fault_type_malformed_body, "{\"body\":\"\"}"));
    fault_fails_with(&fault_type_malformed_body, "{\"body\":5}", "rules[0].fault.body: ", NULL);
    fault_fails_with(&fault_type_malformed_body, "{\"bdy\":\"x\"}",
                     "unknown key \"bdy\" (accepted: type, body); did you mean \"body\"?", NULL);
    free_ctx(&fault_type_wrong_content_type,
             fault_ok(&fault_type_wrong_content_type, "{\"contentType\":\"text/plain\"}"));
    fault_fails(&fault_type_wrong_content_type, "{\"contentType\":\"a\\r\\nX: y\"}",
                "s.json: rules[0].fault.contentType: a content type is one line of at most 256 "
                "bytes");
    fault_fails_with(&fault_type_wrong_content_type, "{\"contentType\":[]}",
                     "rules[0].fault.contentType: ", NULL);
}

static void test_format_duration(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(param_format_duration(0, b, sizeof b), "0ms");
    assert_string_equal(param_format_duration(250, b, sizeof b), "250ms");
    assert_string_equal(param_format_duration(2000, b, sizeof b), "2s");
    assert_string_equal(param_format_duration(1500, b, sizeof b), "1.5s");
    assert_string_equal(param_format_duration(1250, b, sizeof b), "1.25s");
    assert_string_equal(param_format_duration(1001, b, sizeof b), "1.001s");
    assert_string_equal(param_format_duration(90000, b, sizeof b), "1m30s");
    assert_string_equal(param_format_duration(3600000, b, sizeof b), "1h");
    assert_string_equal(param_format_duration(600000, b, sizeof b), "10m");
}

/* ---- answers on the wire: one connection over a socketpair ---- */

struct fixture {
    struct event_base *base;
    int peer;
    struct conn_set set;
    uint64_t counter;
    struct conn *c;
    struct http_request *req; /* the request waiting for the fault */
    struct route route;
    struct rng rng;
    char note[256];
};

static void on_conn_request(void *arg, struct conn *c, struct http_request *req)
{
    struct fixture *f = arg;
    char err[128];
    f->c = c;
    f->req = req;
    assert_int_equal(route_parse(req->method, req->path, 0, &f->route, err, sizeof err), 0);
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
        .set = &f->set, .on_request = on_conn_request, .arg = f, .request_counter = &f->counter};
    f->c = conn_new(bev, &cfg, "test-peer");
    f->peer = sv[1];
    rng_init(&f->rng, 42);
    *state = f;
    return f->base && f->c ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    conn_set_abort_all(&f->set); /* runs the close callbacks: pending timers are freed */
    event_base_free(f->base);
    close(f->peer);
    free(f);
    return 0;
}

/* Send raw request bytes and run the loop until the connection has the request. */
static void send_request(struct fixture *f, const char *raw, size_t len)
{
    assert_int_equal(write(f->peer, raw, len), (ssize_t)len);
    f->req = NULL;
    for (int i = 0; i < 200 && !f->req; i++)
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_non_null(f->req);
}

/* Apply type t (ctx) to the waiting request. */
static enum hook_verdict apply(struct fixture *f, const struct fault_type *t, void *ctx)
{
    struct fault_request fr = {.ctx = ctx,
                               .conn = f->c,
                               .req = f->req,
                               .route = &f->route,
                               .rng = &f->rng,
                               .base = f->base,
                               .note = f->note,
                               .note_len = sizeof f->note};
    f->note[0] = '\0';
    return t->on_request(&fr);
}

struct wire {
    char data[16384];
    size_t len;
    int eof;
    const char *body; /* after the head */
};

/* Run the loop and read what the peer gets until want bytes, EOF or WAIT_MS. */
static void read_wire(struct fixture *f, struct wire *w)
{
    memset(w, 0, sizeof *w);
    for (int i = 0; i < WAIT_MS / 10 && !w->eof; i++) {
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        struct pollfd p = {f->peer, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t n = read(f->peer, w->data + w->len, sizeof w->data - 1 - w->len);
        if (n == 0)
            w->eof = 1;
        else if (n > 0)
            w->len += (size_t)n;
        const char *end = strstr(w->data, "\r\n\r\n");
        const char *cl = strstr(w->data, "Content-Length: ");
        if (end && cl && w->len >= (size_t)(end + 4 - w->data) + strtoul(cl + 16, NULL, 10))
            break;
    }
    w->data[w->len] = '\0';
    const char *end = strstr(w->data, "\r\n\r\n");
    w->body = end ? end + 4 : NULL;
}

/* The whole answer of type t for json to a GET of pod p1: head line, a header, the body. */
static void expect_answer(struct fixture *f, const struct fault_type *t, const char *json,
                          const char *status_line, const char *header, const char *body)
{
    struct wire w;
    void *ctx = fault_ok(t, json);
    send_request(f, GET_POD, strlen(GET_POD));
    assert_int_equal(apply(f, t, ctx), HOOK_HANDLED);
    read_wire(f, &w);
    free_ctx(t, ctx);
    if (strncmp(w.data, status_line, strlen(status_line)) != 0)
        fail_msg("%s: got %s", json, w.data);
    if (header && !strstr(w.data, header))
        fail_msg("%s: no \"%s\" in %s", json, header, w.data);
    assert_non_null(w.body);
    assert_string_equal(w.body, body);
}

#define STATUS_HEAD                                                                                \
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","

static void test_status_answer(void **state)
{
    struct fixture *f = *state;
    expect_answer(f, &fault_type_status,
                  "{\"code\":500,\"message\":\"etcdserver: leader changed\"}", "HTTP/1.1 500 ",
                  "Content-Type: application/json\r\n",
                  STATUS_HEAD "\"message\":\"etcdserver: leader changed\",\"code\":500}\n");
    expect_answer(f, &fault_type_status,
                  "{\"code\":429,\"reason\":\"TooManyRequests\",\"message\":\"slow\","
                  "\"retryAfter\":3}",
                  "HTTP/1.1 429 ", "\r\nRetry-After: 3\r\n",
                  STATUS_HEAD "\"message\":\"slow\",\"reason\":\"TooManyRequests\",\"code\":429,"
                              "\"details\":{\"retryAfterSeconds\":3}}\n");
    expect_answer(f, &fault_type_status,
                  "{\"code\":404,\"reason\":\"NotFound\",\"message\":\"pods \\\"p1\\\" not found\","
                  "\"details\":{\"name\":\"p1\",\"kind\":\"pods\"}}",
                  "HTTP/1.1 404 ", NULL,
                  STATUS_HEAD "\"message\":\"pods \\\"p1\\\" not found\",\"reason\":\"NotFound\","
                              "\"code\":404,\"details\":{\"name\":\"p1\",\"kind\":\"pods\"}}\n");
    expect_answer(f, &fault_type_status, "{\"code\":503,\"body\":\"down\",\"retryAfter\":0}",
                  "HTTP/1.1 503 ", "Content-Type: text/plain; charset=utf-8\r\n", "down");
    expect_answer(f, &fault_type_status,
                  "{\"code\":500,\"body\":\"<h1>x</h1>\",\"contentType\":\"text/html\"}",
                  "HTTP/1.1 500 ", "Content-Type: text/html\r\n", "<h1>x</h1>");
}

/* error with json answers a GET of p1 with exactly this code, header and body. */
static void expect_error(struct fixture *f, const char *json, int code, const char *header,
                         const char *body)
{
    char line[32];
    snprintf(line, sizeof line, "HTTP/1.1 %d ", code);
    expect_answer(f, &fault_type_error, json, line, header, body);
}

static void test_error_answers(void **state)
{
    struct fixture *f = *state;
    /* etcd errors pass through ErrorToAPIStatus: 500, reason Unknown ("", left out) */
    expect_error(f, "{\"name\":\"etcd-leader-changed\"}", 500, "Content-Type: application/json",
                 STATUS_HEAD "\"message\":\"etcdserver: leader changed\",\"code\":500}\n");
    expect_error(f, "{\"name\":\"etcd-request-timed-out\"}", 500, NULL,
                 STATUS_HEAD "\"message\":\"etcdserver: request timed out\",\"code\":500}\n");
    expect_error(f, "{\"name\":\"etcd-request-timed-out-leader-failure\"}", 500, NULL,
                 STATUS_HEAD "\"message\":\"etcdserver: request timed out, possibly due to "
                             "previous leader failure\",\"code\":500}\n");
    expect_error(f, "{\"name\":\"context-deadline-exceeded\"}", 500, NULL,
                 STATUS_HEAD "\"message\":\"context deadline exceeded\",\"code\":500}\n");
    expect_error(f, "{\"name\":\"etcd-leader-changed\",\"reason\":\"InternalError\"}", 500, NULL,
                 STATUS_HEAD "\"message\":\"etcdserver: leader changed\",\"reason\":"
                             "\"InternalError\",\"code\":500}\n");
    expect_error(f, "{\"name\":\"etcd-request-timed-out\",\"retryAfter\":1}", 500,
                 "\r\nRetry-After: 1\r\n",
                 STATUS_HEAD "\"message\":\"etcdserver: request timed out\",\"code\":500,"
                             "\"details\":{\"retryAfterSeconds\":1}}\n");
    /* apierrors.NewInternalError */
    expect_error(f, "{\"name\":\"quota-evaluation-timeout\",\"after\":\"0s\"}", 500, NULL,
                 STATUS_HEAD "\"message\":\"Internal error occurred: resource quota evaluates "
                             "timeout\",\"reason\":\"InternalError\",\"code\":500,\"details\":{"
                             "\"causes\":[{\"message\":\"resource quota evaluates timeout\"}]}}\n");
    /* apierrors.NewTimeoutError(msg, 0): details {} */
    expect_error(f, "{\"name\":\"webhook-timeout\",\"after\":\"0s\"}", 504, NULL,
                 STATUS_HEAD "\"message\":\"Timeout: request did not complete within requested "
                             "timeout\",\"reason\":\"Timeout\",\"code\":504,\"details\":{}}\n");
    expect_error(f,
                 "{\"name\":\"webhook-timeout\",\"after\":\"0s\",\"message\":\"Timeout: request "
                 "did not complete within requested timeout - context deadline exceeded\"}",
                 504, NULL,
                 STATUS_HEAD "\"message\":\"Timeout: request did not complete within requested "
                             "timeout - context deadline exceeded\",\"reason\":\"Timeout\","
                             "\"code\":504,\"details\":{}}\n");
    expect_error(f, "{\"name\":\"webhook-failed\",\"after\":\"0s\"}", 500, NULL,
                 STATUS_HEAD
                 "\"message\":\"Internal error occurred: failed calling webhook "
                 "\\\"example.webhook.service\\\": failed to call webhook: Post "
                 "\\\"https://example-webhook.default.svc:443/mutate?timeout=10s\\\": context "
                 "deadline exceeded\",\"reason\":\"InternalError\",\"code\":500,\"details\":{"
                 "\"causes\":[{\"message\":\"failed calling webhook "
                 "\\\"example.webhook.service\\\": failed to call webhook: Post "
                 "\\\"https://example-webhook.default.svc:443/mutate?timeout=10s\\\": context "
                 "deadline exceeded\"}]}}\n");
    expect_error(f,
                 "{\"name\":\"webhook-failed\",\"after\":\"0s\",\"webhook\":\"v.l.io\",\"url\":"
                 "\"https://l.s.svc:9502/v\",\"timeoutSeconds\":5,\"cause\":\"EOF\"}",
                 500, NULL,
                 STATUS_HEAD
                 "\"message\":\"Internal error occurred: failed calling webhook "
                 "\\\"v.l.io\\\": failed to call webhook: Post "
                 "\\\"https://l.s.svc:9502/v?timeout=5s\\\": EOF\",\"reason\":"
                 "\"InternalError\",\"code\":500,\"details\":{\"causes\":[{"
                 "\"message\":\"failed calling webhook \\\"v.l.io\\\": failed to call "
                 "webhook: Post \\\"https://l.s.svc:9502/v?timeout=5s\\\": EOF\"}]}}\n");
    expect_error(f, "{\"name\":\"webhook-denied\"}", 403, NULL,
                 STATUS_HEAD "\"message\":\"admission webhook \\\"validation.gatekeeper.sh\\\" "
                             "denied the request: [psp-readonlyrootfilesystem] only read-only root "
                             "filesystem container is allowed: build\",\"reason\":\"Forbidden\","
                             "\"code\":403}\n");
    expect_error(f,
                 "{\"name\":\"webhook-denied\",\"code\":400,\"webhook\":\"x\",\"detail\":\"image x "
                 "is not allowed\"}",
                 400, NULL,
                 STATUS_HEAD "\"message\":\"admission webhook \\\"x\\\" denied the request: image "
                             "x is not allowed\",\"reason\":\"BadRequest\",\"code\":400}\n");
    /* the max-in-flight and APF filters: Go's http.Error, not a Status */
    expect_error(f, "{\"name\":\"too-many-requests\"}", 429, "\r\nRetry-After: 1\r\n",
                 "Too many requests, please try again later.\n");
    expect_error(f, "{\"name\":\"too-many-requests\"}", 429,
                 "Content-Type: text/plain; charset=utf-8\r\n",
                 "Too many requests, please try again later.\n");
    expect_error(f, "{\"name\":\"too-many-requests\",\"retryAfter\":0}", 429,
                 "\r\nRetry-After: 0\r\n", "Too many requests, please try again later.\n");
    expect_error(f, "{\"name\":\"too-many-requests\",\"format\":\"status\",\"retryAfter\":2}", 429,
                 "\r\nRetry-After: 2\r\n",
                 STATUS_HEAD "\"message\":\"Too many requests, please try again later.\","
                             "\"reason\":\"TooManyRequests\",\"code\":429,\"details\":{"
                             "\"retryAfterSeconds\":2}}\n");
}

/* quota-exceeded names the object: from the URL, else the body's name or generateName. */
static void test_error_quota_names(void **state)
{
    struct fixture *f = *state;
    const struct fault_type *t = &fault_type_error;
    struct wire w;
    void *ctx = fault_ok(t, "{\"name\":\"quota-exceeded\"}");
    expect_error(f, "{\"name\":\"quota-exceeded\"}", 403, NULL,
                 STATUS_HEAD "\"message\":\"pods \\\"p1\\\" is forbidden: exceeded quota: "
                             "compute-resources, requested: pods=1, used: pods=10, limited: "
                             "pods=10\",\"reason\":\"Forbidden\",\"code\":403,\"details\":{"
                             "\"name\":\"p1\",\"kind\":\"pods\"}}\n");
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"{\"metadata\":{\"name\":\"web\"}}", "pods \\\"web\\\" is forbidden: "},
        {"{\"metadata\":{\"generateName\":\"runner-\"}}", "pods \\\"runner-\\\" is forbidden: "},
        {"{}", "pods \\\"Unknown\\\" is forbidden: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[512];
        int n = snprintf(raw, sizeof raw,
                         POST_POD_HEAD "Content-Type: application/json\r\nContent-Length: "
                                       "%zu\r\n\r\n%s",
                         strlen(cases[i].body), cases[i].body);
        send_request(f, raw, (size_t)n);
        apply(f, t, ctx);
        read_wire(f, &w);
        if (!strstr(w.data, cases[i].want))
            fail_msg("%s: no %s in %s", cases[i].body, cases[i].want, w.data);
    }
    free_ctx(t, ctx);
    ctx = fault_ok(t, "{\"name\":\"quota-exceeded\",\"quota\":\"mem\",\"requested\":"
                      "\"requests.memory=2Gi\",\"used\":\"requests.memory=7Gi\",\"limited\":"
                      "\"requests.memory=8Gi\"}");
    send_request(f, GET_POD, strlen(GET_POD));
    apply(f, t, ctx);
    read_wire(f, &w);
    free_ctx(t, ctx);
    assert_non_null(strstr(w.data, "\"pods \\\"p1\\\" is forbidden: exceeded quota: mem, "
                                   "requested: requests.memory=2Gi, used: requests.memory=7Gi, "
                                   "limited: requests.memory=8Gi\""));
}

/* Errors the apiserver gives after a wait hold the answer: nothing arrives at once. */
static void test_error_waits(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *json, *note;
    } cases[] = {
        {"{\"name\":\"webhook-timeout\"}", "error webhook-timeout after 10s"},
        {"{\"name\":\"webhook-timeout\",\"timeoutSeconds\":3}", "error webhook-timeout after 3s"},
        {"{\"name\":\"webhook-failed\"}", "error webhook-failed after 10s"},
        {"{\"name\":\"quota-evaluation-timeout\"}", "error quota-evaluation-timeout after 10s"},
        {"{\"name\":\"etcd-leader-changed\",\"after\":\"1500ms\"}",
         "error etcd-leader-changed after 1.5s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *ctx = fault_ok(&fault_type_error, cases[i].json);
        send_request(f, GET_POD, strlen(GET_POD));
        assert_int_equal(apply(f, &fault_type_error, ctx), HOOK_HANDLED);
        free_ctx(&fault_type_error, ctx); /* the waiting answer is a copy */
        assert_string_equal(f->note, cases[i].note);
        for (int k = 0; k < 10; k++)
            event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        struct pollfd p = {f->peer, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 50), 0);
        /* the client leaves: the close callback frees the timer and the answer (ASan checks) */
        conn_abort(f->c);
        f->c = NULL;
        close(f->peer);
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        evutil_make_socket_nonblocking(sv[0]);
        struct conn_config cfg = {.set = &f->set,
                                  .on_request = on_conn_request,
                                  .arg = f,
                                  .request_counter = &f->counter};
        f->c = conn_new(bufferevent_socket_new(f->base, sv[0], BEV_OPT_CLOSE_ON_FREE), &cfg, "t");
        f->peer = sv[1];
        assert_non_null(f->c);
    }
}

static void test_malformed_body_answer(void **state)
{
    struct fixture *f = *state;
    expect_answer(f, &fault_type_malformed_body, "{}", "HTTP/1.1 200 OK",
                  "Content-Type: application/json\r\n", "{not json");
    expect_answer(f, &fault_type_malformed_body, "{\"body\":\"[1,\"}", "HTTP/1.1 200 OK",
                  "Content-Length: 3\r\n", "[1,");
}

static void test_empty_reply_closes(void **state)
{
    struct fixture *f = *state;
    struct wire w;
    void *ctx = fault_ok(&fault_type_empty_reply, "{}");
    send_request(f, GET_POD, strlen(GET_POD));
    assert_int_equal(apply(f, &fault_type_empty_reply, ctx), HOOK_HANDLED);
    f->c = NULL; /* aborted */
    read_wire(f, &w);
    assert_true(w.eof);
    assert_int_equal(w.len, 0);
    assert_string_equal(f->note, "empty reply");
}

static void test_hang_stays_silent(void **state)
{
    struct fixture *f = *state;
    void *ctx = fault_ok(&fault_type_hang, "{}");
    send_request(f, GET_POD, strlen(GET_POD));
    assert_int_equal(apply(f, &fault_type_hang, ctx), HOOK_HANDLED);
    for (int k = 0; k < 20; k++)
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    struct pollfd p = {f->peer, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 100), 0);
    assert_string_equal(f->note, "hang");
    /* the client gives up: the connection goes (the teardown would find it otherwise) */
    shutdown(f->peer, SHUT_WR);
    for (int k = 0; k < 50 && f->set.count; k++) {
        event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        poll(NULL, 0, 5);
    }
    assert_int_equal(f->set.count, 0);
}

/* The drawn delay, as the note says it; the request then waits for a timer we never run. */
static void delay_note(struct fixture *f, void *ctx, char *out, size_t len)
{
    send_request(f, GET_POD, strlen(GET_POD));
    assert_int_equal(apply(f, &fault_type_delay, ctx), HOOK_HANDLED);
    assert_true(snprintf(out, len, "%s", f->note) < (int)len);
    struct pollfd p = {f->peer, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 0), 0);
    conn_abort(f->c); /* frees the pending request (ASan checks) */
    close(f->peer);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    evutil_make_socket_nonblocking(sv[0]);
    struct conn_config cfg = {
        .set = &f->set, .on_request = on_conn_request, .arg = f, .request_counter = &f->counter};
    f->c = conn_new(bufferevent_socket_new(f->base, sv[0], BEV_OPT_CLOSE_ON_FREE), &cfg, "t");
    f->peer = sv[1];
    assert_non_null(f->c);
}

/* Same seed, same draws; within bounds; lognormal and empirical cut at max. */
static void test_delay_draws(void **state)
{
    struct fixture *f = *state;
    char a[8][64], b[8][64], note[64];
    void *fixed = fault_ok(&fault_type_delay, "{\"fixed\":\"250ms\"}");
    delay_note(f, fixed, note, sizeof note);
    assert_string_equal(note, "delay 250ms");
    free_ctx(&fault_type_delay, fixed);

    void *uni = fault_ok(&fault_type_delay, "{\"uniform\":{\"min\":\"100ms\",\"max\":\"200ms\"}}");
    void *logn = fault_ok(&fault_type_delay,
                          "{\"lognormal\":{\"median\":\"1s\",\"sigma\":1},\"max\":\"3s\"}");
    for (int round = 0; round < 2; round++) {
        rng_init(&f->rng, 7);
        for (int i = 0; i < 8; i++)
            delay_note(f, i % 2 ? logn : uni, round ? b[i] : a[i], sizeof a[i]);
    }
    int capped = 0, differ = 0;
    for (int i = 0; i < 8; i++) {
        assert_string_equal(a[i], b[i]);
        differ |= i > 1 && strcmp(a[i], a[i - 2]) != 0;
        if (i % 2 == 0) {
            long ms = strtol(a[i] + 6, NULL, 10);
            assert_true(ms >= 100 && ms <= 200);
        }
        capped |= strcmp(a[i], "delay 3s") == 0;
    }
    assert_true(differ);
    /* with sigma 1 and 400 draws, some land past 3 medians (P ~ 0.14) and are cut to max */
    rng_init(&f->rng, 1);
    for (int i = 0; i < 400 && !capped; i++) {
        delay_note(f, logn, note, sizeof note);
        capped = strcmp(note, "delay 3s") == 0;
    }
    assert_true(capped);
    free_ctx(&fault_type_delay, uni);
    free_ctx(&fault_type_delay, logn);

    /* empirical: only the listed values, the one above max cut to it */
    void *emp =
        fault_ok(&fault_type_delay, "{\"empirical\":[\"150ms\",\"2s\",\"5s\"],\"max\":\"3s\"}");
    static const char *const want[] = {"delay 150ms", "delay 2s", "delay 3s"};
    int seen[3] = {0};
    rng_init(&f->rng, 3);
    for (int i = 0; i < 60; i++) {
        int k = 0;
        delay_note(f, emp, note, sizeof note);
        while (k < 3 && strcmp(note, want[k]) != 0)
            k++;
        assert_true(k < 3);
        seen[k] = 1;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    free_ctx(&fault_type_delay, emp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_parse_delay),
        cmocka_unit_test(test_parse_others),
        cmocka_unit_test(test_format_duration),
        cmocka_unit_test_setup_teardown(test_status_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_quota_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_body_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_reply_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hang_stays_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delay_draws, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
