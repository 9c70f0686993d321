/* match.c -- which requests a rule matches: the "match" object parsed and checked, then tested
 * against each routed request (verb, resource, names, path, query, headers, body paths) */
#include "harness/match.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness/diag.h"
#include "harness/jsonc.h"
#include "mockapi/gitlab/proto.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/route.h"

/* Caps on one "match" object: every entry is work on every request, and a rule that needs more is
 * clearer split in two. */
#define MAX_QUERY_ENTRIES 32  /* keys in "query" */
#define MAX_HEADER_ENTRIES 32 /* names in "headers" */
#define MAX_BODY_ENTRIES 32   /* predicates in "body" */
#define MAX_GLOB 1024         /* characters in one pattern (URLs are capped at 16 KiB) */
#define MAX_INDEX 999999999   /* largest [N] in a body path: fits an int, as cJSON indexes */

/* What a "query" or "headers" value, and a "body" element, must be. */
#define KV_WANT "a pattern string or true (for \"present\")"
#define BODY_ENTRY_WANT                                                                            \
    "an object {\"path\": ..., and one of \"exists\": true, \"absent\": true, \"equals\": "        \
    "<value>}"

static const char *const MATCH_KEYS[] = {
    "verb",    "resource", "subresource", "namespace", "name", "path", "query",
    "headers", "body",     "server",      "endpoint",  "job",  NULL};
static const char *const SERVERS[] = {"kube", "gitlab", NULL};
/* GitLab endpoints by enum glproto_endpoint; the names matches and the journal use */
static const char *const ENDPOINTS[] = {"other", "jobs/request", "update", "trace", "verify", NULL};
#define NENDPOINTS 5
static const char *const BODY_KEYS[] = {"path", "exists", "absent", "equals", NULL};

static const struct {
    const char *name;
    unsigned bit;
} VERBS[] = {
    {"get", MATCH_GET},       {"list", MATCH_LIST},
    {"watch", MATCH_WATCH},   {"create", MATCH_CREATE},
    {"update", MATCH_UPDATE}, {"patch", MATCH_PATCH},
    {"delete", MATCH_DELETE}, {"deletecollection", MATCH_DELETECOLLECTION},
    {"exec", MATCH_EXEC},     {"attach", MATCH_ATTACH},
    {"log", MATCH_LOG},       {"other", MATCH_OTHER},
};
#define NVERBS (sizeof VERBS / sizeof VERBS[0])

/* ---- messages ---- */

/* "a, b, c" into buf (list NULL-ended). */
static const char *join(char *buf, size_t len, const char *const *list)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; list[i] && o < len; i++) {
        int n = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", list[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
    return buf;
}

/* `unknown <what> "<s>" (known: <known>)`, then `; did you mean "<hint>"?` when there is a hint:
 * the wording scenario.c gives a value outside an enumeration (its enum_value() is private). */
static void unknown_value(struct diag *d, const char *path, const char *what, const char *s,
                          const char *known, const char *hint)
{
    char shown[JSONC_SHOW_BUF];
    jsonc_show(shown, sizeof shown, s);
    if (hint)
        diag_path(d, path, "unknown %s \"%s\" (known: %s); did you mean \"%s\"?", what, shown,
                  known, hint);
    else
        diag_path(d, path, "unknown %s \"%s\" (known: %s)", what, shown, known);
}

/* "po", "pod" or "Pod" for "pods": the plural a user probably meant, or NULL. */
static const char *plural_for(const char *word)
{
    size_t wlen = strlen(word);
    for (size_t i = 0; i < KIND__COUNT; i++) {
        const struct kinds_info *k = &kinds_table[i];
        if (strcasecmp(word, k->singular) == 0 || strcasecmp(word, k->kind) == 0 ||
            strcasecmp(word, k->resource) == 0)
            return k->resource;
        for (const char *p = k->shortnames; *p;) {
            size_t n = strcspn(p, ",");
            if (n == wlen && strncasecmp(p, word, n) == 0)
                return k->resource;
            p += n;
            if (*p == ',')
                p++;
        }
    }
    return NULL;
}

/* 1 when key is in list (NULL-ended). */
static int is_one_of(const char *key, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(key, list[i]) == 0)
            return 1;
    return 0;
}

/* 1 when a member of obj before c has the same key. jsonc_parse() refuses such a file, but a tree
 * built otherwise keeps both, and the second would leak or silently win. */
