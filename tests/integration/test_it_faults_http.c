/* test_it_faults_http.c -- the HTTP answer fault types (status, error, delay, hang, empty-reply,
 * malformed-body, wrong-content-type) over real sockets with libcurl. Two ways in: hooks that call
 * a type's on_request directly (no engine), and a real engine built from scenario text on the
 * server thread (for delay and wrong-content-type, which hand the request back with
 * engine_serve()).
 *
 * Checked: codes, Retry-After, bodies byte for byte, waits bounded below by the delay and above by
 * the delay + 2 s (never tighter), a hung request timing out in the client, curl's 52 on an empty
 * reply, the normal body under a foreign Content-Type, clients leaving mid-delay (the sanitizer
 * build checks the timers are freed), and the same seed giving the same lognormal waits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/journal.h"
#include "itest.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"

#define POD_P1 "/api/v1/namespaces/default/pods/p1"
#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
/* A wait may run late by this much, never early: the upper bounds only catch a wait that never
 * ends, so they are wide (CI runs four test programs and the fuzzers on two cores). */
#define SLACK_MS 5000

/* lo <= took < hi, or the test fails saying how long it took. */
#define assert_took(took, lo, hi)                                                                  \
    do {                                                                                           \
        if (!((took) >= (lo) && (took) < (hi)))                                                    \
            fail_msg("took %lld ms, want [%d, %d)", (long long)(took), (int)(lo), (int)(hi));      \
    } while (0)

extern const struct fault_type fault_type_status, fault_type_error, fault_type_delay,
    fault_type_hang, fault_type_empty_reply, fault_type_malformed_body,
    fault_type_wrong_content_type;

/* What the hooks do; set before the server starts or while no request is in flight. */
static struct {
    const struct fault_type *type; /* applied to the next `requests` requests */
    void *ctx;
    struct event_base *base;
    atomic_int requests;
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

static const struct mockapi_hooks hooks = {.on_request = hook_request};

static void get_base(void *arg, struct mockapi_server *s)
{
    (void)arg;
    F.base = mockapi_server_base(s);
}

static void *parse_ok(const struct fault_type *type, const char *spec)
{
    struct diag d;
    void *ctx = NULL;
    diag_init(&d, "test");
    cJSON *j = cJSON_Parse(spec);
    assert_non_null(j);
    int rc = type->parse(j, "rules[0].fault", &d, &ctx);
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

/* A plain-HTTP server whose hooks apply type with spec to the next n requests. */
static struct itest *start(void **state, const struct fault_type *type, const char *spec, int n)
{
    memset(&F, 0, sizeof F);
    F.type = type;
    F.ctx = parse_ok(type, spec);
    struct itest_opts o = {0};
    o.hooks = &hooks;
    struct itest *t = itest_start(state, &o);
    itest_run(t, get_base, NULL);
    atomic_store(&F.requests, n);
    return t;
}

/* A plain-HTTP server running the scenario (JSON text) through a real engine. */
static struct itest *start_engine(void **state, const char *scenario)
{
    return itest_start_scenario(state, scenario, NULL);
}

static void get(struct itest *t, const char *path, long timeout_ms, struct itest_resp *out)
{
    struct itest_req r = {0};
    r.path = path;
    r.timeout_ms = timeout_ms;
    itest_request(t, &r, out);
}

/* ---- status ---- */

static void test_status_retry_after(void **state)
{
    struct itest *t = start(state, &fault_type_status,
                            "{\"code\":503,\"reason\":\"ServiceUnavailable\",\"message\":\"busy\","
                            "\"retryAfter\":2}",
                            1);
    struct itest_resp resp;
    char buf[64];
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 503);
    assert_string_equal(itest_resp_header(&resp, "Retry-After", buf, sizeof buf), "2");
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf),
                        "application/json");
    assert_string_equal(resp.body,
                        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                        "\"Failure\",\"message\":\"busy\",\"reason\":\"ServiceUnavailable\","
                        "\"code\":503,\"details\":{\"retryAfterSeconds\":2}}\n");
    itest_resp_release(&resp);
    /* the next request is served normally */
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.code, 404);
    itest_resp_release(&resp);
}

