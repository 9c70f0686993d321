/* gitlab.c -- the fake GitLab job API: a loopback listener (TLS or plain) that hands jobs to a
 * runner with long polling, keeps each job's trace and final state, and exposes hook points.
 *
 * What GitLab does, and where it was read (code read for facts, nothing copied):
 * - gitlabhq/gitlabhq lib/api/ci/runner.rb:
 *   jobs/request answers 201 with the job JSON, or 204 with X-GitLab-Last-Update (the runner
 *   queue's value; a request whose last_update is already the latest gets 204 without a lookup);
 *   the runner token is the body's "token".
 *   PUT jobs/:id answers with the status UpdateBuildStateService chose and that status as the body
 *   ("200"), plus X-GitLab-Trace-Update-Interval.
 *   PATCH jobs/:id/trace: no Content-Range -> 400 "400 Missing header Content-Range"; 416 "416
 *   Range Not Satisfiable" with Range: 0-<stream size>; otherwise 202 with Job-Status, Range:
 *   0-<size> and X-GitLab-Trace-Update-Interval.
 *   runners/verify answers 200 (newer GitLab: JSON with id, token, token_expires_at; the runner
 *   also accepts the legacy plain "200", network/gitlab.go VerifyRunner).
 * - lib/api/ci/helpers/runner.rb authenticate_job!: an unknown job or a wrong token is 403
 *   "403 Forbidden" (never 404, so that a running job is terminated); a job that is not running is
 *   403 "403 Forbidden - Job is not running" with Job-Status: <state>. The job token is the
 *   "token" parameter or the JOB-TOKEN header.
 * - lib/api/helpers.rb forbidden!/render_api_error!: {"message": "..."}; a plain error!(string)
 *   goes through Grape's JSON error formatter as {"error": "..."}; lib/api/api.rb's catch-all
 *   route answers error!('404 Not Found', 404), so unknown paths get {"error":"404 Not Found"}.
 * - app/services/ci/append_build_trace_service.rb and lib/gitlab/ci/trace.rb append: only the
 *   start of Content-Range counts; the data is appended only when start == the current length;
 *   any other start (a gap, or an overlapping resend) answers 416 with the current length. Going
 *   over the trace size limit drops the job (failure_reason trace_size_exceeded) and answers 403.
 *   The fake does the same: overlapping resends are NOT accepted (GitLab does not accept them
 *   either; the runner recovers through 416, network/trace.go).
 * - app/services/ci/update_build_state_service.rb: running -> 200, success/failed -> 200 (the job
 *   finishes, failure_reason and exit_code recorded), other states -> 400. A checksum that
 *   disagrees with the stored trace is only counted there, never answered 412; the runner does
 *   handle 412 ("trace validation failed": it rewinds and resends, network/gitlab.go,
 *   network/trace.go). The fake answers 200 as GitLab does; opts.strict_checksum answers 412 so
 *   the runner's rewind path can be met.
 * - gitlab-runner network/gitlab.go: 403 on jobs/request marks the runner unhealthy; 204 means
 *   no job; PUT's Job-Status (canceling, canceled, failed) is read as on PATCH.
 * - Workhorse (runner-k8s-executor.md §9): holds jobs/request while last_update is current, for
 *   apiCiLongPollingDuration (50 s), and lets it through as soon as the queue changes.
 * Choices of the fake: jobs/request also takes the token from a RUNNER-TOKEN header when the body
 * has none; trace PATCHes and updates are accepted while a job is canceling (the runner must be
 * able to send its last output and final state); PUT answers carry Job-Status too, so a runner
 * that only sends keep-alive updates still learns about a cancel. */
#include "mockapi/gitlab/gitlab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/base/rng.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/listener.h"
#include "mockapi/http/tls.h"

#define LISTEN_BACKLOG 511
#define RUNNER_TOKEN_CHARS                                                                         \
    20 /* "glrt-" and this many, as GitLab's runner authentication tokens                          \
        */

