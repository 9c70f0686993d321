/* podscript.c -- the pod-script layer: makes a scenario's "pods" scripts happen on the one-node
 * cluster (node choice, scheduling delay or Unschedulable, container and init-container states,
 * events at times, disruption in steps) through the cluster's step hook and its primitives.
 *
 * Each pod the cluster sees gets a record on first sight (its schedule step, or its creation),
 * with the first script that matches the pod as created. A matched pod keeps a time-ordered list
 * of actions (scheduling attempts, the binding, container changes, events, disruption steps) and
 * one timer for the earliest. Actions write through the cluster, whose writes call back into
 * podscript_on_pod_change: a record is only marked gone while its actions run, and freed after. */
#include "harness/podscript.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "harness/dist.h"
#include "harness/jsonc.h"
#include "harness/match.h"
#include "harness/scenario.h"
#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/base/rng.h"
#include "mockapi/hooks.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/server.h"

#define MESSAGE_MAX 8192            /* an expanded message: 4096 as written, placeholders filled */
#define PODSCRIPT_ON_STAGE "stage:" /* disrupt.on "stage:<pattern>": when such a stage starts */
#define MILESTONE_MAX 300           /* "stage:" and a stage name (the runtime's are < 256) */

enum kind {
    ACT_ATTEMPT, /* a failed scheduling attempt */
    ACT_BIND,    /* the pod is scheduled after all */
    ACT_CONTAINER,
    ACT_EVENT,   /* events[index] */
    ACT_DISRUPT, /* disrupt.steps[index] */
};

struct action {
    int64_t at_ms; /* since the pod's creation; ties keep the order they were scheduled in */
    enum kind kind;
    size_t index;
    struct podscript_action c; /* ACT_CONTAINER */
};

struct spod {
    struct podscript *ps;
    char ns[254], name[254];
    const cJSON *script; /* NULL: no script matched; the pod runs normally */
    int index;           /* the script's place in "pods" */
    char node[254];
    int64_t created_ns; /* monotonic */
    int64_t bind_ms;    /* ACT_BIND's time, -1 when the pod stays unschedulable */
    struct action *acts;
    size_t nacts, cap;
    struct event *timer;
    int busy, gone;
    int scheduled, running, disrupted; /* milestones seen */
    struct spod *prev, *next;
};

struct podscript {
    const struct scenario *s;
    struct event_base *base;
    struct rng *rng;
    struct mockapi_server *srv;
    struct cluster *cl;
    struct store *store;
    int64_t start_ns;
    struct spod *pods;
};

/* ---- the interpretation ---- */

static int64_t duration_ms(const cJSON *obj, const char *key, int64_t def)
{
    const char *s = json_str(obj, key);
    int64_t ms;
    char err[128];
    if (!s || jsonc_parse_duration(s, &ms, err, sizeof err) < 0)
        return def; /* validated by the scenario parser: absent, never malformed */
    return ms;
}

int podscript_find(const struct scenario *s, const cJSON *pod)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    const char *name = json_str_or(meta, "name", ""), *ns = json_str_or(meta, "namespace", "");
    for (size_t i = 0; i < s->npods; i++) {
        const cJSON *spec = s->pods[i].spec;
        const cJSON *match = cJSON_GetObjectItemCaseSensitive(spec, "match");
        const char *nglob = json_str(match, "name"), *nsglob = json_str(match, "namespace");
        if ((nglob && fnmatch(nglob, name, 0) != 0) || (nsglob && fnmatch(nsglob, ns, 0) != 0))
            continue;
        int ok = 1;
        const cJSON *pred;
        cJSON_ArrayForEach(pred, cJSON_GetObjectItemCaseSensitive(spec, "when"))
        {
            ok = ok && match_predicate(pred, pod);
        }
        if (ok)
            return (int)i;
    }
    return -1;
}

