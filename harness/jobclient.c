/* jobclient.c -- the reference job client (jobclient.h): GitLab Runner 19.x's Kubernetes executor
 * for one job, single-threaded and blocking. Where the runner runs goroutines side by side (the
 * per-stage pod poller, the read-logs processor, the informer), this loop takes turns between
 * them in slices of at most SLICE_MS, so each is served within that delay. Section numbers are
 * runner-k8s-executor.md's. */
#include "harness/jobclient.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "harness/jobconfig.h"
#include "harness/jobscript.h"
#include "harness/kcconfig.h"
#include "harness/kclient.h"
#include "harness/informer.h"
#include "harness/rcclient.h"
#include "mockapi/base/json.h"
#include "mockapi/base/rng.h"
#include "mockapi/stream/runnerproto.h"

#define SLICE_MS 50               /* longest turn one activity gets while others wait */
#define OPEN_TIMEOUT_MS 60000     /* bound on one exec/attach upgrade (client-go has none) */
#define CANCEL_EXEC_MS 30000      /* bound on the cancellation exec after a timeout */
#define AFTER_SCRIPT_TIMEOUT 300  /* s: common.AfterScriptTimeout */
#define MAX_CONTAINERS 64         /* build, helper, init-permissions and services */
#define MAX_SEEN_EVENTS 1024      /* Warning events remembered for de-duplication */
#define LINE_MAX_BYTES (1u << 20) /* a read-logs line longer than this is cut */
#define DOC_URL "https://docs.gitlab.com/runner/shells/#shell-profile-loading"
#define INFORMERS_URL "https://docs.gitlab.com/runner/executors/kubernetes/#informers"
#define TIMEOUT_DOC_URL                                                                            \
    "https://docs.gitlab.com/ci/runners/configure_runners/#set-script-and-after_script-timeouts"

/* ---- errors: the Go error values the runner passes around, as text plus what errors.As finds */

struct jerr {
    int set;
    int build;       /* a common.BuildError somewhere in the chain */
    char reason[40]; /* its FailureReason ("" = script_failure) */
    int exit_code;   /* commandTerminatedError / exec CodeExitError */
    int has_exit_code;
    int pod_not_found;   /* IsKubernetesPodNotFoundError */
    int pod_failed;      /* podPhaseError with phase Failed */
    int container_error; /* podContainerError */
    int image_pull;      /* pull.ImagePullError */
    char image[256];
    char container[64];
    int aborted; /* "build aborted": the job's context ended */
    int network; /* a transport error (for checkScriptExecution) */
    int watcher; /* reported by the pod watcher: ends the stage, never retried */
    char msg[JOBCLIENT_ERR_MAX];
};

static void jerr_clear(struct jerr *e)
{
    memset(e, 0, sizeof *e);
}

