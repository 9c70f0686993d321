/* test_it_control_gitlab.c -- the fake GitLab inside a running scenario (harness/glrun.c) with
 * the control API's /v1/gitlab endpoints (harness/control.c), over real sockets: a scenario's job
 * handed out, traced and finished, and seen through the control API; rules on jobs/request
 * (gitlab-no-job, a 503, a hang the client abandons) and on trace (a 403, gitlab-cancel), each
 * checked on the wire and in the journal; cancel and queue through the control API (a held
 * jobs/request answered by a job queued while it waits); the 404 when the run has no GitLab.
 *
 * Engine, fake GitLab and control server live on the itest server thread (made and freed through
 * itest_run); the test thread only talks HTTP to the ports. */
#include <errno.h>
#include <pthread.h>
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
#include "harness/engine.h"
#include "harness/glrun.h"
#include "harness/scenario.h"
#include "ctlclient.h"
#include "gltest.h"
#include "itest.h"
#include "mockapi/gitlab/gitlab.h"

#define RUNNER_TOKEN "glrt-kubefault-test-0001"
#define LONG_POLL "'longPoll': '300ms'"

/* Made on the server thread, read by the test thread after itest_run() returned. */
static struct {
    struct engine *engine;
    struct control *control;
    struct gltest gl; /* the fake GitLab */
    struct ctlc api;  /* the control API's address and token */
    int gl_port;      /* the fake GitLab's port */
    char err[512];
} F;

/* arg: the itest server (the fake GitLab runs on its loop). */
static void up(void *arg, struct mockapi_server *s)
{
    struct scenario *sc = engine_scenario(F.engine);
    if (sc->gitlab.present) {
        struct gitlab_server *gs =
            glrun_start(F.engine, mockapi_server_base(s), sc, NULL, 0, F.err, sizeof F.err);
        if (!gs)
            return;
        gltest_init(&F.gl, arg, gs);
        F.gl_port = gitlab_server_port(gs);
    }
    if ((F.control =
             control_new(F.engine, mockapi_server_base(s), NULL, 0, NULL, F.err, sizeof F.err)))
        ctlc_init(&F.api, F.control);
}

/* As kubefault serve ends: the control API, the engine, then the fake GitLab. */
static void down(void *arg, struct mockapi_server *s)
{
    (void)arg;
    (void)s;
    control_free(F.control);
    F.control = NULL;
    engine_stop(F.engine);
    gitlab_server_free(F.gl.gs);
    F.gl.gs = NULL;
}

static int teardown(void **state)
{
    if (*state)
        itest_run(*state, down, NULL);
    int rc = gltest_teardown(state, &F.gl); /* down() freed the fake GitLab itself */
    memset(&F, 0, sizeof F);
    return rc;
}

/* A plain-HTTP server running scenario (written with ' for "), its fake GitLab when the scenario
 * has a gitlab section, and the control API. */
static struct itest *start(void **state, const char *scenario)
{
    memset(&F, 0, sizeof F);
    struct itest_opts o = {.scenario_file = "ctlgl.json", .single_quoted = 1};
    struct itest *t = itest_start_scenario(state, scenario, &o);
    F.engine = itest_engine(t);
    itest_run(t, up, t);
    if (!F.control)
        fail_msg("set-up: %s", F.err);
    return t;
}

/* ---- HTTP to either port ---- */

static void request_job(long timeout_ms, struct itest_resp *out)
{
    gltest_request_job(&F.gl, RUNNER_TOKEN, "", timeout_ms, out);
}

static void trace_patch(int64_t id, const char *tok, const char *range, const char *data,
                        struct itest_resp *out)
{
    char path[64], th[320], rh[128];
    snprintf(path, sizeof path, "jobs/%lld/trace", (long long)id);
    snprintf(th, sizeof th, "JOB-TOKEN: %s", tok);
    snprintf(rh, sizeof rh, "Content-Range: %s", range);
    struct gltest_req r = {
        .method = "PATCH", .path = path, .body = data, .ct = "text/plain", .h1 = th, .h2 = rh};
    gltest_do(&F.gl, &r, out);
}

