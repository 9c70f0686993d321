/* gltest.c -- integration-test helpers for the fake GitLab: one on the itest loop, its jobs, the
 * runner's requests */
#include "gltest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

void gltest_init(struct gltest *g, struct itest *t, struct gitlab_server *gs)
{
    g->t = t;
    g->gs = gs;
    snprintf(g->url, sizeof g->url, "%s", gitlab_server_url(gs));
    snprintf(g->token, sizeof g->token, "%s", gitlab_server_runner_token(gs));
    const char *pem = gitlab_server_ca_pem(gs);
    if (!pem)
        return;
    snprintf(g->ca_file, sizeof g->ca_file, "/tmp/kf-gltest-ca-XXXXXX");
    int fd = mkstemp(g->ca_file);
    if (fd < 0) {
        g->ca_file[0] = '\0'; /* the TLS requests then fail, which says enough */
        return;
    }
    ssize_t n = write(fd, pem, strlen(pem));
    (void)n;
    close(fd);
}

struct make_args {
    struct gltest *g;
    const struct gitlab_server_opts *o;
    char err[256];
};

static void make_fn(void *arg, struct mockapi_server *s)
{
    struct make_args *a = arg;
    struct gitlab_server *gs =
        gitlab_server_new(mockapi_server_base(s), a->o, a->err, sizeof a->err);
    if (gs)
        gltest_init(a->g, a->g->t, gs);
}

struct itest *gltest_start(void **state, struct gltest *g, const struct itest_opts *io,
                           const struct gitlab_server_opts *o)
{
    static const struct itest_opts plain;
    memset(g, 0, sizeof *g);
    g->t = itest_start(state, io ? io : &plain);
    struct make_args a = {.g = g, .o = o};
    itest_run(g->t, make_fn, &a);
    if (!g->gs)
        fail_msg("gitlab_server_new: %s", a.err);
    return g->t;
}

static void free_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct gltest *g = arg;
    gitlab_server_free(g->gs);
    g->gs = NULL;
}

void gltest_free_server(struct gltest *g)
{
    if (g->t && g->gs)
        itest_run(g->t, free_fn, g);
}

int gltest_teardown(void **state, struct gltest *g)
{
    if (*state)
        gltest_free_server(g);
    if (g->ca_file[0])
        unlink(g->ca_file);
    free(g->trace);
    memset(g, 0, sizeof *g);
    return itest_teardown(state);
}

/* ---- jobs on the server thread ---- */

struct add_args {
    struct gitlab_server *gs;
    const char *spec; /* JSON or NULL */
    int64_t id;
    char err[256];
};

static void add_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct add_args *a = arg;
    cJSON *spec = a->spec ? cJSON_Parse(a->spec) : NULL;
    a->id = gitlab_job_add(a->gs, spec, a->err, sizeof a->err);
    cJSON_Delete(spec);
}

int64_t gltest_add_job(struct gltest *g, const char *spec)
{
    struct add_args a = {.gs = g->gs, .spec = spec};
    itest_run(g->t, add_fn, &a);
    if (a.id < 0)
        fail_msg("gitlab_job_add: %s", a.err);
    return a.id;
}

struct get_args {
    struct gitlab_server *gs;
    struct gltest_job *j;
    int found;
    char *trace; /* malloc'd copy */
};

static void get_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct get_args *a = arg;
    struct gltest_job *j = a->j;
    struct gitlab_job_info info;
    a->found = gitlab_job_get(a->gs, j->id, &info) == 0;
    if (!a->found)
        return;
    snprintf(j->token, sizeof j->token, "%s", info.token);
    j->state = info.state;
    snprintf(j->reason, sizeof j->reason, "%s", info.failure_reason);
    j->has_exit_code = info.has_exit_code;
    j->exit_code = info.exit_code;
    j->trace_len = info.trace_len;
    a->trace = malloc(info.trace_len + 1);
    if (a->trace) {
        if (info.trace_len)
            memcpy(a->trace, info.trace, info.trace_len);
        a->trace[info.trace_len] = '\0';
    }
    j->crc = info.trace_crc;
    j->has_checksum = info.has_checksum;
    j->checksum = info.checksum;
    j->bytesize = info.bytesize;
    j->patches = info.patches;
    j->range_errors = info.range_errors;
    j->updates = info.updates;
    j->checksum_failures = info.checksum_failures;
}

void gltest_job_get(struct gltest *g, int64_t id, struct gltest_job *out)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    struct get_args a = {.gs = g->gs, .j = out};
    itest_run(g->t, get_fn, &a);
    free(g->trace);
    g->trace = a.trace;
    out->trace = g->trace;
    if (!a.found)
        fail_msg("no job %lld", (long long)id);
    assert_non_null(out->trace);
}

struct cancel_args {
    struct gitlab_server *gs;
    int64_t id;
    int rc;
};

static void cancel_fn(void *arg, struct mockapi_server *s)
{
    (void)s;
    struct cancel_args *a = arg;
    a->rc = gitlab_job_cancel(a->gs, a->id);
}

int gltest_job_cancel(struct gltest *g, int64_t id)
{
    struct cancel_args c = {.gs = g->gs, .id = id};
    itest_run(g->t, cancel_fn, &c);
    return c.rc;
}

/* ---- the runner's requests ---- */

void gltest_do(const struct gltest *g, const struct gltest_req *r, struct itest_resp *out)
{
    char url[512];
    const char *hdrs[3] = {NULL, NULL, NULL};
    size_t n = 0;
    snprintf(url, sizeof url, "%sapi/v4/%s", g->url, r->path);
    if (r->h1)
        hdrs[n++] = r->h1;
    if (r->h2)
        hdrs[n++] = r->h2;
    struct itest_http_req q = {.method = r->method,
                               .url = url,
                               .body = r->body,
                               .body_len = r->body_len,
                               .content_type = r->ct,
                               .headers = hdrs,
                               .ca_file = g->ca_file,
                               .timeout_ms = r->timeout_ms};
    itest_http(&q, out);
}

void gltest_request_job(const struct gltest *g, const char *tok, const char *last_update,
                        long timeout_ms, struct itest_resp *out)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"info\":{\"name\":\"gitlab-runner\",\"executor\":\"kubernetes\"},"
             "\"token\":\"%s\",\"last_update\":\"%s\"}",
             tok ? tok : g->token, last_update);
    struct gltest_req r = {
        .method = "POST", .path = "jobs/request", .body = body, .timeout_ms = timeout_ms};
    gltest_do(g, &r, out);
}

void gltest_update_job(const struct gltest *g, int64_t id, const char *body, struct itest_resp *out)
{
    char path[64];
    snprintf(path, sizeof path, "jobs/%lld", (long long)id);
    struct gltest_req r = {.method = "PUT", .path = path, .body = body};
    gltest_do(g, &r, out);
}

int64_t gltest_take_job(const struct gltest *g, char *tok, size_t toklen)
{
    struct itest_resp r;
    gltest_request_job(g, NULL, "", 0, &r);
    itest_assert_code(&r, 201);
    cJSON *job = cJSON_Parse(r.body);
    itest_resp_release(&r);
    if (!job)
        fail_msg("jobs/request: not JSON");
    int64_t id = (int64_t)itest_jnum(job, "id");
    const char *t = itest_jstr(job, "token");
    if (!t)
        itest_fail_json(job, "jobs/request: no token");
    snprintf(tok, toklen, "%s", t);
    cJSON_Delete(job);
    return id;
}
