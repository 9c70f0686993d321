/* cluster.c -- the one-node cluster: schedules and starts pods, finishes graceful deletion, records
 * kubelet-like events, keeps container output for pods/log, bootstraps namespaces and the node;
 * primitives for driving a pod by hand (scheduling failures, container states, disruption).
 *
 * The cluster reacts to store changes only through timers (never by writing to the store from
 * inside a store listener), so every lifecycle step is an event on the loop that a hook can delay
 * or hold.
 *
 * Once a pod is bound to a node the cluster keeps a model of its containers, as the kubelet's
 * runtime would report them, and writes the pod's status from it by the kubelet's rules
 * (kubernetes pkg/kubelet: getPhase and convertToAPIContainerStatuses in kubelet_pods.go, the
 * conditions in status/generate.go), so a pod driven by hand reads like one a real kubelet runs. */
#include "mockapi/kube/cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/base/rng.h"
#include "mockapi/hooks.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/store.h"

#define NOTE_MAX 1024              /* events.k8s.io note length limit (NoteLengthLimit) */
#define SERIES_FINISH_S (6 * 60)   /* client-go events: a series ends 6 min after its last */
#define SERIES_REFRESH_S (30 * 60) /* client-go events: series counts are rewritten this often */
#define DEFAULT_GRACE_S 30         /* spec.terminationGracePeriodSeconds when absent */
#define SCHEDULER_INSTANCE "default-scheduler-" CLUSTER_NODE_NAME

struct log_line {
    int64_t stamp_ns;
    size_t len;
    struct log_line *next;
    char data[];
};

struct follower {
    uint64_t handle;
    cluster_log_cb cb;
    void *arg;
    struct follower *next;
};

struct clog {
    char container[128];
    struct log_line *head, *tail;
    size_t bytes;
    struct follower *followers;
    struct clog *next;
};

enum sim_state { SIM_NEW, SIM_SCHEDULED, SIM_RUNNING, SIM_TERMINATING, SIM_DONE };

/* One container as the runtime knows it (the kubelet's kubecontainer.Status plus its reason
 * cache). */
struct csim {
    char name[254];
    char image[512];
    int init;
    enum cluster_cstate state;
    char reason[128]; /* waiting: "" is the default; terminated: Completed, Error, ... */
    char *message;
    int ready;
    int exit_code;
    int ran; /* a container was created: it has an ID */
    int64_t started_s, finished_s;
    char cid[96], iid[704];
    int restarts;
    int has_last; /* lastState.terminated */
    int last_exit;
    char last_reason[128];
    int64_t last_started_s, last_finished_s;
    char last_cid[96];
};

/* A condition the kubelet does not own, set by hand (DisruptionTarget, ...). */
struct xcond {
    char type[128];
    char status[8];
    char *reason, *message;
};

struct pod_sim {
    struct cluster *cl;
    char ns[254], name[254];
    enum sim_state state;
    enum hook_pod_step_kind next_step;
    int has_step; /* a step is pending (timer armed or held) */
    struct event *timer;
    struct event *flush; /* writes the status from the model once this turn of the loop ends */
    struct clog *logs;
    unsigned ip_octet;
    char node[254];
    struct csim *cs; /* init containers first, in spec order */
    size_t ncs, ninit;
    int modeled; /* bound: the model writes the status */
    int sandbox; /* PodReadyToStartContainers, podIP */
    char phase[16], preason[128];
    char *pmessage;
    struct xcond *xc;
    size_t nxc;
    int deleting; /* 1: deletionTimestamp to be written */
    int dirty;
    struct pod_sim *prev, *next;
};

struct cnode {
    char name[254];
    char os[16];
    unsigned index; /* hostIP 10.0.0.(10+index), pods 10.244.index.0/24 */
};

/* kube-scheduler's events broadcaster cache entry (client-go tools/events): one per isomorphic
 * FailedScheduling event, keyed by the pod reference including its resourceVersion. */
struct series {
    char ns[254], event[400];
    char pod[254], uid[64];
    int64_t pod_rv;
    int64_t event_time_ns;
    int64_t count;   /* 1: a singleton */
    int64_t last_ns; /* series.lastObservedTime */
    int64_t written; /* the count the stored Event shows */
    struct series *next;
};

struct cluster {
    struct event_base *base;
    struct store *store;
    struct rng *rng;
    const struct mockapi_hooks *hooks;
    enum hook_verdict (*step_hook)(void *arg, struct hook_pod_step *step);
    void *step_hook_arg;
    struct cluster **step_hook_ref; /* the hook owner's pointer to us, nulled when we go */
    struct cluster_opts o;
    uint64_t listener;
    struct pod_sim *pods;
    uint64_t next_follow;
    unsigned next_ip;
    int64_t last_event_ns;     /* the newest event's name stamp */
    struct event *ns_sweep;    /* deletes terminating namespaces' content */
    struct event *gc;          /* the garbage collector: runs after any deletion */
    size_t owned[KIND__COUNT]; /* objects with ownerReferences, per kind: all the collector reads */
    struct event *ev_trim;     /* deletes the oldest Events past CLUSTER_MAX_EVENTS */
    char **evq;                /* every Event's "namespace\0name", oldest first (a ring) */
    size_t evq_head, evq_len, evq_cap;
    struct cnode *nodes;
    size_t nnodes;
    struct series *series;
    struct event *series_finish, *series_refresh;
};

static const struct kinds_info *K(enum kinds_id id)
{
    return &kinds_table[id];
}

static struct pod_sim *sim_find(struct cluster *cl, const char *ns, const char *name)
{
    for (struct pod_sim *p = cl->pods; p; p = p->next)
        if (strcmp(p->ns, ns) == 0 && strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static void clog_free(struct clog *l)
{
    while (l) {
        struct clog *next = l->next;
        struct log_line *ln = l->head;
        while (ln) {
            struct log_line *n = ln->next;
            free(ln);
            ln = n;
        }
        struct follower *f = l->followers;
        while (f) {
            struct follower *n = f->next;
            f->cb(f->arg, NULL, 0, 0); /* the end of the stream */
            free(f);
            f = n;
        }
        free(l);
        l = next;
    }
}

static void sim_free(struct pod_sim *p)
{
    struct cluster *cl = p->cl;
    if (p->timer)
        event_free(p->timer);
    if (p->flush)
        event_free(p->flush);
    if (p->prev)
        p->prev->next = p->next;
    else
        cl->pods = p->next;
    if (p->next)
        p->next->prev = p->prev;
    for (size_t i = 0; i < p->ncs; i++)
        free(p->cs[i].message);
    free(p->cs);
    for (size_t i = 0; i < p->nxc; i++) {
        free(p->xc[i].reason);
        free(p->xc[i].message);
    }
    free(p->xc);
    free(p->pmessage);
    struct clog *logs = p->logs;
    p->logs = NULL;
    free(p);
    clog_free(logs); /* followers learn of the end last, when the sim is gone */
}

/* ---- helpers on JSON ---- */

static int64_t now_s(void)
{
    return clock_wall_ns() / 1000000000;
}

static char *now_stamp(char *buf, size_t len)
{
    return clock_rfc3339(now_s(), buf, len);
}

/* A time field: the stamp, or null for a time never set (a zero metav1.Time). */
static cJSON *time_json(int64_t s)
{
    char ts[32];
    return s > 0 ? cJSON_CreateString(clock_rfc3339(s, ts, sizeof ts)) : cJSON_CreateNull();
}

static cJSON *find_condition(const cJSON *conds, const char *type)
{
    cJSON *it;
    cJSON_ArrayForEach(it, conds)
    {
        if (strcmp(json_str_or(it, "type", ""), type) == 0)
            return it;
    }
    return NULL;
}

/* A pod condition as the API writes it; lastTransitionTime carries over from old (a condition of
 * the same type) while the status stays, as the kubelet's status manager and the scheduler's
 * UpdatePodCondition do. */
static cJSON *make_condition(const char *type, const char *value, const char *reason,
                             const char *message, const cJSON *old)
{
    char ts[32];
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", value);
    cJSON_AddNullToObject(c, "lastProbeTime");
    const char *ltt = json_str(old, "lastTransitionTime");
    if (old && strcmp(json_str_or(old, "status", ""), value) == 0 && ltt)
        cJSON_AddStringToObject(c, "lastTransitionTime", ltt);
    else
        cJSON_AddStringToObject(c, "lastTransitionTime", now_stamp(ts, sizeof ts));
    if (reason && *reason)
        cJSON_AddStringToObject(c, "reason", reason);
    if (message && *message)
        cJSON_AddStringToObject(c, "message", message);
    return c;
}

/* Set one condition in status.conditions (replaced in place, or appended). 1 when it changed
 * (pkg/api/v1/pod UpdatePodCondition), 0 when it was already so. */
static int set_condition(cJSON *status, const char *type, const char *value, const char *reason,
                         const char *message)
{
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!cJSON_IsArray(conds)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
        conds = cJSON_AddArrayToObject(status, "conditions");
    }
    cJSON *old = find_condition(conds, type);
    cJSON *c = make_condition(type, value, reason, message, old);
    if (!old) {
        json_push(conds, c);
        return 1;
    }
    int same = cJSON_Compare(old, c, 1);
    if (same) {
        cJSON_Delete(c);
        return 0;
    }
    cJSON_ReplaceItemViaPointer(conds, old, c);
    return 1;
}

/* ---- events ---- */

/* Named as client-go's recorders name events: <object>.<hex of UnixNano>, so listing by name is
 * chronological; strictly increasing so two events never share a name. */
static void event_name(struct cluster *cl, const char *obj, char *buf, size_t len)
{
    int64_t now = clock_wall_ns();
    cl->last_event_ns = now > cl->last_event_ns ? now : cl->last_event_ns + 1;
    snprintf(buf, len, "%s.%llx", obj, (unsigned long long)cl->last_event_ns);
}

/* reference.GetReference of obj: what involvedObject (regarding) holds. */
static cJSON *object_reference(const cJSON *obj, const char *field_path)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = json_str_or(meta, "namespace", "");
    cJSON *io = cJSON_CreateObject();
    cJSON_AddStringToObject(io, "kind", json_str_or(obj, "kind", ""));
    if (ns[0])
        cJSON_AddStringToObject(io, "namespace", ns);
    cJSON_AddStringToObject(io, "name", json_str_or(meta, "name", ""));
    cJSON_AddStringToObject(io, "uid", json_str_or(meta, "uid", ""));
    cJSON_AddStringToObject(io, "apiVersion", json_str_or(obj, "apiVersion", ""));
    cJSON_AddStringToObject(io, "resourceVersion", json_str_or(meta, "resourceVersion", ""));
    if (field_path)
        cJSON_AddStringToObject(io, "fieldPath", field_path);
    return io;
}

