/* test_it_gitlab.c -- the fake GitLab job API over real loopback sockets with libcurl: jobs/request
 * (204, long polling, 201 payload, 403), trace PATCH (append, 416, resend, cancel), job PUT
 * (success, failed, 412, not running), runners/verify, 404, hooks, and TLS with the CA.
 *
 * The GitLab server runs on the itest server thread's event loop (made and freed there through
 * itest_run), so it shares that thread with the kube server the harness starts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gltest.h"
#include "itest.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/http/conn.h"

#define LONG_POLL_MS 300 /* a short long poll: tests wait for it in full */

/* One fake GitLab per test (tests run one after another). */
static struct gltest G;

static struct itest *gl_start(void **state, const struct gitlab_server_opts *o)
{
    struct gitlab_server_opts go = *o;
    if (!go.long_poll_ms)
        go.long_poll_ms = LONG_POLL_MS;
    struct itest *t = gltest_start(state, &G, NULL, &go);
    /* one request to the Kubernetes side first: a client's first request pays for loading and
     * first use of libcurl and OpenSSL, which under valgrind takes longer than a long poll, and
     * the tests below tell "answered at once" from "held" by the time a request takes */
    long code = 0;
    cJSON_Delete(itest_json(t, "GET", "/version", NULL, &code));
    assert_int_equal(code, 200);
    return t;
}

static int gl_teardown(void **state)
{
    return gltest_teardown(state, &G);
}

/* ---- requests ---- */

static void trace_patch(int64_t id, const char *tok, const char *range, const char *data,
                        struct itest_resp *out)
{
    char path[64], th[320], rh[128];
    snprintf(path, sizeof path, "jobs/%lld/trace?debug_trace=false", (long long)id);
    snprintf(th, sizeof th, "JOB-TOKEN: %s", tok);
    snprintf(rh, sizeof rh, "Content-Range: %s", range ? range : "");
    struct gltest_req r = {.method = "PATCH",
                           .path = path,
                           .body = data,
                           .ct = "text/plain",
                           .h1 = th,
                           .h2 = range ? rh : NULL};
    gltest_do(&G, &r, out);
}

/* jobs/request with the runner token and no last_update must answer code. */
static void request_answers(long code)
{
    struct itest_resp r;
    gltest_request_job(&G, NULL, "", 0, &r);
    itest_assert_code(&r, code);
    itest_resp_release(&r);
}

/* jobs/request on an empty queue answers 204 at once: its X-GitLab-Last-Update into lu. */
static void empty_queue_last_update(char *lu, size_t len)
{
    struct itest_resp r;
    gltest_request_job(&G, NULL, "", 0, &r);
    itest_assert_code(&r, 204);
    assert_non_null(itest_resp_header(&r, "X-GitLab-Last-Update", lu, len));
    itest_resp_release(&r);
}

/* A trace PATCH (as trace_patch) that must answer code. */
static void patch_answers(int64_t id, const char *tok, const char *range, const char *data,
                          long code)
{
    struct itest_resp r;
    trace_patch(id, tok, range, data, &r);
    itest_assert_code(&r, code);
    itest_resp_release(&r);
}

/* A job update (PUT jobs/<id> with body) that must answer code. */
static void update_answers(int64_t id, const char *body, long code)
{
    struct itest_resp r;
    gltest_update_job(&G, id, body, &r);
    itest_assert_code(&r, code);
    itest_resp_release(&r);
}

/* Add a job (spec NULL: defaults) and take it: returns its id; its token in tok. */
static int64_t take_job(const char *spec, char *tok, size_t toklen)
{
    int64_t id = gltest_add_job(&G, spec);
    if (gltest_take_job(&G, tok, toklen) != id)
        fail_msg("not job %lld", (long long)id);
    return id;
}

/* ---- jobs/request ---- */

