/* patch.c -- JSON merge patch, JSON patch and strategic merge patch, with kube's semantics and text
 */
#include "mockapi/kube/patch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Sources of truth: RFC 7386 and gopkg.in/evanphx/json-patch.v4 (merge.go, patch.go) for the
 * first two, k8s.io/apimachinery/pkg/util/strategicpatch/patch.go (mergeMap, mergeSlice,
 * mergePatchIntoOriginal, normalizeElementOrder) and the patchStrategy/patchMergeKey tags of
 * k8s.io/api for the third, k8s.io/apiserver/pkg/endpoints/handlers/patch.go for how errors
 * become Statuses. Every entry point works on a copy and swaps it in on success, so a failed
 * patch leaves the stored object untouched.
 */

/* ---- errors ---------------------------------------------------------------------------------- */

struct ctx {
    char *err;
    size_t errlen;
    int status; /* the first failure wins */
};

static void ctx_init(struct ctx *c, char *err, size_t errlen)
{
    c->err = errlen ? err : NULL;
    c->errlen = err ? errlen : 0;
    c->status = KPATCH_OK;
    if (c->err)
        c->err[0] = '\0';
}

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, int status, const char *fmt,
                                                      ...)
{
    va_list ap;

    if (c->status != KPATCH_OK)
        return c->status;
    c->status = status;
    if (c->err) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int oom(struct ctx *c)
{
    return fail(c, KPATCH_EINTERNAL, "out of memory");
}

/* A bounded growing string for messages that quote JSON values. */
#define DSTR_MAX 2048

struct dstr {
    char buf[DSTR_MAX];
    size_t len;
};

__attribute__((format(printf, 2, 3))) static void ds_printf(struct dstr *d, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (d->len + 1 >= sizeof(d->buf))
        return;
    va_start(ap, fmt);
    n = vsnprintf(d->buf + d->len, sizeof(d->buf) - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n;
    if (d->len >= sizeof(d->buf))
        d->len = sizeof(d->buf) - 1;
}

static int is_integral(double v)
{
    return v >= -9007199254740992.0 && v <= 9007199254740992.0 && v == (double)(long long)v;
}

static int cmp_child_key(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* Go's %v of a decoded JSON value: map[a:1 b:[x y]], sorted keys, <nil> for null. */
static void go_fmt(struct dstr *d, const cJSON *v, int depth)
{
    if (depth > 16) {
        ds_printf(d, "...");
        return;
    }
    if (!v || cJSON_IsNull(v)) {
        ds_printf(d, "<nil>");
    } else if (cJSON_IsString(v)) {
        ds_printf(d, "%s", v->valuestring ? v->valuestring : "");
    } else if (cJSON_IsNumber(v)) {
        if (is_integral(v->valuedouble))
            ds_printf(d, "%lld", (long long)v->valuedouble);
        else
            ds_printf(d, "%g", v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        ds_printf(d, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsArray(v)) {
        const cJSON *e;
        ds_printf(d, "[");
        for (e = v->child; e; e = e->next) {
            go_fmt(d, e, depth + 1);
            if (e->next)
                ds_printf(d, " ");
        }
        ds_printf(d, "]");
    } else if (cJSON_IsObject(v)) {
        const cJSON *e, *keys[64];
        size_t n = 0;

        for (e = v->child; e && n < sizeof(keys) / sizeof(keys[0]); e = e->next)
            keys[n++] = e;
        qsort(keys, n, sizeof(keys[0]), cmp_child_key);
        ds_printf(d, "map[");
        for (size_t i = 0; i < n; i++) {
            ds_printf(d, "%s%s:", i ? " " : "", keys[i]->string ? keys[i]->string : "");
            go_fmt(d, keys[i], depth + 1);
        }
        ds_printf(d, "%s]", e ? " ..." : "");
    }
}

/* reflect.TypeOf of a decoded JSON value (kube decodes integers as int64). */
static const char *go_type(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "map[string]interface {}";
    if (cJSON_IsArray(v))
        return "[]interface {}";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return is_integral(v->valuedouble) ? "int64" : "float64";
    if (cJSON_IsBool(v))
        return "bool";
    return "%!s(<nil>)";
}

/* The JSON kind encoding/json names in "cannot unmarshal X into ...". */
static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsBool(v))
        return "bool";
    return "null";
}

/* Go's strconv.Quote, close enough for error text: escapes quotes, backslashes and controls. */
static void go_quote(struct dstr *d, const char *s)
{
    ds_printf(d, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            ds_printf(d, "\\%c", ch);
        else if (ch == '\n')
            ds_printf(d, "\\n");
        else if (ch == '\t')
            ds_printf(d, "\\t");
        else if (ch == '\r')
            ds_printf(d, "\\r");
        else if (ch < 0x20 || ch == 0x7f)
            ds_printf(d, "\\x%02x", ch);
        else
            ds_printf(d, "%c", ch);
    }
    ds_printf(d, "\"");
}

/* ---- cJSON plumbing -------------------------------------------------------------------------- */

/* Exchange the values of two nodes; each keeps its place in its parent and its own key. */
static void swap_contents(cJSON *a, cJSON *b)
{
    cJSON t = *a;
    int akey = a->type & cJSON_StringIsConst, bkey = b->type & cJSON_StringIsConst;

    a->child = b->child;
    a->valuestring = b->valuestring;
    a->valueint = b->valueint;
    a->valuedouble = b->valuedouble;
    a->type = (b->type & ~cJSON_StringIsConst) | akey;
    b->child = t.child;
    b->valuestring = t.valuestring;
    b->valueint = t.valueint;
    b->valuedouble = t.valuedouble;
    b->type = (t.type & ~cJSON_StringIsConst) | bkey;
}

/* node takes value's content; value (owned) is freed with node's old content. */
static void replace_value(cJSON *node, cJSON *value)
{
    swap_contents(node, value);
    cJSON_Delete(value);
}

static int set_value(struct ctx *c, cJSON *node, cJSON *value)
{
    if (!value)
        return oom(c);
    replace_value(node, value);
    return 0;
}

static void drop_key(cJSON *item)
{
    if (item->string && !(item->type & cJSON_StringIsConst))
        cJSON_free(item->string);
    item->string = NULL;
    item->type &= ~cJSON_StringIsConst;
}

/* Set obj[key] = item (owned), replacing the first member of that name. */
static int object_set(struct ctx *c, cJSON *obj, const char *key, cJSON *item)
{
    cJSON *old;

    if (!item)
        return oom(c);
    old = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (old) {
        replace_value(old, item);
        return 0;
    }
    drop_key(item);
    if (!cJSON_AddItemToObject(obj, key, item))
        goto fail;
    return 0;
fail:
    cJSON_Delete(item);
    return oom(c);
}

/*
 * Insert item (owned on success) before position i, or append when i is the size. Debian's
 * cJSON 1.7.15-1+deb12u4 cJSON_InsertItemInArray refuses every insert before the end, so this
 * appends and rotates the tail behind the new item instead.
 */
static int array_insert(cJSON *arr, int i, cJSON *item)
{
    cJSON *at = cJSON_GetArrayItem(arr, i), *e;

    if (!cJSON_AddItemToArray(arr, item))
        return -1;
    for (e = at; e && e != item;) {
        cJSON *next = e->next;
        cJSON_DetachItemViaPointer(arr, e);
        cJSON_AddItemToArray(arr, e);
        e = next;
    }
    return 0;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The equality Go's == gives two decoded JSON scalars (maps and slices never compare equal). */
static int scalar_eq(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return a == b;
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring ? a->valuestring : "", b->valuestring ? b->valuestring : "") ==
               0;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsBool(a) && cJSON_IsBool(b))
        return cJSON_IsTrue(a) == cJSON_IsTrue(b);
    return cJSON_IsNull(a) && cJSON_IsNull(b);
}

/* ---- RFC 7386 -------------------------------------------------------------------------------- */

static int merge7386(struct ctx *c, cJSON *target, const cJSON *patch, int depth)
{
    const cJSON *m;

    if (depth > KPATCH_MAX_DEPTH)
        return fail(c, KPATCH_EBADREQUEST, "patch is nested too deeply (max %d levels)",
                    KPATCH_MAX_DEPTH);
    if (!cJSON_IsObject(patch))
        return set_value(c, target, cJSON_Duplicate(patch, 1));
    if (!cJSON_IsObject(target) && set_value(c, target, cJSON_CreateObject()) < 0)
        return c->status;
    for (m = patch->child; m; m = m->next) {
        cJSON *cur;

        if (!m->string)
            continue;
        cur = cJSON_GetObjectItemCaseSensitive(target, m->string);
        if (cJSON_IsNull(m)) {
            if (cur)
                cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
            continue;
        }
        if (!cur) {
            cur = cJSON_CreateNull();
            if (object_set(c, target, m->string, cur) < 0)
                return c->status;
        }
        if (merge7386(c, cur, m, depth + 1) < 0)
            return c->status;
    }
    return 0;
}

int kpatch_merge(cJSON *target, const cJSON *patch, char *err, size_t errlen)
{
    struct ctx c;
    cJSON *work = NULL;

    ctx_init(&c, err, errlen);
    if (!target) {
        fail(&c, KPATCH_EINTERNAL, "no object to patch");
        goto out;
    }
    if (!cJSON_IsObject(patch)) {
        /* evanphx json-patch: a null or scalar patch is errBadJSONPatch */
        fail(&c, KPATCH_EBADREQUEST, "Invalid JSON Patch");
        goto out;
    }
    work = cJSON_Duplicate(target, 1);
    if (!work) {
        oom(&c);
        goto out;
    }
    if (merge7386(&c, work, patch, 0) == 0)
        swap_contents(target, work);
out:
    cJSON_Delete(work);
    return c.status;
}

/* ---- RFC 6902 (as evanphx/json-patch v4 applies it) ------------------------------------------ */

/* strconv.Atoi: 0, or -1 with Go's message in msg. */
static int parse_go_int(const char *s, long long *out, struct dstr *msg)
{
    const char *p = s;
    char *end = NULL;
    long long v;

    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        goto syntax;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            goto syntax;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == ERANGE) {
        ds_printf(msg, "strconv.Atoi: parsing ");
        go_quote(msg, s);
        ds_printf(msg, ": value out of range");
        return -1;
    }
    if (!end || *end)
        goto syntax;
    *out = v;
    return 0;
syntax:
    ds_printf(msg, "strconv.Atoi: parsing ");
    go_quote(msg, s);
    ds_printf(msg, ": invalid syntax");
    return -1;
}

/* RFC 6901 unescaping of one reference token (~1 then ~0, in one left-to-right pass). */
static void decode_token(const char *s, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
            out[o++] = s[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* Array index for get/set/remove: negative counts from the end (SupportNegativeIndices). */
static int array_index(const cJSON *arr, const char *key, long long *idx, struct dstr *msg)
{
    long long n = cJSON_GetArraySize(arr), i;

    if (parse_go_int(key, &i, msg) < 0)
        return -1;
    if (i < 0) {
        if (i < -n) {
            ds_printf(msg, "Unable to access invalid index: %lld: invalid index referenced", i);
            return -1;
        }
        i += n;
    }
    if (i >= n) {
        ds_printf(msg, "Unable to access invalid index: %lld: invalid index referenced", i);
        return -1;
    }
    *idx = i;
    return 0;
}

/*
 * findObject: the container holding the last reference token of path, and that token decoded
 * into key (caller-provided, strlen(path)+1 bytes). NULL when any step is missing, is not an
 * object or array, or path is not a pointer.
 */
static cJSON *find_container(cJSON *doc, const char *path, char *key)
{
    cJSON *con = doc;
    const char *seg;

    if (path[0] != '/')
        return NULL;
    seg = path + 1;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        cJSON *next = NULL;

        decode_token(seg, n, key);
        if (!slash)
            return con;
        if (cJSON_IsObject(con)) {
            next = cJSON_GetObjectItemCaseSensitive(con, key);
        } else if (cJSON_IsArray(con)) {
            struct dstr scratch = {.len = 0};
            long long i;
            if (array_index(con, key, &i, &scratch) == 0)
                next = cJSON_GetArrayItem(con, (int)i);
        }
        if (!cJSON_IsObject(next) && !cJSON_IsArray(next))
            return NULL;
        con = next;
        seg = slash + 1;
    }
}

/* container.get: *val is NULL for a missing or null object member. */
static int con_get(cJSON *con, const char *key, cJSON **val, struct dstr *msg)
{
    long long i;

    *val = NULL;
    if (cJSON_IsObject(con)) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(con, key);
        *val = cJSON_IsNull(v) ? NULL : v;
        return 0;
    }
    if (array_index(con, key, &i, msg) < 0)
        return -1;
    *val = cJSON_GetArrayItem(con, (int)i);
    return 0;
}

/* container.add (owns val on success and on failure). */
static int con_add(cJSON *con, const char *key, cJSON *val, struct dstr *msg)
{
    struct dstr int_msg = {.len = 0};
    cJSON *old = cJSON_IsObject(con) ? cJSON_GetObjectItemCaseSensitive(con, key) : NULL;
    long long n, i;

    if (old) {
        replace_value(old, val);
        return 0;
    }
    drop_key(val);
    if (cJSON_IsObject(con)) {
        if (!cJSON_AddItemToObject(con, key, val)) {
            ds_printf(msg, "out of memory");
            goto fail;
        }
        return 0;
    }
    n = cJSON_GetArraySize(con);
    if (strcmp(key, "-") == 0) {
        i = n;
    } else {
        if (parse_go_int(key, &i, &int_msg) < 0) {
            ds_printf(msg, "value was not a proper array index: '%s': %s", key, int_msg.buf);
            goto fail;
        }
        if (i > n || i < -(n + 1)) {
            ds_printf(msg, "Unable to access invalid index: %lld: invalid index referenced", i);
            goto fail;
        }
        if (i < 0)
            i += n + 1;
    }
    if (array_insert(con, (int)i, val) < 0) {
        ds_printf(msg, "out of memory");
        goto fail;
    }
    return 0;
fail:
    cJSON_Delete(val);
    return -1;
}

/* container.remove, handing the removed item to *out (or freeing it when out is NULL). */
static int con_remove(cJSON *con, const char *key, cJSON **out, struct dstr *msg)
{
    cJSON *item;
    long long n, i;

    if (cJSON_IsObject(con)) {
        item = cJSON_DetachItemFromObjectCaseSensitive(con, key);
        if (!item) {
            ds_printf(msg, "Unable to remove nonexistent key: %s: missing value", key);
            return -1;
        }
    } else {
        n = cJSON_GetArraySize(con);
        if (parse_go_int(key, &i, msg) < 0)
            return -1;
        if (i >= n || i < -n) {
            ds_printf(msg, "Unable to access invalid index: %lld: invalid index referenced", i);
            return -1;
        }
        if (i < 0)
            i += n;
        item = cJSON_DetachItemFromArray(con, (int)i);
    }
    if (out)
        *out = item;
    else
        cJSON_Delete(item);
    return 0;
}

/* A string member of an operation: 0, or -1 with the inner error (missing or not a string). */
static int op_string(const cJSON *op, const char *name, const char *missing, const char **out,
                     struct dstr *inner)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, name);

    if (!v || cJSON_IsNull(v)) {
        ds_printf(inner, "%s: missing value", missing);
        return -1;
    }
    if (!cJSON_IsString(v) || !v->valuestring) {
        ds_printf(inner, "json: cannot unmarshal %s into Go value of type string", json_kind(v));
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static cJSON *op_value(const cJSON *op)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, "value");

    return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

