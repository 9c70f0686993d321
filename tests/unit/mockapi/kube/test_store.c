/* test_store.c -- the object store: create/get/replace/remove, the resourceVersion counter, sorted
 * lists, walks after a continue key (against a sorted reference), the bounded event history
 * (store_replay's -1 with a tiny history), listeners */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mockapi/base/rng.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/store.h"

#define PODS (&kinds_table[KIND_pods])
#define CMS (&kinds_table[KIND_configmaps])
#define NODES (&kinds_table[KIND_nodes])

struct fixture {
    struct rng rng;
    struct store *s;
};

static int setup_default(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    rng_init(&f->rng, 7);
    f->s = store_new(&f->rng, 0);
    *state = f;
    return f->s ? 0 : -1;
}

static int setup_tiny(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    rng_init(&f->rng, 7);
    f->s = store_new(&f->rng, 3); /* three events of history */
    *state = f;
    return f->s ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_free(f->s);
    free(f);
    return 0;
}

static cJSON *obj(const char *name, const char *json_tail)
{
    char text[512];
    snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"%s\"}%s%s}", name, json_tail ? "," : "",
             json_tail ? json_tail : "");
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    return o;
}

static const char *meta_str(const cJSON *o, const char *key)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_create_and_get(void **state)
{
    struct fixture *f = *state;
    const cJSON *out = NULL;
    assert_int_equal(store_resource_version(f->s), 100);
    assert_int_equal(store_create(f->s, PODS, "default", obj("p1", NULL), &out), 0);
    assert_non_null(out);
    /* kind and apiVersion come first, as the apiserver writes them */
    assert_string_equal(out->child->string, "kind");
    assert_string_equal(out->child->valuestring, "Pod");
    assert_string_equal(out->child->next->string, "apiVersion");
    assert_string_equal(out->child->next->valuestring, "v1");
    assert_string_equal(meta_str(out, "namespace"), "default");
    assert_int_equal(strlen(meta_str(out, "uid")), 36);
    assert_string_equal(meta_str(out, "resourceVersion"), "101");
    assert_non_null(meta_str(out, "creationTimestamp"));
    assert_int_equal(store_obj_rv(out), 101);
    assert_int_equal(store_resource_version(f->s), 101);
    assert_ptr_equal(store_get(f->s, PODS, "default", "p1"), out);
    assert_null(store_get(f->s, PODS, "other", "p1"));
    assert_null(store_get(f->s, CMS, "default", "p1"));
    assert_string_equal(store_obj_name(out), "p1");
    assert_string_equal(store_obj_namespace(out), "default");
    /* a name that exists: -1, and the object is freed (the sanitizer build checks) */
    assert_int_equal(store_create(f->s, PODS, "default", obj("p1", NULL), NULL), -1);
    assert_int_equal(store_resource_version(f->s), 101);
    /* the same name in another namespace is another object */
    assert_int_equal(store_create(f->s, PODS, "other", obj("p1", NULL), NULL), 0);
    assert_int_equal(store_count(f->s, PODS), 2);
}

static void test_cluster_scoped(void **state)
{
    struct fixture *f = *state;
    const cJSON *out = NULL;
    cJSON *n = obj("n1", NULL);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(n, "metadata"), "namespace", "x");
    assert_int_equal(store_create(f->s, NODES, "ignored", n, &out), 0);
    assert_null(meta_str(out, "namespace"));
    assert_ptr_equal(store_get(f->s, NODES, "", "n1"), out);
    assert_ptr_equal(store_get(f->s, NODES, "anything", "n1"), out);
}