struct job {
    int64_t id;
    char token[GLPROTO_MAX_TOKEN + 1];
    char *name;
    cJSON *payload;
    enum gitlab_job_state state;
    char failure_reason[GLPROTO_MAX_REASON + 1];
    int has_exit_code;
    int exit_code;
    unsigned char *trace;
    size_t trace_len, trace_cap;
    uint32_t trace_crc;
    int has_checksum;
    uint32_t checksum;
    int has_bytesize;
    uint64_t bytesize;
    unsigned patches, range_errors, updates, checksum_failures;
    struct job *next;
};

/* A jobs/request held for long polling. */
struct waiter {
    struct gitlab_server *s;
    struct conn *c;
    struct event *timer;
    struct waiter *prev, *next;
};

struct gitlab_server {
    struct event_base *base;
    struct gitlab_server_opts o;
    struct listener *listener;
    struct tls_ctx *own_tls; /* made here when opts.tls was NULL */
    struct tls_ctx *tls;     /* the one in use (own or borrowed); NULL: plain HTTP */
    int port;
    char url[96];
    char runner_token[GLPROTO_MAX_TOKEN + 1];
    char last_update[33];
    struct rng rng;
    struct job *jobs, *jobs_tail;
    size_t njobs;
    int64_t next_id;
    struct waiter *waiters, *waiters_tail;
    size_t nwaiters;
    struct event *wake; /* answers held requests after a job was added */
    uint64_t requests;
    uint64_t connections;
    struct conn_set conns;
};

const char *gitlab_job_state_name(enum gitlab_job_state st)
{
    switch (st) {
    case GITLAB_JOB_PENDING:
        return "pending";
    case GITLAB_JOB_RUNNING:
        return "running";
    case GITLAB_JOB_CANCELING:
        return "canceling";
    case GITLAB_JOB_SUCCESS:
        return "success";
    case GITLAB_JOB_FAILED:
        return "failed";
    case GITLAB_JOB_CANCELED:
        return "canceled";
    }
    return "unknown";
}

static void new_last_update(struct gitlab_server *s)
{
    snprintf(s->last_update, sizeof s->last_update, "%016" PRIx64 "%016" PRIx64, rng_next(&s->rng),
             rng_next(&s->rng));
}

