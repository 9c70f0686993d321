/* store.c -- the object store: one hash table per kind keyed "namespace/name", threaded by a skip
 * list in (namespace, name) order, one resourceVersion counter, a ring of recent events for
 * watches that resume, and change listeners.
 *
 * Lists are sorted by namespace then name, and paged lists resume after a key: the skip list keeps
 * that order as objects come and go (O(log n) per change), so a list never sorts and a page seeks
 * to where it starts instead of walking the objects before it.
 *
 * Stored objects are immutable once inserted: a change replaces the object. Each is held by a
 * reference count shared between the table and the event ring, so history costs pointers, not
 * copies. */
#include "mockapi/kube/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/rng.h"
#include "mockapi/base/strmap.h"
#include "mockapi/kube/kinds.h"

#define INITIAL_BUCKETS 64
#define SKIP_LEVELS 16 /* the ordered list's levels: fast up to 4^16 objects of a kind */

struct sobj {
    int refs;
    cJSON *json;
    char *text; /* the JSON printed and a newline, once asked for (store_obj_text) */
    size_t len;
};

/* An object's place in its kind's table: a hash chain for lookups by key, and a skip list in
 * (namespace, name) order so lists and pages walk objects in order without sorting them. The key's
 * two strings follow the forward pointers in the same allocation. */
struct entry {
    struct entry *chain; /* the next in this hash bucket */
    struct sobj *obj;
    uint64_t hash;
    const char *ns, *name; /* "" namespace for cluster-scoped kinds */
    unsigned levels;       /* forward pointers in fwd[] */
    struct entry *fwd[];   /* fwd[0]: the next in order */
};

struct table {
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
    struct entry *head[SKIP_LEVELS]; /* the first entry at each level */
};

struct event {
    int64_t rv;
    enum store_event_type type;
    const struct kinds_info *kind;
    struct sobj *old; /* NULL for ADDED */
    struct sobj *obj;
};

struct listener {
    uint64_t handle;
    store_listener_cb cb;
    void *arg;
};

struct store {
    struct rng *rng;
    struct table tables[KIND__COUNT];
    int64_t rv;
    struct event *ring;
    size_t ring_cap, ring_head, ring_len; /* head: index of the oldest */
    int64_t compacted_rv;                 /* rv of the newest event dropped from the ring */
    struct listener *listeners;
    size_t nlisteners, listeners_cap;
    uint64_t next_handle;
};

/* Member names that stored objects carry over and over (a pod with its four events has some 200),
 * sorted as strcmp sorts them. */
