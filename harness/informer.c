/* informer.c -- the pod informer of the reference job client (informer.h): client-go's reflector
 * steps over kclient's streaming GETs, and the runner's pod watcher checks on each event */
#include "harness/informer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness/kclient.h"
#include "mockapi/base/rng.h"

struct informer {
    struct kclient *k;
    struct rng *rng;
    char ns[128];
    char selector[1024];
    char pod[256];
    char rv[64];         /* the last resourceVersion seen */
    struct kc_stream *w; /* the open watch, or NULL */
    int64_t rewatch_at;  /* when to open the next watch */
    int need_list;       /* a 410 asked for a fresh list */
    informer_on_request on_req;
    void *arg;
    char pending[INFORMER_ERR_MAX];
    int has_pending;
};

static void count(struct informer *in)
{
    if (in->on_req)
        in->on_req(in->arg);
}

static const char *jstr(const cJSON *o, const char *k1, const char *k2)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k1);
    if (k2)
        v = cJSON_GetObjectItemCaseSensitive(v, k2);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void path_qs(struct informer *in, char *buf, size_t len, int watch_list, int watch)
{
    size_t n = (size_t)snprintf(buf, len, "/api/v1/namespaces/%s/pods?", in->ns);
    char to[16];
    snprintf(to, sizeof to, "%d",
             INFORMER_MIN_WATCH_S + (int)rng_below(in->rng, INFORMER_MIN_WATCH_S));
#define ADD(key, val)                                                                              \
    do {                                                                                           \
        if (n + 2 < len && buf[n - 1] != '?')                                                      \
            buf[n++] = '&';                                                                        \
        buf[n] = '\0';                                                                             \
        kc_query_escape(buf, len, &n, key);                                                        \
        if (n + 2 < len)                                                                           \
            buf[n++] = '=';                                                                        \
        buf[n] = '\0';                                                                             \
        kc_query_escape(buf, len, &n, val);                                                        \
    } while (0)
    /* url.Values.Encode sorts by key */
    if (watch_list) {
        ADD("allowWatchBookmarks", "true");
        ADD("labelSelector", in->selector);
        ADD("resourceVersionMatch", "NotOlderThan");
        ADD("sendInitialEvents", "true");
        ADD("timeoutSeconds", to);
        ADD("watch", "true");
    } else if (watch) {
        ADD("allowWatchBookmarks", "true");
        ADD("labelSelector", in->selector);
        ADD("resourceVersion", in->rv);
        ADD("timeoutSeconds", to);
        ADD("watch", "true");
    } else {
        ADD("labelSelector", in->selector);
        ADD("limit", "500");
        ADD("resourceVersion", "0");
    }
#undef ADD
}

/* The runner's CheckTerminalContainerErrors on a pod (§3.1 table); "" when none. */
static void terminal_error(const cJSON *pod, char *out, size_t len)
{
    static const char *const lists[] = {"containerStatuses", "initContainerStatuses"};
    out[0] = '\0';
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(pod, "status");
    for (size_t l = 0; l < 2 && !out[0]; l++) {
        const cJSON *cs;
        cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, lists[l]))
        {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cs, "ready")))
                continue;
            const cJSON *w = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(cs, "state"), "waiting");
            if (!w)
                continue;
            const char *reason = jstr(w, "reason", NULL), *msg = jstr(w, "message", NULL);
            const char *name = jstr(cs, "name", NULL), *image = jstr(cs, "image", NULL);
            if (!reason)
                continue;
            msg = msg ? msg : "";
            if (strcmp(reason, "InvalidImageName") == 0) {
                snprintf(out, len, "image pull failed: %s", msg);
            } else if (strcmp(reason, "ErrImagePull") == 0 ||
                       strcmp(reason, "ImagePullBackOff") == 0) {
                snprintf(out, len, "pulling image \"%s\" for container %s: image pull failed: %s",
                         image ? image : "", name ? name : "", msg);
            } else if (strcmp(reason, "CrashLoopBackOff") == 0) {
                const char *last =
                    jstr(cJSON_GetObjectItemCaseSensitive(
                             cJSON_GetObjectItemCaseSensitive(cs, "lastState"), "terminated"),
                         "message", NULL);
                snprintf(out, len, "container \"%s\" is in CrashLoopBackOff: %s%s%s",
                         name ? name : "", msg, last && *last ? ": " : "", last ? last : "");
            } else if (strcmp(reason, "CreateContainerConfigError") == 0) {
                snprintf(out, len, "container configuration error: %s", msg);
            }
            if (out[0])
                break;
        }
    }
}