/* The journal entry with this seq (times left out), or the test fails. Caller frees. */
static cJSON *journal_entry(uint64_t seq)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/journal?times=false&since=%llu&limit=1",
             (unsigned long long)(seq - 1));
    cJSON *j = ctlc_ok(&F.api, "GET", path, NULL, 200);
    cJSON *e = cJSON_DetachItemFromArray(cJSON_GetObjectItemCaseSensitive(j, "entries"), 0);
    if (!e || itest_jnum(e, "seq") != (double)seq) {
        cJSON_Delete(e);
        itest_fail_json(j, "no journal entry %llu", (unsigned long long)seq);
    }
    cJSON_Delete(j);
    return e;
}

/* Check a GitLab journal entry: endpoint, job (0: none), rule and fault (NULL: none fired), code.
 */
static void assert_gl_entry(const cJSON *e, const char *method, const char *endpoint, int64_t job,
                            const char *rule, const char *fault, long code)
{
    cJSON *dup = cJSON_Duplicate(e, 1);
    const char *v;
    if (!(v = itest_jstr(e, "server")) || strcmp(v, "gitlab") != 0)
        itest_fail_json(dup, "server: want gitlab");
    if (!(v = itest_jstr(e, "method")) || strcmp(v, method) != 0)
        itest_fail_json(dup, "method: want %s", method);
    if (!(v = itest_jstr(e, "verb")) || strcmp(v, endpoint) != 0)
        itest_fail_json(dup, "verb: want %s", endpoint);
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(e, "job");
    if (job ? !cJSON_IsNumber(j) || j->valuedouble != (double)job : j != NULL)
        itest_fail_json(dup, "job: want %lld", (long long)job);
    v = itest_jstr(e, "rule");
    if (rule ? !v || strcmp(v, rule) != 0 : v != NULL)
        itest_fail_json(dup, "rule: want %s", rule ? rule : "none");
    v = itest_jstr(e, "fault");
    if (fault ? !v || strcmp(v, fault) != 0 : v != NULL)
        itest_fail_json(dup, "fault: want %s", fault ? fault : "none");
    if (itest_jnum(e, "code") != (double)code)
        itest_fail_json(dup, "code: want %ld", code);
    cJSON_Delete(dup);
}

/* ---- a job's life through the control API ---- */

static const char lifecycle[] =
    "{'name': 'ctlgl', 'seed': 7,"
    " 'gitlab': {'jobs': [{'name': 'build', 'script': ['echo hi']}], " LONG_POLL ","
    "  'updateInterval': '1s', 'runnerToken': '" RUNNER_TOKEN "'}}";

