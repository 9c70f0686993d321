/* test_it_control.c -- the control API (harness/control.c) against a live server running a real
 * engine: every endpoint through libcurl, the bearer token, switching rules and what clients then
 * see on the API port (a Status answer, a refused connection), the named state, reset, the journal
 * (since, times, JSON lines, paging), the pod actions with what watchers see, and the error
 * answers (401, 404, 405, 400, 413).
 *
 * The engine and the control server are made and freed on the server thread (itest_run); the test
 * thread only talks HTTP to both ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness/control.h"
#include "ctlclient.h"
#include "itest.h"
#include "rcclient.h"

#define PODS "/api/v1/namespaces/default/pods"
#define CMS "/api/v1/namespaces/default/configmaps"
#define SVC "/api/v1/namespaces/default/services/s1"
#define SECRET "/api/v1/namespaces/default/secrets/s1"
#define LONG_MS 600000 /* a lifecycle step that only an advance runs within a test */

static const char scenario_text[] =
    "{\"name\": \"ctl\", \"seed\": 7, \"rules\": ["
    " {\"name\": \"busy\", \"enabled\": false, \"match\": {\"resource\": \"configmaps\"},"
    "  \"fault\": {\"type\": \"status\", \"code\": 503, \"reason\": \"ServiceUnavailable\","
    "  \"message\": \"busy\"}},"
    " {\"name\": \"once\", \"match\": {\"resource\": \"secrets\", \"verb\": \"get\"},"
    "  \"trigger\": {\"first\": 1}, \"fault\": {\"type\": \"error\", \"name\": "
    "  \"etcd-request-timed-out\"}},"
    " {\"name\": \"down\", \"enabled\": false, \"fault\": {\"type\": \"refuse\"}},"
    " {\"name\": \"broken\", \"requireState\": \"broken\", \"match\": {\"resource\": "
    "  \"services\"}, \"fault\": {\"type\": \"status\", \"code\": 500, \"message\": \"state\"}}"
    "],"
    /* the validator wants every required state set somewhere: an hour away, so only the control
     * API sets it within a test */
    " \"timeline\": [{\"at\": \"1h\", \"setState\": \"broken\"}]}";

/* Made on the server thread, read by the test thread after itest_run() returned. */
static struct {
    struct engine *engine; /* the server's (itest_engine) */
    struct control *control;
    struct ctlc api; /* the control API's address and token */
    char err[512];
} F;

/* ---- the control server, made and freed on the server thread ---- */

static void up(void *arg, struct mockapi_server *s)
{
    (void)arg;
    if ((F.control =
             control_new(F.engine, mockapi_server_base(s), NULL, 0, NULL, F.err, sizeof F.err)))
        ctlc_init(&F.api, F.control);
}

static void down(void *arg, struct mockapi_server *s)
{
    (void)arg;
    (void)s;
    control_free(F.control);
    F.control = NULL;
}

static int teardown(void **state)
{
    if (*state)
        itest_run(*state, down, NULL);
    int rc = itest_teardown(state); /* the engine goes with the server */
    memset(&F, 0, sizeof F);
    return rc;
}

/* A plain-HTTP server with the cluster's delays (0: itest's short defaults), the engine and the
 * control server. */
static struct itest *start3(void **state, int64_t schedule_ms, int64_t start_ms,
                            int64_t terminate_ms)
{
    memset(&F, 0, sizeof F);
    struct itest_opts o = {.scenario_file = "ctl.json"};
    o.cluster.schedule_delay_ms = schedule_ms;
    o.cluster.start_delay_ms = start_ms;
    o.cluster.terminate_delay_ms = terminate_ms;
    struct itest *t = itest_start_scenario(state, scenario_text, &o);
    F.engine = itest_engine(t);
    itest_run(t, up, NULL);
    if (!F.control)
        fail_msg("set-up: %s", F.err);
    return t;
}

static struct itest *start(void **state, int64_t schedule_ms, int64_t start_ms)
{
    return start3(state, schedule_ms, start_ms, 0);
}

/* The rule called name in a GET /v1/rules answer. Borrowed. */
static const cJSON *rule_in(const cJSON *rules, const char *name)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(rules, "rules"))
    {
        if (strcmp(itest_jstr(r, "name"), name) == 0)
            return r;
    }
    itest_fail_json(cJSON_Duplicate(rules, 1), "no rule %s", name);
    return NULL;
}

/* A condition of a pod by type, or NULL. Borrowed. */
static const cJSON *condition(const cJSON *pod, const char *type)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, itest_jget(pod, "status.conditions"))
    {
        const char *t = itest_jstr(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static long api_code(struct itest *t, const char *method, const char *path, const char *body)
{
    long code;
    cJSON *j = itest_json(t, method, path, body, &code);
    cJSON_Delete(j);
    return code;
}

static void create_pod(struct itest *t, const char *name)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":[{\"name\":\"c\","
             "\"image\":\"busybox\"}]}}",
             name);
    itest_must(t, "POST", PODS, NULL, body, 201);
}

/* ---- authentication ---- */