static void jerr_setf(struct jerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jerr_setf(struct jerr *e, const char *fmt, ...)
{
    jerr_clear(e);
    e->set = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* fmt.Errorf("<prefix>: %w", err) */
static void jerr_wrap(struct jerr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jerr_wrap(struct jerr *e, const char *fmt, ...)
{
    char prefix[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    size_t pl = strlen(prefix);
    memcpy(prefix + pl, ": ", 3);
    pl += 2;
    size_t ol = strlen(e->msg);
    if (pl + ol >= sizeof e->msg)
        ol = sizeof e->msg - pl - 1;
    memmove(e->msg + pl, e->msg, ol);
    memcpy(e->msg, prefix, pl);
    e->msg[pl + ol] = '\0';
}

static void jerr_from_resp(struct jerr *e, const struct kc_resp *r)
{
    jerr_setf(e, "%s", r->err);
    e->pod_not_found = kc_is_pod_not_found(r);
    e->network = r->kind == KC_ERR_TRANSPORT;
}

/* ---- the job ---- */

struct container_pull {
    char name[64];
    char policies[4][16]; /* Kubernetes names, "" for the cluster default */
    int n, cur;
    char image[512];
};

struct job {
    const struct jobclient_opts *o;
    const struct jobconfig *c;
    struct jobclient_result *res;
    FILE *log;
    struct rng rng;
    struct js_paths paths;
    struct kc_config kcfg;
    struct kclient *kc;
    int legacy;
    int64_t start_ms;
    int64_t deadline; /* the job's context: start + timeout */
    int timed_out, canceled;

    char ns[128];
    char base[128]; /* runner-<token8>-project-<id>-concurrent-0 */
    char token8[16];
    char image[512]; /* the build image */
    char pod[256];   /* "" while there is no pod */
    char pod_uid[128];
    int have_secret;
    char secret[256];
    int secret_owned; /* the secret we hold carries ownerReferences */

    struct container_pull pulls[MAX_CONTAINERS];
    size_t npulls;

    /* the last status marker (remoteStageStatus) and the exit it announced */
    int remote_set;
    char remote_script[RP_PATH_MAX];
    int exit_pending;
    int64_t exit_code;

    /* read-logs (§4.2) */
    struct rcc *rl;
    int rl_started;
    int64_t rl_offset;
    int rl_attempt;
    int64_t rl_next;

    /* Warning events printed (uid:count) */
    char *seen[MAX_SEEN_EVENTS];
    size_t nseen;

    struct informer *informer;

    /* the service containers' names (first DNS-1123 alias unused, else svc-N) */
    char svc_names[MAX_CONTAINERS][64];
    size_t nsvc;
};

static int64_t now_ms(void)
{
    return kclient_now_ms();
}

static int ctx_done(struct job *j)
{
    if (j->o->cancel && *j->o->cancel)
        j->canceled = 1;
    if (now_ms() >= j->deadline)
        j->timed_out = 1;
    return j->canceled || j->timed_out;
}

/* ---- the job log ---- */

/* Write s without ANSI escape sequences and section markers unless colours were asked for. */
static void put(struct job *j, const char *s, size_t n)
{
    if (j->o->on_trace)
        j->o->on_trace(j->o->trace_arg, s, n);
    if (j->o->color) {
        fwrite(s, 1, n, j->log);
        return;
    }
    for (size_t i = 0; i < n;) {
        if (s[i] == '\033' && i + 1 < n && s[i + 1] == '[') {
            size_t k = i + 2;
            while (k < n && !((unsigned char)s[k] >= 0x40 && (unsigned char)s[k] <= 0x7e))
                k++;
            i = k < n ? k + 1 : n;
            continue;
        }
        if ((n - i >= 14 && memcmp(s + i, "section_start:", 14) == 0) ||
            (n - i >= 12 && memcmp(s + i, "section_end:", 12) == 0)) {
            const char *cr = memchr(s + i, '\r', n - i);
            if (cr) {
                i = (size_t)(cr - s) + 1;
                continue;
            }
        }
        fputc(s[i], j->log);
        i++;
    }
}

static void vline(struct job *j, const char *pre, const char *post, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vline(struct job *j, const char *pre, const char *post, const char *fmt, va_list ap)
{
    char buf[JOBCLIENT_ERR_MAX + 1024];
    int k = snprintf(buf, sizeof buf, "%s", pre);
    vsnprintf(buf + k, sizeof buf - (size_t)k, fmt, ap);
    size_t l = strlen(buf);
    snprintf(buf + l, sizeof buf - l, "%s\n", post);
    put(j, buf, strlen(buf));
    fflush(j->log);
}

/* BuildLogger.Println */
static void logln(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logln(struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(j, "", "", fmt, ap);
    va_end(ap);
}

/* BuildLogger.Warningln */
static void warnln(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnln(struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(j, JS_ANSI_YELLOW "WARNING: ", JS_ANSI_RESET, fmt, ap);
    va_end(ap);
}

/* BuildLogger.Errorln / SoftErrorln */
static void errorln(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorln(struct job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(j, JS_ANSI_BOLD_RED "ERROR: ", JS_ANSI_RESET, fmt, ap);
    va_end(ap);
}

static void section_start(struct job *j, const char *name, const char *header)
{
    /* put() drops the marker from the printed log unless colours were asked for; the trace
     * always has it, as the runner's */
    char m[256];
    int k =
        snprintf(m, sizeof m, "section_start:%lld:%s\r" JS_ANSI_CLEAR, (long long)time(NULL), name);
    put(j, m, k < 0 ? 0 : (size_t)k < sizeof m ? (size_t)k : sizeof m - 1);
    logln(j, JS_ANSI_BOLD_CYAN "%s" JS_ANSI_RESET, header);
}

static void section_end(struct job *j, const char *name)
{
    char m[256];
    int k =
        snprintf(m, sizeof m, "section_end:%lld:%s\r" JS_ANSI_CLEAR, (long long)time(NULL), name);
    put(j, m, k < 0 ? 0 : (size_t)k < sizeof m ? (size_t)k : sizeof m - 1);
    fflush(j->log);
}

/* ---- small helpers ---- */

char *jobclient_go_duration(char *buf, size_t len, int64_t s)
{
    if (s < 60)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, len, "%lldh%lldm%llds", (long long)(s / 3600), (long long)(s % 3600 / 60),
                 (long long)(s % 60));
    return buf;
}

int64_t jobclient_backoff_ms(int n, int retry_backoff_max_ms)
{
    int64_t max = retry_backoff_max_ms > JOBCONFIG_RETRY_BACKOFF_MIN ? retry_backoff_max_ms
                                                                     : JOBCONFIG_RETRY_BACKOFF_MIN;
    int64_t d = JOBCONFIG_RETRY_BACKOFF_MIN;
    for (int i = 1; i < n && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

/* §6: retryNetworkErrorsGroup, kept verbatim, and the Go texts of the errno values it matches. */
static const char *const network_errors[] = {"error dialing backend",
                                             "TLS handshake timeout",
                                             "read: connection timed out",
                                             "connect: connection timed out",
                                             "Timeout occurred",
                                             "etcdserver: request timed out",
                                             "http2: client connection lost",
                                             "connection refused",
                                             "tls: internal error",
                                             "unexpected EOF",
                                             "connection reset by peer",
                                             "software caused connection abort",
                                             "broken pipe",
                                             NULL};

static int is_network_error(const char *err)
{
    for (size_t i = 0; network_errors[i]; i++)
        if (strstr(err, network_errors[i]))
            return 1;
    return 0;
}

int jobclient_retryable(const struct jobconfig *c, const char *err, int *limit)
{
    *limit = c->retry_limit;
    for (size_t i = 0; i < c->nretry_limits; i++)
        if (strstr(err, c->retry_limits[i].substring)) {
            *limit = c->retry_limits[i].limit;
            return 1;
        }
    return is_network_error(err);
}

/* MakeRFC1123Compatible: lower case, [a-z0-9-] kept, anything else '-', trimmed of '-'. */
static void rfc1123(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = '-';
    }
    size_t n = strlen(s);
    while (n && s[n - 1] == '-')
        s[--n] = '\0';
    size_t a = strspn(s, "-");
    memmove(s, s + a, strlen(s + a) + 1);
}

/* generateNameForK8sResources: the pattern, '-', 8 random [a-z0-9] (§2 names). */
static void k8s_name(struct job *j, const char *pattern, char *out, size_t len)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char suf[9];
    for (int i = 0; i < 8; i++)
        suf[i] = chars[rng_below(&j->rng, sizeof chars - 1)];
    suf[8] = '\0';
    snprintf(out, len, "%.54s-%s", pattern, suf);
}

/* sanitizeLabel */
static void sanitize_label(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < len; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.';
        out[o++] = ok ? ch : '_';
    }
    out[o] = '\0';
    size_t a = strspn(out, "-_.");
    memmove(out, out + a, strlen(out + a) + 1);
    size_t n = strlen(out);
    if (n > 63)
        out[n = 63] = '\0';
    while (n && strchr("-_.", out[n - 1]))
        out[--n] = '\0';
}

/* A request path with a Go-encoded query (url.Values.Encode: keys sorted by the caller). */
struct qb {
    char buf[KC_PATH_MAX];
    size_t n;
    int params;
};

static void qb_path(struct qb *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qb_path(struct qb *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->buf, sizeof q->buf, fmt, ap);
    va_end(ap);
    q->n = strlen(q->buf);
    q->params = 0;
}

static void qb_add(struct qb *q, const char *key, const char *value)
{
    if (q->n + 2 >= sizeof q->buf)
        return;
    q->buf[q->n++] = q->params++ ? '&' : '?';
    q->buf[q->n] = '\0';
    kc_query_escape(q->buf, sizeof q->buf, &q->n, key);
    if (q->n + 2 >= sizeof q->buf)
        return;
    q->buf[q->n++] = '=';
    q->buf[q->n] = '\0';
    kc_query_escape(q->buf, sizeof q->buf, &q->n, value);
}

static const char *jstr(const cJSON *o, const char *path)
{
    char key[128];
    const cJSON *cur = o;
    const char *p = path;
    while (cur && *p) {
        size_t l = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)l, p);
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        p += l;
        if (*p == '.')
            p++;
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

/* One API call, counted. */
static int api(struct job *j, const char *method, const char *path, const cJSON *body,
               int64_t deadline, struct kc_resp *r)
{
    j->res->requests++;
    return kclient_do(j->kc, method, path, body, deadline, r);
}

/* The runner's retry (§6) around op: retried while the error is retryable and attempts remain,
 * sleeping the backoff; no message in the job log. The deadline ends the sleeps. */
typedef int (*op_fn)(struct job *j, void *arg, struct jerr *e);

static int with_retry(struct job *j, op_fn op, void *arg, struct jerr *e, int64_t deadline)
{
    for (int attempt = 1;; attempt++) {
        jerr_clear(e);
        if (op(j, arg, e) == 0)
            return 0;
        if (e->watcher)
            return -1;
        int limit;
        if (!jobclient_retryable(j->c, e->msg, &limit) || attempt >= limit)
            return -1;
        if (kclient_sleep_ms(jobclient_backoff_ms(attempt, j->c->retry_backoff_max_ms), deadline) <
            0)
            return -1;
    }
}

/* ---- pod GETs ---- */

struct get_pod {
    cJSON *pod;
    int64_t deadline;
};

static int op_get_pod(struct job *j, void *arg, struct jerr *e)
{
    struct get_pod *g = arg;
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", j->ns, j->pod);
    struct kc_resp r;
    if (api(j, "GET", path, NULL, g->deadline, &r) < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    cJSON_Delete(g->pod);
    g->pod = r.body;
    r.body = NULL;
    kc_resp_release(&r);
    return g->pod ? 0 : (jerr_setf(e, "empty pod in the answer"), -1);
}

static const cJSON *container_status(const cJSON *pod, const char *list, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(
        it, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, "status"), list))
    {
        const char *n = jstr(it, "name");
        if (n && strcmp(n, name) == 0)
            return it;
    }
    return NULL;
}

/* ---- stream sessions (exec, attach, read-logs) ---- */

/* The Go error of a failed upgrade (§4.3). */
static void open_error(struct job *j, const char *path, const struct rcc_result *r, struct jerr *e)
{
    char url[KC_PATH_MAX + 256], cause[1024];
    snprintf(url, sizeof url, "%s%s", kclient_server(j->kc), path);
    switch (r->fail) {
    case RCC_FAIL_HTTP: {
        cJSON *st = cJSON_ParseWithLength(r->body, r->body_len);
        const char *kind = jstr(st, "kind"), *msg = jstr(st, "message");
        if (kind && strcmp(kind, "Status") == 0 && msg) {
            jerr_setf(e, "%s", msg);
            const char *dk = jstr(st, "details.kind");
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(st, "code");
            e->pod_not_found =
                dk && strcmp(dk, "pods") == 0 && cJSON_IsNumber(code) && code->valueint == 404;
        } else {
            size_t a = 0, n = r->body_len;
            while (a < n && strchr(" \t\r\n", r->body[a]))
                a++;
            while (n > a && strchr(" \t\r\n", r->body[n - 1]))
                n--;
            jerr_setf(e, "unable to upgrade connection: %.*s", (int)(n - a), r->body + a);
        }
        cJSON_Delete(st);
        return;
    }
    case RCC_FAIL_DIAL:
        if (r->sys_errno == 0) {
            struct rcc_opts ro;
            int port;
            memset(&ro, 0, sizeof ro);
            kclient_stream_opts(j->kc, &ro, &port);
            snprintf(cause, sizeof cause, "dial tcp: lookup %s: no such host", ro.host);
        } else if (r->sys_errno == ETIMEDOUT)
            snprintf(cause, sizeof cause, "dial tcp %s: i/o timeout", r->remote);
        else
            snprintf(cause, sizeof cause, "dial tcp %s: connect: %s", r->remote,
                     r->sys_errno == ECONNREFUSED ? "connection refused" : strerror(r->sys_errno));
        break;
    case RCC_FAIL_TLS:
        if (r->sys_errno == ETIMEDOUT)
            snprintf(cause, sizeof cause, "net/http: TLS handshake timeout");
        else if (r->tls_verify)
            snprintf(cause, sizeof cause,
                     "tls: failed to verify certificate: x509: certificate signed by unknown "
                     "authority");
        else if (r->sys_errno == ECONNRESET)
            snprintf(cause, sizeof cause, "read tcp %s->%s: read: connection reset by peer",
                     r->local, r->remote);
        else
            snprintf(cause, sizeof cause, "EOF");
        break;
    case RCC_FAIL_IO:
        if (r->sys_errno == ECONNRESET)
            snprintf(cause, sizeof cause, "read tcp %s->%s: read: connection reset by peer",
                     r->local, r->remote);
        else if (r->sys_errno)
            snprintf(cause, sizeof cause, "read tcp %s->%s: read: %s", r->local, r->remote,
                     strerror(r->sys_errno));
        else
            snprintf(cause, sizeof cause, "EOF");
        break;
    case RCC_FAIL_TIMEOUT:
        snprintf(cause, sizeof cause, "context deadline exceeded");
        break;
    default:
        jerr_setf(e, "%s", r->err);
        return;
    }
    jerr_setf(e, "error sending request: Post \"%s\": %s", url, cause);
    e->network = 1;
}

static struct rcc *stream_open(struct job *j, const char *path, int in, int out, int err_,
                               int64_t deadline, struct jerr *e)
{
    struct rcc_opts ro;
    memset(&ro, 0, sizeof ro);
    int port;
    kclient_stream_opts(j->kc, &ro, &port);
    ro.transport = RCC_SPDY; /* §4.3: the runner never uses WebSocket */
    ro.path_and_query = path;
    ro.stdin_ = in;
    ro.stdout_ = out;
    ro.stderr_ = err_;
    ro.ping_ms = JOBCLIENT_SPDY_PING_MS;
    int64_t left = deadline - now_ms();
    int tmo = left < OPEN_TIMEOUT_MS ? (int)(left > 1 ? left : 1) : OPEN_TIMEOUT_MS;
    struct rcc_result *rr = calloc(1, sizeof *rr);
    if (!rr) {
        jerr_setf(e, "out of memory");
        return NULL;
    }
    j->res->requests++;
    struct rcc *c = rcc_open_ex(port, &ro, tmo, rr);
    if (!c)
        open_error(j, path, rr, e);
    free(rr);
    return c;
}

/* client-go's errorDecoderV4 on the error stream: 0 Success (or empty), 1 with the exit code in
 * e (CodeExitError), -1 another Failure in e. */
static int decode_status(const char *st, struct jerr *e)
{
    if (!st || !*st)
        return 0;
    cJSON *j = cJSON_Parse(st);
    int rc = 0;
    const char *status = jstr(j, "status"), *reason = jstr(j, "reason"), *msg = jstr(j, "message");
    if (!j) {
        jerr_setf(e, "error stream protocol error: %s", st);
        return -1;
    }
    if (status && strcmp(status, "Success") == 0)
        goto out;
    if (status && strcmp(status, "Failure") == 0 && reason &&
        strcmp(reason, "NonZeroExitCode") == 0) {
        const cJSON *cause;
        cJSON_ArrayForEach(cause, cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(j, "details"), "causes"))
        {
            const char *r = jstr(cause, "reason"), *m = jstr(cause, "message");
            if (!r || strcmp(r, "ExitCode") != 0)
                continue;
            char *end;
            long v = m ? strtol(m, &end, 10) : -1;
            if (m && *m && !*end && v >= 0 && v <= 255) {
                jerr_setf(e, "command terminated with exit code %ld", v);
                e->exit_code = (int)v;
                e->has_exit_code = 1;
                rc = 1;
                goto out;
            }
            jerr_setf(e, "error stream protocol error: invalid exit code value %s", m ? m : "\"\"");
            rc = -1;
            goto out;
        }
        jerr_setf(e, "error stream protocol error: no exit code in %s", st);
        rc = -1;
        goto out;
    }
    jerr_setf(e, "%s", msg ? msg : "error stream protocol error");
    rc = -1;
out:
    cJSON_Delete(j);
    return rc;
}

/* Print what arrived on an exec's stdout/stderr since the last call. */
static void drain_output(struct job *j, struct rcc *c, int show)
{
    size_t n;
    const char *o = rcc_stdout(c, &n);
    if (n) {
        if (show)
            put(j, o, n);
        rcc_drain_stdout(c, n);
    }
    o = rcc_stderr(c, &n);
    if (n) {
        if (show)
            put(j, o, n);
        rcc_drain_stderr(c, n);
    }
    fflush(j->log);
}

/* ExecOptions.Run / AttachOptions.Run: GET pod (Running required), then the session. */
struct exec_op {
    const char *container;
    const char *const *argv; /* NULL: attach */
    const char *input;       /* stdin bytes (a script, or the attach line) */
    int outputs;             /* ask for stdout and stderr, shown in the job log */
    int64_t deadline;
    int stage_check; /* attach: checkScriptExecution for this stage */
    int watch;       /* legacy stage: the pod watcher's errors end it (§3.2) */
    const char *stage;
};

static int run_session(struct job *j, struct rcc *c, const struct exec_op *x, struct jerr *e)
{
    if (x->input &&
        (rcc_write_stdin(c, x->input, strlen(x->input)) < 0 || rcc_close_stdin(c) < 0)) {
        /* client-go ignores stdin copy errors; the error stream decides */
    }
    for (;;) {
        drain_output(j, c, x->outputs);
        if (rcc_status_done(c))
            break;
        if (rcc_conn_closed(c))
            break; /* the error stream ended with the connection: client-go reads that as
                      success (§2.5, issue #4119) */
        if (now_ms() >= x->deadline || (j->o->cancel && *j->o->cancel)) {
            jerr_setf(e, "context deadline exceeded");
            return -1;
        }
        if (x->watch && j->informer) {
            char ie[INFORMER_ERR_MAX];
            if (informer_poll(j->informer, 0, 1, ie, sizeof ie) == 1) {
                jerr_setf(e, "%s", ie);
                e->watcher = 1;
                return -1;
            }
        }
        int64_t left = x->deadline - now_ms();
        rcc_pump(c, left < SLICE_MS ? (int)(left > 1 ? left : 1) : SLICE_MS);
    }
    drain_output(j, c, x->outputs);
    return decode_status(rcc_status(c), e) == 0 ? 0 : -1;
}

static int op_exec(struct job *j, void *arg, struct jerr *e)
{
    const struct exec_op *x = arg;
    struct get_pod g = {NULL, x->deadline};
    if (op_get_pod(j, &g, e) < 0) {
        jerr_wrap(e, "couldn't get pod details");
        return -1;
    }
    const char *phase = jstr(g.pod, "status.phase");
    if (!phase || strcmp(phase, "Running") != 0) {
        char qp[128], qn[300];
        js_go_quote(qp, sizeof qp, phase ? phase : "");
        js_go_quote(qn, sizeof qn, j->pod);
        if (x->argv)
            jerr_setf(e,
                      "pod %s (on namespace '%s') is not running and cannot execute commands; "
                      "current phase is %s",
                      qn, j->ns, qp);
        else
            jerr_setf(e,
                      "pod %s (on namespace \"%s\") is not running and cannot execute commands; "
                      "current phase is %s",
                      qn, j->ns, qp);
        cJSON_Delete(g.pod);
        return -1;
    }
    cJSON_Delete(g.pod);
    struct qb q;
    if (x->argv) {
        /* §4.3: command= per word, container= twice, then the stream flags, keys sorted */
        qb_path(&q, "/api/v1/namespaces/%s/pods/%s/exec", j->ns, j->pod);
        for (size_t i = 0; x->argv[i]; i++)
            qb_add(&q, "command", x->argv[i]);
        qb_add(&q, "container", x->container);
        qb_add(&q, "container", x->container);
        if (x->outputs)
            qb_add(&q, "stderr", "true");
        qb_add(&q, "stdin", "true");
        if (x->outputs)
            qb_add(&q, "stdout", "true");
    } else {
        qb_path(&q, "/api/v1/namespaces/%s/pods/%s/attach", j->ns, j->pod);
        qb_add(&q, "container", x->container);
        qb_add(&q, "stdin", "true");
    }
    struct rcc *c = stream_open(j, q.buf, 1, x->outputs, x->outputs, x->deadline, e);
    int rc = c ? run_session(j, c, x, e) : -1;
    if (c)
        rcc_finish(c, 100);
    rcc_free(c);
    if (rc < 0 && x->stage_check && !e->network && j->remote_set) {
        /* checkScriptExecution: a non-network error after the stage already started is not an
         * error (the stage must not run twice) */
        char want[RP_PATH_MAX];
        snprintf(want, sizeof want, "%s/%s", j->paths.scripts_dir, x->stage);
        if (strcmp(j->remote_script, want) == 0) {
            jerr_clear(e);
            return 0;
        }
    }
    return rc;
}

/* runInContainerWithExec: the exec with the runner's retry; an exit code becomes a BuildError. */
static int exec_retry(struct job *j, struct exec_op *x, struct jerr *e)
{
    if (with_retry(j, op_exec, x, e, x->deadline) == 0)
        return 0;
    if (e->has_exit_code)
        e->build = 1;
    return -1;
}

/* ---- read-logs (§2.2 step 17, §4.2) ---- */

static void rl_close(struct job *j)
{
    if (j->rl) {
        rcc_finish(j->rl, 50);
        rcc_free(j->rl);
        j->rl = NULL;
    }
}

/* One read-logs line (without its newline): "<offset> <text>" or bare text. */
static void rl_line(struct job *j, const char *line, size_t len)
{
    const char *text = line;
    size_t tl = len;
    const char *sp = memchr(line, ' ', len);
    if (sp && sp > line) {
        int digits = 1;
        for (const char *p = line; p < sp; p++)
            digits &= *p >= '0' && *p <= '9';
        if (digits && sp - line < 20) {
            j->rl_offset = strtoll(line, NULL, 10);
            text = sp + 1;
            tl = len - (size_t)(sp - line) - 1;
        }
    }
    struct rp_status st;
    if (rp_is_status_marker(text, tl, &st)) {
        /* forwardLogLine: markers set remoteStageStatus and are not written to the trace */
        j->remote_set = 1;
        snprintf(j->remote_script, sizeof j->remote_script, "%s", st.has_script ? st.script : "");
        if (st.has_exit_code) {
            j->exit_pending = 1;
            j->exit_code = st.exit_code;
        }
        return;
    }
    put(j, text, tl);
    put(j, "\n", 1);
}

static void rl_parse(struct job *j)
{
    for (int s = 0; s < 2 && j->rl; s++) {
        size_t n;
        const char *d = s == 0 ? rcc_stdout(j->rl, &n) : rcc_stderr(j->rl, &n);
        size_t used = 0;
        for (;;) {
            const char *nl = memchr(d + used, '\n', n - used);
            if (!nl)
                break;
            rl_line(j, d + used, (size_t)(nl - d - used));
            used = (size_t)(nl - d) + 1;
        }
        if (n - used > LINE_MAX_BYTES) {
            rl_line(j, d + used, n - used);
            used = n;
        }
        if (s == 0)
            rcc_drain_stdout(j->rl, used);
        else
            rcc_drain_stderr(j->rl, used);
    }
    fflush(j->log);
}

/* Open the read-logs exec (no GET pod first, not retried: its own reconnect loop). */
static void rl_open(struct job *j)
{
    char off[32];
    snprintf(off, sizeof off, "%lld", (long long)j->rl_offset);
    const char *argv[] = {"gitlab-runner-helper", "read-logs", "--path",
                          j->paths.log_file,      "--offset",  off,
                          "--wait-file-timeout",  "1m0s",      NULL};
    struct qb q;
    qb_path(&q, "/api/v1/namespaces/%s/pods/%s/exec", j->ns, j->pod);
    for (size_t i = 0; argv[i]; i++)
        qb_add(&q, "command", argv[i]);
    qb_add(&q, "container", "helper");
    qb_add(&q, "container", "helper");
    qb_add(&q, "stderr", "true");
    qb_add(&q, "stdout", "true");
    struct jerr e;
    jerr_clear(&e);
    j->rl = stream_open(j, q.buf, 0, 1, 1, now_ms() + OPEN_TIMEOUT_MS, &e);
    if (!j->rl) {
        /* "Error %v. Retrying..." goes to the runner's own log only */
        j->rl_attempt++;
        int64_t d = (int64_t)JOBCLIENT_READ_LOGS_BACKOFF_MIN
                    << (j->rl_attempt < 6 ? j->rl_attempt : 6);
        j->rl_next =
            now_ms() + (d < JOBCLIENT_READ_LOGS_BACKOFF_MAX ? d : JOBCLIENT_READ_LOGS_BACKOFF_MAX);
    }
}

/* Serve the read-logs stream for up to ms: reconnect when due, read, hand lines on. */
static void rl_pump(struct job *j, int ms)
{
    if (!j->rl_started)
        return;
    if (!j->rl) {
        if (now_ms() >= j->rl_next)
            rl_open(j);
        if (!j->rl) {
            int64_t w = j->rl_next - now_ms();
            kclient_sleep_ms(w < ms ? w : ms, 0);
            return;
        }
    }
    rcc_pump(j->rl, ms);
    rl_parse(j);
    if (rcc_status_done(j->rl) || rcc_conn_closed(j->rl)) {
        struct jerr e;
        jerr_clear(&e);
        int st = rcc_status_done(j->rl) ? decode_status(rcc_status(j->rl), &e) : 0;
        rl_parse(j);
        rl_close(j);
        if (st == 1 && e.exit_code == 100) {
            /* the output log was deleted: fail the stage, start over at offset 0 */
            j->rl_offset = 0;
            warnln(j, "Error processing the log file: output log file deleted, cannot continue %s",
                   e.msg);
            j->exit_pending = 1;
            j->exit_code = 100;
        }
        /* anything else: reconnect with --offset after the backoff (§4.2) */
        j->rl_attempt++;
        int64_t d = (int64_t)JOBCLIENT_READ_LOGS_BACKOFF_MIN
                    << (j->rl_attempt < 6 ? j->rl_attempt : 6);
        j->rl_next =
            now_ms() + (d < JOBCLIENT_READ_LOGS_BACKOFF_MAX ? d : JOBCLIENT_READ_LOGS_BACKOFF_MAX);
    }
}

/* ---- pull policies (§7.8) ---- */

static const char *k8s_policy(const char *docker)
{
    if (strcmp(docker, "always") == 0)
        return "Always";
    if (strcmp(docker, "if-not-present") == 0)
        return "IfNotPresent";
    if (strcmp(docker, "never") == 0)
        return "Never";
    return "";
}

/* fmt's %v of a []api.PullPolicy */
static void policy_list(char *const *docker, size_t n, char *out, size_t len)
{
    size_t o = (size_t)snprintf(out, len, "[");
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s", i ? " " : "", k8s_policy(docker[i]));
    if (o < len)
        snprintf(out + o, len - o, "]");
}

int jobclient_pull_policies(char *const *ci, size_t nci, char *const *runner, size_t nrunner,
                            char *const *allowed, size_t nallowed, char *out, size_t len)
{
    /* getPullPolicies: the CI's when given, else the runner's (GetPullPolicies: [""] when unset) */
    char *const *pol = nci ? ci : runner;
    size_t npol = nci ? nci : nrunner;
    static char *const cluster_default[] = {(char *)""};
    if (!npol) {
        pol = cluster_default;
        npol = 1;
    }
    if (!nallowed) {
        policy_list(pol, npol, out, len);
        return 0;
    }
    char *keep[8];
    size_t nk = 0;
    for (size_t i = 0; i < npol && nk < 8; i++)
        for (size_t k = 0; k < nallowed; k++)
            if (strcmp(k8s_policy(pol[i]), k8s_policy(allowed[k])) == 0) {
                keep[nk++] = pol[i];
                break;
            }
    if (nk) {
        policy_list(keep, nk, out, len);
        return 0;
    }
    char a[128], b[128];
    policy_list(pol, npol, a, sizeof a);
    policy_list(allowed, nallowed, b, sizeof b);
    snprintf(out, len,
             "pull_policy (%s) defined in %s is not one of the allowed_pull_policies (%s)", a,
             nci       ? "GitLab pipeline config"
             : nrunner ? "Runner config"
                       : "Runner config (default)",
             b);
    return -1;
}

/* The service at index i of config services followed by the job's. */
static const struct jobconfig_service *service_at(const struct jobconfig *c, size_t i)
{
    return i < c->nservices ? &c->services[i] : &c->job_services[i - c->nservices];
}

static int dns1123_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* prepareOptions / getServiceName: the first alias that is a DNS-1123 label not used yet, else
 * svc-N (N counting the services without one). */
static void name_services(struct job *j)
{
    const struct jobconfig *c = j->c;
    size_t idx = 0;
    char used[MAX_CONTAINERS][64];
    size_t nused = 0;
    j->nsvc = 0;
    for (size_t i = 0; i < c->nservices + c->njob_services && j->nsvc < MAX_CONTAINERS - 3; i++) {
        const struct jobconfig_service *sv = service_at(c, i);
        char name[64] = "";
        if (sv->alias) {
            char aliases[512];
            snprintf(aliases, sizeof aliases, "%s", sv->alias);
            size_t p = 0;
            while (aliases[p] && !name[0]) {
                p += strspn(aliases + p, ", ");
                size_t l = strcspn(aliases + p, ", ");
                if (!l)
                    break;
                char a[64];
                snprintf(a, sizeof a, "%.*s", (int)(l < 63 ? l : 63), aliases + p);
                p += l;
                int seen = 0;
                for (size_t u = 0; u < nused; u++)
                    seen |= strcmp(used[u], a) == 0;
                if (seen)
                    continue;
                if (nused < MAX_CONTAINERS)
                    snprintf(used[nused++], sizeof used[0], "%s", a);
                if (dns1123_label(a))
                    snprintf(name, sizeof name, "%s", a);
            }
        }
        if (!name[0])
            snprintf(name, sizeof name, "svc-%zu", idx++);
        snprintf(j->svc_names[j->nsvc++], sizeof j->svc_names[0], "%s", name);
    }
}

/* Keep one container's effective list ("[Always IfNotPresent]") for the pod spec and retries. */
static void keep_policies(struct container_pull *p, const char *list)
{
    const char *s = list + 1;
    while (*s && *s != ']' && p->n < 4) {
        size_t l = strcspn(s, " ]");
        snprintf(p->policies[p->n++], sizeof p->policies[0], "%.*s", (int)l, s);
        s += l;
        if (*s == ' ')
            s++;
    }
}

/* preparePullManager: every container's effective policies, or the ConfigurationError. */
static int prepare_pulls(struct job *j, struct jerr *e)
{
    const struct jobconfig *c = j->c;
    j->npulls = 0;
    for (size_t i = 0; i < 3 + j->nsvc && i < MAX_CONTAINERS; i++) {
        struct container_pull *p = &j->pulls[j->npulls++];
        memset(p, 0, sizeof *p);
        char *const *ci = c->job_pull_policy;
        size_t nci = c->njob_pull_policy;
        if (i == 0) {
            snprintf(p->name, sizeof p->name, "build");
            snprintf(p->image, sizeof p->image, "%s", j->image);
        } else if (i < 3) {
            snprintf(p->name, sizeof p->name, "%s", i == 1 ? "helper" : "init-permissions");
            snprintf(p->image, sizeof p->image, "%s", c->helper_image);
        } else {
            snprintf(p->name, sizeof p->name, "%s", j->svc_names[i - 3]);
            snprintf(p->image, sizeof p->image, "%s", service_at(c, i - 3)->name);
            ci = NULL; /* services carry no pull_policy in this model */
            nci = 0;
        }
        char out[512];
        if (jobclient_pull_policies(ci, nci, c->pull_policy, c->npull_policy,
                                    c->allowed_pull_policies, c->nallowed_pull_policies, out,
                                    sizeof out) < 0) {
            jerr_setf(e, "invalid pull policy for container \"%s\": %s", p->name, out);
            e->build = 1;
            snprintf(e->reason, sizeof e->reason, "runner_configuration_error");
            return -1;
        }
        logln(j, "Using effective pull policy of %s for container %s", out, p->name);
        keep_policies(p, out);
    }
    return 0;
}

static const char *pull_policy_of(struct job *j, const char *container)
{
    for (size_t i = 0; i < j->npulls; i++)
        if (strcmp(j->pulls[i].name, container) == 0 && j->pulls[i].n)
            return j->pulls[i].policies[j->pulls[i].cur];
    return "";
}

/* ---- the pod (§4.1) ---- */

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddItemToObject(o, k, cJSON_CreateString(v ? v : ""));
}

static cJSON *str_array(const char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* ---- container security contexts (common/config.go GetContainerSecurityContext) ---- */

/* One capability name with its last verdict, in the order first named. */
struct cap_entry {
    const char *name;
    int add;
};

static size_t cap_set(struct cap_entry *v, size_t n, size_t max, const char *name, int add)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0) {
            v[i].add = add;
            return n;
        }
    if (n < max)
        v[n++] = (struct cap_entry){name, add};
    return n;
}

/* A capabilities list: names (borrowed) into a new array. */
static cJSON *cap_list(const struct cap_entry *v, size_t n, int add)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        if (v[i].add == add)
            cJSON_AddItemToArray(a, cJSON_CreateString(v[i].name));
    return a;
}

static cJSON *names_array(char *const *v, size_t n)
{
    return str_array((const char *const *)v, n);
}

/* getProcMount: trimmed and title-cased, only Default and Unmasked are sent. */
static const char *proc_mount(const char *s)
{
    if (!s)
        return NULL;
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || (s[l - 1] >= '\t' && s[l - 1] <= '\r')))
        l--;
    if (l == 7 && strncasecmp(s, "default", 7) == 0)
        return "Default";
    if (l == 8 && strncasecmp(s, "unmasked", 8) == 0)
        return "Unmasked";
    return NULL;
}