static void test_job_lifecycle(void **state)
{
    start(state, lifecycle);
    cJSON *st = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    itest_assert_jstr(st, "gitlabUrl", F.gl.url);
    cJSON_Delete(st);

    cJSON *jobs = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs", NULL, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(jobs, "jobs")), 1);
    itest_assert_jstr(jobs, "jobs.0.name", "build");
    itest_assert_jstr(jobs, "jobs.0.state", "pending");
    assert_true(itest_jnum(jobs, "jobs.0.id") == 1);
    assert_true(itest_jnum(jobs, "jobs.0.trace_length") == 0);
    assert_null(itest_jget(jobs, "jobs.0.trace")); /* the list leaves traces out by default */
    cJSON_Delete(jobs);

    char tok[300];
    int64_t id = gltest_take_job(&F.gl, tok, sizeof tok);
    assert_int_equal(id, 1);
    cJSON *j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 200);
    itest_assert_jstr(j, "state", "running");
    itest_assert_jstr(j, "trace", "");
    cJSON_Delete(j);

    struct itest_resp r;
    trace_patch(id, tok, "0-12", "$ echo hi\nhi\n", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Job-Status", "running");
    itest_resp_release(&r);
    j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 200);
    itest_assert_jstr(j, "state", "running");
    itest_assert_jstr(j, "trace", "$ echo hi\nhi\n");
    assert_true(itest_jnum(j, "trace_length") == 13);
    assert_true(itest_jnum(j, "patches") == 1);
    assert_true(itest_jnum(j, "updates") == 0);
    cJSON_Delete(j);

    char body[512];
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\",\"exit_code\":0,"
             "\"output\":{\"checksum\":\"crc32:530a4a20\",\"bytesize\":13}}",
             tok);
    gltest_update_job(&F.gl, id, body, &r);
    itest_assert_code(&r, 200);
    itest_assert_header(&r, "Job-Status", "success");
    itest_resp_release(&r);

    j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1?trace=false", NULL, 200);
    itest_assert_jstr(j, "state", "success");
    itest_assert_jstr(j, "failure_reason", "");
    assert_true(itest_jnum(j, "exit_code") == 0);
    assert_true(itest_jnum(j, "updates") == 1);
    assert_null(itest_jget(j, "trace"));
    cJSON_Delete(j);
    jobs = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs?trace=true", NULL, 200);
    itest_assert_jstr(jobs, "jobs.0.trace", "$ echo hi\nhi\n");
    itest_assert_jstr(jobs, "jobs.0.state", "success");
    cJSON_Delete(jobs);

    /* the journal: the three GitLab requests with their server, endpoint and job */
    cJSON *e = journal_entry(1);
    assert_gl_entry(e, "POST", "jobs/request", 0, NULL, NULL, 201);
    cJSON_Delete(e);
    e = journal_entry(2);
    assert_gl_entry(e, "PATCH", "trace", 1, NULL, NULL, 202);
    itest_assert_jstr(e, "path", "/api/v4/jobs/1/trace");
    cJSON_Delete(e);
    e = journal_entry(3);
    assert_gl_entry(e, "PUT", "update", 1, NULL, NULL, 200);
    cJSON_Delete(e);

    /* errors: an unknown job, a bad id, a finished job, the wrong method or parameter */
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs/99", NULL, 404, "job 99 not found");
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs/x1", NULL, 404,
                "no such job \"x1\" (job ids are integers from 1)");
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs/0", NULL, 404,
                "no such job \"0\" (job ids are integers from 1)");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/1/cancel", NULL, 409,
                "job 1 already finished (success)");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/1/stop", NULL, 404,
                "no such job action \"stop\" (known: cancel)");
    ctlc_err_is(&F.api, "DELETE", "/v1/gitlab/jobs/1", NULL, 405,
                "method DELETE not allowed on /v1/gitlab/jobs/1 (allowed: GET)");
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs?traces=1", NULL, 400,
                "unknown query parameter \"traces\" (known: trace)");
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs/1?trace=maybe", NULL, 400,
                "query parameter \"trace\": expected true or false");
}

/* ---- rules on jobs/request: no job, a 503, a hang the client abandons, then the job ---- */

static const char request_rules[] =
    "{'name': 'ctlgl', 'seed': 7,"
    " 'gitlab': {'jobs': [{'name': 'build'}], " LONG_POLL ", 'runnerToken': '" RUNNER_TOKEN "'},"
    " 'rules': ["
    "  {'name': 'no-job', 'match': {'server': 'gitlab', 'endpoint': 'jobs/request'},"
    "   'trigger': {'first': 1}, 'fault': {'type': 'gitlab-no-job'}},"
    "  {'name': 'gl-503', 'match': {'server': 'gitlab', 'endpoint': 'jobs/request'},"
    "   'trigger': {'first': 1}, 'fault': {'type': 'status', 'code': 503,"
    "   'body': '{\\'message\\':\\'503 Service Unavailable\\'}', 'contentType': "
    "'application/json'}},"
    "  {'name': 'stuck', 'match': {'server': 'gitlab', 'endpoint': 'jobs/request'},"
    "   'trigger': {'first': 1}, 'fault': {'type': 'hang'}}]}";