static void test_client_fields_overwritten(void **state)
{
    struct fixture *f = *state;
    const cJSON *out = NULL;
    cJSON *o = cJSON_Parse("{\"kind\":\"Wrong\",\"apiVersion\":\"x/v9\",\"metadata\":{\"name\":"
                           "\"c\",\"uid\":\"mine\",\"resourceVersion\":\"5\"}}");
    assert_int_equal(store_create(f->s, CMS, "default", o, &out), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(out, "kind")->valuestring, "ConfigMap");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(out, "apiVersion")->valuestring, "v1");
    assert_string_not_equal(meta_str(out, "uid"), "mine");
    assert_string_equal(meta_str(out, "resourceVersion"), "101");
    /* metadata that is not an object is replaced */
    o = cJSON_Parse("{\"metadata\":7}");
    assert_int_equal(store_create(f->s, CMS, "default", o, &out), 0);
    assert_string_equal(store_obj_name(out), "");
}

static void test_replace(void **state)
{
    struct fixture *f = *state;
    const cJSON *out = NULL;
    assert_int_equal(store_create(f->s, CMS, "default", obj("c", "\"data\":{\"a\":\"1\"}"), &out),
                     0);
    char uid[64], created[64];
    snprintf(uid, sizeof uid, "%s", meta_str(out, "uid"));
    snprintf(created, sizeof created, "%s", meta_str(out, "creationTimestamp"));
    cJSON *next = obj("c", "\"data\":{\"a\":\"2\"}");
    cJSON *m = cJSON_GetObjectItemCaseSensitive(next, "metadata");
    cJSON_AddStringToObject(m, "namespace", "default");
    cJSON_AddStringToObject(m, "uid", "forged");
    cJSON_AddStringToObject(m, "creationTimestamp", "2001-01-01T00:00:00Z");
    assert_int_equal(store_replace(f->s, CMS, next, &out), 0);
    assert_string_equal(meta_str(out, "uid"), uid);
    assert_string_equal(meta_str(out, "creationTimestamp"), created);
    assert_string_equal(meta_str(out, "resourceVersion"), "102");
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(out, "data"), "a")
            ->valuestring,
        "2");
    assert_ptr_equal(store_get(f->s, CMS, "default", "c"), out);
    /* no such object: -1 and the object is freed */
    cJSON *ghost = obj("ghost", NULL);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ghost, "metadata"), "namespace",
                            "default");
    assert_int_equal(store_replace(f->s, CMS, ghost, NULL), -1);
    assert_int_equal(store_resource_version(f->s), 102);
}

static void test_remove(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_create(f->s, CMS, "default", obj("c", NULL), NULL), 0);
    assert_int_equal(store_remove(f->s, CMS, "default", "c"), 0);
    assert_null(store_get(f->s, CMS, "default", "c"));
    assert_int_equal(store_count(f->s, CMS), 0);
    assert_int_equal(store_resource_version(f->s), 102);
    assert_int_equal(store_remove(f->s, CMS, "default", "c"), -1);
    assert_int_equal(store_remove(f->s, CMS, "default", "never"), -1);
    /* the name is free again */
    assert_int_equal(store_create(f->s, CMS, "default", obj("c", NULL), NULL), 0);
}

static void test_list_sorted(void **state)
{
    struct fixture *f = *state;
    size_t n = 99;
    assert_null(store_list(f->s, CMS, "", &n));
    assert_int_equal(n, 0);
    const char *order[][2] = {{"b", "z"}, {"a", "y"}, {"b", "a"}, {"a", "b"}, {"c", "a"}};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(store_create(f->s, CMS, order[i][0], obj(order[i][1], NULL), NULL), 0);
    const cJSON **all = store_list(f->s, CMS, "", &n);
    assert_int_equal(n, 5);
    const char *want[][2] = {{"a", "b"}, {"a", "y"}, {"b", "a"}, {"b", "z"}, {"c", "a"}};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(store_obj_namespace(all[i]), want[i][0]);
        assert_string_equal(store_obj_name(all[i]), want[i][1]);
    }
    free(all);
    const cJSON **in_b = store_list(f->s, CMS, "b", &n);
    assert_int_equal(n, 2);
    assert_string_equal(store_obj_name(in_b[0]), "a");
    assert_string_equal(store_obj_name(in_b[1]), "z");
    free(in_b);
    assert_null(store_list(f->s, CMS, "none", &n));
    assert_int_equal(n, 0);
    /* NULL namespace lists all */
    all = store_list(f->s, CMS, NULL, &n);
    assert_int_equal(n, 5);
    free(all);
}