static void test_request_no_job(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    gl_start(state, &o);
    struct itest_resp r;
    /* without last_update (the runner's first request): 204 at once, with the queue's value */
    int64_t t0 = itest_now_ms();
    gltest_request_job(&G, NULL, "", 0, &r);
    itest_assert_code(&r, 204);
    assert_true(itest_now_ms() - t0 < LONG_POLL_MS);
    char lu[64];
    assert_non_null(itest_resp_header(&r, "X-GitLab-Last-Update", lu, sizeof lu));
    assert_int_equal(r.len, 0);
    itest_resp_release(&r);
    /* with the current last_update: held for the long poll, then 204 */
    t0 = itest_now_ms();
    gltest_request_job(&G, NULL, lu, 0, &r);
    int64_t took = itest_now_ms() - t0;
    itest_assert_code(&r, 204);
    itest_assert_header(&r, "X-GitLab-Last-Update", lu);
    if (took < LONG_POLL_MS - 20 || took > LONG_POLL_MS + 5000)
        fail_msg("held %lld ms, want about %d", (long long)took, LONG_POLL_MS);
    itest_resp_release(&r);
    /* a stale last_update is answered at once */
    t0 = itest_now_ms();
    gltest_request_job(&G, NULL, "stale", 0, &r);
    itest_assert_code(&r, 204);
    assert_true(itest_now_ms() - t0 < LONG_POLL_MS);
    itest_resp_release(&r);
}

struct bg_request {
    pthread_t th;
    char last_update[64];
    struct itest_resp r;
};

static void *bg_request_main(void *arg)
{
    struct bg_request *b = arg;
    /* no cmocka assertions on this thread: the result is checked after the join */
    char body[512];
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"last_update\":\"%s\"}", G.token,
             b->last_update);
    struct gltest_req r = {.method = "POST", .path = "jobs/request", .body = body};
    gltest_do(&G, &r, &b->r);
    return NULL;
}

static void test_long_poll_answered_by_new_job(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .long_poll_ms = 4000};
    gl_start(state, &o);
    struct bg_request b = {0};
    empty_queue_last_update(b.last_update, sizeof b.last_update);
    int64_t t0 = itest_now_ms();
    assert_int_equal(pthread_create(&b.th, NULL, bg_request_main, &b), 0);
    usleep(200 * 1000); /* let the request be held */
    int64_t id = gltest_add_job(&G, "{\"name\":\"late\"}");
    pthread_join(b.th, NULL);
    int64_t took = itest_now_ms() - t0;
    itest_assert_code(&b.r, 201);
    if (took >= 3000)
        fail_msg("answered after %lld ms: not woken by the new job", (long long)took);
    char lu[64];
    assert_non_null(itest_resp_header(&b.r, "X-GitLab-Last-Update", lu, sizeof lu));
    assert_string_not_equal(lu, b.last_update); /* the queue changed */
    cJSON *p = cJSON_Parse(b.r.body);
    itest_resp_release(&b.r);
    assert_non_null(p);
    assert_true(cJSON_GetObjectItemCaseSensitive(p, "id")->valuedouble == (double)id);
    assert_string_equal(itest_jstr(p, "job_info.name"), "late");
    cJSON_Delete(p);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_RUNNING);
}

static void test_long_poll_client_gone(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .long_poll_ms = 4000};
    gl_start(state, &o);
    struct itest_resp r;
    struct bg_request b = {0};
    empty_queue_last_update(b.last_update, sizeof b.last_update);
    /* the client gives up while held: the server forgets it */
    gltest_request_job(&G, NULL, b.last_update, 150, &r);
    assert_int_equal(r.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&r);
    usleep(50 * 1000);
    /* a new job goes to the next request, not to the vanished one */
    int64_t id = gltest_add_job(&G, NULL);
    request_answers(201);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_RUNNING);
    /* freeing the server ends a request it still holds */
    empty_queue_last_update(b.last_update, sizeof b.last_update);
    assert_int_equal(pthread_create(&b.th, NULL, bg_request_main, &b), 0);
    usleep(200 * 1000);
    gltest_free_server(&G);
    pthread_join(b.th, NULL);
    assert_int_not_equal(b.r.curl, CURLE_OK);
    assert_int_not_equal(b.r.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&b.r);
}

