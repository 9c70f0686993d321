/* admission.c -- admission policies: validating webhooks that deny with their exact words or
 * misbehave (time out, fail), exemptions by label, annotation and namespace, run before the rules
 * on every write; see admission.h for what each verb's policies look at */
#include "harness/admission.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness/diag.h"
#include "harness/engine.h"
#include "harness/fault.h"
#include "harness/journal.h"
#include "harness/match.h"
#include "harness/scenario.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/http.h"
#include "mockapi/kube/api.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/patch.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/selector.h"
#include "mockapi/kube/status.h"
#include "mockapi/kube/store.h"
#include "mockapi/server.h"

/* kube-apiserver's ToStatusErr writes `admission webhook %q denied the request: %s`; a scenario
 * message that starts like this already names its webhook. */
#define DENIED_PREFIX "admission webhook \""
#define WRITES (MATCH_CREATE | MATCH_UPDATE | MATCH_PATCH | MATCH_DELETE | MATCH_DELETECOLLECTION)
#define BODY_VERBS (MATCH_CREATE | MATCH_UPDATE | MATCH_PATCH)
#define ELEMENT_MAX 254 /* an {element}: a container name is a DNS label, a name at most 253 */
#define MEDIA_MAX 128   /* a Content-Type's media type, lowercased */

enum pred_op {
    PRED_EXISTS,
    PRED_ABSENT,
    PRED_EQUALS,
    PRED_NOT_EQUALS,
    PRED_MATCHES,
    PRED_NOT_MATCHES
};

struct pred {
    const char *path; /* borrowed from the scenario's JSON */
    enum pred_op op;
    const cJSON *value; /* PRED_EQUALS, PRED_NOT_EQUALS, PRED_MATCHES; borrowed */
};

struct exempt_kv {
    const char *key;  /* label or annotation key */
    const char *glob; /* fnmatch(3) pattern; "" matches only an empty value */
};

struct policy {
    const struct admission_policy *ap; /* the scenario's entry (name, spec) */
    struct match match;
    unsigned verbs; /* the verbs it acts on: match.verbs, or every write */
    struct pred *when;
    size_t nwhen;
    const char *for_each; /* NULL: the object as a whole */
    struct exempt_kv *labels, *annotations;
    size_t nlabels, nannotations;
    const char **namespaces;
    size_t nnamespaces;
    int deny;
    int code;
    const char *reason;  /* NULL: none */
    const char *message; /* the template */
    struct rule rule;    /* !deny: the fault, as a rule the fault type can be handed */
    char path[32];       /* "admission[N]", for messages */
};

struct admission {
    struct policy *p;
    size_t n;
};

/* ---- building ---- */

static int build_preds(struct policy *p, const cJSON *arr)
{
    static const struct {
        const char *key;
        enum pred_op op;
    } ops[] = {{"exists", PRED_EXISTS},   {"absent", PRED_ABSENT},
               {"equals", PRED_EQUALS},   {"notEquals", PRED_NOT_EQUALS},
               {"matches", PRED_MATCHES}, {"notMatches", PRED_NOT_MATCHES}};
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (!n)
        return 0;
    if (!(p->when = calloc(n, sizeof *p->when)))
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        struct pred *pr = &p->when[p->nwhen];
        pr->path = json_str(e, "path");
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, ops[k].key);
            if (v) {
                pr->op = ops[k].op;
                pr->value = v;
            }
        }
        if (pr->path)
            p->nwhen++;
    }
    return 0;
}

static int build_kvs(const cJSON *map, struct exempt_kv **out, size_t *n)
{
    size_t cap = (size_t)cJSON_GetArraySize(map);
    if (!cap)
        return 0;
    if (!(*out = calloc(cap, sizeof **out)))
        return -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        if (!cJSON_IsString(e))
            continue;
        (*out)[*n].key = e->string;
        (*out)[*n].glob = e->valuestring;
        (*n)++;
    }
    return 0;
}

