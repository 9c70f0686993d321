/* test_it_hooks.c -- the hook points the fault engine plugs into, proven over real sockets:
 * on_accept (reset, egress filters), on_request (a custom Status), on_watch_event (drop, extra
 * bytes), on_pod_step (hold, then cluster_pod_advance on the server thread).
 *
 * Hooks run on the server thread; their state is static (it must outlive the server even when a
 * test fails) and shared with the test thread through atomics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "itest.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/watch.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
#define EVENT_MS 3000

static struct {
    atomic_int reset_accepts; /* on_accept resets while set */
    atomic_int accepts;
    atomic_int requests;     /* on_request calls */
    atomic_int last_verb;    /* enum route_verb of the last request seen */
    atomic_int egress_limit; /* truncate after this many bytes (0: pass) */
    atomic_int egress_passed;
    atomic_int egress_closing;
    atomic_int drop_modified;
    atomic_int raw_before_added;
    atomic_int hold_start;
    atomic_int hold_terminate;
    atomic_int steps[3]; /* on_pod_step calls per enum hook_pod_step_kind */
    atomic_llong schedule_delay_seen;
} H;

static void reset_hook_state(void)
{
    memset(&H, 0, sizeof H); /* no server runs between tests */
}

/* ---- on_accept: reset ---- */

static enum hook_verdict on_accept_reset(void *arg, struct conn *c)
{
    (void)arg;
    atomic_fetch_add(&H.accepts, 1);
    if (!atomic_load(&H.reset_accepts))
        return HOOK_PASS;
    conn_reset(c);
    return HOOK_HANDLED;
}

static const struct mockapi_hooks accept_reset_hooks = {.on_accept = on_accept_reset};

static void test_accept_reset(void **state)
{
    reset_hook_state();
    atomic_store(&H.reset_accepts, 1);
    struct itest_opts o = {0};
    o.hooks = &accept_reset_hooks;
    struct itest *t = itest_start(state, &o);
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/version";
    itest_request(t, &r, &resp);
    /* the RST can reach curl while it still checks the new connection, or after the request */
    if (resp.curl != CURLE_RECV_ERROR && resp.curl != CURLE_GOT_NOTHING &&
        resp.curl != CURLE_SEND_ERROR && resp.curl != CURLE_COULDNT_CONNECT)
        fail_msg("curl: %d %s", resp.curl, curl_easy_strerror(resp.curl));
    assert_int_equal(resp.code, 0);
    itest_resp_release(&resp);
    /* on the wire: no byte, then an RST */
    int fd = itest_tcp_connect(t);
    struct itest_buf b;
    itest_tcp_read(fd, ITEST_WAIT_MS, &b);
    close(fd);
    assert_int_equal(b.len, 0);
    assert_true(b.reset);
    itest_buf_release(&b);
    assert_true(atomic_load(&H.accepts) >= 2);
    atomic_store(&H.reset_accepts, 0);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
}

static void test_accept_reset_tls(void **state)
{
    reset_hook_state();
    atomic_store(&H.reset_accepts, 1);
    struct itest_opts o = {0};
    o.tls = 1;
    o.hooks = &accept_reset_hooks;
    struct itest *t = itest_start(state, &o);
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/version";
    itest_request(t, &r, &resp);
    assert_int_not_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 0);
    itest_resp_release(&resp);
    atomic_store(&H.reset_accepts, 0);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 200);
    itest_resp_release(&resp);
}

/* ---- on_request: a custom Status ---- */

