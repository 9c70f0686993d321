/* cluster.c -- the one-node cluster: schedules and starts pods, finishes graceful deletion, records
 * kubelet-like events, keeps container output for pods/log, bootstraps namespaces and the node.
 *
 * The cluster reacts to store changes only through timers (never by writing to the store from
 * inside a store listener), so every lifecycle step is an event on the loop that a hook can delay
 * or hold. */
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

struct pod_sim {
    struct cluster *cl;
    char ns[254], name[254];
    enum sim_state state;
    enum hook_pod_step_kind next_step;
    int has_step; /* a step is pending (timer armed or held) */
    struct event *timer;
    struct clog *logs;
    unsigned ip_octet;
    struct pod_sim *prev, *next;
};

struct cluster {
    struct event_base *base;
    struct store *store;
    struct rng *rng;
    const struct mockapi_hooks *hooks;
    struct cluster_opts o;
    uint64_t listener;
    struct pod_sim *pods;
    uint64_t next_follow;
    unsigned next_ip;
    int64_t last_event_ns;  /* the newest event's name stamp */
    struct event *ns_sweep; /* deletes terminating namespaces' content */
    struct event *gc;       /* the garbage collector: runs after any deletion */
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
    if (p->prev)
        p->prev->next = p->next;
    else
        cl->pods = p->next;
    if (p->next)
        p->next->prev = p->prev;
    struct clog *logs = p->logs;
    p->logs = NULL;
    free(p);
    clog_free(logs); /* followers learn of the end last, when the sim is gone */
}

/* ---- helpers on JSON ---- */

static char *now_stamp(char *buf, size_t len)
{
    return clock_rfc3339(clock_wall_ns() / 1000000000, buf, len);
}

static void set_condition(cJSON *status, const char *type, const char *value, const char *reason,
                          const char *message)
{
    char ts[32];
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!cJSON_IsArray(conds)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
        conds = cJSON_AddArrayToObject(status, "conditions");
    }
    cJSON *c = NULL, *it;
    cJSON_ArrayForEach(it, conds) if (strcmp(json_str_or(it, "type", ""), type) == 0) c = it;
    if (!c) {
        c = cJSON_CreateObject();
        cJSON_AddItemToArray(conds, c);
        json_set(c, "type", cJSON_CreateString(type));
    }
    if (strcmp(json_str_or(c, "status", ""), value) != 0)
        json_set(c, "lastTransitionTime", cJSON_CreateString(now_stamp(ts, sizeof ts)));
    json_set(c, "lastProbeTime", cJSON_CreateNull());
    json_set(c, "status", cJSON_CreateString(value));
    if (reason)
        json_set(c, "reason", cJSON_CreateString(reason));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(c, "reason");
    if (message)
        json_set(c, "message", cJSON_CreateString(message));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(c, "message");
}

/* ---- events ---- */

