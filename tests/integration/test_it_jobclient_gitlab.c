/* test_it_jobclient_gitlab.c -- the reference job client in GitLab mode (harness/glclient.h) over
 * real sockets: a job queued on the fake GitLab (mockapi/gitlab) is taken from jobs/request, runs
 * against the fake kube API, and its trace on the GitLab side equals the printed log byte for
 * byte, with the final state, failure_reason and exit_code; jobs/request answering 204 until
 * --wait-job ends (catalogue failure 16); a cancel from GitLab mid-run (Job-Status canceling); a
 * dropped trace PATCH (500, then 416) recovered without a byte lost; TLS with the CA file. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness/glclient.h"
#include "gltest.h"
#include "jobtest.h"
#include "mockapi/gitlab/gitlab.h"

static struct gltest G; /* the fake GitLab of the running test */

static atomic_int drop_patches; /* the trace PATCH hook: 2 = answer 500, 1 = answer 416 */
static atomic_int dropped;

static enum hook_verdict on_gl_request(void *arg, struct conn *c, struct http_request *req,
                                       const struct glproto_route *route)
{
    (void)arg;
    (void)req;
    if (route->ep != GLPROTO_EP_TRACE || atomic_load(&drop_patches) <= 0)
        return HOOK_PASS;
    int left = atomic_fetch_sub(&drop_patches, 1);
    atomic_fetch_add(&dropped, 1);
    if (left == 2) {
        const char *body = "{\"message\":\"500 Internal Server Error\"}";
        conn_respond(c, 500, "application/json", NULL, body, strlen(body));
        return HOOK_HANDLED;
    }
    /* the server lost this patch: 416 with what it really has */
    struct gitlab_job_info info;
    char range[64];
    snprintf(range, sizeof range, "0-%zu",
             gitlab_job_get(G.gs, route->job_id, &info) == 0 ? info.trace_len : (size_t)0);
    const char *hdrs[] = {"Range", range, NULL};
    const char *body = "{\"error\":\"416 Range Not Satisfiable\"}";
    conn_respond(c, 416, "application/json", hdrs, body, strlen(body));
    return HOOK_HANDLED;
}

static const struct gitlab_hooks gl_hooks = {.on_request = on_gl_request};

/* The kube fake with the job tests' hooks, and a GitLab server on its loop. */
static struct itest *start(void **state, int tls, int64_t long_poll_ms)
{
    atomic_store(&drop_patches, 0);
    atomic_store(&dropped, 0);
    jt_reset();
    struct itest_opts io = {.hooks = &jt_hooks};
    struct gitlab_server_opts o = {.plain_http = !tls,
                                   .long_poll_ms = long_poll_ms ? long_poll_ms : 300,
                                   .update_interval_s = 1,
                                   .hooks = &gl_hooks};
    return gltest_start(state, &G, &io, &o);
}

static int teardown(void **state)
{
    return gltest_teardown(state, &G);
}

/* One GitLab-mode run: the printed log and the runner's log lines (caller frees both). */
struct run {
    pthread_t th;
    struct itest *t;
    const char *config;
    int color, debug;
    int64_t wait_ms;
    int check_ms;
    volatile sig_atomic_t cancel;
    int rc;
    struct jobclient_result res;
    struct glclient_result gr;
    char *log, *rlog;
};

static void run_job(struct run *r)
{
    cJSON *doc = cJSON_Parse(r->config ? r->config : "{}");
    if (!doc)
        fail_msg("bad test config");
    cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "kubernetes");
    if (!k)
        k = cJSON_AddObjectToObject(doc, "kubernetes");
    cJSON_AddStringToObject(k, "host", itest_url(r->t));
    if (itest_token(r->t))
        cJSON_AddStringToObject(k, "bearer_token", itest_token(r->t));
    if (itest_ca_file(r->t))
        cJSON_AddStringToObject(k, "ca_file", itest_ca_file(r->t));
    if (!cJSON_GetObjectItemCaseSensitive(k, "poll_interval"))
        cJSON_AddNumberToObject(k, "poll_interval", 1);
    size_t ll = 0, rl = 0;
    FILE *lf = open_memstream(&r->log, &ll), *rf = open_memstream(&r->rlog, &rl);
    static atomic_int seed = 101;
    struct glclient_opts o = {.url = G.url,
                              .token = G.token,
                              .ca_file = G.ca_file[0] ? G.ca_file : NULL,
                              .config = doc,
                              .log = lf,
                              .runner_log = rf,
                              .debug = r->debug,
                              .color = r->color,
                              .seed = (uint64_t)atomic_fetch_add(&seed, 1),
                              .cancel = &r->cancel,
                              .prepare_retry_ms = 200,
                              .wait_job_ms = r->wait_ms ? r->wait_ms : 10000,
                              .check_interval_ms = r->check_ms ? r->check_ms : 200,
                              .update_interval_ms = 200};
    r->rc = glclient_run(&o, &r->res, &r->gr);
    fclose(lf);
    fclose(rf);
    cJSON_Delete(doc);
    if (getenv("KF_JOBTEST_LOG"))
        fprintf(stderr, "---- job log ----\n%s---- runner log ----\n%s---- end ----\n", r->log,
                r->rlog);
}