static struct job *find_job(const struct gitlab_server *s, int64_t id)
{
    for (struct job *j = s->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

/* ---- answers ---- */

/* {"<key>": msg} with Content-Type application/json. extra: NULL-terminated header pairs. */
static void respond_msg(struct conn *c, int code, const char *key, const char *msg,
                        const char *const *extra)
{
    cJSON *o = cJSON_CreateObject();
    char *body = NULL;
    if (o && json_add(o, key, cJSON_CreateString(msg)))
        body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body) {
        conn_respond(c, HTTP_INTERNAL, GLPROTO_CT_JSON, NULL, "{}", 2);
        return;
    }
    conn_respond(c, code, GLPROTO_CT_JSON, extra, body, strlen(body));
    cJSON_free(body);
}

static void forbidden(struct conn *c)
{
    respond_msg(c, HTTP_FORBIDDEN, "message", "403 Forbidden", NULL);
}

static void not_running(struct conn *c, const struct job *j)
{
    const char *h[] = {GLPROTO_HDR_JOB_STATUS, gitlab_job_state_name(j->state), NULL};
    respond_msg(c, HTTP_FORBIDDEN, "message", "403 Forbidden - Job is not running", h);
}

static void bad_request(struct conn *c, const char *what)
{
    char msg[320];
    snprintf(msg, sizeof msg, "400 Bad request - %s", what);
    respond_msg(c, HTTP_BADREQUEST, "message", msg, NULL);
}

static int job_active(const struct job *j)
{
    return j->state == GITLAB_JOB_RUNNING || j->state == GITLAB_JOB_CANCELING;
}

/* Answer a jobs/request now: the next pending job (201), or 204. */
static void answer_job_request(struct gitlab_server *s, struct conn *c)
{
    const char *h[] = {GLPROTO_HDR_LAST_UPDATE, s->last_update, NULL};
    struct job *j = s->jobs;
    while (j && j->state != GITLAB_JOB_PENDING)
        j = j->next;
    if (!j) {
        conn_respond(c, HTTP_NOCONTENT, NULL, h, NULL, 0);
        return;
    }
    char *body = cJSON_PrintUnformatted(j->payload);
    if (!body) {
        respond_msg(c, HTTP_INTERNAL, "message", "500 Internal Server Error", NULL);
        return;
    }
    j->state = GITLAB_JOB_RUNNING;
    log_info("gitlab: job %" PRId64 " handed to %s", j->id, conn_peer(c));
    conn_respond(c, HTTP_CREATED, GLPROTO_CT_JSON, h, body, strlen(body));
    cJSON_free(body);
}

/* ---- long polling ---- */

static void waiter_unlink(struct waiter *w)
{
    struct gitlab_server *s = w->s;
    if (w->prev)
        w->prev->next = w->next;
    else
        s->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        s->waiters_tail = w->prev;
    s->nwaiters--;
    event_free(w->timer);
    free(w);
}

/* The client went away while held: forget it (the connection is being freed). */
static void on_waiter_close(void *arg, struct conn *c)
{
    (void)c;
    waiter_unlink(arg);
}

/* Stop holding w and answer it (201 when a job is pending now, else 204). */
static void release_waiter(struct waiter *w)
{
    struct gitlab_server *s = w->s;
    struct conn *c = w->c;
    conn_set_close_cb(c, NULL, NULL);
    waiter_unlink(w);
    answer_job_request(s, c);
}

static void on_waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    release_waiter(arg);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gitlab_server *s = arg;
    /* every held request goes through, as Workhorse lets them all through on a queue change;
     * the first gets the job, the others 204 with the new X-GitLab-Last-Update */
    while (s->waiters)
        release_waiter(s->waiters);
}

static int hold(struct gitlab_server *s, struct conn *c)
{
    struct waiter *w = calloc(1, sizeof *w);
    if (!w || !(w->timer = evtimer_new(s->base, on_waiter_timeout, w))) {
        free(w);
        return -1;
    }
    w->s = s;
    w->c = c;
    struct timeval tv = {(time_t)(s->o.long_poll_ms / 1000),
                         (suseconds_t)((s->o.long_poll_ms % 1000) * 1000)};
    evtimer_add(w->timer, &tv);
    w->prev = s->waiters_tail;
    if (s->waiters_tail)
        s->waiters_tail->next = w;
    else
        s->waiters = w;
    s->waiters_tail = w;
    s->nwaiters++;
    conn_set_close_cb(c, on_waiter_close, w);
    return 0;
}

/* ---- endpoints ---- */

/* A runner's request body, read into rr, with its token (the body's, else a RUNNER-TOKEN header)
 * checked: 0, or -1 once answered (400 for a bad body, 403 for a wrong token). */
static int runner_request(struct gitlab_server *s, struct conn *c, struct http_request *req,
                          struct glproto_runner_req *rr)
{
    char err[256];
    if (glproto_parse_runner_req(req->body, req->body_len, rr, err, sizeof err) < 0) {
        bad_request(c, err);
        return -1;
    }
    const char *token =
        rr->token[0] ? rr->token : http_request_header(req, GLPROTO_HDR_RUNNER_TOKEN);
    if (!token || strcmp(token, s->runner_token) != 0) {
        forbidden(c);
        return -1;
    }
    return 0;
}

static void handle_job_request(struct gitlab_server *s, struct conn *c, struct http_request *req)
{
    struct glproto_runner_req rr;
    if (runner_request(s, c, req, &rr) < 0)
        return;
    int pending = 0;
    for (struct job *j = s->jobs; j && !pending; j = j->next)
        pending = j->state == GITLAB_JOB_PENDING;
    if (!pending && s->o.long_poll_ms > 0 && strcmp(rr.last_update, s->last_update) == 0) {
        if (s->nwaiters < GITLAB_MAX_WAITERS && hold(s, c) == 0)
            return;
        log_warn("gitlab: %zu requests held already (cap %d): answering %s at once", s->nwaiters,
                 GITLAB_MAX_WAITERS, conn_peer(c));
    }
    answer_job_request(s, c);
}