static void test_request_rules(void **state)
{
    start(state, request_rules);
    struct itest_resp r;
    /* 1: no-job fires; the job stays pending */
    request_job(0, &r);
    itest_assert_code(&r, 204);
    itest_resp_release(&r);
    cJSON *j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 200);
    itest_assert_jstr(j, "state", "pending");
    cJSON_Delete(j);
    /* 2: no-job has had its one; gl-503 sees its first */
    request_job(0, &r);
    itest_assert_code(&r, 503);
    if (strcmp(r.body, "{\"message\":\"503 Service Unavailable\"}") != 0)
        fail_msg("503 body: %s", r.body);
    itest_resp_release(&r);
    /* 3: stuck never answers; the client gives up after 300 ms */
    int64_t t0 = itest_now_ms();
    request_job(300, &r);
    if (r.curl != CURLE_OPERATION_TIMEDOUT)
        fail_msg("hang: curl %s, code %ld", curl_easy_strerror(r.curl), r.code);
    assert_true(itest_now_ms() - t0 < ITEST_WAIT_MS);
    itest_resp_release(&r);
    /* 4: every rule has fired its once: the job */
    char tok[300];
    assert_int_equal(gltest_take_job(&F.gl, tok, sizeof tok), 1);

    cJSON *e = journal_entry(1);
    assert_gl_entry(e, "POST", "jobs/request", 0, "no-job", "gitlab-no-job", 204);
    itest_assert_jstr(e, "matched", "no-job(1)");
    cJSON_Delete(e);
    e = journal_entry(2);
    assert_gl_entry(e, "POST", "jobs/request", 0, "gl-503", "status", 503);
    itest_assert_jstr(e, "matched", "no-job(2),gl-503(1)");
    cJSON_Delete(e);
    /* the abandoned request ends incomplete once the server notices the close: wait for it */
    int64_t until = itest_now_ms() + ITEST_WAIT_MS;
    for (;;) {
        e = journal_entry(3);
        if (!itest_jget(e, "open"))
            break;
        cJSON_Delete(e);
        if (itest_now_ms() > until)
            fail_msg("the hung request's journal entry is still open");
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    assert_gl_entry(e, "POST", "jobs/request", 0, "stuck", "hang", 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "complete")));
    cJSON_Delete(e);
    e = journal_entry(4);
    assert_gl_entry(e, "POST", "jobs/request", 0, NULL, NULL, 201);
    cJSON_Delete(e);

    cJSON *rules = ctlc_ok(&F.api, "GET", "/v1/rules/stuck", NULL, 200);
    assert_true(itest_jnum(rules, "fired") == 1);
    cJSON_Delete(rules);
}

/* ---- refuse and blackhole on the fake GitLab's port ---- */

static const char listener_rules[] =
    "{'name': 'ctlgl', 'seed': 7,"
    " 'gitlab': {'jobs': [{'name': 'build'}], " LONG_POLL ", 'runnerToken': '" RUNNER_TOKEN "'},"
    " 'rules': ["
    "  {'name': 'gl-refused', 'enabled': false, 'match': {'server': 'gitlab'},"
    "   'fault': {'type': 'refuse'}},"
    "  {'name': 'gl-unreachable', 'enabled': false, 'match': {'server': 'gitlab'},"
    "   'fault': {'type': 'blackhole'}}]}";

/* While a GitLab listener rule is on, the fake GitLab's port refuses (or drops SYNs) and the
 * kube-apiserver's port serves on; switched off, the same port serves again. */
static void test_listener_rules(void **state)
{
    struct itest *t = start(state, listener_rules);
    struct itest_resp r;
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/gl-refused/enable", NULL, 200));
    cJSON *st = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    itest_assert_jstr(st, "gitlabListener", "refuse");
    itest_assert_jstr(st, "listener", "normal");
    cJSON_Delete(st);
    assert_int_equal(itest_try_connect(F.gl_port, 1000, NULL), ECONNREFUSED);
    request_job(1000, &r);
    if (r.curl != CURLE_COULDNT_CONNECT)
        fail_msg("refused: curl %s, code %ld", curl_easy_strerror(r.curl), r.code);
    itest_resp_release(&r);
    itest_must(t, "GET", "/version", NULL, NULL, 200); /* the kube port is not touched */
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/gl-refused/disable", NULL, 200));
    assert_int_equal(itest_try_connect(F.gl_port, 1000, NULL), 0);

    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/gl-unreachable/enable", NULL, 200));
    st = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    itest_assert_jstr(st, "gitlabListener", "blackhole");
    cJSON_Delete(st);
    for (int i = 0; i < 2; i++) /* every try, not only the first */
        assert_int_equal(itest_try_connect(F.gl_port, 500, NULL), ETIMEDOUT);
    request_job(500, &r);
    if (r.curl != CURLE_OPERATION_TIMEDOUT)
        fail_msg("black hole: curl %s, code %ld", curl_easy_strerror(r.curl), r.code);
    itest_resp_release(&r);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/gl-unreachable/disable", NULL, 200));

    char tok[300];
    assert_int_equal(gltest_take_job(&F.gl, tok, sizeof tok), 1); /* served again, same port */
}