char *podscript_expand(const char *tmpl, const struct podscript_vars *v, char *buf, size_t len)
{
    static const char *const words[] = {"{name}", "{namespace}", "{uid}", "{node}", "{container}"};
    const char *vals[] = {v->name, v->namespace_, v->uid, v->node, v->container};
    size_t n = 0;
    if (!len)
        return buf;
    for (const char *p = tmpl; *p && n < len - 1;) {
        size_t w = 0;
        while (w < sizeof words / sizeof words[0] && strncmp(p, words[w], strlen(words[w])) != 0)
            w++;
        if (w == sizeof words / sizeof words[0]) {
            buf[n++] = *p++;
            continue;
        }
        const char *val = vals[w] ? vals[w] : "";
        size_t vl = strlen(val);
        if (vl > len - 1 - n)
            vl = len - 1 - n;
        memcpy(buf + n, val, vl);
        n += vl;
        p += strlen(words[w]);
    }
    buf[n] = '\0';
    return buf;
}

int64_t podscript_schedule_delay(const cJSON *script, struct rng *rng)
{
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(script, "schedule");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(sched, "delay");
    struct dist x;

    /* validated by the scenario parser; parsed again per draw, which keeps nothing to free */
    if (!d || dist_parse(d, "", JSONC_DURATION_MAX_MS, NULL, &x) < 0)
        return -1;
    int64_t ms = dist_draw(&x, rng);
    dist_release(&x);
    return ms;
}

int64_t podscript_retry_ms(int64_t last_ms)
{
    /* flushUnschedulablePodsLeftover moves a pod once now - lastScheduleTime > 5 min */
    return ((last_ms + PODSCRIPT_RETRY_MS) / PODSCRIPT_FLUSH_MS + 1) * PODSCRIPT_FLUSH_MS;
}

const cJSON *podscript_container_script(const cJSON *script, const char *map, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(script, map);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, name);
    if (e)
        return e;
    cJSON_ArrayForEach(e, m)
    {
        if (fnmatch(e->string, name, 0) == 0)
            return e;
    }
    return NULL;
}

static void emit(struct podscript_action *out, size_t cap, size_t *n, struct podscript_action a)
{
    if (*n < cap)
        out[*n] = a;
    (*n)++;
}

static int cmp_action(const void *a, const void *b)
{
    const struct podscript_action *x = a, *y = b;
    if (x->at_ms != y->at_ms)
        return x->at_ms < y->at_ms ? -1 : 1;
    /* emitted in order within one time: keep it (the index breaks ties) */
    return x->container < y->container ? -1 : x->container > y->container ? 1 : 0;
}

size_t podscript_plan(const cJSON *script, const cJSON *pod, int64_t start_ms,
                      struct podscript_action *out, size_t cap)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *c;
    size_t n = 0, idx = 0;
    int64_t t = start_ms;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "initContainers"))
    {
        const cJSON *e =
            podscript_container_script(script, "initContainers", json_str_or(c, "name", ""));
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "waiting");
        int64_t run = t;
        if (w) {
            int64_t until = duration_ms(w, "for", -1);
            if (until < 0 || until > t)
                emit(out, cap, &n, (struct podscript_action){t, PODSCRIPT_WAIT, idx, 1, 0, 0, e});
            if (until < 0)
                goto sorted; /* waits for good: nothing after it starts */
            run = until > t ? until : t;
        }
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "exitCode");
        int exit_code = cJSON_IsNumber(code) ? code->valueint : 0;
        int64_t after = duration_ms(e, "exitAfter", 0);
        emit(out, cap, &n, (struct podscript_action){run, PODSCRIPT_RUN, idx, 1, 0, 0, e});
        emit(out, cap, &n,
             (struct podscript_action){run + after, PODSCRIPT_EXIT, idx, 1, 0, exit_code, e});
        t = run + after;
        idx++;
        if (exit_code != 0)
            goto sorted; /* a failed init container: the containers never start */
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, "containers"))
    {
        const cJSON *e =
            podscript_container_script(script, "containers", json_str_or(c, "name", ""));
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(e, "waiting");
        int64_t run = t;
        if (w) {
            int64_t until = duration_ms(w, "for", -1);
            if (until < 0 || until > t)
                emit(out, cap, &n, (struct podscript_action){t, PODSCRIPT_WAIT, idx, 0, 0, 0, e});
            if (until < 0) {
                idx++;
                continue;
            }
            run = until > t ? until : t;
        }
        int64_t ready = duration_ms(e, "readyAfter", 0);
        emit(out, cap, &n, (struct podscript_action){run, PODSCRIPT_RUN, idx, 0, ready == 0, 0, e});
        if (ready > 0)
            emit(out, cap, &n,
                 (struct podscript_action){run + ready, PODSCRIPT_READY, idx, 0, 1, 0, e});
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "exitCode");
        if (cJSON_IsNumber(code))
            emit(out, cap, &n,
                 (struct podscript_action){run + duration_ms(e, "exitAfter", 0), PODSCRIPT_EXIT,
                                           idx, 0, 0, code->valueint, e});
        idx++;
    }