/* An Event as kube-scheduler writes it through the events.k8s.io API (client-go tools/events
 * makeEvent), read back as core/v1: no source, count or first/lastTimestamp, but eventTime,
 * action and the reporting controller. The name goes to name_out. */
static int record_api_event(struct cluster *cl, const cJSON *obj, const char *type,
                            const char *reason, const char *action, const char *message,
                            char *name_out, size_t name_len, int64_t *time_out)
{
    char name[400], micro[40];
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = json_str_or(meta, "namespace", "");
    int64_t now = clock_wall_ns();
    event_name(cl, json_str_or(meta, "name", ""), name, sizeof name);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "metadata"), "name", name);
    json_add(ev, "involvedObject", object_reference(obj, NULL));
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON_AddObjectToObject(ev, "source");
    cJSON_AddNullToObject(ev, "firstTimestamp");
    cJSON_AddNullToObject(ev, "lastTimestamp");
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "eventTime", clock_rfc3339_micro(now, micro, sizeof micro));
    cJSON_AddStringToObject(ev, "action", action);
    cJSON_AddStringToObject(ev, "reportingComponent", "default-scheduler");
    cJSON_AddStringToObject(ev, "reportingInstance", SCHEDULER_INSTANCE);
    if (name_out)
        snprintf(name_out, name_len, "%s", name);
    if (time_out)
        *time_out = now;
    return store_create(cl->store, K(KIND_events), ns[0] ? ns : "default", ev, NULL);
}

int cluster_record_event(struct cluster *cl, const cJSON *obj, const char *type, const char *reason,
                         const char *message, const char *component, const char *field_path)
{
    char name[400], ts[32];
    if (strcmp(component, "default-scheduler") == 0)
        return record_api_event(cl, obj, type, reason,
                                strcmp(reason, "Scheduled") == 0 ? "Binding" : "Scheduling",
                                message, NULL, 0, NULL);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = json_str_or(meta, "namespace", "");
    /* the kubelet names its node: the pod's, or ours for anything not bound */
    const char *host =
        json_str_or(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "nodeName", CLUSTER_NODE_NAME);
    int kubelet = strcmp(component, "kubelet") == 0;
    event_name(cl, json_str_or(meta, "name", ""), name, sizeof name);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "metadata"), "name", name);
    json_add(ev, "involvedObject", object_reference(obj, field_path));
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON *src = cJSON_AddObjectToObject(ev, "source");
    cJSON_AddStringToObject(src, "component", component);
    if (kubelet)
        cJSON_AddStringToObject(src, "host", host);
    now_stamp(ts, sizeof ts);
    cJSON_AddStringToObject(ev, "firstTimestamp", ts);
    cJSON_AddStringToObject(ev, "lastTimestamp", ts);
    cJSON_AddNumberToObject(ev, "count", 1);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddItemToObject(ev, "eventTime", cJSON_CreateNull());
    cJSON_AddStringToObject(ev, "reportingComponent", component);
    cJSON_AddStringToObject(ev, "reportingInstance", kubelet ? host : "");
    return store_create(cl->store, K(KIND_events), ns[0] ? ns : "default", ev, NULL);
}

/* ---- kube-scheduler's FailedScheduling series ---- */

static void series_write(struct cluster *cl, struct series *s)
{
    char micro[40];
    const cJSON *cur = store_get(cl->store, K(KIND_events), s->ns, s->event);
    if (!cur || s->written == s->count)
        return; /* an Event deleted since (its namespace went) is not brought back */
    cJSON *ev = cJSON_Duplicate(cur, 1);
    cJSON *ser = cJSON_CreateObject();
    cJSON_AddNumberToObject(ser, "count", (double)s->count);
    cJSON_AddStringToObject(ser, "lastObservedTime",
                            clock_rfc3339_micro(s->last_ns, micro, sizeof micro));
    json_set(ev, "series", ser);
    if (store_replace(cl->store, K(KIND_events), ev, NULL) == 0)
        s->written = s->count;
}

/* finishSeries: a series whose last repeat is 6 minutes old is written one last time and dropped;
 * so is a singleton that old (a later failure starts a new Event). */
static void on_series_finish(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster *cl = arg;
    int64_t cutoff = clock_wall_ns() - (int64_t)SERIES_FINISH_S * 1000000000;
    for (struct series **pp = &cl->series; *pp;) {
        struct series *s = *pp;
        int done = s->count > 1 ? s->last_ns < cutoff : s->event_time_ns < cutoff;
        if (!done) {
            pp = &s->next;
            continue;
        }
        if (s->count > 1)
            series_write(cl, s);
        *pp = s->next;
        free(s);
    }
}

/* refreshExistingEventSeries: counts are written every 30 minutes. */
static void on_series_refresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster *cl = arg;
    for (struct series *s = cl->series; s; s = s->next)
        if (s->count > 1)
            series_write(cl, s);
}

/* One FailedScheduling: a new Event, or a repeat of the Event about the same pod (uid and
 * resourceVersion): the first repeat is written at once as series {count: 2}, later ones only
 * counted (recordToSink). */
static void failed_scheduling(struct cluster *cl, const cJSON *pod, const char *message)
{
    char note[NOTE_MAX + 1];
    const char *ns = store_obj_namespace(pod), *name = store_obj_name(pod);
    const char *uid = json_str_or(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "uid", "");
    int64_t rv = store_obj_rv(pod);
    for (struct series *s = cl->series; s; s = s->next) {
        if (strcmp(s->ns, ns) != 0 || strcmp(s->pod, name) != 0 || strcmp(s->uid, uid) != 0 ||
            s->pod_rv != rv)
            continue;
        s->count++;
        s->last_ns = clock_wall_ns();
        if (s->count == 2)
            series_write(cl, s);
        return;
    }
    /* truncateMessage: at most NoteLengthLimit bytes, the cut marked " ..." */
    if (strlen(message) > NOTE_MAX)
        snprintf(note, sizeof note, "%.*s ...", NOTE_MAX - 4, message);
    else
        snprintf(note, sizeof note, "%s", message);
    struct series *s = calloc(1, sizeof *s);
    if (!s)
        return;
    if (record_api_event(cl, pod, "Warning", "FailedScheduling", "Scheduling", note, s->event,
                         sizeof s->event, &s->event_time_ns) < 0) {
        free(s);
        return;
    }
    snprintf(s->ns, sizeof s->ns, "%s", ns);
    snprintf(s->pod, sizeof s->pod, "%s", name);
    snprintf(s->uid, sizeof s->uid, "%s", uid);
    s->pod_rv = rv;
    s->count = 1;
    s->next = cl->series;
    cl->series = s;
}
/* ---- container output ---- */

static struct clog *clog_get(struct pod_sim *p, const char *container, int create)
{
    for (struct clog *l = p->logs; l; l = l->next)
        if (strcmp(l->container, container) == 0)
            return l;
    if (!create)
        return NULL;
    struct clog *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    snprintf(l->container, sizeof l->container, "%s", container);
    l->next = p->logs;
    p->logs = l;
    return l;
}

int cluster_log_write(struct cluster *cl, const char *ns, const char *pod, const char *container,
                      const void *data, size_t len)
{
    struct pod_sim *p = sim_find(cl, ns, pod);
    struct clog *l = p ? clog_get(p, container, 1) : NULL;
    if (!l)
        return -1;
    struct log_line *ln = malloc(sizeof *ln + len);
    if (!ln)
        return -1;
    ln->stamp_ns = clock_wall_ns();
    ln->len = len;
    ln->next = NULL;
    memcpy(ln->data, data, len);
    if (l->tail)
        l->tail->next = ln;
    else
        l->head = ln;
    l->tail = ln;
    l->bytes += len;
    while (l->bytes > CLUSTER_MAX_LOG_BYTES && l->head != l->tail) {
        struct log_line *old = l->head;
        l->head = old->next;
        l->bytes -= old->len;
        free(old);
    }
    /* a follower whose connection dies while we write unfollows itself: step past it first */
    for (struct follower *f = l->followers, *next; f; f = next) {
        next = f->next;
        f->cb(f->arg, ln->data, ln->len, ln->stamp_ns);
    }
    return 0;
}