static void add_tristate(cJSON *o, const char *k, int v)
{
    if (v >= 0)
        cJSON_AddItemToObject(o, k, cJSON_CreateBool(v));
}

/* defaultCapDrop: NET_RAW, or nothing for a Windows job (the helper image's OS comes from the
 * kubernetes.io/os node selector). */
static int default_cap_drop(const struct jobconfig *c)
{
    for (size_t i = 0; i < c->nnode_selector; i++)
        if (strcmp(c->node_selector[i].key, "kubernetes.io/os") == 0)
            return strcmp(c->node_selector[i].value, "windows") != 0;
    return 1;
}

cJSON *jobclient_security_context(const struct jobconfig *c, enum jobconfig_container k)
{
    const struct jobconfig_secctx *s = &c->secctx[k < JC_CTR_COUNT ? k : JC_CTR_BUILD];
    cJSON *sc = cJSON_CreateObject();
    if (!sc)
        return NULL;
    /* capabilities: [runners.kubernetes] cap_add/cap_drop over the default drop (a map in the
     * runner: a name in both lists is dropped, so its order there is Go's map order; here the
     * order first named), then the table's add and drop, each replacing its whole list */
    enum { CAPS_MAX = 2 * JOBCONFIG_MAX_LIST + 1 };
    struct cap_entry *caps = calloc(CAPS_MAX, sizeof *caps);
    size_t n = 0;
    if (!caps) {
        cJSON_Delete(sc);
        return NULL;
    }
    if (default_cap_drop(c))
        n = cap_set(caps, n, CAPS_MAX, "NET_RAW", 0);
    for (size_t i = 0; i < c->ncap_add; i++)
        n = cap_set(caps, n, CAPS_MAX, c->cap_add[i], 1);
    for (size_t i = 0; i < c->ncap_drop; i++)
        n = cap_set(caps, n, CAPS_MAX, c->cap_drop[i], 0);
    size_t nadd = 0, ndrop = 0;
    for (size_t i = 0; i < n; i++) {
        if (caps[i].add)
            nadd++;
        else
            ndrop++;
    }
    cJSON *add = s->has_cap_add ? names_array(s->cap_add, s->ncap_add)
                 : nadd         ? cap_list(caps, n, 1)
                                : NULL;
    cJSON *drop = s->has_cap_drop ? names_array(s->cap_drop, s->ncap_drop)
                  : ndrop         ? cap_list(caps, n, 0)
                                  : NULL;
    free(caps);
    if (add || drop) {
        /* omitempty: an empty list is left out, the object stays */
        cJSON *co = cJSON_CreateObject();
        if (add && cJSON_GetArraySize(add))
            cJSON_AddItemToObject(co, "add", add);
        else
            cJSON_Delete(add);
        if (drop && cJSON_GetArraySize(drop))
            cJSON_AddItemToObject(co, "drop", drop);
        else
            cJSON_Delete(drop);
        cJSON_AddItemToObject(sc, "capabilities", co);
    }
    add_tristate(sc, "privileged", s->privileged >= 0 ? s->privileged : c->privileged);
    if (s->selinux_type && s->selinux_type[0]) {
        cJSON *se = cJSON_CreateObject();
        add_str(se, "type", s->selinux_type);
        cJSON_AddItemToObject(sc, "seLinuxOptions", se);
    }
    if (s->has_run_as_user)
        cJSON_AddNumberToObject(sc, "runAsUser", (double)s->run_as_user);
    if (s->has_run_as_group)
        cJSON_AddNumberToObject(sc, "runAsGroup", (double)s->run_as_group);
    add_tristate(sc, "runAsNonRoot", s->run_as_non_root);
    add_tristate(sc, "readOnlyRootFilesystem", s->read_only_root_filesystem);
    add_tristate(sc, "allowPrivilegeEscalation",
                 s->allow_privilege_escalation >= 0 ? s->allow_privilege_escalation
                                                    : c->allow_privilege_escalation);
    const char *pm = proc_mount(s->proc_mount);
    if (pm)
        add_str(sc, "procMount", pm);
    return sc;
}