/* The job token: the "token" query parameter or the JOB-TOKEN header (helpers/runner.rb). */
static const char *job_token_of(const struct http_request *req)
{
    const char *t = http_request_param(req, "token");
    return t ? t : http_request_header(req, GLPROTO_HDR_JOB_TOKEN);
}

static int append_trace(struct job *j, const unsigned char *data, size_t len)
{
    if (len == 0) /* an empty patch: accepted, nothing to store (and j->trace may be NULL) */
        return 0;
    if (j->trace_len + len > j->trace_cap) {
        size_t cap = j->trace_cap ? j->trace_cap : 4096;
        while (cap < j->trace_len + len)
            cap *= 2;
        unsigned char *n = realloc(j->trace, cap);
        if (!n)
            return -1;
        j->trace = n;
        j->trace_cap = cap;
    }
    memcpy(j->trace + j->trace_len, data, len);
    j->trace_len += len;
    j->trace_crc = glproto_crc32(j->trace_crc, data, len); /* CRC-32 continues over appends */
    return 0;
}

static void handle_trace(struct gitlab_server *s, struct conn *c, struct http_request *req,
                         int64_t id)
{
    struct job *j = find_job(s, id);
    const char *token = job_token_of(req);
    if (!j || !token || strcmp(token, j->token) != 0) {
        forbidden(c);
        return;
    }
    if (!job_active(j)) {
        not_running(c, j);
        return;
    }
    const char *cr = http_request_header(req, GLPROTO_HDR_CONTENT_RANGE);
    if (!cr) {
        respond_msg(c, HTTP_BADREQUEST, "error", "400 Missing header Content-Range", NULL);
        return;
    }
    uint64_t start, end;
    char err[160];
    if (glproto_parse_content_range(cr, &start, &end, err, sizeof err) < 0) {
        bad_request(c, err);
        return;
    }
    char range[48];
    if (start != j->trace_len) {
        j->range_errors++;
        snprintf(range, sizeof range, "0-%zu", j->trace_len);
        const char *h[] = {GLPROTO_HDR_RANGE, range, NULL};
        respond_msg(c, HTTP_BADRANGE, "error", "416 Range Not Satisfiable", h);
        return;
    }
    if (req->body_len > s->o.max_trace_bytes - j->trace_len) {
        log_info("gitlab: job %" PRId64 " trace over %zu bytes: failed (trace_size_exceeded)",
                 j->id, s->o.max_trace_bytes);
        j->state = GITLAB_JOB_FAILED;
        snprintf(j->failure_reason, sizeof j->failure_reason, "trace_size_exceeded");
        respond_msg(c, HTTP_FORBIDDEN, "error", "403 Forbidden", NULL);
        return;
    }
    if (append_trace(j, req->body, req->body_len) < 0) {
        respond_msg(c, HTTP_INTERNAL, "message", "500 Internal Server Error", NULL);
        return;
    }
    j->patches++;
    char interval[16];
    snprintf(range, sizeof range, "0-%zu", j->trace_len);
    snprintf(interval, sizeof interval, "%d", s->o.update_interval_s);
    const char *h[] = {GLPROTO_HDR_JOB_STATUS,
                       gitlab_job_state_name(j->state),
                       GLPROTO_HDR_RANGE,
                       range,
                       GLPROTO_HDR_UPDATE_INTERVAL,
                       interval,
                       NULL};
    conn_respond(c, HTTP_ACCEPTED, GLPROTO_CT_TEXT, h, NULL, 0);
}

/* The status as the body ("200"), as runner.rb's PUT does, with Job-Status. */
static void respond_update(struct conn *c, int code, const struct job *j)
{
    char body[8];
    snprintf(body, sizeof body, "%d", code);
    const char *h[] = {GLPROTO_HDR_JOB_STATUS, gitlab_job_state_name(j->state), NULL};
    conn_respond(c, code, GLPROTO_CT_JSON, h, body, strlen(body));
}

