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

#include "itest.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/http/conn.h"

#define LONG_POLL_MS 300 /* a short long poll: tests wait for it in full */

/* One GitLab server per test (tests run one after another). */
static struct {
    struct gitlab_server *gs;
    char url[128];
    char token[300];
    char ca_file[64];
} G;

struct make_args {
    struct gitlab_server_opts o;
    char err[256];
};

static void make_gl(void *arg, struct mockapi_server *s)
{
    struct make_args *a = arg;
    G.gs = gitlab_server_new(mockapi_server_base(s), &a->o, a->err, sizeof a->err);
    if (!G.gs)
        return;
    snprintf(G.url, sizeof G.url, "%s", gitlab_server_url(G.gs));
    snprintf(G.token, sizeof G.token, "%s", gitlab_server_runner_token(G.gs));
    const char *pem = gitlab_server_ca_pem(G.gs);
    if (pem) {
        snprintf(G.ca_file, sizeof G.ca_file, "/tmp/kf-gl-ca-XXXXXX");
        int fd = mkstemp(G.ca_file);
        if (fd >= 0) {
            ssize_t n = write(fd, pem, strlen(pem));
            (void)n;
            close(fd);
        }
    }
}

static void free_gl(void *arg, struct mockapi_server *s)
{
    (void)arg;
    (void)s;
    gitlab_server_free(G.gs);
    G.gs = NULL;
}

static struct itest *gl_start(void **state, const struct gitlab_server_opts *o)
{
    memset(&G, 0, sizeof G);
    struct itest_opts io = {0};
    struct itest *t = itest_start(state, &io);
    struct make_args a = {.o = *o};
    if (!a.o.long_poll_ms)
        a.o.long_poll_ms = LONG_POLL_MS;
    itest_run(t, make_gl, &a);
    if (!G.gs)
        fail_msg("gitlab_server_new: %s", a.err);
    return t;
}

static int gl_teardown(void **state)
{
    if (*state && G.gs)
        itest_run(*state, free_gl, NULL);
    if (G.ca_file[0])
        unlink(G.ca_file);
    G.ca_file[0] = '\0';
    return itest_teardown(state);
}

/* ---- requests ---- */

struct buf {
    char *data;
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;
    char *nd = realloc(b->data, b->len + add + 1);
    if (!nd)
        return 0;
    memcpy(nd + b->len, p, add);
    b->len += add;
    nd[b->len] = '\0';
    b->data = nd;
    return add;
}

struct glreq {
    const char *method;
    const char *path;    /* below /api/v4/ */
    const char *body;    /* NULL: none */
    size_t body_len;     /* 0: strlen(body) */
    const char *ct;      /* NULL: application/json with a body */
    const char *h1, *h2; /* extra "Name: value" lines */
    long timeout_ms;     /* 0: ITEST_WAIT_MS */
};

static void gl_do(const struct glreq *r, struct itest_resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    char url[512];
    snprintf(url, sizeof url, "%sapi/v4/%s", G.url, r->path);
    struct buf body = {0}, head = {0};
    struct curl_slist *hl = NULL;
    char ct[128];
    if (r->body) {
        snprintf(ct, sizeof ct, "Content-Type: %s", r->ct ? r->ct : "application/json");
        hl = curl_slist_append(hl, ct);
    }
    hl = curl_slist_append(hl, "Expect:");
    if (r->h1)
        hl = curl_slist_append(hl, r->h1);
    if (r->h2)
        hl = curl_slist_append(hl, r->h2);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
                         (long)(r->body_len ? r->body_len : strlen(r->body)));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &head);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : ITEST_WAIT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (G.ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, G.ca_file);
    out->curl = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->code);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    out->body = body.data ? body.data : calloc(1, 1);
    out->len = body.len;
    out->headers = head.data ? head.data : calloc(1, 1);
}

static void assert_code(const struct itest_resp *r, long code)
{
    if (r->curl != CURLE_OK)
        fail_msg("transfer failed: %s", curl_easy_strerror(r->curl));
    if (r->code != code)
        fail_msg("status %ld, want %ld: %.300s", r->code, code, r->body);
}

static void assert_header(const struct itest_resp *r, const char *name, const char *want)
{
    char buf[256];
    const char *v = itest_resp_header(r, name, buf, sizeof buf);
    if (!want) {
        if (v)
            fail_msg("header %s: \"%s\", want none", name, v);
        return;
    }
    if (!v || strcmp(v, want) != 0)
        fail_msg("header %s: \"%s\", want \"%s\"", name, v ? v : "(none)", want);
}