int cluster_record_event(struct cluster *cl, const cJSON *obj, const char *type, const char *reason,
                         const char *message, const char *component, const char *field_path)
{
    char name[400], hex[20], ts[32], micro[40], av[64];
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = json_str_or(meta, "namespace", "");
    /* named as client-go's recorder names events: <object>.<hex of UnixNano>, so listing by
     * name is chronological; strictly increasing so two events never share a name */
    int64_t now = clock_wall_ns();
    cl->last_event_ns = now > cl->last_event_ns ? now : cl->last_event_ns + 1;
    snprintf(hex, sizeof hex, "%llx", (unsigned long long)cl->last_event_ns);
    snprintf(name, sizeof name, "%s.%s", json_str_or(meta, "name", ""), hex);
    cJSON *ev = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(ev, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON *io = cJSON_AddObjectToObject(ev, "involvedObject");
    cJSON_AddStringToObject(io, "kind", json_str_or(obj, "kind", ""));
    if (ns[0])
        cJSON_AddStringToObject(io, "namespace", ns);
    cJSON_AddStringToObject(io, "name", json_str_or(meta, "name", ""));
    cJSON_AddStringToObject(io, "uid", json_str_or(meta, "uid", ""));
    snprintf(av, sizeof av, "%s", json_str_or(obj, "apiVersion", ""));
    cJSON_AddStringToObject(io, "apiVersion", av);
    cJSON_AddStringToObject(io, "resourceVersion", json_str_or(meta, "resourceVersion", ""));
    if (field_path)
        cJSON_AddStringToObject(io, "fieldPath", field_path);
    cJSON_AddStringToObject(ev, "reason", reason);
    cJSON_AddStringToObject(ev, "message", message);
    cJSON *src = cJSON_AddObjectToObject(ev, "source");
    cJSON_AddStringToObject(src, "component", component);
    if (strcmp(component, "kubelet") == 0)
        cJSON_AddStringToObject(src, "host", CLUSTER_NODE_NAME);
    now_stamp(ts, sizeof ts);
    cJSON_AddStringToObject(ev, "firstTimestamp", ts);
    cJSON_AddStringToObject(ev, "lastTimestamp", ts);
    cJSON_AddNumberToObject(ev, "count", 1);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddItemToObject(ev, "eventTime", cJSON_CreateNull());
    cJSON_AddStringToObject(ev, "reportingComponent", component);
    cJSON_AddStringToObject(ev, "reportingInstance",
                            strcmp(component, "kubelet") == 0 ? CLUSTER_NODE_NAME : "");
    (void)micro;
    return store_create(cl->store, K(KIND_events), ns[0] ? ns : "default", ev, NULL);
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

/* ---- lifecycle ---- */

static void on_step_timer(evutil_socket_t fd, short what, void *arg);

static void arm_step(struct pod_sim *p, enum hook_pod_step_kind step, int64_t delay_ms)
{
    struct cluster *cl = p->cl;
    const cJSON *pod = store_get(cl->store, K(KIND_pods), p->ns, p->name);
    struct hook_pod_step hs = {step, p->ns, p->name, pod, delay_ms};
    p->next_step = step;
    p->has_step = 1;
    if (cl->hooks && cl->hooks->on_pod_step &&
        cl->hooks->on_pod_step(cl->hooks->arg, &hs) == HOOK_HOLD) {
        evtimer_del(p->timer);
        return;
    }
    if (hs.delay_ms < 0)
        hs.delay_ms = 0;
    struct timeval tv = {(time_t)(hs.delay_ms / 1000), (suseconds_t)((hs.delay_ms % 1000) * 1000)};
    evtimer_add(p->timer, &tv);
}

static void container_statuses(struct cluster *cl, cJSON *status, const cJSON *spec,
                               const char *list, const char *out_key, int phase)
{
    /* phase 0: waiting (ContainerCreating / PodInitializing); 1: init terminated, containers
     * running */
    char ts[32];
    cJSON *arr = cJSON_CreateArray();
    const cJSON *c;
    int init = strcmp(list, "initContainers") == 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, list))
    {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "name", json_str_or(c, "name", ""));
        cJSON *state = cJSON_AddObjectToObject(s, "state");
        if (phase == 0) {
            cJSON *w = cJSON_AddObjectToObject(state, "waiting");
            cJSON_AddStringToObject(w, "reason", init ? "PodInitializing" : "ContainerCreating");
            cJSON_AddObjectToObject(s, "lastState");
            cJSON_AddBoolToObject(s, "ready", 0);
            cJSON_AddNumberToObject(s, "restartCount", 0);
            cJSON_AddStringToObject(s, "image", json_str_or(c, "image", ""));
            cJSON_AddStringToObject(s, "imageID", "");
            cJSON_AddBoolToObject(s, "started", 0);
        } else {
            char cid[96], iid[128];
            snprintf(cid, sizeof cid, "containerd://%016llx%016llx",
                     (unsigned long long)rng_next(cl->rng), (unsigned long long)rng_next(cl->rng));
            snprintf(iid, sizeof iid, "docker.io/library/%s@sha256:%016llx",
                     json_str_or(c, "image", ""), (unsigned long long)rng_next(cl->rng));
            now_stamp(ts, sizeof ts);
            if (init) {
                cJSON *t = cJSON_AddObjectToObject(state, "terminated");
                cJSON_AddNumberToObject(t, "exitCode", 0);
                cJSON_AddStringToObject(t, "reason", "Completed");
                cJSON_AddStringToObject(t, "startedAt", ts);
                cJSON_AddStringToObject(t, "finishedAt", ts);
                cJSON_AddStringToObject(t, "containerID", cid);
            } else {
                cJSON_AddStringToObject(cJSON_AddObjectToObject(state, "running"), "startedAt", ts);
            }
            cJSON_AddObjectToObject(s, "lastState");
            cJSON_AddBoolToObject(s, "ready", !init || 1);
            cJSON_AddNumberToObject(s, "restartCount", 0);
            cJSON_AddStringToObject(s, "image", json_str_or(c, "image", ""));
            cJSON_AddStringToObject(s, "imageID", iid);
            cJSON_AddStringToObject(s, "containerID", cid);
            cJSON_AddBoolToObject(s, "started", !init);
        }
        cJSON_AddItemToArray(arr, s);
    }
    if (cJSON_GetArraySize(arr) > 0)
        json_set(status, out_key, arr);
    else
        cJSON_Delete(arr);
}