static void handle_update(struct gitlab_server *s, struct conn *c, struct http_request *req,
                          int64_t id)
{
    struct glproto_update u;
    char err[256];
    if (glproto_parse_update(req->body, req->body_len, &u, err, sizeof err) < 0) {
        respond_msg(c, HTTP_BADREQUEST, "error", err, NULL);
        return;
    }
    const char *token = u.token[0] ? u.token : job_token_of(req);
    if (!token) {
        respond_msg(c, HTTP_BADREQUEST, "error", "token is missing", NULL);
        return;
    }
    struct job *j = find_job(s, id);
    if (!j || strcmp(token, j->token) != 0) {
        forbidden(c);
        return;
    }
    if (!job_active(j)) {
        not_running(c, j);
        return;
    }
    j->updates++;
    j->has_checksum = u.has_checksum;
    j->checksum = u.checksum;
    j->has_bytesize = u.has_bytesize;
    j->bytesize = u.bytesize;
    int final = strcmp(u.state, "success") == 0 || strcmp(u.state, "failed") == 0;
    if (!final && strcmp(u.state, "running") != 0) {
        respond_update(c, HTTP_BADREQUEST, j);
        return;
    }
    if (!final) {
        respond_update(c, HTTP_OK, j);
        return;
    }
    if (s->o.strict_checksum && ((u.has_checksum && u.checksum != j->trace_crc) ||
                                 (u.has_bytesize && u.bytesize != j->trace_len))) {
        char want[24], got[24], msg[256];
        j->checksum_failures++;
        snprintf(msg, sizeof msg,
                 "412 Precondition Failed - the trace is %s, %zu bytes; the update says %s, "
                 "%" PRIu64 " bytes",
                 glproto_format_checksum(j->trace_crc, want, sizeof want), j->trace_len,
                 u.has_checksum ? glproto_format_checksum(u.checksum, got, sizeof got) : "-",
                 u.has_bytesize ? u.bytesize : (uint64_t)j->trace_len);
        const char *h[] = {GLPROTO_HDR_JOB_STATUS, gitlab_job_state_name(j->state), NULL};
        respond_msg(c, HTTP_PRECONDFAILED, "message", msg, h);
        return;
    }
    if (j->state == GITLAB_JOB_CANCELING)
        j->state = GITLAB_JOB_CANCELED;
    else
        j->state = strcmp(u.state, "success") == 0 ? GITLAB_JOB_SUCCESS : GITLAB_JOB_FAILED;
    memcpy(j->failure_reason, u.failure_reason, sizeof j->failure_reason);
    j->has_exit_code = u.has_exit_code;
    j->exit_code = u.exit_code;
    log_info("gitlab: job %" PRId64 " %s%s%s", j->id, gitlab_job_state_name(j->state),
             j->failure_reason[0] ? " " : "", j->failure_reason);
    respond_update(c, HTTP_OK, j);
}

static void handle_verify(struct gitlab_server *s, struct conn *c, struct http_request *req)
{
    struct glproto_runner_req rr;
    if (runner_request(s, c, req, &rr) < 0)
        return;
    cJSON *o = cJSON_CreateObject();
    char *body = NULL;
    if (o && json_add(o, "id", cJSON_CreateNumber((double)s->o.runner_id)) &&
        json_add(o, "token", cJSON_CreateString(s->runner_token)) &&
        json_add(o, "token_expires_at", cJSON_CreateNull()))
        body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body) {
        respond_msg(c, HTTP_INTERNAL, "message", "500 Internal Server Error", NULL);
        return;
    }
    conn_respond(c, HTTP_OK, GLPROTO_CT_JSON, NULL, body, strlen(body));
    cJSON_free(body);
}