static int build_exempt(struct policy *p, const cJSON *ex)
{
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(ex, "namespaces"), *e;
    if (build_kvs(cJSON_GetObjectItemCaseSensitive(ex, "labels"), &p->labels, &p->nlabels) < 0 ||
        build_kvs(cJSON_GetObjectItemCaseSensitive(ex, "annotations"), &p->annotations,
                  &p->nannotations) < 0)
        return -1;
    size_t cap = (size_t)cJSON_GetArraySize(ns);
    if (!cap)
        return 0;
    if (!(p->namespaces = calloc(cap, sizeof *p->namespaces)))
        return -1;
    cJSON_ArrayForEach(e, ns)
    {
        if (cJSON_IsString(e))
            p->namespaces[p->nnamespaces++] = e->valuestring;
    }
    return 0;
}

static const char *default_reason(int code)
{
    switch (code) {
    case 400:
        return STATUS_REASON_BADREQUEST;
    case 422:
        return STATUS_REASON_INVALID;
    default:
        return STATUS_REASON_FORBIDDEN;
    }
}

static void build_deny(struct policy *p, const cJSON *deny)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(deny, "code");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(deny, "reason");
    p->deny = 1;
    p->code = cJSON_IsNumber(code) ? (int)code->valuedouble : 403;
    /* ToStatusErr: a rejection never answers below 400 */
    if (p->code < 400)
        p->code = 400;
    if (cJSON_IsString(reason))
        p->reason = reason->valuestring[0] ? reason->valuestring : NULL;
    else
        p->reason = default_reason(p->code);
    p->message = json_str_or(deny, "message", "");
}

/* The fault as a rule: fault types are handed a rule and its parameters. */
static int build_fault(struct policy *p, const cJSON *spec, struct diag *d)
{
    char fpath[48];
    const char *type = json_str(spec, "type");
    const struct fault_type *ft = type ? fault_type_find(type) : NULL;
    snprintf(fpath, sizeof fpath, "%s.fault", p->path);
    if (!ft || ft->layer != FAULT_LAYER_HTTP || !ft->on_request) {
        diag_path(d, fpath, "\"%s\" cannot act on an admission request", type ? type : "");
        return -1;
    }
    if (ft->parse && ft->parse(spec, fpath, d, &p->rule.fault_ctx) < 0)
        return -1;
    p->rule.fault = ft;
    p->rule.fault_spec = (cJSON *)spec; /* borrowed from the scenario: never freed here */
    p->rule.enabled = 1;
    p->rule.path = p->path;
    return 0;
}

static int build_policy(struct policy *p, const struct admission_policy *ap, size_t i,
                        struct diag *d)
{
    const cJSON *spec = ap->spec, *v;
    char mpath[48];
    p->ap = ap;
    snprintf(p->path, sizeof p->path, "admission[%zu]", i);
    snprintf(p->rule.name, sizeof p->rule.name, "%s", ap->name);
    snprintf(mpath, sizeof mpath, "%s.match", p->path);
    if (match_parse(cJSON_GetObjectItemCaseSensitive(spec, "match"), mpath, d, &p->match) < 0)
        return -1;
    p->verbs = p->match.verbs ? p->match.verbs & WRITES : WRITES;
    if ((v = cJSON_GetObjectItemCaseSensitive(spec, "when")) && build_preds(p, v) < 0)
        goto oom;
    p->for_each = json_str(spec, "forEach");
    if ((v = cJSON_GetObjectItemCaseSensitive(spec, "exempt")) && build_exempt(p, v) < 0)
        goto oom;
    if ((v = cJSON_GetObjectItemCaseSensitive(spec, "deny"))) {
        build_deny(p, v);
        return 0;
    }
    return build_fault(p, cJSON_GetObjectItemCaseSensitive(spec, "fault"), d);
oom:
    diag_path(d, p->path, "out of memory");
    return -1;
}

static void release_policy(struct policy *p)
{
    match_release(&p->match);
    free(p->when);
    free(p->labels);
    free(p->annotations);
    free(p->namespaces);
    if (p->rule.fault && p->rule.fault_ctx) {
        if (p->rule.fault->free)
            p->rule.fault->free(p->rule.fault_ctx);
        else
            free(p->rule.fault_ctx);
    }
}