static void test_many_objects(void **state)
{
    /* enough to grow the hash table several times */
    struct fixture *f = *state;
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "cm-%04d", i);
        assert_int_equal(store_create(f->s, CMS, "default", obj(name, NULL), NULL), 0);
    }
    assert_int_equal(store_count(f->s, CMS), 3000);
    for (int i = 0; i < 3000; i += 7) {
        snprintf(name, sizeof name, "cm-%04d", i);
        assert_non_null(store_get(f->s, CMS, "default", name));
    }
    for (int i = 0; i < 3000; i += 2) {
        snprintf(name, sizeof name, "cm-%04d", i);
        assert_int_equal(store_remove(f->s, CMS, "default", name), 0);
    }
    size_t n;
    const cJSON **all = store_list(f->s, CMS, "default", &n);
    assert_int_equal(n, 1500);
    assert_string_equal(store_obj_name(all[0]), "cm-0001");
    assert_string_equal(store_obj_name(all[1499]), "cm-2999");
    free(all);
}

/* The printed text of the current version, kept until it changes. */
static void test_obj_text(void **state)
{
    struct fixture *f = *state;
    const cJSON *v1, *v2;
    size_t len, len2;
    assert_int_equal(store_create(f->s, CMS, "default", obj("c", "\"data\":{\"a\":\"1\"}"), &v1),
                     0);
    const char *text = store_obj_text(f->s, CMS, v1, &len);
    assert_non_null(text);
    char *want = cJSON_PrintUnformatted(v1);
    assert_non_null(want);
    assert_int_equal(len, strlen(want) + 1);
    assert_memory_equal(text, want, len - 1);
    assert_int_equal(text[len - 1], '\n');
    free(want);
    assert_ptr_equal(store_obj_text(f->s, CMS, v1, &len2), text); /* printed once */
    assert_int_equal(len2, len);
    /* a copy, another kind, a replaced version: not the stored object, no text */
    cJSON *copy = cJSON_Duplicate(v1, 1);
    assert_null(store_obj_text(f->s, CMS, copy, &len2));
    assert_null(store_obj_text(f->s, PODS, v1, &len2));
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "data");
    assert_int_equal(store_replace(f->s, CMS, copy, &v2), 0);
    assert_null(store_obj_text(f->s, CMS, v1, &len2));
    text = store_obj_text(f->s, CMS, v2, &len2);
    assert_non_null(text);
    want = cJSON_PrintUnformatted(v2);
    assert_int_equal(len2, strlen(want) + 1);
    assert_memory_equal(text, want, len2 - 1);
    free(want);
    assert_int_equal(store_remove(f->s, CMS, "default", "c"), 0);
}

/* Stored objects share their common member names (store.c interns them): copies made from them
 * still print, change and free as any cJSON, also after the store is gone (the sanitizer build
 * catches a name freed twice or read after a free). */
static void test_copies_of_stored_objects(void **state)
{
    struct fixture *f = *state;
    const cJSON *stored;
    assert_int_equal(store_create(f->s, PODS, "default",
                                  obj("p", "\"spec\":{\"containers\":[{\"name\":\"c\","
                                           "\"image\":\"busybox\"}]},\"custom\":{\"kind\":1}"),
                                  &stored),
                     0);
    char *before = cJSON_PrintUnformatted(stored);
    cJSON *copy = cJSON_Duplicate(stored, 1);
    assert_non_null(before);
    assert_non_null(copy);
    assert_int_equal(store_remove(f->s, PODS, "default", "p"), 0);
    store_free(f->s);
    f->s = NULL;
    char *after = cJSON_PrintUnformatted(copy);
    assert_string_equal(after, before);
    free(after);
    free(before);
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(copy, "spec");
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(spec, "containers", cJSON_CreateArray()));
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "metadata");
    cJSON *custom = cJSON_DetachItemFromObjectCaseSensitive(copy, "custom");
    assert_true(cJSON_AddItemToObject(copy, "renamed", custom));
    after = cJSON_PrintUnformatted(copy);
    assert_string_equal(after,
                        "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"spec\":{\"containers\":[]},"
                        "\"renamed\":{\"kind\":1}}");
    free(after);
    cJSON_Delete(copy);
}