#define INVALID(...) fail(c, KPATCH_EINVALID, __VA_ARGS__)
#define NOPATH "operation missing path field"
#define NOFROM "operation, missing from field"

static int jp_add(struct ctx *c, cJSON *doc, const cJSON *op, char *key)
{
    struct dstr inner = {.len = 0};
    const char *path;
    cJSON *con;

    if (op_string(op, "path", NOPATH, &path, &inner) < 0)
        return INVALID("add operation failed to decode path: missing value");
    con = find_container(doc, path, key);
    if (!con)
        return INVALID("add operation does not apply: doc is missing path: \"%s\": missing value",
                       path);
    if (con_add(con, key, op_value(op), &inner) < 0)
        return INVALID("error in add for path: '%s': %s", path, inner.buf);
    return 0;
}

static int jp_remove(struct ctx *c, cJSON *doc, const cJSON *op, char *key)
{
    struct dstr inner = {.len = 0};
    const char *path;
    cJSON *con;

    if (op_string(op, "path", NOPATH, &path, &inner) < 0)
        return INVALID("remove operation failed to decode path: missing value");
    con = find_container(doc, path, key);
    if (!con)
        return INVALID(
            "remove operation does not apply: doc is missing path: \"%s\": missing value", path);
    if (con_remove(con, key, NULL, &inner) < 0)
        return INVALID("error in remove for path: '%s': %s", path, inner.buf);
    return 0;
}

