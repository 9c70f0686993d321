/* glclient.c -- the reference job client's GitLab side: take one job from jobs/request, stream
 * its log as trace PATCHes, send the final update, as GitLab Runner 19.x does.
 *
 * Facts, read in gitlabhq/gitlab-runner (code read for facts, nothing copied):
 * - network/client.go: the API base is the url with trailing '/' and "/ci" trimmed, plus
 *   "/api/v4/"; JSON requests carry Content-Type and Accept application/json and no token header
 *   (PRIVATE-TOKEN only with a PAT); an expected status whose answer is not application/json gives
 *   "server should return application/json. Got: <type>"; a non-2xx JSON answer's status text is
 *   "<METHOD> <url>: <code> <text>" with " (<message>)" when the message says more; every answer's
 *   X-GitLab-Last-Update is kept and sent back as last_update.
 * - network/gitlab.go RequestJob: body {info, token, system_id, last_update}; 201 "Checking for
 *   jobs... received" (job, repo_url), 403 Errorln "... forbidden", 204 Debug "...nothing",
 *   other answers Warningln "... failed" with status (a transport error is one of those: doJSON
 *   answers -1). UpdateJob: {info, token, state, failure_reason, checksum, output{checksum,
 *   bytesize}, exit_code}; Job-Status canceled/failed or 403 -> abort ("job failed"), 200 ok, 202
 *   accepted but not yet completed, 412 trace validation failed, 404 abort, others failed.
 *   PatchTrace: Content-Range "start-end" inclusive, JOB-TOKEN, text/plain, ?debug_trace=false;
 *   Job-Status canceled/failed or 403 -> abort, 202 ok, 404 not found, 416 range mismatch (the
 *   offset is Range's number after '-'), others failed; a transport error is failed.
 * - network/remote_job_state_response.go: Job-Status "canceling" requests a cancel;
 *   X-GitLab-Trace-Update-Interval is whole seconds.
 * - network/trace.go: a watcher sends a PATCH every update interval (3 s, GitLab may change it,
 *   capped at 15 min); after a successful PATCH a keep-alive update (state running) goes out when
 *   nothing was sent for 30 s; on finish the interval goes back to 3 s, every byte is sent
 *   (range mismatch or failure: sleep the interval and retry), then the update is sent until 200
 *   or an abort (202, 412, failure: sleep, retry; 412 rewinds the trace to 0 first).
 * - helpers/trace/buffer.go: the checksum is "crc32:%08x" (IEEE) of the whole trace; past 4 MiB
 *   the trace gets "\n" bold yellow "Job's log exceeded limit of N bytes.\nJob execution will
 *   continue but no more output will be collected." reset "\n" and no more.
 * - common/failure_reasons (failureReasonMapper): "" -> script_failure; supported (the job's
 *   features.failure_reasons plus script_failure, runner_system_failure, job_execution_timeout)
 *   as is; image_pull_failure -> runner_system_failure, runner_configuration_error ->
 *   script_failure; else unknown_failure.
 * - helpers/shorten_token.go ShortenToken: the runner= field of its log lines.
 * The watcher runs on its own thread (the runner's goroutine); the job runs on the caller's. */
#include "harness/glclient.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "harness/diag.h"
#include "harness/jobconfig.h"
#include "harness/jobscript.h"
#include "harness/kclient.h"
#include "mockapi/base/json.h"
#include "mockapi/gitlab/proto.h"

#define HTTP_TIMEOUT_MS 60000 /* a PATCH or PUT (the runner's client allows 60 min) */
#define DIAL_TIMEOUT_MS 30000
#define SYSTEM_ID "s_kubefault0000"
#define RUNNER_VERSION "19.4.0"
#define ANSI_BOLD_YELLOW "\033[33;1m" /* helpers.ANSI_BOLD_YELLOW */

/* ---- pure parts ---- */

static int is_state(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

enum glclient_patch_state glclient_patch_state(long code, const char *job_status)
{
    if (is_state(job_status, "canceled") || is_state(job_status, "failed") || code == 403)
        return GLC_PATCH_ABORT;
    switch (code) {
    case 202:
        return GLC_PATCH_SUCCEEDED;
    case 404:
        return GLC_PATCH_NOT_FOUND;
    case 416:
        return GLC_PATCH_RANGE_MISMATCH;
    default:
        return GLC_PATCH_FAILED;
    }
}

enum glclient_update_state glclient_update_state(long code, const char *job_status)
{
    if (is_state(job_status, "canceled") || is_state(job_status, "failed") || code == 403)
        return GLC_UPDATE_ABORT;
    switch (code) {
    case 200:
        return GLC_UPDATE_SUCCEEDED;
    case 202:
        return GLC_UPDATE_ACCEPTED;
    case 412:
        return GLC_UPDATE_TRACE_VALIDATION;
    case 404:
        return GLC_UPDATE_ABORT;
    default:
        return GLC_UPDATE_FAILED;
    }
}

int glclient_cancel_requested(const char *job_status)
{
    return is_state(job_status, "canceling");
}

uint64_t glclient_range_offset(const char *range)
{
    const char *dash = range ? strchr(range, '-') : NULL;
    if (!dash || strchr(dash + 1, '-'))
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(dash + 1, &end, 10);
    if (errno || end == dash + 1 || *end || dash[1] == '-' || dash[1] == '+')
        return 0;
    return n;
}

char *glclient_content_range(char *buf, size_t len, uint64_t start, size_t n)
{
    snprintf(buf, len, "%" PRIu64 "-%" PRIu64, start, start + (uint64_t)n - 1);
    return buf;
}

char *glclient_checksum(uint32_t crc, char *buf, size_t len)
{
    snprintf(buf, len, "crc32:%08" PRIx32, crc);
    return buf;
}

int glclient_update_interval(const char *value)
{
    if (!value || !*value)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n <= 0)
        return 0;
    return n > GLCLIENT_MAX_UPDATE_INTERVAL_S ? GLCLIENT_MAX_UPDATE_INTERVAL_S : (int)n;
}