static int has_container(const cJSON *pod, const char *container)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const char *lists[] = {"containers", "initContainers"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(
                                  spec, lists[i])) if (strcmp(json_str_or(c, "name", ""),
                                                              container) == 0) return 1;
    }
    return 0;
}

int cluster_log_read(struct cluster *cl, const char *ns, const char *pod, const char *container,
                     cluster_log_cb cb, void *arg)
{
    struct pod_sim *p = sim_find(cl, ns, pod);
    const cJSON *obj = store_get(cl->store, K(KIND_pods), ns, pod);
    if (!p || !obj || !has_container(obj, container))
        return -1;
    struct clog *l = clog_get(p, container, 0);
    for (struct log_line *ln = l ? l->head : NULL; ln; ln = ln->next)
        cb(arg, ln->data, ln->len, ln->stamp_ns);
    return 0;
}

uint64_t cluster_log_follow(struct cluster *cl, const char *ns, const char *pod,
                            const char *container, cluster_log_cb cb, void *arg)
{
    struct pod_sim *p = sim_find(cl, ns, pod);
    struct clog *l = p ? clog_get(p, container, 1) : NULL;
    struct follower *f = l ? calloc(1, sizeof *f) : NULL;
    if (!f)
        return 0;
    f->handle = ++cl->next_follow;
    f->cb = cb;
    f->arg = arg;
    f->next = l->followers;
    l->followers = f;
    return f->handle;
}

void cluster_log_unfollow(struct cluster *cl, uint64_t handle)
{
    for (struct pod_sim *p = cl->pods; p; p = p->next)
        for (struct clog *l = p->logs; l; l = l->next)
            for (struct follower **pp = &l->followers; *pp; pp = &(*pp)->next)
                if ((*pp)->handle == handle) {
                    struct follower *f = *pp;
                    *pp = f->next;
                    free(f);
                    return;
                }
}

/* ---- nodes ---- */

static const struct cnode *node_find(const struct cluster *cl, const char *name)
{
    for (size_t i = 0; i < cl->nnodes; i++)
        if (strcmp(cl->nodes[i].name, name) == 0)
            return &cl->nodes[i];
    return NULL;
}

static unsigned node_index(const struct cluster *cl, const char *name)
{
    const struct cnode *n = node_find(cl, name);
    return n ? n->index : 0;
}

/* ---- the container model ---- */

static int kubelet_condition(const char *type)
{
    static const char *const owned[] = {"PodScheduled", "Ready", "Initialized", "ContainersReady",
                                        "PodReadyToStartContainers"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcmp(type, owned[i]) == 0)
            return 1;
    return 0;
}

static int default_waiting(const char *reason)
{
    return !reason[0] || strcmp(reason, "ContainerCreating") == 0 ||
           strcmp(reason, "PodInitializing") == 0;
}

static void set_message(struct csim *c, const char *message)
{
    free(c->message);
    c->message = message && *message ? strdup(message) : NULL;
}

/* The containers of the pod's spec, all waiting (kubelet's default waiting state). */
static int model_build(struct pod_sim *p, const cJSON *pod)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *inits = cJSON_GetObjectItemCaseSensitive(spec, "initContainers");
    const cJSON *regular = cJSON_GetObjectItemCaseSensitive(spec, "containers");
    size_t n = (size_t)cJSON_GetArraySize(inits) + (size_t)cJSON_GetArraySize(regular);
    struct csim *cs = n ? calloc(n, sizeof *cs) : NULL;
    if (n && !cs)
        return -1;
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, inits)
    {
        snprintf(cs[i].name, sizeof cs[i].name, "%s", json_str_or(c, "name", ""));
        snprintf(cs[i].image, sizeof cs[i].image, "%s", json_str_or(c, "image", ""));
        cs[i++].init = 1;
    }
    p->ninit = i;
    cJSON_ArrayForEach(c, regular)
    {
        snprintf(cs[i].name, sizeof cs[i].name, "%s", json_str_or(c, "name", ""));
        snprintf(cs[i].image, sizeof cs[i].image, "%s", json_str_or(c, "image", ""));
        i++;
    }
    p->cs = cs;
    p->ncs = n;
    p->modeled = 1;
    return 0;
}

static struct csim *model_find(struct pod_sim *p, const char *name)
{
    for (size_t i = 0; i < p->ncs; i++)
        if (strcmp(p->cs[i].name, name) == 0)
            return &p->cs[i];
    return NULL;
}

static const cJSON *spec_container(const cJSON *pod, const struct csim *c)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *list =
        cJSON_GetObjectItemCaseSensitive(spec, c->init ? "initContainers" : "containers");
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        if (strcmp(json_str_or(it, "name", ""), c->name) == 0)
            return it;
    }
    return NULL;
}

/* kubelet getPhase (kubelet_pods.go), restartable init containers aside. */
static const char *model_phase(const struct pod_sim *p, const cJSON *pod)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
    const char *policy = json_str_or(spec, "restartPolicy", "Always");
    int pending_init = 0, failed_init = 0, started = 0;
    int running = 0, waiting = 0, stopped = 0, succeeded = 0;
    for (size_t i = 0; i < p->ncs; i++) {
        const struct csim *c = &p->cs[i];
        if (c->init) {
            if (c->state == CLUSTER_RUNNING)
                pending_init++;
            else if (c->state == CLUSTER_TERMINATED)
                failed_init += c->exit_code != 0;
            else if (c->has_last)
                failed_init += c->last_exit != 0;
            else
                pending_init++;
            continue;
        }
        started |= c->state != CLUSTER_WAITING;
        if (c->state == CLUSTER_RUNNING) {
            running++;
        } else if (c->state == CLUSTER_TERMINATED) {
            stopped++;
            succeeded += c->exit_code == 0;
        } else if (c->has_last) {
            stopped++;
        } else {
            waiting++;
        }
    }
    int terminal = cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp") && !running;
    if (failed_init && strcmp(policy, "Never") == 0)
        return "Failed";
    if ((pending_init && !started) || waiting)
        return "Pending";
    if (running)
        return "Running";
    if (stopped) {
        if (terminal)
            return stopped == succeeded ? "Succeeded" : "Failed";
        if (strcmp(policy, "Always") == 0)
            return "Running";
        if (stopped == succeeded)
            return "Succeeded";
        return strcmp(policy, "Never") == 0 ? "Failed" : "Running";
    }
    return "Pending";
}

static cJSON *terminated_json(int exit_code, const char *reason, const char *message,
                              int64_t started_s, int64_t finished_s, const char *cid)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "exitCode", exit_code);
    cJSON_AddStringToObject(t, "reason", reason);
    if (message && *message)
        cJSON_AddStringToObject(t, "message", message);
    json_add(t, "startedAt", time_json(started_s));
    json_add(t, "finishedAt", time_json(finished_s));
    if (cid && *cid)
        cJSON_AddStringToObject(t, "containerID", cid);
    return t;
}

/* One entry of containerStatuses / initContainerStatuses (convertToAPIContainerStatuses plus
 * the prober's ready and started). */
static cJSON *container_status(const struct pod_sim *p, const struct csim *c)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", c->name);
    cJSON *state = cJSON_AddObjectToObject(s, "state");
    if (c->state == CLUSTER_WAITING) {
        cJSON *w = cJSON_AddObjectToObject(state, "waiting");
        cJSON_AddStringToObject(w, "reason",
                                c->reason[0] ? c->reason
                                : p->ninit   ? "PodInitializing"
                                             : "ContainerCreating");
        if (c->message)
            cJSON_AddStringToObject(w, "message", c->message);
    } else if (c->state == CLUSTER_RUNNING) {
        json_add(cJSON_AddObjectToObject(state, "running"), "startedAt", time_json(c->started_s));
    } else {
        json_add(state, "terminated",
                 terminated_json(c->exit_code, c->reason, c->message, c->started_s, c->finished_s,
                                 c->cid));
    }
    cJSON *last = cJSON_AddObjectToObject(s, "lastState");
    if (c->has_last)
        json_add(last, "terminated",
                 terminated_json(c->last_exit, c->last_reason, NULL, c->last_started_s,
                                 c->last_finished_s, c->last_cid));
    cJSON_AddBoolToObject(s, "ready", c->ready);
    cJSON_AddNumberToObject(s, "restartCount", c->restarts);
    cJSON_AddStringToObject(s, "image", c->image);
    cJSON_AddStringToObject(s, "imageID", c->ran ? c->iid : "");
    if (c->ran)
        cJSON_AddStringToObject(s, "containerID", c->cid);
    cJSON_AddBoolToObject(s, "started", c->state == CLUSTER_RUNNING);
    return s;
}

