/* containers.c -- the simulated containers behind exec and attach: scenario scripts, GitLab
 * Runner's attach strategy and legacy exec mode (saved scripts, stages, read-logs, cancellation),
 * the built-in commands, pod files, and streams ended when their container goes (containers.h).
 *
 * State per pod (keyed by uid, so a pod made again under the same name starts clean): its files,
 * the sessions open into it, and its stages. Sessions and read-logs readers hold a reference, so
 * the state outlives the pod until the last stream is gone. Store changes (a container that
 * terminated, a pod deleted) are acted on from a zero-delay timer, never inside the listener. */
#include "mockapi/kube/containers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/base/strmap.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/store.h"
#include "mockapi/stream/runnerproto.h"

#define CTR_NAME_MAX 256
#define CTR_KILLED_EXIT 137 /* an exec'd process dies with its container: SIGKILL */
#define CTR_CANCEL_EXIT 1   /* `trap exit 1 TERM` in every stage script */
#define CTR_FILE_MISSING 100
#define CTR_MAX_KILLED 8 /* containers a pod can have waiting for the reaper at once */

struct ctr_file {
    struct ctr_file *next;
    char *path;
    char *data;
    size_t len, cap;
};

struct ctr_pod;

struct ctr_sess { /* one exec/attach session into the pod */
    struct ctr_sess *next;
    struct ctr_pod *pod;
    struct rcs_session *s; /* NULL until created, and after it was freed */
    char container[CTR_NAME_MAX];
    int attach;
};

struct ctr_stage { /* a stage running in a container */
    struct ctr_stage *next;
    struct ctr_pod *pod;
    char container[CTR_NAME_MAX];
    char stage[RP_NAME_MAX];
    char script[RP_PATH_MAX];
    char log[RP_PATH_MAX];
    struct rcs_script plan;
    size_t step;
    struct event *timer;
    struct event *del_timer; /* the output-log-deleted fault */
    int exit_code;           /* -1 while running or hanging */
    int over;
};

struct ctr_reader { /* a read-logs exec */
    struct ctr_reader *next;
    struct ctr_pod *pod;
    struct rcs_session *s;
    struct rp_read_logs args;
    uint64_t offset;
    int64_t deadline_ns;
    struct event *poll;
    int open; /* the file was found */
};

struct ctr_pod {
    struct ctr_pod *prev, *next;
    struct ctr_runtime *rt; /* NULL once the runtime is gone */
    int refs;               /* the runtime's list (1 while listed), sessions, readers */
    int gone;               /* deleted from the store */
    char ns[CTR_NAME_MAX], name[CTR_NAME_MAX], uid[64];
    int64_t running_ns; /* monotonic time it was first seen Running, 0: not yet */
    struct ctr_file *files;
    struct ctr_sess *sessions;
    struct ctr_reader *readers;
    struct ctr_stage *stages;
    /* containers seen terminated, waiting for the reaper: allocated when the first is (2 kB that
     * most of 100k pods never need) */
    char (*killed)[CTR_NAME_MAX];
    size_t nkilled;
    int kill_all;
};

struct ctr_runtime {
    struct event_base *base;
    struct cluster *cl;
    struct store *store;
    const struct mockapi_hooks *hooks;
    struct ctr_pod *pods;  /* newest first */
    struct strmap *by_uid; /* the listed pods by uid (keys borrowed from them) */
    uint64_t listen;
    struct event *reap;
    size_t max_pending; /* unread exec/attach output that ends a session; 0: remotecmd.h's */
};

/* ---- pods ---- */

static void stage_free(struct ctr_stage *st)
{
    if (st->timer)
        event_free(st->timer);
    if (st->del_timer)
        event_free(st->del_timer);
    rcs_script_clear(&st->plan);
    free(st);
}

static void pod_unref(struct ctr_pod *p)
{
    if (--p->refs > 0)
        return;
    while (p->files) {
        struct ctr_file *f = p->files;
        p->files = f->next;
        free(f->path);
        free(f->data);
        free(f);
    }
    while (p->stages) {
        struct ctr_stage *st = p->stages;
        p->stages = st->next;
        stage_free(st);
    }
    free(p->killed);
    free(p);
}

/* A hash lookup: every change to every pod asks, so walking 100k pods here was most of the
 * store's time. */
static struct ctr_pod *pod_by_uid(struct ctr_runtime *rt, const char *uid)
{
    return strmap_get(rt->by_uid, uid);
}