static int jp_replace(struct ctx *c, cJSON *doc, const cJSON *op, char *key)
{
    struct dstr inner = {.len = 0};
    const char *path;
    cJSON *con, *val;

    if (op_string(op, "path", NOPATH, &path, &inner) < 0)
        return INVALID("replace operation failed to decode path: %s", inner.buf);
    if (path[0] == '\0') {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, "value");
        /* the whole document; kube's library silently ignores a value that is not a container */
        if (cJSON_IsObject(v) || cJSON_IsArray(v))
            return set_value(c, doc, cJSON_Duplicate(v, 1));
        return 0;
    }
    con = find_container(doc, path, key);
    if (!con)
        return INVALID("replace operation does not apply: doc is missing path: %s: missing value",
                       path);
    if (con_get(con, key, &val, &inner) < 0)
        return INVALID("replace operation does not apply: doc is missing key: %s: missing value",
                       path);
    val = op_value(op);
    if (!val)
        return oom(c);
    if (cJSON_IsObject(con))
        return object_set(c, con, key, val); /* v4 adds a missing member instead of failing */
    {
        long long i;
        array_index(con, key, &i, &inner);
        drop_key(val);
        if (!cJSON_ReplaceItemInArray(con, (int)i, val)) {
            cJSON_Delete(val);
            return oom(c);
        }
    }
    return 0;
}

static int jp_move(struct ctx *c, cJSON *doc, const cJSON *op, char *key)
{
    struct dstr inner = {.len = 0};
    const char *from, *path;
    cJSON *con, *val = NULL;
    int rc;

    if (op_string(op, "from", NOFROM, &from, &inner) < 0) {
        INVALID("move operation failed to decode from: %s", inner.buf);
        goto out;
    }
    con = find_container(doc, from, key);
    if (!con) {
        INVALID("move operation does not apply: doc is missing from path: %s: missing value", from);
        goto out;
    }
    if (con_get(con, key, &val, &inner) < 0 || con_remove(con, key, &val, &inner) < 0) {
        val = NULL;
        INVALID("error in move for path: '%s': %s", key, inner.buf);
        goto out;
    }
    if (op_string(op, "path", NOPATH, &path, &inner) < 0) {
        INVALID("move operation failed to decode path: %s", inner.buf);
        goto out;
    }
    con = find_container(doc, path, key);
    if (!con) {
        INVALID("move operation does not apply: doc is missing destination path: %s: missing value",
                path);
        goto out;
    }
    rc = con_add(con, key, val, &inner);
    val = NULL; /* con_add owns it now, whatever it returned */
    if (rc < 0)
        INVALID("error in move for path: '%s': %s", path, inner.buf);
out:
    cJSON_Delete(val);
    return c->status;
}

static int jp_copy(struct ctx *c, cJSON *doc, const cJSON *op, char *key)
{
    struct dstr inner = {.len = 0};
    const char *from, *path;
    cJSON *con, *val = NULL, *copy = NULL;
    int rc;

    if (op_string(op, "from", NOFROM, &from, &inner) < 0) {
        INVALID("copy operation failed to decode from: %s", inner.buf);
        goto out;
    }
    con = find_container(doc, from, key);
    if (!con) {
        INVALID("copy operation does not apply: doc is missing from path: %s: missing value", from);
        goto out;
    }
    if (con_get(con, key, &val, &inner) < 0) {
        INVALID("error in copy for from: '%s': %s", from, inner.buf);
        goto out;
    }
    /* v4 copies a missing member as null */
    copy = val ? cJSON_Duplicate(val, 1) : cJSON_CreateNull();
    if (!copy) {
        oom(c);
        goto out;
    }
    if (op_string(op, "path", NOPATH, &path, &inner) < 0) {
        INVALID("copy operation failed to decode path: missing value");
        goto out;
    }
    con = find_container(doc, path, key);
    if (!con) {
        INVALID("copy operation does not apply: doc is missing destination path: %s: missing value",
                path);
        goto out;
    }
    rc = con_add(con, key, copy, &inner);
    copy = NULL; /* con_add owns it now */
    if (rc < 0)
        INVALID("error while adding value during copy: %s", inner.buf);
out:
    cJSON_Delete(copy);
    return c->status;
}