/* buildLabels: every label the pod carries; the informer selects on the same set. */
static cJSON *build_labels(struct job *j)
{
    const struct jobconfig *c = j->c;
    cJSON *l = cJSON_CreateObject();
    char v[128], id[32];
    sanitize_label(j->base, v, sizeof v);
    add_str(l, "pod", v);
    add_str(l, "job.runner.gitlab.com/pod", v);
    snprintf(id, sizeof id, "%lld", (long long)c->project_id);
    add_str(l, "project.runner.gitlab.com/id", id);
    add_str(l, "project.runner.gitlab.com/namespace-id", "0");
    add_str(l, "project.runner.gitlab.com/root-namespace-id", "0");
    const char *slash = strrchr(c->project_path, '/');
    sanitize_label(slash ? slash + 1 : c->project_path, v, sizeof v);
    add_str(l, "project.runner.gitlab.com/name", v);
    char ns[256];
    snprintf(ns, sizeof ns, "%.*s", slash ? (int)(slash - c->project_path) : 0, c->project_path);
    sanitize_label(ns, v, sizeof v);
    add_str(l, "project.runner.gitlab.com/namespace", v);
    char root[256];
    snprintf(root, sizeof root, "%.*s", (int)strcspn(c->project_path, "/"), c->project_path);
    sanitize_label(slash ? root : "", v, sizeof v);
    add_str(l, "project.runner.gitlab.com/root-namespace", v);
    sanitize_label(c->runner_name, v, sizeof v);
    add_str(l, "manager.runner.gitlab.com/name", v);
    sanitize_label(j->token8, v, sizeof v);
    add_str(l, "manager.runner.gitlab.com/id-short", v);
    for (size_t i = 0; i < c->npod_labels; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(l, c->pod_labels[i].key);
        add_str(l, c->pod_labels[i].key, c->pod_labels[i].value);
    }
    return l;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* labels.SelectorFromSet(labels).String(): k=v joined by commas, keys sorted. */
static void label_selector(cJSON *labels, char *out, size_t len)
{
    const char *keys[64];
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, labels) if (n < 64) keys[n++] = it->string;
    qsort(keys, n, sizeof keys[0], cmp_str);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s=%s", i ? "," : "", keys[i],
                              cJSON_GetObjectItemCaseSensitive(labels, keys[i])->valuestring);
}

static cJSON *mounts(struct job *j, int scripts_and_logs)
{
    cJSON *m = cJSON_CreateArray();
    cJSON *v = cJSON_CreateObject();
    add_str(v, "name", "repo");
    add_str(v, "mountPath", "/builds");
    cJSON_AddItemToArray(m, v);
    if (scripts_and_logs) {
        v = cJSON_CreateObject();
        add_str(v, "name", "scripts");
        add_str(v, "mountPath", j->paths.scripts_dir);
        cJSON_AddItemToArray(m, v);
        if (!j->legacy) {
            v = cJSON_CreateObject();
            add_str(v, "name", "logs");
            add_str(v, "mountPath", j->paths.logs_dir);
            cJSON_AddItemToArray(m, v);
        }
    }
    return m;
}

static cJSON *container(struct job *j, const char *name, const char *image, int shell_cmd,
                        enum jobconfig_container kind)
{
    cJSON *c = cJSON_CreateObject();
    add_str(c, "name", name);
    add_str(c, "image", image);
    if (shell_cmd) {
        /* the detect-shell as PID 1 (GetConfiguration's DockerCommand), behind dumb-init with
         * FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR */
        cJSON *cmd = cJSON_CreateArray();
        if (j->c->ff[JC_FF_DUMB_INIT]) {
            char di[160];
            snprintf(di, sizeof di, "%s/dumb-init", j->paths.scripts_dir);
            cJSON_AddItemToArray(cmd, cJSON_CreateString(di));
            cJSON_AddItemToArray(cmd, cJSON_CreateString("--"));
        }
        cJSON_AddItemToArray(cmd, cJSON_CreateString("sh"));
        cJSON_AddItemToArray(cmd, cJSON_CreateString("-c"));
        cJSON_AddItemToArray(cmd, cJSON_CreateString(js_detect_shell));
        cJSON_AddItemToObject(c, "command", cmd);
    }
    const char *pp = pull_policy_of(j, name);
    if (pp[0])
        add_str(c, "imagePullPolicy", pp);
    /* never nil in the runner: at least {} */
    cJSON_AddItemToObject(c, "securityContext", jobclient_security_context(j->c, kind));
    return c;
}

/* Service hostnames as the runner derives them for hostAliases: the image's repository path
 * without registry and tag, '/' as '-' and as "__", then the aliases. */
static void service_hostnames(const struct jobconfig_service *sv, cJSON *out)
{
    char img[512];
    snprintf(img, sizeof img, "%s", sv->name);
    char *at = strchr(img, '@');
    if (at)
        *at = '\0';
    char *slash = strrchr(img, '/');
    char *colon = strrchr(img, ':');
    if (colon && (!slash || colon > slash))
        *colon = '\0';
    char *path = img;
    char *first = strchr(img, '/');
    if (first && (memchr(img, '.', (size_t)(first - img)) ||
                  memchr(img, ':', (size_t)(first - img)) || strncmp(img, "localhost/", 10) == 0))
        path = first + 1;
    char a[512], b[1024];
    size_t bn = 0;
    snprintf(a, sizeof a, "%s", path);
    for (char *p = a; *p; p++)
        if (*p == '/')
            *p = '-';
    for (const char *p = path; *p && bn + 3 < sizeof b; p++) {
        if (*p == '/') {
            b[bn++] = '_';
            b[bn++] = '_';
        } else {
            b[bn++] = *p;
        }
    }
    b[bn] = '\0';
    cJSON_AddItemToArray(out, cJSON_CreateString(a));
    if (strcmp(a, b) != 0)
        cJSON_AddItemToArray(out, cJSON_CreateString(b));
    if (sv->alias) {
        char al[512];
        snprintf(al, sizeof al, "%s", sv->alias);
        size_t p = 0;
        while (al[p]) {
            p += strspn(al + p, ", ");
            size_t l = strcspn(al + p, ", ");
            if (!l)
                break;
            char one[256];
            snprintf(one, sizeof one, "%.*s", (int)(l < 255 ? l : 255), al + p);
            cJSON_AddItemToArray(out, cJSON_CreateString(one));
            p += l;
        }
    }
}