static struct ctr_pod *pod_by_name(struct ctr_runtime *rt, const char *ns, const char *name)
{
    for (struct ctr_pod *p = rt->pods; p; p = p->next)
        if (!p->gone && strcmp(p->ns, ns) == 0 && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static struct ctr_file *file_find(struct ctr_pod *p, const char *path)
{
    for (struct ctr_file *f = p->files; f; f = f->next)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

static struct ctr_file *file_make(struct ctr_pod *p, const char *path)
{
    struct ctr_file *f = file_find(p, path);
    if (f)
        return f;
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    f->next = p->files;
    p->files = f;
    return f;
}

static void readers_wake(struct ctr_pod *p, const char *path);

static int file_append(struct ctr_pod *p, const char *path, const char *data, size_t len)
{
    struct ctr_file *f = file_make(p, path);
    if (!f)
        return -1;
    if (f->len + len > CTR_MAX_FILE_BYTES) {
        log_warn("pod %s/%s: %s is full (%u bytes): output dropped", p->ns, p->name, path,
                 CTR_MAX_FILE_BYTES);
        return -1;
    }
    if (f->len + len > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + len)
            cap *= 2;
        char *n = realloc(f->data, cap);
        if (!n)
            return -1;
        f->data = n;
        f->cap = cap;
    }
    if (len) /* a new file's data is NULL: no pointer arithmetic on it for an empty write */
        memcpy(f->data + f->len, data, len);
    f->len += len;
    readers_wake(p, path);
    return 0;
}

static int file_put(struct ctr_pod *p, const char *path, const char *data, size_t len)
{
    struct ctr_file *f = file_make(p, path);
    if (!f)
        return -1;
    f->len = 0;
    return file_append(p, path, data, len);
}

/* The output log init-permissions creates: `touch /logs-P-J/output.log && ...` in its command. */
static void touch_init_files(struct ctr_pod *p, const cJSON *pod)
{
    const cJSON *ic;
    cJSON_ArrayForEach(ic, cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(pod, "spec"), "initContainers"))
    {
        const cJSON *w;
        cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(ic, "command"))
        {
            if (!cJSON_IsString(w))
                continue;
            for (const char *t = strstr(w->valuestring, "touch "); t; t = strstr(t + 1, "touch ")) {
                const char *a = t + 6;
                while (*a == ' ')
                    a++;
                size_t n = strcspn(a, " ;&|)'\"\n");
                if (n > 0 && n < RP_PATH_MAX && *a == '/') {
                    char path[RP_PATH_MAX];
                    memcpy(path, a, n);
                    path[n] = '\0';
                    file_make(p, path);
                }
            }
        }
    }
}

static struct ctr_pod *pod_add(struct ctr_runtime *rt, const cJSON *pod)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    struct ctr_pod *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->rt = rt;
    p->refs = 1;
    snprintf(p->ns, sizeof p->ns, "%s", json_str_or(meta, "namespace", ""));
    snprintf(p->name, sizeof p->name, "%s", json_str_or(meta, "name", ""));
    snprintf(p->uid, sizeof p->uid, "%s", json_str_or(meta, "uid", ""));
    if (strmap_put(rt->by_uid, p->uid, p) < 0) {
        free(p);
        return NULL;
    }
    touch_init_files(p, pod);
    p->next = rt->pods;
    if (rt->pods)
        rt->pods->prev = p;
    rt->pods = p;
    return p;
}

/* The state for a stored pod, made when first needed. */
static struct ctr_pod *pod_get(struct ctr_runtime *rt, const cJSON *pod)
{
    const char *uid = json_str(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "uid");
    struct ctr_pod *p = uid ? pod_by_uid(rt, uid) : NULL;
    return p ? p : pod_add(rt, pod);
}

static void pod_unlist(struct ctr_runtime *rt, struct ctr_pod *p)
{
    if (strmap_get(rt->by_uid, p->uid) == p) /* not a newer pod made with the same uid */
        strmap_remove(rt->by_uid, p->uid);
    if (p->prev)
        p->prev->next = p->next;
    else
        rt->pods = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
    p->rt = NULL;
    pod_unref(p);
}

/* ---- ending streams when containers go ---- */

/* End every session into container (NULL: all) of p: exec'd processes die with it (137), attach
 * streams end. Sessions are entered first so none is freed under the walk. */
static void end_sessions(struct ctr_pod *p, const char *container)
{
    struct rcs_session *list[256];
    int attach[256];
    size_t n = 0;
    for (struct ctr_sess *cs = p->sessions; cs && n < 256; cs = cs->next) {
        if (!cs->s || rcs_finished(cs->s) || (container && strcmp(cs->container, container) != 0))
            continue;
        rcs_enter(cs->s);
        attach[n] = cs->attach;
        list[n++] = cs->s;
    }
    for (size_t i = 0; i < n; i++)
        rcs_exit(list[i], attach[i] ? 0 : CTR_KILLED_EXIT);
    for (size_t i = 0; i < n; i++)
        rcs_leave(list[i]);
}

static void stage_stop_timers(struct ctr_pod *p, const char *container)
{
    for (struct ctr_stage *st = p->stages; st; st = st->next) {
        if (container && strcmp(st->container, container) != 0)
            continue;
        if (st->timer)
            event_del(st->timer);
        if (st->del_timer)
            event_del(st->del_timer);
        st->over = 1;
    }
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr_runtime *rt = arg;
    for (struct ctr_pod *p = rt->pods, *next; p; p = next) {
        next = p->next;
        p->refs++; /* ending sessions may drop the others */
        if (p->gone || p->kill_all) {
            stage_stop_timers(p, NULL);
            end_sessions(p, NULL);
            p->kill_all = 0;
        }
        for (size_t i = 0; i < p->nkilled; i++) {
            stage_stop_timers(p, p->killed[i]);
            end_sessions(p, p->killed[i]);
        }
        p->nkilled = 0;
        next = p->next;
        if (p->gone)
            pod_unlist(rt, p);
        pod_unref(p);
    }
}