static int supported(const cJSON *payload, const char *reason)
{
    static const char *const always[] = {"script_failure", "runner_system_failure",
                                         "job_execution_timeout", NULL};
    for (size_t i = 0; always[i]; i++)
        if (strcmp(reason, always[i]) == 0)
            return 1;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(payload, "features");
    const cJSON *list = f ? cJSON_GetObjectItemCaseSensitive(f, "failure_reasons") : NULL, *it;
    cJSON_ArrayForEach(it, list) if (cJSON_IsString(it) &&
                                     strcmp(it->valuestring, reason) == 0) return 1;
    return 0;
}

const char *glclient_failure_reason(const cJSON *payload, const char *reason)
{
    if (!reason || !*reason)
        return "script_failure";
    if (supported(payload, reason))
        return reason;
    if (strcmp(reason, "image_pull_failure") == 0 && supported(payload, "runner_system_failure"))
        return "runner_system_failure";
    if (strcmp(reason, "runner_configuration_error") == 0 && supported(payload, "script_failure"))
        return "script_failure";
    return "unknown_failure";
}

/* ShortenToken (helpers/shorten_token.go) into buf. */
static void short_token(const char *t, char *buf, size_t len)
{
    size_t n = strlen(t);
    if (n < 8)
        snprintf(buf, len, "%s", t);
    else if (strncmp(t, "glrt-", 5) == 0)
        snprintf(buf, len, "%.9s", t + 5);
    else if (strncmp(t, "glrtr-", 6) == 0 || strncmp(t, "glcbt-", 6) == 0)
        snprintf(buf, len, "%.9s", t + 6);
    else
        snprintf(buf, len, "%.8s", t);
}

/* ---- the connection to GitLab ---- */

struct gl {
    const struct glclient_opts *o;
    char api[1024]; /* ".../api/v4/" */
    char runner[32];
    char last_update[GLPROTO_MAX_TOKEN + 1];
    pthread_mutex_t log_mu; /* the job thread and the watcher both log */
};

/* One line of the runner's log: "LEVEL: message" padded like its text formatter, then the
 * fields (already sorted and formatted "k=v ..."). level: 'D', 'I', 'W', 'E'. */
