/* test_it_watch.c -- watch streams over real sockets: resume from a list's resourceVersion, initial
 * events, 410 Expired, timeoutSeconds, watch-list bookmarks, selector transitions, the pod
 * lifecycle as a watcher sees it, Tables, periodic bookmarks */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "itest.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/store.h"
#include "mockapi/kube/watch.h"

#define CMS "/api/v1/namespaces/default/configmaps"
#define PODS "/api/v1/namespaces/default/pods"
#define EVENT_MS 3000 /* bound on waiting for one event */

static struct itest *start_plain(void **state)
{
    struct itest_opts o = {0};
    return itest_start(state, &o);
}

static void expect_no_event(struct itest_stream *st, int ms)
{
    char *line = itest_stream_line(st, ms);
    if (line) {
        char got[320];
        snprintf(got, sizeof got, "%.300s", line);
        free(line);
        fail_msg("unexpected event: %s", got);
    }
}

static void test_watch_from_list_rv(void **state)
{
    struct itest *t = start_plain(state);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    assert_int_equal(itest_stream_code(st), 200);
    assert_string_equal(itest_stream_content_type(st), "application/json");
    itest_must(t, "POST", "/api/v1/namespaces/kube-system/configmaps", "application/json",
               "{\"metadata\":{\"name\":\"elsewhere\"}}", 201);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"w1\"}}", 201);
    itest_must(t, "PATCH", CMS "/w1", "application/merge-patch+json",
               "{\"metadata\":{\"labels\":{\"step\":\"2\"}}}", 200);
    itest_must(t, "DELETE", CMS "/w1", NULL, NULL, 200);
    const char *types[] = {"ADDED", "MODIFIED", "DELETED"};
    long long last = rv;
    for (int i = 0; i < 3; i++) {
        cJSON *ev = itest_expect_event(st, types[i], "w1", EVENT_MS);
        assert_string_equal(itest_jstr(ev, "object.kind"), "ConfigMap");
        assert_string_equal(itest_jstr(ev, "object.apiVersion"), "v1");
        assert_string_equal(itest_jstr(ev, "object.metadata.namespace"), "default");
        long long erv = strtoll(itest_jstr(ev, "object.metadata.resourceVersion"), NULL, 10);
        assert_true(erv > last);
        last = erv;
        if (i > 0)
            assert_string_equal(itest_jstr(ev, "object.metadata.labels.step"), "2");
        cJSON_Delete(ev);
    }
    expect_no_event(st, 100);
    itest_stream_close(st);
}

static void test_watch_replays_missed_events(void **state)
{
    struct itest *t = start_plain(state);
    long long rv = itest_list_rv(t, CMS);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"a\"}}", 201);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"b\"}}", 201);
    itest_must(t, "DELETE", CMS "/a", NULL, NULL, 200);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=1&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    cJSON_Delete(itest_expect_event(st, "ADDED", "a", EVENT_MS));
    cJSON_Delete(itest_expect_event(st, "ADDED", "b", EVENT_MS));
    cJSON_Delete(itest_expect_event(st, "DELETED", "a", EVENT_MS));
    expect_no_event(st, 100);
    itest_stream_close(st);
}

static void test_watch_without_rv_starts_with_current(void **state)
{
    struct itest *t = start_plain(state);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"old1\"}}", 201);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"old2\"}}", 201);
    const char *paths[] = {CMS "?watch=true", CMS "?watch=true&resourceVersion=0"};
    for (int i = 0; i < 2; i++) {
        struct itest_stream *st = itest_stream_open(t, paths[i], NULL);
        cJSON_Delete(itest_expect_event(st, "ADDED", "old1", EVENT_MS));
        cJSON_Delete(itest_expect_event(st, "ADDED", "old2", EVENT_MS));
        expect_no_event(st, 50);
        itest_stream_close(st);
    }
}

/* ---- 410 Expired ---- */

struct churn {
    int n;
    int failed; /* assertions cannot run on the server thread: report back */
    int64_t oldest;
    int64_t current;
};

/* Rewrite configmap default/churn n times straight through the store, on the server thread. */
static void churn_store(void *arg, struct mockapi_server *s)
{
    struct churn *c = arg;
    struct store *st = mockapi_server_store(s);
    const struct kinds_info *k = &kinds_table[KIND_configmaps];
    for (int i = 0; i < c->n; i++) {
        const cJSON *cur = store_get(st, k, "default", "churn");
        if (!cur) {
            c->failed = 1;
            return;
        }
        cJSON *next = cJSON_Duplicate(cur, 1);
        cJSON *data = cJSON_GetObjectItemCaseSensitive(next, "data");
        if (!data)
            data = cJSON_AddObjectToObject(next, "data");
        cJSON_DeleteItemFromObjectCaseSensitive(data, "i");
        cJSON_AddNumberToObject(data, "i", i);
        if (store_replace(st, k, next, NULL) < 0)
            c->failed = 1;
    }
    c->oldest = store_oldest_resource_version(st);
    c->current = store_resource_version(st);
}