static void test_request_payload(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    gl_start(state, &o);
    int64_t id = gltest_add_job(&G, "{\"id\":42,\"token\":\"job-tok\",\"image\":\"alpine:3.20\","
                                    "\"script\":[\"echo hi\"],\"variables\":{\"FOO\":\"bar\"}}");
    assert_int_equal(id, 42);
    struct itest_resp r;
    gltest_request_job(&G, NULL, "", 0, &r);
    itest_assert_code(&r, 201);
    char ct[64];
    assert_non_null(itest_resp_header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/json");
    assert_non_null(itest_resp_header(&r, "X-GitLab-Last-Update", ct, sizeof ct));
    cJSON *p = cJSON_Parse(r.body);
    itest_resp_release(&r);
    assert_non_null(p);
    /* what the runner reads */
    assert_true(cJSON_GetObjectItemCaseSensitive(p, "id")->valuedouble == 42);
    assert_string_equal(itest_jstr(p, "token"), "job-tok");
    assert_string_equal(itest_jstr(p, "image.name"), "alpine:3.20");
    assert_string_equal(itest_jstr(p, "steps.0.name"), "script");
    assert_string_equal(itest_jstr(p, "steps.0.script.0"), "echo hi");
    assert_string_equal(itest_jstr(p, "git_info.ref"), "main");
    assert_non_null(itest_jget(p, "runner_info.timeout"));
    assert_non_null(itest_jget(p, "features.failure_reasons"));
    assert_non_null(itest_jget(p, "credentials"));
    cJSON_Delete(p);
    /* handed out once: the next request finds nothing */
    request_answers(204);
    /* the token may also come as a RUNNER-TOKEN header */
    gltest_add_job(&G, NULL);
    char h[320];
    snprintf(h, sizeof h, "RUNNER-TOKEN: %s", G.token);
    struct gltest_req q = {.method = "POST", .path = "jobs/request", .h1 = h};
    gltest_do(&G, &q, &r);
    itest_assert_code(&r, 201);
    itest_resp_release(&r);
}

static void test_request_bad_token(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    gl_start(state, &o);
    assert_int_equal(strncmp(G.token, "glrt-", 5), 0);
    gltest_add_job(&G, NULL);
    struct itest_resp r;
    gltest_request_job(&G, "glrt-wrong", "", 0, &r);
    itest_assert_code(&r, 403);
    itest_assert_body(&r, "{\"message\":\"403 Forbidden\"}");
    itest_assert_header(&r, "Content-Type", "application/json");
    itest_resp_release(&r);
    struct gltest_req q = {.method = "POST", .path = "jobs/request", .body = "{}"};
    gltest_do(&G, &q, &r);
    itest_assert_code(&r, 403);
    itest_resp_release(&r);
    struct gltest_req nj = {.method = "POST", .path = "jobs/request", .body = "not json"};
    gltest_do(&G, &nj, &r);
    itest_assert_code(&r, 400);
    itest_resp_release(&r);
    /* the job was not handed out */
    struct gltest_job j;
    gltest_job_get(&G, 1, &j);
    assert_int_equal(j.state, GITLAB_JOB_PENDING);
}

/* ---- trace ---- */

static void test_trace_append_range_resend(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .update_interval_s = 7};
    gl_start(state, &o);
    char tok[300];
    int64_t id = take_job(NULL, tok, sizeof tok);
    struct itest_resp r;
    trace_patch(id, tok, "0-5", "hello ", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Job-Status", "running");
    itest_assert_header(&r, "Range", "0-6");
    itest_assert_header(&r, "X-GitLab-Trace-Update-Interval", "7");
    itest_resp_release(&r);
    trace_patch(id, tok, "6-10", "world", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Range", "0-11");
    itest_resp_release(&r);
    /* a gap: 416 with the length GitLab has */
    trace_patch(id, tok, "20-22", "xyz", &r);
    itest_assert_code(&r, 416);
    itest_assert_header(&r, "Range", "0-11");
    itest_assert_body(&r, "{\"error\":\"416 Range Not Satisfiable\"}");
    itest_resp_release(&r);
    /* an overlapping resend is not appended either (GitLab appends only at the end) */
    trace_patch(id, tok, "6-10", "world", &r);
    itest_assert_code(&r, 416);
    itest_assert_header(&r, "Range", "0-11");
    itest_resp_release(&r);
    /* the runner then continues from 11 */
    patch_answers(id, tok, "11-11", "\n", 202);
    /* missing and malformed Content-Range */
    trace_patch(id, tok, NULL, "x", &r);
    itest_assert_code(&r, 400);
    itest_assert_body(&r, "{\"error\":\"400 Missing header Content-Range\"}");
    itest_resp_release(&r);
    patch_answers(id, tok, "bytes 12-13", "xy", 400);
    /* wrong token, unknown job: 403 (never 404) */
    trace_patch(id, "nope", "12-12", "x", &r);
    itest_assert_code(&r, 403);
    itest_assert_body(&r, "{\"message\":\"403 Forbidden\"}");
    itest_resp_release(&r);
    patch_answers(999, tok, "0-0", "x", 403);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_string_equal(j.trace, "hello world\n");
    assert_int_equal(j.patches, 3);
    assert_int_equal(j.range_errors, 2);
}

static void test_trace_size_cap(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .max_trace_bytes = 8};
    gl_start(state, &o);
    char tok[300];
    int64_t id = take_job(NULL, tok, sizeof tok);
    struct itest_resp r;
    /* an empty first patch stores nothing (the runner skips them; curl does not) */
    trace_patch(id, tok, "0-0", "", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Range", "0-0");
    itest_resp_release(&r);
    patch_answers(id, tok, "0-5", "123456", 202);
    patch_answers(id, tok, "6-8", "789", 403);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_FAILED);
    assert_string_equal(j.reason, "trace_size_exceeded");
    assert_int_equal(j.trace_len, 6);
    /* the job is over: further patches are refused with its state */
    trace_patch(id, tok, "6-6", "7", &r);
    itest_assert_code(&r, 403);
    itest_assert_header(&r, "Job-Status", "failed");
    itest_assert_body(&r, "{\"message\":\"403 Forbidden - Job is not running\"}");
    itest_resp_release(&r);
}

static void test_cancel(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    gl_start(state, &o);
    char tok[300];
    int64_t id = take_job(NULL, tok, sizeof tok);
    assert_int_equal(gltest_job_cancel(&G, id), 0);
    struct itest_resp r;
    trace_patch(id, tok, "0-2", "abc", &r);
    itest_assert_code(&r, 202);
    itest_assert_header(&r, "Job-Status", "canceling");
    itest_resp_release(&r);
    /* the runner's final update: the job ends canceled */
    update_answers(id,
                   "{\"token\":\"x\",\"state\":\"failed\",\"failure_reason\":\"script_failure\"}",
                   403); /* wrong token first */
    char body[512];
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"failed\",\"failure_reason\":\"script_failure\","
             "\"output\":{\"checksum\":\"crc32:352441c2\",\"bytesize\":3}}",
             tok);
    gltest_update_job(&G, id, body, &r);
    itest_assert_code(&r, 200);
    itest_assert_header(&r, "Job-Status", "canceled");
    itest_resp_release(&r);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_CANCELED);
    /* a pending job is canceled at once and never handed out; a finished one cannot be */
    int64_t id2 = gltest_add_job(&G, NULL);
    assert_int_equal(gltest_job_cancel(&G, id2), 0);
    gltest_job_get(&G, id2, &j);
    assert_int_equal(j.state, GITLAB_JOB_CANCELED);
    request_answers(204);
    assert_int_equal(gltest_job_cancel(&G, id2), -1);
}