/* One watch event: keep the resourceVersion, check the build pod. */
static void on_event(struct informer *in, const char *type, const cJSON *obj)
{
    const char *rv = jstr(obj, "metadata", "resourceVersion");
    if (rv)
        snprintf(in->rv, sizeof in->rv, "%s", rv);
    const char *name = jstr(obj, "metadata", "name");
    if (!in->pod[0] || !name || strcmp(name, in->pod) != 0 || in->has_pending)
        return;
    char *e = in->pending;
    size_t el = sizeof in->pending;
    if (strcmp(type, "DELETED") == 0) {
        snprintf(e, el, "pod \"%s/%s\" is deleted", in->ns, name);
    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                                  cJSON_GetObjectItemCaseSensitive(obj, "status"), "conditions"))
        {
            const char *t = jstr(c, "type", NULL), *s = jstr(c, "status", NULL);
            if (t && s && strcmp(t, "DisruptionTarget") == 0 && strcmp(s, "True") == 0) {
                const char *r = jstr(c, "reason", NULL), *m = jstr(c, "message", NULL);
                snprintf(e, el, "pod \"%s/%s\" is disrupted: reason \"%s\", message \"%s\"", in->ns,
                         name, r ? r : "", m ? m : "");
                break;
            }
        }
        if (!e[0] && jstr(obj, "metadata", "deletionTimestamp"))
            snprintf(e, el, "pod \"%s/%s\" is being deleted", in->ns, name);
        if (!e[0]) {
            char t[INFORMER_ERR_MAX - 300];
            terminal_error(obj, t, sizeof t);
            if (t[0])
                snprintf(e, el, "pod \"%s/%s\" failed: %s", in->ns, name, t);
        }
    }
    in->has_pending = e[0] != '\0';
}

/* Handle the complete lines of the open watch. Returns 1 when the initial-events-end bookmark
 * went by, -1 when the watch asked for a relist (410), 0 otherwise. */
static int read_events(struct informer *in)
{
    int r = 0;
    char *line;
    while (in->w && (line = kc_stream_line(in->w)) != NULL) {
        cJSON *ev = cJSON_Parse(line);
        free(line);
        const char *type = jstr(ev, "type", NULL);
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
        if (type && strcmp(type, "BOOKMARK") == 0) {
            const char *rv = jstr(obj, "metadata", "resourceVersion");
            if (rv)
                snprintf(in->rv, sizeof in->rv, "%s", rv);
            const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
            const char *end = jstr(ann, "k8s.io/initial-events-end", NULL);
            if (end && strcmp(end, "true") == 0)
                r = 1;
        } else if (type && strcmp(type, "ERROR") == 0) {
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
            if (cJSON_IsNumber(code) && code->valueint == 410)
                r = -1;
        } else if (type && obj) {
            on_event(in, type, obj);
        }
        cJSON_Delete(ev);
    }
    return r;
}

/* LIST then WATCH from the list's resourceVersion (the reflector's fallback and relist). */
static int list_and_watch(struct informer *in, int64_t deadline, char *err, size_t errlen)
{
    char path[KC_PATH_MAX];
    path_qs(in, path, sizeof path, 0, 0);
    struct kc_resp r;
    count(in);
    if (kclient_do(in->k, "GET", path, NULL, deadline, &r) < 0) {
        snprintf(err, errlen, "%s", r.err);
        kc_resp_release(&r);
        return -1;
    }
    const char *rv = jstr(r.body, "metadata", "resourceVersion");
    snprintf(in->rv, sizeof in->rv, "%s", rv ? rv : "0");
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r.body, "items"))
        on_event(in, "ADDED", it);
    kc_resp_release(&r);
    path_qs(in, path, sizeof path, 0, 1);
    count(in);
    in->w = kclient_stream_get(in->k, path);
    in->need_list = 0;
    if (!in->w)
        return -1;
    /* the reflector's watch goes out now, not at the next poll: wait (bounded) for its answer */
    int64_t until = kclient_now_ms() + 1000;
    while (!kc_stream_code(in->w) && kclient_now_ms() < until)
        if (kc_stream_pump(in->w, 10) < 0)
            break;
    return 0;
}