static void reap_soon(struct ctr_runtime *rt)
{
    struct timeval zero = {0, 0};
    if (rt->reap)
        evtimer_add(rt->reap, &zero);
}

static int container_terminated(const cJSON *obj, const char *name)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    const cJSON *cs;
    cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, "containerStatuses"))
    {
        if (strcmp(json_str_or(cs, "name", ""), name) == 0)
            return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cs, "state"),
                                                    "terminated") != NULL;
    }
    return 0;
}

static void on_store(void *arg, enum store_event_type type, const struct kinds_info *k,
                     const cJSON *old, const cJSON *obj)
{
    (void)old;
    struct ctr_runtime *rt = arg;
    if (k->id != KIND_pods)
        return;
    const char *uid = json_str(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "uid");
    struct ctr_pod *p = uid ? pod_by_uid(rt, uid) : NULL;
    if (type == STORE_ADDED && !p) {
        pod_add(rt, obj);
        return;
    }
    if (!p)
        return;
    if (type == STORE_DELETED) {
        p->gone = 1;
        reap_soon(rt);
        return;
    }
    const char *phase = json_str_or(cJSON_GetObjectItemCaseSensitive(obj, "status"), "phase", "");
    if (!p->running_ns && strcmp(phase, "Running") == 0)
        p->running_ns = clock_mono_ns();
    if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0) {
        p->kill_all = 1;
        reap_soon(rt);
        return;
    }
    int any = 0;
    for (struct ctr_sess *cs = p->sessions; cs; cs = cs->next) {
        if (!cs->s || !container_terminated(obj, cs->container))
            continue;
        int seen = 0;
        for (size_t i = 0; i < p->nkilled; i++)
            seen |= strcmp(p->killed[i], cs->container) == 0;
        if (!seen && !p->killed)
            p->killed = calloc(CTR_MAX_KILLED, sizeof *p->killed);
        if (!seen && p->killed && p->nkilled < CTR_MAX_KILLED)
            snprintf(p->killed[p->nkilled++], CTR_NAME_MAX, "%s", cs->container);
        any = 1;
    }
    if (any)
        reap_soon(rt);
}

/* ---- session tracking ---- */

static void sess_created(void *arg, struct rcs_session *s)
{
    struct ctr_sess *cs = arg;
    cs->s = s;
}

static void sess_freed(void *arg, struct rcs_session *s)
{
    (void)s;
    struct ctr_sess *cs = arg;
    struct ctr_pod *p = cs->pod;
    for (struct ctr_sess **pp = &p->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == cs) {
            *pp = cs->next;
            break;
        }
    }
    free(cs);
    pod_unref(p);
}

/* ---- stages ---- */

/* Output of a stage: the output log it tees into, and the container's own log (tee's stdout is
 * the attached shell's, PID 1's). The container log is kept line by line. */
static void stage_emit(struct ctr_stage *st, const char *data, size_t len)
{
    struct ctr_pod *p = st->pod;
    if (st->log[0])
        file_append(p, st->log, data, len);
    if (!p->rt || p->gone)
        return;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) + 1 : len;
        cluster_log_write(p->rt->cl, p->ns, p->name, st->container, data, n);
        data += n;
        len -= n;
    }
}

static void stage_end(struct ctr_stage *st, int code)
{
    char m[RP_PATH_MAX + 64];
    st->over = 1;
    st->exit_code = code;
    if (st->timer)
        event_del(st->timer);
    if (rp_marker_exit(code, st->script, m + 1, sizeof m - 2) < 0)
        return;
    m[0] = '\n'; /* the trap's echo "" */
    size_t n = strlen(m);
    m[n++] = '\n';
    stage_emit(st, m, n);
}

static void stage_play(struct ctr_stage *st)
{
    while (!st->over && st->step < st->plan.nsteps) {
        const struct rcs_step *sp = &st->plan.steps[st->step++];
        switch (sp->kind) {
        case RCS_STEP_WRITE:
            stage_emit(st, sp->data, sp->len); /* 2>&1: both streams go to the log */
            break;
        case RCS_STEP_SLEEP: {
            struct timeval tv = {(time_t)(sp->ms / 1000), (suseconds_t)(sp->ms % 1000) * 1000};
            if (st->timer && evtimer_add(st->timer, &tv) == 0)
                return;
            break;
        }
        case RCS_STEP_STDIN:
            break;
        case RCS_STEP_EXIT:
            stage_end(st, sp->exit_code);
            return;
        case RCS_STEP_HANG: /* output and no exit marker: seed failure 13 */
            return;
        }
    }
    if (!st->over && st->step >= st->plan.nsteps)
        stage_end(st, 0);
}