/* A GitLab listener rule on from the start: the fake GitLab is made after engine_start(), and its
 * port is refused from the moment it exists. */
static const char refused_from_start[] =
    "{'name': 'ctlgl', 'seed': 7,"
    " 'gitlab': {'jobs': [{'name': 'build'}], " LONG_POLL ", 'runnerToken': '" RUNNER_TOKEN "'},"
    " 'rules': [{'name': 'gl-down', 'match': {'server': 'gitlab'}, 'fault': {'type': 'refuse'}}]}";

static void test_listener_rule_on_at_start(void **state)
{
    struct itest *t = start(state, refused_from_start);
    assert_int_equal(itest_try_connect(F.gl_port, 1000, NULL), ECONNREFUSED);
    itest_must(t, "GET", "/version", NULL, NULL, 200);
    cJSON_Delete(ctlc_ok(&F.api, "POST", "/v1/rules/gl-down/disable", NULL, 200));
    char tok[300];
    assert_int_equal(gltest_take_job(&F.gl, tok, sizeof tok), 1);
}

/* ---- rules on trace: a 403 once, then gitlab-cancel ---- */

static const char trace_rules[] =
    "{'name': 'ctlgl', 'seed': 7,"
    " 'gitlab': {'jobs': [{'name': 'build'}], " LONG_POLL ", 'runnerToken': '" RUNNER_TOKEN "'},"
    " 'rules': ["
    "  {'name': 'trace-rejected', 'match': {'server': 'gitlab', 'endpoint': 'trace'},"
    "   'trigger': {'first': 1}, 'fault': {'type': 'status', 'code': 403,"
    "   'body': '{\\'message\\':\\'403 Forbidden\\'}', 'contentType': 'application/json'}},"
    "  {'name': 'cancel', 'match': {'server': 'gitlab', 'endpoint': 'trace', 'job': 1},"
    "   'trigger': {'nth': 1}, 'fault': {'type': 'gitlab-cancel'}}]}";

static void test_trace_rules(void **state)
{
    start(state, trace_rules);
    char tok[300];
    int64_t id = gltest_take_job(&F.gl, tok, sizeof tok);
    struct itest_resp r;
    trace_patch(id, tok, "0-2", "abc", &r);
    itest_assert_code(&r, 403);
    if (strcmp(r.body, "{\"message\":\"403 Forbidden\"}") != 0)
        fail_msg("403 body: %s", r.body);
    itest_resp_release(&r);
    cJSON *j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 200);
    itest_assert_jstr(j, "state", "running");
    assert_true(itest_jnum(j, "trace_length") == 0); /* the rejected patch never reached the job */
    cJSON_Delete(j);

    /* the resend: the cancel rule cancels job 1, then the patch is served */
    trace_patch(id, tok, "0-2", "abc", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Job-Status", "canceling");
    itest_resp_release(&r);
    j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 200);
    itest_assert_jstr(j, "state", "canceling");
    itest_assert_jstr(j, "trace", "abc");
    cJSON_Delete(j);

    /* the runner's final update ends it canceled */
    char body[512];
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"failed\",\"failure_reason\":\"script_failure\","
             "\"output\":{\"checksum\":\"crc32:352441c2\",\"bytesize\":3}}",
             tok);
    gltest_update_job(&F.gl, id, body, &r);
    itest_assert_code(&r, 200);
    itest_assert_header(&r, "Job-Status", "canceled");
    itest_resp_release(&r);
    j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 200);
    itest_assert_jstr(j, "state", "canceled");
    cJSON_Delete(j);

    cJSON *e = journal_entry(2);
    assert_gl_entry(e, "PATCH", "trace", 1, "trace-rejected", "status", 403);
    cJSON_Delete(e);
    e = journal_entry(3);
    assert_gl_entry(e, "PATCH", "trace", 1, "cancel", "gitlab-cancel", 202);
    cJSON_Delete(e);
    e = journal_entry(4);
    assert_gl_entry(e, "PUT", "update", 1, NULL, NULL, 200);
    cJSON_Delete(e);
}