static void *run_main(void *arg)
{
    run_job(arg);
    return NULL;
}

static void run_release(struct run *r)
{
    free(r->log);
    free(r->rlog);
}

static void assert_contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("lacks\n  %s\n---- text ----\n%s", want, text);
}

/* The printed log without ANSI sequences and section markers, as jobclient's put() prints it. */
static char *strip(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);
    for (size_t i = 0; i < n;) {
        if (s[i] == '\033' && i + 1 < n && s[i + 1] == '[') {
            size_t k = i + 2;
            while (k < n && !((unsigned char)s[k] >= 0x40 && (unsigned char)s[k] <= 0x7e))
                k++;
            i = k < n ? k + 1 : n;
            continue;
        }
        if (strncmp(s + i, "section_start:", 14) == 0 || strncmp(s + i, "section_end:", 12) == 0) {
            const char *cr = strchr(s + i, '\r');
            if (cr) {
                i = (size_t)(cr - s) + 1;
                continue;
            }
        }
        out[o++] = s[i++];
    }
    out[o] = '\0';
    return out;
}

/* A job queued on GitLab is taken, runs, and its trace is the printed log byte for byte (with
 * --color; without it, the printed log is the trace without colours and section markers). */
static void test_job_success_trace(void **state)
{
    struct itest *t = start(state, 1, 0);
    int64_t id = gltest_add_job(&G, "{\"name\":\"build\",\"image\":\"alpine:3.20\","
                                    "\"script\":[\"echo hello from gitlab\"],\"timeout\":600}");
    struct run r = {.t = t, .color = 1};
    run_job(&r);
    assert_int_equal(r.rc, 0);
    assert_true(r.gr.got_job);
    assert_int_equal(r.gr.job_id, id);
    assert_true(r.gr.updated);
    assert_string_equal(r.gr.state, "success");
    assert_contains(r.rlog, "Checking for jobs... received");
    assert_contains(r.rlog, "Appending trace to coordinator...ok");
    assert_contains(r.rlog, "Submitting job to coordinator...ok");
    assert_contains(r.log, "$ echo hello from gitlab");
    assert_contains(r.log, "section_start:");
    struct gltest_job s;
    gltest_job_get(&G, id, &s);
    assert_int_equal(s.state, GITLAB_JOB_SUCCESS);
    assert_string_equal(s.reason, "");
    assert_int_equal(s.trace_len, strlen(r.log));
    assert_memory_equal(s.trace, r.log, s.trace_len);
    assert_true(s.has_checksum);
    assert_int_equal(s.checksum, s.crc);
    assert_int_equal(s.bytesize, s.trace_len);
    assert_true(s.patches >= 1);
    run_release(&r);

    /* without --color */
    id = gltest_add_job(&G, "{\"script\":[\"echo plain\"]}");
    struct run p = {.t = t};
    run_job(&p);
    assert_int_equal(p.rc, 0);
    gltest_job_get(&G, id, &s);
    char *stripped = strip(s.trace);
    assert_string_equal(stripped, p.log);
    assert_contains(s.trace, "\033[32;1mJob succeeded\033[0;m\n");
    free(stripped);
    run_release(&p);
}

/* A failing script: failed, script_failure, the exit code. */
static void test_job_fails(void **state)
{
    struct itest *t = start(state, 0, 0);
    atomic_store(&JT.step_exit, 3);
    int64_t id = gltest_add_job(&G, "{\"script\":[\"exit 3\"]}");
    struct run r = {.t = t, .color = 1};
    run_job(&r);
    assert_int_equal(r.rc, 1);
    assert_string_equal(r.gr.state, "failed");
    assert_string_equal(r.gr.failure_reason, "script_failure");
    struct gltest_job s;
    gltest_job_get(&G, id, &s);
    assert_int_equal(s.state, GITLAB_JOB_FAILED);
    assert_string_equal(s.reason, "script_failure");
    assert_true(s.has_exit_code);
    assert_int_equal(s.exit_code, 3);
    assert_memory_equal(s.trace, r.log, s.trace_len);
    assert_int_equal(s.trace_len, strlen(r.log));
    assert_contains(r.log, "ERROR: Job failed: command terminated with exit code 3");
    run_release(&r);
}