static void on_stage_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    stage_play(arg);
}

static int add_line(void *arg, const char *line, size_t len)
{
    struct rcs_script *plan = arg;
    char *b = malloc(len + 1);
    if (!b)
        return -1;
    memcpy(b, line, len);
    b[len] = '\n';
    struct rcs_step step = {
        .kind = RCS_STEP_WRITE, .stream = RCS_STDOUT, .data = b, .len = len + 1};
    int r = rcs_script_add(plan, &step);
    free(b);
    return r;
}

/* What the stage does: the hook's plan, or the script's own echo lines and exit 0. */
static void stage_plan(struct ctr_runtime *rt, const cJSON *pod, struct ctr_pod *p,
                       const char *container, const char *stage, const char *script_path,
                       const char *script, size_t script_len, int legacy, struct rcs_script *plan,
                       int64_t *delete_log_ms)
{
    *delete_log_ms = -1;
    const struct mockapi_hooks *h = rt->hooks;
    if (h && h->on_stage) {
        struct hook_stage hs = {
            .pod = pod,
            .namespace = p->ns,
            .name = p->name,
            .container = container,
            .stage = stage,
            .script_path = script_path,
            .script = script,
            .script_len = script_len,
            .legacy = legacy,
            .pod_running_ms =
                p->running_ns ? (clock_mono_ns() - p->running_ns) / 1000000 : (int64_t)-1,
            .plan = plan,
            .delete_log_ms = -1,
        };
        enum hook_verdict v = h->on_stage(h->arg, &hs);
        *delete_log_ms = hs.delete_log_ms;
        if (v == HOOK_HANDLED)
            return;
        rcs_script_clear(plan);
    }
    if (script) {
        struct rp_render r = {.unix_time = clock_wall_ns() / 1000000000, .hostname = p->name};
        rp_script_echo_lines(script, script_len, &r, add_line, plan);
    }
}

static const cJSON *stored_pod(struct ctr_runtime *rt, struct ctr_pod *p)
{
    return store_get(rt->store, kinds_by_resource("", "pods"), p->ns, p->name);
}

static int file_delete(struct ctr_pod *p, const char *path);

static void on_delete_log(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr_stage *st = arg;
    struct ctr_pod *p = st->pod;
    if (file_delete(p, st->log) == 0)
        log_info("pod %s/%s: output log %s deleted (scenario)", p->ns, p->name, st->log);
}

/* An attach line started a stage (attach mode). */
static void stage_start(struct ctr_pod *p, const char *container, const struct rp_stage_line *l)
{
    struct ctr_runtime *rt = p->rt;
    if (!rt || p->gone)
        return;
    struct ctr_stage *st = calloc(1, sizeof *st);
    if (!st)
        return;
    st->pod = p;
    st->exit_code = -1;
    snprintf(st->container, sizeof st->container, "%s", container);
    snprintf(st->stage, sizeof st->stage, "%s", l->stage);
    snprintf(st->script, sizeof st->script, "%s", l->script);
    snprintf(st->log, sizeof st->log, "%s", l->log);
    st->timer = evtimer_new(rt->base, on_stage_timer, st);
    struct ctr_file *f = file_find(p, l->script);
    int64_t del_ms;
    stage_plan(rt, stored_pod(rt, p), p, container, l->stage, l->script, f ? f->data : NULL,
               f ? f->len : 0, 0, &st->plan, &del_ms);
    if (del_ms >= 0 && st->log[0]) {
        st->del_timer = evtimer_new(rt->base, on_delete_log, st);
        struct timeval tv = {(time_t)(del_ms / 1000), (suseconds_t)(del_ms % 1000) * 1000};
        if (st->del_timer)
            evtimer_add(st->del_timer, &tv);
    }
    st->next = p->stages;
    p->stages = st;
    log_debug("pod %s/%s: stage %s starts in %s", p->ns, p->name, st->stage, container);
    char m[RP_PATH_MAX + 32];
    int n = rp_marker_start(st->script, m, sizeof m - 1);
    if (n > 0) {
        m[n++] = '\n';
        stage_emit(st, m, (size_t)n);
    }
    stage_play(st);
}

/* The cancellation script: the stages running in container (only the one named stage, unless
 * stage is "") end as their TERM trap ends them. */
static void stages_cancel(struct ctr_pod *p, const char *container, const char *stage)
{
    for (struct ctr_stage *st = p->stages; st; st = st->next)
        if (!st->over && strcmp(st->container, container) == 0 &&
            (!stage[0] || strcmp(st->stage, stage) == 0))
            stage_end(st, CTR_CANCEL_EXIT);
}

/* ---- read-logs ---- */