static int duplicate_key(const cJSON *obj, const cJSON *c)
{
    for (const cJSON *p = obj->child; p && p != c; p = p->next)
        if (strcmp(p->string, c->string) == 0)
            return 1;
    return 0;
}

/* Report c (a member of obj, an accepted key) when obj has its key twice. 1 when reported. */
static int reported_duplicate(const cJSON *obj, const cJSON *c, const char *path, struct diag *d)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF];
    if (!duplicate_key(obj, c))
        return 0;
    diag_path(d, jsonc_path_key(sub, sizeof sub, path, c->string), "duplicate key \"%s\"",
              jsonc_show(shown, sizeof shown, c->string));
    return 1;
}

/* ---- body paths ---- */

enum step_type { STEP_KEY, STEP_INDEX, STEP_ANY, STEP_SELECT };

struct step {
    enum step_type type;
    int index;         /* STEP_INDEX */
    const char *key;   /* STEP_KEY, and STEP_SELECT's member name: in steps.keys */
    const char *value; /* STEP_SELECT: the value that member must have, in steps.keys */
};

/* A compiled body path. Each step consumes at least one character of the path and each key at
 * most the characters it was written with plus its NUL (a selector "[k=v]": both, in at least four
 * characters), so the arrays below cannot overflow. */
struct steps {
    struct step v[MATCH_MAX_BODY_PATH];
    size_t n;
    char keys[2 * MATCH_MAX_BODY_PATH + 2];
    size_t used;
};

/* The characters of a selector's member name: "[name=helper]". */
#define IDENT "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Compile path into s. 0, or -1 with the reason in err ("empty key at character 3"). */
static int compile(const char *path, struct steps *s, char *err, size_t errlen)
{
    size_t len = strlen(path), i = 0;
    s->n = 0;
    s->used = 0;
    if (len == 0) {
        snprintf(err, errlen, "it is empty");
        return -1;
    }
    if (len > MATCH_MAX_BODY_PATH) {
        snprintf(err, errlen, "it is longer than %d characters", MATCH_MAX_BODY_PATH);
        return -1;
    }
    int need_key = 0; /* just after '.': only a bare key may follow */
    while (i < len || need_key) {
        struct step *st = &s->v[s->n];
        if (path[i] == '[' && !need_key) {
            i++;
            if (path[i] == '*' && path[i + 1] == ']') {
                st->type = STEP_ANY;
                i += 1;
            } else if (path[i] >= '0' && path[i] <= '9') {
                long v = 0;
                for (; path[i] >= '0' && path[i] <= '9'; i++) {
                    v = v * 10 + (path[i] - '0');
                    if (v > MAX_INDEX) {
                        snprintf(err, errlen, "index at character %zu is larger than %d", i + 1,
                                 MAX_INDEX);
                        return -1;
                    }
                }
                if (path[i] != ']') {
                    snprintf(err, errlen, "expected \"]\" at character %zu", i + 1);
                    return -1;
                }
                st->type = STEP_INDEX;
                st->index = (int)v;
            } else if (path[i] == '"') {
                size_t start = i;
                st->type = STEP_KEY;
                st->key = s->keys + s->used;
                for (i++; path[i] && path[i] != '"'; i++) {
                    if (path[i] == '\\' && (path[i + 1] == '"' || path[i + 1] == '\\'))
                        i++;
                    s->keys[s->used++] = path[i];
                }
                if (path[i] != '"') {
                    snprintf(err, errlen, "unterminated quoted key at character %zu", start + 1);
                    return -1;
                }
                if (path[i + 1] != ']') {
                    snprintf(err, errlen, "expected \"]\" at character %zu", i + 2);
                    return -1;
                }
                s->keys[s->used++] = '\0';
                i++;
            } else if (is_ident_start(path[i]) && path[i + strspn(path + i, IDENT)] == '=') {
                /* a selector: [name=helper] or [name="a]b"] */
                size_t n = strspn(path + i, IDENT);
                st->type = STEP_SELECT;
                st->key = s->keys + s->used;
                memcpy(s->keys + s->used, path + i, n);
                s->used += n;
                s->keys[s->used++] = '\0';
                i += n + 1; /* the '=' */
                st->value = s->keys + s->used;
                if (path[i] == '"') {
                    size_t start = i;
                    for (i++; path[i] && path[i] != '"'; i++) {
                        if (path[i] == '\\' && (path[i + 1] == '"' || path[i + 1] == '\\'))
                            i++;
                        s->keys[s->used++] = path[i];
                    }
                    if (path[i] != '"') {
                        snprintf(err, errlen, "unterminated quoted value at character %zu",
                                 start + 1);
                        return -1;
                    }
                    i++;
                } else {
                    for (; path[i] && path[i] != ']' && path[i] != '"'; i++)
                        s->keys[s->used++] = path[i];
                }
                s->keys[s->used++] = '\0';
                if (path[i] != ']') {
                    snprintf(err, errlen, "expected \"]\" at character %zu", i + 1);
                    return -1;
                }
            } else {
                snprintf(err, errlen,
                         "expected a number, \"*\", a quoted key or a selector such as "
                         "name=helper after \"[\" at character %zu",
                         i);
                return -1;
            }
            i++; /* the ']' */
        } else {
            size_t n = strcspn(path + i, ".[]");
            if (n == 0) {
                if (path[i] == ']')
                    snprintf(err, errlen, "unexpected \"]\" at character %zu", i + 1);
                else
                    snprintf(err, errlen, "empty key at character %zu", i + 1);
                return -1;
            }
            st->type = STEP_KEY;
            st->key = s->keys + s->used;
            memcpy(s->keys + s->used, path + i, n);
            s->used += n;
            s->keys[s->used++] = '\0';
            i += n;
        }
        s->n++;
        need_key = 0;
        if (path[i] == '.') {
            need_key = 1;
            i++;
        } else if (path[i] && path[i] != '[') {
            snprintf(err, errlen, "expected \".\" or \"[\" at character %zu", i + 1);
            return -1;
        }
    }
    return 0;
}