static void assert_body(const struct itest_resp *r, const char *want)
{
    if (strcmp(r->body, want) != 0)
        fail_msg("body %s, want %s", r->body, want);
}

/* POST jobs/request with the runner token (or tok) and last_update ("" for none). */
static void request_job(const char *tok, const char *last_update, long timeout_ms,
                        struct itest_resp *out)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"info\":{\"name\":\"gitlab-runner\",\"executor\":\"kubernetes\"},"
             "\"token\":\"%s\",\"last_update\":\"%s\"}",
             tok ? tok : G.token, last_update);
    struct glreq r = {
        .method = "POST", .path = "jobs/request", .body = body, .timeout_ms = timeout_ms};
    gl_do(&r, out);
}

static void trace_patch(int64_t id, const char *tok, const char *range, const char *data,
                        struct itest_resp *out)
{
    char path[64], th[320], rh[128];
    snprintf(path, sizeof path, "jobs/%lld/trace?debug_trace=false", (long long)id);
    snprintf(th, sizeof th, "JOB-TOKEN: %s", tok);
    snprintf(rh, sizeof rh, "Content-Range: %s", range ? range : "");
    struct glreq r = {.method = "PATCH",
                      .path = path,
                      .body = data,
                      .ct = "text/plain",
                      .h1 = th,
                      .h2 = range ? rh : NULL};
    gl_do(&r, out);
}

static void update_job(int64_t id, const char *body, struct itest_resp *out)
{
    char path[64];
    snprintf(path, sizeof path, "jobs/%lld", (long long)id);
    struct glreq r = {.method = "PUT", .path = path, .body = body};
    gl_do(&r, out);
}

/* ---- jobs on the server thread ---- */

struct add_args {
    const char *spec; /* JSON or NULL */
    int64_t id;
    char err[256];
};

static void add_job_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct add_args *a = arg;
    cJSON *spec = a->spec ? cJSON_Parse(a->spec) : NULL;
    a->id = gitlab_job_add(G.gs, spec, a->err, sizeof a->err);
    cJSON_Delete(spec);
}

static int64_t add_job(struct itest *t, const char *spec)
{
    struct add_args a = {.spec = spec};
    itest_run(t, add_job_fn, &a);
    if (a.id < 0)
        fail_msg("gitlab_job_add: %s", a.err);
    return a.id;
}

struct job_snapshot {
    int64_t id;
    int found;
    char token[300];
    enum gitlab_job_state state;
    char reason[128];
    int has_exit_code, exit_code;
    char trace[4096];
    size_t trace_len;
    uint32_t crc;
    unsigned patches, range_errors, updates, checksum_failures;
};

static void get_job_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct job_snapshot *j = arg;
    struct gitlab_job_info info;
    j->found = gitlab_job_get(G.gs, j->id, &info) == 0;
    if (!j->found)
        return;
    snprintf(j->token, sizeof j->token, "%s", info.token);
    j->state = info.state;
    snprintf(j->reason, sizeof j->reason, "%s", info.failure_reason);
    j->has_exit_code = info.has_exit_code;
    j->exit_code = info.exit_code;
    j->trace_len = info.trace_len;
    size_t n = info.trace_len < sizeof j->trace - 1 ? info.trace_len : sizeof j->trace - 1;
    if (n)
        memcpy(j->trace, info.trace, n);
    j->trace[n] = '\0';
    j->crc = info.trace_crc;
    j->patches = info.patches;
    j->range_errors = info.range_errors;
    j->updates = info.updates;
    j->checksum_failures = info.checksum_failures;
}

static void get_job(struct itest *t, int64_t id, struct job_snapshot *out)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    itest_run(t, get_job_fn, out);
    if (!out->found)
        fail_msg("no job %lld", (long long)id);
}

struct cancel_args {
    int64_t id;
    int rc;
};

static void cancel_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct cancel_args *a = arg;
    a->rc = gitlab_job_cancel(G.gs, a->id);
}