static void list_names(const cJSON *spec, const char *list, char *buf, size_t len)
{
    size_t n = 0;
    const cJSON *c;
    buf[0] = '\0';
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, list))
    {
        int w = snprintf(buf + n, len - n, "%s%s", n ? " " : "", json_str_or(c, "name", ""));
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
}

static void step_schedule(struct pod_sim *p, const cJSON *cur)
{
    struct cluster *cl = p->cl;
    char ts[32], names[512], msg[700];
    cJSON *pod = cJSON_Duplicate(cur, 1);
    cJSON *spec = json_obj(pod, "spec");
    cJSON *status = json_obj(pod, "status");
    json_set(spec, "nodeName", cJSON_CreateString(CLUSTER_NODE_NAME));
    json_set(status, "phase", cJSON_CreateString("Pending"));
    set_condition(status, "PodScheduled", "True", NULL, NULL);
    int has_init = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(spec, "initContainers")) > 0;
    if (has_init) {
        list_names(spec, "initContainers", names, sizeof names);
        snprintf(msg, sizeof msg, "containers with incomplete status: [%s]", names);
        set_condition(status, "Initialized", "False", "ContainersNotInitialized", msg);
    } else {
        set_condition(status, "Initialized", "True", NULL, NULL);
    }
    list_names(spec, "containers", names, sizeof names);
    snprintf(msg, sizeof msg, "containers with unready status: [%s]", names);
    set_condition(status, "Ready", "False", "ContainersNotReady", msg);
    set_condition(status, "ContainersReady", "False", "ContainersNotReady", msg);
    json_set(status, "hostIP", cJSON_CreateString("10.0.0.10"));
    json_set(status, "startTime", cJSON_CreateString(now_stamp(ts, sizeof ts)));
    container_statuses(cl, status, spec, "initContainers", "initContainerStatuses", 0);
    container_statuses(cl, status, spec, "containers", "containerStatuses", 0);
    json_set(status, "qosClass", cJSON_CreateString("BestEffort"));
    const cJSON *stored = NULL;
    if (store_replace(cl->store, K(KIND_pods), pod, &stored) < 0)
        return;
    snprintf(msg, sizeof msg, "Successfully assigned %s/%s to %s", p->ns, p->name,
             CLUSTER_NODE_NAME);
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

static void container_events(struct pod_sim *p, const cJSON *pod, const char *list)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
    const cJSON *c;
    char msg[600], path[300];
    int init = strcmp(list, "initContainers") == 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(spec, list))
    {
        const char *name = json_str_or(c, "name", "");
        snprintf(path, sizeof path, "spec.%s{%s}", list, name);
        snprintf(msg, sizeof msg, "Container image \"%s\" already present on machine",
                 json_str_or(c, "image", ""));
        cluster_record_event(p->cl, pod, "Normal", "Pulled", msg, "kubelet", path);
        snprintf(msg, sizeof msg, "Created container: %s", name);
        cluster_record_event(p->cl, pod, "Normal", "Created", msg, "kubelet", path);
        snprintf(msg, sizeof msg, "Started container %s", name);
        cluster_record_event(p->cl, pod, "Normal", "Started", msg, "kubelet", path);
        (void)init;
        default_output(p, c);
    }
}