struct admission *admission_new(const struct scenario *s, struct diag *d)
{
    struct admission *a = calloc(1, sizeof *a);
    if (!a)
        goto oom;
    if (!s->nadmission)
        return a;
    if (!(a->p = calloc(s->nadmission, sizeof *a->p)))
        goto oom;
    for (; a->n < s->nadmission; a->n++)
        if (build_policy(&a->p[a->n], &s->admission[a->n], a->n, d) < 0) {
            a->n++; /* release what it built too */
            admission_free(a);
            return NULL;
        }
    return a;
oom:
    diag_path(d, "admission", "out of memory");
    admission_free(a);
    return NULL;
}

void admission_free(struct admission *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        release_policy(&a->p[i]);
    free(a->p);
    free(a);
}

struct admission *admission_get(struct admission **slot, const struct scenario *s)
{
    if (*slot || !s->nadmission)
        return *slot;
    struct diag d;
    diag_init(&d, s->file ? s->file : "scenario");
    if (!(*slot = admission_new(s, &d))) {
        /* an empty set from now on, so this is said once (NULL again only when even that
         * allocation fails: the next request tries anew) */
        log_error("admission policies off: %s", d.n ? d.msgs[0] : "out of memory");
        *slot = calloc(1, sizeof **slot);
    }
    diag_release(&d);
    return *slot;
}

/* ---- deciding ---- */

static int on_equal(const cJSON *value, void *arg)
{
    return cJSON_Compare(value, arg, 1);
}

static int pred_holds(const struct pred *pr, const cJSON *obj)
{
    switch (pr->op) {
    case PRED_EXISTS:
        return match_body_path(obj, pr->path, NULL, NULL) == 1;
    case PRED_ABSENT:
        return match_body_path(obj, pr->path, NULL, NULL) == 0;
    case PRED_EQUALS:
        return match_body_path(obj, pr->path, on_equal, (void *)pr->value) == 1;
    case PRED_NOT_EQUALS:
        return match_body_path(obj, pr->path, on_equal, (void *)pr->value) != 1;
    case PRED_MATCHES:
        return cJSON_IsString(pr->value) &&
               match_path_matches(obj, pr->path, pr->value->valuestring);
    case PRED_NOT_MATCHES:
        return cJSON_IsString(pr->value) &&
               !match_path_matches(obj, pr->path, pr->value->valuestring);
    }
    return 0;
}

static int all_hold(const struct policy *p, const cJSON *obj)
{
    for (size_t i = 0; i < p->nwhen; i++)
        if (!pred_holds(&p->when[i], obj))
            return 0;
    return 1;
}

/* forEach: the first element for which every predicate holds, named into elem. */
struct each {
    const struct policy *p;
    size_t seen;
    char *elem;
};

static int on_element(const cJSON *value, void *arg)
{
    struct each *ea = arg;
    size_t pos = ea->seen++;
    if (!all_hold(ea->p, value))
        return 0;
    const char *name = json_str(value, "name");
    if (name)
        snprintf(ea->elem, ELEMENT_MAX + 1, "%s", name);
    else
        snprintf(ea->elem, ELEMENT_MAX + 1, "%zu", pos);
    return 1;
}

static int kvs_match(const struct exempt_kv *kv, size_t n, const cJSON *map)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = json_str(map, kv[i].key);
        if (v && fnmatch(kv[i].glob, v, 0) == 0)
            return 1;
    }
    return 0;
}

static int exempt(const struct policy *p, const struct route *r, const cJSON *obj)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (kvs_match(p->labels, p->nlabels, cJSON_GetObjectItemCaseSensitive(meta, "labels")) ||
        kvs_match(p->annotations, p->nannotations,
                  cJSON_GetObjectItemCaseSensitive(meta, "annotations")))
        return 1;
    const char *ns = r && r->namespace[0] ? r->namespace : json_str_or(meta, "namespace", "");
    for (size_t i = 0; ns[0] && i < p->nnamespaces; i++)
        if (fnmatch(p->namespaces[i], ns, 0) == 0)
            return 1;
    return 0;
}

/* Append s to buf (len bytes used of cap); 0, or -1 when it did not all fit (cut). */
static int put(char *buf, size_t *len, size_t cap, const char *s, size_t n)
{
    int cut = 0;
    if (n > cap - 1 - *len) {
        n = cap - 1 - *len;
        cut = 1;
    }
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
    return cut ? -1 : 0;
}