void gitlab_server_dispatch(struct gitlab_server *s, struct conn *c, struct http_request *req,
                            const struct glproto_route *route)
{
    switch (route->ep) {
    case GLPROTO_EP_JOB_REQUEST:
        handle_job_request(s, c, req);
        return;
    case GLPROTO_EP_JOB_UPDATE:
        handle_update(s, c, req, route->job_id);
        return;
    case GLPROTO_EP_TRACE:
        handle_trace(s, c, req, route->job_id);
        return;
    case GLPROTO_EP_VERIFY:
        handle_verify(s, c, req);
        return;
    case GLPROTO_EP_NONE:
        break;
    }
    respond_msg(c, HTTP_NOTFOUND, "error", "404 Not Found", NULL);
}

static void on_request(void *arg, struct conn *c, struct http_request *req)
{
    struct gitlab_server *s = arg;
    struct glproto_route r;
    glproto_route(req->method, req->path, &r);
    log_debug("gitlab: %s %s %s (%s)", conn_peer(c), req->method, req->url,
              glproto_endpoint_name(r.ep));
    if (s->o.hooks && s->o.hooks->on_request &&
        s->o.hooks->on_request(s->o.hooks->arg, c, req, &r) == HOOK_HANDLED)
        return;
    gitlab_server_dispatch(s, c, req, &r);
}

static void on_response(void *arg, struct conn *c, const struct http_request *req, int code,
                        uint64_t bytes, int complete)
{
    struct gitlab_server *s = arg;
    if (s->o.hooks && s->o.hooks->on_response)
        s->o.hooks->on_response(s->o.hooks->arg, c, req, code, bytes, complete);
}

/* ---- listener ---- */

/* The answers conn gives by itself (a malformed or oversized request, the connection limit) in
 * GitLab's shape, as lib/api/helpers.rb render_api_error! writes them: {"message": "413 Request
 * Entity Too Large - the request body is larger than 4194304 bytes"}. */
static size_t error_body(int code, const char *message, char *buf, size_t len)
{
    char text[768];
    size_t n = 0;
    snprintf(text, sizeof text, "%d %s - %s", code, http_reason(code), message);
    cJSON *o = cJSON_CreateObject();
    if (o && json_add(o, "message", cJSON_CreateString(text)) &&
        cJSON_PrintPreallocated(o, buf, (int)len, 0))
        n = strlen(buf);
    cJSON_Delete(o);
    return n;
}

/* A connection on fd, accepted by the listener or handed over by gitlab_server_serve_fd(). */
static int serve(struct gitlab_server *s, int fd, const struct sockaddr *sa)
{
    struct conn_config cfg = {.set = &s->conns,
                              .on_request = on_request,
                              .on_response = on_response,
                              .arg = s,
                              .request_counter = &s->requests,
                              .conn_counter = &s->connections,
                              .server_header = NULL,
                              .error_body = error_body};
    struct conn *c = conn_accept(s->base, s->tls, fd, sa, &cfg);
    if (!c)
        return -1; /* failed, or over the connection limit (conn answers that one itself) */
    if (s->o.hooks && s->o.hooks->on_accept)
        s->o.hooks->on_accept(s->o.hooks->arg, c);
    return 0;
}

static void on_accept(void *arg, int fd, const struct sockaddr *sa)
{
    serve(arg, fd, sa);
}

int gitlab_server_serve_fd(struct gitlab_server *s, int fd)
{
    struct sockaddr_storage ss;
    if (listener_adopt(fd, &ss) < 0)
        return -1;
    return serve(s, fd, (struct sockaddr *)&ss);
}

static int make_runner_token(struct gitlab_server *s, char *err, size_t errlen)
{
    if (s->o.runner_token) {
        if (!*s->o.runner_token || strlen(s->o.runner_token) > GLPROTO_MAX_TOKEN) {
            snprintf(err, errlen, "runner token must be 1 to %d bytes", GLPROTO_MAX_TOKEN);
            return -1;
        }
        snprintf(s->runner_token, sizeof s->runner_token, "%s", s->o.runner_token);
        return 0;
    }
    char hex[TLS_TOKEN_LEN + 1];
    if (tls_random_token(hex, sizeof hex) < 0) {
        snprintf(err, errlen, "cannot make a random runner token");
        return -1;
    }
    snprintf(s->runner_token, sizeof s->runner_token, "glrt-%.*s", RUNNER_TOKEN_CHARS, hex);
    return 0;
}