/* "[a b]": a Go %s of a []string */
static void name_list(const struct pod_sim *p, int init, int (*pick)(const struct csim *),
                      char *buf, size_t len)
{
    size_t n = 1;
    snprintf(buf, len, "[");
    for (size_t i = 0; i < p->ncs; i++) {
        if (p->cs[i].init != init || !pick(&p->cs[i]))
            continue;
        int w = snprintf(buf + n, len - n, "%s%s", n > 1 ? " " : "", p->cs[i].name);
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    if (n < len - 1)
        snprintf(buf + n, len - n, "]");
}

static int unready(const struct csim *c)
{
    return !c->ready;
}

static int any_picked(const struct pod_sim *p, int init, int (*pick)(const struct csim *))
{
    for (size_t i = 0; i < p->ncs; i++)
        if (p->cs[i].init == init && pick(&p->cs[i]))
            return 1;
    return 0;
}

static int regular_started(const struct pod_sim *p)
{
    for (size_t i = p->ninit; i < p->ncs; i++)
        if (p->cs[i].state != CLUSTER_WAITING)
            return 1;
    return 0;
}

/* The kubelet's conditions (status/generate.go) after the ones it does not own, as the status
 * manager merges them: PodReadyToStartContainers, Initialized, Ready, ContainersReady,
 * PodScheduled. Conditions set by hand replace those of their type. */
static void render_conditions(const struct pod_sim *p, cJSON *status, const char *phase)
{
    char names[1024], msg[1200];
    cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(status, "conditions");
    cJSON *arr = cJSON_CreateArray();
    unsigned char *used = p->nxc ? calloc(p->nxc, 1) : NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, old)
    {
        const char *type = json_str_or(c, "type", "");
        if (kubelet_condition(type) && p->modeled)
            continue;
        size_t x = 0;
        while (x < p->nxc && strcmp(p->xc[x].type, type) != 0)
            x++;
        if (x < p->nxc && used) {
            used[x] = 1;
            json_push(arr,
                      make_condition(type, p->xc[x].status, p->xc[x].reason, p->xc[x].message, c));
        } else {
            json_push(arr, cJSON_Duplicate(c, 1));
        }
    }
    for (size_t x = 0; x < p->nxc; x++)
        if (used && !used[x])
            json_push(arr, make_condition(p->xc[x].type, p->xc[x].status, p->xc[x].reason,
                                          p->xc[x].message, NULL));
    free(used);
    if (p->modeled) {
        int terminal = strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0;
        json_push(arr,
                  make_condition("PodReadyToStartContainers", p->sandbox ? "True" : "False", NULL,
                                 NULL, find_condition(old, "PodReadyToStartContainers")));
        const cJSON *oi = find_condition(old, "Initialized");
        if (strcmp(phase, "Succeeded") == 0) {
            json_push(arr, make_condition("Initialized", "True", "PodCompleted", NULL, oi));
        } else if (p->ninit && !regular_started(p) && any_picked(p, 1, unready)) {
            name_list(p, 1, unready, names, sizeof names);
            snprintf(msg, sizeof msg, "containers with incomplete status: %s", names);
            json_push(arr,
                      make_condition("Initialized", "False", "ContainersNotInitialized", msg, oi));
        } else {
            json_push(arr, make_condition("Initialized", "True", NULL, NULL, oi));
        }
        const char *value = "True", *reason = NULL;
        msg[0] = '\0';
        if (terminal) {
            value = "False";
            reason = strcmp(phase, "Failed") == 0 ? "PodFailed" : "PodCompleted";
        } else if (any_picked(p, 0, unready)) {
            value = "False";
            reason = "ContainersNotReady";
            name_list(p, 0, unready, names, sizeof names);
            snprintf(msg, sizeof msg, "containers with unready status: %s", names);
        }
        json_push(arr, make_condition("Ready", value, reason, msg, find_condition(old, "Ready")));
        json_push(arr, make_condition("ContainersReady", value, reason, msg,
                                      find_condition(old, "ContainersReady")));
        json_push(arr, make_condition("PodScheduled", "True", NULL, NULL,
                                      find_condition(old, "PodScheduled")));
    }
    cJSON_Delete(old);
    json_add(status, "conditions", arr);
}

static void ip_array(cJSON *status, const char *key, const char *ip)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "ip", ip);
    json_push(arr, one);
    json_set(status, key, arr);
}

/* The pod's status from the model (and hand-set conditions, phase, deletion). */
static void render(struct pod_sim *p, cJSON *pod)
{
    char ts[32], ip[32];
    cJSON *meta = json_obj(pod, "metadata");
    cJSON *spec = json_obj(pod, "spec");
    cJSON *status = json_obj(pod, "status");
    if (p->deleting == 1 && !cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp")) {
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(spec, "terminationGracePeriodSeconds");
        int64_t grace = json_int_clamp(tg, 0, CLUSTER_MAX_GRACE_S, DEFAULT_GRACE_S);
        json_set(meta, "deletionTimestamp",
                 cJSON_CreateString(clock_rfc3339(now_s() + grace, ts, sizeof ts)));
        json_set(meta, "deletionGracePeriodSeconds", cJSON_CreateNumber((double)grace));
    }
    p->deleting = p->deleting ? 2 : 0;
    const char *stored = json_str_or(status, "phase", "");
    char phase[16];
    if (p->phase[0])
        snprintf(phase, sizeof phase, "%s", p->phase);
    else if (strcmp(stored, "Failed") == 0 || strcmp(stored, "Succeeded") == 0 || !p->modeled)
        snprintf(phase, sizeof phase, "%s", stored[0] ? stored : "Pending"); /* terminal: sticky */
    else
        snprintf(phase, sizeof phase, "%s", model_phase(p, pod));
    json_set(status, "phase", cJSON_CreateString(phase));
    if (p->phase[0]) {
        if (p->preason[0])
            json_set(status, "reason", cJSON_CreateString(p->preason));
        if (p->pmessage)
            json_set(status, "message", cJSON_CreateString(p->pmessage));
    }
    render_conditions(p, status, phase);
    if (!p->modeled)
        return;
    unsigned node = node_index(p->cl, p->node);
    snprintf(ip, sizeof ip, "10.0.0.%u", 10 + node);
    json_set(status, "hostIP", cJSON_CreateString(ip));
    ip_array(status, "hostIPs", ip);
    if (p->sandbox) {
        snprintf(ip, sizeof ip, "10.244.%u.%u", node, p->ip_octet);
        json_set(status, "podIP", cJSON_CreateString(ip));
        ip_array(status, "podIPs", ip);
    }
    if (!json_str(status, "startTime"))
        json_set(status, "startTime", cJSON_CreateString(now_stamp(ts, sizeof ts)));
    for (int init = 1; init >= 0; init--) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < p->ncs; i++)
            if (p->cs[i].init == init)
                json_push(arr, container_status(p, &p->cs[i]));
        const char *key = init ? "initContainerStatuses" : "containerStatuses";
        if (cJSON_GetArraySize(arr) > 0)
            json_set(status, key, arr);
        else
            cJSON_Delete(arr);
    }
    json_default_str(status, "qosClass", "BestEffort");
}

/* Write the pod's status from the model now. 0, or -1 when the pod is gone. */
static int write_status(struct pod_sim *p, const cJSON **out)
{
    const cJSON *cur = store_get(p->cl->store, K(KIND_pods), p->ns, p->name);
    if (!cur)
        return -1;
    cJSON *pod = cJSON_Duplicate(cur, 1);
    render(p, pod);
    p->dirty = 0;
    return store_replace(p->cl->store, K(KIND_pods), pod, out);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pod_sim *p = arg;
    if (p->dirty)
        write_status(p, NULL);
}

int cluster_pod_flush(struct cluster *cl, const char *ns, const char *name)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (!p)
        return -1;
    return p->dirty ? write_status(p, NULL) : 0;
}

/* The model changed: write the status once this turn of the loop is over, so changes made
 * together reach watchers as one MODIFIED, as the kubelet's status manager batches them. */
static void touch(struct pod_sim *p)
{
    p->dirty = 1;
    event_active(p->flush, EV_TIMEOUT, 0);
}

/* ---- what the kubelet does to containers ---- */

static void default_output(struct pod_sim *p, const cJSON *c);

/* docker.io/library/busybox:latest for busybox, as containerd resolves a reference. */
static void normalize_image(const char *image, char *buf, size_t len)
{
    const char *slash = strchr(image, '/');
    size_t first = slash ? (size_t)(slash - image) : 0;
    int registry = slash && (memchr(image, '.', first) || memchr(image, ':', first) ||
                             strncmp(image, "localhost/", 10) == 0);
    const char *last = strrchr(image, '/');
    last = last ? last + 1 : image;
    int tagged = strchr(last, ':') || strchr(image, '@');
    snprintf(buf, len, "%s%s%s",
             registry ? ""
             : slash  ? "docker.io/"
                      : "docker.io/library/",
             image, tagged ? "" : ":latest");
}

/* The kubelet's message for a waiting reason when none is given. */
static void default_message(const struct pod_sim *p, const struct csim *c, const char *reason,
                            const char *uid, char *buf, size_t len)
{
    char ref[600];
    buf[0] = '\0';
    if (strcmp(reason, "ImagePullBackOff") == 0) {
        snprintf(buf, len, "Back-off pulling image \"%s\"", c->image);
    } else if (strcmp(reason, "ErrImagePull") == 0) {
        normalize_image(c->image, ref, sizeof ref);
        snprintf(buf, len,
                 "rpc error: code = NotFound desc = failed to pull and unpack image \"%s\": "
                 "failed to resolve reference \"%s\": %s: not found",
                 ref, ref, ref);
    } else if (strcmp(reason, "InvalidImageName") == 0) {
        snprintf(buf, len,
                 "Failed to apply default image tag \"%s\": couldn't parse image name \"%s\": "
                 "invalid reference format",
                 c->image, c->image);
    } else if (strcmp(reason, "CrashLoopBackOff") == 0) {
        /* the back-off doubles from 10s up to 5m0s, printed as a Go duration */
        int restarts = c->restarts > 0 ? c->restarts : 1;
        int secs = restarts > 6 ? 300 : 10 << (restarts - 1);
        char d[16];
        if (secs > 300)
            secs = 300;
        if (secs < 60)
            snprintf(d, sizeof d, "%ds", secs);
        else
            snprintf(d, sizeof d, "%dm%ds", secs / 60, secs % 60);
        snprintf(buf, len, "back-off %s restarting failed container=%s pod=%s_%s(%s)", d, c->name,
                 p->name, p->ns, uid);
    }
}