static void test_watch_too_old_410(void **state)
{
    struct itest *t = start_plain(state);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"churn\"}}", 201);
    long long rv0 = itest_list_rv(t, CMS);
    struct churn c = {STORE_DEFAULT_HISTORY + 5, 0, 0, 0};
    itest_run(t, churn_store, &c);
    assert_false(c.failed);
    assert_true(c.oldest > rv0);
    char path[256], msg[128];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv0);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    assert_int_equal(itest_stream_code(st), 200); /* as the watch cache does: 200, then ERROR */
    cJSON *ev = itest_stream_event(st, EVENT_MS);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "type"), "ERROR");
    assert_string_equal(itest_jstr(ev, "object.kind"), "Status");
    assert_string_equal(itest_jstr(ev, "object.status"), "Failure");
    assert_string_equal(itest_jstr(ev, "object.reason"), "Expired");
    assert_int_equal(itest_jget(ev, "object.code")->valueint, 410);
    /* kube-apiserver's watch cache: "too old resource version: %d (%d)", rv, oldest-1, where
     * oldest is the resourceVersion of the oldest event it still holds, so the number in
     * parentheses is the oldest resourceVersion a watch can still resume from
     * (store_oldest_resource_version) */
    snprintf(msg, sizeof msg, "too old resource version: %lld (%lld)", rv0, (long long)c.oldest);
    char got[256];
    snprintf(got, sizeof got, "%s",
             itest_jstr(ev, "object.message") ? itest_jstr(ev, "object.message") : "(none)");
    cJSON_Delete(ev);
    /* the stream ends after the ERROR event */
    CURLcode rc;
    assert_true(itest_stream_wait_end(st, EVENT_MS, &rc));
    assert_int_equal(rc, CURLE_OK);
    char *extra = itest_stream_line(st, 0);
    assert_null(extra);
    itest_stream_close(st);
    assert_string_equal(got, msg);
}

static void test_watch_expiry_boundary(void **state)
{
    /* resuming from exactly the oldest retained resourceVersion works; one before it is 410 */
    struct itest *t = start_plain(state);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"churn\"}}", 201);
    struct churn c = {STORE_DEFAULT_HISTORY + 5, 0, 0, 0};
    itest_run(t, churn_store, &c);
    assert_false(c.failed);
    char path[256];
    /* secrets: history is shared by all kinds, so this replays nothing but is still bounded */
    snprintf(path, sizeof path,
             "/api/v1/namespaces/default/secrets?watch=true&resourceVersion=%lld",
             (long long)c.oldest);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    expect_no_event(st, 100);
    itest_must(t, "POST", "/api/v1/namespaces/default/secrets", "application/json",
               "{\"metadata\":{\"name\":\"s\"}}", 201);
    cJSON_Delete(itest_expect_event(st, "ADDED", "s", EVENT_MS));
    itest_stream_close(st);
    snprintf(path, sizeof path,
             "/api/v1/namespaces/default/secrets?watch=true&resourceVersion=%lld",
             (long long)c.oldest - 1);
    st = itest_stream_open(t, path, NULL);
    cJSON *ev = itest_stream_event(st, EVENT_MS);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "type"), "ERROR");
    assert_int_equal(itest_jget(ev, "object.code")->valueint, 410);
    cJSON_Delete(ev);
    itest_stream_close(st);
}

/* ---- timeouts and bookmarks ---- */

static void test_watch_timeout_seconds(void **state)
{
    struct itest *t = start_plain(state);
    int64_t start = itest_now_ms();
    struct itest_stream *st = itest_stream_open(t, CMS "?watch=true&timeoutSeconds=1", NULL);
    CURLcode rc;
    assert_true(itest_stream_wait_end(st, 8000, &rc)); /* wide: CI shares two cores */
    int64_t took = itest_now_ms() - start;
    assert_int_equal(rc, CURLE_OK); /* a clean end: the last chunk */
    assert_true(took >= 900);
    assert_true(took < 8000);
    itest_stream_close(st);
}