/* ---- walks after a continue key, against a reference sorted here ---- */

struct key {
    char ns[16], name[16];
};

static int key_cmp(const void *a, const void *b)
{
    const struct key *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

struct walked {
    struct key got[64];
    size_t n, stop_at; /* stop_at 0: never */
};

static int on_walk(void *arg, const cJSON *o)
{
    struct walked *w = arg;
    assert_true(w->n < 64);
    snprintf(w->got[w->n].ns, sizeof w->got[0].ns, "%s", store_obj_namespace(o));
    snprintf(w->got[w->n].name, sizeof w->got[0].name, "%s", store_obj_name(o));
    w->n++;
    return w->stop_at && w->n == w->stop_at;
}

/* Walk ns (NULL: all) after `after` and compare with the reference: the keys of ref (sorted) in
 * namespace ns whose "ns/name" compares greater than after, as a paged list always skipped. */
static void assert_walk(struct store *s, const struct key *ref, size_t nref, const char *ns,
                        const char *after)
{
    struct walked w = {.n = 0};
    store_walk(s, CMS, ns, after, on_walk, &w);
    size_t j = 0;
    for (size_t i = 0; i < nref; i++) {
        char key[40];
        snprintf(key, sizeof key, "%.15s/%.15s", ref[i].ns, ref[i].name);
        if ((ns && strcmp(ref[i].ns, ns) != 0) || (after && strcmp(key, after) <= 0))
            continue;
        assert_true(j < w.n);
        assert_string_equal(w.got[j].ns, ref[i].ns);
        assert_string_equal(w.got[j].name, ref[i].name);
        j++;
    }
    assert_int_equal(w.n, j);
}

static void test_walk_after_key(void **state)
{
    struct fixture *f = *state;
    /* "a-b/..." sorts before "a/..." as a key but after it as a namespace: a continue key's
     * comparison must skip exactly what comparing whole keys would */
    const char *nss[] = {"b", "a-b", "a", "ab", "a.b"};
    const char *names[] = {"y", "x-y", "x", "xy", "x.y", "x0"};
    struct key ref[30];
    size_t nref = 0;
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 6; j++) {
            if ((i + j) % 7 == 3)
                continue; /* some holes */
            assert_int_equal(store_create(f->s, CMS, nss[i], obj(names[j], NULL), NULL), 0);
            snprintf(ref[nref].ns, sizeof ref[0].ns, "%s", nss[i]);
            snprintf(ref[nref].name, sizeof ref[0].name, "%s", names[j]);
            nref++;
        }
    qsort(ref, nref, sizeof ref[0], key_cmp);
    const char *afters[] = {NULL,   "",      "a",   "a/",  "a-",  "a-b", "a/x-", "a/x", "a/x/",
                            "a/zz", "a.b/x", "ab/", "b/y", "b/z", "c",   "/",    "0",   "a-b/x.y"};
    for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
        assert_walk(f->s, ref, nref, NULL, afters[i]);
        assert_walk(f->s, ref, nref, "a", afters[i]);
        assert_walk(f->s, ref, nref, "a-b", afters[i]);
        assert_walk(f->s, ref, nref, "none", afters[i]);
    }
    for (size_t i = 0; i < nref; i++) { /* every key a page could have ended on */
        char key[40];
        snprintf(key, sizeof key, "%.15s/%.15s", ref[i].ns, ref[i].name);
        assert_walk(f->s, ref, nref, NULL, key);
        assert_walk(f->s, ref, nref, ref[i].ns, key);
    }
    /* the callback stops the walk */
    struct walked w = {.n = 0, .stop_at = 3};
    store_walk(f->s, CMS, NULL, "a/x", on_walk, &w);
    assert_int_equal(w.n, 3);
}