static void field_path(const struct csim *c, char *buf, size_t len)
{
    snprintf(buf, len, "spec.%s{%s}", c->init ? "initContainers" : "containers", c->name);
}

/* The events the kubelet records on entering a waiting reason (images/image_manager.go,
 * kuberuntime_container.go startContainer, kuberuntime_manager.go doBackOff). */
static void waiting_events(struct pod_sim *p, const cJSON *pod, const struct csim *c,
                           const char *uid)
{
    char path[300], msg[5200];
    const char *r = c->reason, *m = c->message ? c->message : "";
    struct cluster *cl = p->cl;
    field_path(c, path, sizeof path);
    if (strcmp(r, "ErrImagePull") == 0) {
        snprintf(msg, sizeof msg, "Pulling image \"%s\"", c->image);
        cluster_record_event(cl, pod, "Normal", "Pulling", msg, "kubelet", path);
        snprintf(msg, sizeof msg, "Failed to pull image \"%s\": %s", c->image, m);
        cluster_record_event(cl, pod, "Warning", "Failed", msg, "kubelet", path);
        cluster_record_event(cl, pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet", path);
    } else if (strcmp(r, "ImagePullBackOff") == 0) {
        snprintf(msg, sizeof msg, "Back-off pulling image \"%s\"", c->image);
        cluster_record_event(cl, pod, "Normal", "BackOff", msg, "kubelet", path);
        cluster_record_event(cl, pod, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet",
                             path);
    } else if (strcmp(r, "InvalidImageName") == 0) {
        cluster_record_event(cl, pod, "Warning", "InspectFailed", m, "kubelet", path);
        cluster_record_event(cl, pod, "Warning", "Failed", "Error: InvalidImageName", "kubelet",
                             path);
    } else if (strcmp(r, "CrashLoopBackOff") == 0) {
        snprintf(msg, sizeof msg, "Back-off restarting failed container %s in pod %s_%s(%s)",
                 c->name, p->name, p->ns, uid);
        cluster_record_event(cl, pod, "Warning", "BackOff", msg, "kubelet", path);
    } else if ((strcmp(r, "CreateContainerConfigError") == 0 ||
                strcmp(r, "CreateContainerError") == 0 || strcmp(r, "RunContainerError") == 0) &&
               *m) {
        snprintf(msg, sizeof msg, "Error: %s", m);
        cluster_record_event(cl, pod, "Warning", "Failed", msg, "kubelet", path);
    }
}

/* 64 hex digits, as containerd's IDs and image digests have. */
static void hex64(struct rng *r, char *buf, size_t len)
{
    snprintf(buf, len, "%016llx%016llx%016llx%016llx", (unsigned long long)rng_next(r),
             (unsigned long long)rng_next(r), (unsigned long long)rng_next(r),
             (unsigned long long)rng_next(r));
}

static void new_container_id(struct cluster *cl, struct csim *c)
{
    char ref[600], hex[72];
    hex64(cl->rng, hex, sizeof hex);
    snprintf(c->cid, sizeof c->cid, "containerd://%s", hex);
    normalize_image(c->image, ref, sizeof ref);
    char *colon = strrchr(ref, ':');
    if (colon && !strchr(colon, '/') && !strchr(ref, '@'))
        *colon = '\0'; /* repo@digest, as the runtime reports imageID */
    hex64(cl->rng, hex, sizeof hex);
    if (strchr(ref, '@')) /* pinned by digest already */
        snprintf(c->iid, sizeof c->iid, "%s", ref);
    else
        snprintf(c->iid, sizeof c->iid, "%s@sha256:%s", ref, hex);
    c->ran = 1;
}

/* The previous run becomes lastState.terminated (a restart). */
static void keep_last(struct csim *c, int exit_code, const char *reason, int64_t started_s,
                      int64_t finished_s)
{
    c->has_last = 1;
    c->last_exit = exit_code;
    snprintf(c->last_reason, sizeof c->last_reason, "%s", reason);
    c->last_started_s = started_s;
    c->last_finished_s = finished_s;
    snprintf(c->last_cid, sizeof c->last_cid, "%s", c->cid);
    c->restarts++;
}

static void container_started_events(struct pod_sim *p, const cJSON *pod, const struct csim *c)
{
    char path[300], msg[700];
    field_path(c, path, sizeof path);
    snprintf(msg, sizeof msg, "Container image \"%s\" already present on machine", c->image);
    cluster_record_event(p->cl, pod, "Normal", "Pulled", msg, "kubelet", path);
    snprintf(msg, sizeof msg, "Created container: %s", c->name);
    cluster_record_event(p->cl, pod, "Normal", "Created", msg, "kubelet", path);
    snprintf(msg, sizeof msg, "Started container %s", c->name);
    cluster_record_event(p->cl, pod, "Normal", "Started", msg, "kubelet", path);
}

/* Move one container to st, recording the kubelet's events. pod: the pod as stored. */
static void model_set(struct pod_sim *p, const cJSON *pod, struct csim *c,
                      const struct cluster_container *st)
{
    char msg[2400];
    const char *uid = json_str_or(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "uid", "");
    int64_t now = now_s();
    switch (st->state) {
    case CLUSTER_RUNNING:
        if (c->state != CLUSTER_RUNNING) {
            if (c->state == CLUSTER_TERMINATED && c->ran)
                keep_last(c, c->exit_code, c->reason, c->started_s, c->finished_s);
            new_container_id(p->cl, c);
            c->started_s = now;
            c->finished_s = 0;
            c->state = CLUSTER_RUNNING;
            c->reason[0] = '\0';
            set_message(c, NULL);
            container_started_events(p, pod, c);
            default_output(p, spec_container(pod, c));
        }
        c->ready = c->init ? 0 : st->ready;
        p->sandbox = 1;
        break;
    case CLUSTER_TERMINATED:
        if (!c->ran) {
            new_container_id(p->cl, c);
            c->started_s = now;
        }
        c->state = CLUSTER_TERMINATED;
        c->exit_code = st->exit_code;
        snprintf(c->reason, sizeof c->reason, "%s",
                 st->reason      ? st->reason
                 : st->exit_code ? "Error"
                                 : "Completed");
        set_message(c, st->message);
        c->finished_s = now;
        c->ready = c->init && st->exit_code == 0; /* a completed init container is ready */
        p->sandbox = 1;
        break;
    case CLUSTER_WAITING: {
        /* ContainerCreating and PodInitializing without a message are the kubelet's default
         * waiting state, which it names by whether the pod has init containers */
        const char *reason =
            !st->reason || (default_waiting(st->reason) && !st->message) ? "" : st->reason;
        int entering = c->state != CLUSTER_WAITING || strcmp(c->reason, reason) != 0;
        if (strcmp(reason, "CrashLoopBackOff") == 0) {
            /* a crash loop follows a run that ended: that run is lastState */
            if (c->state == CLUSTER_TERMINATED && c->ran)
                keep_last(c, c->exit_code, c->reason, c->started_s, c->finished_s);
            else if (c->state == CLUSTER_RUNNING)
                keep_last(c, 1, "Error", c->started_s, now);
            else if (!c->has_last) {
                new_container_id(p->cl, c);
                keep_last(c, 1, "Error", now, now);
            }
        }
        c->state = CLUSTER_WAITING;
        c->ready = 0;
        snprintf(c->reason, sizeof c->reason, "%s", reason);
        if (st->message)
            set_message(c, st->message);
        else {
            default_message(p, c, reason, uid, msg, sizeof msg);
            set_message(c, msg);
        }
        if (!default_waiting(reason))
            p->sandbox = 1;
        if (entering)
            waiting_events(p, pod, c, uid);
        break;
    }
    }
}

/* ---- lifecycle ---- */

static void on_step_timer(evutil_socket_t fd, short what, void *arg);

static void arm_step(struct pod_sim *p, enum hook_pod_step_kind step, int64_t delay_ms)
{
    struct cluster *cl = p->cl;
    const cJSON *pod = store_get(cl->store, K(KIND_pods), p->ns, p->name);
    struct hook_pod_step hs = {step, p->ns, p->name, pod, delay_ms};
    enum hook_verdict v = HOOK_PASS;
    p->next_step = step;
    p->has_step = 1;
    if (cl->hooks && cl->hooks->on_pod_step)
        v = cl->hooks->on_pod_step(cl->hooks->arg, &hs);
    /* the script hook hears of every step, even one the server's hook holds */
    if (cl->step_hook && cl->step_hook(cl->step_hook_arg, &hs) == HOOK_HOLD)
        v = HOOK_HOLD;
    if (v == HOOK_HOLD) {
        evtimer_del(p->timer);
        return;
    }
    if (hs.delay_ms < 0)
        hs.delay_ms = 0;
    struct timeval tv = {(time_t)(hs.delay_ms / 1000), (suseconds_t)((hs.delay_ms % 1000) * 1000)};
    evtimer_add(p->timer, &tv);
}

static void step_schedule(struct pod_sim *p, const cJSON *cur)
{
    struct cluster *cl = p->cl;
    char msg[800];
    cJSON *pod = cJSON_Duplicate(cur, 1);
    json_set(json_obj(pod, "spec"), "nodeName", cJSON_CreateString(p->node));
    json_default_str(json_obj(pod, "status"), "phase", "Pending");
    if (!p->modeled && model_build(p, pod) < 0) {
        cJSON_Delete(pod);
        return;
    }
    render(p, pod);
    p->dirty = 0;
    const cJSON *stored = NULL;
    if (store_replace(cl->store, K(KIND_pods), pod, &stored) < 0)
        return;
    snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", p->ns, p->name, p->node);
    cluster_record_event(cl, stored, "Normal", "Scheduled", msg, "default-scheduler", NULL);
    p->state = SIM_SCHEDULED;
    arm_step(p, POD_STEP_START, cl->o.start_delay_ms);
}

/* The default simulated container: `echo WORDS...` prints its words; anything else runs silently
 * until the pod is deleted. Scenarios (a later issue) script real behaviour. */
static void default_output(struct pod_sim *p, const cJSON *c)
{
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(c, "command");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(c, "args");
    const char *argv[64];
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cmd) if (cJSON_IsString(it) && n < 64) argv[n++] = it->valuestring;
    cJSON_ArrayForEach(it, args) if (cJSON_IsString(it) && n < 64) argv[n++] = it->valuestring;
    if (n == 0 || strcmp(argv[0], "echo") != 0)
        return;
    char line[4096];
    size_t len = 0;
    for (size_t i = 1; i < n; i++) {
        int w = snprintf(line + len, sizeof line - len, "%s%s", i > 1 ? " " : "", argv[i]);
        if (w < 0 || (size_t)w >= sizeof line - len - 1)
            break;
        len += (size_t)w;
    }
    line[len++] = '\n';
    cluster_log_write(p->cl, p->ns, p->name, json_str_or(c, "name", ""), line, len);
}