static void reader_emit(struct ctr_reader *r)
{
    struct ctr_file *f = file_find(r->pod, r->args.path);
    while (f && r->offset < f->len && !rcs_finished(r->s)) {
        struct rp_records rec;
        if (rp_read_logs_records(f->data, f->len, r->offset, 1, &rec) < 0)
            return;
        size_t consumed = rec.consumed;
        int w = rec.len ? rcs_write(r->s, RCS_STDOUT, rec.data, rec.len) : 0;
        rp_records_release(&rec);
        if (w < 0 || consumed == 0)
            return;
        r->offset += consumed;
    }
}

static void readers_wake(struct ctr_pod *p, const char *path)
{
    struct rcs_session *list[64];
    size_t n = 0;
    for (struct ctr_reader *r = p->readers; r && n < 64; r = r->next) {
        if (r->open && strcmp(r->args.path, path) == 0 && !rcs_finished(r->s)) {
            rcs_enter(r->s);
            list[n++] = r->s;
        }
    }
    /* the readers stay: entered sessions are not freed until they are left */
    for (struct ctr_reader *r = p->readers; r; r = r->next)
        for (size_t i = 0; i < n; i++)
            if (r->s == list[i])
                reader_emit(r);
    for (size_t i = 0; i < n; i++)
        rcs_leave(list[i]);
}

static void reader_try_open(struct ctr_reader *r)
{
    if (file_find(r->pod, r->args.path)) {
        r->open = 1;
        reader_emit(r);
        return;
    }
    if (clock_mono_ns() >= r->deadline_ns) {
        static const char msg[] = "error reading logs timeout waiting for file to be created\n";
        if (rcs_write(r->s, RCS_STDOUT, msg, sizeof msg - 1) == 0)
            rcs_exit(r->s, 1);
        return;
    }
    struct timeval sec = {1, 0};
    if (!r->poll || evtimer_add(r->poll, &sec) < 0)
        rcs_exit(r->s, 1);
}

static void on_reader_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr_reader *r = arg;
    struct rcs_session *s = r->s;
    rcs_enter(s);
    reader_try_open(r);
    rcs_leave(s);
}

static void reader_start(struct rcs_session *s, void *ctx)
{
    struct ctr_reader *r = ctx;
    r->s = s;
    if (r->pod->gone) {
        rcs_exit(s, CTR_KILLED_EXIT);
        return;
    }
    reader_try_open(r);
}

static void reader_release(void *ctx)
{
    struct ctr_reader *r = ctx;
    struct ctr_pod *p = r->pod;
    for (struct ctr_reader **pp = &p->readers; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (r->poll)
        event_free(r->poll);
    free(r);
    pod_unref(p);
}

/* A deleted file: its readers end with "file missing" (the runner fails the stage with it). */
static void readers_file_gone(struct ctr_pod *p, const char *path)
{
    struct rcs_session *list[64];
    size_t n = 0;
    for (struct ctr_reader *r = p->readers; r && n < 64; r = r->next) {
        if (strcmp(r->args.path, path) == 0 && !rcs_finished(r->s)) {
            rcs_enter(r->s);
            list[n++] = r->s;
        }
    }
    for (size_t i = 0; i < n; i++)
        rcs_exit(list[i], CTR_FILE_MISSING);
    for (size_t i = 0; i < n; i++)
        rcs_leave(list[i]);
}

/* ---- attach: the container's PID 1, the runner's detect shell reading stdin ---- */

struct ctr_attach {
    struct ctr_pod *pod;
    struct rcs_session *s;
    char container[CTR_NAME_MAX];
    uint64_t follow;
    char *line; /* the line being typed, line_cap bytes allocated */
    size_t len, line_cap;
};

static void attach_output(void *arg, const char *data, size_t len, int64_t stamp_ns)
{
    (void)stamp_ns;
    struct ctr_attach *a = arg;
    rcs_enter(a->s);
    if (!data)
        rcs_exit(a->s, 0); /* the container went */
    else
        rcs_write(a->s, RCS_STDOUT, data, len); /* a failure ends the session: nothing to do */
    rcs_leave(a->s);
}

static void attach_start(struct rcs_session *s, void *ctx)
{
    struct ctr_attach *a = ctx;
    a->s = s;
    const struct rcs_opts *o = rcs_options(s);
    struct ctr_pod *p = a->pod;
    if (p->gone || !p->rt) {
        rcs_exit(s, 0);
        return;
    }
    if (o->want[RCS_STDOUT] || o->want[RCS_STDERR]) {
        a->follow = cluster_log_follow(p->rt->cl, p->ns, p->name, a->container, attach_output, a);
        if (!a->follow)
            log_warn("attach: cannot follow %s/%s %s", p->ns, p->name, a->container);
    } else if (!o->want[RCS_STDIN]) {
        rcs_exit(s, 0);
    }
}

/* One line typed into PID 1: a stage start, or a command whose output goes to the container's
 * log (where every attached client sees it). */
static void attach_line(struct ctr_attach *a, const char *line, size_t len)
{
    struct ctr_pod *p = a->pod;
    struct rp_stage_line sl;
    if (rp_parse_stage_line(line, len, &sl) == 0) {
        stage_start(p, a->container, &sl);
        return;
    }
    if (!p->rt || p->gone)
        return;
    struct rcs_script out = {0};
    if (rcs_shell_line(line, len, &out) == 0) {
        for (size_t i = 0; i < out.nsteps; i++)
            if (out.steps[i].kind == RCS_STEP_WRITE)
                cluster_log_write(p->rt->cl, p->ns, p->name, a->container, out.steps[i].data,
                                  out.steps[i].len);
    }
    rcs_script_clear(&out);
}

/* stdin a program keeps went past RCS_MAX_INPUT_BYTES: end the session with a Failure saying so
 * (kubectl prints "error: kubefault: ..."), rather than run a truncated script or line. */
static void input_too_long(struct rcs_session *s, const struct ctr_pod *p, const char *container,
                           const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg,
             "kubefault: %s of more than %d bytes on stdin: the fake keeps at most that much, so "
             "nothing was run",
             what, RCS_MAX_INPUT_BYTES);
    log_warn("exec in %s/%s %s: %s", p->ns, p->name, container, msg);
    rcs_exit_failure(s, msg);
}