/* clang-format off */
static const char *const common_keys[] = {
    "Port", "action", "add", "address", "addresses", "affinity", "allocatable",
    "allocatedResources", "allowPrivilegeEscalation", "allowed", "annotations", "apiGroup",
    "apiVersion", "architecture", "args", "automountServiceAccountToken",
    "beta.kubernetes.io/arch", "beta.kubernetes.io/os", "blockOwnerDeletion", "bootID",
    "capabilities", "capacity", "clusterIP", "clusterIPs", "command", "component", "conditions",
    "configMap", "containerID", "containerPort", "containerRuntimeVersion", "containerStatuses",
    "containers", "controller", "count", "cpu", "creationTimestamp", "currentHealthy",
    "daemonEndpoints", "data", "deletionGracePeriodSeconds", "deletionTimestamp",
    "deprecatedCount", "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedSource",
    "desiredHealthy", "disruptedPods", "disruptionsAllowed", "dnsConfig", "dnsPolicy", "drop",
    "effect", "emptyDir", "enableServiceLinks", "env", "ephemeral-storage", "ephemeralContainers",
    "eventTime", "exitCode", "expectedPods", "externalTrafficPolicy", "extra", "fieldPath",
    "finalizers", "finishedAt", "firstTimestamp", "fsGroup", "generateName", "generation",
    "groups", "host", "hostIP", "hostIPs", "hostNetwork", "hostPort", "hostname", "image",
    "imageID", "imagePullPolicy", "imagePullSecrets", "images", "immutable",
    "initContainerStatuses", "initContainers", "internalTrafficPolicy", "involvedObject", "ip",
    "ipFamilies", "ipFamilyPolicy", "kernelVersion", "key", "kind", "kubeProxyVersion",
    "kubeletEndpoint", "kubeletVersion", "kubernetes.io/arch", "kubernetes.io/hostname",
    "kubernetes.io/metadata.name", "kubernetes.io/os", "labels", "lastHeartbeatTime",
    "lastProbeTime", "lastState", "lastTimestamp", "lastTransitionTime", "lifecycle", "limits",
    "livenessProbe", "loadBalancer", "machineID", "matchLabels", "maxUnavailable", "memory",
    "message", "metadata", "minAvailable", "mountPath", "name", "names", "namespace", "nodeInfo",
    "nodeName", "nodePort", "nodeSelector", "nominatedNodeName", "note", "observedGeneration",
    "operatingSystem", "operator", "osImage", "ownerReferences", "phase", "podCIDR", "podCIDRs",
    "podIP", "podIPs", "pods", "port", "ports", "preemptionPolicy", "priority",
    "priorityClassName", "privileged", "protocol", "providerID", "qosClass", "readOnly",
    "readinessProbe", "ready", "reason", "regarding", "related", "reportingComponent",
    "reportingController", "reportingInstance", "requests", "resource", "resourceAttributes",
    "resourceVersion", "resources", "restartCount", "restartPolicy", "runAsGroup", "runAsNonRoot",
    "runAsUser", "running", "runtimeClassName", "schedulerName", "secret", "secretName", "secrets",
    "securityContext", "selector", "series", "serviceAccount", "serviceAccountName",
    "sessionAffinity", "sizeBytes", "source", "spec", "startTime", "started", "startedAt",
    "startupProbe", "state", "status", "stdin", "stdinOnce", "storage", "stringData", "subPath",
    "subdomain", "systemUUID", "taints", "targetPort", "targetRef", "terminated",
    "terminationGracePeriodSeconds", "terminationMessagePath", "terminationMessagePolicy",
    "timeAdded", "tolerationSeconds", "tolerations", "tty", "type", "uid", "unschedulable", "user",
    "value", "valueFrom", "verb", "volumeDevices", "volumeMounts", "volumes", "waiting",
    "workingDir",
};
/* clang-format on */

static int key_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

/* Make o's member names that are common keys point at the table's constant copy, freeing their
 * own: cJSON neither frees nor copies a name flagged cJSON_StringIsConst (cJSON_Duplicate shares
 * it), and each name saved is a 32-byte heap block, some 6 kB per pod with its events. */
static void intern_keys(cJSON *o)
{
    for (cJSON *c = o->child; c; c = c->next) {
        if (c->string && !(c->type & cJSON_StringIsConst)) {
            const char *const *k =
                bsearch(c->string, common_keys, sizeof common_keys / sizeof common_keys[0],
                        sizeof common_keys[0], key_cmp);
            if (k) {
                cJSON_free(c->string);
                c->string = (char *)*k;
                c->type |= cJSON_StringIsConst;
            }
        }
        if (c->child)
            intern_keys(c);
    }
}

static struct sobj *sobj_new(cJSON *json)
{
    struct sobj *o = malloc(sizeof *o);
    if (!o)
        return NULL;
    intern_keys(json); /* stored objects do not change: their names can be shared */
    o->refs = 1;
    o->json = json;
    o->text = NULL;
    o->len = 0;
    return o;
}

static void sobj_unref(struct sobj *o)
{
    if (o && --o->refs == 0) {
        cJSON_Delete(o->json);
        free(o->text);
        free(o);
    }
}

/* strmap's hash of "namespace/name" (FNV-1a, then MurmurHash3's finaliser): the low bits pick the
 * bucket, the high ones the entry's skip-list height */
static uint64_t hash(const char *ns, const char *name)
{
    return strmap_hash_end(
        strmap_hash_add(strmap_hash_add(strmap_hash_add(STRMAP_HASH_INIT, ns), "/"), name));
}