static int walk(const cJSON *v, const struct steps *s, size_t i,
                int (*visit)(const cJSON *value, void *arg), void *arg)
{
    if (i == s->n)
        return visit ? visit(v, arg) : 1;
    const struct step *st = &s->v[i];
    const cJSON *c;
    switch (st->type) {
    case STEP_KEY:
        if (!cJSON_IsObject(v))
            return 0;
        c = cJSON_GetObjectItemCaseSensitive(v, st->key);
        return c ? walk(c, s, i + 1, visit, arg) : 0;
    case STEP_INDEX:
        if (!cJSON_IsArray(v))
            return 0;
        c = cJSON_GetArrayItem(v, st->index);
        return c ? walk(c, s, i + 1, visit, arg) : 0;
    case STEP_SELECT:
        /* The elements of an array whose member key is the string value: "[name=helper]". */
        if (!cJSON_IsArray(v))
            return 0;
        cJSON_ArrayForEach(c, v)
        {
            const cJSON *m =
                cJSON_IsObject(c) ? cJSON_GetObjectItemCaseSensitive(c, st->key) : NULL;
            if (!cJSON_IsString(m) || strcmp(m->valuestring, st->value) != 0)
                continue;
            int r = walk(c, s, i + 1, visit, arg);
            if (r)
                return r;
        }
        return 0;
    case STEP_ANY:
        /* Arrays and objects alike: [*] over labels reaches every label's value. */
        if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
            return 0;
        cJSON_ArrayForEach(c, v)
        {
            int r = walk(c, s, i + 1, visit, arg);
            if (r)
                return r;
        }
        return 0;
    }
    return 0;
}

int match_body_path(const cJSON *body, const char *path,
                    int (*visit)(const cJSON *value, void *arg), void *arg)
{
    struct steps s; /* about 4.5 KiB: on the stack, so matching never allocates */
    char err[128];
    if (!path || compile(path, &s, err, sizeof err) < 0)
        return -1;
    return body ? walk(body, &s, 0, visit, arg) : 0;
}

/* ---- parsing ---- */

static int parse_verb(const cJSON *v, const char *path, struct diag *d, unsigned *verbs)
{
    const char *names[NVERBS + 1];
    char known[256], want[300];
    for (size_t i = 0; i < NVERBS; i++)
        names[i] = VERBS[i].name;
    names[NVERBS] = NULL;
    join(known, sizeof known, names);
    if (!cJSON_IsString(v)) {
        snprintf(want, sizeof want, "a verb (known: %s)", known);
        jsonc_type_error(d, path, want, v);
        return -1;
    }
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(v->valuestring, VERBS[i].name) == 0) {
            *verbs |= VERBS[i].bit;
            return 0;
        }
    unknown_value(d, path, "verb", v->valuestring, known, jsonc_suggest(v->valuestring, names));
    return -1;
}