static void rlog(struct gl *g, char level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void rlog(struct gl *g, char level, const char *msg, const char *fmt, ...)
{
    FILE *f = g->o->runner_log;
    if (!f || (level == 'D' && !g->o->debug))
        return;
    char fields[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof fields, fmt, ap);
    va_end(ap);
    const char *pre = level == 'W' ? "WARNING: " : level == 'E' ? "ERROR: " : "";
    char line[512];
    snprintf(line, sizeof line, "%s%s", pre, msg);
    pthread_mutex_lock(&g->log_mu);
    fprintf(f, "%-52s %s\n", line, fields);
    fflush(f);
    pthread_mutex_unlock(&g->log_mu);
}

/* A field value as logrus writes it: bare when it needs no quoting, else Go-quoted. */
static const char *fv(const char *v, char *buf, size_t len)
{
    int plain = *v != '\0';
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-._/@^+:", *p)))
            plain = 0;
    if (plain) {
        snprintf(buf, len, "%s", v);
        return buf;
    }
    size_t o = 0;
    if (len < 3)
        return "";
    buf[o++] = '"';
    for (const char *p = v; *p && o + 3 < len; p++) {
        if (*p == '"' || *p == '\\')
            buf[o++] = '\\';
        buf[o++] = *p;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* What one HTTP exchange gave. */
struct answer {
    long code; /* -1: no answer (err says why) */
    char status[96];
    char job_status[GLPROTO_MAX_STATE + 1];
    char range[64];
    char interval[32];
    char last_update[GLPROTO_MAX_TOKEN + 1];
    char content_type[128];
    char *body;
    size_t len;
    int toobig;
    char err[1400];
    const volatile sig_atomic_t *cancel;
    int64_t deadline; /* the model's bound on a held request (0: none) */
};

static void answer_release(struct answer *a)
{
    free(a->body);
    a->body = NULL;
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t k = sz * n;
    if (a->len + k > GLCLIENT_MAX_ANSWER) {
        a->toobig = 1;
        return 0;
    }
    char *nb = realloc(a->body, a->len + k + 1);
    if (!nb)
        return 0;
    memcpy(nb + a->len, p, k);
    a->len += k;
    nb[a->len] = '\0';
    a->body = nb;
    return k;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = n - nl - 1;
    while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    snprintf(out, len, "%.*s", (int)vl, v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t k = sz * n;
    if (k > 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* a new answer (after a 100 Continue): its status line, headers afresh */
        const char *sp = memchr(p, ' ', k);
        size_t l = sp ? k - (size_t)(sp + 1 - p) : 0;
        while (l && (sp[l] == '\r' || sp[l] == '\n' || sp[l] == '\0'))
            l--;
        snprintf(a->status, sizeof a->status, "%.*s", sp ? (int)l + 1 : 0, sp ? sp + 1 : "");
        size_t sl = strlen(a->status);
        while (sl && (a->status[sl - 1] == '\r' || a->status[sl - 1] == '\n'))
            a->status[--sl] = '\0';
        a->job_status[0] = a->range[0] = a->interval[0] = a->content_type[0] = '\0';
        return k;
    }
    header_value(p, k, GLPROTO_HDR_JOB_STATUS, a->job_status, sizeof a->job_status);
    header_value(p, k, GLPROTO_HDR_RANGE, a->range, sizeof a->range);
    header_value(p, k, GLPROTO_HDR_UPDATE_INTERVAL, a->interval, sizeof a->interval);
    header_value(p, k, GLPROTO_HDR_LAST_UPDATE, a->last_update, sizeof a->last_update);
    header_value(p, k, "Content-Type", a->content_type, sizeof a->content_type);
    return k;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct answer *a = arg;
    if (a->cancel && *a->cancel)
        return 1;
    return a->deadline && kclient_now_ms() >= a->deadline;
}

/* One request: method on api path, body of ctype (NULL: none), extra headers. Fills *a. */
static void http_do(struct gl *g, CURL *c, const char *method, const char *path, const char *ctype,
                    const void *body, size_t len, struct curl_slist *hdrs, long timeout_ms,
                    struct answer *a)
{
    char url[2048], h[512];
    char cerr[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof url, "%s%s", g->api, path);
    if (ctype) {
        snprintf(h, sizeof h, "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, h);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT,
                     "gitlab-runner " RUNNER_VERSION " (kubefault reference job client)");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)DIAL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : (long)HTTP_TIMEOUT_MS);
    if (g->o->ca_file && g->o->ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, g->o->ca_file);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    a->code = -1;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->code);
    } else {
        int k = snprintf(a->err, sizeof a->err, "couldn't execute %s against ", method);
        if (k > 0 && (size_t)k < sizeof a->err)
            snprintf(a->err + k, sizeof a->err - (size_t)k, "%.1024s: %.256s", url,
                     cerr[0] ? cerr : curl_easy_strerror(rc));
    }
    if (a->last_update[0])
        snprintf(g->last_update, sizeof g->last_update, "%s", a->last_update);
    curl_slist_free_all(hdrs);
}

/* getMessageFromJSONResponse: the status text the runner logs for an answer. */
static void status_text(const struct answer *a, const char *method, const char *url, char *buf,
                        size_t len)
{
    if (a->code < 0) {
        snprintf(buf, len, "%.1000s", a->err);
        return;
    }
    if (a->code >= 200 && a->code <= 299) {
        snprintf(buf, len, "%s", a->status);
        return;
    }
    snprintf(buf, len, "%s", a->status);
    if (strncasecmp(a->content_type, GLPROTO_CT_JSON, strlen(GLPROTO_CT_JSON)) != 0 || !a->body)
        return;
    cJSON *j = cJSON_Parse(a->body);
    const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
    if (cJSON_IsString(m) && strcmp(m->valuestring, a->status) != 0)
        snprintf(buf, len, "%s %s: %s (%s)", method, url, a->status, m->valuestring);
    else if (j)
        snprintf(buf, len, "%s %s: %s", method, url, a->status);
    cJSON_Delete(j);
}

/* The runner's info object (VersionInfo with the kubernetes executor's and bash's features). */
static cJSON *runner_info(void)
{
    static const char *const features[] = {"variables",
                                           "image",
                                           "services",
                                           "artifacts",
                                           "cache",
                                           "upload_multiple_artifacts",
                                           "upload_raw_artifacts",
                                           "session",
                                           "terminal",
                                           "refspecs",
                                           "masking",
                                           "proxy",
                                           "raw_variables",
                                           "artifacts_exclude",
                                           "multi_build_steps",
                                           "trace_reset",
                                           "trace_checksum",
                                           "trace_size",
                                           "vault_secrets",
                                           "cancelable",
                                           "return_exit_code",
                                           "service_variables",
                                           "service_multiple_aliases",
                                           NULL};
    cJSON *info = cJSON_CreateObject();
    cJSON *f = info ? cJSON_AddObjectToObject(info, "features") : NULL;
    if (!f || !cJSON_AddStringToObject(info, "name", "gitlab-runner") ||
        !cJSON_AddStringToObject(info, "version", RUNNER_VERSION) ||
        !cJSON_AddStringToObject(info, "revision", "kubefault") ||
        !cJSON_AddStringToObject(info, "platform", "linux") ||
        !cJSON_AddStringToObject(info, "architecture", "amd64") ||
        !cJSON_AddStringToObject(info, "executor", "kubernetes") ||
        !cJSON_AddStringToObject(info, "shell", "bash")) {
        cJSON_Delete(info);
        return NULL;
    }
    for (size_t i = 0; features[i]; i++)
        if (!cJSON_AddTrueToObject(f, features[i])) {
            cJSON_Delete(info);
            return NULL;
        }
    return info;
}

/* ---- jobs/request ---- */

static enum glclient_request_state request_job(struct gl *g, CURL *c, int64_t deadline, cJSON **job)
{
    *job = NULL;
    cJSON *req = cJSON_CreateObject();
    cJSON *info = runner_info();
    char *body = NULL;
    if (req && info && cJSON_AddItemToObject(req, "info", info))
        info = NULL;
    if (req && cJSON_AddStringToObject(req, "token", g->o->token) &&
        cJSON_AddStringToObject(req, "system_id", SYSTEM_ID) &&
        cJSON_AddStringToObject(req, "last_update", g->last_update))
        body = cJSON_PrintUnformatted(req);
    cJSON_Delete(info);
    cJSON_Delete(req);
    struct answer a = {.cancel = g->o->cancel, .deadline = deadline};
    if (!body) {
        rlog(g, 'E', "Checking for jobs... error", "runner=%s status=\"out of memory\"", g->runner);
        return GLC_REQUEST_ERROR;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Accept: " GLPROTO_CT_JSON);
    long left = (long)(deadline - kclient_now_ms());
    http_do(g, c, "POST", "jobs/request", GLPROTO_CT_JSON, body, strlen(body), h,
            left > 0 ? left + 1000 : 1, &a);
    free(body);
    char url[1100], st[1024], fb[1100];
    snprintf(url, sizeof url, "%sjobs/request", g->api);
    enum glclient_request_state r;
    if (a.code < 0 && ((g->o->cancel && *g->o->cancel) || kclient_now_ms() >= deadline)) {
        r = GLC_REQUEST_NOTHING; /* our own bound ended a held request: not the runner's error */
    } else if (a.code == 201) {
        if (strncasecmp(a.content_type, GLPROTO_CT_JSON, strlen(GLPROTO_CT_JSON)) != 0) {
            snprintf(st, sizeof st, "server should return application/json. Got: %s",
                     a.content_type);
            rlog(g, 'W', "Checking for jobs... failed", "runner=%s status=%s", g->runner,
                 fv(st, fb, sizeof fb));
            r = GLC_REQUEST_FAILED;
        } else if (!(*job = cJSON_Parse(a.body ? a.body : "")) || !cJSON_IsObject(*job)) {
            cJSON_Delete(*job);
            *job = NULL;
            rlog(g, 'W', "Checking for jobs... failed", "runner=%s status=%s", g->runner,
                 fv("Error decoding json payload", fb, sizeof fb));
            r = GLC_REQUEST_FAILED;
        } else {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(*job, "id");
            const cJSON *gi = cJSON_GetObjectItemCaseSensitive(*job, "git_info");
            const cJSON *ru = gi ? cJSON_GetObjectItemCaseSensitive(gi, "repo_url") : NULL;
            char rb[1100];
            rlog(g, 'I', "Checking for jobs... received", "job=%lld repo_url=%s runner=%s",
                 (long long)json_int_clamp(id, INT64_MIN, INT64_MAX, 0),
                 fv(cJSON_IsString(ru) ? ru->valuestring : "", rb, sizeof rb), g->runner);
            r = GLC_REQUEST_JOB;
        }
    } else if (a.code == 403) {
        rlog(g, 'E', "Checking for jobs... forbidden", "runner=%s", g->runner);
        r = GLC_REQUEST_FORBIDDEN;
    } else if (a.code == 204) {
        rlog(g, 'D', "Checking for jobs...nothing", "runner=%s", g->runner);
        r = GLC_REQUEST_NOTHING;
    } else {
        status_text(&a, "POST", url, st, sizeof st);
        rlog(g, 'W', "Checking for jobs... failed", "runner=%s status=%s", g->runner,
             fv(st, fb, sizeof fb));
        r = GLC_REQUEST_FAILED;
    }
    answer_release(&a);
    return r;
}

/* ---- the trace (network/trace.go's clientJobTrace) ---- */

struct trace {
    struct gl *g;
    CURL *curl;
    int64_t id;
    char token[GLPROTO_MAX_TOKEN + 1];
    volatile sig_atomic_t *cancel;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf;
    size_t len, cap;
    int limited;
    uint32_t crc;
    size_t sent;
    int64_t sent_ms;
    int interval_ms, default_interval_ms;
    int finished;

    pthread_t th;
    int started;
};

static void trace_append(struct trace *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n)
            cap *= 2;
        unsigned char *nb = realloc(t->buf, cap);
        if (!nb)
            return;
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->crc = glproto_crc32(t->crc, p, n);
}

/* jobclient_opts.on_trace: Buffer.Write with its limitWriter. */
static void trace_write(void *arg, const char *data, size_t n)
{
    struct trace *t = arg;
    pthread_mutex_lock(&t->mu);
    if (!t->limited) {
        size_t room = GLCLIENT_TRACE_LIMIT - t->len;
        if (n <= room) {
            trace_append(t, data, n);
        } else {
            trace_append(t, data, room);
            char m[256];
            int k = snprintf(m, sizeof m,
                             "\n" ANSI_BOLD_YELLOW "Job's log exceeded limit of %u bytes.\n"
                             "Job execution will continue but no more output will be "
                             "collected." JS_ANSI_RESET "\n",
                             (unsigned)GLCLIENT_TRACE_LIMIT);
            trace_append(t, m, (size_t)k);
            t->limited = 1;
        }
    }
    pthread_mutex_unlock(&t->mu);
}

static void set_interval(struct trace *t, const char *hdr)
{
    int s = glclient_update_interval(hdr);
    if (s <= 0)
        return;
    pthread_mutex_lock(&t->mu);
    t->interval_ms = s * 1000;
    pthread_mutex_unlock(&t->mu);
}

static int get_interval(struct trace *t)
{
    pthread_mutex_lock(&t->mu);
    int ms = t->interval_ms;
    pthread_mutex_unlock(&t->mu);
    return ms;
}

static char *go_dur(char *buf, size_t len, const char *hdr)
{
    int s = glclient_update_interval(hdr);
    return jobclient_go_duration(buf, len, s);
}

/* sendPatch. *cancel_req is set when Job-Status says canceling. */
static enum glclient_patch_state send_patch(struct trace *t, int *cancel_req)
{
    pthread_mutex_lock(&t->mu);
    size_t from = t->sent, n = t->len - t->sent;
    if (n > GLCLIENT_PATCH_LIMIT)
        n = GLCLIENT_PATCH_LIMIT;
    unsigned char *chunk = n ? malloc(n) : NULL;
    if (chunk)
        memcpy(chunk, t->buf + from, n);
    pthread_mutex_unlock(&t->mu);
    if (!n)
        return GLC_PATCH_SUCCEEDED;
    if (!chunk)
        return GLC_PATCH_FAILED;
    struct gl *g = t->g;
    char path[128], cr[64], h[GLPROTO_MAX_TOKEN + 32];
    snprintf(path, sizeof path, "jobs/%lld/trace?debug_trace=false", (long long)t->id);
    glclient_content_range(cr, sizeof cr, from, n);
    snprintf(h, sizeof h, GLPROTO_HDR_JOB_TOKEN ": %s", t->token);
    struct curl_slist *hd = curl_slist_append(NULL, h);
    snprintf(h, sizeof h, GLPROTO_HDR_CONTENT_RANGE ": %s", cr);
    hd = curl_slist_append(hd, h);
    struct answer a = {0};
    http_do(g, t->curl, "PATCH", path, GLPROTO_CT_TEXT, chunk, n, hd, 0, &a);
    free(chunk);
    if (a.code < 0) {
        char eb[600];
        rlog(g, 'E', "Appending trace to coordinator... error", "job=%lld runner=%s error=%s",
             (long long)t->id, g->runner, fv(a.err, eb, sizeof eb));
        answer_release(&a);
        return GLC_PATCH_FAILED;
    }
    enum glclient_patch_state st = glclient_patch_state(a.code, a.job_status);
    *cancel_req = glclient_cancel_requested(a.job_status);
    set_interval(t, a.interval);
    char b1[128], b2[128], d[32];
#define PATCH_FIELDS                                                                               \
    "code=%ld job=%lld job-log=%s job-status=%s runner=%s sent-log=%s status=%s "                  \
    "update-interval=%s"
#define PATCH_LOG(level, msg)                                                                      \
    rlog(g, level, msg, PATCH_FIELDS, a.code, (long long)t->id, a.range,                           \
         fv(a.job_status, b1, sizeof b1), g->runner, cr, fv(a.status, b2, sizeof b2),              \
         go_dur(d, sizeof d, a.interval))
    switch (st) {
    case GLC_PATCH_ABORT:
        PATCH_LOG('W', "Appending trace to coordinator... job failed");
        break;
    case GLC_PATCH_SUCCEEDED:
        PATCH_LOG('I', "Appending trace to coordinator...ok");
        break;
    case GLC_PATCH_NOT_FOUND:
        PATCH_LOG('W', "Appending trace to coordinator... not-found");
        break;
    case GLC_PATCH_RANGE_MISMATCH:
        PATCH_LOG('W', "Appending trace to coordinator... range mismatch");
        break;
    case GLC_PATCH_FAILED:
        PATCH_LOG('W', "Appending trace to coordinator... failed");
        break;
    }
#undef PATCH_LOG
#undef PATCH_FIELDS
    if (st == GLC_PATCH_SUCCEEDED || st == GLC_PATCH_RANGE_MISMATCH) {
        pthread_mutex_lock(&t->mu);
        t->sent_ms = kclient_now_ms();
        size_t off = st == GLC_PATCH_SUCCEEDED ? from + n : (size_t)glclient_range_offset(a.range);
        t->sent = off <= t->len ? off : t->len;
        pthread_mutex_unlock(&t->mu);
    }
    answer_release(&a);
    return st;
}

/* UpdateJob. state "running" for the keep-alive. */
static enum glclient_update_state send_update(struct trace *t, const char *state,
                                              const char *reason, int exit_code, int *cancel_req)
{
    struct gl *g = t->g;
    char sum[32];
    pthread_mutex_lock(&t->mu);
    glclient_checksum(t->crc, sum, sizeof sum);
    size_t size = t->len;
    pthread_mutex_unlock(&t->mu);
    cJSON *req = cJSON_CreateObject(), *out = NULL;
    cJSON *info = runner_info();
    char *body = NULL;
    if (req && info && cJSON_AddItemToObject(req, "info", info))
        info = NULL;
    if (req && cJSON_AddStringToObject(req, "token", t->token) &&
        cJSON_AddStringToObject(req, "state", state) &&
        (!reason || !*reason || cJSON_AddStringToObject(req, "failure_reason", reason)) &&
        cJSON_AddStringToObject(req, "checksum", sum) &&
        (out = cJSON_AddObjectToObject(req, "output")) &&
        cJSON_AddStringToObject(out, "checksum", sum) &&
        cJSON_AddNumberToObject(out, "bytesize", (double)size) &&
        (!exit_code || cJSON_AddNumberToObject(req, "exit_code", exit_code)))
        body = cJSON_PrintUnformatted(req);
    cJSON_Delete(info);
    cJSON_Delete(req);
    if (!body)
        return GLC_UPDATE_FAILED;
    rlog(g, 'I', "Updating job...", "bytesize=%zu checksum=%s job=%lld runner=%s", size, sum,
         (long long)t->id, g->runner);
    char path[64];
    snprintf(path, sizeof path, "jobs/%lld", (long long)t->id);
    struct answer a = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Accept: " GLPROTO_CT_JSON);
    http_do(g, t->curl, "PUT", path, GLPROTO_CT_JSON, body, strlen(body), h, 0, &a);
    free(body);
    enum glclient_update_state st =
        a.code < 0 ? GLC_UPDATE_FAILED : glclient_update_state(a.code, a.job_status);
    *cancel_req = glclient_cancel_requested(a.job_status);
    set_interval(t, a.interval);
    char url[1100], stx[1100], b1[128], b2[1200], d[32];
    snprintf(url, sizeof url, "%s%s", g->api, path);
    status_text(&a, "PUT", url, stx, sizeof stx);
#define UPD_FIELDS                                                                                 \
    "bytesize=%zu checksum=%s code=%ld job=%lld job-status=%s runner=%s update-interval=%s"
#define UPD_LOG(level, msg)                                                                        \
    rlog(g, level, msg, UPD_FIELDS, size, sum, a.code, (long long)t->id,                           \
         fv(a.job_status, b1, sizeof b1), g->runner, go_dur(d, sizeof d, a.interval))
#define UPD_LOG_ST(level, msg)                                                                     \
    rlog(g, level, msg,                                                                            \
         "bytesize=%zu checksum=%s code=%ld job=%lld job-status=%s runner=%s "                     \
         "status=%s update-interval=%s",                                                           \
         size, sum, a.code, (long long)t->id, fv(a.job_status, b1, sizeof b1), g->runner,          \
         fv(stx, b2, sizeof b2), go_dur(d, sizeof d, a.interval))
    if (a.code >= 0 && st == GLC_UPDATE_ABORT &&
        (is_state(a.job_status, "canceled") || is_state(a.job_status, "failed") || a.code == 403))
        UPD_LOG('W', "Submitting job to coordinator... job failed");
    else if (st == GLC_UPDATE_SUCCEEDED)
        UPD_LOG('I', "Submitting job to coordinator...ok");
    else if (st == GLC_UPDATE_ACCEPTED)
        UPD_LOG('I', "Submitting job to coordinator...accepted, but not yet completed");
    else if (st == GLC_UPDATE_TRACE_VALIDATION)
        UPD_LOG('I', "Submitting job to coordinator...trace validation failed");
    else if (st == GLC_UPDATE_ABORT)
        UPD_LOG('W', "Submitting job to coordinator... not found");
    else
        UPD_LOG_ST('W', "Submitting job to coordinator... failed");
#undef UPD_LOG
#undef UPD_LOG_ST
#undef UPD_FIELDS
    if (st == GLC_UPDATE_SUCCEEDED || st == GLC_UPDATE_TRACE_VALIDATION) {
        pthread_mutex_lock(&t->mu);
        t->sent_ms = kclient_now_ms();
        if (st == GLC_UPDATE_TRACE_VALIDATION)
            t->sent = 0;
        pthread_mutex_unlock(&t->mu);
    }
    answer_release(&a);
    return st;
}

static void request_cancel(struct trace *t)
{
    if (t->cancel)
        *t->cancel = 1;
}

/* incrementalUpdate: 0 when the job is to stop (aborted), else 1. */
static int incremental_update(struct trace *t)
{
    int cancel_req = 0;
    enum glclient_patch_state ps = send_patch(t, &cancel_req);
    if (cancel_req)
        request_cancel(t);
    if (ps == GLC_PATCH_ABORT) {
        request_cancel(t);
        return 0;
    }
    if (ps != GLC_PATCH_SUCCEEDED)
        return 1;
    pthread_mutex_lock(&t->mu);
    int refresh = kclient_now_ms() - t->sent_ms > GLCLIENT_FORCE_SEND_MS;
    pthread_mutex_unlock(&t->mu);
    if (!refresh)
        return 1;
    enum glclient_update_state us = send_update(t, "running", NULL, 0, &cancel_req);
    if (cancel_req)
        request_cancel(t);
    if (us == GLC_UPDATE_ABORT) {
        request_cancel(t);
        return 0;
    }
    return 1;
}

/* Wait up to ms for finish; 1 when finished. */
static int wait_finished(struct trace *t, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->finished)
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0)
            break;
    int f = t->finished;
    pthread_mutex_unlock(&t->mu);
    return f;
}