static int jp_test(struct ctx *c, cJSON *doc, const cJSON *op, char *key)
{
    struct dstr inner = {.len = 0};
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(op, "value");
    const char *path;
    cJSON *con, *val;

    if (op_string(op, "path", NOPATH, &path, &inner) < 0)
        return INVALID("test operation failed to decode path: %s", inner.buf);
    if (path[0] == '\0') {
        if (want && cJSON_Compare(doc, want, 1))
            return 0;
        return INVALID("testing value %s failed: test failed", path);
    }
    con = find_container(doc, path, key);
    if (!con)
        return INVALID("test operation does not apply: is missing path: %s: missing value", path);
    if (con_get(con, key, &val, &inner) < 0)
        return INVALID("error in test for path: '%s': %s", path, inner.buf);
    if (!val) {
        /* absent (or null) matches only null; kube panics on an absent value, we call it null */
        if (!want || cJSON_IsNull(want))
            return 0;
        return INVALID("testing value %s failed: test failed", path);
    }
    if (want && cJSON_Compare(val, want, 1))
        return 0;
    return INVALID("testing value %s failed: test failed", path);
}

static int jp_apply(struct ctx *c, cJSON *doc, const cJSON *op)
{
    static const struct {
        const char *name;
        int (*fn)(struct ctx *, cJSON *, const cJSON *, char *);
    } ops[] = {{"add", jp_add},   {"remove", jp_remove}, {"replace", jp_replace},
               {"move", jp_move}, {"test", jp_test},     {"copy", jp_copy}};
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(op, "op");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(op, "path");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(op, "from");
    const char *name = cJSON_IsString(kind) && kind->valuestring ? kind->valuestring : "unknown";
    size_t keylen = 1, i;
    char *key = NULL;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, name) == 0)
            break;
    if (i == sizeof(ops) / sizeof(ops[0])) {
        fail(c, KPATCH_EINVALID, "Unexpected kind: %s", name);
        goto out;
    }
    /* room for the longest decoded reference token of path or from */
    if (cJSON_IsString(p) && p->valuestring)
        keylen += strlen(p->valuestring);
    if (cJSON_IsString(f) && f->valuestring && strlen(f->valuestring) + 1 > keylen)
        keylen = strlen(f->valuestring) + 1;
    key = malloc(keylen);
    if (!key) {
        oom(c);
        goto out;
    }
    ops[i].fn(c, doc, op, key);
out:
    free(key);
    return c->status;
}

int kpatch_json(cJSON *target, const cJSON *ops, char *err, size_t errlen)
{
    struct ctx c;
    cJSON *work = NULL;
    const cJSON *op;
    int n;

    ctx_init(&c, err, errlen);
    if (!ops || cJSON_IsNull(ops))
        goto out; /* json.Unmarshal of null: an empty patch */
    if (!cJSON_IsArray(ops)) {
        fail(&c, KPATCH_EBADREQUEST,
             "json: cannot unmarshal %s into Go value of type jsonpatch.Patch", json_kind(ops));
        goto out;
    }
    cJSON_ArrayForEach(op, ops)
    {
        if (!cJSON_IsObject(op) && !cJSON_IsNull(op)) {
            fail(&c, KPATCH_EBADREQUEST,
                 "json: cannot unmarshal %s into Go value of type jsonpatch.Operation",
                 json_kind(op));
            goto out;
        }
    }
    n = cJSON_GetArraySize(ops);
    if (n > KPATCH_MAX_OPS) {
        fail(&c, KPATCH_ETOOLARGE, "The allowed maximum operations in a JSON patch is %d, got %d",
             KPATCH_MAX_OPS, n);
        goto out;
    }
    if (!target) {
        fail(&c, KPATCH_EINTERNAL, "no object to patch");
        goto out;
    }
    work = cJSON_Duplicate(target, 1);
    if (!work) {
        oom(&c);
        goto out;
    }
    cJSON_ArrayForEach(op, ops)
    {
        if (jp_apply(&c, work, op) < 0)
            goto out;
    }
    swap_contents(target, work);
out:
    cJSON_Delete(work);
    return c.status;
}

#undef INVALID

/* ---- strategic merge patch: the schema tables ------------------------------------------------ */

#define SMP_MERGE 1u      /* patchStrategy:"merge" */
#define SMP_RETAINKEYS 2u /* patchStrategy:"retainKeys" (honoured wherever $retainKeys appears) */
#define SMP_REPLACE 4u    /* patchStrategy:"replace" */

struct smp_type;

struct smp_field {
    const char *name;
    unsigned strategy;
    const char *merge_key;       /* patchMergeKey, for lists of objects */
    const struct smp_type *type; /* the field's struct, or its items' struct for lists */
};

struct smp_type {
    const struct smp_field *fields;
    size_t n;
};