/* preparePodConfig (§4.1). */
static cJSON *pod_spec(struct job *j, int host_aliases)
{
    const struct jobconfig *c = j->c;
    char buf[256];
    cJSON *pod = cJSON_CreateObject();
    add_str(pod, "apiVersion", "v1");
    add_str(pod, "kind", "Pod");
    cJSON *md = cJSON_CreateObject();
    cJSON_AddItemToObject(pod, "metadata", md);
    add_str(md, "name", j->pod);
    add_str(md, "namespace", j->ns);
    cJSON_AddItemToObject(md, "labels", build_labels(j));
    cJSON *ann = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "%lld", (long long)c->job_id);
    add_str(ann, "job.runner.gitlab.com/id", buf);
    add_str(ann, "job.runner.gitlab.com/url", c->job_url);
    add_str(ann, "job.runner.gitlab.com/sha", c->job_sha);
    add_str(ann, "job.runner.gitlab.com/before_sha", c->job_before_sha);
    add_str(ann, "job.runner.gitlab.com/ref", c->job_ref);
    add_str(ann, "job.runner.gitlab.com/name", c->job_name);
    add_str(ann, "job.runner.gitlab.com/timeout",
            jobclient_go_duration(buf, sizeof buf, c->job_timeout));
    snprintf(buf, sizeof buf, "%lld", (long long)c->project_id);
    add_str(ann, "project.runner.gitlab.com/id", buf);
    for (size_t i = 0; i < c->npod_annotations; i++) {
        cJSON_DeleteItemFromObjectCaseSensitive(ann, c->pod_annotations[i].key);
        add_str(ann, c->pod_annotations[i].key, c->pod_annotations[i].value);
    }
    cJSON_AddItemToObject(md, "annotations", ann);

    cJSON *spec = cJSON_CreateObject();
    cJSON_AddItemToObject(pod, "spec", spec);
    int scripts = !j->legacy || c->ff[JC_FF_DUMB_INIT];
    cJSON *vols = cJSON_CreateArray();
    static const char *const vnames[] = {"repo", "scripts", "logs"};
    for (size_t i = 0; i < 3; i++) {
        if ((i == 1 && !scripts) || (i == 2 && j->legacy))
            continue;
        cJSON *v = cJSON_CreateObject();
        add_str(v, "name", vnames[i]);
        cJSON_AddItemToObject(v, "emptyDir", cJSON_CreateObject());
        cJSON_AddItemToArray(vols, v);
    }
    cJSON_AddItemToObject(spec, "volumes", vols);

    /* buildInitContainers: uid/gid collector (FF_DISABLE_UMASK...), init-permissions (attach
     * mode, or dumb-init) */
    cJSON *inits = cJSON_CreateArray();
    if (c->ff[JC_FF_DISABLE_UMASK]) {
        cJSON *u = container(j, "init-build-uid-gid-collector", j->image, 0, JC_CTR_BUILD);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "> %s/.gitlab-build-uid-gid", j->paths.build_dir);
        const char *argv[] = {"sh", "-c", cmd};
        cJSON_AddItemToObject(u, "command", str_array(argv, 3));
        cJSON_AddItemToObject(u, "volumeMounts", mounts(j, scripts));
        cJSON_AddItemToArray(inits, u);
    }
    if (!j->legacy || c->ff[JC_FF_DUMB_INIT]) {
        cJSON *ip = container(j, "init-permissions", c->helper_image, 0, JC_CTR_INIT_PERMISSIONS);
        char *cmd = js_init_permissions_command(&j->paths, !j->legacy, c->ff[JC_FF_DUMB_INIT]);
        const char *argv[] = {"sh", "-c", cmd ? cmd : ""};
        cJSON_AddItemToObject(ip, "command", str_array(argv, 3));
        free(cmd);
        cJSON_AddItemToObject(ip, "volumeMounts", mounts(j, scripts));
        cJSON_AddItemToArray(inits, ip);
    }
    if (cJSON_GetArraySize(inits))
        cJSON_AddItemToObject(spec, "initContainers", inits);
    else
        cJSON_Delete(inits);

    cJSON *cs = cJSON_CreateArray();
    cJSON *build = container(j, "build", j->image, 1, JC_CTR_BUILD);
    cJSON *env = cJSON_CreateArray();
    for (size_t i = 0; i < c->nvariables; i++) {
        cJSON *e = cJSON_CreateObject();
        add_str(e, "name", c->variables[i].key);
        add_str(e, "value", c->variables[i].value);
        cJSON_AddItemToArray(env, e);
    }
    cJSON_AddItemToObject(build, "env", env);
    cJSON_AddItemToObject(build, "stdin", cJSON_CreateTrue());
    cJSON_AddItemToObject(build, "volumeMounts", mounts(j, scripts));
    cJSON_AddItemToArray(cs, build);
    cJSON *helper = container(j, "helper", c->helper_image, 1, JC_CTR_HELPER);
    cJSON_AddItemToObject(helper, "stdin", cJSON_CreateTrue());
    cJSON_AddItemToObject(helper, "volumeMounts", mounts(j, scripts));
    cJSON_AddItemToArray(cs, helper);
    cJSON *hostnames = cJSON_CreateArray();
    for (size_t i = 0; i < j->nsvc; i++) {
        const struct jobconfig_service *sv = service_at(c, i);
        cJSON *s = container(j, j->svc_names[i], sv->name, 0, JC_CTR_SERVICE);
        if (sv->nentrypoint)
            cJSON_AddItemToObject(s, "command",
                                  str_array((const char *const *)sv->entrypoint, sv->nentrypoint));
        if (sv->ncommand)
            cJSON_AddItemToObject(s, "args",
                                  str_array((const char *const *)sv->command, sv->ncommand));
        cJSON *senv = cJSON_CreateArray();
        for (size_t k = 0; k < sv->nvariables; k++) {
            cJSON *e = cJSON_CreateObject();
            const char *eq = strchr(sv->variables[k], '=');
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)(eq - sv->variables[k]), sv->variables[k]);
            add_str(e, "name", key);
            add_str(e, "value", eq + 1);
            cJSON_AddItemToArray(senv, e);
        }
        cJSON_AddItemToObject(s, "env", senv);
        cJSON_AddItemToObject(s, "stdin", cJSON_CreateTrue());
        cJSON_AddItemToObject(s, "volumeMounts", mounts(j, 0));
        cJSON_AddItemToArray(cs, s);
        service_hostnames(sv, hostnames);
    }
    cJSON_AddItemToObject(spec, "containers", cs);
    add_str(spec, "restartPolicy", "Never");
    if (c->nnode_selector) {
        cJSON *ns = cJSON_CreateObject();
        for (size_t i = 0; i < c->nnode_selector; i++)
            add_str(ns, c->node_selector[i].key, c->node_selector[i].value);
        cJSON_AddItemToObject(spec, "nodeSelector", ns);
    }
    if (c->pod_termination_grace_period_seconds >= 0)
        cJSON_AddNumberToObject(spec, "terminationGracePeriodSeconds",
                                (double)c->pod_termination_grace_period_seconds);
    if (c->ff[JC_FF_POD_ACTIVE_DEADLINE])
        cJSON_AddNumberToObject(spec, "activeDeadlineSeconds", (double)(c->job_timeout + 1));
    if (j->have_secret && j->secret[0]) {
        cJSON *ips = cJSON_CreateArray();
        cJSON *r = cJSON_CreateObject();
        add_str(r, "name", j->secret);
        cJSON_AddItemToArray(ips, r);
        cJSON_AddItemToObject(spec, "imagePullSecrets", ips);
    }
    if (host_aliases && cJSON_GetArraySize(hostnames)) {
        cJSON *has = cJSON_CreateArray();
        cJSON *ha = cJSON_CreateObject();
        add_str(ha, "ip", "127.0.0.1");
        cJSON_AddItemToObject(ha, "hostnames", hostnames);
        hostnames = NULL;
        cJSON_AddItemToArray(has, ha);
        cJSON_AddItemToObject(spec, "hostAliases", has);
    }
    cJSON_Delete(hostnames);
    return pod;
}

/* ---- Prepare (§2.1) ---- */

/* IsResourceVerbAllowed: one SelfSubjectAccessReview. */
struct ssar {
    const char *verb;
    int allowed;
    char reason[1024];
};

static int op_ssar(struct job *j, void *arg, struct jerr *e)
{
    struct ssar *s = arg;
    cJSON *body = cJSON_CreateObject();
    add_str(body, "apiVersion", "authorization.k8s.io/v1");
    add_str(body, "kind", "SelfSubjectAccessReview");
    cJSON *spec = cJSON_CreateObject();
    cJSON *ra = cJSON_CreateObject();
    add_str(ra, "namespace", j->ns);
    add_str(ra, "verb", s->verb);
    add_str(ra, "version", "v1");
    add_str(ra, "resource", "pods");
    cJSON_AddItemToObject(spec, "resourceAttributes", ra);
    cJSON_AddItemToObject(body, "spec", spec);
    struct kc_resp r;
    int rc = api(j, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body,
                 j->deadline, &r);
    cJSON_Delete(body);
    if (rc < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(r.body, "status");
    const char *reason = jstr(st, "reason"), *eval = jstr(st, "evaluationError");
    s->allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "allowed")) &&
                 !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "denied")) && !(eval && *eval);
    snprintf(s->reason, sizeof s->reason, "%s", eval && *eval ? eval : reason ? reason : "");
    kc_resp_release(&r);
    return 0;
}

static void count_request(void *arg)
{
    ((struct job *)arg)->res->requests++;
}

/* newPodWatcher: the access reviews, then the informer (or the no-op watcher with a warning). */
static int start_pod_watcher(struct job *j, struct jerr *e)
{
    static const char *const verbs[] = {"list", "watch"};
    for (size_t i = 0; i < 2; i++) {
        struct ssar s = {verbs[i], 0, ""};
        struct jerr se;
        int rc = with_retry(j, op_ssar, &s, &se, j->deadline);
        if (rc == 0 && s.allowed)
            continue;
        char q[1200];
        js_go_quote(q, sizeof q, rc < 0 ? se.msg : s.reason);
        warnln(j, "won't use informers: %s, see: %s", q, INFORMERS_URL);
        return 0;
    }
    cJSON *labels = build_labels(j);
    char sel[2048];
    label_selector(labels, sel, sizeof sel);
    cJSON_Delete(labels);
    char err[INFORMER_ERR_MAX];
    j->informer = informer_start(j->kc, &j->rng, j->ns, sel, j->c->retry_backoff_max_ms,
                                 count_request, j, err, sizeof err);
    if (!j->informer) {
        jerr_setf(e, "starting pod watcher: %s", err);
        return -1;
    }
    return 0;
}

/* The connection: [runners.kubernetes] host, else the kubeconfig (§1). */
static int connect_config(struct job *j, struct jerr *e)
{
    char err[1024];
    kc_config_release(&j->kcfg);
    kclient_free(j->kc);
    j->kc = NULL;
    if (j->c->host && j->c->host[0]) {
        if (kc_config_from_host(j->c->host, j->c->bearer_token, j->c->ca_file, &j->kcfg, err,
                                sizeof err) < 0) {
            jerr_setf(e, "getting Kubernetes config: %s", err);
            return -1;
        }
    } else {
        const char *path = j->o->kubeconfig;
        char home[1024];
        if (!path || !path[0])
            path = getenv("KUBECONFIG");
        if (path && strchr(path, ':')) {
            /* a KUBECONFIG list: the model reads the first file */
            snprintf(home, sizeof home, "%.*s", (int)strcspn(path, ":"), path);
            path = home;
        }
        if (!path || !path[0]) {
            const char *h = getenv("HOME");
            snprintf(home, sizeof home, "%s/.kube/config", h ? h : "");
            path = home;
        }
        if (kc_config_load(path, j->c->context, &j->kcfg, err, sizeof err) < 0) {
            jerr_setf(e, "getting Kubernetes config: %s", err);
            return -1;
        }
        if (j->c->bearer_token && j->c->bearer_token[0]) {
            free(j->kcfg.token);
            j->kcfg.token = strdup(j->c->bearer_token);
        }
    }
    j->kc = kclient_new(&j->kcfg, NULL, err, sizeof err);
    if (!j->kc) {
        jerr_setf(e, "connecting to Kubernetes: %s", err);
        return -1;
    }
    kclient_set_time_scale(j->kc, j->o->time_scale);
    return 0;
}

/* Executor.Prepare (§2.1): client-side checks, then the pod watcher. */
static int prepare(struct job *j, struct jerr *e)
{
    const struct jobconfig *c = j->c;
    jerr_clear(e);
    /* checkDefaults */
    const char *img = c->job_image && c->job_image[0] ? c->job_image : c->image;
    if (!img || !img[0]) {
        jerr_setf(e, "check defaults error: no image specified and no default set in config");
        return -1;
    }
    snprintf(j->image, sizeof j->image, "%s", img);
    if (c->namespace_per_job) {
        snprintf(j->ns, sizeof j->ns, "ci-job-%lld", (long long)c->job_id);
    } else if (!c->namespace[0]) {
        warnln(j, "Namespace is empty, therefore assuming 'default'.");
        snprintf(j->ns, sizeof j->ns, "default");
    } else {
        snprintf(j->ns, sizeof j->ns, "%s", c->namespace);
    }
    snprintf(j->res->namespace_, sizeof j->res->namespace_, "%s", j->ns);
    logln(j, "Using Kubernetes namespace: %s", j->ns);
    if (connect_config(j, e) < 0)
        return -1;
    logln(j, "Using Kubernetes executor with image %s ...", j->image);
    if (!j->legacy)
        logln(j, "Using attach strategy to execute scripts...");
    name_services(j);
    /* §7.8: purely client-side, before any request */
    if (prepare_pulls(j, e) < 0)
        return -1;
    return start_pod_watcher(j, e);
}

/* ---- pod setup (§2.2) ---- */