/* Objects created and removed in a seeded random order across namespaces: the list stays in
 * (namespace, name) order and holds exactly what is there. */
static void test_order_under_churn(void **state)
{
    struct fixture *f = *state;
    static int present[4][500];
    const char *nss[] = {"kube-system", "default", "a", "z-z"};
    struct rng r;
    rng_init(&r, 11);
    size_t count = 0;
    for (int step = 0; step < 6000; step++) {
        size_t ns = (size_t)rng_below(&r, 4), i = (size_t)rng_below(&r, 500);
        char name[16];
        snprintf(name, sizeof name, "o-%zu", i);
        if (present[ns][i]) {
            assert_int_equal(store_remove(f->s, CMS, nss[ns], name), 0);
            count--;
        } else {
            assert_int_equal(store_create(f->s, CMS, nss[ns], obj(name, NULL), NULL), 0);
            count++;
        }
        present[ns][i] ^= 1;
    }
    size_t n;
    const cJSON **all = store_list(f->s, CMS, NULL, &n);
    assert_int_equal(n, count);
    assert_int_equal(store_count(f->s, CMS), count);
    for (size_t i = 1; i < n; i++) {
        int c = strcmp(store_obj_namespace(all[i - 1]), store_obj_namespace(all[i]));
        assert_true(c < 0 ||
                    (c == 0 && strcmp(store_obj_name(all[i - 1]), store_obj_name(all[i])) < 0));
    }
    for (size_t i = 0; i < n; i++) {
        const char *ns = store_obj_namespace(all[i]);
        size_t k = 0;
        while (k < 4 && strcmp(nss[k], ns) != 0)
            k++;
        assert_true(k < 4);
        assert_true(present[k][strtoul(store_obj_name(all[i]) + 2, NULL, 10)]);
    }
    free(all);
}

struct seen {
    int n;
    enum store_event_type type[16];
    int64_t rv[16];
    char name[16][32];
    int had_old[16];
};

static void on_replay(void *arg, enum store_event_type type, const cJSON *old, const cJSON *o)
{
    struct seen *s = arg;
    if (s->n < 16) {
        s->type[s->n] = type;
        s->rv[s->n] = store_obj_rv(o);
        snprintf(s->name[s->n], sizeof s->name[0], "%s", store_obj_name(o));
        s->had_old[s->n] = old != NULL;
    }
    s->n++;
}

static void test_replay_history(void **state)
{
    struct fixture *f = *state; /* default history */
    assert_int_equal(store_oldest_resource_version(f->s), 0);
    assert_int_equal(store_create(f->s, CMS, "default", obj("a", NULL), NULL), 0);  /* 101 */
    assert_int_equal(store_create(f->s, PODS, "default", obj("p", NULL), NULL), 0); /* 102 */
    cJSON *next = obj("a", "\"data\":{\"k\":\"v\"}");
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(next, "metadata"), "namespace",
                            "default");
    assert_int_equal(store_replace(f->s, CMS, next, NULL), 0);    /* 103 */
    assert_int_equal(store_remove(f->s, CMS, "default", "a"), 0); /* 104 */
    struct seen s = {0};
    assert_int_equal(store_replay(f->s, CMS, 0, on_replay, &s), 0);
    assert_int_equal(s.n, 3); /* configmaps only */
    assert_int_equal(s.type[0], STORE_ADDED);
    assert_int_equal(s.rv[0], 101);
    assert_false(s.had_old[0]);
    assert_int_equal(s.type[1], STORE_MODIFIED);
    assert_int_equal(s.rv[1], 103);
    assert_true(s.had_old[1]);
    assert_int_equal(s.type[2], STORE_DELETED);
    assert_int_equal(s.rv[2], 104); /* the deletion's resourceVersion */
    assert_true(s.had_old[2]);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_replay(f->s, CMS, 103, on_replay, &s), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.type[0], STORE_DELETED);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_replay(f->s, CMS, 104, on_replay, &s), 0);
    assert_int_equal(s.n, 0);
}