sorted:
    /* a stable order: by time, then container, then as emitted (insertion sort keeps it) */
    for (size_t i = 1; i < n && i < cap; i++)
        for (size_t j = i; j > 0 && cmp_action(&out[j - 1], &out[j]) > 0; j--) {
            struct podscript_action tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}

/* ---- pods ---- */

static int64_t since_created_ms(const struct spod *p)
{
    return (clock_mono_ns() - p->created_ns) / 1000000;
}

static void spod_free(struct spod *p)
{
    struct podscript *ps = p->ps;
    if (p->timer)
        event_free(p->timer);
    if (p->prev)
        p->prev->next = p->next;
    else
        ps->pods = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p->acts);
    free(p);
}

static struct spod *spod_find(struct podscript *ps, const char *ns, const char *name)
{
    for (struct spod *p = ps->pods; p; p = p->next)
        if (strcmp(p->ns, ns) == 0 && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

static void rearm(struct spod *p)
{
    if (!p->nacts) {
        evtimer_del(p->timer);
        return;
    }
    int64_t due = p->acts[0].at_ms - since_created_ms(p);
    if (due < 0)
        due = 0;
    struct timeval tv = {(time_t)(due / 1000), (suseconds_t)((due % 1000) * 1000)};
    evtimer_add(p->timer, &tv);
}

/* Insert in time order (after any action due at the same time). */
static void schedule(struct spod *p, struct action a)
{
    if (p->nacts == PODSCRIPT_MAX_ACTIONS) {
        log_warn("pod %s/%s: more than %d pending script actions, dropping one", p->ns, p->name,
                 PODSCRIPT_MAX_ACTIONS);
        return;
    }
    if (p->nacts == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct action *acts = realloc(p->acts, cap * sizeof *acts);
        if (!acts)
            return;
        p->acts = acts;
        p->cap = cap;
    }
    size_t i = p->nacts;
    while (i > 0 && p->acts[i - 1].at_ms > a.at_ms)
        i--;
    memmove(&p->acts[i + 1], &p->acts[i], (p->nacts - i) * sizeof *p->acts);
    p->acts[i] = a;
    p->nacts++;
    if (!p->busy)
        rearm(p);
}

static void vars_of(const struct spod *p, const cJSON *pod, const char *container, char *uid,
                    size_t uidlen, struct podscript_vars *v)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    snprintf(uid, uidlen, "%s",
             json_str_or(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "uid", ""));
    v->name = p->name;
    v->namespace_ = p->ns;
    v->uid = uid;
    v->node = json_str_or(spec, "nodeName", p->node);
    v->container = container;
}

/* Whether a disruption's "on" names milestone: "created", "scheduled", "running", or for a stage
 * ("stage:step_script") a "stage:<pattern>" whose pattern matches the stage. */
static int milestone_is(const char *on, const char *milestone)
{
    size_t n = strlen(PODSCRIPT_ON_STAGE);
    if (strncmp(on, PODSCRIPT_ON_STAGE, n) == 0 && strncmp(milestone, PODSCRIPT_ON_STAGE, n) == 0)
        return fnmatch(on + n, milestone + n, 0) == 0;
    return strcmp(on, milestone) == 0;
}

/* The disruption's steps from the milestone it waits for (at ms since creation). */
static void arm_disrupt(struct spod *p, const char *milestone, int64_t at_ms)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(p->script, "disrupt");
    if (!d || p->disrupted || !milestone_is(json_str_or(d, "on", "running"), milestone))
        return;
    p->disrupted = 1;
    int64_t t = at_ms + duration_ms(d, "at", 0);
    size_t i = 0;
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(d, "steps"))
    {
        t += duration_ms(step, "after", 0);
        schedule(p, (struct action){.at_ms = t, .kind = ACT_DISRUPT, .index = i++});
    }
    log_info("pod %s/%s: pods[%d] disruption from %s, %zu steps", p->ns, p->name, p->index,
             milestone, i);
}