static void test_auth(void **state)
{
    start(state, 0, 0);
    assert_int_equal(strlen(F.api.token), 32); /* a random per-run token */
    assert_true(strncmp(F.api.url, "http://127.0.0.1:", 17) == 0);
    struct itest_resp r;
    const char *tokens[] = {"", "wrong", "Bearer"};
    for (size_t i = 0; i < 3; i++) {
        ctlc_request(&F.api, "GET", "/v1/status", NULL, 0, tokens[i], &r);
        assert_int_equal(r.code, 401);
        cJSON *j = cJSON_Parse(r.body);
        assert_non_null(j);
        assert_non_null(strstr(itest_jstr(j, "error"), "bearer token"));
        assert_non_null(strstr(r.headers, "WWW-Authenticate: Bearer"));
        assert_non_null(strstr(r.headers, "Content-Type: application/json"));
        cJSON_Delete(j);
        itest_resp_release(&r);
    }
    /* a prefix of the token, or the token with more after it, is not the token */
    char half[CONTROL_TOKEN_MAX + 8];
    snprintf(half, sizeof half, "%.16s", F.api.token);
    ctlc_request(&F.api, "GET", "/v1/status", NULL, 0, half, &r);
    assert_int_equal(r.code, 401);
    itest_resp_release(&r);
    snprintf(half, sizeof half, "%sx", F.api.token);
    ctlc_request(&F.api, "GET", "/v1/status", NULL, 0, half, &r);
    assert_int_equal(r.code, 401);
    itest_resp_release(&r);
    /* unknown paths are not revealed without the token either */
    ctlc_request(&F.api, "GET", "/v1/nothing", NULL, 0, "", &r);
    assert_int_equal(r.code, 401);
    itest_resp_release(&r);
    cJSON_Delete(ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200));
}

/* ---- status ---- */

static void test_status(void **state)
{
    struct itest *t = start(state, 0, 0);
    itest_must(t, "GET", CMS, NULL, NULL, 200);
    itest_must(t, "GET", CMS "/x", NULL, NULL, 404);
    cJSON *s = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_string_equal(itest_jstr(s, "scenario"), "ctl");
    assert_string_equal(itest_jstr(s, "file"), "ctl.json");
    assert_string_equal(itest_jstr(s, "state"), "Started");
    assert_string_equal(itest_jstr(s, "listener"), "normal");
    assert_string_equal(itest_jstr(s, "apiUrl"), itest_url(t));
    assert_true(itest_jbool(s, "started"));
    assert_true(itest_jnum(s, "elapsedMs") >= 0);
    assert_int_equal((int)itest_jnum(s, "seed"), 7);
    assert_int_equal((int)itest_jnum(s, "rules"), 4);
    assert_int_equal((int)itest_jnum(s, "rulesEnabled"), 2);
    /* control requests are not API requests: only the two above are counted and journaled */
    assert_int_equal((int)itest_jnum(s, "requests"), 2);
    assert_int_equal((int)itest_jnum(s, "journalEntries"), 2);
    cJSON_Delete(s);
    s = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_int_equal((int)itest_jnum(s, "requests"), 2);
    cJSON_Delete(s);
}

/* ---- rules ---- */

static void test_rules_counts(void **state)
{
    struct itest *t = start(state, 0, 0);
    cJSON *rules = ctlc_ok(&F.api, "GET", "/v1/rules", NULL, 200);
    const cJSON *busy = rule_in(rules, "busy");
    assert_false(itest_jbool(busy, "enabled"));
    assert_string_equal(itest_jstr(busy, "fault"), "status");
    assert_string_equal(itest_jstr(busy, "layer"), "http");
    assert_int_equal((int)itest_jnum(busy, "spec.code"), 503);
    assert_int_equal((int)itest_jnum(busy, "matched"), 0);
    const cJSON *down = rule_in(rules, "down");
    assert_string_equal(itest_jstr(down, "layer"), "listener");
    assert_string_equal(itest_jstr(rule_in(rules, "broken"), "requireState"), "broken");
    /* file order */
    assert_string_equal(itest_jstr(itest_jget(rules, "rules.0"), "name"), "busy");
    assert_string_equal(itest_jstr(itest_jget(rules, "rules.3"), "name"), "broken");
    cJSON_Delete(rules);

    /* "once" fires on the first match only: matched 3, fired 1 */
    long code;
    itest_assert_status(itest_json(t, "GET", SECRET, NULL, &code), &code, 500, NULL,
                        "etcdserver: request timed out");
    itest_must(t, "GET", SECRET, NULL, NULL, 404);
    itest_must(t, "GET", SECRET, NULL, NULL, 404);
    cJSON *once = ctlc_ok(&F.api, "GET", "/v1/rules/once", NULL, 200);
    assert_int_equal((int)itest_jnum(once, "matched"), 3);
    assert_int_equal((int)itest_jnum(once, "fired"), 1);
    assert_true(itest_jbool(once, "enabled"));
    cJSON_Delete(once);
    /* a disabled rule does not count */
    itest_must(t, "GET", CMS, NULL, NULL, 200);
    once = ctlc_ok(&F.api, "GET", "/v1/rules/busy", NULL, 200);
    assert_int_equal((int)itest_jnum(once, "matched"), 0);
    cJSON_Delete(once);
}