/* (namespace, name) order, as lists are sorted; name NULL stands after every name of ns */
static int entry_cmp(const struct entry *e, const char *ns, const char *name)
{
    int c = strcmp(e->ns, ns);
    if (c || !name)
        return c ? c : -1;
    return strcmp(e->name, name);
}

/* A new entry for obj under (ns, name) with its key copied in, not yet linked. Its height comes
 * from the hash (one more level with probability 1/4), so the list needs no random state and
 * the same objects always make the same list. */
static struct entry *entry_new(const char *ns, const char *name, uint64_t h, struct sobj *obj)
{
    unsigned levels = 1;
    for (uint64_t bits = h >> 32; levels < SKIP_LEVELS && (bits & 3) == 0; bits >>= 2)
        levels++;
    size_t a = strlen(ns) + 1, b = strlen(name) + 1;
    struct entry *e = malloc(sizeof *e + levels * sizeof e->fwd[0] + a + b);
    if (!e)
        return NULL;
    char *key = (char *)&e->fwd[levels];
    memcpy(key, ns, a);
    memcpy(key + a, name, b);
    e->chain = NULL;
    e->obj = obj;
    e->hash = h;
    e->ns = key;
    e->name = key + a;
    e->levels = levels;
    return e;
}

static struct entry **find(const struct table *t, const char *ns, const char *name)
{
    if (!t->nbuckets)
        return NULL;
    uint64_t h = hash(ns, name);
    struct entry **pp = &t->buckets[h & (t->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->chain)
        if ((*pp)->hash == h && strcmp((*pp)->name, name) == 0 && strcmp((*pp)->ns, ns) == 0)
            return pp;
    return NULL;
}

static int grow(struct table *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : INITIAL_BUCKETS;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct entry *e = t->buckets[i];
        while (e) {
            struct entry *next = e->chain;
            size_t h = e->hash & (n - 1);
            e->chain = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

/* The forward slots, one per level, that point at the first entry not before (ns, name): where an
 * entry for it is linked or unlinked. */
static void skip_seek(struct table *t, const char *ns, const char *name,
                      struct entry **slot[SKIP_LEVELS])
{
    struct entry **x = t->head;
    for (int i = SKIP_LEVELS - 1; i >= 0; i--) {
        while (x[i] && entry_cmp(x[i], ns, name) < 0)
            x = x[i]->fwd;
        slot[i] = &x[i];
    }
}

/* The first entry after (ns, name) in order, or not before it when inclusive */
static const struct entry *skip_first(const struct table *t, const char *ns, const char *name,
                                      int inclusive)
{
    struct entry *const *x = t->head;
    for (int i = SKIP_LEVELS - 1; i >= 0; i--) {
        while (x[i]) {
            int c = entry_cmp(x[i], ns, name);
            if (c > 0 || (c == 0 && inclusive))
                break;
            x = x[i]->fwd;
        }
    }
    return x[0];
}

static void skip_link(struct table *t, struct entry *e)
{
    struct entry **slot[SKIP_LEVELS];
    skip_seek(t, e->ns, e->name, slot);
    for (unsigned i = 0; i < e->levels; i++) {
        e->fwd[i] = *slot[i];
        *slot[i] = e;
    }
}

static void skip_unlink(struct table *t, struct entry *e)
{
    struct entry **slot[SKIP_LEVELS];
    skip_seek(t, e->ns, e->name, slot);
    for (unsigned i = 0; i < e->levels; i++)
        if (*slot[i] == e)
            *slot[i] = e->fwd[i];
}

struct store *store_new(struct rng *rng, size_t history_cap)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rng = rng;
    s->ring_cap = history_cap ? history_cap : STORE_DEFAULT_HISTORY;
    s->ring = calloc(s->ring_cap, sizeof *s->ring);
    if (!s->ring) {
        free(s);
        return NULL;
    }
    s->rv = 100; /* like a fresh cluster, never 0: "0" means "any" to clients */
    return s;
}

void store_free(struct store *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < KIND__COUNT; k++) {
        struct table *t = &s->tables[k];
        for (struct entry *e = t->head[0], *next; e; e = next) {
            next = e->fwd[0];
            sobj_unref(e->obj);
            free(e);
        }
        free(t->buckets);
    }
    for (size_t i = 0; i < s->ring_len; i++) {
        struct event *ev = &s->ring[(s->ring_head + i) % s->ring_cap];
        sobj_unref(ev->old);
        sobj_unref(ev->obj);
    }
    free(s->ring);
    free(s->listeners);
    free(s);
}

int64_t store_resource_version(const struct store *s)
{
    return s->rv;
}

int64_t store_oldest_resource_version(const struct store *s)
{
    return s->compacted_rv;
}

const char *store_obj_name(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "name");
    return cJSON_IsString(n) ? n->valuestring : "";
}