static void *watch(void *arg)
{
    struct trace *t = arg;
    while (!wait_finished(t, get_interval(t)))
        if (!incremental_update(t)) {
            /* no longer running: wait for the job's end */
            while (!wait_finished(t, 1000))
                ;
            break;
        }
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* finish + finalUpdate. 1 when the update was accepted. */
static int trace_finish(struct trace *t, const char *state, const char *reason, int exit_code)
{
    pthread_mutex_lock(&t->mu);
    t->finished = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->started)
        pthread_join(t->th, NULL);
    t->started = 0;
    pthread_mutex_lock(&t->mu);
    t->interval_ms = t->default_interval_ms;
    pthread_mutex_unlock(&t->mu);
    int tries = 0, cancel_req;
    while (tries < GLCLIENT_FINAL_UPDATE_TRIES) {
        /* ensureAllTraceSent */
        for (;;) {
            pthread_mutex_lock(&t->mu);
            int more = t->sent != t->len;
            pthread_mutex_unlock(&t->mu);
            if (!more || tries >= GLCLIENT_FINAL_UPDATE_TRIES)
                break;
            enum glclient_patch_state ps = send_patch(t, &cancel_req);
            if (ps == GLC_PATCH_SUCCEEDED)
                continue;
            if (ps == GLC_PATCH_ABORT || ps == GLC_PATCH_NOT_FOUND)
                break;
            tries++;
            sleep_ms(get_interval(t));
        }
        switch (send_update(t, state, reason, exit_code, &cancel_req)) {
        case GLC_UPDATE_SUCCEEDED:
            return 1;
        case GLC_UPDATE_ABORT:
            return 0;
        default:
            tries++;
            sleep_ms(get_interval(t));
        }
    }
    rlog(t->g, 'E', "Submitting job to coordinator... gave up", "job=%lld runner=%s tries=%d",
         (long long)t->id, t->g->runner, tries);
    return 0;
}

