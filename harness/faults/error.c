/* error.c -- the `error` fault: named errors from the failure catalogue, each answered exactly as
 * kube-apiserver answers it (code, reason, message, details, headers, and how long it takes), from
 * one const table. Every text below is copied from the Kubernetes or etcd source named beside it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/faults/answer.h"
#include "harness/faults/param.h"
#include "harness/jsonc.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/http.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/proto.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/status.h"

#define ERROR_MAX_RETRY_AFTER 3600            /* seconds */
#define ERROR_MAX_MESSAGE 4096                /* bytes of a composed message */
#define ERROR_MAX_AFTER_MS (10LL * 60 * 1000) /* longest wait before an answer */

/* How the apiserver builds the answer. */
enum shape {
    PLAIN,     /* a non-Status error through responsewriters.ErrorToAPIStatus: code 500, no reason,
                  the error text as message (etcd's errors, context errors) */
    INTERNAL,  /* apierrors.NewInternalError(err): "Internal error occurred: <err>", causes */
    TIMEOUT,   /* apierrors.NewTimeoutError(msg, 0): "Timeout: <msg>", details {} */
    QUOTA,     /* admission.NewForbidden from the resourcequota plugin */
    FAILED,    /* the webhook dispatchers: NewInternalError(ErrCallingWebhook) */
    DENIED,    /* webhookerrors.ToStatusErr: the webhook's own Status, message prefixed */
    THROTTLED, /* filters/maxinflight.go and APF tooManyRequests(): http.Error, text/plain */
};

static const char *const common[] = {"name",       "code",  "reason", "message",
                                     "retryAfter", "after", NULL};
static const char *const webhook_timeout_keys[] = {"timeoutSeconds", NULL};
static const char *const webhook_failed_keys[] = {"webhook", "url", "timeoutSeconds", "cause",
                                                  NULL};
static const char *const webhook_denied_keys[] = {"webhook", "detail", NULL};
static const char *const quota_keys[] = {"quota", "requested", "used", "limited", NULL};
static const char *const throttle_keys[] = {"format", NULL};

struct entry {
    const char *name;
    enum shape shape;
    int code;
    const char *reason;       /* NULL: none (metav1.StatusReasonUnknown is "") */
    const char *text;         /* the message, or the error inside it */
    int64_t after_ms;         /* how long the apiserver takes to give this answer */
    const char *const *extra; /* keys beyond the common ones */
};

/* etcd texts: etcd server/etcdserver/errors.go and api/v3rpc/rpctypes/error.go. Wait times: the
 * quota evaluator gives up after 10 s (plugin/resourcequota/controller.go, time.After); webhook
 * errors come after the webhook's timeoutSeconds (its default 10 s); both are the "after" key. */
static const struct entry table[] = {
    {"etcd-leader-changed", PLAIN, 500, NULL, "etcdserver: leader changed", 0, NULL},
    {"etcd-request-timed-out", PLAIN, 500, NULL, "etcdserver: request timed out", 0, NULL},
    {"etcd-request-timed-out-leader-failure", PLAIN, 500, NULL,
     "etcdserver: request timed out, possibly due to previous leader failure", 0, NULL},
    {"quota-evaluation-timeout", INTERNAL, 500, STATUS_REASON_INTERNAL,
     "resource quota evaluates timeout", 10000, NULL},
    {"quota-exceeded", QUOTA, 403, STATUS_REASON_FORBIDDEN, NULL, 0, quota_keys},
    /* mutating/dispatcher.go: the request's deadline passed while a webhook was called */
    {"webhook-timeout", TIMEOUT, 504, STATUS_REASON_TIMEOUT,
     "request did not complete within requested timeout", -1, webhook_timeout_keys},
    {"webhook-failed", FAILED, 500, STATUS_REASON_INTERNAL, "context deadline exceeded", -1,
     webhook_failed_keys},
    {"webhook-denied", DENIED, 403, STATUS_REASON_FORBIDDEN,
     "[psp-readonlyrootfilesystem] only read-only root filesystem container is allowed: build", 0,
     webhook_denied_keys},
    {"too-many-requests", THROTTLED, 429, STATUS_REASON_TOOMANYREQUESTS,
     "Too many requests, please try again later.", 0, throttle_keys},
    {"context-deadline-exceeded", PLAIN, 500, NULL, "context deadline exceeded", 0, NULL},
};