static void test_status_raw_body(void **state)
{
    struct itest *t = start(state, &fault_type_status, "{\"code\":500,\"body\":\"boom\"}", 1);
    struct itest_resp resp;
    char buf[64];
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.code, 500);
    assert_string_equal(resp.body, "boom");
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf),
                        "text/plain; charset=utf-8");
    assert_null(itest_resp_header(&resp, "Retry-After", buf, sizeof buf));
    itest_resp_release(&resp);
}

/* ---- error ---- */

static void test_error_etcd(void **state)
{
    struct itest *t = start(state, &fault_type_error, "{\"name\":\"etcd-leader-changed\"}", 1);
    long code;
    itest_assert_status(itest_json(t, "GET", POD_P1, NULL, &code), &code, 500, NULL,
                        "etcdserver: leader changed");
}

static void test_error_too_many_requests(void **state)
{
    struct itest *t = start(state, &fault_type_error, "{\"name\":\"too-many-requests\"}", 1);
    struct itest_resp resp;
    char buf[64];
    get(t, PODS, 0, &resp);
    assert_int_equal(resp.code, 429);
    assert_string_equal(itest_resp_header(&resp, "Retry-After", buf, sizeof buf), "1");
    assert_string_equal(itest_resp_header(&resp, "X-Content-Type-Options", buf, sizeof buf),
                        "nosniff");
    assert_string_equal(resp.body, "Too many requests, please try again later.\n");
    itest_resp_release(&resp);
}

static void test_error_quota_exceeded_on_create(void **state)
{
    struct itest *t = start(state, &fault_type_error, "{\"name\":\"quota-exceeded\"}", 1);
    long code;
    itest_assert_status(
        itest_json(t, "POST", PODS,
                   "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},"
                   "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}",
                   &code),
        &code, 403, "Forbidden",
        "pods \"web\" is forbidden: exceeded quota: compute-resources, requested: pods=1, used: "
        "pods=10, limited: pods=10");
    /* nothing was created */
    itest_must(t, "GET", PODS "/web", NULL, NULL, 404);
}

/* webhook-timeout answers after the webhook's timeoutSeconds. */
static void test_error_webhook_timeout_waits(void **state)
{
    struct itest *t =
        start(state, &fault_type_error, "{\"name\":\"webhook-timeout\",\"timeoutSeconds\":1}", 1);
    long code;
    int64_t t0 = itest_now_ms();
    cJSON *st = itest_json(t, "GET", POD_P1, NULL, &code);
    int64_t took = itest_now_ms() - t0;
    itest_assert_status(st, &code, 504, "Timeout",
                        "Timeout: request did not complete within requested timeout");
    assert_took(took, 1000, 1000 + SLACK_MS);
}

/* A client that leaves while an error waits: the timer is cancelled, the server carries on. */
static void test_error_client_leaves_during_wait(void **state)
{
    struct itest *t =
        start(state, &fault_type_error, "{\"name\":\"webhook-failed\",\"timeoutSeconds\":2}", 1);
    struct itest_resp resp;
    get(t, POD_P1, 300, &resp);
    assert_int_equal(resp.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&resp);
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.code, 404);
    itest_resp_release(&resp);
}

/* ---- hang, empty reply, malformed body ---- */

static void test_hang_client_times_out(void **state)
{
    struct itest *t = start(state, &fault_type_hang, "{}", 1);
    struct itest_resp resp;
    int64_t t0 = itest_now_ms();
    get(t, POD_P1, 500, &resp);
    int64_t took = itest_now_ms() - t0;
    assert_int_equal(resp.curl, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(resp.code, 0);
    assert_took(took, 500, 500 + SLACK_MS);
    itest_resp_release(&resp);
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.code, 404);
    itest_resp_release(&resp);
}

static void test_empty_reply(void **state)
{
    struct itest *t = start(state, &fault_type_empty_reply, "{}", 1);
    struct itest_resp resp;
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.curl, CURLE_GOT_NOTHING); /* curl: (52) Empty reply from server */
    assert_int_equal(resp.code, 0);
    itest_resp_release(&resp);
    /* on the wire: the request read, then FIN without a byte */
    atomic_store(&F.requests, 1);
    struct itest_buf b;
    const char raw[] = "GET " POD_P1 " HTTP/1.1\r\nHost: t\r\n\r\n";
    itest_tcp_exchange(t, raw, sizeof raw - 1, 3000, &b);
    assert_int_equal(b.len, 0);
    assert_true(b.eof);
    assert_false(b.reset);
    itest_buf_release(&b);
}