/* ---- job update ---- */

static void test_update_success_failed(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    gl_start(state, &o);
    char tok[300], body[512];
    int64_t id = take_job(NULL, tok, sizeof tok);
    struct itest_resp r;
    patch_answers(id, tok, "0-8", "123456789", 202);
    /* keep-alive */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"state\":\"running\",\"checksum\":\"crc32:1\"}",
             tok);
    gltest_update_job(&G, id, body, &r);
    itest_assert_code(&r, 200);
    itest_assert_body(&r, "200");
    itest_assert_header(&r, "Job-Status", "running");
    itest_resp_release(&r);
    /* an unknown state */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"state\":\"exploded\"}", tok);
    update_answers(id, body, 400);
    /* missing token, bad field */
    gltest_update_job(&G, id, "{\"state\":\"success\"}", &r);
    itest_assert_code(&r, 400);
    itest_assert_body(&r, "{\"error\":\"token is missing\"}");
    itest_resp_release(&r);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"exit_code\":\"x\"}", tok);
    update_answers(id, body, 400);
    /* success with the right checksum (older runners' unpadded "%x" form, still accepted) */
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\",\"exit_code\":0,"
             "\"output\":{\"checksum\":\"crc32:cbf43926\",\"bytesize\":9}}",
             tok);
    gltest_update_job(&G, id, body, &r);
    itest_assert_code(&r, 200);
    itest_assert_header(&r, "Job-Status", "success");
    itest_resp_release(&r);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_SUCCESS);
    assert_int_equal(j.crc, 0xcbf43926u);
    /* running, exploded and success carried the right token; the two 400s before it did not */
    assert_int_equal(j.updates, 3);
    /* a finished job refuses updates */
    gltest_update_job(&G, id, body, &r);
    itest_assert_code(&r, 403);
    itest_assert_header(&r, "Job-Status", "success");
    itest_resp_release(&r);

    /* failed with reason and exit code, no trace at all */
    id = take_job(NULL, tok, sizeof tok);
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"failed\",\"failure_reason\":\"script_failure\","
             "\"exit_code\":3,\"output\":{\"checksum\":\"crc32:0\",\"bytesize\":0}}",
             tok);
    update_answers(id, body, 200);
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_FAILED);
    assert_string_equal(j.reason, "script_failure");
    assert_true(j.has_exit_code && j.exit_code == 3);
}