/* Rules added and removed while running: validated like a scenario file's, acting at once. */
static void test_add_remove_rules(void **state)
{
    struct itest *t = start(state, 0, 0);
    itest_must(t, "GET", "/api/v1/namespaces/default/serviceaccounts", NULL, NULL, 200);
    cJSON *r = ctlc_ok(&F.api, "POST", "/v1/rules",
                       "{\"name\": \"teapot\", \"match\": {\"resource\": \"serviceaccounts\"},"
                       " \"fault\": {\"type\": \"status\", \"code\": 418, \"message\": \"tea\"}}",
                       201);
    assert_string_equal(itest_jstr(r, "name"), "teapot");
    assert_true(itest_jbool(r, "enabled"));
    cJSON_Delete(r);
    long code;
    itest_assert_status(
        itest_json(t, "GET", "/api/v1/namespaces/default/serviceaccounts", NULL, &code), &code, 418,
        NULL, "tea");
    r = ctlc_ok(&F.api, "GET", "/v1/rules", NULL, 200);
    assert_int_equal((int)itest_jnum(rule_in(r, "teapot"), "fired"), 1);
    cJSON_Delete(r);
    /* the scenario's own checks apply: a duplicate name, an unknown fault type */
    ctlc_err(&F.api, "POST", "/v1/rules", "{\"name\": \"teapot\", \"fault\": {\"type\": \"hang\"}}",
             400, "duplicate rule name \"teapot\"");
    ctlc_err(&F.api, "POST", "/v1/rules", "{\"name\": \"x\", \"fault\": {\"type\": \"latncy\"}}",
             400, "unknown fault type \"latncy\"");
    ctlc_err(&F.api, "POST", "/v1/rules", "{\"name\": ", 400, "rule:1:");
    /* removed: requests are served again, the name is free, the rule is gone from the list */
    r = ctlc_ok(&F.api, "DELETE", "/v1/rules/teapot", NULL, 200);
    assert_string_equal(itest_jstr(r, "removed"), "teapot");
    cJSON_Delete(r);
    itest_must(t, "GET", "/api/v1/namespaces/default/serviceaccounts", NULL, NULL, 200);
    ctlc_err(&F.api, "GET", "/v1/rules/teapot", NULL, 404, "unknown rule \"teapot\"");
    /* a listener rule added on: the port refuses at once; removed: it accepts again */
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules",
                         "{\"name\": \"down2\", \"fault\": {\"type\": \"refuse\"}}", 201));
    cJSON *s = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_string_equal(itest_jstr(s, "listener"), "refuse");
    cJSON_Delete(s);
    cJSON_Delete(ctlc_ok(&F.api, "DELETE", "/v1/rules/down2", NULL, 200));
    s = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_string_equal(itest_jstr(s, "listener"), "normal");
    cJSON_Delete(s);
    itest_must(t, "GET", "/api/v1/namespaces/default/serviceaccounts", NULL, NULL, 200);
}

/* Timeline entries added and removed while running. */
static void test_add_remove_timeline(void **state)
{
    struct itest *t = start(state, 0, 0);
    long code;
    cJSON *tl = ctlc_ok(&F.api, "GET", "/v1/timeline", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tl, "timeline")), 1);
    cJSON_Delete(tl);
    /* on at once: configmaps answer 503 */
    cJSON *e =
        ctlc_ok(&F.api, "POST", "/v1/timeline", "{\"at\": \"0s\", \"enable\": \"busy\"}", 201);
    assert_string_equal(itest_jstr(e, "enable"), "busy");
    assert_true(itest_jnum(e, "index") >= 1);
    cJSON_Delete(e);
    int on = 0;
    for (int i = 0; i < 100 && !on; i++) { /* the timer fires on the loop: bounded wait */
        cJSON *r = ctlc_ok(&F.api, "GET", "/v1/rules/busy", NULL, 200);
        on = itest_jbool(r, "enabled");
        cJSON_Delete(r);
        if (!on)
            nanosleep(&(struct timespec){0, 20 * 1000000}, NULL);
    }
    assert_true(on);
    itest_assert_status(itest_json(t, "GET", CMS, NULL, &code), &code, 503, NULL, "busy");
    /* an entry an hour away, then removed: it never fires */
    e = ctlc_ok(&F.api, "POST", "/v1/timeline", "{\"at\": \"1h\", \"disable\": \"busy\"}", 201);
    int later = (int)itest_jnum(e, "index");
    assert_string_equal(itest_jstr(e, "state"), "armed");
    cJSON_Delete(e);
    char path[64];
    snprintf(path, sizeof path, "/v1/timeline/%d", later);
    e = ctlc_ok(&F.api, "DELETE", path, NULL, 200);
    assert_string_equal(itest_jstr(e, "state"), "removed");
    cJSON_Delete(e);
    ctlc_err(&F.api, "DELETE", path, NULL, 404, "no timeline entry");
    ctlc_err(&F.api, "POST", "/v1/timeline", "{\"at\": \"1s\", \"enable\": \"nope\"}", 400,
             "\"nope\"");
    ctlc_err(&F.api, "POST", "/v1/timeline", "{\"at\": 5, \"enable\": \"busy\"}", 400, "unit");
}