static const char leader_changed[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"etcdserver: leader changed\",\"reason\":\"InternalError\",\"code\":500}\n";

static enum hook_verdict on_request_500(void *arg, struct conn *c, struct http_request *req,
                                        const struct route *route)
{
    (void)arg;
    (void)req;
    atomic_fetch_add(&H.requests, 1);
    atomic_store(&H.last_verb, (int)route->verb);
    if (route->type == ROUTE_OBJECT && route->kind == &kinds_table[KIND_pods] &&
        route->verb == VERB_LIST) {
        static const char *const extra[] = {"Retry-After", "1", NULL};
        conn_respond(c, 500, "application/json", extra, leader_changed, sizeof leader_changed - 1);
        return HOOK_HANDLED;
    }
    return HOOK_PASS;
}

static const struct mockapi_hooks request_hooks = {.on_request = on_request_500};

static void test_request_custom_status(void **state)
{
    reset_hook_state();
    struct itest_opts o = {0};
    o.tls = 1;
    o.hooks = &request_hooks;
    struct itest *t = itest_start(state, &o);
    struct itest_client *cl = itest_client_new(t);
    struct itest_req r = {0};
    struct itest_resp resp;
    char ra[32];
    r.path = PODS "?limit=500";
    itest_client_request(cl, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    assert_int_equal(resp.code, 500);
    assert_non_null(itest_resp_header(&resp, "Retry-After", ra, sizeof ra));
    assert_string_equal(ra, "1");
    assert_string_equal(resp.body, leader_changed);
    assert_int_equal(atomic_load(&H.last_verb), VERB_LIST);
    itest_resp_release(&resp);
    /* the connection stays usable, and other requests pass through the hook untouched */
    r.path = PODS "/missing";
    itest_client_request(cl, &r, &resp);
    assert_int_equal(resp.code, 404);
    assert_int_equal(resp.connects, 0);
    assert_int_equal(atomic_load(&H.last_verb), VERB_GET);
    itest_resp_release(&resp);
    itest_client_free(cl);
    /* the hook sees requests after authentication only */
    int before = atomic_load(&H.requests);
    memset(&r, 0, sizeof r);
    r.path = PODS;
    r.token = "wrong";
    itest_request(t, &r, &resp);
    assert_int_equal(resp.code, 401);
    itest_resp_release(&resp);
    assert_int_equal(atomic_load(&H.requests), before);
}

/* ---- egress: truncate ---- */

static void truncating_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    (void)arg;
    int limit = atomic_load(&H.egress_limit);
    size_t len = evbuffer_get_length(staged);
    if (limit <= 0) {
        evbuffer_add_buffer(conn_wire(c), staged);
        return;
    }
    int passed = atomic_load(&H.egress_passed);
    size_t room = passed < limit ? (size_t)(limit - passed) : 0;
    size_t take = len < room ? len : room;
    if (take)
        evbuffer_remove_buffer(staged, conn_wire(c), take);
    atomic_fetch_add(&H.egress_passed, (int)take);
    if ((size_t)passed + take >= (size_t)limit) {
        evbuffer_drain(staged, evbuffer_get_length(staged));
        /* close once what passed has reached the kernel; once only (conn_close runs us again) */
        if (!atomic_exchange(&H.egress_closing, 1))
            conn_close(c);
    }
}

static enum hook_verdict on_accept_egress(void *arg, struct conn *c)
{
    (void)arg;
    atomic_fetch_add(&H.accepts, 1);
    conn_set_egress(c, truncating_egress, NULL);
    return HOOK_PASS;
}

static const struct mockapi_hooks egress_hooks = {.on_accept = on_accept_egress};

static void test_egress_truncates(void **state)
{
    reset_hook_state();
    atomic_store(&H.egress_limit, 300);
    struct itest_opts o = {0};
    o.hooks = &egress_hooks;
    struct itest *t = itest_start(state, &o);
    struct itest_req r = {0};
    struct itest_resp resp;
    r.path = "/openapi/v3/api/v1"; /* a large answer */
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_PARTIAL_FILE);
    assert_int_equal(resp.code, 200);
    assert_int_equal(strlen(resp.headers) + resp.len, 300);
    assert_true(resp.len > 0);
    assert_int_equal(strncmp(resp.body, "{", 1), 0);
    itest_resp_release(&resp);
    /* the same bytes on the wire, then a FIN */
    reset_hook_state();
    atomic_store(&H.egress_limit, 300);
    static const char req[] = "GET /openapi/v3/api/v1 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct itest_buf b;
    itest_tcp_exchange(t, req, sizeof req - 1, ITEST_WAIT_MS, &b);
    assert_int_equal(b.len, 300);
    assert_true(b.eof);
    assert_int_equal(strncmp(b.data, "HTTP/1.1 200 OK\r\n", 17), 0);
    itest_buf_release(&b);
    /* filters off: whole answers again */
    atomic_store(&H.egress_limit, 0);
    itest_request(t, &r, &resp);
    assert_int_equal(resp.curl, CURLE_OK);
    cJSON *j = cJSON_Parse(resp.body);
    assert_non_null(j);
    cJSON_Delete(j);
    itest_resp_release(&resp);
}