#define SMP_TYPE(name, ...)                                                                        \
    static const struct smp_field name##_fields[] = {__VA_ARGS__};                                 \
    static const struct smp_type name = {name##_fields,                                            \
                                         sizeof(name##_fields) / sizeof(name##_fields[0])}

/* Transcribed from k8s.io/api (core/v1, apps/v1, batch/v1, policy/v1, meta/v1): only fields
 * with a patch strategy and the structs leading to them. Add a row to extend. */
SMP_TYPE(t_objectmeta, {"ownerReferences", SMP_MERGE, "uid", NULL},
         {"finalizers", SMP_MERGE, NULL, NULL});
SMP_TYPE(t_container, {"ports", SMP_MERGE, "containerPort", NULL}, {"env", SMP_MERGE, "name", NULL},
         {"volumeMounts", SMP_MERGE, "mountPath", NULL},
         {"volumeDevices", SMP_MERGE, "devicePath", NULL});
SMP_TYPE(t_podspec, {"volumes", SMP_MERGE | SMP_RETAINKEYS, "name", NULL},
         {"initContainers", SMP_MERGE, "name", &t_container},
         {"containers", SMP_MERGE, "name", &t_container},
         {"ephemeralContainers", SMP_MERGE, "name", &t_container},
         {"imagePullSecrets", SMP_MERGE, "name", NULL}, {"hostAliases", SMP_MERGE, "ip", NULL},
         {"topologySpreadConstraints", SMP_MERGE, "topologyKey", NULL},
         {"schedulingGates", SMP_MERGE, "name", NULL},
         {"resourceClaims", SMP_MERGE | SMP_RETAINKEYS, "name", NULL});
SMP_TYPE(t_podstatus, {"conditions", SMP_MERGE, "type", NULL}, {"podIPs", SMP_MERGE, "ip", NULL},
         {"hostIPs", SMP_MERGE, "ip", NULL},
         {"resourceClaimStatuses", SMP_MERGE | SMP_RETAINKEYS, "name", NULL});
SMP_TYPE(t_pod, {"metadata", 0, NULL, &t_objectmeta}, {"spec", 0, NULL, &t_podspec},
         {"status", 0, NULL, &t_podstatus});
SMP_TYPE(t_podtemplatespec, {"metadata", 0, NULL, &t_objectmeta}, {"spec", 0, NULL, &t_podspec});
SMP_TYPE(t_conditions_status, {"conditions", SMP_MERGE, "type", NULL});
SMP_TYPE(t_metaonly, {"metadata", 0, NULL, &t_objectmeta});
SMP_TYPE(t_servicespec, {"ports", SMP_MERGE, "port", NULL});
SMP_TYPE(t_service, {"metadata", 0, NULL, &t_objectmeta}, {"spec", 0, NULL, &t_servicespec},
         {"status", 0, NULL, &t_conditions_status});
SMP_TYPE(t_nodespec, {"podCIDRs", SMP_MERGE, NULL, NULL});
SMP_TYPE(t_nodestatus, {"conditions", SMP_MERGE, "type", NULL},
         {"addresses", SMP_MERGE, "type", NULL});
SMP_TYPE(t_node, {"metadata", 0, NULL, &t_objectmeta}, {"spec", 0, NULL, &t_nodespec},
         {"status", 0, NULL, &t_nodestatus});
SMP_TYPE(t_with_conditions, {"metadata", 0, NULL, &t_objectmeta},
         {"status", 0, NULL, &t_conditions_status});
SMP_TYPE(t_serviceaccount, {"metadata", 0, NULL, &t_objectmeta},
         {"secrets", SMP_MERGE, "name", NULL});
SMP_TYPE(t_deploymentspec, {"template", 0, NULL, &t_podtemplatespec},
         {"strategy", SMP_RETAINKEYS, NULL, NULL});
SMP_TYPE(t_deployment, {"metadata", 0, NULL, &t_objectmeta}, {"spec", 0, NULL, &t_deploymentspec},
         {"status", 0, NULL, &t_conditions_status});
SMP_TYPE(t_templatespec, {"template", 0, NULL, &t_podtemplatespec});
SMP_TYPE(t_workload, {"metadata", 0, NULL, &t_objectmeta}, {"spec", 0, NULL, &t_templatespec},
         {"status", 0, NULL, &t_conditions_status});

SMP_TYPE(t_podtemplate, {"metadata", 0, NULL, &t_objectmeta},
         {"template", 0, NULL, &t_podtemplatespec});

static const struct {
    const char *kind;
    const struct smp_type *type;
} smp_kinds[] = {
    {"Pod", &t_pod},
    {"PodTemplate", &t_podtemplate},
    {"Service", &t_service},
    {"Node", &t_node},
    {"Namespace", &t_with_conditions},
    {"ServiceAccount", &t_serviceaccount},
    {"PodDisruptionBudget", &t_with_conditions},
    {"ReplicationController", &t_workload},
    {"Deployment", &t_deployment},
    {"ReplicaSet", &t_workload},
    {"StatefulSet", &t_workload},
    {"DaemonSet", &t_workload},
    {"Job", &t_workload},
    {"Secret", &t_metaonly},
    {"ConfigMap", &t_metaonly},
    {"Event", &t_metaonly},
    {"Endpoints", &t_metaonly},
};

static const struct smp_type *smp_kind_type(const char *kind)
{
    if (!kind)
        return NULL;
    for (size_t i = 0; i < sizeof(smp_kinds) / sizeof(smp_kinds[0]); i++)
        if (strcmp(smp_kinds[i].kind, kind) == 0)
            return smp_kinds[i].type;
    return NULL;
}

static const struct smp_field *smp_lookup(const struct smp_type *t, const char *name)
{
    if (t)
        for (size_t i = 0; i < t->n; i++)
            if (strcmp(t->fields[i].name, name) == 0)
                return &t->fields[i];
    return NULL;
}

/* ---- strategic merge patch: the algorithm ---------------------------------------------------- */

#define DIRECTIVE "$patch"
#define RETAIN_KEYS "$retainKeys"
#define DELETE_PRIMITIVE "$deleteFromPrimitiveList"
#define SET_ORDER "$setElementOrder"

static int smp_map(struct ctx *c, cJSON *orig, cJSON *patch, const struct smp_type *t, int depth);
static cJSON *smp_fresh(struct ctx *c, cJSON *pv, const struct smp_field *f, int depth);
static int smp_slice(struct ctx *c, cJSON *cur, cJSON *pv, const struct smp_field *f, int is_delete,
                     int depth);

static int no_merge_key(struct ctx *c, const cJSON *m, const char *key)
{
    struct dstr d = {.len = 0};

    go_fmt(&d, m, 0);
    return fail(c, KPATCH_EINTERNAL, "map: %s does not contain declared merge key: %s", d.buf, key);
}

static int bad_patch_type(struct ctx *c, const cJSON *directive, const cJSON *m)
{
    struct dstr d = {.len = 0}, e = {.len = 0};

    go_fmt(&d, directive, 0);
    go_fmt(&e, m, 0);
    return fail(c, KPATCH_EINTERNAL, "unknown patch type: %s in map: %s", d.buf, e.buf);
}

static int bad_arg_type(struct ctx *c, const char *expected, const cJSON *actual)
{
    return fail(c, KPATCH_EINTERNAL, "expected a %s, but received a %s", expected, go_type(actual));
}

static int is_directive_string(const cJSON *v, const char *s)
{
    return cJSON_IsString(v) && v->valuestring && strcmp(v->valuestring, s) == 0;
}

/* The key `index` compares by: the merge key's value for maps, the item itself for scalars. */
static const cJSON *order_key(const cJSON *item, const char *mkey)
{
    if (!mkey)
        return item;
    return cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, mkey) : NULL;
}

static long long index_of(const cJSON *list, const cJSON *item, const char *mkey)
{
    const cJSON *want = order_key(item, mkey), *e;
    long long i = 0;

    cJSON_ArrayForEach(e, list)
    {
        if (scalar_eq(order_key(e, mkey), want))
            return i;
        i++;
    }
    return -1;
}

struct ranked {
    cJSON *item;
    long long rank, pos;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Every item of list must be a map carrying the merge key (validateMergeKeyInLists). */
static int check_merge_keys(struct ctx *c, const cJSON *list, const char *mkey)
{
    const cJSON *e;

    if (!mkey)
        return 0;
    cJSON_ArrayForEach(e, list)
    {
        if (!cJSON_IsObject(e))
            return bad_arg_type(c, "map[string]interface {}", e);
        if (!cJSON_GetObjectItemCaseSensitive(e, mkey))
            return no_merge_key(c, e, mkey);
    }
    return 0;
}

/*
 * normalizeElementOrder: items of list present in `order` go in order's order, the others keep
 * the order they had in `server`, and the two runs are interleaved the way mergeSortedSlice does
 * (a server item goes first only when both are in `server` and it came first there).
 */
static int order_list(struct ctx *c, cJSON *list, const cJSON *order, const cJSON *server,
                      const char *mkey)
{
    struct ranked *mine = NULL, *theirs = NULL;
    size_t nmine = 0, ntheirs = 0, n = (size_t)cJSON_GetArraySize(list), i = 0, j = 0;
    cJSON *e;
    long long pos = 0;
    int rc = -1;

    if (check_merge_keys(c, list, mkey) < 0 || check_merge_keys(c, order, mkey) < 0 ||
        check_merge_keys(c, server, mkey) < 0)
        goto out;
    mine = calloc(n + 1, sizeof(*mine));
    theirs = calloc(n + 1, sizeof(*theirs));
    if (!mine || !theirs) {
        oom(c);
        goto out;
    }
    cJSON_ArrayForEach(e, list)
    {
        long long r = index_of(order, e, mkey);
        if (r >= 0)
            mine[nmine++] = (struct ranked){e, r, pos};
        else
            theirs[ntheirs++] = (struct ranked){e, index_of(server, e, mkey), pos};
        pos++;
    }
    qsort(mine, nmine, sizeof(*mine), cmp_ranked);
    qsort(theirs, ntheirs, sizeof(*theirs), cmp_ranked);
    for (size_t k = 0; k < n; k++) {
        cJSON *next;

        if (i >= ntheirs) {
            next = mine[j++].item;
        } else if (j >= nmine) {
            next = theirs[i++].item;
        } else {
            long long li = index_of(server, theirs[i].item, mkey);
            long long ri = index_of(server, mine[j].item, mkey);
            next = (li >= 0 && ri >= 0 && li < ri) ? theirs[i++].item : mine[j++].item;
        }
        cJSON_DetachItemViaPointer(list, next);
        cJSON_AddItemToArray(list, next);
    }
    rc = 0;
out:
    free(mine);
    free(theirs);
    return rc < 0 ? c->status : 0;
}

/* sliceElementType: one JSON type for every item, and no lists of lists. */
static int check_element_types(struct ctx *c, const cJSON *a, const cJSON *b, int *type)
{
    const cJSON *lists[2] = {a, b}, *e;
    int prev = -1;

    for (int l = 0; l < 2; l++) {
        cJSON_ArrayForEach(e, lists[l])
        {
            int t = e->type & 0xff;
            if (prev < 0) {
                if (cJSON_IsArray(e))
                    return fail(c, KPATCH_EINVALID, "lists of lists are not supported");
                prev = t;
            } else if (t != prev && !((t == cJSON_True || t == cJSON_False) &&
                                      (prev == cJSON_True || prev == cJSON_False))) {
                struct dstr d = {.len = 0};
                ds_printf(&d, "[");
                go_fmt(&d, a, 0);
                ds_printf(&d, " ");
                go_fmt(&d, b, 0);
                ds_printf(&d, "]");
                return fail(c, KPATCH_EINTERNAL, "list element types are not identical: %s", d.buf);
            }
        }
    }
    *type = prev;
    return 0;
}

/* Remove every item of cur whose merge key equals value (deleteMatchingEntries). */
static void delete_matching(cJSON *cur, const char *mkey, const cJSON *value)
{
    cJSON *e = cur->child;

    while (e) {
        cJSON *next = e->next;
        if (cJSON_IsObject(e) && scalar_eq(cJSON_GetObjectItemCaseSensitive(e, mkey), value))
            cJSON_Delete(cJSON_DetachItemViaPointer(cur, e));
        e = next;
    }
}

/* mergeSlice for scalars: a union without duplicates, or the parallel deletion list. */
static int smp_merge_scalars(struct ctx *c, cJSON *cur, const cJSON *pv, int is_delete)
{
    cJSON *server = NULL, *copy = NULL, *e, *next;
    const cJSON *p;

    if (is_delete) {
        for (e = cur->child; e; e = next) {
            next = e->next;
            if (index_of(pv, e, NULL) >= 0)
                cJSON_Delete(cJSON_DetachItemViaPointer(cur, e));
        }
        goto out;
    }
    server = cJSON_Duplicate(cur, 1);
    if (!server) {
        oom(c);
        goto out;
    }
    cJSON_ArrayForEach(p, pv)
    {
        if (index_of(cur, p, NULL) >= 0)
            continue;
        copy = cJSON_Duplicate(p, 1);
        if (!copy || !cJSON_AddItemToArray(cur, copy)) {
            oom(c);
            goto out;
        }
        drop_key(copy);
        copy = NULL;
    }
    /* duplicates already in the live list go too, as deduplicateScalars drops them */
    for (e = cur->child; e; e = next) {
        next = e->next;
        for (p = cur->child; p != e; p = p->next)
            if (scalar_eq(p, e)) {
                cJSON_Delete(cJSON_DetachItemViaPointer(cur, e));
                break;
            }
    }
    order_list(c, cur, pv, server, NULL);
out:
    cJSON_Delete(copy);
    cJSON_Delete(server);
    return c->status;
}

/*
 * mergeSliceWithSpecialElements: apply and drop the items of pv carrying $patch. Sets *replace
 * when one says the list is to be replaced by the rest of pv.
 */
static int smp_special_items(struct ctx *c, cJSON *cur, cJSON *pv, const char *mkey, int *replace)
{
    cJSON *e, *next;

    for (e = pv->child; e; e = next) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, DIRECTIVE);

        next = e->next;
        if (!d)
            continue;
        if (is_directive_string(d, "delete")) {
            const cJSON *mv = cJSON_GetObjectItemCaseSensitive(e, mkey);
            if (!mv)
                return no_merge_key(c, e, mkey);
            delete_matching(cur, mkey, mv);
        } else if (is_directive_string(d, "replace")) {
            *replace = 1;
        } else if (is_directive_string(d, "merge")) {
            return fail(c, KPATCH_EINTERNAL, "merging lists cannot yet be specified in the patch");
        } else {
            return bad_patch_type(c, d, e);
        }
        cJSON_Delete(cJSON_DetachItemViaPointer(pv, e));
    }
    return 0;
}