static struct spod *spod_new(struct podscript *ps, const cJSON *pod)
{
    const char *ns = store_obj_namespace(pod), *name = store_obj_name(pod);
    struct spod *p = calloc(1, sizeof *p);
    if (!p || !(p->timer = evtimer_new(ps->base, on_timer, p))) {
        free(p);
        return NULL;
    }
    p->ps = ps;
    snprintf(p->ns, sizeof p->ns, "%s", ns);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->created_ns = clock_mono_ns();
    p->bind_ms = -1;
    p->next = ps->pods;
    if (ps->pods)
        ps->pods->prev = p;
    ps->pods = p;
    p->index = podscript_find(ps->s, pod);
    if (p->index < 0)
        return p;
    p->script = ps->s->pods[p->index].spec;
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(p->script, "node");
    const char *nname = json_str(node, "name");
    snprintf(p->node, sizeof p->node, "%s",
             nname                                                 ? nname
             : strcmp(json_str_or(node, "os", "linux"), "windows") ? CLUSTER_NODE_NAME
                                                                   : PODSCRIPT_WINDOWS_NODE);
    cluster_pod_set_node(ps->cl, ns, name, p->node);
    size_t i = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(p->script, "events"))
    {
        int64_t at = duration_ms(ev, "at", 0);
        schedule(p, (struct action){.at_ms = at, .kind = ACT_EVENT, .index = i++});
    }
    log_info("pod %s/%s: follows pods[%d] (node %s)", ns, name, p->index, p->node);
    return p;
}

/* The record of a pod, made on first sight with the pod as it is then. */
static struct spod *spod_get(struct podscript *ps, const cJSON *pod)
{
    struct spod *p = spod_find(ps, store_obj_namespace(pod), store_obj_name(pod));
    return p ? p : spod_new(ps, pod);
}

/* ---- actions ---- */

static void do_container(struct spod *p, const cJSON *pod, const struct podscript_action *a)
{
    struct podscript *ps = p->ps;
    char uid[64], msg[MESSAGE_MAX];
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *list =
        cJSON_GetObjectItemCaseSensitive(spec, a->init ? "initContainers" : "containers");
    size_t ninit =
        (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(spec, "initContainers"));
    const cJSON *c = cJSON_GetArrayItem(list, (int)(a->init ? a->container : a->container - ninit));
    const char *cname = json_str_or(c, "name", "");
    struct cluster_container st = {CLUSTER_RUNNING, NULL, NULL, a->ready, 0};
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(a->entry, "waiting");
    switch (a->act) {
    case PODSCRIPT_WAIT: {
        struct podscript_vars v;
        const char *m = json_str(w, "message");
        vars_of(p, pod, cname, uid, sizeof uid, &v);
        st.state = CLUSTER_WAITING;
        st.reason = json_str(w, "reason");
        st.message = m ? podscript_expand(m, &v, msg, sizeof msg) : NULL;
        break;
    }
    case PODSCRIPT_RUN:
        break;
    case PODSCRIPT_READY:
        st.ready = 1;
        break;
    case PODSCRIPT_EXIT:
        st.state = CLUSTER_TERMINATED;
        st.exit_code = a->exit_code;
        break;
    }
    if (cluster_pod_set_container(ps->cl, p->ns, p->name, cname, &st) < 0)
        log_warn("pod %s/%s: container \"%s\" cannot be set", p->ns, p->name, cname);
}