/* ---- on_watch_event ---- */

static enum hook_verdict on_watch_event(void *arg, struct watch *w, const char *type,
                                        const cJSON *object)
{
    (void)arg;
    (void)object;
    if (atomic_load(&H.drop_modified) && strcmp(type, "MODIFIED") == 0)
        return HOOK_DROP;
    if (atomic_load(&H.raw_before_added) && strcmp(type, "ADDED") == 0) {
        static const char extra[] = "{\"type\":\"X-HOOK\",\"object\":{}}\n";
        watch_send_raw(w, extra, sizeof extra - 1);
    }
    return HOOK_PASS;
}

static const struct mockapi_hooks watch_hooks = {.on_watch_event = on_watch_event};

static void test_watch_event_drop(void **state)
{
    reset_hook_state();
    atomic_store(&H.drop_modified, 1);
    struct itest_opts o = {0};
    o.hooks = &watch_hooks;
    struct itest *t = itest_start(state, &o);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"d\"}}", 201);
    itest_must(t, "PATCH", CMS "/d", "application/merge-patch+json", "{\"data\":{\"a\":\"1\"}}",
               200);
    itest_must(t, "PATCH", CMS "/d", "application/merge-patch+json", "{\"data\":{\"a\":\"2\"}}",
               200);
    itest_must(t, "DELETE", CMS "/d", NULL, NULL, 200);
    cJSON_Delete(itest_expect_event(st, "ADDED", "d", EVENT_MS));
    cJSON *ev = itest_expect_event(st, "DELETED", "d", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.data.a"), "2");
    cJSON_Delete(ev);
    assert_null(itest_stream_line(st, 100));
    itest_stream_close(st);
}

static void test_watch_event_raw_extra(void **state)
{
    reset_hook_state();
    atomic_store(&H.raw_before_added, 1);
    struct itest_opts o = {0};
    o.hooks = &watch_hooks;
    struct itest *t = itest_start(state, &o);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"x\"}}", 201);
    cJSON *ev = itest_stream_event(st, EVENT_MS);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "type"), "X-HOOK");
    cJSON_Delete(ev);
    cJSON_Delete(itest_expect_event(st, "ADDED", "x", EVENT_MS));
    itest_stream_close(st);
}

/* ---- on_pod_step ---- */

static enum hook_verdict on_pod_step(void *arg, struct hook_pod_step *step)
{
    (void)arg;
    if ((int)step->step >= 0 && (int)step->step < 3)
        atomic_fetch_add(&H.steps[step->step], 1);
    if (step->step == POD_STEP_SCHEDULE)
        atomic_store(&H.schedule_delay_seen, (long long)step->delay_ms);
    if (step->step == POD_STEP_START && atomic_load(&H.hold_start))
        return HOOK_HOLD;
    if (step->step == POD_STEP_TERMINATE && atomic_load(&H.hold_terminate))
        return HOOK_HOLD;
    return HOOK_PASS;
}

static const struct mockapi_hooks pod_hooks = {.on_pod_step = on_pod_step};