static int parse_resource(const cJSON *v, const char *path, struct diag *d, struct match *m)
{
    const char *names[KIND__COUNT + 1];
    char known[1024], want[1100];
    for (size_t i = 0; i < KIND__COUNT; i++)
        names[i] = kinds_table[i].resource;
    names[KIND__COUNT] = NULL;
    join(known, sizeof known, names);
    if (!cJSON_IsString(v)) {
        snprintf(want, sizeof want, "a resource name (known: %s)", known);
        jsonc_type_error(d, path, want, v);
        return -1;
    }
    const char *name = v->valuestring;
    size_t k = 0;
    while (k < KIND__COUNT && strcmp(name, kinds_table[k].resource) != 0)
        k++;
    if (k == KIND__COUNT) {
        /* The singular, a short name or the kind points at its plural; else a near spelling. */
        const char *hint = plural_for(name);
        unknown_value(d, path, "resource", name, known, hint ? hint : jsonc_suggest(name, names));
        return -1;
    }
    /* Kept once each, so the array never outgrows the kinds table. */
    for (size_t i = 0; i < m->nresources; i++)
        if (strcmp(m->resources[i], name) == 0)
            return 0;
    if (!m->resources) {
        m->resources = calloc(KIND__COUNT, sizeof *m->resources);
        if (!m->resources)
            goto oom;
    }
    m->resources[m->nresources] = strdup(name);
    if (!m->resources[m->nresources])
        goto oom;
    m->nresources++;
    return 0;
oom:
    diag_path(d, path, "out of memory");
    return -1;
}

/* A string value or an array of them (verb, resource): each element goes to one(). */
static int parse_one_or_many(const cJSON *v, const char *path, struct diag *d, const char *what,
                             int (*one)(const cJSON *, const char *, struct diag *, void *),
                             void *arg)
{
    char sub[JSONC_PATH_MAX], want[128];
    if (cJSON_IsString(v))
        return one(v, path, d, arg);
    snprintf(want, sizeof want, "a %s or a non-empty array of them", what);
    if (!cJSON_IsArray(v)) {
        jsonc_type_error(d, path, want, v);
        return -1;
    }
    if (!v->child) {
        diag_path(d, path, "expected %s, got an empty array", want);
        return -1;
    }
    int rc = 0;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        jsonc_path_index(sub, sizeof sub, path, i++);
        if (one(e, sub, d, arg) < 0)
            rc = -1;
    }
    return rc;
}

static int one_verb(const cJSON *v, const char *path, struct diag *d, void *arg)
{
    return parse_verb(v, path, d, arg);
}

static int one_resource(const cJSON *v, const char *path, struct diag *d, void *arg)
{
    return parse_resource(v, path, d, arg);
}

/* ---- the GitLab side: "server", "endpoint", "job" ---- */

static int one_endpoint(const cJSON *v, const char *path, struct diag *d, void *arg)
{
    char known[128], want[160];
    unsigned *eps = arg;
    join(known, sizeof known, ENDPOINTS);
    if (!cJSON_IsString(v)) {
        snprintf(want, sizeof want, "a GitLab endpoint (known: %s)", known);
        jsonc_type_error(d, path, want, v);
        return -1;
    }
    for (size_t i = 0; i < NENDPOINTS; i++)
        if (strcmp(v->valuestring, ENDPOINTS[i]) == 0) {
            *eps |= 1u << i;
            return 0;
        }
    unknown_value(d, path, "GitLab endpoint", v->valuestring, known,
                  jsonc_suggest(v->valuestring, ENDPOINTS));
    return -1;
}

static int parse_server(const cJSON *v, const char *path, struct diag *d, struct match *m)
{
    char known[64];
    join(known, sizeof known, SERVERS);
    if (!cJSON_IsString(v)) {
        jsonc_type_error(d, path, "\"kube\" or \"gitlab\"", v);
        return -1;
    }
    for (int i = 0; SERVERS[i]; i++)
        if (strcmp(v->valuestring, SERVERS[i]) == 0) {
            m->server = i;
            return 0;
        }
    unknown_value(d, path, "server", v->valuestring, known, jsonc_suggest(v->valuestring, SERVERS));
    return -1;
}

static int parse_job(const cJSON *v, const char *path, struct diag *d, struct match *m)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        jsonc_type_error(d, path, "a job id (an integer >= 1)", v);
        return -1;
    }
    m->job = (int64_t)v->valuedouble;
    return 0;
}