/* The Status message: the template with {name}, {namespace} and {element} filled, prefixed as
 * ToStatusErr prefixes a webhook's message unless it already is. Owned by the caller. */
static char *compose(const struct policy *p, const char *name, const char *ns, const char *elem)
{
    static const char *const vars[] = {"name", "namespace", "element"};
    const char *vals[] = {name, ns, elem};
    char *buf = malloc(ADMISSION_MAX_MESSAGE);
    size_t len = 0;
    int cut = 0;
    if (!buf)
        return NULL;
    buf[0] = '\0';
    if (strncmp(p->message, DENIED_PREFIX, strlen(DENIED_PREFIX)) != 0) {
        cut |= put(buf, &len, ADMISSION_MAX_MESSAGE, DENIED_PREFIX, strlen(DENIED_PREFIX));
        cut |= put(buf, &len, ADMISSION_MAX_MESSAGE, p->ap->name, strlen(p->ap->name));
        static const char denied[] = "\" denied the request: ";
        cut |= put(buf, &len, ADMISSION_MAX_MESSAGE, denied, strlen(denied));
    }
    for (const char *s = p->message; *s;) {
        size_t k = 0;
        if (*s == '{') {
            while (k < 3 && !(vals[k] && strncmp(s + 1, vars[k], strlen(vars[k])) == 0 &&
                              s[1 + strlen(vars[k])] == '}'))
                k++;
        }
        if (*s == '{' && k < 3) {
            cut |= put(buf, &len, ADMISSION_MAX_MESSAGE, vals[k], strlen(vals[k]));
            s += strlen(vars[k]) + 2;
        } else {
            size_t n = strcspn(s + 1, "{") + 1;
            cut |= put(buf, &len, ADMISSION_MAX_MESSAGE, s, n);
            s += n;
        }
    }
    if (cut)
        log_warn("admission %s: message cut to %d bytes", p->ap->name, ADMISSION_MAX_MESSAGE - 1);
    return buf;
}

/* admission.extractResourceName, as far as it is known before the object is stored. */
static const char *object_name(const struct route *r, const cJSON *obj)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *n = json_str(meta, "name");
    if (r && r->name[0])
        return r->name;
    if (n && *n)
        return n;
    return json_str_or(meta, "generateName", "");
}

static int decide_from(const struct admission *a, size_t start, const struct http_request *req,
                       const struct route *r, const cJSON *object, struct admission_result *out,
                       size_t *index)
{
    unsigned verb = match_verb_of(req, r);
    char elem[ELEMENT_MAX + 1] = "";
    memset(out, 0, sizeof *out);
    if (!a || !(verb & WRITES))
        return 0;
    for (size_t i = start; i < a->n; i++) {
        const struct policy *p = &a->p[i];
        if (!(p->verbs & verb) || (r && r->subresource[0] && !p->match.subresource))
            continue;
        if (!match_request(&p->match, req, r, object) || exempt(p, r, object))
            continue;
        if (p->for_each) {
            struct each ea = {p, 0, elem};
            if (match_body_path(object, p->for_each, on_element, &ea) != 1)
                continue;
        } else if (!all_hold(p, object)) {
            continue;
        }
        *index = i;
        out->policy = p->ap->name;
        out->deny = p->deny;
        if (!p->deny) {
            out->fault = &p->rule;
            return 1;
        }
        out->code = p->code;
        out->reason = p->reason;
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(object, "metadata");
        const char *ns = r && r->namespace[0] ? r->namespace : json_str_or(meta, "namespace", "");
        if (!(out->message = compose(p, object_name(r, object), ns, p->for_each ? elem : NULL)))
            return -1;
        return 1;
    }
    return 0;
}

int admission_decide(const struct admission *a, const struct http_request *req,
                     const struct route *r, const cJSON *object, struct admission_result *out)
{
    size_t index;
    return decide_from(a, 0, req, r, object, out, &index);
}

void admission_result_release(struct admission_result *res)
{
    if (!res)
        return;
    free(res->message);
    res->message = NULL;
}

cJSON *admission_status(const struct admission_result *res)
{
    return status_new(res->code, res->reason, res->message ? res->message : "");
}