static int op_create_secret(struct job *j, void *arg, struct jerr *e)
{
    (void)arg;
    const struct jobconfig *c = j->c;
    /* kubernetes.io/dockercfg: {"<registry>": {username, password, email, auth}} */
    cJSON *cfg = cJSON_CreateObject();
    const char *dac = jobconfig_variable(c, "DOCKER_AUTH_CONFIG");
    cJSON *dj = dac ? cJSON_Parse(dac) : NULL;
    const cJSON *auths = cJSON_GetObjectItemCaseSensitive(dj, "auths");
    const cJSON *it;
    cJSON_ArrayForEach(it, auths) cJSON_AddItemToObject(cfg, it->string, cJSON_Duplicate(it, 1));
    cJSON_Delete(dj);
    for (size_t i = 0; i < c->ncredentials; i++) {
        const struct jobconfig_credential *cr = &c->credentials[i];
        char up[1024];
        snprintf(up, sizeof up, "%s:%s", cr->username, cr->password);
        unsigned char *b64 = malloc(4 * ((strlen(up) + 2) / 3) + 1);
        if (!b64)
            continue;
        EVP_EncodeBlock(b64, (const unsigned char *)up, (int)strlen(up));
        cJSON *a = cJSON_CreateObject();
        add_str(a, "username", cr->username);
        add_str(a, "password", cr->password);
        add_str(a, "email", "");
        add_str(a, "auth", (const char *)b64);
        free(b64);
        cJSON_DeleteItemFromObjectCaseSensitive(cfg, cr->url);
        cJSON_AddItemToObject(cfg, cr->url, a);
    }
    char *txt = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    size_t tl = txt ? strlen(txt) : 0;
    unsigned char *b64 = malloc(4 * ((tl + 2) / 3) + 1);
    if (!txt || !b64) {
        cJSON_free(txt);
        free(b64);
        jerr_setf(e, "out of memory");
        return -1;
    }
    EVP_EncodeBlock(b64, (const unsigned char *)txt, (int)tl);
    cJSON_free(txt);
    cJSON *body = cJSON_CreateObject();
    add_str(body, "apiVersion", "v1");
    add_str(body, "kind", "Secret");
    cJSON *md = cJSON_CreateObject();
    add_str(md, "name", j->secret);
    add_str(md, "namespace", j->ns);
    cJSON_AddItemToObject(body, "metadata", md);
    add_str(body, "type", "kubernetes.io/dockercfg");
    cJSON *data = cJSON_CreateObject();
    add_str(data, ".dockercfg", (const char *)b64);
    free(b64);
    cJSON_AddItemToObject(body, "data", data);
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets", j->ns);
    struct kc_resp r;
    int rc = api(j, "POST", path, body, j->deadline, &r);
    cJSON_Delete(body);
    /* §2.2 5b: only the generateName collision wording leads to a GET */
    if (rc < 0 && r.code == 409 &&
        strstr(r.err, "the server was not able to generate a unique name for the object")) {
        kc_resp_release(&r);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", j->ns, j->secret);
        rc = api(j, "GET", path, NULL, j->deadline, &r);
    }
    if (rc < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    kc_resp_release(&r);
    return 0;
}

static int op_create_pod(struct job *j, void *arg, struct jerr *e)
{
    cJSON *body = arg;
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", j->ns);
    struct kc_resp r;
    int rc = api(j, "POST", path, body, j->deadline, &r);
    if (rc < 0 && r.code == 409 &&
        strstr(r.err, "the server was not able to generate a unique name for the object")) {
        kc_resp_release(&r);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", j->ns, j->pod);
        rc = api(j, "GET", path, NULL, j->deadline, &r);
    }
    if (rc < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    const char *uid = jstr(r.body, "metadata.uid");
    snprintf(j->pod_uid, sizeof j->pod_uid, "%s", uid ? uid : "");
    kc_resp_release(&r);
    return 0;
}

static int op_owner_refs(struct job *j, void *arg, struct jerr *e)
{
    (void)arg;
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", j->ns, j->secret);
    cJSON *body = cJSON_CreateObject();
    add_str(body, "apiVersion", "v1");
    add_str(body, "kind", "Secret");
    cJSON *md = cJSON_CreateObject();
    add_str(md, "name", j->secret);
    add_str(md, "namespace", j->ns);
    cJSON *refs = cJSON_CreateArray();
    cJSON *ref = cJSON_CreateObject();
    add_str(ref, "apiVersion", "v1");
    add_str(ref, "kind", "Pod");
    add_str(ref, "name", j->pod);
    add_str(ref, "uid", j->pod_uid);
    cJSON_AddItemToArray(refs, ref);
    cJSON_AddItemToObject(md, "ownerReferences", refs);
    cJSON_AddItemToObject(body, "metadata", md);
    add_str(body, "type", "kubernetes.io/dockercfg");
    struct kc_resp r;
    int rc = api(j, "PUT", path, body, j->deadline, &r);
    cJSON_Delete(body);
    if (rc < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    /* §2.4: the secret we hold is the PUT's answer; cleanup deletes it only when the answer did
     * not echo the ownerReferences */
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r.body, "metadata"), "ownerReferences");
    j->secret_owned = cJSON_GetArraySize(got) > 0;
    kc_resp_release(&r);
    return 0;
}

/* setupBuildPod: GET /version, POST pod, PUT ownerReferences. */
static int setup_build_pod(struct job *j, struct jerr *e)
{
    /* §2.2 step 6: getHostAliases -> IsHostAliasSupported (not retried) */
    struct kc_resp r;
    if (api(j, "GET", "/version", NULL, j->deadline, &r) < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    /* IsHostAliasSupported: host aliases need 1.7; a version that does not parse only warns */
    const char *major = jstr(r.body, "major"), *minor = jstr(r.body, "minor");
    char *end1 = NULL, *end2 = NULL;
    long ma = major ? strtol(major, &end1, 10) : -1;
    long mi = minor ? strtol(minor, &end2, 10) : -1;
    int host_aliases = 1;
    if (!major || !minor || end1 == major || *end1 || end2 == minor ||
        (*end2 && strcmp(end2, "+"))) {
        warnln(j,
               "Checking for host alias support. Host aliases will be disabled: parsing "
               "Kubernetes version %s.%s",
               major ? major : "", minor ? minor : "");
        host_aliases = 0;
    } else if (ma < 1 || (ma == 1 && mi < 7)) {
        host_aliases = 0;
    }
    kc_resp_release(&r);
    k8s_name(j, j->base, j->pod, sizeof j->pod);
    snprintf(j->res->pod, sizeof j->res->pod, "%s", j->pod);
    if (j->informer)
        informer_set_pod(j->informer, j->pod);
    if (!j->legacy && j->c->ff[JC_FF_POD_ACTIVE_DEADLINE]) {
        char d[64];
        logln(j,
              "Using FF_USE_POD_ACTIVE_DEADLINE_SECONDS, the Pod activeDeadlineSeconds will be set "
              "to the job timeout: %s...",
              jobclient_go_duration(d, sizeof d, j->c->job_timeout));
    }
    cJSON *pod = pod_spec(j, host_aliases);
    int rc = with_retry(j, op_create_pod, pod, e, j->deadline);
    cJSON_Delete(pod);
    if (rc < 0) {
        j->pod[0] = '\0'; /* s.pod stays nil: nothing to delete */
        return -1;
    }
    if (j->have_secret) {
        if (with_retry(j, op_owner_refs, NULL, e, j->deadline) < 0) {
            /* §7.7: the typed client hands back an empty Secret on failure */
            j->secret[0] = '\0';
            j->secret_owned = 0;
            jerr_wrap(e, "error setting ownerReferences");
            return -1;
        }
    }
    return 0;
}

/* ---- waiting for the pod (§3.1) ---- */

/* Sleep ms in turns, serving the informer (its errors are not read here, §3.2). */
static void idle(struct job *j, int64_t ms)
{
    int64_t until = now_ms() + ms;
    while (!ctx_done(j)) {
        int64_t left = until - now_ms();
        if (left <= 0)
            break;
        int slice = left < SLICE_MS ? (int)left : SLICE_MS;
        if (j->informer) {
            char dummy[8];
            informer_poll(j->informer, slice, 0, dummy, sizeof dummy);
        } else {
            kclient_sleep_ms(slice, j->deadline);
        }
    }
}

/* The §3.1 terminal waiting reasons across containerStatuses and initContainerStatuses. */
static int terminal_wait_error(struct job *j, const cJSON *pod, struct jerr *e)
{
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
    for (size_t l = 0; l < 2; l++) {
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, lists[l]))
        {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cs, "ready")))
                continue;
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cs, "state"), "waiting");
            const char *reason = jstr(w, "reason");
            if (!w || !reason)
                continue;
            const char *msg = jstr(w, "message"), *name = jstr(cs, "name");
            const char *image = jstr(cs, "image");
            msg = msg ? msg : "";
            name = name ? name : "";
            if (strcmp(reason, "InvalidImageName") == 0) {
                jerr_setf(e, "image pull failed: %s", msg);
                snprintf(e->reason, sizeof e->reason, "runner_configuration_error");
            } else if (strcmp(reason, "ErrImagePull") == 0 ||
                       strcmp(reason, "ImagePullBackOff") == 0) {
                jerr_setf(e, "pulling image \"%s\" for container %s: image pull failed: %s",
                          image ? image : "", name, msg);
                snprintf(e->reason, sizeof e->reason, "image_pull_failure");
                e->image_pull = 1;
                snprintf(e->image, sizeof e->image, "%s", image ? image : "");
                snprintf(e->container, sizeof e->container, "%s", name);
            } else if (strcmp(reason, "CrashLoopBackOff") == 0) {
                const char *last = jstr(cs, "lastState.terminated.message");
                jerr_setf(e, "container \"%s\" is in CrashLoopBackOff: %s%s%s", name, msg,
                          last && *last ? ": " : "", last && *last ? last : "");
                snprintf(e->reason, sizeof e->reason, "runner_configuration_error");
            } else if (strcmp(reason, "CreateContainerConfigError") == 0) {
                jerr_setf(e, "container configuration error: %s", msg);
                snprintf(e->reason, sizeof e->reason, "runner_configuration_error");
            } else {
                continue; /* ContainerCreating, CreateContainerError, ...: keep waiting */
            }
            e->build = 1;
            (void)j;
            return -1;
        }
    }
    return 0;
}

static void events_path(struct job *j, struct qb *q, const char *limit, const char *cont)
{
    char fs[512];
    snprintf(fs, sizeof fs, "involvedObject.name=%s,type=Warning", j->pod);
    qb_path(q, "/api/v1/namespaces/%s/events", j->ns);
    if (cont)
        qb_add(q, "continue", cont);
    qb_add(q, "fieldSelector", fs);
    if (limit)
        qb_add(q, "limit", limit);
}

/* poll_interval in ms of wall time: divided by the time scale (`kubefault tune`) */
static int64_t poll_ms(const struct job *j)
{
    int64_t ms = (int64_t)j->c->poll_interval * 1000;
    return j->o->time_scale > 1 ? ms / j->o->time_scale : ms;
}

/* waitForPodRunning. The runner sleeps poll_interval after each GET, so its polls drift by the
 * requests' time; under a time scale the polls keep an absolute schedule instead, as if requests
 * took no time, since a request's milliseconds would count N times over. */
static int wait_for_pod(struct job *j, struct jerr *e)
{
    const struct jobconfig *c = j->c;
    int attempts = c->poll_timeout / c->poll_interval;
    char last_phase[64] = "";
    int64_t t0 = now_ms();
    for (int i = 0; i <= attempts; i++) {
        if (ctx_done(j)) {
            jerr_setf(e, "%s", j->canceled ? "context canceled" : "context deadline exceeded");
            return -1;
        }
        struct get_pod g = {NULL, j->deadline};
        if (op_get_pod(j, &g, e) < 0) /* not retried (§6) */
            return -1;
        const char *phase = jstr(g.pod, "status.phase");
        phase = phase ? phase : "";
        snprintf(last_phase, sizeof last_phase, "%s", phase);
        const cJSON *b = container_status(g.pod, "containerStatuses", "build");
        if (strcmp(phase, "Running") == 0 &&
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "ready"))) {
            cJSON_Delete(g.pod);
            return 0;
        }
        if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) {
            jerr_setf(e, "%s",
                      phase[0] == 'S' ? "pod already succeeded before it begins running"
                                      : "pod status is failed");
            cJSON_Delete(g.pod);
            return -1;
        }
        if (terminal_wait_error(j, g.pod, e) < 0) {
            cJSON_Delete(g.pod);
            return -1;
        }
        if (c->print_pod_warning_events) {
            /* the Warning events each not-ready round; their errors are ignored */
            struct qb q;
            events_path(j, &q, NULL, NULL);
            struct kc_resp r;
            if (api(j, "GET", q.buf, NULL, j->deadline, &r) == 0) {
                const cJSON *ev;
                cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(r.body, "items"))
                {
                    const char *reason = jstr(ev, "reason"), *msg = jstr(ev, "message");
                    if (reason && msg && strcmp(reason, "FailedCreatePodSandBox") == 0 &&
                        strstr(msg, "does not support user namespaces")) {
                        jerr_setf(e, "pod sandbox creation failed: %s", msg);
                        kc_resp_release(&r);
                        cJSON_Delete(g.pod);
                        return -1;
                    }
                }
            }
            kc_resp_release(&r);
        }
        const char *node = jstr(g.pod, "spec.nodeName");
        logln(j, "Waiting for pod %s/%s to be running on the node %s, status is %s", j->ns, j->pod,
              node && *node ? node : "<unknown>", phase);
        if (c->print_pod_warning_events) {
            const cJSON *cond;
            cJSON_ArrayForEach(cond,
                               cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(g.pod, "status"), "conditions"))
            {
                const char *reason = jstr(cond, "reason"), *msg = jstr(cond, "message");
                if (!reason || !*reason)
                    continue;
                char q[2048];
                logln(j, "\t%s: %s", reason, js_go_quote(q, sizeof q, msg ? msg : ""));
            }
        }
        cJSON_Delete(g.pod);
        if (j->o->time_scale > 1)
            idle(j, t0 + (int64_t)(i + 1) * poll_ms(j) - now_ms());
        else
            idle(j, poll_ms(j));
    }
    if (ctx_done(j)) {
        jerr_setf(e, "%s", j->canceled ? "context canceled" : "context deadline exceeded");
        return -1;
    }
    jerr_setf(e, "timed out waiting for pod to start (last phase: %s)", last_phase);
    return -1;
}