/* Keys of one server used with the other, and GitLab selections no request satisfies. */
static int check_server(const cJSON *spec, const char *path, struct diag *d, const struct match *m)
{
    static const char *const kube_only[] = {"verb",      "resource", "subresource",
                                            "namespace", "name",     NULL};
    static const char *const gitlab_only[] = {"endpoint", "job", NULL};
    const unsigned with_job = 1u << GLPROTO_EP_TRACE | 1u << GLPROTO_EP_JOB_UPDATE;
    char sub[JSONC_PATH_MAX];
    int rc = 0;
    for (size_t i = 0; m->server == MATCH_SERVER_GITLAB && kube_only[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(spec, kube_only[i])) {
            diag_path(d, jsonc_path_key(sub, sizeof sub, path, kube_only[i]),
                      "\"%s\" selects kube-apiserver requests, but \"server\" is \"gitlab\" "
                      "(GitLab requests are selected by \"endpoint\", \"job\", \"path\", "
                      "\"query\", \"headers\" and \"body\")",
                      kube_only[i]);
            rc = -1;
        }
    for (size_t i = 0; m->server != MATCH_SERVER_GITLAB && gitlab_only[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(spec, gitlab_only[i])) {
            diag_path(d, jsonc_path_key(sub, sizeof sub, path, gitlab_only[i]),
                      "\"%s\" selects GitLab requests: add \"server\": \"gitlab\"", gitlab_only[i]);
            rc = -1;
        }
    if (rc == 0 && m->job && m->endpoints && !(m->endpoints & with_job)) {
        diag_path(d, jsonc_path_key(sub, sizeof sub, path, "job"),
                  "impossible combination: only \"trace\" and \"update\" requests name a job, "
                  "but the match selects neither");
        rc = -1;
    }
    return rc;
}

const char *match_gitlab_endpoint(int ep)
{
    return ep >= 0 && ep < (int)NENDPOINTS ? ENDPOINTS[ep] : ENDPOINTS[0];
}

/* A pattern string into *out (owned); what names it in a type error ("a namespace pattern"). */
static int parse_glob(const cJSON *v, const char *path, struct diag *d, const char *what,
                      char **out)
{
    if (!cJSON_IsString(v)) {
        jsonc_type_error(d, path, what, v);
        return -1;
    }
    if (strlen(v->valuestring) > MAX_GLOB) {
        diag_path(d, path, "pattern is longer than %d characters", MAX_GLOB);
        return -1;
    }
    *out = strdup(v->valuestring);
    if (!*out) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    return 0;
}

/* RFC 9110 token characters: what a header name may be made of. */
static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return 0;
    }
    return 1;
}

/* "query" or "headers": an object of name -> pattern string, or true for "present". */
static int parse_kvs(const cJSON *v, const char *path, struct diag *d, int headers,
                     struct match_kv **out, size_t *nout)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF], want[96];
    const char *what = headers ? "header" : "query parameter";
    size_t max = headers ? MAX_HEADER_ENTRIES : MAX_QUERY_ENTRIES;
    if (!cJSON_IsObject(v)) {
        snprintf(want, sizeof want, "an object of %s names to patterns (or true)", what);
        jsonc_type_error(d, path, want, v);
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0)
        return 0;
    if (n > max) {
        diag_path(d, path, "too many %ss (%zu, max %zu)", what, n, max);
        return -1;
    }
    *out = calloc(n, sizeof **out);
    if (!*out) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    int rc = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        jsonc_path_key(sub, sizeof sub, path, e->string);
        if (reported_duplicate(v, e, path, d)) {
            rc = -1;
            continue;
        }
        if (!*e->string || (headers && !is_token(e->string))) {
            diag_path(d, sub, "invalid %s name \"%s\"", what,
                      jsonc_show(shown, sizeof shown, e->string));
            rc = -1;
            continue;
        }
        if (!cJSON_IsTrue(e) && !cJSON_IsString(e)) {
            /* "got boolean" would puzzle next to "or true": name the false */
            if (cJSON_IsFalse(e))
                diag_path(d, sub, "expected %s, got false", KV_WANT);
            else
                jsonc_type_error(d, sub, KV_WANT, e);
            rc = -1;
            continue;
        }
        struct match_kv *kv = &(*out)[*nout];
        kv->key = strdup(e->string);
        if (!kv->key || (cJSON_IsString(e) && parse_glob(e, sub, d, "a pattern", &kv->glob) < 0)) {
            if (!kv->key)
                diag_path(d, sub, "out of memory");
            free(kv->key);
            kv->key = NULL;
            rc = -1;
            continue;
        }
        (*nout)++;
    }
    return rc;
}