const char *store_obj_namespace(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "namespace");
    return cJSON_IsString(n) ? n->valuestring : "";
}

int64_t store_obj_rv(const cJSON *obj)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "resourceVersion");
    return cJSON_IsString(n) ? strtoll(n->valuestring, NULL, 10) : 0;
}

const cJSON *store_get(const struct store *s, const struct kinds_info *k, const char *ns,
                       const char *name)
{
    struct entry **pp = find(&s->tables[k->id], k->namespaced ? ns : "", name);
    return pp ? (*pp)->obj->json : NULL;
}

/* Put item first in obj's member list (cJSON's own insert is unreliable in Debian's 1.7.15). */
static void prepend(cJSON *obj, cJSON *item)
{
    cJSON *first = obj->child;
    item->next = first;
    if (first) {
        item->prev = first->prev; /* the list head's prev is the last member */
        first->prev = item;
    } else {
        item->prev = item;
    }
    obj->child = item;
}

/* kind and apiVersion first, as the apiserver writes them */
static void set_type_meta(cJSON *obj, const struct kinds_info *k)
{
    char av[64];
    kinds_api_version(k, av, sizeof av);
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "kind");
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "apiVersion");
    cJSON *kind = cJSON_CreateString(k->kind);
    cJSON *api = cJSON_CreateString(av);
    char *kname = strdup("kind"), *aname = strdup("apiVersion");
    if (!kind || !api || !kname || !aname) {
        cJSON_Delete(kind);
        cJSON_Delete(api);
        free(kname);
        free(aname);
        return;
    }
    kind->string = kname;
    api->string = aname;
    prepend(obj, api);
    prepend(obj, kind);
}

static void bump_rv(struct store *s, cJSON *meta)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)++s->rv);
    json_set(meta, "resourceVersion", cJSON_CreateString(buf));
}

static void record(struct store *s, enum store_event_type type, const struct kinds_info *k,
                   struct sobj *old, struct sobj *obj)
{
    if (s->ring_len == s->ring_cap) {
        struct event *oldest = &s->ring[s->ring_head];
        s->compacted_rv = oldest->rv;
        sobj_unref(oldest->old);
        sobj_unref(oldest->obj);
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
        s->ring_len--;
    }
    struct event *ev = &s->ring[(s->ring_head + s->ring_len) % s->ring_cap];
    ev->rv = s->rv;
    ev->type = type;
    ev->kind = k;
    ev->old = old;
    ev->obj = obj;
    if (old)
        old->refs++;
    obj->refs++;
    s->ring_len++;
    /* listeners may unlisten (and so shrink the array) while we iterate: walk by handle order */
    for (size_t i = 0; i < s->nlisteners; i++) {
        uint64_t h = s->listeners[i].handle;
        s->listeners[i].cb(s->listeners[i].arg, type, k, old ? old->json : NULL, obj->json);
        if (i < s->nlisteners && s->listeners[i].handle != h)
            i--; /* the current one removed itself */
    }
}