static void do_event(struct spod *p, cJSON *pod, size_t index)
{
    char uid[64], msg[MESSAGE_MAX];
    struct podscript_vars v;
    const cJSON *ev =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p->script, "events"), (int)index);
    const char *reason = json_str_or(ev, "reason", "");
    /* the scheduler's reasons come from the scheduler, anything else from the kubelet */
    int sched = strcmp(reason, "FailedScheduling") == 0 || strcmp(reason, "Scheduled") == 0 ||
                strcmp(reason, "Preempted") == 0;
    vars_of(p, pod, NULL, uid, sizeof uid, &v);
    podscript_expand(json_str_or(ev, "message", ""), &v, msg, sizeof msg);
    /* before the binding, the kubelet that speaks is the one of the node it is bound for */
    cJSON *spec = json_obj(pod, "spec");
    if (!json_str(spec, "nodeName"))
        json_set(spec, "nodeName", cJSON_CreateString(p->node));
    cluster_record_event(p->ps->cl, pod, json_str_or(ev, "type", "Normal"), reason, msg,
                         sched ? "default-scheduler" : "kubelet", NULL);
}

/* Whether a disruption ends in a delete step (then a deletionTimestamp step leaves the removal to
 * it; without one the graceful deletion finishes as after a DELETE). */
static int disrupt_deletes(const cJSON *script)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(script, "disrupt");
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(d, "steps"))
    {
        if (cJSON_GetObjectItemCaseSensitive(step, "delete"))
            return 1;
    }
    return 0;
}

/* A pod being killed starts no more containers: the script's pending container changes go. */
static void drop_container_actions(struct spod *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nacts; i++)
        if (p->acts[i].kind != ACT_CONTAINER)
            p->acts[n++] = p->acts[i];
    p->nacts = n;
}

static void do_disrupt(struct spod *p, const cJSON *pod, size_t index)
{
    struct cluster *cl = p->ps->cl;
    char uid[64], msg[MESSAGE_MAX];
    struct podscript_vars v;
    const cJSON *step =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
                               cJSON_GetObjectItemCaseSensitive(p->script, "disrupt"), "steps"),
                           (int)index);
    const cJSON *x;
    vars_of(p, pod, NULL, uid, sizeof uid, &v);
    log_info("pod %s/%s: disruption step %zu", p->ns, p->name, index);
    if ((x = cJSON_GetObjectItemCaseSensitive(step, "condition"))) {
        const char *m = json_str(x, "message");
        cluster_pod_set_condition(cl, p->ns, p->name, json_str_or(x, "type", ""),
                                  json_str_or(x, "status", "True"), json_str(x, "reason"),
                                  m ? podscript_expand(m, &v, msg, sizeof msg) : NULL);
    } else if (cJSON_GetObjectItemCaseSensitive(step, "deletionTimestamp")) {
        drop_container_actions(p);
        cluster_pod_mark_deleting(cl, p->ns, p->name, !disrupt_deletes(p->script));
    } else if ((x = cJSON_GetObjectItemCaseSensitive(step, "terminate"))) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(x, "exitCode");
        drop_container_actions(p);
        cluster_pod_terminate(cl, p->ns, p->name, cJSON_IsNumber(code) ? code->valueint : 137,
                              json_str(x, "reason"));
    } else if ((x = cJSON_GetObjectItemCaseSensitive(step, "phase"))) {
        const char *m = json_str(step, "message");
        drop_container_actions(p);
        cluster_pod_set_phase(cl, p->ns, p->name, json_str_or(step, "phase", "Failed"),
                              json_str(step, "reason"),
                              m ? podscript_expand(m, &v, msg, sizeof msg) : NULL);
    } else if (cJSON_GetObjectItemCaseSensitive(step, "delete")) {
        cluster_pod_remove(cl, p->ns, p->name);
    }
}

static void do_attempt(struct spod *p, const cJSON *pod)
{
    struct podscript *ps = p->ps;
    char uid[64], msg[MESSAGE_MAX];
    struct podscript_vars v;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(p->script, "schedule"), "unschedulable");
    vars_of(p, pod, NULL, uid, sizeof uid, &v);
    podscript_expand(json_str_or(u, "message", ""), &v, msg, sizeof msg);
    if (cluster_pod_unschedulable(ps->cl, p->ns, p->name, msg) < 0)
        return;
    /* the next try, on kube-scheduler's clock (which started with the scenario) */
    int64_t created_ms = (p->created_ns - ps->start_ns) / 1000000;
    int64_t next = podscript_retry_ms(created_ms + since_created_ms(p)) - created_ms;
    if (p->bind_ms < 0 || next < p->bind_ms)
        schedule(p, (struct action){.at_ms = next, .kind = ACT_ATTEMPT});
}

