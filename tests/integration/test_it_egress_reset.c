/* test_it_egress_reset.c -- an egress filter (the fault engine's byte-level hook) that resets a
 * watch connection while the server is writing to it: from another client's request, from a
 * cluster timer, from the watch's own timeout. conn.h allows a filter to reset or close; the
 * server must survive it. Kept apart from test_it_hooks.c because a failure here is a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "itest.h"
#include "mockapi/hooks.h"
#include "mockapi/http/conn.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
#define EVENT_MS 3000

static struct {
    atomic_int reset_armed; /* the egress filter resets the target connection once */
    atomic_ullong target_conn;
} R;

static void reset_state(void)
{
    memset(&R, 0, sizeof R); /* no server runs between tests */
}

/* ---- egress: reset a watch while an event is written ---- */

static void resetting_egress(void *arg, struct conn *c, struct evbuffer *staged)
{
    (void)arg;
    if (atomic_load(&R.reset_armed) && conn_id(c) == atomic_load(&R.target_conn)) {
        atomic_store(&R.reset_armed, 0);
        evbuffer_drain(staged, evbuffer_get_length(staged));
        conn_reset(c); /* allowed by conn.h: "or resets/closes the connection" */
        return;
    }
    evbuffer_add_buffer(conn_wire(c), staged);
}

static enum hook_verdict on_accept_first_is_target(void *arg, struct conn *c)
{
    (void)arg;
    unsigned long long none = 0;
    atomic_compare_exchange_strong(&R.target_conn, &none, (unsigned long long)conn_id(c));
    conn_set_egress(c, resetting_egress, NULL);
    return HOOK_PASS;
}

static const struct mockapi_hooks reset_egress_hooks = {.on_accept = on_accept_first_is_target};

static void test_egress_resets_watch_mid_event(void **state)
{
    /* A fault that resets a watch connection from its egress filter while the server writes an
     * event caused by another client's request: the other request must still succeed, the
     * watcher sees a reset, and the server keeps serving (the sanitizer build checks memory). */
    reset_state();
    struct itest_opts o = {0};
    o.hooks = &reset_egress_hooks;
    struct itest *t = itest_start(state, &o);
    long long rv = itest_list_rv(t, CMS); /* connection 1: becomes the target */
    (void)rv;
    atomic_store(&R.target_conn, 0);
    struct itest_stream *st = itest_stream_open(t, CMS "?watch=true", NULL);
    assert_true(atomic_load(&R.target_conn) != 0);
    atomic_store(&R.reset_armed, 1);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"boom\"}}", 201);
    CURLcode rc;
    assert_true(itest_stream_wait_end(st, EVENT_MS, &rc));
    assert_int_not_equal(rc, CURLE_OK);
    itest_stream_close(st);
    itest_must(t, "GET", CMS "/boom", NULL, NULL, 200);
}

static void test_egress_resets_watch_from_timer(void **state)
{
    /* the same with the event written from a cluster timer (a pod lifecycle step) */
    reset_state();
    struct itest_opts o = {0};
    o.hooks = &reset_egress_hooks;
    /* a second between the ADDED event and the scheduling step's MODIFIED: the filter is armed in
     * between even when the test runs slowly (valgrind) */
    o.cluster.schedule_delay_ms = 1000;
    struct itest *t = itest_start(state, &o);
    struct itest_stream *st = itest_stream_open(t, PODS "?watch=true", NULL);
    assert_true(atomic_load(&R.target_conn) != 0);
    itest_must(
        t, "POST", PODS, "application/json",
        "{\"metadata\":{\"name\":\"tp\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"busybox\"}]}}",
        201);
    cJSON_Delete(itest_expect_event(st, "ADDED", "tp", EVENT_MS));
    atomic_store(&R.reset_armed, 1); /* the scheduling step's MODIFIED meets the reset */
    CURLcode rc;
    assert_true(itest_stream_wait_end(st, EVENT_MS, &rc));
    assert_int_not_equal(rc, CURLE_OK);
    itest_stream_close(st);
    cJSON *p = itest_wait_field(t, PODS "/tp", "status.phase", "Running", ITEST_WAIT_MS);
    assert_non_null(p);
    cJSON_Delete(p);
}

static void test_egress_resets_watch_at_timeout(void **state)
{
    /* and with the stream's end written from the watch's timeoutSeconds timer */
    reset_state();
    struct itest_opts o = {0};
    o.hooks = &reset_egress_hooks;
    struct itest *t = itest_start(state, &o);
    struct itest_stream *st = itest_stream_open(t, CMS "?watch=true&timeoutSeconds=1", NULL);
    atomic_store(&R.reset_armed, 1);
    CURLcode rc;
    assert_true(itest_stream_wait_end(st, EVENT_MS, &rc));
    assert_int_not_equal(rc, CURLE_OK);
    itest_stream_close(st);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_egress_resets_watch_mid_event, itest_teardown),
        cmocka_unit_test_teardown(test_egress_resets_watch_from_timer, itest_teardown),
        cmocka_unit_test_teardown(test_egress_resets_watch_at_timeout, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