/* ---- cancel and queue through the control API ---- */

static const char empty_queue[] = "{'name': 'ctlgl', 'seed': 7,"
                                  " 'gitlab': {'jobs': [{'name': 'build'}], 'longPoll': '3s', "
                                  "'runnerToken': '" RUNNER_TOKEN "'}}";

static void test_control_cancel(void **state)
{
    start(state, empty_queue);
    char tok[300];
    int64_t id = gltest_take_job(&F.gl, tok, sizeof tok);
    cJSON *j = ctlc_ok(&F.api, "POST", "/v1/gitlab/jobs/1/cancel", NULL, 200);
    itest_assert_jstr(j, "state", "canceling");
    assert_null(itest_jget(j, "trace"));
    cJSON_Delete(j);
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/1/cancel", NULL, 409,
                "job 1 is already canceling");

    struct itest_resp r;
    trace_patch(id, tok, "0-2", "abc", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Job-Status", "canceling");
    itest_resp_release(&r);

    /* a pending job is canceled at once and never handed out */
    j = ctlc_ok(&F.api, "POST", "/v1/gitlab/jobs", "{\"name\": \"later\"}", 201);
    assert_true(itest_jnum(j, "id") == 2);
    itest_assert_jstr(j, "state", "pending");
    cJSON_Delete(j);
    j = ctlc_ok(&F.api, "POST", "/v1/gitlab/jobs/2/cancel", "{}", 200);
    itest_assert_jstr(j, "state", "canceled");
    cJSON_Delete(j);
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/2/cancel", NULL, 409,
                "job 2 already finished (canceled)");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/9/cancel", NULL, 404, "job 9 not found");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/1/cancel", "{\"now\": true}", 400,
                "unknown key \"now\" (known: none)");
    request_job(200, &r); /* nothing pending: the long poll ends with 204 (client bound 200 ms) */
    assert_true(r.curl == CURLE_OPERATION_TIMEDOUT || r.code == 204);
    itest_resp_release(&r);
}

/* The runner polling in another thread; static, so a failed test's thread never writes into a
 * dead stack frame. */
static struct {
    struct itest_resp r;
    int64_t ms; /* how long the held request took */
} W;

/* One 204 for the current X-GitLab-Last-Update, then a request that the long poll holds. */
static void *wait_for_job(void *arg)
{
    (void)arg;
    char last[64] = "";
    request_job(0, &W.r);
    if (W.r.code == 204)
        itest_resp_header(&W.r, "X-GitLab-Last-Update", last, sizeof last);
    itest_resp_release(&W.r);
    int64_t t0 = itest_now_ms();
    gltest_request_job(&F.gl, RUNNER_TOKEN, last, 0, &W.r);
    W.ms = itest_now_ms() - t0;
    return NULL;
}