static void run_action(struct spod *p, const struct action *a)
{
    if (!p->ps->cl)
        return; /* the server is gone (it is freed before the engine) */
    const cJSON *pod = store_get(p->ps->store, &kinds_table[KIND_pods], p->ns, p->name);
    if (!pod)
        return;
    cJSON *copy = cJSON_Duplicate(pod, 1); /* the actions write to the store under pod */
    if (!copy)
        return;
    switch (a->kind) {
    case ACT_ATTEMPT:
        do_attempt(p, copy);
        break;
    case ACT_BIND:
        /* unless bound already (by hand, through the control API): then its next step is the
         * start, which is not ours to hurry */
        if (json_str(cJSON_GetObjectItemCaseSensitive(copy, "spec"), "nodeName"))
            break;
        log_info("pod %s/%s: schedulable now", p->ns, p->name);
        cluster_pod_advance(p->ps->cl, p->ns, p->name);
        break;
    case ACT_CONTAINER:
        do_container(p, copy, &a->c);
        break;
    case ACT_EVENT:
        do_event(p, copy, a->index);
        break;
    case ACT_DISRUPT:
        do_disrupt(p, copy, a->index);
        break;
    }
    cJSON_Delete(copy);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct spod *p = arg;
    p->busy = 1;
    while (!p->gone && p->nacts && p->acts[0].at_ms <= since_created_ms(p)) {
        struct action a = p->acts[0];
        memmove(&p->acts[0], &p->acts[1], (p->nacts - 1) * sizeof *p->acts);
        p->nacts--;
        run_action(p, &a);
    }
    p->busy = 0;
    if (p->gone)
        spod_free(p);
    else
        rearm(p);
}

/* ---- the cluster's steps ---- */

static enum hook_verdict on_step(void *arg, struct hook_pod_step *step)
{
    struct podscript *ps = arg;
    struct spod *p = step->pod ? spod_get(ps, step->pod) : NULL;
    if (!p || !p->script)
        return HOOK_PASS;
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(p->script, "schedule");
    switch (step->step) {
    case POD_STEP_SCHEDULE: {
        int64_t delay = podscript_schedule_delay(p->script, ps->rng);
        if (delay >= 0) {
            step->delay_ms = delay - since_created_ms(p);
            log_info("pod %s/%s: scheduled after %lld ms", p->ns, p->name, (long long)delay);
            return HOOK_PASS;
        }
        if (!cJSON_GetObjectItemCaseSensitive(sched, "unschedulable"))
            return HOOK_PASS;
        /* the first attempt comes when the scheduler would have bound it */
        int64_t first = since_created_ms(p) + step->delay_ms;
        int64_t until = duration_ms(sched, "for", -1);
        if (until >= 0) {
            p->bind_ms = until > first ? until : first;
            schedule(p, (struct action){.at_ms = p->bind_ms, .kind = ACT_BIND});
        }
        if (until < 0 || until > first)
            schedule(p, (struct action){.at_ms = first, .kind = ACT_ATTEMPT});
        log_info("pod %s/%s: unschedulable %s", p->ns, p->name, until < 0 ? "for good" : "a while");
        return HOOK_HOLD;
    }
    case POD_STEP_START: {
        if (!cJSON_GetObjectItemCaseSensitive(p->script, "containers") &&
            !cJSON_GetObjectItemCaseSensitive(p->script, "initContainers"))
            return HOOK_PASS;
        int64_t start = since_created_ms(p) + (step->delay_ms > 0 ? step->delay_ms : 0);
        size_t n = podscript_plan(p->script, step->pod, start, NULL, 0);
        struct podscript_action *plan = n ? calloc(n, sizeof *plan) : NULL;
        if (n && !plan)
            return HOOK_PASS;
        podscript_plan(p->script, step->pod, start, plan, n);
        for (size_t i = 0; i < n; i++)
            schedule(p,
                     (struct action){.at_ms = plan[i].at_ms, .kind = ACT_CONTAINER, .c = plan[i]});
        free(plan);
        return HOOK_HOLD; /* the script starts the containers */
    }
    case POD_STEP_TERMINATE:
        break;
    }
    return HOOK_PASS;
}