/* Start a job and take it: returns its id; its token in tok. */
static int64_t take_job(struct itest *t, const char *spec, char *tok, size_t toklen)
{
    int64_t id = add_job(t, spec);
    struct itest_resp r;
    request_job(NULL, "", 0, &r);
    assert_code(&r, 201);
    cJSON *p = cJSON_Parse(r.body);
    itest_resp_release(&r);
    assert_non_null(p);
    const char *jt = itest_jstr(p, "token");
    if (!jt || (int64_t)cJSON_GetObjectItemCaseSensitive(p, "id")->valuedouble != id)
        itest_fail_json(p, "not job %lld", (long long)id);
    snprintf(tok, toklen, "%s", jt);
    cJSON_Delete(p);
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
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    assert_true(itest_now_ms() - t0 < LONG_POLL_MS);
    char lu[64];
    assert_non_null(itest_resp_header(&r, "X-GitLab-Last-Update", lu, sizeof lu));
    assert_int_equal(r.len, 0);
    itest_resp_release(&r);
    /* with the current last_update: held for the long poll, then 204 */
    t0 = itest_now_ms();
    request_job(NULL, lu, 0, &r);
    int64_t took = itest_now_ms() - t0;
    assert_code(&r, 204);
    assert_header(&r, "X-GitLab-Last-Update", lu);
    if (took < LONG_POLL_MS - 20 || took > LONG_POLL_MS + 2000)
        fail_msg("held %lld ms, want about %d", (long long)took, LONG_POLL_MS);
    itest_resp_release(&r);
    /* a stale last_update is answered at once */
    t0 = itest_now_ms();
    request_job(NULL, "stale", 0, &r);
    assert_code(&r, 204);
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
    struct glreq r = {.method = "POST", .path = "jobs/request", .body = body};
    gl_do(&r, &b->r);
    return NULL;
}

static void test_long_poll_answered_by_new_job(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .long_poll_ms = 4000};
    struct itest *t = gl_start(state, &o);
    struct itest_resp r;
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    struct bg_request b = {0};
    assert_non_null(
        itest_resp_header(&r, "X-GitLab-Last-Update", b.last_update, sizeof b.last_update));
    itest_resp_release(&r);
    int64_t t0 = itest_now_ms();
    assert_int_equal(pthread_create(&b.th, NULL, bg_request_main, &b), 0);
    usleep(200 * 1000); /* let the request be held */
    int64_t id = add_job(t, "{\"name\":\"late\"}");
    pthread_join(b.th, NULL);
    int64_t took = itest_now_ms() - t0;
    assert_code(&b.r, 201);
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
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_RUNNING);
}

static void test_long_poll_client_gone(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .long_poll_ms = 4000};
    struct itest *t = gl_start(state, &o);
    struct itest_resp r;
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    struct bg_request b = {0};
    assert_non_null(
        itest_resp_header(&r, "X-GitLab-Last-Update", b.last_update, sizeof b.last_update));
    itest_resp_release(&r);
    /* the client gives up while held: the server forgets it */
    request_job(NULL, b.last_update, 150, &r);
    assert_int_equal(r.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&r);
    usleep(50 * 1000);
    /* a new job goes to the next request, not to the vanished one */
    int64_t id = add_job(t, NULL);
    request_job(NULL, "", 0, &r);
    assert_code(&r, 201);
    itest_resp_release(&r);
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_RUNNING);
    /* freeing the server ends a request it still holds */
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    assert_non_null(
        itest_resp_header(&r, "X-GitLab-Last-Update", b.last_update, sizeof b.last_update));
    itest_resp_release(&r);
    assert_int_equal(pthread_create(&b.th, NULL, bg_request_main, &b), 0);
    usleep(200 * 1000);
    itest_run(t, free_gl, NULL);
    pthread_join(b.th, NULL);
    assert_int_not_equal(b.r.curl, CURLE_OK);
    assert_int_not_equal(b.r.curl, CURLE_OPERATION_TIMEDOUT);
    itest_resp_release(&b.r);
}

static void test_request_payload(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    struct itest *t = gl_start(state, &o);
    int64_t id = add_job(t, "{\"id\":42,\"token\":\"job-tok\",\"image\":\"alpine:3.20\","
                            "\"script\":[\"echo hi\"],\"variables\":{\"FOO\":\"bar\"}}");
    assert_int_equal(id, 42);
    struct itest_resp r;
    request_job(NULL, "", 0, &r);
    assert_code(&r, 201);
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
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    itest_resp_release(&r);
    /* the token may also come as a RUNNER-TOKEN header */
    add_job(t, NULL);
    char h[320];
    snprintf(h, sizeof h, "RUNNER-TOKEN: %s", G.token);
    struct glreq q = {.method = "POST", .path = "jobs/request", .h1 = h};
    gl_do(&q, &r);
    assert_code(&r, 201);
    itest_resp_release(&r);
}