static void test_malformed_body(void **state)
{
    struct itest *t = start(state, &fault_type_malformed_body, "{}", 1);
    struct itest_resp resp;
    char buf[64];
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.code, 200);
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf),
                        "application/json");
    assert_string_equal(resp.body, "{not json");
    itest_resp_release(&resp);
}

/* ---- through the engine: delay, wrong-content-type ---- */

#define RULE(match, fault)                                                                         \
    "{\"name\":\"t\",\"seed\":7,\"rules\":[{\"name\":\"r\",\"match\":" match ",\"fault\":" fault   \
    "}]}"

static void test_delay_fixed(void **state)
{
    struct itest *t = start_engine(
        state, RULE("{\"resource\":\"pods\"}", "{\"type\":\"delay\",\"fixed\":\"700ms\"}"));
    long code;
    int64_t t0 = itest_now_ms();
    itest_assert_status(itest_json(t, "GET", POD_P1, NULL, &code), &code, 404, "NotFound",
                        "pods \"p1\" not found");
    int64_t took = itest_now_ms() - t0;
    assert_took(took, 700, 700 + SLACK_MS);
    /* a create is held too, then done */
    t0 = itest_now_ms();
    itest_must(t, "POST", PODS, "application/json",
               "{\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":\"c\","
               "\"image\":\"busybox\"}]}}",
               201);
    took = itest_now_ms() - t0;
    assert_took(took, 700, 700 + SLACK_MS);
    /* other resources are not */
    t0 = itest_now_ms();
    itest_must(t, "GET", CMS, NULL, NULL, 200);
    assert_true(itest_now_ms() - t0 < 700);
}

static void test_delay_uniform_bounds(void **state)
{
    struct itest *t = start_engine(
        state, RULE("{\"resource\":\"pods\"}",
                    "{\"type\":\"delay\",\"uniform\":{\"min\":\"200ms\",\"max\":\"400ms\"}}"));
    for (int i = 0; i < 3; i++) {
        int64_t t0 = itest_now_ms();
        itest_must(t, "GET", POD_P1, NULL, NULL, 404);
        int64_t took = itest_now_ms() - t0;
        assert_took(took, 200, 400 + SLACK_MS);
    }
}

/* The client gives up during the delay: the timer goes with it; later requests still wait. */
static void test_delay_client_leaves(void **state)
{
    struct itest *t = start_engine(
        state, RULE("{\"resource\":\"pods\"}", "{\"type\":\"delay\",\"fixed\":\"2s\"}"));
    struct itest_resp resp;
    get(t, POD_P1, 300, &resp);
    assert_int_equal(resp.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&resp);
    itest_must(t, "GET", CMS, NULL, NULL, 200);
    int64_t t0 = itest_now_ms();
    get(t, POD_P1, 0, &resp);
    assert_int_equal(resp.code, 404);
    assert_true(itest_now_ms() - t0 >= 2000);
    itest_resp_release(&resp);
}

/* The waits the scenario's seed draws, in request order, as the journal notes them. */
struct notes {
    struct engine *engine;
    char text[8][160];
    size_t n;
};

static void read_notes(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct notes *out = arg;
    struct journal *j = engine_journal(out->engine);
    out->n = 0;
    for (size_t i = 0; i < journal_count(j) && out->n < 8; i++) {
        const struct journal_entry *e = journal_get(j, i);
        if (e && e->note[0])
            snprintf(out->text[out->n++], sizeof out->text[0], "%s", e->note);
    }
}

static void lognormal_run(void **state, struct notes *out)
{
    struct itest *t = start_engine(
        state, RULE("{\"resource\":\"pods\"}",
                    "{\"type\":\"delay\",\"lognormal\":{\"median\":\"100ms\",\"sigma\":0.5},"
                    "\"max\":\"400ms\"}"));
    for (int i = 0; i < 4; i++) {
        int64_t t0 = itest_now_ms();
        itest_must(t, "GET", POD_P1, NULL, NULL, 404);
        assert_true(itest_now_ms() - t0 < 400 + SLACK_MS);
    }
    out->engine = itest_engine(t);
    itest_run(t, read_notes, out);
    assert_int_equal(out->n, 4);
}