struct informer *informer_start(struct kclient *k, struct rng *rng, const char *ns,
                                const char *selector, int64_t sync_ms, informer_on_request on_req,
                                void *arg, char *err, size_t errlen)
{
    struct informer *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->k = k;
    in->rng = rng;
    in->on_req = on_req;
    in->arg = arg;
    snprintf(in->ns, sizeof in->ns, "%s", ns);
    snprintf(in->selector, sizeof in->selector, "%s", selector);
    int64_t deadline = kclient_now_ms() + sync_ms;
    char path[KC_PATH_MAX];
    /* §3.2: watch-list first (client-go >= 0.35, WatchListClient on) */
    path_qs(in, path, sizeof path, 1, 1);
    count(in);
    in->w = kclient_stream_get(k, path);
    int synced = 0, fallback = 0;
    while (in->w && !synced && kclient_now_ms() < deadline) {
        int64_t left = deadline - kclient_now_ms();
        int ended = kc_stream_pump(in->w, left < 20 ? (int)left : 20) < 0;
        int code = kc_stream_code(in->w);
        if (code && code != 200) {
            /* refused (a Status): fall back to LIST+WATCH */
            fallback = 1;
            break;
        }
        if (read_events(in) == 1)
            synced = 1;
        else if (ended) {
            fallback = 1;
            break;
        }
    }
    if (fallback) {
        kc_stream_free(in->w);
        in->w = NULL;
        char e[INFORMER_ERR_MAX] = "";
        if (kclient_now_ms() < deadline && list_and_watch(in, deadline, e, sizeof e) == 0)
            synced = 1;
    }
    if (!synced) {
        snprintf(err, errlen, "not synced: *v1.Pod");
        informer_stop(in);
        return NULL;
    }
    in->has_pending = 0;
    in->pending[0] = '\0';
    return in;
}

void informer_set_pod(struct informer *in, const char *name)
{
    snprintf(in->pod, sizeof in->pod, "%s", name ? name : "");
    in->has_pending = 0;
    in->pending[0] = '\0';
}

int informer_poll(struct informer *in, int ms, int deliver, char *err, size_t errlen)
{
    if (!in->w && kclient_now_ms() >= in->rewatch_at) {
        if (in->need_list) {
            char e[INFORMER_ERR_MAX];
            if (list_and_watch(in, kclient_now_ms() + 30000, e, sizeof e) < 0)
                in->rewatch_at = kclient_now_ms() + INFORMER_RETRY_MS;
        } else {
            char path[KC_PATH_MAX];
            path_qs(in, path, sizeof path, 0, 1);
            count(in);
            in->w = kclient_stream_get(in->k, path);
        }
    }
    if (in->w) {
        int ended = kc_stream_pump(in->w, ms) < 0;
        int code = kc_stream_code(in->w);
        if (read_events(in) < 0)
            in->need_list = 1;
        if (ended || in->need_list || (code && code != 200)) {
            if (code == 410)
                in->need_list = 1;
            kc_stream_free(in->w);
            in->w = NULL;
            in->rewatch_at = kclient_now_ms() + (ended && code == 200 ? 0 : INFORMER_RETRY_MS);
        }
    } else if (ms > 0) {
        kclient_sleep_ms(ms, 0);
    }
    if (!in->has_pending)
        return 0;
    in->has_pending = 0;
    if (!deliver)
        return 0;
    snprintf(err, errlen, "%s", in->pending);
    return 1;
}

void informer_stop(struct informer *in)
{
    if (!in)
        return;
    kc_stream_free(in->w);
    free(in);
}