static void test_enable_disable(void **state)
{
    struct itest *t = start(state, 0, 0);
    itest_must(t, "GET", CMS, NULL, NULL, 200);
    cJSON *r = ctlc_ok(&F.api, "POST", "/v1/rules/busy/enable", NULL, 200);
    assert_true(itest_jbool(r, "enabled"));
    assert_string_equal(itest_jstr(r, "name"), "busy");
    cJSON_Delete(r);
    long code;
    itest_assert_status(itest_json(t, "GET", CMS, NULL, &code), &code, 503, "ServiceUnavailable",
                        "busy");
    /* enabling twice is harmless */
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/busy/enable", "{}", 200));
    itest_assert_status(itest_json(t, "GET", CMS, NULL, &code), &code, 503, NULL, "busy");
    r = ctlc_ok(&F.api, "GET", "/v1/rules/busy", NULL, 200);
    assert_int_equal((int)itest_jnum(r, "fired"), 2);
    cJSON_Delete(r);
    r = ctlc_ok(&F.api, "POST", "/v1/rules/busy/disable", NULL, 200);
    assert_false(itest_jbool(r, "enabled"));
    cJSON_Delete(r);
    itest_must(t, "GET", CMS, NULL, NULL, 200);

    /* a listener rule: the API port refuses connections while it is on */
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/down/enable", NULL, 200));
    cJSON *s = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_string_equal(itest_jstr(s, "listener"), "refuse");
    cJSON_Delete(s);
    struct itest_req req = {0};
    struct itest_resp resp;
    req.path = CMS;
    req.timeout_ms = 2000;
    itest_request(t, &req, &resp);
    assert_int_equal(resp.curl, CURLE_COULDNT_CONNECT);
    itest_resp_release(&resp);
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/down/disable", NULL, 200));
    s = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_string_equal(itest_jstr(s, "listener"), "normal");
    cJSON_Delete(s);
    itest_must(t, "GET", CMS, NULL, NULL, 200);

    /* rule names are path segments, percent-decoded */
    cJSON_Delete(ctlc_ok(&F.api, "GET", "/v1/rules/%6fnce", NULL, 200));
    ctlc_err(&F.api, "POST", "/v1/rules/nope/enable", NULL, 404,
             "unknown rule \"nope\" (known: busy, once, down, broken)");
    ctlc_err(&F.api, "POST", "/v1/rules/busy/toggle", NULL, 404,
             "unknown rule action \"toggle\" (known: enable, disable)");
    ctlc_err(&F.api, "GET", "/v1/rules/busy/enable", NULL, 405, "allowed: POST");
    ctlc_err(&F.api, "POST", "/v1/rules/busy/enable", "{\"on\":true}", 400, "unknown key \"on\"");
    ctlc_err(&F.api, "POST", "/v1/rules/busy/enable", "[1]", 400, "not a JSON object");
}

/* ---- the named state and reset ---- */

static void test_state(void **state)
{
    struct itest *t = start(state, 0, 0);
    itest_must(t, "GET", SVC, NULL, NULL, 404);
    cJSON *s = ctlc_ok(&F.api, "PUT", "/v1/state", "{\"state\": \"broken\"}", 200);
    assert_string_equal(itest_jstr(s, "state"), "broken");
    assert_string_equal(itest_jstr(s, "previous"), "Started");
    cJSON_Delete(s);
    s = ctlc_ok(&F.api, "GET", "/v1/state", NULL, 200);
    assert_string_equal(itest_jstr(s, "state"), "broken");
    cJSON_Delete(s);
    long code;
    itest_assert_status(itest_json(t, "GET", SVC, NULL, &code), &code, 500, NULL, "state");
    s = ctlc_ok(&F.api, "PUT", "/v1/state", "{\"state\": \"fixed\"}", 200);
    cJSON_Delete(s);
    itest_must(t, "GET", SVC, NULL, NULL, 404);

    ctlc_err(&F.api, "PUT", "/v1/state", NULL, 400, "missing JSON body");
    ctlc_err(&F.api, "PUT", "/v1/state", "{}", 400, "missing key \"state\"");
    ctlc_err(&F.api, "PUT", "/v1/state", "{\"state\": 3}", 400, "\"state\": expected a string");
    ctlc_err(&F.api, "PUT", "/v1/state", "{\"state\": \"a b\"}", 400, "bad state name \"a b\"");
    ctlc_err(&F.api, "PUT", "/v1/state", "{\"state\": \"x\", \"extra\": 1}", 400,
             "unknown key \"extra\" (known: state)");
    ctlc_err(&F.api, "PUT", "/v1/state", "{\"state\": ", 400, "not a JSON object");
    ctlc_err(&F.api, "POST", "/v1/state", "{\"state\": \"x\"}", 405, "allowed: GET, PUT");
    s = ctlc_ok(&F.api, "GET", "/v1/state", NULL, 200);
    assert_string_equal(itest_jstr(s, "state"), "fixed");
    cJSON_Delete(s);
}

static void test_reset(void **state)
{
    struct itest *t = start(state, 0, 0);
    long code;
    itest_assert_status(itest_json(t, "GET", SECRET, NULL, &code), &code, 500, NULL,
                        "etcdserver: request timed out");
    itest_must(t, "GET", SECRET, NULL, NULL, 404);
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/busy/enable", NULL, 200));
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/once/disable", NULL, 200));
    cJSON_Delete(ctlc_ok(&F.api, "PUT", "/v1/state", "{\"state\":\"broken\"}", 200));

    cJSON *s = ctlc_ok(&F.api, "POST", "/v1/reset", NULL, 200);
    assert_string_equal(itest_jstr(s, "state"), "Started");
    assert_int_equal((int)itest_jnum(s, "rulesEnabled"), 2);
    assert_int_equal((int)itest_jnum(s, "journalEntries"), 2); /* the journal goes on */
    cJSON_Delete(s);
    cJSON *rules = ctlc_ok(&F.api, "GET", "/v1/rules", NULL, 200);
    assert_false(itest_jbool(rule_in(rules, "busy"), "enabled"));
    assert_true(itest_jbool(rule_in(rules, "once"), "enabled"));
    assert_int_equal((int)itest_jnum(rule_in(rules, "once"), "matched"), 0);
    assert_int_equal((int)itest_jnum(rule_in(rules, "once"), "fired"), 0);
    cJSON_Delete(rules);
    /* counting starts over: "first: 1" fires again */
    itest_assert_status(itest_json(t, "GET", SECRET, NULL, &code), &code, 500, NULL,
                        "etcdserver: request timed out");
    itest_must(t, "GET", SECRET, NULL, NULL, 404);
    itest_must(t, "GET", CMS, NULL, NULL, 200);
    itest_must(t, "GET", SVC, NULL, NULL, 404);
    ctlc_err(&F.api, "GET", "/v1/reset", NULL, 405, "allowed: POST");
}