static void attach_input(struct rcs_session *s, void *ctx, enum rcs_stream stream, const void *data,
                         size_t len)
{
    struct ctr_attach *a = ctx;
    if (stream != RCS_STDIN)
        return;
    if (!data) { /* stdin closed: the runner's attach returns now; so does kubectl attach -i */
        if (a->len)
            attach_line(a, a->line, a->len);
        a->len = 0;
        rcs_exit(s, 0);
        return;
    }
    const char *d = data, *end = d + len;
    while (d < end && !rcs_finished(s)) {
        const char *eol = d;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        size_t n = (size_t)(eol - d);
        if (n > RCS_MAX_INPUT_BYTES - a->len) {
            input_too_long(s, a->pod, a->container, "a line");
            return;
        }
        if (a->len + n > a->line_cap) { /* doubling: typed byte by byte stays linear */
            size_t cap = a->line_cap ? a->line_cap : 256;
            while (cap < a->len + n)
                cap *= 2;
            char *grown = realloc(a->line, cap);
            if (!grown)
                return;
            a->line = grown;
            a->line_cap = cap;
        }
        if (n) {
            memcpy(a->line + a->len, d, n);
            a->len += n;
        }
        d = eol;
        if (d < end) { /* the end of a line */
            attach_line(a, a->line ? a->line : "", a->len);
            a->len = 0;
            d++;
        }
    }
}

static void attach_release(void *ctx)
{
    struct ctr_attach *a = ctx;
    if (a->follow && a->pod->rt)
        cluster_log_unfollow(a->pod->rt->cl, a->follow);
    free(a->line);
    pod_unref(a->pod);
    free(a);
}

/* ---- detect-shell execs: save scripts, cancellation, legacy stages ---- */

struct ctr_shell {
    struct ctr_pod *pod;
    char container[CTR_NAME_MAX];
    char *in;
    size_t len;
    int direct_legacy; /* gitlab-runner-build: the stdin is a stage script */
    /* a legacy stage running on this exec's streams */
    struct rcs_session *s;
    struct rcs_script plan;
    size_t step;
    struct event *timer;
};

static void legacy_play(struct ctr_shell *sh)
{
    while (!rcs_finished(sh->s) && sh->step < sh->plan.nsteps) {
        const struct rcs_step *sp = &sh->plan.steps[sh->step++];
        switch (sp->kind) {
        case RCS_STEP_WRITE:
            if (rcs_write(sh->s, sp->stream, sp->data, sp->len) < 0)
                return;
            break;
        case RCS_STEP_SLEEP: {
            struct timeval tv = {(time_t)(sp->ms / 1000), (suseconds_t)(sp->ms % 1000) * 1000};
            if (sh->timer && evtimer_add(sh->timer, &tv) == 0)
                return;
            break;
        }
        case RCS_STEP_STDIN:
            break;
        case RCS_STEP_EXIT:
            rcs_exit(sh->s, sp->exit_code);
            return;
        case RCS_STEP_HANG: /* never closes its streams: seed failure 13 in legacy mode */
            return;
        }
    }
    if (!rcs_finished(sh->s))
        rcs_exit(sh->s, 0);
}

static void on_legacy_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ctr_shell *sh = arg;
    struct rcs_session *s = sh->s;
    rcs_enter(s);
    legacy_play(sh);
    rcs_leave(s);
}