struct gitlab_server *gitlab_server_new(struct event_base *base,
                                        const struct gitlab_server_opts *opts, char *err,
                                        size_t errlen)
{
    struct gitlab_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->o = *opts;
    s->conns.max = opts->max_connections ? opts->max_connections : CONN_DEFAULT_MAX;
    if (s->o.runner_id <= 0)
        s->o.runner_id = 1;
    if (s->o.long_poll_ms == 0)
        s->o.long_poll_ms = GITLAB_DEFAULT_LONG_POLL_MS;
    if (s->o.update_interval_s <= 0)
        s->o.update_interval_s = GITLAB_DEFAULT_UPDATE_INTERVAL_S;
    if (s->o.max_trace_bytes == 0)
        s->o.max_trace_bytes = GITLAB_DEFAULT_MAX_TRACE;
    s->next_id = 1;
    rng_init(&s->rng, opts->seed);
    new_last_update(s);
    if (make_runner_token(s, err, errlen) < 0)
        goto fail;
    s->o.runner_token = NULL; /* the copy in s->runner_token is the one in use */
    if (!opts->plain_http) {
        if (opts->tls)
            s->tls = opts->tls;
        else if (!(s->tls = s->own_tls = tls_new(err, errlen)))
            goto fail;
    }
    if (!(s->wake = event_new(base, -1, 0, on_wake, s))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)opts->port);
    const char *addr = opts->bind_addr ? opts->bind_addr : "127.0.0.1";
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "bad bind address \"%s\" (expected an IPv4 address)", addr);
        goto fail;
    }
    if (!(s->listener =
              listener_new(base, &sin, LISTEN_BACKLOG, on_accept, s, "gitlab", err, errlen)))
        goto fail;
    s->port = listener_port(s->listener);
    snprintf(s->url, sizeof s->url, "%s://%s:%d/", s->tls ? "https" : "http", addr, s->port);
    return s;
fail:
    gitlab_server_free(s);
    return NULL;
}

void gitlab_server_free(struct gitlab_server *s)
{
    if (!s)
        return;
    listener_free(s->listener);
    /* aborting a held connection runs on_waiter_close, which frees its waiter */
    conn_set_abort_all(&s->conns);
    while (s->waiters) /* none left unless a connection vanished without its close callback */
        waiter_unlink(s->waiters);
    if (s->wake)
        event_free(s->wake);
    for (struct job *j = s->jobs, *n; j; j = n) {
        n = j->next;
        cJSON_Delete(j->payload);
        free(j->name);
        free(j->trace);
        free(j);
    }
    tls_free(s->own_tls);
    free(s);
}

int gitlab_server_listen_mode(struct gitlab_server *s, enum listen_mode mode, char *err,
                              size_t errlen)
{
    return listener_set_mode(s->listener, mode, err, errlen);
}

enum listen_mode gitlab_server_get_listen_mode(const struct gitlab_server *s)
{
    return listener_mode(s->listener);
}

int gitlab_server_port(const struct gitlab_server *s)
{
    return s->port;
}

const char *gitlab_server_url(const struct gitlab_server *s)
{
    return s->url;
}

const char *gitlab_server_ca_pem(const struct gitlab_server *s)
{
    return s->tls ? tls_ca_pem(s->tls) : NULL;
}

const char *gitlab_server_runner_token(const struct gitlab_server *s)
{
    return s->runner_token;
}

uint64_t gitlab_server_requests(const struct gitlab_server *s)
{
    return s->requests;
}

/* ---- jobs ---- */