static void test_request_bad_token(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    struct itest *t = gl_start(state, &o);
    assert_int_equal(strncmp(G.token, "glrt-", 5), 0);
    add_job(t, NULL);
    struct itest_resp r;
    request_job("glrt-wrong", "", 0, &r);
    assert_code(&r, 403);
    assert_body(&r, "{\"message\":\"403 Forbidden\"}");
    assert_header(&r, "Content-Type", "application/json");
    itest_resp_release(&r);
    struct glreq q = {.method = "POST", .path = "jobs/request", .body = "{}"};
    gl_do(&q, &r);
    assert_code(&r, 403);
    itest_resp_release(&r);
    struct glreq nj = {.method = "POST", .path = "jobs/request", .body = "not json"};
    gl_do(&nj, &r);
    assert_code(&r, 400);
    itest_resp_release(&r);
    /* the job was not handed out */
    struct job_snapshot j;
    get_job(t, 1, &j);
    assert_int_equal(j.state, GITLAB_JOB_PENDING);
}

/* ---- trace ---- */

static void test_trace_append_range_resend(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .update_interval_s = 7};
    struct itest *t = gl_start(state, &o);
    char tok[300];
    int64_t id = take_job(t, NULL, tok, sizeof tok);
    struct itest_resp r;
    trace_patch(id, tok, "0-5", "hello ", &r);
    assert_code(&r, 202);
    assert_header(&r, "Job-Status", "running");
    assert_header(&r, "Range", "0-6");
    assert_header(&r, "X-GitLab-Trace-Update-Interval", "7");
    itest_resp_release(&r);
    trace_patch(id, tok, "6-10", "world", &r);
    assert_code(&r, 202);
    assert_header(&r, "Range", "0-11");
    itest_resp_release(&r);
    /* a gap: 416 with the length GitLab has */
    trace_patch(id, tok, "20-22", "xyz", &r);
    assert_code(&r, 416);
    assert_header(&r, "Range", "0-11");
    assert_body(&r, "{\"error\":\"416 Range Not Satisfiable\"}");
    itest_resp_release(&r);
    /* an overlapping resend is not appended either (GitLab appends only at the end) */
    trace_patch(id, tok, "6-10", "world", &r);
    assert_code(&r, 416);
    assert_header(&r, "Range", "0-11");
    itest_resp_release(&r);
    /* the runner then continues from 11 */
    trace_patch(id, tok, "11-11", "\n", &r);
    assert_code(&r, 202);
    itest_resp_release(&r);
    /* missing and malformed Content-Range */
    trace_patch(id, tok, NULL, "x", &r);
    assert_code(&r, 400);
    assert_body(&r, "{\"error\":\"400 Missing header Content-Range\"}");
    itest_resp_release(&r);
    trace_patch(id, tok, "bytes 12-13", "xy", &r);
    assert_code(&r, 400);
    itest_resp_release(&r);
    /* wrong token, unknown job: 403 (never 404) */
    trace_patch(id, "nope", "12-12", "x", &r);
    assert_code(&r, 403);
    assert_body(&r, "{\"message\":\"403 Forbidden\"}");
    itest_resp_release(&r);
    trace_patch(999, tok, "0-0", "x", &r);
    assert_code(&r, 403);
    itest_resp_release(&r);
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_string_equal(j.trace, "hello world\n");
    assert_int_equal(j.patches, 3);
    assert_int_equal(j.range_errors, 2);
}

static void test_trace_size_cap(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .max_trace_bytes = 8};
    struct itest *t = gl_start(state, &o);
    char tok[300];
    int64_t id = take_job(t, NULL, tok, sizeof tok);
    struct itest_resp r;
    /* an empty first patch stores nothing (the runner skips them; curl does not) */
    trace_patch(id, tok, "0-0", "", &r);
    assert_code(&r, 202);
    assert_header(&r, "Range", "0-0");
    itest_resp_release(&r);
    trace_patch(id, tok, "0-5", "123456", &r);
    assert_code(&r, 202);
    itest_resp_release(&r);
    trace_patch(id, tok, "6-8", "789", &r);
    assert_code(&r, 403);
    itest_resp_release(&r);
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_FAILED);
    assert_string_equal(j.reason, "trace_size_exceeded");
    assert_int_equal(j.trace_len, 6);
    /* the job is over: further patches are refused with its state */
    trace_patch(id, tok, "6-6", "7", &r);
    assert_code(&r, 403);
    assert_header(&r, "Job-Status", "failed");
    assert_body(&r, "{\"message\":\"403 Forbidden - Job is not running\"}");
    itest_resp_release(&r);
}