void podscript_on_pod_change(struct podscript *ps, enum store_event_type type, const cJSON *old,
                             const cJSON *obj)
{
    if (!ps || !ps->cl)
        return;
    if (type == STORE_DELETED) {
        struct spod *p = spod_find(ps, store_obj_namespace(obj), store_obj_name(obj));
        if (p && p->busy)
            p->gone = 1; /* its actions are running: freed when they return */
        else if (p)
            spod_free(p);
        return;
    }
    struct spod *p = spod_get(ps, obj);
    if (!p || !p->script)
        return;
    int64_t now = since_created_ms(p);
    if (type == STORE_ADDED) {
        arm_disrupt(p, "created", 0);
        return;
    }
    const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old, "spec");
    const cJSON *nspec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!p->scheduled && !json_str(ospec, "nodeName") && json_str(nspec, "nodeName")) {
        p->scheduled = 1;
        arm_disrupt(p, "scheduled", now);
    }
    const cJSON *ometa = cJSON_GetObjectItemCaseSensitive(old, "metadata");
    const cJSON *nmeta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!json_str(ometa, "deletionTimestamp") && json_str(nmeta, "deletionTimestamp"))
        drop_container_actions(p); /* deleted (by a client or a step): the kubelet kills it */
    const char *phase = json_str_or(cJSON_GetObjectItemCaseSensitive(obj, "status"), "phase", "");
    if (!p->running && strcmp(phase, "Running") == 0) {
        p->running = 1;
        arm_disrupt(p, "running", now);
    }
}

void podscript_on_stage(struct podscript *ps, const char *ns, const char *name, const char *stage)
{
    char milestone[MILESTONE_MAX];
    if (!ps || !ps->cl)
        return;
    struct spod *p = spod_find(ps, ns, name);
    if (!p || !p->script || p->gone)
        return;
    snprintf(milestone, sizeof milestone, "%s%s", PODSCRIPT_ON_STAGE, stage);
    arm_disrupt(p, milestone, since_created_ms(p));
}

/* ---- life cycle ---- */

struct podscript *podscript_new(const struct scenario *s, struct event_base *base, struct rng *rng)
{
    struct podscript *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->s = s;
    ps->base = base;
    ps->rng = rng;
    return ps;
}

void podscript_stop(struct podscript *ps)
{
    if (!ps)
        return;
    if (ps->cl) /* detach while the cluster is still there */
        cluster_set_step_hook(ps->cl, NULL, NULL, NULL);
    ps->cl = NULL;
    while (ps->pods)
        spod_free(ps->pods);
}

void podscript_free(struct podscript *ps)
{
    if (!ps)
        return;
    podscript_stop(ps);
    free(ps);
}

int podscript_start(struct podscript *ps, struct mockapi_server *srv, char *err, size_t errlen)
{
    ps->srv = srv;
    ps->cl = mockapi_server_cluster(srv);
    ps->store = mockapi_server_store(srv);
    ps->start_ns = clock_mono_ns();
    for (size_t i = 0; i < ps->s->npods; i++) {
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(ps->s->pods[i].spec, "node");
        if (!node)
            continue;
        const char *os = json_str_or(node, "os", "linux");
        const char *name = json_str(node, "name");
        if (!name)
            name = strcmp(os, "windows") == 0 ? PODSCRIPT_WINDOWS_NODE : CLUSTER_NODE_NAME;
        if (store_get(ps->store, &kinds_table[KIND_nodes], "", name))
            continue; /* kubefault's own, or named by an earlier script */
        if (cluster_add_node(ps->cl, name, os) < 0) {
            snprintf(err, errlen, "pods[%zu].node: cannot add node \"%s\"", i, name);
            return -1;
        }
    }
    if (ps->s->npods)
        cluster_set_step_hook(ps->cl, on_step, ps, &ps->cl);
    return 0;
}