struct advance_arg {
    const char *name;
    int rc;
};

static void advance_pod(void *arg, struct mockapi_server *s)
{
    struct advance_arg *a = arg;
    a->rc = cluster_pod_advance(mockapi_server_cluster(s), "default", a->name);
}

static void test_pod_step_hold_start(void **state)
{
    reset_hook_state();
    atomic_store(&H.hold_start, 1);
    struct itest_opts o = {0};
    o.hooks = &pod_hooks;
    struct itest *t = itest_start(state, &o);
    itest_must(
        t, "POST", PODS, "application/json",
        "{\"metadata\":{\"name\":\"held\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"busybox\"}]}}",
        201);
    cJSON *p = itest_wait_field(t, PODS "/held", "spec.nodeName", CLUSTER_NODE_NAME, ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
    assert_int_equal(atomic_load(&H.schedule_delay_seen), ITEST_SCHEDULE_MS);
    /* well past the start delay: still Pending */
    usleep((ITEST_START_MS * 4) * 1000);
    long code;
    p = itest_json(t, "GET", PODS "/held", NULL, &code);
    assert_string_equal(itest_jstr(p, "status.phase"), "Pending");
    assert_string_equal(itest_jstr(p, "spec.nodeName"), CLUSTER_NODE_NAME);
    cJSON_Delete(p);
    assert_int_equal(atomic_load(&H.steps[POD_STEP_START]), 1);
    /* the harness releases it on the server thread */
    struct advance_arg a = {"held", -1};
    itest_run(t, advance_pod, &a);
    assert_int_equal(a.rc, 0);
    p = itest_json(t, "GET", PODS "/held", NULL, &code);
    assert_string_equal(itest_jstr(p, "status.phase"), "Running");
    cJSON_Delete(p);
    /* nothing left to advance; unknown pods are refused */
    itest_run(t, advance_pod, &a);
    assert_int_equal(a.rc, -1);
    struct advance_arg b = {"nope", 0};
    itest_run(t, advance_pod, &b);
    assert_int_equal(b.rc, -1);
}

static void test_pod_step_hold_terminate(void **state)
{
    reset_hook_state();
    atomic_store(&H.hold_terminate, 1);
    struct itest_opts o = {0};
    o.hooks = &pod_hooks;
    struct itest *t = itest_start(state, &o);
    itest_must(
        t, "POST", PODS, "application/json",
        "{\"metadata\":{\"name\":\"stuck\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"busybox\"}]}}",
        201);
    cJSON *p = itest_wait_field(t, PODS "/stuck", "status.phase", "Running", ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
    itest_must(t, "DELETE", PODS "/stuck", NULL, NULL, 200);
    usleep((ITEST_TERMINATE_MS * 4) * 1000);
    long code;
    p = itest_json(t, "GET", PODS "/stuck", NULL, &code);
    assert_int_equal(code, 200);
    assert_non_null(itest_jstr(p, "metadata.deletionTimestamp"));
    cJSON_Delete(p);
    assert_int_equal(atomic_load(&H.steps[POD_STEP_TERMINATE]), 1);
    struct advance_arg a = {"stuck", -1};
    itest_run(t, advance_pod, &a);
    assert_int_equal(a.rc, 0);
    assert_true(itest_wait_code(t, PODS "/stuck", 404, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_accept_reset, itest_teardown),
        cmocka_unit_test_teardown(test_accept_reset_tls, itest_teardown),
        cmocka_unit_test_teardown(test_request_custom_status, itest_teardown),
        cmocka_unit_test_teardown(test_egress_truncates, itest_teardown),
        cmocka_unit_test_teardown(test_watch_event_drop, itest_teardown),
        cmocka_unit_test_teardown(test_watch_event_raw_extra, itest_teardown),
        cmocka_unit_test_teardown(test_pod_step_hold_start, itest_teardown),
        cmocka_unit_test_teardown(test_pod_step_hold_terminate, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