int store_create(struct store *s, const struct kinds_info *k, const char *ns, cJSON *obj,
                 const cJSON **out)
{
    struct table *t = &s->tables[k->id];
    struct entry *e = NULL;
    struct sobj *so = NULL;
    cJSON *meta = json_obj(obj, "metadata");
    if (!meta)
        goto fail;
    set_type_meta(obj, k);
    if (k->namespaced)
        json_set(meta, "namespace", cJSON_CreateString(ns));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
    const char *name = store_obj_name(obj);
    if (!k->namespaced)
        ns = "";
    if (find(t, ns, name))
        goto fail;
    char uid[40], ts[32];
    json_set(meta, "uid", cJSON_CreateString(rng_uuid(s->rng, uid, sizeof uid)));
    bump_rv(s, meta);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp")))
        json_set(meta, "creationTimestamp",
                 cJSON_CreateString(clock_rfc3339(clock_wall_ns() / 1000000000, ts, sizeof ts)));
    if ((t->count + 1) > t->nbuckets && grow(t) < 0)
        goto fail;
    so = sobj_new(obj);
    e = so ? entry_new(ns, name, hash(ns, name), so) : NULL;
    if (!e)
        goto fail;
    obj = NULL;
    struct entry **bucket = &t->buckets[e->hash & (t->nbuckets - 1)];
    e->chain = *bucket;
    *bucket = e;
    skip_link(t, e);
    t->count++;
    if (out)
        *out = so->json;
    record(s, STORE_ADDED, k, NULL, so);
    return 0;
fail:
    free(so);
    cJSON_Delete(obj);
    return -1;
}

int store_replace(struct store *s, const struct kinds_info *k, cJSON *obj, const cJSON **out)
{
    struct table *t = &s->tables[k->id];
    struct sobj *so = NULL;
    struct entry **pp = find(t, k->namespaced ? store_obj_namespace(obj) : "", store_obj_name(obj));
    if (!pp)
        goto fail;
    struct entry *e = *pp;
    cJSON *meta = json_obj(obj, "metadata");
    const cJSON *oldmeta = cJSON_GetObjectItemCaseSensitive(e->obj->json, "metadata");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(oldmeta, "uid");
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(oldmeta, "creationTimestamp");
    set_type_meta(obj, k);
    if (cJSON_IsString(uid))
        json_set(meta, "uid", cJSON_CreateString(uid->valuestring));
    if (cJSON_IsString(created))
        json_set(meta, "creationTimestamp", cJSON_CreateString(created->valuestring));
    bump_rv(s, meta);
    if (!(so = sobj_new(obj)))
        goto fail;
    obj = NULL;
    struct sobj *old = e->obj;
    e->obj = so;
    if (out)
        *out = so->json;
    record(s, STORE_MODIFIED, k, old, so);
    sobj_unref(old);
    return 0;
fail:
    cJSON_Delete(obj);
    return -1;
}

int store_remove(struct store *s, const struct kinds_info *k, const char *ns, const char *name)
{
    struct table *t = &s->tables[k->id];
    struct entry **pp = find(t, k->namespaced ? ns : "", name);
    if (!pp)
        return -1;
    struct entry *e = *pp;
    *pp = e->chain;
    skip_unlink(t, e);
    t->count--;
    /* The DELETED event carries the last state with the deletion's resourceVersion. */
    cJSON *last = cJSON_Duplicate(e->obj->json, 1);
    struct sobj *so = last ? sobj_new(last) : NULL;
    if (so) {
        bump_rv(s, json_obj(last, "metadata"));
        record(s, STORE_DELETED, k, e->obj, so);
        sobj_unref(so);
    } else {
        cJSON_Delete(last);
        s->rv++;
    }
    sobj_unref(e->obj);
    free(e);
    return 0;
}

/* How the continue key after ("namespace/name" of the last item sent) compares with the keys of
 * namespace ns's objects: < 0 when they all come before it, > 0 when they all come after it, 0 when
 * after starts with "ns/" (then the rest of after decides by name). */
static int block_cmp(const char *ns, const char *after)
{
    size_t n = strlen(ns);
    int c = strncmp(ns, after, n);
    return c ? c : '/' - (unsigned char)after[n];
}