/* FF_WAIT_FOR_POD_TO_BE_REACHABLE: the helper's log, until it answers (§2.2 step 14). */
static int wait_reachable(struct job *j, struct jerr *e)
{
    struct qb q;
    qb_path(&q, "/api/v1/namespaces/%s/pods/%s/log", j->ns, j->pod);
    qb_add(&q, "container", "helper");
    qb_add(&q, "tailLines", "10");
    int attempts = j->c->poll_timeout / j->c->poll_interval;
    for (int i = 0; i <= attempts; i++) {
        struct kc_resp r;
        int rc = api(j, "GET", q.buf, NULL, j->deadline, &r);
        if (rc == 0 || r.kind == KC_ERR_BODY) { /* the log is text: reachable */
            kc_resp_release(&r);
            return 0;
        }
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        if (ctx_done(j))
            break;
        idle(j, poll_ms(j));
    }
    jerr_wrap(e, "pod failed to become attachable");
    /* fmt.Errorf("pod failed to become attachable %w", err): no colon */
    char *colon = strstr(e->msg, "attachable: ");
    if (colon)
        memmove(colon + 10, colon + 11, strlen(colon + 11) + 1);
    return -1;
}

/* ---- setting the pod up (§2.2, and §2.5 for legacy mode) ---- */

static int setup_namespace(struct job *j, struct jerr *e)
{
    if (!j->c->namespace_per_job)
        return 0;
    cJSON *body = cJSON_CreateObject();
    add_str(body, "apiVersion", "v1");
    add_str(body, "kind", "Namespace");
    cJSON *md = cJSON_CreateObject();
    add_str(md, "name", j->ns);
    cJSON_AddItemToObject(body, "metadata", md);
    struct kc_resp r;
    int rc = api(j, "POST", "/api/v1/namespaces", body, j->deadline, &r); /* not retried */
    cJSON_Delete(body);
    if (rc < 0) {
        jerr_from_resp(e, &r);
        jerr_wrap(e, "failed to create namespace");
        kc_resp_release(&r);
        return -1;
    }
    kc_resp_release(&r);
    return 0;
}

static int need_credentials(const struct jobconfig *c)
{
    return c->ncredentials > 0 || jobconfig_variable(c, "DOCKER_AUTH_CONFIG") != NULL;
}

static void save_detect_script(struct job *j, struct jerr *e);

/* ensurePodsConfigured (attach) / setupPodLegacy */
static int ensure_pod(struct job *j, int *configured, struct jerr *e)
{
    if (*configured)
        return 0;
    if (setup_namespace(j, e) < 0) {
        if (!j->legacy)
            jerr_wrap(e, "setting up build namespace");
        return -1;
    }
    if (need_credentials(j->c)) {
        k8s_name(j, j->base, j->secret, sizeof j->secret);
        j->have_secret = 1;
        j->secret_owned = 0;
        if (with_retry(j, op_create_secret, NULL, e, j->deadline) < 0) {
            j->have_secret = 0;
            if (!j->legacy)
                jerr_wrap(e, "setting up credentials");
            return -1;
        }
    }
    if (setup_build_pod(j, e) < 0) {
        if (!j->legacy)
            jerr_wrap(e, "setting up build pod");
        return -1;
    }
    if (wait_for_pod(j, e) < 0) {
        jerr_wrap(e, "waiting for pod running");
        return -1;
    }
    if (j->c->ff[JC_FF_WAIT_REACHABLE] && wait_reachable(j, e) < 0)
        return -1;
    if (!j->legacy) {
        save_detect_script(j, e);
        if (e->set) {
            jerr_wrap(e, "setting up trapping scripts on emptyDir");
            return -1;
        }
        /* processLogs starts now and runs for the rest of the job (§2.2 step 17) */
        j->rl_started = 1;
        j->rl_attempt = 0;
        rl_open(j);
    }
    *configured = 1;
    return 0;
}

/* saveScriptOnEmptyDir: the save-script exec (§2.3 step 1). */
static int save_script(struct job *j, const char *name, const char *container, const char *content,
                       struct jerr *e)
{
    char path[RP_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", j->paths.scripts_dir, name);
    char *save = js_save_script(path, content);
    if (!save) {
        jerr_setf(e, "out of memory");
        return -1;
    }
    const char *argv[] = {"sh", "-c", js_detect_shell, NULL};
    struct exec_op x = {
        .container = container, .argv = argv, .input = save, .outputs = 1, .deadline = j->deadline};
    int rc = exec_retry(j, &x, e);
    free(save);
    if (rc < 0 && ctx_done(j)) {
        jerr_setf(e, "build aborted");
        e->aborted = 1;
    }
    return rc;
}

static void save_detect_script(struct job *j, struct jerr *e)
{
    jerr_clear(e);
    save_script(j, "detect_shell_script", "build", js_detect_shell_saved, e);
}

/* ---- the per-stage pod poller (§2.3 step 2, checkPodStatus) ---- */

static int check_pod_status(struct job *j, struct jerr *e)
{
    struct get_pod g = {NULL, j->deadline};
    struct jerr ge;
    if (with_retry(j, op_get_pod, &g, &ge, j->deadline) < 0) {
        cJSON_Delete(g.pod);
        if (ge.pod_not_found) {
            *e = ge;
            return -1;
        }
        warnln(j, "Getting job pod status %s", ge.msg);
        return 0;
    }
    const char *phase = jstr(g.pod, "status.phase");
    phase = phase ? phase : "";
    if (strcmp(phase, "Running") != 0) {
        char qn[300], qp[80];
        jerr_setf(e, "pod %s status is %s", js_go_quote(qn, sizeof qn, j->pod),
                  js_go_quote(qp, sizeof qp, phase));
        if (strcmp(phase, "Failed") == 0) {
            e->pod_failed = 1;
        } else {
            e->build = 1;
            snprintf(e->reason, sizeof e->reason, "unknown_failure");
        }
        cJSON_Delete(g.pod);
        return -1;
    }
    /* podContainerStatusChecker: build and helper only */
    const cJSON *cs;
    cJSON_ArrayForEach(
        cs, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(g.pod, "status"),
                                             "containerStatuses"))
    {
        const char *name = jstr(cs, "name");
        if (!name || (strcmp(name, "build") != 0 && strcmp(name, "helper") != 0))
            continue;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cs, "state"), "terminated");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(t, "exitCode");
        if (t && cJSON_IsNumber(code) && code->valuedouble >= 0) {
            const char *reason = jstr(t, "reason");
            jerr_setf(e, "Error in container %s: exit code: %d, reason: '%s'", name,
                      (int)json_int_clamp(code, 0, INT32_MAX, 0), reason ? reason : "");
            e->container_error = 1;
            cJSON_Delete(g.pod);
            return -1;
        }
    }
    cJSON_Delete(g.pod);
    return 0;
}

/* ---- stages ---- */

static int abort_stage(struct job *j, const char *stage, const char *container, struct jerr *e)
{
    /* stageCancellationScript, unless the stage already reported its exit (§2.3 step 5) */
    if (!j->exit_pending) {
        char *kill = js_cancel_script(stage);
        const char *argv[] = {"sh", "-c", js_detect_shell, NULL};
        struct exec_op x = {.container = container,
                            .argv = argv,
                            .input = kill,
                            .outputs = 0,
                            .deadline = now_ms() + CANCEL_EXEC_MS};
        struct jerr ke;
        int64_t saved = j->deadline;
        j->deadline = x.deadline;
        if (kill)
            exec_retry(j, &x, &ke);
        j->deadline = saved;
        free(kill);
    }
    jerr_setf(e, "build aborted");
    e->aborted = 1;
    return -1;
}

/* runWithAttach (§2.3) */
static int stage_attach(struct job *j, const char *stage, int *configured, struct jerr *e)
{
    if (ensure_pod(j, configured, e) < 0)
        return -1;
    const char *container = js_stage_in_helper(stage) ? "helper" : "build";
    char *script = js_stage_script(j->c, &j->paths, stage, 1);
    if (!script) {
        jerr_setf(e, "out of memory");
        return -1;
    }
    int rc = save_script(j, stage, container, script, e);
    free(script);
    if (rc < 0)
        return -1;
    int64_t next_poll = now_ms() + poll_ms(j);
    j->exit_pending = 0;
    char *line = js_attach_line(&j->paths, stage, strcmp(container, "helper") == 0);
    struct exec_op x = {.container = container,
                        .argv = NULL,
                        .input = line,
                        .outputs = 0,
                        .deadline = j->deadline,
                        .stage_check = 1,
                        .stage = stage};
    rc = line ? with_retry(j, op_exec, &x, e, j->deadline) : -1;
    free(line);
    if (rc < 0) {
        if (ctx_done(j))
            return abort_stage(j, stage, container, e);
        return -1;
    }
    for (;;) {
        if (j->exit_pending) {
            j->exit_pending = 0;
            if (j->exit_code == 0)
                return 0;
            jerr_setf(e, "command terminated with exit code %lld", (long long)j->exit_code);
            e->build = 1;
            e->exit_code = (int)j->exit_code;
            e->has_exit_code = 1;
            return -1;
        }
        if (ctx_done(j))
            return abort_stage(j, stage, container, e);
        if (j->informer) {
            char ie[INFORMER_ERR_MAX];
            if (informer_poll(j->informer, 0, 1, ie, sizeof ie) == 1) {
                jerr_setf(e, "%s", ie);
                return -1;
            }
        }
        if (now_ms() >= next_poll) {
            next_poll += poll_ms(j);
            if (check_pod_status(j, e) < 0)
                return -1;
        }
        int64_t left = next_poll - now_ms();
        rl_pump(j, left < SLICE_MS ? (int)(left > 1 ? left : 1) : SLICE_MS);
    }
}

/* runWithExecLegacy (§2.5): the stage script on stdin, output straight to the log. */
static int stage_legacy(struct job *j, const char *stage, int *configured, struct jerr *e)
{
    if (ensure_pod(j, configured, e) < 0)
        return -1;
    int helper = js_stage_in_helper(stage);
    char *script = js_stage_script(j->c, &j->paths, stage, 0);
    if (!script) {
        jerr_setf(e, "out of memory");
        return -1;
    }
    const char *shell[] = {"sh", "-c", js_detect_shell, NULL};
    const char *build_cmd[] = {"gitlab-runner-build", NULL};
    struct exec_op x = {.container = helper ? "helper" : "build",
                        .argv = helper ? build_cmd : shell,
                        .input = script,
                        .outputs = 1,
                        .deadline = j->deadline,
                        .stage = stage,
                        .watch = 1};
    int rc = exec_retry(j, &x, e);
    free(script);
    if (rc < 0 && ctx_done(j)) {
        jerr_setf(e, "build aborted");
        e->aborted = 1;
    }
    return rc;
}

/* logPodWarningEvents: after a failed Run, the pod's new Warning events (§7.13). */
struct events_op {
    const char *cont;
    cJSON *list;
};

static int op_events(struct job *j, void *arg, struct jerr *e)
{
    struct events_op *x = arg;
    struct qb q;
    events_path(j, &q, "200", x->cont);
    struct kc_resp r;
    if (api(j, "GET", q.buf, NULL, j->deadline > now_ms() ? j->deadline : now_ms() + 30000, &r) <
        0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    cJSON_Delete(x->list);
    x->list = r.body;
    r.body = NULL;
    kc_resp_release(&r);
    return 0;
}

static const char *event_time(const cJSON *ev)
{
    const char *t = jstr(ev, "series.lastObservedTime");
    if (!t)
        t = jstr(ev, "lastTimestamp");
    if (!t)
        t = jstr(ev, "eventTime");
    if (!t)
        t = jstr(ev, "firstTimestamp");
    if (!t)
        t = jstr(ev, "metadata.creationTimestamp");
    return t ? t : "";
}

static int cmp_events(const void *a, const void *b)
{
    return strcmp(event_time(*(const cJSON *const *)a), event_time(*(const cJSON *const *)b));
}

static void log_warning_events(struct job *j)
{
    if (!j->pod[0])
        return;
    struct events_op x = {NULL, NULL};
    char cont[1024] = "";
    const cJSON *fresh[256];
    size_t nf = 0;
    cJSON *lists[16];
    size_t nl = 0;
    for (;;) {
        struct jerr e;
        x.cont = cont[0] ? cont : NULL;
        x.list = NULL;
        if (with_retry(j, op_events, &x, &e, now_ms() + 30000) < 0 || nl == 16) {
            cJSON_Delete(x.list);
            break;
        }
        lists[nl++] = x.list;
        const cJSON *ev;
        cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(x.list, "items"))
        {
            char key[300];
            const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(ev, "count");
            const char *uid = jstr(ev, "metadata.uid");
            snprintf(key, sizeof key, "%s:%d", uid ? uid : "",
                     cJSON_IsNumber(cnt) ? cnt->valueint : 0);
            int seen = 0;
            for (size_t i = 0; i < j->nseen; i++)
                seen |= strcmp(j->seen[i], key) == 0;
            for (size_t i = 0; i < nf && !seen; i++) {
                char k2[300];
                const cJSON *c2 = cJSON_GetObjectItemCaseSensitive(fresh[i], "count");
                const char *u2 = jstr(fresh[i], "metadata.uid");
                snprintf(k2, sizeof k2, "%s:%d", u2 ? u2 : "",
                         cJSON_IsNumber(c2) ? c2->valueint : 0);
                seen |= strcmp(k2, key) == 0;
            }
            if (!seen && nf < 256) {
                fresh[nf++] = ev;
                if (j->nseen < MAX_SEEN_EVENTS)
                    j->seen[j->nseen++] = strdup(key);
            }
        }
        const char *c = jstr(x.list, "metadata.continue");
        if (!c || !*c)
            break;
        snprintf(cont, sizeof cont, "%s", c);
    }
    qsort(fresh, nf, sizeof fresh[0], cmp_events);
    for (size_t i = 0; i < nf; i++) {
        const char *m = jstr(fresh[i], "message");
        warnln(j, "Event retrieved from the cluster: %s", m ? m : "");
    }
    for (size_t i = 0; i < nl; i++)
        cJSON_Delete(lists[i]);
}