static void test_delay_lognormal_seeded(void **state)
{
    struct notes a, b;
    lognormal_run(state, &a);
    teardown(state);
    lognormal_run(state, &b);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.text[i], b.text[i]);
        assert_true(strncmp(a.text[i], "delay ", 6) == 0);
    }
}

static void test_wrong_content_type(void **state)
{
    struct itest *t = start_engine(state, RULE("{\"resource\":\"configmaps\",\"verb\":\"get\"}",
                                               "{\"type\":\"wrong-content-type\"}"));
    itest_must(t, "POST", CMS, "application/json",
               "{\"metadata\":{\"name\":\"cm\"},\"data\":{\"k\":\"v\"}}", 201);
    struct itest_resp resp;
    char buf[64];
    get(t, CMS "/cm", 0, &resp);
    assert_int_equal(resp.code, 200);
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf), "text/html");
    /* the normal body, whole (Content-Length unchanged) */
    cJSON *cm = cJSON_Parse(resp.body);
    assert_non_null(cm);
    assert_string_equal(itest_jstr(cm, "metadata.name"), "cm");
    assert_string_equal(itest_jstr(cm, "data.k"), "v");
    cJSON_Delete(cm);
    itest_resp_release(&resp);
    /* the filter is gone: on the same connection the next answers are labelled as usual */
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {0};
    r.path = CMS "/cm";
    itest_client_request(cl, &r, &resp);
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf), "text/html");
    itest_resp_release(&resp);
    r.path = CMS;
    itest_client_request(cl, &r, &resp);
    assert_int_equal(resp.connects, 0);
    assert_int_equal(resp.code, 200);
    assert_string_equal(itest_resp_header(&resp, "Content-Type", buf, sizeof buf),
                        "application/json");
    itest_resp_release(&resp);
    itest_client_free(cl);
}

/* A rule that fires on the first two matches only, through the engine. */
static void test_engine_first_two_then_normal(void **state)
{
    struct itest *t = start_engine(
        state, "{\"name\":\"t\",\"rules\":[{\"name\":\"r\",\"match\":{\"resource\":\"pods\"},"
               "\"trigger\":{\"first\":2},\"fault\":{\"type\":\"error\",\"name\":"
               "\"etcd-request-timed-out\"}}]}");
    long code;
    for (int i = 0; i < 2; i++)
        itest_assert_status(itest_json(t, "GET", POD_P1, NULL, &code), &code, 500, NULL,
                            "etcdserver: request timed out");
    itest_assert_status(itest_json(t, "GET", POD_P1, NULL, &code), &code, 404, "NotFound",
                        "pods \"p1\" not found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_status_retry_after, teardown),
        cmocka_unit_test_teardown(test_status_raw_body, teardown),
        cmocka_unit_test_teardown(test_error_etcd, teardown),
        cmocka_unit_test_teardown(test_error_too_many_requests, teardown),
        cmocka_unit_test_teardown(test_error_quota_exceeded_on_create, teardown),
        cmocka_unit_test_teardown(test_error_webhook_timeout_waits, teardown),
        cmocka_unit_test_teardown(test_error_client_leaves_during_wait, teardown),
        cmocka_unit_test_teardown(test_hang_client_times_out, teardown),
        cmocka_unit_test_teardown(test_empty_reply, teardown),
        cmocka_unit_test_teardown(test_malformed_body, teardown),
        cmocka_unit_test_teardown(test_delay_fixed, teardown),
        cmocka_unit_test_teardown(test_delay_uniform_bounds, teardown),
        cmocka_unit_test_teardown(test_delay_client_leaves, teardown),
        cmocka_unit_test_teardown(test_delay_lognormal_seeded, teardown),
        cmocka_unit_test_teardown(test_wrong_content_type, teardown),
        cmocka_unit_test_teardown(test_engine_first_two_then_normal, teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