static void test_replay_expired(void **state)
{
    struct fixture *f = *state; /* history of 3 */
    char name[8];
    for (int i = 0; i < 5; i++) { /* rv 101..105; 101 and 102 fall out */
        snprintf(name, sizeof name, "c%d", i);
        assert_int_equal(store_create(f->s, CMS, "default", obj(name, NULL), NULL), 0);
    }
    assert_int_equal(store_resource_version(f->s), 105);
    /* the oldest resourceVersion a watch can resume from: events after it are all kept */
    assert_int_equal(store_oldest_resource_version(f->s), 102);
    struct seen s = {0};
    assert_int_equal(store_replay(f->s, CMS, 102, on_replay, &s), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.name[0], "c2");
    assert_string_equal(s.name[2], "c4");
    memset(&s, 0, sizeof s);
    assert_int_equal(store_replay(f->s, CMS, 101, on_replay, &s), -1);
    assert_int_equal(s.n, 0);
    assert_int_equal(store_replay(f->s, CMS, 0, on_replay, &s), -1);
    memset(&s, 0, sizeof s);
    assert_int_equal(store_replay(f->s, CMS, 105, on_replay, &s), 0);
    assert_int_equal(s.n, 0);
    /* history is shared by all kinds: a pod event pushes configmap events out too */
    assert_int_equal(store_create(f->s, PODS, "default", obj("p", NULL), NULL), 0);
    assert_int_equal(store_oldest_resource_version(f->s), 103);
    assert_int_equal(store_replay(f->s, CMS, 102, on_replay, &s), -1);
}

/* ---- listeners ---- */

struct listener_ctx {
    struct store *s;
    uint64_t handle;
    uint64_t remove_other; /* a handle to unlisten when called */
    int remove_self;
    int calls;
    enum store_event_type last;
    int had_old;
    char name[32];
};

static void on_change(void *arg, enum store_event_type type, const struct kinds_info *k,
                      const cJSON *old, const cJSON *o)
{
    (void)k;
    struct listener_ctx *c = arg;
    c->calls++;
    c->last = type;
    c->had_old = old != NULL;
    snprintf(c->name, sizeof c->name, "%s", store_obj_name(o));
    if (c->remove_self) {
        c->remove_self = 0;
        store_unlisten(c->s, c->handle);
    }
    if (c->remove_other) {
        store_unlisten(c->s, c->remove_other);
        c->remove_other = 0;
    }
}

static void test_listeners(void **state)
{
    struct fixture *f = *state;
    struct listener_ctx a = {f->s, 0, 0, 0, 0, 0, 0, ""};
    a.handle = store_listen(f->s, on_change, &a);
    assert_true(a.handle > 0);
    assert_int_equal(store_create(f->s, CMS, "default", obj("c", NULL), NULL), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.last, STORE_ADDED);
    assert_false(a.had_old);
    assert_string_equal(a.name, "c");
    cJSON *next = obj("c", NULL);
    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(next, "metadata"), "namespace",
                            "default");
    assert_int_equal(store_replace(f->s, CMS, next, NULL), 0);
    assert_int_equal(a.last, STORE_MODIFIED);
    assert_true(a.had_old);
    assert_int_equal(store_remove(f->s, CMS, "default", "c"), 0);
    assert_int_equal(a.last, STORE_DELETED);
    assert_true(a.had_old);
    assert_int_equal(a.calls, 3);
    /* failures notify nobody */
    assert_int_equal(store_remove(f->s, CMS, "default", "c"), -1);
    assert_int_equal(a.calls, 3);
    store_unlisten(f->s, a.handle);
    assert_int_equal(store_create(f->s, CMS, "default", obj("d", NULL), NULL), 0);
    assert_int_equal(a.calls, 3);
    store_unlisten(f->s, 12345); /* unknown handle: no-op */
}