static int parse_body_entry(const cJSON *e, const char *path, struct diag *d, struct match_body *b)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF], err[128];
    const cJSON *p = NULL, *op = NULL;
    int rc = 0, nops = 0;
    if (!cJSON_IsObject(e)) {
        jsonc_type_error(d, path, BODY_ENTRY_WANT, e);
        return -1;
    }
    if (jsonc_check_keys(e, path, BODY_KEYS, d) < 0)
        rc = -1;
    const cJSON *c;
    cJSON_ArrayForEach(c, e)
    {
        if (!is_one_of(c->string, BODY_KEYS)) /* reported by jsonc_check_keys() */
            continue;
        if (reported_duplicate(e, c, path, d)) {
            rc = -1;
        } else if (strcmp(c->string, "path") == 0) {
            p = c;
        } else if (strcmp(c->string, "exists") == 0 || strcmp(c->string, "absent") == 0) {
            nops++;
            op = c;
            if (!cJSON_IsTrue(c)) {
                diag_path(d, jsonc_path_key(sub, sizeof sub, path, c->string), "expected true%s",
                          strcmp(c->string, "exists") == 0
                              ? " (for the opposite, write \"absent\": true)"
                              : " (for the opposite, write \"exists\": true)");
                rc = -1;
            }
        } else { /* "equals" */
            nops++;
            op = c;
        }
    }
    if (!p) {
        diag_path(d, path, "missing key \"path\"");
        rc = -1;
    } else {
        jsonc_path_key(sub, sizeof sub, path, "path");
        if (!cJSON_IsString(p)) {
            jsonc_type_error(d, sub, "a body path such as \"spec.containers[*].image\"", p);
            rc = -1;
        } else {
            struct steps s;
            if (compile(p->valuestring, &s, err, sizeof err) < 0) {
                diag_path(d, sub, "invalid body path \"%s\": %s",
                          jsonc_show(shown, sizeof shown, p->valuestring), err);
                rc = -1;
            }
        }
    }
    if (nops != 1) {
        diag_path(d, path, "expected exactly one of \"exists\", \"absent\" or \"equals\" (got %d)",
                  nops);
        rc = -1;
    }
    if (rc < 0)
        return -1;
    b->path = strdup(p->valuestring);
    if (strcmp(op->string, "equals") == 0) {
        b->op = MATCH_BODY_EQUALS;
        b->value = cJSON_Duplicate(op, 1);
    } else {
        b->op = strcmp(op->string, "exists") == 0 ? MATCH_BODY_EXISTS : MATCH_BODY_ABSENT;
    }
    if (!b->path || (b->op == MATCH_BODY_EQUALS && !b->value)) {
        free(b->path);
        cJSON_Delete(b->value);
        b->path = NULL;
        b->value = NULL;
        diag_path(d, path, "out of memory");
        return -1;
    }
    return 0;
}

static int parse_body(const cJSON *v, const char *path, struct diag *d, struct match *m)
{
    char sub[JSONC_PATH_MAX];
    if (!cJSON_IsArray(v)) {
        jsonc_type_error(d, path, "an array of body predicates", v);
        return -1;
    }
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0)
        return 0;
    if (n > MAX_BODY_ENTRIES) {
        diag_path(d, path, "too many body predicates (%zu, max %d)", n, MAX_BODY_ENTRIES);
        return -1;
    }
    m->body = calloc(n, sizeof *m->body);
    if (!m->body) {
        diag_path(d, path, "out of memory");
        return -1;
    }
    int rc = 0;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        jsonc_path_index(sub, sizeof sub, path, i++);
        if (parse_body_entry(e, sub, d, &m->body[m->nbody]) < 0)
            rc = -1;
        else
            m->nbody++;
    }
    return rc;
}