/* Append a fresh object made from patch item e to list. */
static int append_fresh(struct ctx *c, cJSON *list, cJSON *e, const struct smp_type *t, int depth)
{
    cJSON *item = cJSON_CreateObject();

    if (!item || !cJSON_AddItemToArray(list, item)) {
        cJSON_Delete(item);
        return oom(c);
    }
    return smp_map(c, item, e, t, depth);
}

/* mergeSlice for maps: merge by the merge key, append the rest, then kube's order. */
static int smp_merge_maps(struct ctx *c, cJSON *cur, cJSON *pv, const struct smp_field *f,
                          int depth)
{
    const char *mkey = f->merge_key;
    cJSON *server = NULL, *fresh = NULL, *e, *o;
    int replace = 0;

    if (!mkey) {
        fail(c, KPATCH_EINTERNAL, "cannot merge lists without merge key for type struct");
        goto out;
    }
    if (smp_special_items(c, cur, pv, mkey, &replace) < 0)
        goto out;
    if (replace) {
        /* the list becomes the patch's other items */
        fresh = cJSON_CreateArray();
        if (!fresh) {
            oom(c);
            goto out;
        }
        for (e = pv->child; e; e = e->next)
            if (append_fresh(c, fresh, e, f->type, depth + 1) < 0)
                goto out;
        replace_value(cur, fresh);
        fresh = NULL;
        goto out;
    }
    server = cJSON_Duplicate(cur, 1);
    if (!server) {
        oom(c);
        goto out;
    }
    for (e = pv->child; e; e = e->next) {
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(e, mkey);
        cJSON *match = NULL;

        if (!mv) {
            no_merge_key(c, e, mkey);
            goto out;
        }
        cJSON_ArrayForEach(o, cur)
        {
            if (cJSON_IsObject(o) && scalar_eq(cJSON_GetObjectItemCaseSensitive(o, mkey), mv)) {
                match = o;
                break;
            }
        }
        if ((match ? smp_map(c, match, e, f->type, depth + 1)
                   : append_fresh(c, cur, e, f->type, depth + 1)) < 0)
            goto out;
    }
    order_list(c, cur, pv, server, mkey);
out:
    cJSON_Delete(fresh);
    cJSON_Delete(server);
    return c->status;
}