static void test_update_checksum_strict_412(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .strict_checksum = 1};
    gl_start(state, &o);
    char tok[300], body[512];
    int64_t id = take_job(NULL, tok, sizeof tok);
    struct itest_resp r;
    patch_answers(id, tok, "0-3", "1234", 202);
    /* the runner says it sent 9 bytes: strict_checksum answers 412 and the runner rewinds */
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\","
             "\"output\":{\"checksum\":\"crc32:cbf43926\",\"bytesize\":9}}",
             tok);
    gltest_update_job(&G, id, body, &r);
    itest_assert_code(&r, 412);
    assert_non_null(strstr(r.body, "412 Precondition Failed"));
    itest_resp_release(&r);
    struct gltest_job j;
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_RUNNING);
    assert_int_equal(j.checksum_failures, 1);
    /* the rewind: resending from 0 meets 416 with the real length, then the rest goes on */
    trace_patch(id, tok, "0-8", "123456789", &r);
    itest_assert_code(&r, 416);
    itest_assert_header(&r, "Range", "0-4");
    itest_resp_release(&r);
    patch_answers(id, tok, "4-8", "56789", 202);
    update_answers(id, body, 200);
    gltest_job_get(&G, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_SUCCESS);
}

static void test_update_checksum_as_gitlab(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    gl_start(state, &o);
    char tok[300], body[512];
    int64_t id = take_job(NULL, tok, sizeof tok);
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\","
             "\"output\":{\"checksum\":\"crc32:cbf43926\",\"bytesize\":9}}",
             tok);
    update_answers(id, body, 200);
}

/* ---- verify, 404, hooks, TLS ---- */

static void test_verify_and_404(void **state)
{
    struct gitlab_server_opts o = {
        .plain_http = 1, .runner_id = 12, .runner_token = "glrt-fixedtoken"};
    gl_start(state, &o);
    assert_string_equal(G.token, "glrt-fixedtoken");
    struct itest_resp r;
    struct gltest_req q = {.method = "POST",
                           .path = "runners/verify",
                           .body = "{\"token\":\"glrt-fixedtoken\",\"system_id\":\"s_0\"}"};
    gltest_do(&G, &q, &r);
    itest_assert_code(&r, 200);
    itest_assert_header(&r, "Content-Type", "application/json");
    itest_assert_body(&r, "{\"id\":12,\"token\":\"glrt-fixedtoken\",\"token_expires_at\":null}");
    itest_resp_release(&r);
    q.body = "{\"token\":\"glrt-other\"}";
    gltest_do(&G, &q, &r);
    itest_assert_code(&r, 403);
    itest_resp_release(&r);
    struct gltest_req nf = {.method = "GET", .path = "projects"};
    gltest_do(&G, &nf, &r);
    itest_assert_code(&r, 404);
    itest_assert_header(&r, "Content-Type", "application/json");
    itest_assert_body(&r, "{\"error\":\"404 Not Found\"}");
    itest_resp_release(&r);
    struct gltest_req wm = {.method = "GET", .path = "jobs/request"};
    gltest_do(&G, &wm, &r);
    itest_assert_code(&r, 404);
    itest_resp_release(&r);
}

static atomic_int hook_requests, hook_responses, hook_last_ep;