/* Init containers complete, containers run and are ready, in one status write. */
static void step_start(struct pod_sim *p, const cJSON *cur)
{
    struct cluster *cl = p->cl;
    if (!p->modeled && model_build(p, cur) < 0)
        return;
    /* events come from the pod as it was; the status write follows */
    cJSON *copy = cJSON_Duplicate(cur, 1);
    for (size_t i = 0; i < p->ncs; i++) {
        struct csim *c = &p->cs[i];
        struct cluster_container st = {c->init ? CLUSTER_TERMINATED : CLUSTER_RUNNING, NULL, NULL,
                                       1, 0};
        if (c->init && c->state == CLUSTER_TERMINATED)
            continue;
        if (c->init) /* it runs, then completes */
            model_set(p, copy, c, &(struct cluster_container){CLUSTER_RUNNING, NULL, NULL, 0, 0});
        model_set(p, copy, c, &st);
    }
    cJSON_Delete(copy);
    p->sandbox = 1;
    p->has_step = 0;
    if (write_status(p, NULL) < 0)
        return;
    p->state = SIM_RUNNING;
    (void)cl;
}

static void step_terminate(struct pod_sim *p)
{
    struct cluster *cl = p->cl;
    char ns[254], name[254];
    snprintf(ns, sizeof ns, "%s", p->ns);
    snprintf(name, sizeof name, "%s", p->name);
    p->has_step = 0;
    p->state = SIM_DONE;
    store_remove(cl->store, K(KIND_pods), ns, name); /* the listener frees the sim */
}

static void run_step(struct pod_sim *p)
{
    const cJSON *cur = store_get(p->cl->store, K(KIND_pods), p->ns, p->name);
    if (!cur || !p->has_step)
        return;
    switch (p->next_step) {
    case POD_STEP_SCHEDULE:
        step_schedule(p, cur);
        break;
    case POD_STEP_START:
        step_start(p, cur);
        break;
    case POD_STEP_TERMINATE:
        step_terminate(p);
        break;
    }
}

static void on_step_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_step(arg);
}

int cluster_pod_advance(struct cluster *cl, const char *ns, const char *name)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (!p || !p->has_step)
        return -1;
    evtimer_del(p->timer);
    run_step(p);
    return 0;
}

static int64_t grace_of(const cJSON *pod)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(spec, "terminationGracePeriodSeconds");
    return json_int_clamp(tg, 0, CLUSTER_MAX_GRACE_S, DEFAULT_GRACE_S);
}

static void finish_deleting(struct pod_sim *p, int64_t grace_s)
{
    int64_t delay = p->cl->o.terminate_delay_ms;
    if (grace_s * 1000 < delay)
        delay = grace_s * 1000;
    p->state = SIM_TERMINATING;
    evtimer_del(p->timer);
    arm_step(p, POD_STEP_TERMINATE, delay);
}

void cluster_pod_deleting(struct cluster *cl, const char *ns, const char *name, int64_t grace_s)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (p)
        finish_deleting(p, grace_s);
}

/* ---- driving pods by hand ---- */

void cluster_set_step_hook(struct cluster *cl,
                           enum hook_verdict (*fn)(void *arg, struct hook_pod_step *step),
                           void *arg, struct cluster **cl_ref)
{
    cl->step_hook = fn;
    cl->step_hook_arg = arg;
    cl->step_hook_ref = fn ? cl_ref : NULL;
}

int cluster_pod_set_node(struct cluster *cl, const char *ns, const char *name, const char *node)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (!p)
        return -1;
    snprintf(p->node, sizeof p->node, "%s", node);
    return 0;
}

int cluster_pod_unschedulable(struct cluster *cl, const char *ns, const char *name,
                              const char *message)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    const cJSON *cur = store_get(cl->store, K(KIND_pods), ns, name);
    if (!p || !cur || json_str(cJSON_GetObjectItemCaseSensitive(cur, "spec"), "nodeName"))
        return -1;
    /* the event names the pod as the scheduler saw it, before its status patch */
    failed_scheduling(cl, cur, message);
    cur = store_get(cl->store, K(KIND_pods), ns, name);
    cJSON *pod = cJSON_Duplicate(cur, 1);
    if (!set_condition(json_obj(pod, "status"), "PodScheduled", "False", "Unschedulable",
                       message)) {
        cJSON_Delete(pod); /* unchanged: the scheduler patches nothing */
        return 0;
    }
    return store_replace(cl->store, K(KIND_pods), pod, NULL);
}

int cluster_pod_set_container(struct cluster *cl, const char *ns, const char *name,
                              const char *container, const struct cluster_container *st)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    const cJSON *cur = store_get(cl->store, K(KIND_pods), ns, name);
    struct csim *c = p && p->modeled ? model_find(p, container) : NULL;
    if (!c || !cur)
        return -1;
    cJSON *copy = cJSON_Duplicate(cur, 1); /* events may change the store under cur */
    model_set(p, copy, c, st);
    cJSON_Delete(copy);
    touch(p);
    return 0;
}

int cluster_pod_terminate(struct cluster *cl, const char *ns, const char *name, int exit_code,
                          const char *reason)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    const cJSON *cur = store_get(cl->store, K(KIND_pods), ns, name);
    if (!p || !cur)
        return -1;
    if (!p->modeled)
        return 0; /* nothing runs on a pod that is not bound */
    cJSON *copy = cJSON_Duplicate(cur, 1);
    char path[300], msg[400];
    for (size_t i = 0; i < p->ncs; i++) {
        struct csim *c = &p->cs[i];
        if (c->state == CLUSTER_TERMINATED)
            continue;
        if (c->state == CLUSTER_RUNNING) {
            field_path(c, path, sizeof path);
            snprintf(msg, sizeof msg, "Stopping container %s", c->name);
            cluster_record_event(cl, copy, "Normal", "Killing", msg, "kubelet", path);
            model_set(p, copy, c,
                      &(struct cluster_container){CLUSTER_TERMINATED, reason ? reason : "Error",
                                                  NULL, 0, exit_code});
        } else {
            /* never started: reported as the kubelet reports containers it cannot find */
            c->state = CLUSTER_TERMINATED;
            c->exit_code = 137;
            snprintf(c->reason, sizeof c->reason, "ContainerStatusUnknown");
            set_message(c, "The container could not be located when the pod was terminated");
            c->ready = 0;
            c->started_s = c->finished_s = 0;
        }
    }
    cJSON_Delete(copy);
    touch(p);
    return 0;
}

int cluster_pod_set_condition(struct cluster *cl, const char *ns, const char *name,
                              const char *type, const char *status, const char *reason,
                              const char *message)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (!p || kubelet_condition(type))
        return -1;
    struct xcond *x = NULL;
    for (size_t i = 0; i < p->nxc; i++)
        if (strcmp(p->xc[i].type, type) == 0)
            x = &p->xc[i];
    if (!x) {
        struct xcond *xc = realloc(p->xc, (p->nxc + 1) * sizeof *xc);
        if (!xc)
            return -1;
        p->xc = xc;
        x = &p->xc[p->nxc++];
        memset(x, 0, sizeof *x);
        snprintf(x->type, sizeof x->type, "%s", type);
    }
    snprintf(x->status, sizeof x->status, "%s", status ? status : "True");
    free(x->reason);
    free(x->message);
    x->reason = reason && *reason ? strdup(reason) : NULL;
    x->message = message && *message ? strdup(message) : NULL;
    touch(p);
    return 0;
}