int admission_needs_body(const struct admission *a, const struct http_request *req,
                         const struct route *r)
{
    unsigned verb = match_verb_of(req, r);
    if (!a || !(verb & BODY_VERBS))
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->p[i].verbs & verb)
            return 1;
    return 0;
}

/* ---- the object each verb's policies look at ---- */

static const char *media_type(const struct http_request *req, char *buf, size_t len)
{
    const char *ct = http_request_header(req, "Content-Type");
    size_t n = 0;
    if (!ct)
        ct = "";
    while (*ct == ' ')
        ct++;
    for (; ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < len; n++)
        buf[n] = ct[n] >= 'A' && ct[n] <= 'Z' ? (char)(ct[n] - 'A' + 'a') : ct[n];
    buf[n] = '\0';
    return buf;
}

/* 1 when kube-apiserver would get as far as its webhooks with this body: an object of the
 * route's kind, in the route's namespace (which exists), with a name, and for updates the URL's. */
static int body_admissible(const cJSON *body, const struct route *r, struct store *st,
                           unsigned verb)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(body, "metadata");
    const char *kind = json_str(body, "kind"), *ns = json_str(meta, "namespace");
    const char *name = json_str(meta, "name"), *gen = json_str(meta, "generateName");
    if (!cJSON_IsObject(body) || (kind && *kind && strcmp(kind, r->kind->kind) != 0))
        return 0;
    if (r->kind->namespaced && ns && *ns && strcmp(ns, r->namespace) != 0)
        return 0;
    if (r->kind->namespaced && !store_get(st, &kinds_table[KIND_namespaces], "", r->namespace))
        return 0;
    if (verb == MATCH_CREATE)
        return (name && *name) || (gen && *gen);
    return !name || !*name || strcmp(name, r->name) == 0;
}

/* The stored object with the request's patch applied (caller frees), or NULL when kube would
 * refuse the patch before admission (its error is the API layer's to give). When server-side
 * apply creates the object, the body is the object. */
