/* store.c -- the object store: one hash table per kind keyed "namespace/name", one resourceVersion
 * counter, a ring of recent events for watches that resume, and change listeners.
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
#include "mockapi/kube/kinds.h"

#define INITIAL_BUCKETS 64

struct sobj {
    int refs;
    cJSON *json;
};

struct entry {
    char *key; /* "namespace/name" */
    struct sobj *obj;
    struct entry *next;
};

struct table {
    struct entry **buckets;
    size_t nbuckets;
    size_t count;
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

static struct sobj *sobj_new(cJSON *json)
{
    struct sobj *o = malloc(sizeof *o);
    if (!o)
        return NULL;
    o->refs = 1;
    o->json = json;
    return o;
}

static void sobj_unref(struct sobj *o)
{
    if (o && --o->refs == 0) {
        cJSON_Delete(o->json);
        free(o);
    }
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static char *make_key(const char *ns, const char *name)
{
    size_t a = strlen(ns), b = strlen(name);
    char *k = malloc(a + b + 2);
    if (!k)
        return NULL;
    memcpy(k, ns, a);
    k[a] = '/';
    memcpy(k + a + 1, name, b + 1);
    return k;
}

static struct entry **find(const struct table *t, const char *key)
{
    if (!t->nbuckets)
        return NULL;
    struct entry **pp = &t->buckets[hash(key) & (t->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0)
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
            struct entry *next = e->next;
            size_t h = hash(e->key) & (n - 1);
            e->next = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
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
        for (size_t i = 0; i < t->nbuckets; i++) {
            struct entry *e = t->buckets[i];
            while (e) {
                struct entry *next = e->next;
                sobj_unref(e->obj);
                free(e->key);
                free(e);
                e = next;
            }
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
    char *key = make_key(k->namespaced ? ns : "", name);
    if (!key)
        return NULL;
    struct entry **pp = find(&s->tables[k->id], key);
    free(key);
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
    char *key = NULL;
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
    key = make_key(k->namespaced ? ns : "", store_obj_name(obj));
    if (!key || find(t, key))
        goto fail;
    char uid[40], ts[32];
    json_set(meta, "uid", cJSON_CreateString(rng_uuid(s->rng, uid, sizeof uid)));
    bump_rv(s, meta);
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp")))
        json_set(meta, "creationTimestamp",
                 cJSON_CreateString(clock_rfc3339(clock_wall_ns() / 1000000000, ts, sizeof ts)));
    if ((t->count + 1) > t->nbuckets && grow(t) < 0)
        goto fail;
    e = calloc(1, sizeof *e);
    so = sobj_new(obj);
    if (!e || !so)
        goto fail;
    obj = NULL;
    e->key = key;
    e->obj = so;
    size_t h = hash(key) & (t->nbuckets - 1);
    e->next = t->buckets[h];
    t->buckets[h] = e;
    t->count++;
    if (out)
        *out = so->json;
    record(s, STORE_ADDED, k, NULL, so);
    return 0;
fail:
    free(key);
    free(e);
    free(so);
    cJSON_Delete(obj);
    return -1;
}

int store_replace(struct store *s, const struct kinds_info *k, cJSON *obj, const cJSON **out)
{
    struct table *t = &s->tables[k->id];
    struct sobj *so = NULL;
    char *key = make_key(k->namespaced ? store_obj_namespace(obj) : "", store_obj_name(obj));
    struct entry **pp = key ? find(t, key) : NULL;
    free(key);
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
    char *key = make_key(k->namespaced ? ns : "", name);
    struct entry **pp = key ? find(t, key) : NULL;
    free(key);
    if (!pp)
        return -1;
    struct entry *e = *pp;
    *pp = e->next;
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
    free(e->key);
    free(e);
    return 0;
}

static int by_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    int c = strcmp(store_obj_namespace(x), store_obj_namespace(y));
    return c ? c : strcmp(store_obj_name(x), store_obj_name(y));
}

const cJSON **store_list(const struct store *s, const struct kinds_info *k, const char *ns,
                         size_t *n)
{
    const struct table *t = &s->tables[k->id];
    *n = 0;
    if (t->count == 0)
        return NULL;
    const cJSON **out = malloc(t->count * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (const struct entry *e = t->buckets[i]; e; e = e->next)
            if (!ns || !ns[0] || !k->namespaced ||
                strcmp(store_obj_namespace(e->obj->json), ns) == 0)
                out[(*n)++] = e->obj->json;
    if (*n == 0) {
        free(out);
        return NULL;
    }
    qsort(out, *n, sizeof *out, by_key);
    return out;
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