static void test_watch_list_initial_events(void **state)
{
    struct itest *t = start_plain(state);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"i2\"}}", 201);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"i1\"}}", 201);
    long long rv = itest_list_rv(t, CMS);
    struct itest_stream *st = itest_stream_open(
        t,
        CMS "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&"
            "allowWatchBookmarks=true&timeoutSeconds=30",
        NULL);
    cJSON_Delete(itest_expect_event(st, "ADDED", "i1", EVENT_MS));
    cJSON_Delete(itest_expect_event(st, "ADDED", "i2", EVENT_MS));
    cJSON *bm = itest_expect_event(st, "BOOKMARK", NULL, EVENT_MS);
    assert_string_equal(itest_jstr(bm, "object.kind"), "ConfigMap");
    assert_string_equal(itest_jstr(bm, "object.apiVersion"), "v1");
    assert_int_equal(strtoll(itest_jstr(bm, "object.metadata.resourceVersion"), NULL, 10), rv);
    const cJSON *ann = itest_jget(bm, "object.metadata.annotations");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(ann, "k8s.io/initial-events-end");
    assert_true(cJSON_IsString(end));
    assert_string_equal(end->valuestring, "true");
    cJSON_Delete(bm);
    /* then live events */
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"i3\"}}", 201);
    cJSON_Delete(itest_expect_event(st, "ADDED", "i3", EVENT_MS));
    itest_stream_close(st);
}

static void test_watch_list_empty_still_bookmarks(void **state)
{
    struct itest *t = start_plain(state);
    struct itest_stream *st =
        itest_stream_open(t,
                          "/api/v1/namespaces/default/secrets?watch=true&sendInitialEvents=true&"
                          "resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
                          NULL);
    cJSON *bm = itest_expect_event(st, "BOOKMARK", NULL, EVENT_MS);
    assert_string_equal(itest_jstr(bm, "object.kind"), "Secret");
    cJSON_Delete(bm);
    itest_stream_close(st);
}