int match_parse(const cJSON *spec, const char *path, struct diag *d, struct match *m)
{
    char sub[JSONC_PATH_MAX], shown[JSONC_SHOW_BUF];
    int rc = 0;
    memset(m, 0, sizeof *m);
    if (!path)
        path = "";
    if (!spec)
        return 0;
    if (jsonc_as_object(spec, path, d) < 0)
        return -1;
    if (jsonc_check_keys(spec, path, MATCH_KEYS, d) < 0)
        rc = -1;
    const cJSON *c;
    cJSON_ArrayForEach(c, spec)
    {
        const char *k = c->string;
        int r;
        if (!is_one_of(k, MATCH_KEYS)) /* reported by jsonc_check_keys() */
            continue;
        jsonc_path_key(sub, sizeof sub, path, k);
        if (reported_duplicate(spec, c, path, d)) {
            r = -1;
        } else if (strcmp(k, "verb") == 0) {
            r = parse_one_or_many(c, sub, d, "verb", one_verb, &m->verbs);
        } else if (strcmp(k, "resource") == 0) {
            r = parse_one_or_many(c, sub, d, "resource name", one_resource, m);
        } else if (strcmp(k, "subresource") == 0) {
            r = parse_glob(c, sub, d, "a subresource name (\"\" for none)", &m->subresource);
        } else if (strcmp(k, "namespace") == 0) {
            r = parse_glob(c, sub, d, "a namespace pattern", &m->namespace_glob);
        } else if (strcmp(k, "name") == 0) {
            r = parse_glob(c, sub, d, "a name pattern", &m->name_glob);
        } else if (strcmp(k, "path") == 0) {
            r = parse_glob(c, sub, d, "a URL path pattern", &m->path_glob);
            /* Request paths start with '/': a pattern that cannot is a typo, not a rule. */
            if (r == 0 && !strchr("/*?[", m->path_glob[0])) {
                diag_path(d, sub,
                          "path pattern \"%s\" never matches: request paths start with \"/\"",
                          jsonc_show(shown, sizeof shown, m->path_glob));
                r = -1;
            }
        } else if (strcmp(k, "server") == 0) {
            r = parse_server(c, sub, d, m);
        } else if (strcmp(k, "endpoint") == 0) {
            r = parse_one_or_many(c, sub, d, "GitLab endpoint", one_endpoint, &m->endpoints);
        } else if (strcmp(k, "job") == 0) {
            r = parse_job(c, sub, d, m);
        } else if (strcmp(k, "query") == 0) {
            r = parse_kvs(c, sub, d, 0, &m->query, &m->nquery);
        } else if (strcmp(k, "headers") == 0) {
            r = parse_kvs(c, sub, d, 1, &m->headers, &m->nheaders);
        } else { /* "body" */
            r = parse_body(c, sub, d, m);
        }
        if (r < 0)
            rc = -1;
    }
    if (rc == 0 && check_server(spec, path, d, m) < 0)
        rc = -1;
    if (rc < 0)
        match_release(m);
    return rc;
}

static void kvs_free(struct match_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].glob);
    }
    free(kv);
}

void match_release(struct match *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nresources; i++)
        free(m->resources[i]);
    free(m->resources);
    free(m->subresource);
    free(m->namespace_glob);
    free(m->name_glob);
    free(m->path_glob);
    kvs_free(m->query, m->nquery);
    kvs_free(m->headers, m->nheaders);
    for (size_t i = 0; i < m->nbody; i++) {
        free(m->body[i].path);
        cJSON_Delete(m->body[i].value);
    }
    free(m->body);
    memset(m, 0, sizeof *m);
}

/* ---- matching ---- */

unsigned match_verb_of(const struct http_request *req, const struct route *r)
{
    if (!r || r->type != ROUTE_OBJECT)
        return MATCH_OTHER;
    if (r->kind && r->kind->id == KIND_pods && r->name[0]) {
        const char *m = req && req->method ? req->method : "";
        if (strcmp(r->subresource, "exec") == 0)
            return MATCH_EXEC;
        if (strcmp(r->subresource, "attach") == 0)
            return MATCH_ATTACH;
        /* HEAD is routed as GET, so it is a log request too; other methods keep their verb. */
        if (strcmp(r->subresource, "log") == 0 && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0))
            return MATCH_LOG;
    }
    switch (r->verb) {
    case VERB_GET:
        return MATCH_GET;
    case VERB_LIST:
        return MATCH_LIST;
    case VERB_WATCH:
        return MATCH_WATCH;
    case VERB_CREATE:
        return MATCH_CREATE;
    case VERB_UPDATE:
        return MATCH_UPDATE;
    case VERB_PATCH:
        return MATCH_PATCH;
    case VERB_DELETE:
        return MATCH_DELETE;
    case VERB_DELETECOLLECTION:
        return MATCH_DELETECOLLECTION;
    case VERB_NONE:
        break;
    }
    return MATCH_OTHER;
}

static int glob_ok(const char *glob, const char *s)
{
    return !glob || fnmatch(glob, s ? s : "", 0) == 0;
}

static int query_ok(const struct match_kv *kv, const struct http_request *req)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, kv->key) == 0 && glob_ok(kv->glob, req->params[i].value))
            return 1;
    return 0;
}