static void step_start(struct pod_sim *p, const cJSON *cur)
{
    struct cluster *cl = p->cl;
    char ip[32];
    cJSON *pod = cJSON_Duplicate(cur, 1);
    cJSON *spec = json_obj(pod, "spec");
    cJSON *status = json_obj(pod, "status");
    json_set(status, "phase", cJSON_CreateString("Running"));
    set_condition(status, "PodReadyToStartContainers", "True", NULL, NULL);
    set_condition(status, "Initialized", "True", NULL, NULL);
    set_condition(status, "Ready", "True", NULL, NULL);
    set_condition(status, "ContainersReady", "True", NULL, NULL);
    set_condition(status, "PodScheduled", "True", NULL, NULL);
    snprintf(ip, sizeof ip, "10.244.0.%u", p->ip_octet);
    json_set(status, "podIP", cJSON_CreateString(ip));
    cJSON *ips = cJSON_CreateArray();
    cJSON *one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "ip", ip);
    cJSON_AddItemToArray(ips, one);
    json_set(status, "podIPs", ips);
    container_statuses(cl, status, spec, "initContainers", "initContainerStatuses", 1);
    container_statuses(cl, status, spec, "containers", "containerStatuses", 1);
    const cJSON *stored = NULL;
    if (store_replace(cl->store, K(KIND_pods), pod, &stored) < 0)
        return;
    p->state = SIM_RUNNING;
    p->has_step = 0;
    /* events after the change, so `kubectl describe` lists them with the running pod */
    cJSON *copy = cJSON_Duplicate(stored, 1);
    container_events(p, copy, "initContainers");
    container_events(p, copy, "containers");
    cJSON_Delete(copy);
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

void cluster_pod_deleting(struct cluster *cl, const char *ns, const char *name, int64_t grace_s)
{
    struct pod_sim *p = sim_find(cl, ns, name);
    if (!p)
        return;
    int64_t delay = cl->o.terminate_delay_ms;
    if (grace_s * 1000 < delay)
        delay = grace_s * 1000;
    p->state = SIM_TERMINATING;
    evtimer_del(p->timer);
    arm_step(p, POD_STEP_TERMINATE, delay);
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
 * propagation is treated as background. */
static void collect_garbage(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct cluster *cl = arg;
    for (size_t k = 0; k < KIND__COUNT; k++) {
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

static void on_store_change(void *arg, enum store_event_type type, const struct kinds_info *k,
                            const cJSON *old, const cJSON *obj)
{
    (void)old;
    struct cluster *cl = arg;
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
        p->ip_octet = 2 + (cl->next_ip++ % 250);
        if (!(p->timer = evtimer_new(cl->base, on_step_timer, p))) {
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

static int create_node(struct cluster *cl)
{
    char ts[32];
    cJSON *node = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(node, "metadata");
    cJSON_AddStringToObject(m, "name", CLUSTER_NODE_NAME);
    cJSON *labels = cJSON_AddObjectToObject(m, "labels");
    cJSON_AddStringToObject(labels, "kubernetes.io/hostname", CLUSTER_NODE_NAME);
    cJSON_AddStringToObject(labels, "kubernetes.io/os", "linux");
    cJSON_AddStringToObject(labels, "kubernetes.io/arch", "amd64");
    cJSON_AddStringToObject(labels, "node-role.kubernetes.io/control-plane", "");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(node, "spec"), "podCIDR", "10.244.0.0/24");
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
    cJSON_AddStringToObject(a, "type", "InternalIP");
    cJSON_AddStringToObject(a, "address", "10.0.0.10");
    cJSON_AddItemToArray(addrs, a);
    cJSON *info = cJSON_AddObjectToObject(st, "nodeInfo");
    cJSON_AddStringToObject(info, "kubeletVersion", cl->o.kubelet_version);
    cJSON_AddStringToObject(info, "containerRuntimeVersion", "containerd://1.7.0");
    cJSON_AddStringToObject(info, "operatingSystem", "linux");
    cJSON_AddStringToObject(info, "architecture", "amd64");
    cJSON_AddStringToObject(info, "osImage", "kubefault");
    return store_create(cl->store, K(KIND_nodes), "", node, NULL);
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
    return create_node(cl);
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
    if (!cl->listener || !cl->ns_sweep || !cl->gc) {
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
    while (cl->pods)
        sim_free(cl->pods);
    if (cl->ns_sweep)
        event_free(cl->ns_sweep);
    if (cl->gc)
        event_free(cl->gc);
    free(cl);
}