/* Catalogue failure 16: jobs/request answers 204 forever; the client polls every check interval
 * and gives up when --wait-job ends, with the runner's (debug) lines. */
static void test_no_job_until_wait_ends(void **state)
{
    struct itest *t = start(state, 0, -1);
    struct run r = {.t = t, .debug = 1, .wait_ms = 1500, .check_ms = 200};
    int64_t t0 = itest_now_ms();
    run_job(&r);
    int64_t took = itest_now_ms() - t0;
    assert_int_equal(r.rc, GLCLIENT_EXIT_NO_JOB);
    assert_false(r.gr.got_job);
    assert_true(took >= 1400 && took < 10000); /* wide: CI shares two cores */
    assert_true(r.gr.nothing >= 4);
    assert_int_equal(r.gr.nothing, r.gr.requests);
    assert_contains(r.rlog, "Checking for jobs...nothing");
    assert_contains(r.gr.error, "answered 204 No Content");
    assert_string_equal(r.log, "");
    run_release(&r);

    /* without --debug the runner logs nothing at all for 204 */
    struct run q = {.t = t, .wait_ms = 500, .check_ms = 100};
    run_job(&q);
    assert_int_equal(q.rc, GLCLIENT_EXIT_NO_JOB);
    assert_string_equal(q.rlog, "");
    run_release(&q);
}

/* A wrong runner token: 403, "Checking for jobs... forbidden", still no job. */
static void test_forbidden(void **state)
{
    struct itest *t = start(state, 0, 0);
    snprintf(G.token, sizeof G.token, "glrt-wrongtoken000000000");
    struct run r = {.t = t, .wait_ms = 500, .check_ms = 100};
    run_job(&r);
    assert_int_equal(r.rc, GLCLIENT_EXIT_NO_JOB);
    assert_contains(r.rlog, "ERROR: Checking for jobs... forbidden");
    assert_contains(r.rlog, "runner=wrongtoke");
    run_release(&r);
}

/* A cancel from GitLab mid-run: the next PATCH answers Job-Status canceling, the job is canceled
 * as SIGINT cancels it, the final update makes it canceled on GitLab. */
static void test_cancel_from_gitlab(void **state)
{
    struct itest *t = start(state, 0, 0);
    atomic_store(&JT.step_hang, 1);
    int64_t id = gltest_add_job(&G, "{\"script\":[\"sleep 1000\"]}");
    struct run r = {.t = t, .color = 1};
    assert_int_equal(pthread_create(&r.th, NULL, run_main, &r), 0);
    assert_true(jt_wait_flag(&JT.step_started, 20000));
    assert_int_equal(gltest_job_cancel(&G, id), 0);
    pthread_join(r.th, NULL);
    assert_int_equal(r.rc, 1);
    assert_int_equal(r.cancel, 1);
    assert_contains(r.log, "ERROR: Job failed: canceled");
    assert_contains(r.rlog, "job-status=canceling");
    struct gltest_job s;
    gltest_job_get(&G, id, &s);
    assert_int_equal(s.state, GITLAB_JOB_CANCELED);
    assert_int_equal(s.trace_len, strlen(r.log));
    assert_memory_equal(s.trace, r.log, s.trace_len);
    run_release(&r);
}

/* A trace PATCH answered 500, the next one lost by the server (416 with its real length): the
 * client resends from where the server is, and the trace ends complete. */
static void test_dropped_patch_recovered(void **state)
{
    struct itest *t = start(state, 0, 0);
    atomic_store(&drop_patches, 2);
    int64_t id = gltest_add_job(&G, "{\"script\":[\"echo one\",\"echo two\"]}");
    struct run r = {.t = t, .color = 1};
    run_job(&r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(atomic_load(&dropped), 2);
    assert_contains(r.rlog, "WARNING: Appending trace to coordinator... failed");
    assert_contains(r.rlog, "WARNING: Appending trace to coordinator... range mismatch");
    struct gltest_job s;
    gltest_job_get(&G, id, &s);
    assert_int_equal(s.state, GITLAB_JOB_SUCCESS);
    assert_int_equal(s.trace_len, strlen(r.log));
    assert_memory_equal(s.trace, r.log, s.trace_len);
    assert_int_equal(s.checksum, s.crc);
    run_release(&r);
}

int main(void)
{
    itest_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_job_success_trace, teardown),
        cmocka_unit_test_teardown(test_job_fails, teardown),
        cmocka_unit_test_teardown(test_no_job_until_wait_ends, teardown),
        cmocka_unit_test_teardown(test_forbidden, teardown),
        cmocka_unit_test_teardown(test_cancel_from_gitlab, teardown),
        cmocka_unit_test_teardown(test_dropped_patch_recovered, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