int cluster_pod_set_phase(struct cluster *cl, const char *ns, const char *name, const char *phase,
                          const char *reason, const char *message)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (!p)
        return -1;
    snprintf(p->phase, sizeof p->phase, "%s", phase);
    snprintf(p->preason, sizeof p->preason, "%s", reason ? reason : "");
    free(p->pmessage);
    p->pmessage = message && *message ? strdup(message) : NULL;
    touch(p);
    return 0;
}

int cluster_pod_mark_deleting(struct cluster *cl, const char *ns, const char *name, int finish)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    const cJSON *cur = store_get(cl->store, K(KIND_pods), ns, name);
    if (!p || !cur)
        return -1;
    if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cur, "metadata"),
                                          "deletionTimestamp")) {
        p->deleting = 1;
        touch(p);
    }
    if (finish)
        finish_deleting(p, grace_of(cur));
    return 0;
}

int cluster_pod_remove(struct cluster *cl, const char *ns, const char *name)
{
    char n[254], m[254];
    if (!sim_find(cl, ns, name))
        return -1;
    snprintf(n, sizeof n, "%s", ns); /* the listener frees the sim these may point into */
    snprintf(m, sizeof m, "%s", name);
    return store_remove(cl->store, K(KIND_pods), n, m);
}
/* 1 when an owner reference still names a live object (same kind, name and uid). */
static int owner_alive(struct cluster *cl, const char *ns, const cJSON *ref)
{
    const struct kinds_info *ok = kinds_by_kind(json_str_or(ref, "kind", ""));
    if (!ok)
        return 1; /* an owner of a kind we do not serve: never collect on its account */
    const cJSON *owner =
        store_get(cl->store, ok, ok->namespaced ? ns : "", json_str_or(ref, "name", ""));
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(owner, "metadata");
    return owner && strcmp(json_str_or(meta, "uid", ""), json_str_or(ref, "uid", "")) == 0;
}

/* The garbage collector, as kube-controller-manager's does it for background propagation: an
 * object whose owner references all name objects that are gone is deleted. The runner relies on it
 * for the credentials secret, services and the PDB (runner-k8s-executor.md §2.4). Foreground
 * propagation is treated as background. It runs after every deletion, so it reads only the kinds
 * that hold objects with owners (cl->owned): a store full of pods and Events costs it nothing. */
static void collect_garbage(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster *cl = arg;
    for (size_t k = 0; k < KIND__COUNT; k++) {
        if (cl->owned[k] == 0)
            continue;
        size_t n;
        const cJSON **items = store_list(cl->store, &kinds_table[k], NULL, &n);
        char(*doomed)[2][254] = n ? calloc(n, sizeof *doomed) : NULL;
        size_t nd = 0;
        for (size_t i = 0; i < n && doomed; i++) {
            const cJSON *meta = cJSON_GetObjectItemCaseSensitive(items[i], "metadata");
            const cJSON *refs = cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences");
            if (cJSON_GetArraySize(refs) == 0)
                continue;
            int alive = 0;
            const cJSON *ref;
            cJSON_ArrayForEach(ref, refs) alive |=
                owner_alive(cl, store_obj_namespace(items[i]), ref);
            if (!alive) {
                snprintf(doomed[nd][0], sizeof doomed[0][0], "%s", store_obj_namespace(items[i]));
                snprintf(doomed[nd][1], sizeof doomed[0][1], "%s", store_obj_name(items[i]));
                nd++;
            }
        }
        free(items);
        for (size_t i = 0; i < nd; i++)
            store_remove(cl->store, &kinds_table[k], doomed[i][0], doomed[i][1]);
        free(doomed);
    }
}

/* 1 when obj names owners (a non-empty metadata.ownerReferences). */
static int has_owners(const cJSON *obj)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences")) > 0;
}

/* ---- Events kept: the oldest go past CLUSTER_MAX_EVENTS ---- */

static int evq_push(struct cluster *cl, const char *ns, const char *name)
{
    if (cl->evq_len == cl->evq_cap) {
        size_t cap = cl->evq_cap ? cl->evq_cap * 2 : 1024;
        char **q = malloc(cap * sizeof *q);
        if (!q)
            return -1;
        for (size_t i = 0; i < cl->evq_len; i++)
            q[i] = cl->evq[(cl->evq_head + i) % cl->evq_cap];
        free(cl->evq);
        cl->evq = q;
        cl->evq_cap = cap;
        cl->evq_head = 0;
    }
    size_t a = strlen(ns), b = strlen(name);
    char *key = malloc(a + b + 2);
    if (!key)
        return -1;
    memcpy(key, ns, a + 1);
    memcpy(key + a + 1, name, b + 1);
    cl->evq[(cl->evq_head + cl->evq_len++) % cl->evq_cap] = key;
    return 0;
}

static char *evq_pop(struct cluster *cl)
{
    char *key = cl->evq[cl->evq_head];
    cl->evq_head = (cl->evq_head + 1) % cl->evq_cap;
    cl->evq_len--;
    return key;
}

/* Forget the entries of Events that are gone (deleted with their namespace, or by a client), so
 * the queue stays near the store's count. */
static void evq_compact(struct cluster *cl)
{
    size_t n = cl->evq_len;
    for (size_t i = 0; i < n; i++) { /* one pass round the ring: each key out, the live ones back */
        char *key = evq_pop(cl);
        if (store_get(cl->store, K(KIND_events), key, key + strlen(key) + 1))
            cl->evq[(cl->evq_head + cl->evq_len++) % cl->evq_cap] = key;
        else
            free(key);
    }
}

/* Past CLUSTER_MAX_EVENTS the oldest Events are deleted (watchers see them DELETED, as when
 * kube-apiserver's event TTL expires them). Runs after the change that went past, never in it. */
static void trim_events(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster *cl = arg;
    while (cl->evq_len > 0 && store_count(cl->store, K(KIND_events)) > CLUSTER_MAX_EVENTS) {
        char *key = evq_pop(cl);
        store_remove(cl->store, K(KIND_events), key, key + strlen(key) + 1); /* -1: gone */
        free(key);
    }
    if (cl->evq_len > 2 * (size_t)CLUSTER_MAX_EVENTS)
        evq_compact(cl);
}

/* What every change means to the collector's counts and the Events kept. */
static void track_change(struct cluster *cl, enum store_event_type type, const struct kinds_info *k,
                         const cJSON *old, const cJSON *obj)
{
    int before = type != STORE_ADDED && has_owners(old);
    int after = type != STORE_DELETED && has_owners(obj);
    if (after && !before)
        cl->owned[k->id]++;
    else if (before && !after && cl->owned[k->id] > 0)
        cl->owned[k->id]--;
    if (k->id == KIND_events && type == STORE_ADDED) {
        evq_push(cl, store_obj_namespace(obj), store_obj_name(obj)); /* untracked when OOM */
        if (store_count(cl->store, k) > CLUSTER_MAX_EVENTS ||
            cl->evq_len > 2 * (size_t)CLUSTER_MAX_EVENTS)
            event_active(cl->ev_trim, EV_TIMEOUT, 0);
    }
}

static void on_store_change(void *arg, enum store_event_type type, const struct kinds_info *k,
                            const cJSON *old, const cJSON *obj)
{
    struct cluster *cl = arg;
    track_change(cl, type, k, old, obj);
    if (type == STORE_DELETED && k->id != KIND_events)
        event_active(cl->gc, EV_TIMEOUT, 0); /* after this change, never inside it */
    if (k->id != KIND_pods)
        return;
    const char *ns = store_obj_namespace(obj), *name = store_obj_name(obj);
    if (type == STORE_ADDED) {
        struct pod_sim *p = calloc(1, sizeof *p);
        if (!p)
            return;
        p->cl = cl;
        snprintf(p->ns, sizeof p->ns, "%s", ns);
        snprintf(p->name, sizeof p->name, "%s", name);
        snprintf(p->node, sizeof p->node, "%s", CLUSTER_NODE_NAME);
        p->ip_octet = 2 + (cl->next_ip++ % 250);
        if (!(p->timer = evtimer_new(cl->base, on_step_timer, p)) ||
            !(p->flush = evtimer_new(cl->base, on_flush, p))) {
            if (p->timer)
                event_free(p->timer);
            free(p);
            return;
        }
        p->next = cl->pods;
        if (cl->pods)
            cl->pods->prev = p;
        cl->pods = p;
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(spec, "nodeName");
        if (cJSON_IsString(node) && node->valuestring[0]) {
            snprintf(p->node, sizeof p->node, "%s", node->valuestring);
            p->state = SIM_SCHEDULED;
            arm_step(p, POD_STEP_START, cl->o.start_delay_ms);
        } else {
            arm_step(p, POD_STEP_SCHEDULE, cl->o.schedule_delay_ms);
        }
    } else if (type == STORE_DELETED) {
        struct pod_sim *p = sim_find(cl, ns, name);
        if (p)
            sim_free(p);
    }
}

/* ---- namespaces ---- */