int64_t gitlab_job_add(struct gitlab_server *s, const cJSON *spec, char *err, size_t errlen)
{
    if (s->njobs >= GITLAB_MAX_JOBS) {
        snprintf(err, errlen, "more than %d jobs", GITLAB_MAX_JOBS);
        return -1;
    }
    char token[32];
    snprintf(token, sizeof token, "glcbt-%016" PRIx64, rng_next(&s->rng));
    cJSON *payload = glproto_job_payload(spec, s->next_id, token, err, errlen);
    if (!payload)
        return -1;
    const cJSON *idv = cJSON_GetObjectItemCaseSensitive(payload, "id");
    const char *tok = json_str(payload, "token");
    const cJSON *ji = cJSON_GetObjectItemCaseSensitive(payload, "job_info");
    int64_t id;
    if (json_int(idv, 1, JSON_INT_MAX, &id) != 1 || !tok || !*tok ||
        strlen(tok) > GLPROTO_MAX_TOKEN) {
        snprintf(err, errlen, "extra: id must stay a positive integer and token a string");
        cJSON_Delete(payload);
        return -1;
    }
    if (find_job(s, id)) {
        snprintf(err, errlen, "id %" PRId64 " is taken by another job", id);
        cJSON_Delete(payload);
        return -1;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j || !(j->name = strdup(json_str_or(ji, "name", "")))) {
        free(j);
        cJSON_Delete(payload);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->id = id;
    snprintf(j->token, sizeof j->token, "%s", tok);
    j->payload = payload;
    j->state = GITLAB_JOB_PENDING;
    j->trace_crc = 0; /* the CRC-32 of nothing */
    if (s->jobs_tail)
        s->jobs_tail->next = j;
    else
        s->jobs = j;
    s->jobs_tail = j;
    s->njobs++;
    if (id >= s->next_id)
        s->next_id = id + 1;
    new_last_update(s); /* the runner queue changed: held requests go through */
    if (s->waiters)
        event_active(s->wake, EV_TIMEOUT, 0);
    log_info("gitlab: job %" PRId64 " \"%s\" queued", id, j->name);
    return id;
}

int gitlab_job_cancel(struct gitlab_server *s, int64_t id)
{
    struct job *j = find_job(s, id);
    if (!j)
        return -1;
    if (j->state == GITLAB_JOB_PENDING)
        j->state = GITLAB_JOB_CANCELED;
    else if (j->state == GITLAB_JOB_RUNNING)
        j->state = GITLAB_JOB_CANCELING;
    else
        return -1;
    log_info("gitlab: job %" PRId64 " %s", id, gitlab_job_state_name(j->state));
    return 0;
}

static void fill_info(const struct job *j, struct gitlab_job_info *out)
{
    out->id = j->id;
    out->token = j->token;
    out->name = j->name;
    out->state = j->state;
    out->failure_reason = j->failure_reason;
    out->has_exit_code = j->has_exit_code;
    out->exit_code = j->exit_code;
    out->trace = j->trace;
    out->trace_len = j->trace_len;
    out->trace_crc = j->trace_crc;
    out->has_checksum = j->has_checksum;
    out->checksum = j->checksum;
    out->has_bytesize = j->has_bytesize;
    out->bytesize = j->bytesize;
    out->patches = j->patches;
    out->range_errors = j->range_errors;
    out->updates = j->updates;
    out->checksum_failures = j->checksum_failures;
}

int gitlab_job_get(const struct gitlab_server *s, int64_t id, struct gitlab_job_info *out)
{
    const struct job *j = find_job(s, id);
    if (!j)
        return -1;
    fill_info(j, out);
    return 0;
}

const cJSON *gitlab_job_payload(const struct gitlab_server *s, int64_t id)
{
    const struct job *j = find_job(s, id);
    return j ? j->payload : NULL;
}

int gitlab_job_foreach(const struct gitlab_server *s, gitlab_job_fn fn, void *arg)
{
    for (const struct job *j = s->jobs; j; j = j->next) {
        struct gitlab_job_info info;
        fill_info(j, &info);
        int rc = fn(arg, &info);
        if (rc)
            return rc;
    }
    return 0;
}