/* ---- the journal ---- */

static void test_journal(void **state)
{
    struct itest *t = start(state, 0, 0);
    long code;
    itest_assert_status(itest_json(t, "GET", SECRET, NULL, &code), &code, 500, NULL, NULL);
    itest_must(t, "GET", SECRET, NULL, NULL, 404);
    itest_must(t, "POST", CMS, NULL, "{\"metadata\":{\"name\":\"c1\"}}", 201);
    itest_must(t, "GET", CMS "/c1", NULL, NULL, 200);

    cJSON *j = ctlc_ok(&F.api, "GET", "/v1/journal", NULL, 200);
    const cJSON *entries = itest_jget(j, "entries");
    assert_int_equal(cJSON_GetArraySize(entries), 4);
    const cJSON *e0 = itest_jget(j, "entries.0");
    assert_string_equal(itest_jstr(e0, "path"), SECRET);
    assert_string_equal(itest_jstr(e0, "verb"), "get");
    assert_string_equal(itest_jstr(e0, "rule"), "once");
    assert_string_equal(itest_jstr(e0, "fault"), "error");
    assert_string_equal(itest_jstr(e0, "matched"), "once(1)");
    assert_int_equal((int)itest_jnum(e0, "code"), 500);
    assert_true(itest_jbool(e0, "complete"));
    assert_non_null(itest_jget(e0, "t_ms"));
    const cJSON *e1 = itest_jget(j, "entries.1");
    assert_null(itest_jget(e1, "rule"));
    assert_string_equal(itest_jstr(e1, "matched"), "once(2)");
    assert_int_equal((int)itest_jnum(e1, "code"), 404);
    const cJSON *e2 = itest_jget(j, "entries.2");
    assert_string_equal(itest_jstr(e2, "verb"), "create");
    assert_int_equal((int)itest_jnum(e2, "code"), 201);
    assert_true(itest_jnum(e2, "bytes") > 0);
    double seq1 = itest_jnum(e1, "seq"), seq3 = itest_jnum(itest_jget(j, "entries.3"), "seq");
    assert_int_equal((long)itest_jnum(j, "next"), (long)seq3);
    assert_false(itest_jbool(j, "more"));
    cJSON_Delete(j);

    /* since: only newer entries; times=false: no timestamps */
    char path[128];
    snprintf(path, sizeof path, "/v1/journal?since=%.0f&times=false", seq1);
    j = ctlc_ok(&F.api, "GET", path, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(j, "entries")), 2);
    assert_string_equal(itest_jstr(itest_jget(j, "entries.0"), "verb"), "create");
    assert_null(itest_jget(itest_jget(j, "entries.0"), "t_ms"));
    assert_null(itest_jget(itest_jget(j, "entries.0"), "done_ms"));
    cJSON_Delete(j);
    snprintf(path, sizeof path, "/v1/journal?since=%.0f", seq3);
    j = ctlc_ok(&F.api, "GET", path, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(j, "entries")), 0);
    assert_int_equal((long)itest_jnum(j, "next"), (long)seq3);
    cJSON_Delete(j);

    /* paging with limit */
    j = ctlc_ok(&F.api, "GET", "/v1/journal?limit=3", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(j, "entries")), 3);
    assert_true(itest_jbool(j, "more"));
    double next = itest_jnum(j, "next");
    cJSON_Delete(j);
    snprintf(path, sizeof path, "/v1/journal?limit=3&since=%.0f", next);
    j = ctlc_ok(&F.api, "GET", path, NULL, 200);
    assert_int_equal(cJSON_GetArraySize(itest_jget(j, "entries")), 1);
    assert_false(itest_jbool(j, "more"));
    cJSON_Delete(j);

    /* JSON lines */
    struct itest_resp r;
    ctlc_request(&F.api, "GET", "/v1/journal?format=jsonl&times=0", NULL, 0, NULL, &r);
    assert_int_equal(r.code, 200);
    assert_non_null(strstr(r.headers, "Content-Type: application/jsonl"));
    assert_non_null(strstr(r.headers, "X-Kubefault-More: false"));
    size_t lines = 0;
    for (char *line = r.body, *nl; (nl = strchr(line, '\n')); line = nl + 1, lines++) {
        *nl = '\0';
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        assert_null(itest_jget(o, "t_ms"));
        assert_non_null(itest_jget(o, "seq"));
        cJSON_Delete(o);
    }
    assert_int_equal(lines, 4);
    itest_resp_release(&r);

    ctlc_err(&F.api, "GET", "/v1/journal?since=x", NULL, 400, "\"since\": expected an integer");
    ctlc_err(&F.api, "GET", "/v1/journal?since=-1", NULL, 400, "\"since\"");
    ctlc_err(&F.api, "GET", "/v1/journal?limit=1000001", NULL, 400, "\"limit\"");
    ctlc_err(&F.api, "GET", "/v1/journal?times=maybe", NULL, 400, "expected true or false");
    ctlc_err(&F.api, "GET", "/v1/journal?format=xml", NULL, 400, "expected json or jsonl");
    ctlc_err(&F.api, "GET", "/v1/journal?sinse=1", NULL, 400,
             "unknown query parameter \"sinse\" (known: since, limit, times, format)");
    ctlc_err(&F.api, "DELETE", "/v1/journal", NULL, 405, NULL);
}

/* ---- pods ---- */