static int header_ok(const struct match_kv *kv, const struct http_request *req)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, kv->key) == 0 &&
            glob_ok(kv->glob, req->headers[i].value))
            return 1;
    return 0;
}

static int on_equal(const cJSON *value, void *arg)
{
    return cJSON_Compare(value, arg, 1);
}

static int body_ok(const struct match_body *b, const cJSON *body)
{
    int r;
    switch (b->op) {
    case MATCH_BODY_EXISTS:
        return match_body_path(body, b->path, NULL, NULL) == 1;
    case MATCH_BODY_ABSENT:
        return match_body_path(body, b->path, NULL, NULL) == 0;
    case MATCH_BODY_EQUALS:
        r = match_body_path(body, b->path, on_equal, b->value);
        return r == 1;
    }
    return 0;
}

static int on_glob(const cJSON *value, void *arg)
{
    return cJSON_IsString(value) && fnmatch(arg, value->valuestring, 0) == 0;
}

int match_path_matches(const cJSON *obj, const char *path, const char *glob)
{
    return glob && match_body_path(obj, path, on_glob, (void *)glob) == 1;
}

int match_predicate(const cJSON *pred, const cJSON *obj)
{
    const cJSON *p = cJSON_IsObject(pred) ? cJSON_GetObjectItemCaseSensitive(pred, "path") : NULL;
    const cJSON *v;
    if (!cJSON_IsString(p))
        return 0;
    const char *path = p->valuestring;
    if ((v = cJSON_GetObjectItemCaseSensitive(pred, "exists")))
        return match_body_path(obj, path, NULL, NULL) == 1;
    if ((v = cJSON_GetObjectItemCaseSensitive(pred, "absent")))
        return match_body_path(obj, path, NULL, NULL) == 0;
    if ((v = cJSON_GetObjectItemCaseSensitive(pred, "equals")))
        return match_body_path(obj, path, on_equal, (void *)v) == 1;
    if ((v = cJSON_GetObjectItemCaseSensitive(pred, "notEquals")))
        return match_body_path(obj, path, on_equal, (void *)v) != 1;
    if ((v = cJSON_GetObjectItemCaseSensitive(pred, "matches")))
        return cJSON_IsString(v) && match_path_matches(obj, path, v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive(pred, "notMatches")))
        return cJSON_IsString(v) && !match_path_matches(obj, path, v->valuestring);
    return 0;
}

/* What both servers' requests are matched on: the raw path, query, headers, body. */
static int request_ok(const struct match *m, const struct http_request *req, const cJSON *body)
{
    if (m->path_glob && !glob_ok(m->path_glob, req ? req->path : NULL))
        return 0;
    if ((m->nquery || m->nheaders) && !req)
        return 0;
    for (size_t i = 0; i < m->nquery; i++)
        if (!query_ok(&m->query[i], req))
            return 0;
    for (size_t i = 0; i < m->nheaders; i++)
        if (!header_ok(&m->headers[i], req))
            return 0;
    for (size_t i = 0; i < m->nbody; i++)
        if (!body_ok(&m->body[i], body))
            return 0;
    return 1;
}

int match_request(const struct match *m, const struct http_request *req, const struct route *r,
                  const cJSON *body)
{
    static const struct route none; /* an unrouted request: every field empty */
    if (!m)
        return 1;
    if (m->server != MATCH_SERVER_KUBE)
        return 0;
    if (!r)
        r = &none;
    if (m->verbs && !(m->verbs & match_verb_of(req, r)))
        return 0;
    if (m->nresources) {
        size_t i = 0;
        if (r->type != ROUTE_OBJECT || !r->kind)
            return 0;
        while (i < m->nresources && strcmp(m->resources[i], r->kind->resource) != 0)
            i++;
        if (i == m->nresources)
            return 0;
    }
    if (m->subresource && strcmp(m->subresource, r->subresource) != 0)
        return 0;
    if (!glob_ok(m->namespace_glob, r->namespace) || !glob_ok(m->name_glob, r->name))
        return 0;
    return request_ok(m, req, body);
}

int match_gitlab_request(const struct match *m, const struct http_request *req,
                         const struct glproto_route *r, const cJSON *body)
{
    if (!m || m->server != MATCH_SERVER_GITLAB || !r)
        return 0;
    if (m->endpoints && !(m->endpoints & (1u << r->ep)))
        return 0;
    if (m->job && m->job != r->job_id)
        return 0;
    return request_ok(m, req, body);
}

int match_needs_body(const struct match *m)
{
    return m && m->nbody > 0;
}