static cJSON *patched(const struct http_request *req, const struct route *r, const cJSON *body,
                      struct store *st)
{
    char mt[MEDIA_MAX], err[512];
    const cJSON *old = store_get(st, r->kind, r->namespace, r->name);
    int rc;
    media_type(req, mt, sizeof mt);
    if (!body)
        return NULL;
    if (!old)
        return strcmp(mt, HTTP_CT_APPLY_PATCH) == 0 ? cJSON_Duplicate(body, 1) : NULL;
    cJSON *obj = cJSON_Duplicate(old, 1);
    if (!obj)
        return NULL;
    if (strcmp(mt, HTTP_CT_JSON_PATCH) == 0)
        rc = kpatch_json(obj, body, err, sizeof err);
    else if (strcmp(mt, HTTP_CT_STRATEGIC_PATCH) == 0)
        rc = kpatch_strategic(obj, body, r->kind->kind, err, sizeof err);
    else if (strcmp(mt, HTTP_CT_MERGE_PATCH) == 0 || strcmp(mt, HTTP_CT_APPLY_PATCH) == 0)
        rc = kpatch_merge(obj, body, err, sizeof err);
    else
        rc = -1; /* 415 from the API layer */
    if (rc < 0) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* ---- acting ---- */

static void journal_rule(struct journal_entry *je, const char *policy)
{
    if (!je)
        return;
    int n = snprintf(je->rule, sizeof je->rule, "admission:%s", policy);
    if (n < 0 || (size_t)n >= sizeof je->rule)
        log_debug("admission %s: journal rule name cut", policy);
}

static enum hook_verdict act(struct admission_result *res, struct engine *e, struct conn *c,
                             struct http_request *req, const struct route *r,
                             struct journal_entry *je)
{
    journal_rule(je, res->policy);
    if (res->deny) {
        log_info("admission %s: denied %s %s (%d)", res->policy, req->method, req->url, res->code);
        if (je) {
            je->fault[0] = '\0';
            snprintf(je->note, sizeof je->note, "admission denied (%d%s%s)", res->code,
                     res->reason ? " " : "", res->reason ? res->reason : "");
        }
        api_send_status(c, admission_status(res));
        return HOOK_HANDLED;
    }
    struct rule *rule = (struct rule *)res->fault;
    char note[sizeof je->note] = "";
    struct fault_request fr = {e,   rule,          rule->fault_ctx, c,    req,
                               r,   engine_rng(e), engine_base(e),  note, sizeof note,
                               NULL};
    log_info("admission %s: %s on %s %s", res->policy, rule->fault->name, req->method, req->url);
    if (je) {
        snprintf(je->fault, sizeof je->fault, "%s", rule->fault->name);
        /* the fault may reset the connection: je stays valid (the journal owns it) */
    }
    enum hook_verdict v = rule->fault->on_request(&fr);
    if (je)
        snprintf(je->note, sizeof je->note, "%s", note);
    return v;
}

/* Offer obj to the policies from the first; act on each that decides until one answers. */
static enum hook_verdict offer(struct admission *a, struct engine *e, struct conn *c,
                               struct http_request *req, const struct route *r, const cJSON *obj,
                               struct journal_entry *je)
{
    struct admission_result res;
    size_t start = 0, index = 0;
    int rc;
    while ((rc = decide_from(a, start, req, r, obj, &res, &index)) != 0) {
        if (rc < 0) {
            api_send_status(c, status_new(500, STATUS_REASON_INTERNAL, "out of memory"));
            return HOOK_HANDLED;
        }
        enum hook_verdict v = act(&res, e, c, req, r, je);
        admission_result_release(&res);
        if (v != HOOK_PASS)
            return HOOK_HANDLED;
        start = index + 1;
    }
    return HOOK_PASS;
}

/* deletecollection: every object its selectors pick, one at a time (sorted by name). */
static enum hook_verdict offer_collection(struct admission *a, struct engine *e, struct conn *c,
                                          struct http_request *req, const struct route *r,
                                          struct store *st, struct journal_entry *je)
{
    struct ksel *ls = ksel_parse_labels(http_request_param(req, "labelSelector"), NULL, 0);
    struct ksel *fs =
        ksel_parse_fields(http_request_param(req, "fieldSelector"), r->kind->kind, NULL, 0);
    const cJSON **objs = NULL;
    size_t n = 0;
    enum hook_verdict v = HOOK_PASS;
    if (!ls || !fs)
        goto out; /* the API layer answers the selector's 400 */
    objs = store_list(st, r->kind, r->namespace, &n);
    for (size_t i = 0; i < n && v == HOOK_PASS; i++)
        if (ksel_match(ls, objs[i]) && ksel_match(fs, objs[i]))
            v = offer(a, e, c, req, r, objs[i], je);
out:
    free((void *)objs);
    ksel_free(ls);
    ksel_free(fs);
    return v;
}

enum hook_verdict admission_on_request(struct admission *a, struct engine *e, struct conn *c,
                                       struct http_request *req, const struct route *r,
                                       const cJSON *body, struct journal_entry *je)
{
    unsigned verb = match_verb_of(req, r);
    struct mockapi_server *srv = e ? engine_server(e) : NULL;
    struct store *st = srv ? mockapi_server_store(srv) : NULL;
    cJSON *owned = NULL;
    const cJSON *obj = NULL;
    enum hook_verdict v = HOOK_PASS;
    size_t i = 0;

    if (!a || !st || !r || r->type != ROUTE_OBJECT || !r->kind || !(verb & WRITES))
        return HOOK_PASS;
    while (i < a->n && !(a->p[i].verbs & verb))
        i++;
    if (i == a->n)
        return HOOK_PASS;
    switch (verb) {
    case MATCH_CREATE:
        obj = body && body_admissible(body, r, st, verb) ? body : NULL;
        break;
    case MATCH_UPDATE:
        if (body && body_admissible(body, r, st, verb) &&
            store_get(st, r->kind, r->namespace, r->name))
            obj = body;
        break;
    case MATCH_PATCH:
        obj = owned = patched(req, r, body, st);
        break;
    case MATCH_DELETE:
        obj = store_get(st, r->kind, r->namespace, r->name);
        break;
    case MATCH_DELETECOLLECTION:
        return offer_collection(a, e, c, req, r, st, je);
    }
    if (obj)
        v = offer(a, e, c, req, r, obj, je);
    cJSON_Delete(owned);
    return v;
}