/* mergeSlice for a field with the merge strategy. cur is modified in place; pv is consumed. */
static int smp_merge_slice(struct ctx *c, cJSON *cur, cJSON *pv, const struct smp_field *f,
                           int is_delete, int depth)
{
    int type;

    if (!cur->child && !pv->child)
        return 0;
    if (cJSON_GetArraySize(cur) + cJSON_GetArraySize(pv) > KPATCH_MAX_LIST_ITEMS)
        return fail(c, KPATCH_ETOOLARGE, "list %s has more than %d items to merge", f->name,
                    KPATCH_MAX_LIST_ITEMS);
    if (check_element_types(c, cur, pv, &type) < 0)
        return c->status;
    /* kube ignores a deletion list for lists of maps and merges it like a patch list */
    if (type != cJSON_Object)
        return smp_merge_scalars(c, cur, pv, is_delete);
    return smp_merge_maps(c, cur, pv, f, depth);
}

/* mergeSliceHandler: merge-strategy lists merge, every other list is replaced by the patch. */
static int smp_slice(struct ctx *c, cJSON *cur, cJSON *pv, const struct smp_field *f, int is_delete,
                     int depth)
{
    if (f && (f->strategy & SMP_MERGE))
        return smp_merge_slice(c, cur, pv, f, is_delete, depth);
    return set_value(c, cur, smp_fresh(c, pv, f, depth));
}

/*
 * A patch value landing where the target has nothing: kube stores it raw and its typed decode
 * then drops `$` keys and nulls; we apply it to an empty value, which gives the same object.
 */
static cJSON *smp_fresh(struct ctx *c, cJSON *pv, const struct smp_field *f, int depth)
{
    cJSON *out = NULL, *item = NULL, *e;

    if (!cJSON_IsObject(pv) && !cJSON_IsArray(pv)) {
        out = cJSON_Duplicate(pv, 1);
        if (!out)
            goto fail;
        return out;
    }
    out = cJSON_IsObject(pv) ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!out)
        goto fail;
    if (cJSON_IsObject(pv)) {
        if (smp_map(c, out, pv, f ? f->type : NULL, depth + 1) < 0)
            goto fail;
    } else if (f && (f->strategy & SMP_MERGE) && f->merge_key && cJSON_IsObject(pv->child)) {
        if (smp_merge_slice(c, out, pv, f, 0, depth + 1) < 0)
            goto fail;
    } else {
        cJSON_ArrayForEach(e, pv)
        {
            item = smp_fresh(c, e, f, depth + 1);
            if (!item)
                goto fail;
            drop_key(item);
            if (!cJSON_AddItemToArray(out, item))
                goto fail;
            item = NULL;
        }
    }
    return out;
fail:
    oom(c); /* keeps the first error when there was one */
    cJSON_Delete(item);
    cJSON_Delete(out);
    return NULL;
}

/* extractKey: "<prefix>/<key>" -> key, or NULL. */
static const char *directive_key(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);

    if (strncmp(s, prefix, n) != 0 || s[n] != '/')
        return NULL;
    return s + n + 1;
}

/* Whether list holds the string s ($retainKeys lists are compared as Go map keys). */
static int list_has_string(const cJSON *list, const char *s)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, list)
    {
        if (cJSON_IsString(e) && e->valuestring && strcmp(e->valuestring, s) == 0)
            return 1;
    }
    return 0;
}

/* applyRetainKeysDirective */
static int smp_retain_keys(struct ctx *c, cJSON *orig, cJSON *patch)
{
    cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(patch, RETAIN_KEYS), *e, *next;
    int rc = -1;

    if (!list)
        return 0;
    if (!cJSON_IsArray(list)) {
        fail(c, KPATCH_EBADREQUEST, "invalid patch format of retainKeys");
        goto out;
    }
    cJSON_ArrayForEach(e, patch)
    {
        if (!e->string || cJSON_IsNull(e) || has_prefix(e->string, DELETE_PRIMITIVE) ||
            has_prefix(e->string, SET_ORDER))
            continue;
        if (!list_has_string(list, e->string)) {
            fail(c, KPATCH_EBADREQUEST, "invalid patch format of retainKeys");
            goto out;
        }
    }
    for (e = orig->child; e; e = next) {
        next = e->next;
        if (!e->string || !list_has_string(list, e->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(orig, e));
    }
    rc = 0;
out:
    cJSON_Delete(list);
    return rc < 0 ? c->status : 0;
}

/* validatePatchWithSetOrderList: the patch list's items appear in the order list's order. */
static int smp_validate_order(struct ctx *c, const cJSON *patch_list, const cJSON *order,
                              const char *mkey)
{
    const cJSON *p, *o;
    struct dstr a = {.len = 0}, b = {.len = 0};

    if (!patch_list || !patch_list->child || !order->child)
        return 0;
    if (mkey) {
        cJSON_ArrayForEach(p, patch_list)
        {
            if (!cJSON_IsObject(p))
                return bad_arg_type(c, "map[string]interface {}", p);
        }
    }
    p = patch_list->child;
    o = order->child;
    while (p && o) {
        if (mkey && cJSON_IsObject(p) && (cJSON_GetObjectItemCaseSensitive(p, DIRECTIVE) != NULL)) {
            p = p->next; /* items with directives ($patch: delete) are not ordered */
            continue;
        }
        if (mkey) {
            const cJSON *pk = cJSON_GetObjectItemCaseSensitive(p, mkey);
            const cJSON *ok = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, mkey) : NULL;
            if (!cJSON_IsObject(o))
                return bad_arg_type(c, "map[string]interface {}", o);
            if (!pk)
                return no_merge_key(c, p, mkey);
            if (!ok)
                return no_merge_key(c, o, mkey);
            if (scalar_eq(pk, ok))
                p = p->next;
        } else if (scalar_eq(p, o)) {
            p = p->next;
        }
        o = o->next;
    }
    while (p && mkey && cJSON_GetObjectItemCaseSensitive(p, DIRECTIVE))
        p = p->next;
    if (!p)
        return 0;
    go_fmt(&a, patch_list, 0);
    go_fmt(&b, order, 0);
    return fail(c, KPATCH_EINTERNAL,
                "The order in patch list:\n%s\n doesn't match " SET_ORDER " list:\n%s\n", a.buf,
                b.buf);
}