static void shell_run(struct ctr_shell *sh)
{
    struct ctr_pod *p = sh->pod;
    char stage[RP_NAME_MAX] = "";
    int cancel = sh->direct_legacy ? 0 : rp_is_cancel_script(sh->in, sh->len, stage, sizeof stage);
    if (cancel > 0) {
        stages_cancel(p, sh->container, cancel == RP_CANCEL_STAGE ? stage : "");
        rcs_exit(sh->s, 0);
        return;
    }
    if (!sh->direct_legacy) {
        struct rp_files files = {0};
        if (rp_save_script(sh->in, sh->len, &files) == 0 && files.n > 0 && files.unknown == 0) {
            for (size_t i = 0; i < files.n; i++)
                file_put(p, files.v[i].path, files.v[i].data, files.v[i].len);
            rp_files_release(&files);
            rcs_exit(sh->s, 0);
            return;
        }
        rp_files_release(&files);
    }
    const char *name = rp_legacy_stage(sh->in, sh->len);
    if (!name || !p->rt || p->gone) { /* some other script: a shell that ran it quietly */
        rcs_exit(sh->s, 0);
        return;
    }
    struct ctr_runtime *rt = p->rt;
    int64_t del_ms;
    stage_plan(rt, stored_pod(rt, p), p, sh->container, name, "", sh->in, sh->len, 1, &sh->plan,
               &del_ms);
    sh->timer = evtimer_new(rt->base, on_legacy_timer, sh);
    log_debug("pod %s/%s: legacy stage %s in %s", p->ns, p->name, name, sh->container);
    legacy_play(sh);
}

static void shell_start(struct rcs_session *s, void *ctx)
{
    struct ctr_shell *sh = ctx;
    sh->s = s;
    if (!rcs_options(s)->want[RCS_STDIN])
        shell_run(sh); /* nothing to read: the script is empty */
}

static void shell_input(struct rcs_session *s, void *ctx, enum rcs_stream stream, const void *data,
                        size_t len)
{
    struct ctr_shell *sh = ctx;
    if (stream != RCS_STDIN || sh->timer || sh->plan.nsteps)
        return;
    if (!data) {
        shell_run(sh);
        return;
    }
    if (len > RCS_MAX_INPUT_BYTES - sh->len) {
        input_too_long(s, sh->pod, sh->container, "a script");
        return;
    }
    char *n = realloc(sh->in, sh->len + len + 1);
    if (!n)
        return;
    sh->in = n;
    memcpy(sh->in + sh->len, data, len);
    sh->len += len;
    sh->in[sh->len] = '\0';
}

static void shell_release(void *ctx)
{
    struct ctr_shell *sh = ctx;
    if (sh->timer)
        event_free(sh->timer);
    rcs_script_clear(&sh->plan);
    free(sh->in);
    pod_unref(sh->pod);
    free(sh);
}

/* ---- the runtime ---- */

struct ctr_runtime *ctr_runtime_new(struct cluster *cl, struct store *store,
                                    const struct mockapi_hooks *hooks)
{
    struct ctr_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->base = cluster_event_base(cl);
    rt->cl = cl;
    rt->store = store;
    rt->hooks = hooks;
    rt->reap = evtimer_new(rt->base, on_reap, rt);
    rt->by_uid = strmap_new();
    rt->listen = rt->by_uid ? store_listen(store, on_store, rt) : 0;
    if (!rt->reap || !rt->listen) {
        ctr_runtime_free(rt);
        return NULL;
    }
    return rt;
}

void ctr_runtime_free(struct ctr_runtime *rt)
{
    if (!rt)
        return;
    if (rt->listen)
        store_unlisten(rt->store, rt->listen);
    if (rt->reap)
        event_free(rt->reap);
    while (rt->pods) {
        struct ctr_pod *p = rt->pods;
        stage_stop_timers(p, NULL);
        pod_unlist(rt, p);
    }
    strmap_free(rt->by_uid);
    free(rt);
}

void ctr_runtime_set_max_pending(struct ctr_runtime *rt, size_t bytes)
{
    rt->max_pending = bytes;
}

size_t ctr_runtime_sessions(const struct ctr_runtime *rt)
{
    size_t n = 0;
    for (const struct ctr_pod *p = rt->pods; p; p = p->next)
        for (const struct ctr_sess *cs = p->sessions; cs; cs = cs->next)
            n += cs->s != NULL;
    return n;
}

static int base_is(const char *word, const char *name)
{
    const char *b = strrchr(word, '/');
    return strcmp(b ? b + 1 : word, name) == 0;
}