static void test_cancel(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    struct itest *t = gl_start(state, &o);
    char tok[300];
    int64_t id = take_job(t, NULL, tok, sizeof tok);
    struct cancel_args c = {.id = id};
    itest_run(t, cancel_fn, &c);
    assert_int_equal(c.rc, 0);
    struct itest_resp r;
    trace_patch(id, tok, "0-2", "abc", &r);
    assert_code(&r, 202);
    assert_header(&r, "Job-Status", "canceling");
    itest_resp_release(&r);
    /* the runner's final update: the job ends canceled */
    update_job(id, "{\"token\":\"x\",\"state\":\"failed\",\"failure_reason\":\"script_failure\"}",
               &r);
    assert_code(&r, 403); /* wrong token first */
    itest_resp_release(&r);
    char body[512];
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"failed\",\"failure_reason\":\"script_failure\","
             "\"output\":{\"checksum\":\"crc32:352441c2\",\"bytesize\":3}}",
             tok);
    update_job(id, body, &r);
    assert_code(&r, 200);
    assert_header(&r, "Job-Status", "canceled");
    itest_resp_release(&r);
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_CANCELED);
    /* a pending job is canceled at once and never handed out; a finished one cannot be */
    int64_t id2 = add_job(t, NULL);
    c.id = id2;
    itest_run(t, cancel_fn, &c);
    assert_int_equal(c.rc, 0);
    get_job(t, id2, &j);
    assert_int_equal(j.state, GITLAB_JOB_CANCELED);
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    itest_resp_release(&r);
    itest_run(t, cancel_fn, &c);
    assert_int_equal(c.rc, -1);
}

/* ---- job update ---- */

static void test_update_success_failed(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    struct itest *t = gl_start(state, &o);
    char tok[300], body[512];
    int64_t id = take_job(t, NULL, tok, sizeof tok);
    struct itest_resp r;
    trace_patch(id, tok, "0-8", "123456789", &r);
    assert_code(&r, 202);
    itest_resp_release(&r);
    /* keep-alive */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"state\":\"running\",\"checksum\":\"crc32:1\"}",
             tok);
    update_job(id, body, &r);
    assert_code(&r, 200);
    assert_body(&r, "200");
    assert_header(&r, "Job-Status", "running");
    itest_resp_release(&r);
    /* an unknown state */
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"state\":\"exploded\"}", tok);
    update_job(id, body, &r);
    assert_code(&r, 400);
    itest_resp_release(&r);
    /* missing token, bad field */
    update_job(id, "{\"state\":\"success\"}", &r);
    assert_code(&r, 400);
    assert_body(&r, "{\"error\":\"token is missing\"}");
    itest_resp_release(&r);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"exit_code\":\"x\"}", tok);
    update_job(id, body, &r);
    assert_code(&r, 400);
    itest_resp_release(&r);
    /* success with the right checksum (older runners' unpadded "%x" form, still accepted) */
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\",\"exit_code\":0,"
             "\"output\":{\"checksum\":\"crc32:cbf43926\",\"bytesize\":9}}",
             tok);
    update_job(id, body, &r);
    assert_code(&r, 200);
    assert_header(&r, "Job-Status", "success");
    itest_resp_release(&r);
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_SUCCESS);
    assert_int_equal(j.crc, 0xcbf43926u);
    /* running, exploded and success carried the right token; the two 400s before it did not */
    assert_int_equal(j.updates, 3);
    /* a finished job refuses updates */
    update_job(id, body, &r);
    assert_code(&r, 403);
    assert_header(&r, "Job-Status", "success");
    itest_resp_release(&r);

    /* failed with reason and exit code, no trace at all */
    id = take_job(t, NULL, tok, sizeof tok);
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"failed\",\"failure_reason\":\"script_failure\","
             "\"exit_code\":3,\"output\":{\"checksum\":\"crc32:0\",\"bytesize\":0}}",
             tok);
    update_job(id, body, &r);
    assert_code(&r, 200);
    itest_resp_release(&r);
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_FAILED);
    assert_string_equal(j.reason, "script_failure");
    assert_true(j.has_exit_code && j.exit_code == 3);
}