static void test_watch_list_needs_not_older_than(void **state)
{
    /* kube-apiserver validates ListOptions (apimachinery validateWatchOptions) and answers with
     * NewInvalid(GroupKind{meta.k8s.io, ListOptions}, "", errs) */
    struct itest *t = start_plain(state);
    long code;
    cJSON *st = itest_json(
        t, "GET", CMS "?watch=true&sendInitialEvents=true&allowWatchBookmarks=true", NULL, &code);
    assert_string_equal(itest_jstr(st, "message") ? itest_jstr(st, "message") : "(none)",
                        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
    assert_string_equal(itest_jstr(st, "details.causes.0.field"), "resourceVersionMatch");
    assert_string_equal(itest_jstr(st, "details.causes.0.reason"), "FieldValueForbidden");
    assert_string_equal(itest_jstr(st, "details.kind"), "ListOptions");
    assert_string_equal(itest_jstr(st, "details.group"), "meta.k8s.io");
    itest_assert_status(st, &code, 422, "Invalid",
                        "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
}

struct interval {
    int64_t ms;
};

static void set_bookmark_interval(void *arg, struct mockapi_server *s)
{
    struct interval *iv = arg;
    watch_hub_set_bookmark_interval(mockapi_server_watches(s), iv->ms);
}

static void test_watch_periodic_bookmarks(void **state)
{
    struct itest *t = start_plain(state);
    struct interval iv = {100};
    itest_run(t, set_bookmark_interval, &iv);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&allowWatchBookmarks=true&resourceVersion=%lld",
             rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    for (int i = 0; i < 2; i++) {
        cJSON *bm = itest_expect_event(st, "BOOKMARK", NULL, EVENT_MS);
        assert_string_equal(itest_jstr(bm, "object.kind"), "ConfigMap");
        assert_non_null(itest_jstr(bm, "object.metadata.resourceVersion"));
        assert_null(itest_jget(bm, "object.metadata.annotations"));
        cJSON_Delete(bm);
    }
    itest_stream_close(st);
    /* without allowWatchBookmarks, none (kubectl get -w prints them as junk rows) */
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    st = itest_stream_open(t, path, NULL);
    expect_no_event(st, 350);
    itest_stream_close(st);
}

/* ---- selectors ---- */

static void test_watch_label_selector_transitions(void **state)
{
    struct itest *t = start_plain(state);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&labelSelector=app%%3Dx&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    itest_must(t, "POST", CMS, "application/json",
               "{\"metadata\":{\"name\":\"other\",\"labels\":{\"app\":\"y\"}}}", 201);
    itest_must(t, "POST", CMS, "application/json",
               "{\"metadata\":{\"name\":\"sel\",\"labels\":{\"app\":\"x\"}}}", 201);
    cJSON_Delete(itest_expect_event(st, "ADDED", "sel", EVENT_MS));
    /* stops matching: DELETED carrying the new state */
    itest_must(t, "PATCH", CMS "/sel", "application/merge-patch+json",
               "{\"metadata\":{\"labels\":{\"app\":\"y\"}}}", 200);
    cJSON *ev = itest_expect_event(st, "DELETED", "sel", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.metadata.labels.app"), "y");
    cJSON_Delete(ev);
    /* a change while not matching: nothing */
    itest_must(t, "PATCH", CMS "/sel", "application/merge-patch+json", "{\"data\":{\"k\":\"v\"}}",
               200);
    /* matches again: ADDED */
    itest_must(t, "PATCH", CMS "/sel", "application/merge-patch+json",
               "{\"metadata\":{\"labels\":{\"app\":\"x\"}}}", 200);
    ev = itest_expect_event(st, "ADDED", "sel", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.data.k"), "v");
    cJSON_Delete(ev);
    itest_must(t, "PATCH", CMS "/other", "application/merge-patch+json", "{\"data\":{\"k\":\"v\"}}",
               200);
    itest_must(t, "DELETE", CMS "/sel", NULL, NULL, 200);
    cJSON_Delete(itest_expect_event(st, "DELETED", "sel", EVENT_MS));
    expect_no_event(st, 100);
    itest_stream_close(st);
}

static void test_watch_single_name_and_all_namespaces(void **state)
{
    struct itest *t = start_plain(state);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    /* the deprecated GET .../configmaps/NAME?watch=true form */
    snprintf(path, sizeof path, CMS "/only?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *one = itest_stream_open(t, path, NULL);
    snprintf(path, sizeof path, "/api/v1/configmaps?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *all = itest_stream_open(t, path, NULL);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"notme\"}}", 201);
    itest_must(t, "POST", "/api/v1/namespaces/kube-public/configmaps", "application/json",
               "{\"metadata\":{\"name\":\"only\"}}", 201);
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"only\"}}", 201);
    cJSON *ev = itest_expect_event(one, "ADDED", "only", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.metadata.namespace"), "default");
    cJSON_Delete(ev);
    expect_no_event(one, 50);
    cJSON_Delete(itest_expect_event(all, "ADDED", "notme", EVENT_MS));
    ev = itest_expect_event(all, "ADDED", "only", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.metadata.namespace"), "kube-public");
    cJSON_Delete(ev);
    ev = itest_expect_event(all, "ADDED", "only", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.metadata.namespace"), "default");
    cJSON_Delete(ev);
    itest_stream_close(one);
    itest_stream_close(all);
}

static void test_watch_table(void **state)
{
    struct itest *t = start_plain(state);
    long long rv = itest_list_rv(t, CMS);
    char path[256];
    snprintf(path, sizeof path, CMS "?watch=true&resourceVersion=%lld", rv);
    struct itest_stream *st =
        itest_stream_open(t, path, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
    assert_string_equal(itest_stream_content_type(st),
                        "application/json;as=Table;v=v1;g=meta.k8s.io");
    itest_must(t, "POST", CMS, "application/json", "{\"metadata\":{\"name\":\"tb\"}}", 201);
    cJSON *ev = itest_stream_event(st, EVENT_MS);
    assert_non_null(ev);
    assert_string_equal(itest_jstr(ev, "type"), "ADDED");
    assert_string_equal(itest_jstr(ev, "object.kind"), "Table");
    assert_int_equal(cJSON_GetArraySize(itest_jget(ev, "object.rows")), 1);
    assert_string_equal(itest_jstr(ev, "object.rows.0.cells.0"), "tb");
    cJSON_Delete(ev);
    itest_stream_close(st);
}

static void test_watch_bad_resource_version(void **state)
{
    struct itest *t = start_plain(state);
    long code;
    itest_assert_status(itest_json(t, "GET", CMS "?watch=true&resourceVersion=abc", NULL, &code),
                        &code, 400, "BadRequest", NULL);
}

/* ---- the pod lifecycle ---- */

static const cJSON *condition(const cJSON *pod, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, itest_jget(pod, "status.conditions"))
    {
        const char *ty = itest_jstr(c, "type");
        if (ty && strcmp(ty, type) == 0)
            return c;
    }
    return NULL;
}

static void test_watch_pod_lifecycle(void **state)
{
    struct itest *t = start_plain(state);
    long long rv = itest_list_rv(t, PODS);
    char path[256];
    snprintf(path, sizeof path,
             PODS "?watch=true&fieldSelector=metadata.name%%3Dlp&resourceVersion=%lld", rv);
    struct itest_stream *st = itest_stream_open(t, path, NULL);
    itest_must(
        t, "POST", PODS, "application/json",
        "{\"metadata\":{\"name\":\"lp\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":"
        "\"busybox\"}]}}",
        201);
    cJSON *ev = itest_expect_event(st, "ADDED", "lp", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.status.phase"), "Pending");
    assert_null(itest_jstr(ev, "object.spec.nodeName"));
    cJSON_Delete(ev);
    /* scheduled: bound to the node, still Pending, containers waiting */
    ev = itest_expect_event(st, "MODIFIED", "lp", EVENT_MS);
    assert_string_equal(itest_jstr(ev, "object.spec.nodeName"), CLUSTER_NODE_NAME);
    assert_string_equal(itest_jstr(ev, "object.status.phase"), "Pending");
    const cJSON *obj = itest_jget(ev, "object");
    assert_string_equal(itest_jstr(condition(obj, "PodScheduled"), "status"), "True");
    assert_string_equal(itest_jstr(condition(obj, "Ready"), "status"), "False");
    assert_string_equal(itest_jstr(obj, "status.containerStatuses.0.state.waiting.reason"),
                        "ContainerCreating");
    cJSON_Delete(ev);
    /* started: Running and Ready */
    ev = itest_expect_event(st, "MODIFIED", "lp", EVENT_MS);
    obj = itest_jget(ev, "object");
    assert_string_equal(itest_jstr(obj, "status.phase"), "Running");
    assert_string_equal(itest_jstr(condition(obj, "Ready"), "status"), "True");
    assert_string_equal(itest_jstr(condition(obj, "ContainersReady"), "status"), "True");
    assert_non_null(itest_jget(obj, "status.containerStatuses.0.state.running"));
    assert_true(cJSON_IsTrue(itest_jget(obj, "status.containerStatuses.0.ready")));
    assert_non_null(itest_jstr(obj, "status.podIP"));
    cJSON_Delete(ev);
    /* graceful delete: MODIFIED with deletionTimestamp, then DELETED */
    itest_must(t, "DELETE", PODS "/lp", NULL, NULL, 200);
    ev = itest_expect_event(st, "MODIFIED", "lp", EVENT_MS);
    assert_non_null(itest_jstr(ev, "object.metadata.deletionTimestamp"));
    cJSON_Delete(ev);
    cJSON_Delete(itest_expect_event(st, "DELETED", "lp", EVENT_MS));
    expect_no_event(st, 100);
    itest_stream_close(st);
    /* and the kubelet-like events were recorded */
    long code;
    cJSON *evs = itest_json(t, "GET", "/api/v1/namespaces/default/events", NULL, &code);
    const char *reasons[] = {"Scheduled", "Pulled", "Created", "Started"};
    for (size_t i = 0; i < 4; i++) {
        int found = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, itest_jget(evs, "items"))
        {
            if (strcmp(itest_jstr(e, "reason"), reasons[i]) == 0 &&
                strcmp(itest_jstr(e, "involvedObject.name"), "lp") == 0)
                found = 1;
        }
        if (!found)
            fail_msg("no %s event for pod lp", reasons[i]);
    }
    cJSON_Delete(evs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_watch_from_list_rv, itest_teardown),
        cmocka_unit_test_teardown(test_watch_replays_missed_events, itest_teardown),
        cmocka_unit_test_teardown(test_watch_without_rv_starts_with_current, itest_teardown),
        cmocka_unit_test_teardown(test_watch_too_old_410, itest_teardown),
        cmocka_unit_test_teardown(test_watch_expiry_boundary, itest_teardown),
        cmocka_unit_test_teardown(test_watch_timeout_seconds, itest_teardown),
        cmocka_unit_test_teardown(test_watch_list_initial_events, itest_teardown),
        cmocka_unit_test_teardown(test_watch_list_empty_still_bookmarks, itest_teardown),
        cmocka_unit_test_teardown(test_watch_list_needs_not_older_than, itest_teardown),
        cmocka_unit_test_teardown(test_watch_periodic_bookmarks, itest_teardown),
        cmocka_unit_test_teardown(test_watch_label_selector_transitions, itest_teardown),
        cmocka_unit_test_teardown(test_watch_single_name_and_all_namespaces, itest_teardown),
        cmocka_unit_test_teardown(test_watch_table, itest_teardown),
        cmocka_unit_test_teardown(test_watch_bad_resource_version, itest_teardown),
        cmocka_unit_test_teardown(test_watch_pod_lifecycle, itest_teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