static void test_listener_removes_itself(void **state)
{
    /* a watch that ends while it is told of a change must not make the store skip the next */
    struct fixture *f = *state;
    struct listener_ctx l[3];
    memset(l, 0, sizeof l);
    for (int i = 0; i < 3; i++) {
        l[i].s = f->s;
        l[i].handle = store_listen(f->s, on_change, &l[i]);
    }
    l[0].remove_self = 1;
    assert_int_equal(store_create(f->s, CMS, "default", obj("a", NULL), NULL), 0);
    assert_int_equal(l[0].calls, 1);
    assert_int_equal(l[1].calls, 1);
    assert_int_equal(l[2].calls, 1);
    assert_int_equal(store_create(f->s, CMS, "default", obj("b", NULL), NULL), 0);
    assert_int_equal(l[0].calls, 1);
    assert_int_equal(l[1].calls, 2);
    assert_int_equal(l[2].calls, 2);
    /* the middle one goes too */
    l[1].remove_self = 1;
    assert_int_equal(store_create(f->s, CMS, "default", obj("c", NULL), NULL), 0);
    assert_int_equal(l[1].calls, 3);
    assert_int_equal(l[2].calls, 3);
    store_unlisten(f->s, l[2].handle);
}

static void test_listener_removes_another(void **state)
{
    struct fixture *f = *state;
    struct listener_ctx l[3];
    memset(l, 0, sizeof l);
    for (int i = 0; i < 3; i++) {
        l[i].s = f->s;
        l[i].handle = store_listen(f->s, on_change, &l[i]);
    }
    /* the second removes the first (already called): the third is still called once */
    l[1].remove_other = l[0].handle;
    assert_int_equal(store_create(f->s, CMS, "default", obj("a", NULL), NULL), 0);
    assert_int_equal(l[0].calls, 1);
    assert_int_equal(l[1].calls, 1);
    assert_int_equal(l[2].calls, 1);
    /* the second removes the third (not yet called): the third is not called */
    l[1].remove_other = l[2].handle;
    assert_int_equal(store_create(f->s, CMS, "default", obj("b", NULL), NULL), 0);
    assert_int_equal(l[0].calls, 1);
    assert_int_equal(l[1].calls, 2);
    assert_int_equal(l[2].calls, 1);
    store_unlisten(f->s, l[1].handle);
}

static void test_many_listeners(void **state)
{
    struct fixture *f = *state;
    struct listener_ctx l[40];
    memset(l, 0, sizeof l);
    for (int i = 0; i < 40; i++) {
        l[i].s = f->s;
        l[i].handle = store_listen(f->s, on_change, &l[i]);
        assert_true(l[i].handle > 0);
        if (i)
            assert_true(l[i].handle != l[i - 1].handle);
    }
    assert_int_equal(store_create(f->s, CMS, "default", obj("a", NULL), NULL), 0);
    for (int i = 0; i < 40; i++)
        assert_int_equal(l[i].calls, 1);
    for (int i = 0; i < 40; i++)
        store_unlisten(f->s, l[i].handle);
}

static void test_name_helpers_on_odd_objects(void **state)
{
    (void)state;
    cJSON *o = cJSON_Parse("{\"metadata\":{\"name\":5,\"resourceVersion\":17}}");
    assert_string_equal(store_obj_name(o), "");
    assert_string_equal(store_obj_namespace(o), "");
    assert_int_equal(store_obj_rv(o), 0);
    assert_string_equal(store_obj_name(NULL), "");
    cJSON_Delete(o);
    store_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_get, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_scoped, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_client_fields_overwritten, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_list_sorted, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_many_objects, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_obj_text, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_copies_of_stored_objects, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_walk_after_key, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_order_under_churn, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_replay_history, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_replay_expired, setup_tiny, teardown),
        cmocka_unit_test_setup_teardown(test_listeners, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_listener_removes_itself, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_listener_removes_another, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_many_listeners, setup_default, teardown),
        cmocka_unit_test(test_name_helpers_on_odd_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