static void cleanup_resources(struct job *j);

/* Executor.Run: one stage, with the pull-policy retry (§7.13). */
static int executor_run(struct job *j, const char *stage, int *configured, struct jerr *e)
{
    for (int attempt = 1;; attempt++) {
        jerr_clear(e);
        int rc = j->legacy ? stage_legacy(j, stage, configured, e)
                           : stage_attach(j, stage, configured, e);
        if (rc == 0)
            return 0;
        if (j->c->print_pod_warning_events)
            log_warning_events(j);
        if (e->image_pull) {
            for (size_t i = 0; i < j->npulls; i++) {
                struct container_pull *p = &j->pulls[i];
                if (strcmp(p->name, e->container) != 0 || p->cur + 1 >= p->n)
                    continue;
                warnln(j, "Failed to pull image \"%s\" for container \"%s\" with policy \"%s\": %s",
                       e->image, p->name, p->policies[p->cur],
                       strstr(e->msg, "image pull failed") ? strstr(e->msg, "image pull failed")
                                                           : e->msg);
                p->cur++;
                logln(
                    j,
                    "Attempt #%d: Trying \"%s\" pull policy for \"%s\" image for container \"%s\"",
                    attempt + 1, p->policies[p->cur], e->image, p->name);
                cleanup_resources(j);
                *configured = 0;
                rl_close(j);
                j->rl_started = 0;
                goto again;
            }
        }
        return -1;
    again:;
    }
}

/* ---- cleanup (§2.4) ---- */

static cJSON *delete_options(const struct jobconfig *c, int background)
{
    cJSON *o = cJSON_CreateObject();
    add_str(o, "kind", "DeleteOptions");
    add_str(o, "apiVersion", "v1");
    if (c->cleanup_grace_period_seconds >= 0)
        cJSON_AddNumberToObject(o, "gracePeriodSeconds", (double)c->cleanup_grace_period_seconds);
    if (background)
        add_str(o, "propagationPolicy", "Background");
    return o;
}

struct delete_op {
    const char *path;
    cJSON *body;
    int64_t deadline;
};

static int op_delete(struct job *j, void *arg, struct jerr *e)
{
    struct delete_op *d = arg;
    struct kc_resp r;
    if (api(j, "DELETE", d->path, d->body, d->deadline, &r) < 0) {
        jerr_from_resp(e, &r);
        kc_resp_release(&r);
        return -1;
    }
    kc_resp_release(&r);
    return 0;
}

static void cleanup_resources(struct job *j)
{
    /* one context for every cleanup call: cleanup_resources_timeout */
    int64_t deadline = now_ms() + j->c->cleanup_resources_timeout_ms;
    int64_t saved = j->deadline;
    j->deadline = deadline;
    char path[1024];
    struct jerr e;
    if (j->pod[0]) {
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", j->ns, j->pod);
        struct delete_op d = {path, delete_options(j->c, 1), deadline};
        if (with_retry(j, op_delete, &d, &e, deadline) < 0)
            errorln(j, "Error cleaning up pod: %s", e.msg);
        cJSON_Delete(d.body);
        j->pod[0] = '\0';
    }
    if (j->have_secret && !j->secret_owned) {
        if (!j->secret[0]) {
            /* client-go refuses before sending (§7.7) */
            errorln(j, "Error cleaning up secrets: resource name may not be empty");
        } else {
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/secrets/%s", j->ns, j->secret);
            struct delete_op d = {path, delete_options(j->c, 0), deadline};
            if (with_retry(j, op_delete, &d, &e, deadline) < 0)
                errorln(j, "Error cleaning up secrets: %s", e.msg);
            cJSON_Delete(d.body);
        }
    }
    j->have_secret = 0;
    j->deadline = saved;
}

static void teardown_namespace(struct job *j)
{
    if (!j->c->namespace_per_job || !j->kc)
        return;
    char path[1024];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s", j->ns);
    struct kc_resp r;
    if (api(j, "DELETE", path, NULL, now_ms() + j->c->cleanup_resources_timeout_ms, &r) < 0)
        errorln(j, "Error tearing down namespace: %s", r.err);
    kc_resp_release(&r);
}

/* ---- the job (common/build.go) ---- */

static int execute_stage(struct job *j, const char *stage, int *configured, struct jerr *e)
{
    if (ctx_done(j)) {
        jerr_setf(e, "%s", j->canceled ? "context canceled" : "context deadline exceeded");
        return -1;
    }
    section_start(j, stage, js_stage_description(stage));
    int rc = executor_run(j, stage, configured, e);
    if (j->timed_out)
        warnln(j,
               "%s could not run to completion because the timeout was exceeded. For more control "
               "over job and script timeouts see: %s",
               stage, TIMEOUT_DOC_URL);
    section_end(j, stage);
    return rc;
}

static void finish(struct job *j, struct jerr *e)
{
    struct jobclient_result *res = j->res;
    char d[64];
    if (j->canceled) {
        jerr_setf(e, "canceled");
        e->build = 1;
        snprintf(e->reason, sizeof e->reason, "job_canceled");
    } else if (j->timed_out) {
        jerr_setf(e, "execution took longer than %s seconds",
                  jobclient_go_duration(d, sizeof d, j->c->job_timeout));
        e->build = 1;
        snprintf(e->reason, sizeof e->reason, "job_execution_timeout");
    }
    if (!e->set) {
        res->success = 1;
        snprintf(res->final_line, sizeof res->final_line, "Job succeeded");
        logln(j, JS_ANSI_BOLD_GREEN "Job succeeded" JS_ANSI_RESET);
        return;
    }
    snprintf(res->error, sizeof res->error, "%s", e->msg);
    if (e->build) {
        snprintf(res->failure_reason, sizeof res->failure_reason, "%s",
                 e->reason[0] ? e->reason : "script_failure");
        res->exit_code = e->has_exit_code ? e->exit_code : 0;
        snprintf(res->final_line, sizeof res->final_line, "ERROR: Job failed: %s", e->msg);
    } else {
        res->system_failure = 1;
        snprintf(res->failure_reason, sizeof res->failure_reason, "runner_system_failure");
        snprintf(res->final_line, sizeof res->final_line, "ERROR: Job failed (system failure): %s",
                 e->msg);
    }
    errorln(j, "%s", res->final_line + 7);
}

int jobclient_run(const struct jobclient_opts *o, struct jobclient_result *res)
{
    memset(res, 0, sizeof *res);
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(res->error, sizeof res->error, "out of memory");
        snprintf(res->failure_reason, sizeof res->failure_reason, "runner_system_failure");
        return 1;
    }
    const struct jobconfig *c = o->cfg;
    j->o = o;
    j->c = c;
    j->res = res;
    j->log = o->log ? o->log : stdout;
    j->legacy = c->ff[JC_FF_LEGACY_EXECUTION];
    rng_init(&j->rng, o->seed);
    js_paths_init(&j->paths, c);
    j->start_ms = now_ms();
    j->deadline = j->start_ms + c->job_timeout * 1000;
    snprintf(j->token8, sizeof j->token8, "%.8s", c->runner_token);
    snprintf(j->base, sizeof j->base, "runner-%s-project-%lld-concurrent-0", j->token8,
             (long long)c->project_id);
    rfc1123(j->base);

    logln(j, "Running with kubefault reference job client " KF_VERSION
             " (a model of gitlab-runner 19.4.0)");
    logln(j, "  on %s %s, system ID: s_kubefault", c->runner_name, j->token8);
    char ffs[1024] = "";
    size_t fo = 0;
    static const int ff_default[JC_FF_COUNT] = {0, 1, 0, 0, 0};
    for (int f = 0; f < JC_FF_COUNT; f++)
        if (c->ff[f] != ff_default[f] && fo < sizeof ffs)
            fo += (size_t)snprintf(ffs + fo, sizeof ffs - fo, "%s%s:%s", fo ? ", " : "",
                                   jobconfig_ff_name((enum jobconfig_ff)f),
                                   c->ff[f] ? "true" : "false");
    if (ffs[0])
        logln(j, "  feature flags: %s", ffs);

    /* Prepare, retried for non-BuildErrors (retryCreateExecutor, §7.10) */
    struct jerr e;
    jerr_clear(&e);
    section_start(j, "prepare_executor", "Preparing the \"kubernetes\" executor");
    int prepared = 0;
    int retry_ms = o->prepare_retry_ms > 0 ? o->prepare_retry_ms : JOBCLIENT_PREPARE_RETRY_MS;
    for (int tries = 0; tries < JOBCLIENT_PREPARE_RETRIES; tries++) {
        if (prepare(j, &e) == 0) {
            prepared = 1;
            break;
        }
        if (e.build || ctx_done(j))
            break;
        errorln(j, "Preparation failed: %s", e.msg);
        logln(j, "Will be retried in %ds ...", retry_ms / 1000);
        kclient_sleep_ms(retry_ms, j->deadline);
    }
    section_end(j, "prepare_executor");

    int configured = 0;
    if (prepared) {
        jerr_clear(&e);
        if (execute_stage(j, "prepare_script", &configured, &e) < 0) {
            jerr_wrap(&e, "prepare environment");
            size_t l = strlen(e.msg);
            snprintf(e.msg + l, sizeof e.msg - l, ". Check %s for more information", DOC_URL);
        } else {
            execute_stage(j, "get_sources", &configured, &e);
            if (!e.set && c->cache)
                execute_stage(j, "restore_cache", &configured, &e);
            if (!e.set && c->dependencies)
                execute_stage(j, "download_artifacts", &configured, &e);
            if (!e.set)
                execute_stage(j, "step_script", &configured, &e);
            if (c->nafter_script && !ctx_done(j)) {
                /* after_script runs whatever happened, under its own timeout */
                int64_t saved = j->deadline;
                int64_t ad = now_ms() + AFTER_SCRIPT_TIMEOUT * 1000;
                j->deadline = ad < saved ? ad : saved;
                struct jerr ae;
                jerr_clear(&ae);
                if (execute_stage(j, "after_script", &configured, &ae) < 0 && !j->timed_out)
                    warnln(j, "after_script failed, but job will continue unaffected: %s", ae.msg);
                j->deadline = saved;
            }
            struct jerr ce, ue;
            jerr_clear(&ce);
            jerr_clear(&ue);
            if (c->cache)
                execute_stage(j, e.set ? "archive_cache_on_failure" : "archive_cache", &configured,
                              &ce);
            if (c->artifacts)
                execute_stage(j,
                              e.set ? "upload_artifacts_on_failure" : "upload_artifacts_on_success",
                              &configured, &ue);
            struct jerr fe;
            jerr_clear(&fe);
            execute_stage(j, "cleanup_file_variables", &configured, &fe);
            /* pickPriorityError */
            if (!e.set && ce.set)
                e = ce;
            else if (!e.set && ue.set)
                e = ue;
        }
    }
    /* Finish: stop the informer; a pod known gone is not deleted again */
    informer_stop(j->informer);
    j->informer = NULL;
    rl_close(j);
    if (e.pod_not_found)
        j->pod[0] = '\0';
    if (j->kc) {
        cleanup_resources(j);
        teardown_namespace(j);
    }
    ctx_done(j);
    finish(j, &e);
    int rc = res->success ? 0 : 1;
    for (size_t i = 0; i < j->nseen; i++)
        free(j->seen[i]);
    kclient_free(j->kc);
    kc_config_release(&j->kcfg);
    free(j);
    return rc;
}