static void test_update_checksum_strict_412(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1, .strict_checksum = 1};
    struct itest *t = gl_start(state, &o);
    char tok[300], body[512];
    int64_t id = take_job(t, NULL, tok, sizeof tok);
    struct itest_resp r;
    trace_patch(id, tok, "0-3", "1234", &r);
    assert_code(&r, 202);
    itest_resp_release(&r);
    /* the runner says it sent 9 bytes: strict_checksum answers 412 and the runner rewinds */
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\","
             "\"output\":{\"checksum\":\"crc32:cbf43926\",\"bytesize\":9}}",
             tok);
    update_job(id, body, &r);
    assert_code(&r, 412);
    assert_non_null(strstr(r.body, "412 Precondition Failed"));
    itest_resp_release(&r);
    struct job_snapshot j;
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_RUNNING);
    assert_int_equal(j.checksum_failures, 1);
    /* the rewind: resending from 0 meets 416 with the real length, then the rest goes on */
    trace_patch(id, tok, "0-8", "123456789", &r);
    assert_code(&r, 416);
    assert_header(&r, "Range", "0-4");
    itest_resp_release(&r);
    trace_patch(id, tok, "4-8", "56789", &r);
    assert_code(&r, 202);
    itest_resp_release(&r);
    update_job(id, body, &r);
    assert_code(&r, 200);
    itest_resp_release(&r);
    get_job(t, id, &j);
    assert_int_equal(j.state, GITLAB_JOB_SUCCESS);
}

static void test_update_checksum_as_gitlab(void **state)
{
    struct gitlab_server_opts o = {.plain_http = 1};
    struct itest *t = gl_start(state, &o);
    char tok[300], body[512];
    int64_t id = take_job(t, NULL, tok, sizeof tok);
    struct itest_resp r;
    snprintf(body, sizeof body,
             "{\"token\":\"%s\",\"state\":\"success\","
             "\"output\":{\"checksum\":\"crc32:cbf43926\",\"bytesize\":9}}",
             tok);
    update_job(id, body, &r);
    assert_code(&r, 200);
    itest_resp_release(&r);
}

/* ---- verify, 404, hooks, TLS ---- */

static void test_verify_and_404(void **state)
{
    struct gitlab_server_opts o = {
        .plain_http = 1, .runner_id = 12, .runner_token = "glrt-fixedtoken"};
    gl_start(state, &o);
    assert_string_equal(G.token, "glrt-fixedtoken");
    struct itest_resp r;
    struct glreq q = {.method = "POST",
                      .path = "runners/verify",
                      .body = "{\"token\":\"glrt-fixedtoken\",\"system_id\":\"s_0\"}"};
    gl_do(&q, &r);
    assert_code(&r, 200);
    assert_header(&r, "Content-Type", "application/json");
    assert_body(&r, "{\"id\":12,\"token\":\"glrt-fixedtoken\",\"token_expires_at\":null}");
    itest_resp_release(&r);
    q.body = "{\"token\":\"glrt-other\"}";
    gl_do(&q, &r);
    assert_code(&r, 403);
    itest_resp_release(&r);
    struct glreq nf = {.method = "GET", .path = "projects"};
    gl_do(&nf, &r);
    assert_code(&r, 404);
    assert_header(&r, "Content-Type", "application/json");
    assert_body(&r, "{\"error\":\"404 Not Found\"}");
    itest_resp_release(&r);
    struct glreq wm = {.method = "GET", .path = "jobs/request"};
    gl_do(&wm, &r);
    assert_code(&r, 404);
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
    struct glreq q = {.method = "POST", .path = "runners/verify", .body = "{}"};
    gl_do(&q, &r);
    assert_code(&r, 503);
    itest_resp_release(&r);
    assert_int_equal(atomic_load(&hook_last_ep), GLPROTO_EP_VERIFY);
    request_job(NULL, "", 0, &r);
    assert_code(&r, 204);
    itest_resp_release(&r);
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
    struct itest *t = gl_start(state, &o);
    assert_int_equal(strncmp(G.url, "https://127.0.0.1:", 18), 0);
    assert_true(G.ca_file[0] != '\0');
    char tok[300];
    int64_t id = take_job(t, "{\"name\":\"tls\"}", tok, sizeof tok);
    struct itest_resp r;
    trace_patch(id, tok, "0-1", "ok", &r);
    assert_code(&r, 202);
    itest_resp_release(&r);
    /* without the CA, curl refuses the certificate */
    char ca[64];
    snprintf(ca, sizeof ca, "%s", G.ca_file);
    G.ca_file[0] = '\0';
    struct glreq q = {.method = "POST", .path = "runners/verify", .body = "{}"};
    gl_do(&q, &r);
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