static enum hook_verdict on_hook_request(void *arg, struct conn *c, struct http_request *req,
                                         const struct glproto_route *route)
{
    (void)arg;
    (void)req;
    atomic_fetch_add(&hook_requests, 1);
    atomic_store(&hook_last_ep, (int)route->ep);
    if (route->ep == GLPROTO_EP_VERIFY) { /* a fault: GitLab unavailable */
        const char *body = "{\"message\":\"503 Service Unavailable\"}";
        conn_respond(c, HTTP_SERVUNAVAIL, "application/json", NULL, body, strlen(body));
        return HOOK_HANDLED;
    }
    return HOOK_PASS;
}

static void on_hook_response(void *arg, struct conn *c, const struct http_request *req, int code,
                             uint64_t bytes, int complete)
{
    (void)arg;
    (void)c;
    (void)req;
    (void)bytes;
    if (complete && code > 0)
        atomic_fetch_add(&hook_responses, 1);
}

static void test_hooks(void **state)
{
    static const struct gitlab_hooks hooks = {.on_request = on_hook_request,
                                              .on_response = on_hook_response};
    atomic_store(&hook_requests, 0);
    atomic_store(&hook_responses, 0);
    struct gitlab_server_opts o = {.plain_http = 1, .hooks = &hooks};
    gl_start(state, &o);
    struct itest_resp r;
    struct gltest_req q = {.method = "POST", .path = "runners/verify", .body = "{}"};
    gltest_do(&G, &q, &r);
    itest_assert_code(&r, 503);
    itest_resp_release(&r);
    assert_int_equal(atomic_load(&hook_last_ep), GLPROTO_EP_VERIFY);
    request_answers(204);
    assert_int_equal(atomic_load(&hook_last_ep), GLPROTO_EP_JOB_REQUEST);
    assert_int_equal(atomic_load(&hook_requests), 2);
    /* on_response runs once the answer is written; the client may see it a little earlier */
    int64_t t0 = itest_now_ms();
    while (atomic_load(&hook_responses) < 2 && itest_now_ms() - t0 < ITEST_WAIT_MS)
        usleep(5000);
    assert_int_equal(atomic_load(&hook_responses), 2);
}

static void test_tls(void **state)
{
    struct gitlab_server_opts o = {0};
    gl_start(state, &o);
    assert_int_equal(strncmp(G.url, "https://127.0.0.1:", 18), 0);
    assert_true(G.ca_file[0] != '\0');
    char tok[300];
    int64_t id = take_job("{\"name\":\"tls\"}", tok, sizeof tok);
    struct itest_resp r;
    patch_answers(id, tok, "0-1", "ok", 202);
    /* without the CA, curl refuses the certificate */
    char ca[64];
    snprintf(ca, sizeof ca, "%s", G.ca_file);
    G.ca_file[0] = '\0';
    struct gltest_req q = {.method = "POST", .path = "runners/verify", .body = "{}"};
    gltest_do(&G, &q, &r);
    snprintf(G.ca_file, sizeof G.ca_file, "%s", ca);
    if (r.curl == CURLE_OK)
        fail_msg("TLS without the CA succeeded (%ld)", r.code);
    itest_resp_release(&r);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_request_no_job, gl_teardown),
        cmocka_unit_test_teardown(test_long_poll_answered_by_new_job, gl_teardown),
        cmocka_unit_test_teardown(test_long_poll_client_gone, gl_teardown),
        cmocka_unit_test_teardown(test_request_payload, gl_teardown),
        cmocka_unit_test_teardown(test_request_bad_token, gl_teardown),
        cmocka_unit_test_teardown(test_trace_append_range_resend, gl_teardown),
        cmocka_unit_test_teardown(test_trace_size_cap, gl_teardown),
        cmocka_unit_test_teardown(test_cancel, gl_teardown),
        cmocka_unit_test_teardown(test_update_success_failed, gl_teardown),
        cmocka_unit_test_teardown(test_update_checksum_strict_412, gl_teardown),
        cmocka_unit_test_teardown(test_update_checksum_as_gitlab, gl_teardown),
        cmocka_unit_test_teardown(test_verify_and_404, gl_teardown),
        cmocka_unit_test_teardown(test_hooks, gl_teardown),
        cmocka_unit_test_teardown(test_tls, gl_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