static void test_pod_advance_and_ready(void **state)
{
    struct itest *t = start(state, LONG_MS, LONG_MS); /* nothing moves unless told */
    create_pod(t, "p1");
    create_pod(t, "p2");
    cJSON *r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p1/advance", NULL, 200);
    assert_string_equal(itest_jstr(r, "action"), "advance");
    assert_false(itest_jbool(r, "gone"));
    assert_string_equal(itest_jstr(r, "pod.spec.nodeName"), "kubefault-node");
    assert_string_equal(itest_jstr(r, "pod.status.phase"), "Pending");
    cJSON_Delete(r);
    r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p1/advance", NULL, 200);
    assert_string_equal(itest_jstr(r, "pod.status.phase"), "Running");
    cJSON_Delete(r);
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/advance", NULL, 409, "no lifecycle step waiting");
    cJSON *pod = itest_json(t, "GET", PODS "/p1", NULL, &(long){0});
    assert_string_equal(itest_jstr(pod, "status.phase"), "Running");
    cJSON_Delete(pod);

    /* ready runs both steps of a fresh pod at once */
    r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/ready", NULL, 200);
    assert_string_equal(itest_jstr(r, "pod.status.phase"), "Running");
    assert_string_equal(itest_jstr(condition(itest_jget(r, "pod"), "Ready"), "status"), "True");
    assert_true(cJSON_IsTrue(itest_jget(r, "pod.status.containerStatuses.0.ready")));
    cJSON_Delete(r);
    /* and again: nothing to change */
    long long rv = itest_list_rv(t, PODS);
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/ready", NULL, 200));
    assert_int_equal(itest_list_rv(t, PODS), rv);

    ctlc_err(&F.api, "POST", "/v1/pods/default/nope/advance", NULL, 404,
             "pod \"default/nope\" not found");
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/explode", NULL, 404,
             "unknown pod action \"explode\" (known: advance, delete, evict, fail, ready, "
             "files, stages)");
    ctlc_err(&F.api, "GET", "/v1/pods/default/p1/ready", NULL, 405, "allowed: POST");
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/ready", "{\"now\":1}", 400,
             "unknown key \"now\"");
}

/* What ran inside a pod: the stage a runner-style attach started, the output log it wrote. */
static void test_pod_files_and_stages(void **state)
{
    struct itest *t = start(state, 0, 0);
    create_pod(t, "p1");
    cJSON_Delete(itest_wait_field(t, PODS "/p1", "status.phase", "Running", 5000));
    struct rcc_opts o = {.transport = RCC_SPDY, .stdin_ = 1};
    char path[512], err[RCC_ERR_MAX];
    o.path_and_query = rcc_path(path, sizeof path, "default", "p1", "c", NULL, &o);
    struct rcc *c = rcc_open(itest_port(t), &o, 5000, err, sizeof err, NULL, NULL, 0);
    if (!c)
        fail_msg("attach: %s", err);
    static const char line[] =
        "gitlab-runner-build <<< /scripts-1-2/get_sources 2>&1 | tee -a /logs-1-2/output.log\n";
    assert_int_equal(rcc_write_stdin(c, line, sizeof line - 1), 0);
    assert_int_equal(rcc_close_stdin(c), 0);
    assert_int_equal(rcc_wait_end(c, 5000), 0);
    rcc_free(c);

    cJSON *r = ctlc_ok(&F.api, "GET", "/v1/pods/default/p1/stages", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(r), 1);
    assert_string_equal(itest_jstr(r, "0.container"), "c");
    assert_string_equal(itest_jstr(r, "0.stage"), "get_sources");
    assert_string_equal(itest_jstr(r, "0.script"), "/scripts-1-2/get_sources");
    assert_int_equal(itest_jnum(itest_jget(r, "0"), "exitCode"), 0);
    cJSON_Delete(r);
    r = ctlc_ok(&F.api, "GET", "/v1/pods/default/p1/files", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(r), 1);
    assert_string_equal(itest_jstr(r, "0.path"), "/logs-1-2/output.log");
    cJSON_Delete(r);
    struct itest_resp raw;
    ctlc_request(&F.api, "GET", "/v1/pods/default/p1/files?path=/logs-1-2/output.log", NULL, 0,
                 NULL, &raw);
    assert_int_equal(raw.code, 200);
    assert_string_equal(raw.body, "{\"script\": \"/scripts-1-2/get_sources\"}\n\n"
                                  "{\"command_exit_code\": 0, \"script\": "
                                  "\"/scripts-1-2/get_sources\"}\n");
    itest_resp_release(&raw);
    r = ctlc_ok(&F.api, "DELETE", "/v1/pods/default/p1/files?path=/logs-1-2/output.log", NULL, 200);
    assert_string_equal(itest_jstr(r, "deleted"), "/logs-1-2/output.log");
    cJSON_Delete(r);
    ctlc_err(&F.api, "GET", "/v1/pods/default/p1/files?path=/logs-1-2/output.log", NULL, 404,
             "no file \"/logs-1-2/output.log\" in pod \"default/p1\"");
    ctlc_err(&F.api, "DELETE", "/v1/pods/default/p1/files", NULL, 400, "which file?");
    ctlc_err(&F.api, "GET", "/v1/pods/default/nope/stages", NULL, 404,
             "pod \"default/nope\" not found");
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/stages", NULL, 405, "allowed: GET");
    ctlc_err(&F.api, "GET", "/v1/pods/default/p1/files?name=x", NULL, 400,
             "unknown query parameter");
}