void store_walk(const struct store *s, const struct kinds_info *k, const char *ns,
                const char *after, store_walk_cb cb, void *arg)
{
    const struct table *t = &s->tables[k->id];
    int one_ns = ns && ns[0] && k->namespaced;
    const struct entry *e = one_ns ? skip_first(t, ns, "", 1) : t->head[0];
    /* one namespace's objects at a time: of each, those whose key sorts after `after` are a tail
     * (the key's "ns/" prefix is shared), found with one seek */
    while (e && (!one_ns || strcmp(e->ns, ns) == 0)) {
        const char *bns = e->ns;
        if (after) {
            int c = block_cmp(bns, after);
            if (c < 0) {
                e = skip_first(t, bns, NULL, 1); /* the next namespace's first */
                continue;
            }
            if (c == 0)
                e = skip_first(t, bns, after + strlen(bns) + 1, 0);
        }
        for (; e && strcmp(e->ns, bns) == 0; e = e->fwd[0])
            if (cb(arg, e->obj->json))
                return;
    }
}

struct collect {
    const cJSON **out;
    size_t n;
};

static int on_collect(void *arg, const cJSON *obj)
{
    struct collect *c = arg;
    c->out[c->n++] = obj;
    return 0;
}

const cJSON **store_list(const struct store *s, const struct kinds_info *k, const char *ns,
                         size_t *n)
{
    const struct table *t = &s->tables[k->id];
    *n = 0;
    if (t->count == 0)
        return NULL;
    struct collect c = {malloc(t->count * sizeof *c.out), 0};
    if (!c.out)
        return NULL;
    store_walk(s, k, ns, NULL, on_collect, &c);
    if (c.n == 0) {
        free(c.out);
        return NULL;
    }
    *n = c.n;
    return c.out;
}

const char *store_obj_text(struct store *s, const struct kinds_info *k, const cJSON *obj,
                           size_t *len)
{
    struct entry **pp =
        find(&s->tables[k->id], k->namespaced ? store_obj_namespace(obj) : "", store_obj_name(obj));
    if (!pp || (*pp)->obj->json != obj)
        return NULL;
    struct sobj *so = (*pp)->obj;
    if (!so->text) {
        char *text = cJSON_PrintUnformatted(so->json);
        if (!text)
            return NULL;
        so->len = strlen(text);
        text[so->len++] = '\n'; /* replaces the NUL */
        so->text = text;
    }
    *len = so->len;
    return so->text;
}

size_t store_count(const struct store *s, const struct kinds_info *k)
{
    return s->tables[k->id].count;
}

int store_replay(const struct store *s, const struct kinds_info *k, int64_t since_rv,
                 store_replay_cb cb, void *arg)
{
    if (since_rv < s->compacted_rv)
        return -1;
    for (size_t i = 0; i < s->ring_len; i++) {
        const struct event *ev = &s->ring[(s->ring_head + i) % s->ring_cap];
        if (ev->rv > since_rv && ev->kind == k)
            cb(arg, ev->type, ev->old ? ev->old->json : NULL, ev->obj->json);
    }
    return 0;
}

uint64_t store_listen(struct store *s, store_listener_cb cb, void *arg)
{
    if (s->nlisteners == s->listeners_cap) {
        size_t cap = s->listeners_cap ? s->listeners_cap * 2 : 16;
        struct listener *l = realloc(s->listeners, cap * sizeof *l);
        if (!l)
            return 0;
        s->listeners = l;
        s->listeners_cap = cap;
    }
    s->listeners[s->nlisteners].handle = ++s->next_handle;
    s->listeners[s->nlisteners].cb = cb;
    s->listeners[s->nlisteners].arg = arg;
    s->nlisteners++;
    return s->next_handle;
}

void store_unlisten(struct store *s, uint64_t handle)
{
    for (size_t i = 0; i < s->nlisteners; i++)
        if (s->listeners[i].handle == handle) {
            memmove(&s->listeners[i], &s->listeners[i + 1],
                    (s->nlisteners - i - 1) * sizeof *s->listeners);
            s->nlisteners--;
            return;
        }
}