/* mergePatchIntoOriginal: one $setElementOrder/<key> directive and the list it orders. */
static int smp_set_order(struct ctx *c, cJSON *orig, cJSON *patch, cJSON *directive,
                         const struct smp_type *t, int depth)
{
    const struct smp_field *f;
    const char *key;
    cJSON *ol, *pl, *server = NULL;

    if (!cJSON_IsArray(directive)) {
        bad_arg_type(c, "[]interface {}", directive);
        goto out;
    }
    key = directive_key(directive->string, SET_ORDER);
    if (!key) {
        fail(c, KPATCH_EBADREQUEST, "invalid patch format of setElementOrder list");
        goto out;
    }
    ol = cJSON_GetObjectItemCaseSensitive(orig, key);
    pl = cJSON_GetObjectItemCaseSensitive(patch, key);
    if ((ol && !cJSON_IsArray(ol)) || (pl && !cJSON_IsArray(pl))) {
        bad_arg_type(c, "[]interface {}", ol && !cJSON_IsArray(ol) ? ol : pl);
        goto out;
    }
    f = smp_lookup(t, key);
    if (smp_validate_order(c, pl, directive, f ? f->merge_key : NULL) < 0 || (!ol && !pl))
        goto out;
    server = ol ? cJSON_Duplicate(ol, 1) : cJSON_CreateArray();
    if (!server) {
        oom(c);
        goto out;
    }
    if (ol && pl) {
        if (smp_slice(c, ol, pl, f, 0, depth + 1) < 0)
            goto out;
    } else if (pl) {
        if (object_set(c, orig, key, smp_fresh(c, pl, f, depth)) < 0)
            goto out;
        ol = cJSON_GetObjectItemCaseSensitive(orig, key);
    }
    if (cJSON_IsArray(ol) &&
        order_list(c, ol, directive, server, f && f->merge_key ? f->merge_key : NULL) < 0)
        goto out;
    /* the list is done: the main loop must not merge it again */
    cJSON_DeleteItemFromObjectCaseSensitive(patch, key);
out:
    cJSON_Delete(server);
    return c->status;
}

/*
 * mergeMap: patch (a working copy, consumed) into orig (modified in place), t the schema of both
 * (NULL when unknown: every list is then replaced).
 */
static int smp_map(struct ctx *c, cJSON *orig, cJSON *patch, const struct smp_type *t, int depth)
{
    cJSON *d, *m, *next;

    if (depth > KPATCH_MAX_DEPTH)
        return fail(c, KPATCH_EBADREQUEST, "patch is nested too deeply (max %d levels)",
                    KPATCH_MAX_DEPTH);
    if (!cJSON_IsObject(orig) && set_value(c, orig, cJSON_CreateObject()) < 0)
        return c->status;

    d = cJSON_GetObjectItemCaseSensitive(patch, DIRECTIVE);
    if (d) {
        if (is_directive_string(d, "replace")) {
            cJSON_DeleteItemFromObjectCaseSensitive(patch, DIRECTIVE);
            if (set_value(c, orig, cJSON_CreateObject()) < 0)
                return c->status;
            return smp_map(c, orig, patch, t, depth + 1);
        }
        if (is_directive_string(d, "delete"))
            return set_value(c, orig, cJSON_CreateObject());
        return bad_patch_type(c, d, patch);
    }
    if (smp_retain_keys(c, orig, patch) < 0)
        return c->status;
    for (;;) {
        /* one at a time: each directive also consumes the list it orders */
        for (m = patch->child; m; m = m->next)
            if (m->string && has_prefix(m->string, SET_ORDER))
                break;
        if (!m)
            break;
        cJSON_DetachItemViaPointer(patch, m);
        if (smp_set_order(c, orig, patch, m, t, depth) < 0) {
            cJSON_Delete(m);
            return c->status;
        }
        cJSON_Delete(m);
    }

    for (m = patch->child; m; m = next) {
        const char *k = m->string;
        const struct smp_field *f;
        int is_delete = 0;
        cJSON *cur;

        next = m->next;
        if (!k)
            continue;
        if (has_prefix(k, DELETE_PRIMITIVE)) {
            k = directive_key(k, DELETE_PRIMITIVE);
            if (!k)
                return fail(c, KPATCH_EBADREQUEST, "invalid patch format of primitive list");
            is_delete = 1;
        }
        cur = cJSON_GetObjectItemCaseSensitive(orig, k);
        if (cJSON_IsNull(m)) {
            if (cur)
                cJSON_DeleteItemFromObjectCaseSensitive(orig, k);
            continue;
        }
        f = smp_lookup(t, k);
        if (!cur) {
            /* deleting from a list that is not there deletes nothing (kube would store the
             * deletion list as the list) */
            if (is_delete)
                continue;
            if (object_set(c, orig, k, smp_fresh(c, m, f, depth)) < 0)
                return c->status;
            continue;
        }
        if ((cJSON_IsObject(cur) != cJSON_IsObject(m)) ||
            (cJSON_IsArray(cur) != cJSON_IsArray(m))) {
            /* the types differ: the patch value wins */
            if (set_value(c, cur, smp_fresh(c, m, f, depth)) < 0)
                return c->status;
            continue;
        }
        if (cJSON_IsObject(m)) {
            if (f && (f->strategy & SMP_REPLACE)) {
                if (set_value(c, cur, smp_fresh(c, m, f, depth)) < 0)
                    return c->status;
            } else if (smp_map(c, cur, m, f ? f->type : NULL, depth + 1) < 0) {
                return c->status;
            }
        } else if (cJSON_IsArray(m)) {
            if (smp_slice(c, cur, m, f, is_delete, depth + 1) < 0)
                return c->status;
        } else if (set_value(c, cur, cJSON_Duplicate(m, 1)) < 0) {
            return c->status;
        }
    }
    return 0;
}

int kpatch_strategic(cJSON *target, const cJSON *patch, const char *kind, char *err, size_t errlen)
{
    struct ctx c;
    cJSON *work = NULL, *p = NULL;

    ctx_init(&c, err, errlen);
    if (!patch || cJSON_IsNull(patch))
        goto out; /* json.Unmarshal of null into a map: nothing to do */
    if (!cJSON_IsObject(patch)) {
        fail(&c, KPATCH_EBADREQUEST,
             "json: cannot unmarshal %s into Go value of type map[string]interface {}",
             json_kind(patch));
        goto out;
    }
    if (!target) {
        fail(&c, KPATCH_EINTERNAL, "no object to patch");
        goto out;
    }
    work = cJSON_Duplicate(target, 1);
    p = cJSON_Duplicate(patch, 1);
    if (!work || !p) {
        oom(&c);
        goto out;
    }
    if (smp_map(&c, work, p, smp_kind_type(kind), 0) == 0)
        swap_contents(target, work);
out:
    cJSON_Delete(work);
    cJSON_Delete(p);
    return c.status;
}