static void sweep_namespaces(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster *cl = arg;
    size_t n;
    const cJSON **nss = store_list(cl->store, K(KIND_namespaces), NULL, &n);
    char(*doomed)[254] = n ? calloc(n, sizeof *doomed) : NULL;
    size_t nd = 0;
    for (size_t i = 0; i < n && doomed; i++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(nss[i], "metadata");
        if (cJSON_GetObjectItemCaseSensitive(m, "deletionTimestamp"))
            snprintf(doomed[nd++], sizeof doomed[0], "%s", store_obj_name(nss[i]));
    }
    free(nss);
    for (size_t d = 0; d < nd; d++) {
        for (size_t k = 0; k < KIND__COUNT; k++) {
            if (!kinds_table[k].namespaced)
                continue;
            size_t m;
            const cJSON **items = store_list(cl->store, &kinds_table[k], doomed[d], &m);
            char(*names)[254] = m ? calloc(m, sizeof *names) : NULL;
            for (size_t i = 0; i < m && names; i++)
                snprintf(names[i], sizeof names[0], "%s", store_obj_name(items[i]));
            free(items);
            for (size_t i = 0; i < m && names; i++)
                store_remove(cl->store, &kinds_table[k], doomed[d], names[i]);
            free(names);
        }
        store_remove(cl->store, K(KIND_namespaces), "", doomed[d]);
    }
    free(doomed);
}

void cluster_namespace_deleting(struct cluster *cl, const char *name)
{
    (void)name;
    int64_t ms = cl->o.terminate_delay_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(cl->ns_sweep, &tv);
}

/* ---- bootstrap ---- */

static int create_namespace(struct cluster *cl, const char *name)
{
    cJSON *ns = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(ns, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "labels"), "kubernetes.io/metadata.name",
                            name);
    cJSON *finalizers = cJSON_AddArrayToObject(cJSON_AddObjectToObject(ns, "spec"), "finalizers");
    cJSON_AddItemToArray(finalizers, cJSON_CreateString("kubernetes"));
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "status"), "phase", "Active");
    return store_create(cl->store, K(KIND_namespaces), "", ns, NULL);
}

static int create_default_sa(struct cluster *cl, const char *ns)
{
    cJSON *sa = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(sa, "metadata"), "name", "default");
    return store_create(cl->store, K(KIND_serviceaccounts), ns, sa, NULL);
}

/* A Ready node. The first is the control plane (kubefault's own); a Windows node reports what an
 * AKS or GKE Windows Server 2022 node does. */
static int create_node(struct cluster *cl, const char *name, const char *os)
{
    char ts[32], buf[64];
    int windows = strcmp(os, "windows") == 0;
    struct cnode *nodes = realloc(cl->nodes, (cl->nnodes + 1) * sizeof *nodes);
    if (!nodes)
        return -1;
    cl->nodes = nodes;
    struct cnode *n = &cl->nodes[cl->nnodes];
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->os, sizeof n->os, "%s", os);
    n->index = (unsigned)cl->nnodes;
    cJSON *node = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(node, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON *labels = cJSON_AddObjectToObject(m, "labels");
    cJSON_AddStringToObject(labels, "beta.kubernetes.io/arch", "amd64");
    cJSON_AddStringToObject(labels, "beta.kubernetes.io/os", os);
    cJSON_AddStringToObject(labels, "kubernetes.io/arch", "amd64");
    cJSON_AddStringToObject(labels, "kubernetes.io/hostname", name);
    cJSON_AddStringToObject(labels, "kubernetes.io/os", os);
    if (n->index == 0)
        cJSON_AddStringToObject(labels, "node-role.kubernetes.io/control-plane", "");
    if (windows)
        cJSON_AddStringToObject(labels, "node.kubernetes.io/windows-build", "10.0.20348");
    snprintf(buf, sizeof buf, "10.244.%u.0/24", n->index);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(node, "spec"), "podCIDR", buf);
    cJSON *st = cJSON_AddObjectToObject(node, "status");
    cJSON *cap = cJSON_AddObjectToObject(st, "capacity");
    cJSON_AddStringToObject(cap, "cpu", "2");
    cJSON_AddStringToObject(cap, "memory", "24Gi");
    cJSON_AddStringToObject(cap, "pods", "110");
    cJSON_AddItemToObject(st, "allocatable", cJSON_Duplicate(cap, 1));
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    cJSON *ready = cJSON_CreateObject();
    now_stamp(ts, sizeof ts);
    cJSON_AddStringToObject(ready, "type", "Ready");
    cJSON_AddStringToObject(ready, "status", "True");
    cJSON_AddStringToObject(ready, "lastHeartbeatTime", ts);
    cJSON_AddStringToObject(ready, "lastTransitionTime", ts);
    cJSON_AddStringToObject(ready, "reason", "KubeletReady");
    cJSON_AddStringToObject(ready, "message", "kubelet is posting ready status");
    cJSON_AddItemToArray(conds, ready);
    cJSON *addrs = cJSON_AddArrayToObject(st, "addresses");
    cJSON *a = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "10.0.0.%u", 10 + n->index);
    cJSON_AddStringToObject(a, "type", "InternalIP");
    cJSON_AddStringToObject(a, "address", buf);
    cJSON_AddItemToArray(addrs, a);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "type", "Hostname");
    cJSON_AddStringToObject(a, "address", name);
    cJSON_AddItemToArray(addrs, a);
    cJSON *info = cJSON_AddObjectToObject(st, "nodeInfo");
    cJSON_AddStringToObject(info, "kubeletVersion", cl->o.kubelet_version);
    cJSON_AddStringToObject(info, "containerRuntimeVersion", "containerd://1.7.0");
    cJSON_AddStringToObject(info, "operatingSystem", os);
    cJSON_AddStringToObject(info, "architecture", "amd64");
    cJSON_AddStringToObject(info, "osImage",
                            windows ? "Windows Server 2022 Datacenter" : "kubefault");
    if (windows)
        cJSON_AddStringToObject(info, "kernelVersion", "10.0.20348.2227");
    if (store_create(cl->store, K(KIND_nodes), "", node, NULL) < 0)
        return -1;
    cl->nnodes++;
    return 0;
}

int cluster_add_node(struct cluster *cl, const char *name, const char *os)
{
    if (node_find(cl, name) || store_get(cl->store, K(KIND_nodes), "", name))
        return -1;
    return create_node(cl, name, os);
}

int cluster_create_namespace(struct cluster *cl, const char *name)
{
    if (create_namespace(cl, name) < 0)
        return -1;
    return create_default_sa(cl, name);
}

int cluster_bootstrap(struct cluster *cl)
{
    static const char *const names[] = {"default", "kube-system", "kube-public", "kube-node-lease"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (create_namespace(cl, names[i]) < 0 || create_default_sa(cl, names[i]) < 0)
            return -1;
    return create_node(cl, CLUSTER_NODE_NAME, "linux");
}

struct event_base *cluster_event_base(const struct cluster *cl)
{
    return cl->base;
}

struct cluster *cluster_new(struct event_base *base, struct store *store, struct rng *rng,
                            const struct mockapi_hooks *hooks, const struct cluster_opts *opts)
{
    struct cluster *cl = calloc(1, sizeof *cl);
    if (!cl)
        return NULL;
    cl->base = base;
    cl->store = store;
    cl->rng = rng;
    cl->hooks = hooks;
    cl->o = *opts;
    if (!cl->o.kubelet_version)
        cl->o.kubelet_version = "v1.32.0";
    cl->listener = store_listen(store, on_store_change, cl);
    cl->ns_sweep = evtimer_new(base, sweep_namespaces, cl);
    cl->gc = evtimer_new(base, collect_garbage, cl);
    cl->ev_trim = evtimer_new(base, trim_events, cl);
    /* what the store held before we listened */
    for (size_t k = 0; k < KIND__COUNT; k++) {
        size_t n;
        const cJSON **items = store_list(store, &kinds_table[k], NULL, &n);
        for (size_t i = 0; i < n; i++)
            track_change(cl, STORE_ADDED, &kinds_table[k], NULL, items[i]);
        free(items);
    }
    cl->series_finish = event_new(base, -1, EV_PERSIST, on_series_finish, cl);
    cl->series_refresh = event_new(base, -1, EV_PERSIST, on_series_refresh, cl);
    struct timeval finish = {SERIES_FINISH_S, 0}, refresh = {SERIES_REFRESH_S, 0};
    if (!cl->listener || !cl->ns_sweep || !cl->gc || !cl->ev_trim || !cl->series_finish ||
        !cl->series_refresh || event_add(cl->series_finish, &finish) < 0 ||
        event_add(cl->series_refresh, &refresh) < 0) {
        cluster_free(cl);
        return NULL;
    }
    return cl;
}

void cluster_free(struct cluster *cl)
{
    if (!cl)
        return;
    store_unlisten(cl->store, cl->listener);
    if (cl->step_hook_ref)
        *cl->step_hook_ref = NULL;
    while (cl->pods)
        sim_free(cl->pods);
    if (cl->ns_sweep)
        event_free(cl->ns_sweep);
    if (cl->gc)
        event_free(cl->gc);
    if (cl->ev_trim)
        event_free(cl->ev_trim);
    while (cl->evq_len > 0)
        free(evq_pop(cl));
    free(cl->evq);
    if (cl->series_finish)
        event_free(cl->series_finish);
    if (cl->series_refresh)
        event_free(cl->series_refresh);
    while (cl->series) {
        struct series *s = cl->series;
        cl->series = s->next;
        free(s);
    }
    free(cl->nodes);
    free(cl);
}