void ctr_remotecmd(struct ctr_runtime *rt, struct conn *c, struct http_request *req,
                   const struct route *route, const cJSON *pod, const char *container,
                   const struct rcs_opts *opts, int websocket)
{
    struct rcs_opts o = *opts;
    struct rcs_script script = {0};
    struct rcs_faults faults;
    rcs_faults_none(&faults);
    struct remotecmd_spec spec = {.opts = &o, .faults = &faults, .max_pending = rt->max_pending};
    struct rcs_program prog = {0};
    struct ctr_pod *p = pod_get(rt, pod);
    struct ctr_sess *cs = p ? calloc(1, sizeof *cs) : NULL;
    if (!cs) {
        conn_respond(c, 500, "text/plain", NULL, "out of memory\n", 14);
        return;
    }
    cs->pod = p;
    p->refs++;
    cs->attach = opts->attach;
    snprintf(cs->container, sizeof cs->container, "%s", container);
    cs->next = p->sessions;
    p->sessions = cs;
    o.on_free = sess_freed;
    o.on_free_arg = cs;
    spec.created = sess_created;
    spec.created_arg = cs;

    const struct mockapi_hooks *h = rt->hooks;
    struct hook_remotecmd hr = {
        .req = req,
        .route = route,
        .pod = pod,
        .namespace = p->ns,
        .name = p->name,
        .container = container,
        .attach = opts->attach,
        .argv = opts->argv,
        .argc = opts->argc,
        .script = &script,
        .faults = &faults,
    };
    if (h && h->on_remotecmd)
        h->on_remotecmd(h->arg, &hr);
    struct rp_read_logs rl;
    if (hr.has_script) {
        spec.script = &script;
    } else if (opts->attach) {
        struct ctr_attach *a = calloc(1, sizeof *a);
        if (a) {
            a->pod = p;
            p->refs++;
            snprintf(a->container, sizeof a->container, "%s", container);
            prog = (struct rcs_program){"attach", attach_start, attach_input, attach_release, a};
            spec.prog = &prog;
        }
    } else if (opts->argc >= 2 && base_is(opts->argv[0], "gitlab-runner-helper") &&
               strcmp(opts->argv[1], "read-logs") == 0 &&
               rp_parse_read_logs(opts->argv, opts->argc, &rl) == 0) {
        struct ctr_reader *r = calloc(1, sizeof *r);
        if (r) {
            r->pod = p;
            p->refs++;
            r->args = rl;
            r->offset = rl.offset > 0 ? (uint64_t)rl.offset : 0;
            r->deadline_ns = clock_mono_ns() + rl.wait_file_timeout;
            r->poll = evtimer_new(rt->base, on_reader_poll, r);
            r->next = p->readers;
            p->readers = r;
            prog = (struct rcs_program){"read-logs", reader_start, NULL, reader_release, r};
            spec.prog = &prog;
        }
    } else if ((rp_is_detect_shell(opts->argv, opts->argc) && opts->want[RCS_STDIN]) ||
               (opts->argc >= 1 && base_is(opts->argv[0], "gitlab-runner-build"))) {
        struct ctr_shell *sh = calloc(1, sizeof *sh);
        if (sh) {
            sh->pod = p;
            p->refs++;
            sh->direct_legacy = !rp_is_detect_shell(opts->argv, opts->argc);
            snprintf(sh->container, sizeof sh->container, "%s", container);
            prog = (struct rcs_program){"shell", shell_start, shell_input, shell_release, sh};
            spec.prog = &prog;
        }
    }
    if (websocket)
        remotecmd_websocket(c, req, &spec);
    else
        remotecmd_spdy(c, req, &spec);
    rcs_script_clear(&script);
}

int ctr_file_read(struct ctr_runtime *rt, const char *ns, const char *name, const char *path,
                  char **data, size_t *len)
{
    struct ctr_pod *p = pod_by_name(rt, ns, name);
    struct ctr_file *f = p ? file_find(p, path) : NULL;
    if (!f)
        return -1;
    *data = malloc(f->len + 1);
    if (!*data)
        return -1;
    if (f->len)
        memcpy(*data, f->data, f->len);
    (*data)[f->len] = '\0';
    *len = f->len;
    return 0;
}

int ctr_file_delete(struct ctr_runtime *rt, const char *ns, const char *name, const char *path)
{
    struct ctr_pod *p = pod_by_name(rt, ns, name);
    return p ? file_delete(p, path) : -1;
}

static int file_delete(struct ctr_pod *p, const char *path)
{
    for (struct ctr_file **pp = &p->files; *pp; pp = &(*pp)->next) {
        struct ctr_file *f = *pp;
        if (strcmp(f->path, path) != 0)
            continue;
        *pp = f->next;
        free(f->path);
        free(f->data);
        free(f);
        p->refs++;
        readers_file_gone(p, path);
        pod_unref(p);
        return 0;
    }
    return -1;
}

int ctr_file_list(struct ctr_runtime *rt, const char *ns, const char *name,
                  void (*cb)(void *arg, const char *path, size_t len), void *arg)
{
    struct ctr_pod *p = pod_by_name(rt, ns, name);
    if (!p)
        return -1;
    const struct ctr_file *v[256]; /* the list is newest first */
    size_t k = 0;
    for (const struct ctr_file *f = p->files; f && k < 256; f = f->next)
        v[k++] = f;
    while (k-- > 0)
        cb(arg, v[k]->path, v[k]->len);
    return 0;
}

int ctr_stage_list(struct ctr_runtime *rt, const char *ns, const char *name,
                   void (*cb)(void *arg, const char *container, const char *stage,
                              const char *script, int exit_code),
                   void *arg)
{
    struct ctr_pod *p = pod_by_name(rt, ns, name);
    if (!p)
        return -1;
    const struct ctr_stage *v[256]; /* the list is newest first */
    size_t k = 0;
    for (const struct ctr_stage *st = p->stages; st && k < 256; st = st->next)
        v[k++] = st;
    while (k-- > 0)
        cb(arg, v[k]->container, v[k]->stage, v[k]->script, v[k]->exit_code);
    return 0;
}