static void test_pod_fail(void **state)
{
    struct itest *t = start(state, 0, 0);
    create_pod(t, "p1");
    cJSON_Delete(itest_wait_field(t, PODS "/p1", "status.phase", "Running", ITEST_WAIT_MS));
    cJSON *r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p1/fail",
                       "{\"reason\":\"Evicted\",\"message\":\"The node was low on resource: "
                       "memory.\",\"exitCode\":1}",
                       200);
    assert_string_equal(itest_jstr(r, "pod.status.phase"), "Failed");
    assert_string_equal(itest_jstr(r, "pod.status.reason"), "Evicted");
    assert_string_equal(itest_jstr(r, "pod.status.message"),
                        "The node was low on resource: memory.");
    const cJSON *ready = condition(itest_jget(r, "pod"), "Ready");
    assert_string_equal(itest_jstr(ready, "status"), "False");
    /* the kubelet's words for a failed pod (status/generate.go) */
    assert_string_equal(itest_jstr(ready, "reason"), "PodFailed");
    assert_int_equal((int)itest_jnum(r, "pod.status.containerStatuses.0.state.terminated.exitCode"),
                     1);
    assert_string_equal(itest_jstr(r, "pod.status.containerStatuses.0.state.terminated.reason"),
                        "Error");
    cJSON_Delete(r);
    cJSON *pod = itest_json(t, "GET", PODS "/p1", NULL, &(long){0});
    assert_string_equal(itest_jstr(pod, "status.phase"), "Failed");
    cJSON_Delete(pod);
    /* failing again changes nothing; a failed pod cannot be made ready */
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/pods/default/p1/fail", NULL, 200));
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/ready", NULL, 409, "is Failed");
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/fail", "{\"exitCode\":256}", 400,
             "\"exitCode\": expected an integer from 0 to 255");
    /* a Pending pod fails too, and its lifecycle does not move it out of Failed */
    create_pod(t, "p2");
    r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/fail", NULL, 200);
    assert_string_equal(itest_jstr(r, "pod.status.phase"), "Failed");
    cJSON_Delete(r);
    ctlc_err(&F.api, "POST", "/v1/pods/default/p2/ready", NULL, 409, "is Failed");
    pod = itest_json(t, "GET", PODS "/p2", NULL, &(long){0});
    assert_string_equal(itest_jstr(pod, "status.phase"), "Failed");
    cJSON_Delete(pod);
}

static void test_pod_evict_order(void **state)
{
    struct itest *t = start(state, 0, 0);
    create_pod(t, "p1");
    cJSON_Delete(itest_wait_field(t, PODS "/p1", "status.phase", "Running", ITEST_WAIT_MS));
    char path[160];
    snprintf(path, sizeof path, PODS "?watch=true&resourceVersion=%lld", itest_list_rv(t, PODS));
    struct itest_stream *st = itest_stream_open(t, path, NULL);

    cJSON *r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p1/evict", NULL, 200);
    const cJSON *dt = condition(itest_jget(r, "pod"), "DisruptionTarget");
    assert_non_null(dt);
    assert_string_equal(itest_jstr(dt, "status"), "True");
    assert_string_equal(itest_jstr(dt, "reason"), "EvictionByEvictionAPI");
    assert_string_equal(itest_jstr(dt, "message"), "Eviction API: evicting");
    assert_non_null(itest_jget(r, "pod.metadata.deletionTimestamp"));
    assert_int_equal((int)itest_jnum(r, "pod.metadata.deletionGracePeriodSeconds"), 30);
    cJSON_Delete(r);

    /* watchers see the condition, then the deletion timestamp, then the pod go */
    cJSON *ev = itest_expect_event(st, "MODIFIED", "p1", ITEST_WAIT_MS);
    assert_non_null(condition(itest_jget(ev, "object"), "DisruptionTarget"));
    assert_null(itest_jget(ev, "object.metadata.deletionTimestamp"));
    cJSON_Delete(ev);
    ev = itest_expect_event(st, "MODIFIED", "p1", ITEST_WAIT_MS);
    assert_non_null(itest_jget(ev, "object.metadata.deletionTimestamp"));
    cJSON_Delete(ev);
    cJSON_Delete(itest_expect_event(st, "DELETED", "p1", ITEST_WAIT_MS));
    itest_stream_close(st);
    assert_int_equal(api_code(t, "GET", PODS "/p1", NULL), 404);
    ctlc_err(&F.api, "POST", "/v1/pods/default/p1/evict", NULL, 404, "not found");

    /* custom wording, grace 0: gone at once */
    create_pod(t, "p2");
    cJSON_Delete(itest_wait_field(t, PODS "/p2", "status.phase", "Running", ITEST_WAIT_MS));
    r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/evict",
                "{\"reason\":\"TerminationByKubelet\",\"message\":\"Pod was terminated in "
                "response to imminent node shutdown.\",\"gracePeriodSeconds\":0}",
                200);
    assert_true(itest_jbool(r, "gone"));
    assert_true(cJSON_IsNull(itest_jget(r, "pod")));
    cJSON_Delete(r);
    assert_int_equal(api_code(t, "GET", PODS "/p2", NULL), 404);
}