/* Wait (bounded) until the journal holds an open jobs/request: the long poll is held. */
static void wait_held(uint64_t seq)
{
    int64_t until = itest_now_ms() + ITEST_WAIT_MS;
    for (;;) {
        char path[64];
        snprintf(path, sizeof path, "/v1/journal?since=%llu", (unsigned long long)(seq - 1));
        cJSON *j = ctlc_ok(&F.api, "GET", path, NULL, 200);
        int held = itest_jget(j, "entries.0.open") != NULL;
        cJSON_Delete(j);
        if (held)
            return;
        if (itest_now_ms() > until)
            fail_msg("jobs/request %llu never held", (unsigned long long)seq);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void test_control_queue(void **state)
{
    start(state, empty_queue);
    char tok[300];
    assert_int_equal(gltest_take_job(&F.gl, tok, sizeof tok), 1); /* the scenario's one job */

    /* a runner waits in the long poll (3 s); a job queued now answers it at once */
    memset(&W, 0, sizeof W);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_for_job, NULL), 0);
    wait_held(3);
    cJSON *j = ctlc_ok(&F.api, "POST", "/v1/gitlab/jobs",
                       "{\"name\": \"queued\", \"id\": 7, \"script\": [\"make test\"], "
                       "\"timeout\": \"90s\", \"variables\": {\"FOO\": \"bar\"}}",
                       201);
    assert_true(itest_jnum(j, "id") == 7);
    itest_assert_jstr(j, "name", "queued");
    itest_assert_jstr(j, "state", "pending");
    cJSON_Delete(j);
    pthread_join(th, NULL);
    if (W.r.curl != CURLE_OK || W.r.code != 201) {
        long code = W.r.code;
        itest_resp_release(&W.r);
        fail_msg("held jobs/request: %ld", code);
    }
    assert_true(W.ms < 3000);
    cJSON *job = cJSON_Parse(W.r.body);
    itest_resp_release(&W.r);
    assert_non_null(job);
    assert_true(itest_jnum(job, "id") == 7);
    itest_assert_jstr(job, "job_info.name", "queued");
    assert_true(itest_jnum(job, "runner_info.timeout") == 90);
    cJSON_Delete(job);
    j = ctlc_ok(&F.api, "GET", "/v1/gitlab/jobs/7", NULL, 200);
    itest_assert_jstr(j, "state", "running");
    cJSON_Delete(j);

    /* the scenario's validation, every message; the queue's own refusals */
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs", "{\"timeout\": \"1ms\", \"bogus\": 1}", 400,
                "job: unknown key \"bogus\" (accepted: id, token, name, stage, projectId, "
                "projectName, repoUrl, ref, sha, beforeSha, image, services, variables, script, "
                "afterScript, steps, timeout, credentials, extra)");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs", "{\"timeout\": \"1ms\"}", 400,
                "job: timeout: expected a duration from 1s to 720h");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs", "[1]", 400,
                "job: expected an object, got array");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs", NULL, 400,
                "job: missing JSON body (expected one job: name, image, script, ...)");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs", "{\"id\": 7}", 409,
                "cannot queue the job: id 7 is taken by another job");
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs?wait=1", "{}", 400,
                "unknown query parameter \"wait\" (known: none)");
    ctlc_err_is(&F.api, "PUT", "/v1/gitlab/jobs", "{}", 405,
                "method PUT not allowed on /v1/gitlab/jobs (allowed: GET, POST)");
}

/* ---- a run without a fake GitLab ---- */

static void test_no_gitlab(void **state)
{
    start(state, "{'name': 'plain', 'seed': 1}");
    static const char msg[] = "no fake GitLab in this run: the scenario has no gitlab section "
                              "(kubefault serve --gitlab)";
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs", NULL, 404, msg);
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs", "{\"name\": \"x\"}", 404, msg);
    ctlc_err_is(&F.api, "GET", "/v1/gitlab/jobs/1", NULL, 404, msg);
    ctlc_err_is(&F.api, "POST", "/v1/gitlab/jobs/1/cancel", NULL, 404, msg);
    cJSON *st = ctlc_ok(&F.api, "GET", "/v1/status", NULL, 200);
    assert_null(itest_jget(st, "gitlabUrl"));
    cJSON_Delete(st);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_job_lifecycle, teardown),
        cmocka_unit_test_teardown(test_request_rules, teardown),
        cmocka_unit_test_teardown(test_listener_rules, teardown),
        cmocka_unit_test_teardown(test_listener_rule_on_at_start, teardown),
        cmocka_unit_test_teardown(test_trace_rules, teardown),
        cmocka_unit_test_teardown(test_control_cancel, teardown),
        cmocka_unit_test_teardown(test_control_queue, teardown),
        cmocka_unit_test_teardown(test_no_gitlab, teardown),
    };
    itest_filter_from_env();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