/* ---- the run ---- */

/* Sleep ms in 50 ms steps, ending early on a cancel. */
static void nap(const struct glclient_opts *o, int64_t ms)
{
    int64_t until = kclient_now_ms() + ms;
    while (!(o->cancel && *o->cancel)) {
        int64_t left = until - kclient_now_ms();
        if (left <= 0)
            break;
        sleep_ms(left > 50 ? 50 : (int)left);
    }
}

/* A failed job whose payload the model cannot run: the error into the trace, then the update. */
static void report_unrunnable(struct trace *t, const char *msg)
{
    char line[1200];
    int k =
        snprintf(line, sizeof line,
                 JS_ANSI_BOLD_RED "ERROR: Job failed (system failure): %s" JS_ANSI_RESET "\n", msg);
    trace_write(t, line, (size_t)k < sizeof line ? (size_t)k : sizeof line - 1);
    trace_finish(t, "failed", "runner_system_failure", 0);
}

int glclient_run(const struct glclient_opts *o, struct jobclient_result *res,
                 struct glclient_result *gr)
{
    memset(res, 0, sizeof *res);
    memset(gr, 0, sizeof *gr);
    gr->state = "";
    int rc = 2;
    struct gl g = {.o = o};
    CURL *rc_curl = NULL;
    cJSON *payload = NULL, *doc = NULL, *jobsec = NULL;
    struct trace *t = NULL;
    struct jobconfig cfg;
    int have_cfg = 0;
    pthread_mutex_init(&g.log_mu, NULL);
    if (!o->url || !*o->url || !o->token || !*o->token) {
        snprintf(gr->error, sizeof gr->error, "GitLab mode needs a URL and a runner token");
        goto out;
    }
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        snprintf(gr->error, sizeof gr->error,
                 "GitLab URL \"%s\": only http or https scheme supported", o->url);
        goto out;
    }
    /* fixCIURL */
    size_t ul = strlen(o->url);
    while (ul && o->url[ul - 1] == '/')
        ul--;
    if (ul >= 3 && strncmp(o->url + ul - 3, "/ci", 3) == 0)
        ul -= 3;
    snprintf(g.api, sizeof g.api, "%.*s/api/v4/", (int)ul, o->url);
    short_token(o->token, g.runner, sizeof g.runner);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(rc_curl = curl_easy_init())) {
        snprintf(gr->error, sizeof gr->error, "libcurl could not start");
        goto out;
    }

    /* the polling loop (commands/multi.go): ask, and after no job wait check_interval */
    int64_t wait = o->wait_job_ms > 0 ? o->wait_job_ms : GLCLIENT_WAIT_JOB_MS;
    int64_t deadline = kclient_now_ms() + wait;
    int interval =
        o->check_interval_ms > 0 ? o->check_interval_ms : GLCLIENT_CHECK_INTERVAL_S * 1000;
    enum glclient_request_state last = GLC_REQUEST_NOTHING;
    while (!(o->cancel && *o->cancel) && kclient_now_ms() < deadline) {
        last = request_job(&g, rc_curl, deadline, &payload);
        gr->requests++;
        if (last == GLC_REQUEST_JOB)
            break;
        if (last == GLC_REQUEST_NOTHING && kclient_now_ms() < deadline)
            gr->nothing++; /* not a request our own bound cut while GitLab held it */
        int64_t left = deadline - kclient_now_ms();
        nap(o, left < interval ? left : interval);
    }
    if (!payload) {
        char d[32];
        snprintf(gr->error, sizeof gr->error,
                 "no job from %s within %s (%u jobs/request, %u answered 204 No Content)%s", o->url,
                 jobclient_go_duration(d, sizeof d, (wait + 999) / 1000), gr->requests, gr->nothing,
                 o->cancel && *o->cancel ? ", canceled" : "");
        rc = GLCLIENT_EXIT_NO_JOB;
        goto out;
    }
    gr->got_job = 1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(payload, "id");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(payload, "token");
    gr->job_id = json_int_clamp(id, INT64_MIN, INT64_MAX, 0);

    t = calloc(1, sizeof *t);
    if (!t || !(t->curl = curl_easy_init())) {
        snprintf(gr->error, sizeof gr->error, "out of memory");
        goto out;
    }
    t->g = &g;
    t->id = gr->job_id;
    snprintf(t->token, sizeof t->token, "%s", cJSON_IsString(tok) ? tok->valuestring : "");
    t->cancel = o->cancel;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->default_interval_ms =
        o->update_interval_ms > 0 ? o->update_interval_ms : GLCLIENT_UPDATE_INTERVAL_S * 1000;
    t->interval_ms = t->default_interval_ms;
    t->sent_ms = kclient_now_ms();

    /* the job section from the payload, validated as any configuration */
    char err[512] = "";
    doc = o->config ? cJSON_Duplicate(o->config, 1) : cJSON_CreateObject();
    jobsec = doc ? jobconfig_job_from_payload(payload, err, sizeof err) : NULL;
    if (!doc || !jobsec) {
        snprintf(gr->error, sizeof gr->error, "%s", err[0] ? err : "out of memory");
        report_unrunnable(t, gr->error);
        gr->state = "failed";
        snprintf(gr->failure_reason, sizeof gr->failure_reason, "runner_system_failure");
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "job");
    if (!cJSON_AddItemToObject(doc, "job", jobsec)) {
        cJSON_Delete(jobsec);
        jobsec = NULL;
        snprintf(gr->error, sizeof gr->error, "out of memory");
        goto out;
    }
    jobsec = NULL;
    struct diag d;
    diag_init(&d, "gitlab job");
    if (jobconfig_from_json(doc, &cfg, &d) < 0) {
        snprintf(gr->error, sizeof gr->error, "%s", d.n ? d.msgs[0] : "invalid job");
        diag_release(&d);
        report_unrunnable(t, gr->error);
        gr->state = "failed";
        snprintf(gr->failure_reason, sizeof gr->failure_reason, "runner_system_failure");
        goto out;
    }
    diag_release(&d);
    have_cfg = 1;

    if (pthread_create(&t->th, NULL, watch, t) == 0)
        t->started = 1;
    struct jobclient_opts jo = {.cfg = &cfg,
                                .kubeconfig = o->kubeconfig,
                                .log = o->log,
                                .color = o->color,
                                .seed = o->seed,
                                .cancel = o->cancel,
                                .prepare_retry_ms = o->prepare_retry_ms,
                                .on_trace = trace_write,
                                .trace_arg = t};
    rc = jobclient_run(&jo, res);
    gr->state = res->success ? "success" : "failed";
    const char *reason = res->success ? "" : glclient_failure_reason(payload, res->failure_reason);
    snprintf(gr->failure_reason, sizeof gr->failure_reason, "%s", reason);
    gr->updated = trace_finish(t, gr->state, reason, res->success ? 0 : res->exit_code);
out:
    if (t) {
        if (t->started) {
            pthread_mutex_lock(&t->mu);
            t->finished = 1;
            pthread_cond_broadcast(&t->cv);
            pthread_mutex_unlock(&t->mu);
            pthread_join(t->th, NULL);
        }
        if (t->curl) {
            pthread_mutex_destroy(&t->mu);
            pthread_cond_destroy(&t->cv);
            curl_easy_cleanup(t->curl);
        }
        free(t->buf);
        free(t);
    }
    if (have_cfg)
        jobconfig_release(&cfg);
    cJSON_Delete(doc);
    cJSON_Delete(payload);
    if (rc_curl)
        curl_easy_cleanup(rc_curl);
    pthread_mutex_destroy(&g.log_mu);
    return rc;
}