static void test_pod_delete(void **state)
{
    /* termination takes 2 s, so the pod is still there while it is being deleted */
    struct itest *t = start3(state, LONG_MS, LONG_MS, 2000);
    /* an unscheduled pod goes at once, as kube-apiserver deletes it */
    create_pod(t, "p1");
    cJSON *r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p1/delete", NULL, 200);
    assert_true(itest_jbool(r, "gone"));
    cJSON_Delete(r);
    assert_int_equal(api_code(t, "GET", PODS "/p1", NULL), 404);
    /* a scheduled one is deleted gracefully */
    create_pod(t, "p2");
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/ready", NULL, 200));
    r = ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/delete", "{\"gracePeriodSeconds\": 5}", 200);
    assert_false(itest_jbool(r, "gone"));
    assert_non_null(itest_jget(r, "pod.metadata.deletionTimestamp"));
    assert_int_equal((int)itest_jnum(r, "pod.metadata.deletionGracePeriodSeconds"), 5);
    cJSON_Delete(r);
    /* deleting again changes nothing; readiness is refused */
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/pods/default/p2/delete", NULL, 200));
    ctlc_err(&F.api, "POST", "/v1/pods/default/p2/ready", NULL, 409, "being deleted");
    assert_true(itest_wait_code(t, PODS "/p2", 404, ITEST_WAIT_MS));
    ctlc_err(&F.api, "POST", "/v1/pods/default/p2/delete", NULL, 404, "not found");
    create_pod(t, "p3");
    ctlc_err(&F.api, "POST", "/v1/pods/default/p3/delete", "{\"gracePeriodSeconds\": -1}", 400,
             "\"gracePeriodSeconds\": expected an integer");
    ctlc_err(&F.api, "POST", "/v1/pods/default/p3/delete", "{\"gracePeriodSeconds\": 1.5}", 400,
             "\"gracePeriodSeconds\": expected an integer");
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    start(state, 0, 0);
    ctlc_err(&F.api, "GET", "/", NULL, 404, "no such endpoint \"/\"");
    ctlc_err(&F.api, "GET", "/v2/status", NULL, 404,
             "no such endpoint \"/v2/status\" (known: /v1/status");
    ctlc_err(&F.api, "GET", "/v1/status/", NULL, 404, "empty path segment");
    ctlc_err(&F.api, "GET", "/v1//status", NULL, 404, "empty path segment");
    ctlc_err(&F.api, "GET", "/v1/a/b/c/d/e/f/g/h", NULL, 404, "no such endpoint");
    ctlc_err(&F.api, "GET", "/v1/rules/%zz", NULL, 400, "bad path segment");
    ctlc_err(&F.api, "GET", "/v1/rules/a%00b", NULL, 400, "bad path segment");
    ctlc_err(&F.api, "GET", "/v1/status?verbose=1", NULL, 400,
             "unknown query parameter \"verbose\"");

    struct itest_resp r;
    ctlc_request(&F.api, "POST", "/v1/status", NULL, 0, NULL, &r);
    assert_int_equal(r.code, 405);
    assert_non_null(strstr(r.headers, "Allow: GET"));
    itest_resp_release(&r);

    /* bounded bodies: over the cap is 413, and the connection serves on */
    size_t big = CONTROL_MAX_BODY_BYTES + 1;
    char *body = malloc(big + 1);
    assert_non_null(body);
    memset(body, ' ', big);
    body[big] = '\0';
    ctlc_request(&F.api, "PUT", "/v1/state", body, big, NULL, &r);
    assert_int_equal(r.code, 413);
    assert_non_null(strstr(r.body, "larger than 65536 bytes"));
    itest_resp_release(&r);
    free(body);
    /* a long path */
    char path[CONTROL_MAX_PATH_BYTES + 64];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    ctlc_err(&F.api, "GET", path, NULL, 414, "path longer than 1024 bytes");
    cJSON_Delete(ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200));
}

/* A control server on a chosen token and a busy port. */
struct pick {
    int port;
    struct control *c;
    char err[256];
};

static void on_pick(void *arg, struct mockapi_server *s)
{
    struct pick *p = arg;
    p->c = control_new(F.engine, mockapi_server_base(s), "127.0.0.1", p->port, "sekrit", p->err,
                       sizeof p->err);
}

static void on_unpick(void *arg, struct mockapi_server *s)
{
    (void)s;
    control_free(((struct pick *)arg)->c);
}

static void test_token_and_port(void **state)
{
    struct itest *t = start(state, 0, 0);
    /* a given token; the API port is taken */
    struct pick p = {.port = itest_port(t)};
    itest_run(t, on_pick, &p);
    assert_null(p.c);
    assert_non_null(strstr(p.err, "cannot listen for the control API on 127.0.0.1:"));
    p.port = 0;
    itest_run(t, on_pick, &p);
    assert_non_null(p.c);
    struct ctlc picked;
    ctlc_init(&picked, p.c);
    struct itest_resp r;
    ctlc_request(&picked, "GET", "/v1/status", NULL, 0, "sekrit", &r);
    assert_int_equal(r.code, 200);
    itest_resp_release(&r);
    ctlc_request(&picked, "GET", "/v1/status", NULL, 0, F.api.token, &r);
    assert_int_equal(r.code, 401);
    itest_resp_release(&r);
    itest_run(t, on_unpick, &p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_auth, teardown),
        cmocka_unit_test_teardown(test_status, teardown),
        cmocka_unit_test_teardown(test_rules_counts, teardown),
        cmocka_unit_test_teardown(test_enable_disable, teardown),
        cmocka_unit_test_teardown(test_add_remove_rules, teardown),
        cmocka_unit_test_teardown(test_add_remove_timeline, teardown),
        cmocka_unit_test_teardown(test_state, teardown),
        cmocka_unit_test_teardown(test_reset, teardown),
        cmocka_unit_test_teardown(test_journal, teardown),
        cmocka_unit_test_teardown(test_pod_advance_and_ready, teardown),
        cmocka_unit_test_teardown(test_pod_files_and_stages, teardown),
        cmocka_unit_test_teardown(test_pod_fail, teardown),
        cmocka_unit_test_teardown(test_pod_evict_order, teardown),
        cmocka_unit_test_teardown(test_pod_delete, teardown),
        cmocka_unit_test_teardown(test_errors, teardown),
        cmocka_unit_test_teardown(test_token_and_port, teardown),
    };
    itest_filter_from_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