#define NENTRIES (sizeof table / sizeof table[0])

struct ctx {
    const struct entry *e;
    struct answer *answer; /* built at parse; NULL for QUOTA without "message" */
    int64_t after_ms;
    long code, retry_after;
    char *reason; /* QUOTA: the reason to send (NULL: none) */
    char *tail;   /* QUOTA: "exceeded quota: ..., requested: ..., used: ..., limited: ..." */
};

static const char *const all_keys[] = {
    "name",           "code",    "reason",  "message", "retryAfter", "after",
    "timeoutSeconds", "webhook", "url",     "cause",   "detail",     "quota",
    "requested",      "used",    "limited", "format",  NULL};

static const struct entry *find(const char *name)
{
    for (size_t i = 0; i < NENTRIES; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* The keys e accepts, NULL-ended, into out (room for every key). */
static void accepted(const struct entry *e, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; common[i]; i++)
        out[n++] = common[i];
    for (size_t i = 0; e->extra && e->extra[i]; i++)
        out[n++] = e->extra[i];
    out[n] = NULL;
}

static void free_ctx(void *p)
{
    struct ctx *x = p;
    if (!x)
        return;
    answer_free(x->answer);
    free(x->reason);
    free(x->tail);
    free(x);
}

/* Details of apierrors.NewInternalError: {"causes":[{"message": err}]}. */
static cJSON *causes(const char *err)
{
    cJSON *det = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *one = cJSON_CreateObject();
    if (!det || !arr || !one || !cJSON_AddStringToObject(one, "message", err) ||
        !cJSON_AddItemToArray(arr, one)) {
        cJSON_Delete(det);
        cJSON_Delete(arr);
        cJSON_Delete(one);
        return NULL;
    }
    if (!cJSON_AddItemToObject(det, "causes", arr)) {
        cJSON_Delete(det);
        cJSON_Delete(arr);
        return NULL;
    }
    return det;
}

/* snprintf that says whether the whole text fit (a cut message would be a wrong message). */
static int fits(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fits(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len;
}

/* Read the named parameters of e and build what can be built now. */
static int build(struct ctx *x, const cJSON *spec, const char *path, const char *message,
                 struct diag *d)
{
    const struct entry *e = x->e;
    const char *reason = e->reason, *text = e->text;
    char msg[ERROR_MAX_MESSAGE], err[ERROR_MAX_MESSAGE];
    cJSON *details = NULL;
    long timeout_s = 10;
    int bad = 0, cut = 0;
    bad |= param_string(spec, path, "reason", 0, 1, &reason, d) < 0;
    if (e->shape == TIMEOUT || e->shape == FAILED)
        bad |= param_int(spec, path, "timeoutSeconds", 0, 1, 30, &timeout_s, d) < 0;
    if (x->after_ms < 0) /* not given: the webhook's timeout */
        x->after_ms = timeout_s * 1000;

    switch (e->shape) {
    case PLAIN:
        cut |= !fits(msg, sizeof msg, "%s", text);
        break;
    case INTERNAL:
        cut |= !fits(msg, sizeof msg, "Internal error occurred: %s", text);
        details = causes(text);
        break;
    case TIMEOUT:
        cut |= !fits(msg, sizeof msg, "Timeout: %s", text);
        details = cJSON_CreateObject(); /* RetryAfterSeconds 0 marshals as "details":{} */
        break;
    case FAILED: {
        const char *hook = "example.webhook.service";
        const char *url = "https://example-webhook.default.svc:443/mutate", *cause = text;
        bad |= param_string(spec, path, "webhook", 0, 0, &hook, d) < 0;
        bad |= param_string(spec, path, "url", 0, 0, &url, d) < 0;
        bad |= param_string(spec, path, "cause", 0, 0, &cause, d) < 0;
        /* webhook/error.go ErrCallingWebhook + "failed to call webhook: %w" around Go's url.Error;
         * the client adds ?timeout= from the webhook's timeoutSeconds */
        cut |= !fits(err, sizeof err,
                     "failed calling webhook \"%s\": failed to call webhook: Post "
                     "\"%s?timeout=%lds\": %s",
                     hook, url, timeout_s, cause);
        cut |= !fits(msg, sizeof msg, "Internal error occurred: %s", err);
        details = causes(err);
        break;
    }
    case DENIED: {
        const char *hook = "validation.gatekeeper.sh", *detail = text;
        bad |= param_string(spec, path, "webhook", 0, 0, &hook, d) < 0;
        bad |= param_string(spec, path, "detail", 0, 1, &detail, d) < 0;
        cut |=
            !fits(msg, sizeof msg, "admission webhook \"%s\" denied the request: %s", hook, detail);
        /* the webhook's Status carries code and reason together */
        if (!cJSON_GetObjectItemCaseSensitive(spec, "reason"))
            reason = x->code == 403   ? STATUS_REASON_FORBIDDEN
                     : x->code == 400 ? STATUS_REASON_BADREQUEST
                                      : NULL;
        break;
    }
    case QUOTA: {
        const char *quota = "compute-resources", *req = "pods=1", *used = "pods=10",
                   *limited = "pods=10";
        bad |= param_string(spec, path, "quota", 0, 0, &quota, d) < 0;
        bad |= param_string(spec, path, "requested", 0, 0, &req, d) < 0;
        bad |= param_string(spec, path, "used", 0, 0, &used, d) < 0;
        bad |= param_string(spec, path, "limited", 0, 0, &limited, d) < 0;
        if (bad)
            return -1;
        cut |= !fits(err, sizeof err, "exceeded quota: %s, requested: %s, used: %s, limited: %s",
                     quota, req, used, limited);
        if (!(x->tail = strdup(err)) || (reason && *reason && !(x->reason = strdup(reason))))
            goto oom;
        if (cut)
            goto too_long;
        if (!message)
            return 0; /* the message names the object: built per request */
        cut |= !fits(msg, sizeof msg, "%s", message);
        break;
    }
    case THROTTLED: {
        const char *format = "text";
        bad |= param_string(spec, path, "format", 0, 0, &format, d) < 0;
        if (bad)
            return -1;
        if (strcmp(format, "status") != 0 && strcmp(format, "text") != 0) {
            char p[PARAM_PATH_MAX];
            diag_path(d, param_path(p, sizeof p, path, "format"),
                      "unknown format \"%s\" (known: text, status)", format);
            return -1;
        }
        char ra[24];
        snprintf(ra, sizeof ra, "%ld", x->retry_after);
        if (strcmp(format, "status") == 0) {
            x->answer = answer_status((int)x->code, reason, message ? message : text, NULL,
                                      x->retry_after, NULL);
        } else {
            /* Go's http.Error: text/plain, nosniff, the text and a newline */
            if (!fits(msg, sizeof msg, "%s\n", message ? message : text))
                goto too_long;
            x->answer = answer_new((int)x->code, HTTP_CT_TEXT, msg, strlen(msg));
            if (x->answer &&
                (answer_add_header(x->answer, "Retry-After", ra) < 0 ||
                 answer_add_header(x->answer, "X-Content-Type-Options", "nosniff") < 0))
                goto oom;
        }
        return x->answer ? 0 : -2;
    }
    }
    if (bad) {
        cJSON_Delete(details);
        return -1;
    }
    if (message)
        cut |= !fits(msg, sizeof msg, "%s", message);
    if (cut) {
        cJSON_Delete(details);
        goto too_long;
    }
    x->answer = answer_status((int)x->code, reason, msg, details, x->retry_after, NULL);
    return x->answer ? 0 : -2;
oom:
    return -2;
too_long:
    diag_path(d, path, "the composed message is longer than %d bytes", ERROR_MAX_MESSAGE);
    return -1;
}

static int parse(const cJSON *spec, const char *path, struct diag *d, void **ctx)
{
    const char *name = NULL, *message = NULL;
    const char *keys[sizeof all_keys / sizeof all_keys[0]];
    struct ctx *x = NULL;
    char known[512];
    size_t n = 0;
    if (param_check_keys(spec, path, all_keys, d) < 0 ||
        param_string(spec, path, "name", 1, 0, &name, d) < 0)
        return -1;
    const struct entry *e = find(name);
    if (!e) {
        const char *names[NENTRIES + 1];
        char p[PARAM_PATH_MAX];
        for (size_t i = 0; i < NENTRIES; i++) {
            names[i] = table[i].name;
            if (n < sizeof known)
                n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                                      table[i].name);
        }
        names[NENTRIES] = NULL;
        const char *hint = jsonc_suggest(name, names);
        diag_path(d, param_path(p, sizeof p, path, "name"),
                  "unknown error \"%s\" (known: %s)%s%s%s", name, known,
                  hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
        return -1;
    }
    accepted(e, keys);
    if (param_check_keys(spec, path, keys, d) < 0)
        return -1;
    if (!(x = calloc(1, sizeof *x))) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    x->e = e;
    x->code = e->code;
    x->retry_after = e->shape == THROTTLED ? 1 : -1; /* maxinflight.go: retryAfter = "1" */
    x->after_ms = e->after_ms;
    int bad = param_int(spec, path, "code", 0, 400, 599, &x->code, d) < 0;
    bad |= param_string(spec, path, "message", 0, 1, &message, d) < 0;
    bad |= param_int(spec, path, "retryAfter", 0, 0, ERROR_MAX_RETRY_AFTER, &x->retry_after, d) < 0;
    bad |= param_duration_max(spec, path, "after", 0, ERROR_MAX_AFTER_MS, &x->after_ms, d) < 0;
    int rc = bad ? -1 : build(x, spec, path, message, d);
    if (rc < 0) {
        if (rc == -2)
            diag_path(d, path, "out of memory");
        free_ctx(x);
        return -1;
    }
    *ctx = x;
    return 0;
}

/* admission.extractResourceName: the name in the URL, else the object's name or generateName. */
static void object_name(const struct fault_request *fr, char *buf, size_t len)
{
    const struct http_request *req = fr->req;
    cJSON *obj = NULL;
    snprintf(buf, len, "Unknown");
    if (fr->route->name[0]) {
        snprintf(buf, len, "%s", fr->route->name);
        return;
    }
    if (req->body_len == 0)
        return;
    const char *ct = http_request_header(req, "Content-Type");
    if (ct && strncmp(ct, KPROTO_MEDIA_TYPE, strlen(KPROTO_MEDIA_TYPE)) == 0)
        obj = kproto_decode(req->body, req->body_len, NULL, 0);
    else
        obj = cJSON_ParseWithLength((const char *)req->body, req->body_len);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(meta, "name");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(meta, "generateName");
    if (cJSON_IsString(n) && n->valuestring[0])
        snprintf(buf, len, "%s", n->valuestring);
    else if (cJSON_IsString(g) && g->valuestring[0])
        snprintf(buf, len, "%s", g->valuestring);
    cJSON_Delete(obj);
}

/* apierrors.NewForbidden(resource, name, err) for the quota plugin's error. */
static struct answer *quota_answer(const struct ctx *x, const struct fault_request *fr)
{
    char name[ROUTE_MAX_SEGMENT + 1], q[128], msg[ERROR_MAX_MESSAGE + 512];
    const struct kinds_info *k = fr->route->kind;
    cJSON *details = cJSON_CreateObject();
    if (!details)
        return NULL;
    object_name(fr, name, sizeof name);
    if (!k) {
        if (snprintf(msg, sizeof msg, "forbidden: %s", x->tail) >= (int)sizeof msg)
            log_warn("quota-exceeded: message cut to %zu bytes", sizeof msg - 1);
    } else {
        if (snprintf(msg, sizeof msg, "%s \"%s\" is forbidden: %s",
                     status_qualified(k, q, sizeof q), name, x->tail) >= (int)sizeof msg)
            log_warn("quota-exceeded: message cut to %zu bytes", sizeof msg - 1);
        cJSON_AddStringToObject(details, "name", name);
        if (k->group[0])
            cJSON_AddStringToObject(details, "group", k->group);
        cJSON_AddStringToObject(details, "kind", k->resource);
    }
    return answer_status((int)x->code, x->reason, msg, details, x->retry_after, NULL);
}

static enum hook_verdict on_request(struct fault_request *fr)
{
    const struct ctx *x = fr->ctx;
    char after[32];
    struct answer *a = x->answer ? answer_dup(x->answer) : quota_answer(x, fr);
    snprintf(fr->note, fr->note_len, "error %s%s%s", x->e->name, x->after_ms > 0 ? " after " : "",
             x->after_ms > 0 ? param_format_duration(x->after_ms, after, sizeof after) : "");
    return answer_after(fr, x->after_ms, a);
}

const struct fault_type fault_type_error = {
    .name = "error",
    .layer = FAULT_LAYER_HTTP,
    .summary = "a named error from the failure catalogue, answered as kube-apiserver answers it: "
               "etcd-leader-changed, etcd-request-timed-out, "
               "etcd-request-timed-out-leader-failure, quota-evaluation-timeout, quota-exceeded, "
               "webhook-timeout, webhook-failed, webhook-denied, too-many-requests, "
               "context-deadline-exceeded",
    .client_sees =
        "etcd-leader-changed: Error from server: etcdserver: leader changed; "
        "etcd-request-timed-out: Error from server: etcdserver: request timed out; "
        "etcd-request-timed-out-leader-failure: Error from server: etcdserver: request timed "
        "out, possibly due to previous leader failure; "
        "context-deadline-exceeded: Error from server: context deadline exceeded; "
        "quota-evaluation-timeout (after 10 s): Error from server (InternalError): Internal error "
        "occurred: resource quota evaluates timeout; "
        "quota-exceeded: Error from server (Forbidden): pods \"<name>\" is forbidden: exceeded "
        "quota: compute-resources, requested: pods=1, used: pods=10, limited: pods=10; "
        "webhook-timeout (after timeoutSeconds): Error from server (Timeout): Timeout: request did "
        "not complete within requested timeout; "
        "webhook-failed (after timeoutSeconds): Error from server (InternalError): Internal error "
        "occurred: failed calling webhook \"example.webhook.service\": failed to call webhook: "
        "Post \"https://example-webhook.default.svc:443/mutate?timeout=10s\": context deadline "
        "exceeded; "
        "webhook-denied: Error from server (Forbidden): admission webhook "
        "\"validation.gatekeeper.sh\" denied the request: [psp-readonlyrootfilesystem] only "
        "read-only root filesystem container is allowed: build; "
        "too-many-requests (after 10 retries, 1 s apart): Error from server (TooManyRequests): the "
        "server has received too many requests and has asked us to try again later (get pods "
        "<name>), or with format status: Error from server (TooManyRequests): Too many requests, "
        "please try again later.",
    .keys = all_keys,
    .parse = parse,
    .free = free_ctx,
    .on_request = on_request,
};
