/* scenario.c -- scenario files: read (capped), parse (JSON with comments), check every section as
 * scenarios/README.md describes it, and build struct scenario; every error is collected, none is
 * ignored */
#include "harness/scenario.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness/diag.h"
#include "harness/dist.h"
#include "harness/fault.h"
#include "harness/jobconfig.h"
#include "harness/jsonc.h"
#include "harness/match.h"
#include "harness/trigger.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/gitlab/proto.h"

/* Caps on one file, beside SCENARIO_MAX_BYTES and SCENARIO_MAX_RULES (scenario.h). Each is far
 * beyond a hand-written scenario and keeps a generated one from growing without bound. */
#define TITLE_MAX 200         /* characters in the scenario's name and anchor */
#define TEXT_MAX 4096         /* characters in a description, message or reason */
#define LIST_MAX 64           /* tags, namespaces, pods entries, admission entries, events, ... */
#define MAP_MAX 32            /* keys in containers, labels, annotations maps */
#define STEPS_MAX 16          /* steps of one disruption */
#define GLOB_MAX 1024         /* characters in one pattern */
#define FAULT_KEYS_MAX 64     /* keys a fault type accepts */
#define NAME_LIST_MAX 512     /* characters of a "known:" list of rule names */
#define DNS_LABEL_MAX 63      /* a namespace name */
#define DNS_SUBDOMAIN_MAX 253 /* a node name */
#define KUBECTL_ARGS_MAX 64   /* kubectl arguments of a "kubectl" section */

#define STATE_INITIAL "Started" /* the engine's state before any rule sets one */
#define RULE_FIRED "rule-fired:"

#define PATH_LEN JSONC_PATH_MAX

/* A user's string, bounded and escaped for a one-line message; the buffer is a compound literal,
 * alive until the end of the enclosing block, so SHOW() is used inside the diag_path() call. */
#define SHOW(s) jsonc_show((char[JSONC_SHOW_BUF]){0}, JSONC_SHOW_BUF, (s))

/* One parse: where errors go and how many there were before it started. */
struct ctx {
    struct diag *d;
    struct scenario *s;
    size_t before;
};

static int failed(const struct ctx *c)
{
    return c->d->n + c->d->dropped > c->before;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static int one_of(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* "a, b, c" into buf. */
static const char *join(char *buf, size_t len, const char *const *list)
{
    size_t o = 0;

    buf[0] = '\0';
    for (size_t i = 0; list[i] && o < len; i++) {
        int w = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", list[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}

/* A string value that must be one of list: reports `unknown <what> "x" (known: ...)` with a
 * did-you-mean. 0, or -1. */
static int enum_value(const char *s, const char *path, struct diag *d, const char *what,
                      const char *const *list)
{
    char known[512];
    const char *hint;

    if (one_of(s, list))
        return 0;
    hint = jsonc_suggest(s, list);
    if (hint)
        diag_path(d, path, "unknown %s \"%s\" (known: %s); did you mean \"%s\"?", what, SHOW(s),
                  join(known, sizeof known, list), hint);
    else
        diag_path(d, path, "unknown %s \"%s\" (known: %s)", what, SHOW(s),
                  join(known, sizeof known, list));
    return -1;
}

static void missing(struct diag *d, const char *path, const char *key)
{
    diag_path(d, path, "missing key \"%s\"", key);
}

/* Rule, state and policy names: letters, digits, '.', '_' and '-' (so "rule-fired:<rule>" and
 * the journal stay unambiguous, and a name never looks like a default "rules[3]"). */
static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

/* A name value into out (SCENARIO_NAME_MAX bytes). 0, or -1 reported. */
static int name_value(const cJSON *v, const char *path, struct diag *d, char *out)
{
    const char *s;

    if (jsonc_as_string(v, path, d, &s) < 0)
        return -1;
    if (!valid_name(s)) {
        diag_path(d, path,
                  "invalid name \"%s\" (use letters, digits, '.', '_' and '-', e.g. "
                  "\"etcd-leader-changed\")",
                  SHOW(s));
        return -1;
    }
    if (strlen(s) >= SCENARIO_NAME_MAX) {
        diag_path(d, path, "name \"%s\" is too long (at most %d characters)", SHOW(s),
                  SCENARIO_NAME_MAX - 1);
        return -1;
    }
    snprintf(out, SCENARIO_NAME_MAX, "%s", s);
    return 0;
}

/* obj[key] as a string of 1..max characters; 1 when there, 0 absent, -1 reported. */
static int text(const cJSON *obj, const char *key, const char *path, struct diag *d, size_t max,
                const char **out)
{
    char p[PATH_LEN];
    int rc = jsonc_string(obj, key, path, d, out);

    if (rc <= 0)
        return rc;
    jsonc_path_key(p, sizeof p, path, key);
    if (!**out) {
        diag_path(d, p, "must not be empty");
        return -1;
    }
    if (strlen(*out) > max) {
        diag_path(d, p, "too long (%zu characters, at most %zu)", strlen(*out), max);
        return -1;
    }
    return 1;
}

/* A pattern (fnmatch(3)) value. */
static int glob_value(const cJSON *v, const char *path, struct diag *d)
{
    const char *s;

    if (jsonc_as_string(v, path, d, &s) < 0)
        return -1;
    if (!*s || strlen(s) > GLOB_MAX) {
        diag_path(d, path, "expected a pattern of 1 to %d characters", GLOB_MAX);
        return -1;
    }
    return 0;
}

/* An array of at most max elements; its size in *n. 1 there, 0 absent, -1 reported. */
static int array(const cJSON *obj, const char *key, const char *path, struct diag *d, size_t max,
                 const cJSON **out, size_t *n)
{
    char p[PATH_LEN];
    int rc = jsonc_array(obj, key, path, d, out);

    if (rc <= 0)
        return rc;
    *n = (size_t)cJSON_GetArraySize(*out);
    if (*n > max) {
        diag_path(d, jsonc_path_key(p, sizeof p, path, key), "too many entries (%zu, at most %zu)",
                  *n, max);
        return -1;
    }
    return 1;
}

/* Messages may name the object they are about: "{name}" and friends. Anything else in braces is
 * text ("[]v1.HostAlias{v1.HostAlias{IP:...}}" stays as written); a lowercase word in braces that
 * is not known is a typo. */
static int placeholders(const char *s, const char *path, struct diag *d, const char *const *known)
{
    char list[256];

    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
        size_t n = 0;
        while (p[1 + n] >= 'a' && p[1 + n] <= 'z')
            n++;
        if (!n || p[1 + n] != '}')
            continue;
        size_t i = 0;
        while (known[i] && !(strlen(known[i]) == n && strncmp(known[i], p + 1, n) == 0))
            i++;
        if (known[i])
            continue;
        size_t o = 0;
        list[0] = '\0';
        for (size_t k = 0; known[k] && o < sizeof list; k++) {
            int w = snprintf(list + o, sizeof list - o, "%s{%s}", k ? ", " : "", known[k]);
            if (w < 0)
                break;
            o += (size_t)w;
        }
        diag_path(d, path, "unknown placeholder \"{%.*s}\" (known here: %s)", (int)n, p + 1, list);
        return -1;
    }
    return 0;
}

/* obj[key]: a message with placeholders from known. */
static int message(const cJSON *obj, const char *key, const char *path, struct diag *d,
                   int required, const char *const *known)
{
    char p[PATH_LEN];
    const char *s;
    int rc = text(obj, key, path, d, TEXT_MAX, &s);

    if (rc == 0 && required)
        missing(d, path, key);
    if (rc <= 0)
        return rc == 0 && required ? -1 : rc;
    return placeholders(s, jsonc_path_key(p, sizeof p, path, key), d, known) < 0 ? -1 : 1;
}

/* Namespace names are DNS labels: a-z, 0-9 and '-', starting and ending alphanumeric. */
static int dns_label(const char *s)
{
    size_t n = strlen(s);

    if (!n || n > DNS_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* ---- reading ---- */

/* git's shape without the "file: " prefix diag_path adds: the file is in the message. */
static void cannot_read(struct diag *d, const char *file, int err)
{
    const char *saved = d->file;
    char what[600];

    snprintf(what, sizeof what, "cannot read \"%s\"", file);
    d->file = what;
    diag_path(d, "", "%s", strerror(err));
    d->file = saved;
}

struct scenario *scenario_load(const char *file, struct diag *d)
{
    FILE *f = NULL;
    char *buf = NULL;
    struct scenario *s = NULL;
    struct stat st;
    size_t n;
    int is_stdin = strcmp(file, "-") == 0;

    f = is_stdin ? stdin : fopen(file, "rb");
    if (!f) {
        cannot_read(d, file, errno);
        goto out;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > SCENARIO_MAX_BYTES) {
        diag_path(d, "", "file is too big: %lld bytes (a scenario has at most %d)",
                  (long long)st.st_size, SCENARIO_MAX_BYTES);
        goto out;
    }
    if (!(buf = malloc((size_t)SCENARIO_MAX_BYTES + 1))) {
        diag_path(d, "", "out of memory");
        goto out;
    }
    n = fread(buf, 1, (size_t)SCENARIO_MAX_BYTES + 1, f);
    if (ferror(f)) {
        cannot_read(d, file, errno ? errno : EIO);
        goto out;
    }
    if (n > SCENARIO_MAX_BYTES) {
        diag_path(d, "", "file is too big: more than %d bytes (a scenario has at most %d)",
                  SCENARIO_MAX_BYTES, SCENARIO_MAX_BYTES);
        goto out;
    }
    s = scenario_parse(file, buf, n, d);
out:
    if (f && !is_stdin)
        fclose(f);
    free(buf);
    return s;
}

/* ---- metadata and cluster ---- */

static const char *const TOP_KEYS[] = {
    "name",    "description", "anchor",    "class",   "tags",      "seed",
    "cluster", "rules",       "timeline",  "pods",    "admission", "commands",
    "stages",  "expect",      "jobClient", "kubectl", "gitlab",    NULL};
static const char *const CLASSES[] = {"wire", "cluster", "client-side", NULL};
static const char *const CLUSTER_KEYS[] = {"version", "namespaces", "pods", NULL};
static const char *const CLUSTER_POD_KEYS[] = {"scheduleDelay", "startDelay", "terminateDelay",
                                               NULL};

static char *dup_or_oom(struct ctx *c, const char *s)
{
    char *r = strdup(s);

    if (!r)
        diag_path(c->d, "", "out of memory");
    return r;
}

static void parse_meta(struct ctx *c, const cJSON *root)
{
    struct diag *d = c->d;
    struct scenario *s = c->s;
    const char *str;
    const cJSON *tags;
    size_t n = 0;
    int64_t seed;

    int rc = text(root, "name", "", d, TITLE_MAX, &str);
    if (rc == 0)
        missing(d, "", "name");
    if (rc == 1)
        s->name = dup_or_oom(c, str);
    if (text(root, "description", "", d, TEXT_MAX, &str) == 1)
        s->description = dup_or_oom(c, str);
    if (text(root, "anchor", "", d, TITLE_MAX, &str) == 1) {
        if (strspn(str, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(str))
            diag_path(d, "anchor",
                      "invalid anchor \"%s\" (an anchor id is lowercase letters, digits, '-' "
                      "and '_', as in the troubleshooting page's URL)",
                      SHOW(str));
        else
            s->anchor = dup_or_oom(c, str);
    }
    if (jsonc_string(root, "class", "", d, &str) == 1 &&
        enum_value(str, "class", d, "class", CLASSES) == 0)
        s->class_ = dup_or_oom(c, str);
    if (array(root, "tags", "", d, LIST_MAX, &tags, &n) == 1) {
        if (!(s->tags = calloc(n ? n : 1, sizeof *s->tags))) {
            diag_path(d, "", "out of memory");
            return;
        }
        size_t i = 0;
        for (const cJSON *t = tags->child; t; t = t->next, i++) {
            char p[PATH_LEN];
            jsonc_path_index(p, sizeof p, "tags", i);
            if (jsonc_as_string(t, p, d, &str) < 0)
                continue;
            if (!*str || strlen(str) >= SCENARIO_NAME_MAX || strpbrk(str, " \t\r\n")) {
                diag_path(d, p, "a tag is 1 to %d characters without spaces",
                          SCENARIO_NAME_MAX - 1);
                continue;
            }
            if ((s->tags[s->ntags] = dup_or_oom(c, str)))
                s->ntags++;
        }
    }
    s->seed = 1;
    if (jsonc_int(root, "seed", "", d, 0, 9007199254740991LL, &seed) == 1)
        s->seed = (uint64_t)seed;
}

static void parse_cluster(struct ctx *c, const cJSON *root)
{
    struct diag *d = c->d;
    struct scenario_cluster *cl = &c->s->cluster;
    const cJSON *spec = NULL, *pods = NULL, *nss;
    const char *v;
    size_t n = 0;

    cl->schedule_delay_ms = cl->start_delay_ms = cl->terminate_delay_ms = -1;
    if (jsonc_object(root, "cluster", "", d, &spec) != 1)
        return;
    jsonc_check_keys(spec, "cluster", CLUSTER_KEYS, d);
    if (jsonc_string(spec, "version", "cluster", d, &v) == 1) {
        /* "1.NN": /version reports it and the kubectl dispatcher picks its binary from it */
        size_t digits = strspn(v + (strncmp(v, "1.", 2) == 0 ? 2 : 0), "0123456789");
        if (strncmp(v, "1.", 2) != 0 || digits < 1 || digits > 3 || v[2 + digits] != '\0')
            diag_path(d, "cluster.version",
                      "invalid version \"%s\" (expected \"1.NN\", e.g. \"1.32\")", SHOW(v));
        else
            snprintf(cl->version, sizeof cl->version, "%s", v);
    }
    if (array(spec, "namespaces", "cluster", d, LIST_MAX, &nss, &n) == 1) {
        if (!(cl->namespaces = calloc(n ? n : 1, sizeof *cl->namespaces))) {
            diag_path(d, "", "out of memory");
            return;
        }
        size_t i = 0;
        for (const cJSON *e = nss->child; e; e = e->next, i++) {
            char p[PATH_LEN];
            jsonc_path_index(p, sizeof p, "cluster.namespaces", i);
            if (jsonc_as_string(e, p, d, &v) < 0)
                continue;
            if (!dns_label(v)) {
                diag_path(d, p,
                          "invalid namespace name \"%s\" (lowercase letters, digits and '-', "
                          "at most %d, starting and ending with a letter or digit)",
                          SHOW(v), DNS_LABEL_MAX);
                continue;
            }
            if ((cl->namespaces[cl->nnamespaces] = dup_or_oom(c, v)))
                cl->nnamespaces++;
        }
    }
    if (jsonc_object(spec, "pods", "cluster", d, &pods) == 1) {
        jsonc_check_keys(pods, "cluster.pods", CLUSTER_POD_KEYS, d);
        jsonc_duration(pods, "scheduleDelay", "cluster.pods", d, &cl->schedule_delay_ms);
        jsonc_duration(pods, "startDelay", "cluster.pods", d, &cl->start_delay_ms);
        jsonc_duration(pods, "terminateDelay", "cluster.pods", d, &cl->terminate_delay_ms);
    }
}

/* ---- rules ---- */

static const char *const RULE_KEYS[] = {"name",     "match",   "trigger", "requireState",
                                        "setState", "enabled", "fault",   NULL};

static const char *layer_name(enum fault_layer l)
{
    switch (l) {
    case FAULT_LAYER_LISTENER:
        return "listener";
    case FAULT_LAYER_HTTP:
        return "HTTP";
    case FAULT_LAYER_WATCH:
        return "watch";
    case FAULT_LAYER_CLUSTER:
        return "cluster";
    case FAULT_LAYER_STREAM:
        return "stream";
    }
    return "?";
}

/* Validate a fault object at path: its type, its keys, its parameters (through the type). The
 * type in *type (NULL when unknown); *ctx gets the parameters when ctx is not NULL, else they are
 * freed at once (admission policies keep only the JSON). 0, or -1 reported. */
static int parse_fault(const cJSON *spec, const char *path, struct diag *d,
                       const struct fault_type **type, void **ctx)
{
    char p[PATH_LEN], known[1024];
    const char *accepted[FAULT_KEYS_MAX + 2], *names[FAULT_KEYS_MAX + 1];
    const char *tname;
    const struct fault_type *ft;
    void *fctx = NULL;
    size_t n = 0;

    *type = NULL;
    if (jsonc_as_object(spec, path, d) < 0)
        return -1;
    int rc = jsonc_string(spec, "type", path, d, &tname);
    if (rc == 0)
        diag_path(d, path, "missing key \"type\" (known: %s)",
                  fault_types_count ? fault_type_names(known, sizeof known) : "none built in");
    if (rc <= 0)
        return -1;
    jsonc_path_key(p, sizeof p, path, "type");
    if (!(ft = fault_type_find(tname))) {
        for (size_t i = 0; i < fault_types_count && i < FAULT_KEYS_MAX; i++)
            names[i] = fault_types[i]->name;
        names[fault_types_count < FAULT_KEYS_MAX ? fault_types_count : FAULT_KEYS_MAX] = NULL;
        const char *hint = jsonc_suggest(tname, names);
        diag_path(d, p, "unknown fault type \"%s\" (known: %s)%s%s%s", SHOW(tname),
                  fault_types_count ? fault_type_names(known, sizeof known) : "none built in",
                  hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
        return -1;
    }
    *type = ft;
    accepted[n++] = "type";
    for (size_t i = 0; ft->keys && ft->keys[i] && n < FAULT_KEYS_MAX + 1; i++)
        accepted[n++] = ft->keys[i];
    accepted[n] = NULL;
    if (jsonc_check_keys(spec, path, accepted, d) < 0)
        return -1; /* the type's own parse would only repeat it */
    if (ft->parse && ft->parse(spec, path, d, &fctx) < 0)
        return -1;
    if (ctx) {
        *ctx = fctx;
    } else if (fctx) {
        if (ft->free)
            ft->free(fctx);
        else
            free(fctx);
    }
    return 0;
}

/* Combinations a match can state but no request satisfies. */
static void check_match(const struct match *m, const char *path, struct diag *d)
{
    const unsigned streams = MATCH_EXEC | MATCH_ATTACH | MATCH_LOG;

    if (m->verbs == MATCH_OTHER &&
        (m->nresources || m->subresource || m->namespace_glob || m->name_glob))
        diag_path(d, path,
                  "impossible combination: verb \"other\" selects non-resource paths (/version, "
                  "discovery, /healthz), which have no resource, subresource, namespace or name");
    if (m->verbs && !(m->verbs & ~streams)) {
        int pods = !m->nresources;
        for (size_t i = 0; i < m->nresources; i++)
            pods |= strcmp(m->resources[i], "pods") == 0;
        if (!pods)
            diag_path(d, path,
                      "impossible combination: exec, attach and log are subresources of pods, "
                      "but the match selects other resources");
        if (m->subresource) { /* a pattern: it must let one of the verbs' subresources through */
            int ok = (m->verbs & MATCH_EXEC && fnmatch(m->subresource, "exec", 0) == 0) ||
                     (m->verbs & MATCH_ATTACH && fnmatch(m->subresource, "attach", 0) == 0) ||
                     (m->verbs & MATCH_LOG && fnmatch(m->subresource, "log", 0) == 0);
            if (!ok)
                diag_path(d, path,
                          "impossible combination: subresource \"%s\" with verb exec, attach "
                          "or log (their subresources are exec, attach and log)",
                          SHOW(m->subresource));
        }
    }
}

/* A stream fault acts on pods/exec and pods/attach sessions only (the engine's on_remotecmd): a
 * match that can select neither would never let it act. */
static void check_stream_match(const struct match *m, const struct fault_type *ft,
                               const char *rpath, struct diag *d)
{
    const unsigned streams = MATCH_EXEC | MATCH_ATTACH;
    char p[PATH_LEN];

    snprintf(p, sizeof p, "%s.match", rpath);
    if (m->verbs && !(m->verbs & streams)) {
        diag_path(d, (snprintf(p, sizeof p, "%s.match.verb", rpath), p),
                  "impossible combination: \"%s\" is a stream fault, it acts on exec and attach "
                  "streams, but the match selects neither (add \"exec\" or \"attach\" to "
                  "\"verb\")",
                  ft->name);
        return;
    }
    int pods = !m->nresources;
    for (size_t i = 0; i < m->nresources; i++)
        pods |= strcmp(m->resources[i], "pods") == 0;
    if (!pods) {
        diag_path(d, p,
                  "impossible combination: \"%s\" is a stream fault, it acts on pods/exec and "
                  "pods/attach, but the match selects other resources",
                  ft->name);
        return;
    }
    if (m->subresource && fnmatch(m->subresource, "exec", 0) != 0 &&
        fnmatch(m->subresource, "attach", 0) != 0)
        diag_path(d, p,
                  "impossible combination: \"%s\" is a stream fault, it acts on the exec and "
                  "attach subresources, but the match selects subresource \"%s\"",
                  ft->name, SHOW(m->subresource));
}

/* What a rule's fault layer can act on, against what its match, trigger and state select. */
static void check_layer(const cJSON *spec, struct rule *r, struct diag *d)
{
    const struct fault_type *ft = r->fault;
    char p[PATH_LEN];

    if (ft->gitlab_only && r->match.server != MATCH_SERVER_GITLAB)
        diag_path(d, jsonc_path_key(p, sizeof p, r->path, "fault"),
                  "\"%s\" acts on the fake GitLab's requests: give the rule \"match\": "
                  "{\"server\": \"gitlab\", ...}",
                  ft->name);
    if (r->match.server == MATCH_SERVER_GITLAB) {
        const char *why = NULL;
        if (ft->layer != FAULT_LAYER_LISTENER && ft->layer != FAULT_LAYER_HTTP)
            why = "only HTTP and connection faults act on GitLab requests";
        if (why) {
            diag_path(d, jsonc_path_key(p, sizeof p, r->path, "fault"),
                      "\"%s\" is a %s fault and cannot act on the fake GitLab: %s", ft->name,
                      layer_name(ft->layer), why);
            return;
        }
    }
    if (ft->layer == FAULT_LAYER_LISTENER) {
        const cJSON *m = get(spec, "match");
        /* a listener rule picks its server and nothing else: "match": {"server": "gitlab"} */
        if (m && !(cJSON_GetArraySize(m) == 1 && get(m, "server")))
            diag_path(d, jsonc_path_key(p, sizeof p, r->path, "match"),
                      "impossible combination: \"%s\" is a listener fault, it acts on connections "
                      "before any request is read, so its \"match\" may only name the "
                      "\"server\"",
                      ft->name);
        /* refuse and black-hole act on the listener for as long as the rule is on: nothing is
         * counted, nothing fires, so a trigger or a state would silently never apply */
        if (ft->on_enable && !ft->on_accept) {
            static const char *const keys[] = {"trigger", "requireState", "setState", NULL};
            for (size_t i = 0; keys[i]; i++)
                if (get(spec, keys[i]))
                    diag_path(d, jsonc_path_key(p, sizeof p, r->path, keys[i]),
                              "impossible combination: \"%s\" acts on the whole listener while "
                              "its rule is on, so it takes no \"%s\"; switch it with \"enabled\" "
                              "and the timeline",
                              ft->name, keys[i]);
        }
    }
    if (ft->layer == FAULT_LAYER_WATCH && r->match.verbs && !(r->match.verbs & MATCH_WATCH))
        diag_path(d, (snprintf(p, sizeof p, "%s.match.verb", r->path), p),
                  "impossible combination: \"%s\" is a watch fault, it acts on watch streams, but "
                  "the match selects no watch (add \"watch\" to \"verb\")",
                  ft->name);
    if (ft->layer == FAULT_LAYER_STREAM)
        check_stream_match(&r->match, ft, r->path, d);
    if (ft->layer != FAULT_LAYER_LISTENER)
        check_match(&r->match, jsonc_path_key(p, sizeof p, r->path, "match"), d);
}

static void parse_rule(struct ctx *c, const cJSON *spec, size_t i, struct rule *r)
{
    struct diag *d = c->d;
    char path[PATH_LEN], p[PATH_LEN];
    const cJSON *v;
    int on;

    jsonc_path_index(path, sizeof path, "rules", i);
    if (!(r->path = dup_or_oom(c, path)))
        return;
    snprintf(r->name, sizeof r->name, "rules[%zu]", i);
    r->enabled = 1;
    snprintf(r->trigger.since.name, sizeof r->trigger.since.name, "start");
    if (jsonc_as_object(spec, path, d) < 0)
        return;
    jsonc_check_keys(spec, path, RULE_KEYS, d);
    if ((v = get(spec, "name")))
        name_value(v, jsonc_path_key(p, sizeof p, path, "name"), d, r->name);
    match_parse(get(spec, "match"), jsonc_path_key(p, sizeof p, path, "match"), d, &r->match);
    trigger_parse(get(spec, "trigger"), jsonc_path_key(p, sizeof p, path, "trigger"), d,
                  &r->trigger);
    if ((v = get(spec, "requireState")))
        name_value(v, jsonc_path_key(p, sizeof p, path, "requireState"), d, r->require_state);
    if ((v = get(spec, "setState")))
        name_value(v, jsonc_path_key(p, sizeof p, path, "setState"), d, r->set_state);
    if (jsonc_bool(spec, "enabled", path, d, &on) == 1)
        r->enabled = on;
    if (!(v = get(spec, "fault"))) {
        missing(d, path, "fault");
        return;
    }
    jsonc_path_key(p, sizeof p, path, "fault");
    if (parse_fault(v, p, d, &r->fault, &r->fault_ctx) < 0)
        return;
    if (!(r->fault_spec = cJSON_Duplicate(v, 1)))
        diag_path(d, p, "out of memory");
    check_layer(spec, r, d);
}

static void parse_rules(struct ctx *c, const cJSON *root)
{
    const cJSON *rules;
    size_t n = 0, i = 0;

    if (array(root, "rules", "", c->d, SCENARIO_MAX_RULES, &rules, &n) != 1 || n == 0)
        return;
    /* room for every rule a scenario may have, so rules added while it runs (the control API)
     * never move the ones the engine points at */
    if (!(c->s->rules = calloc(SCENARIO_MAX_RULES, sizeof *c->s->rules))) {
        diag_path(c->d, "rules", "out of memory");
        return;
    }
    c->s->nrules = n; /* every rule zeroed: scenario_free() can release them all */
    for (const cJSON *e = rules->child; e; e = e->next, i++)
        parse_rule(c, e, i, &c->s->rules[i]);
    for (size_t j = 1; j < n; j++)
        for (size_t k = 0; k < j; k++)
            if (strcmp(c->s->rules[j].name, c->s->rules[k].name) == 0) {
                char p[PATH_LEN];
                snprintf(p, sizeof p, "rules[%zu].name", j);
                diag_path(c->d, p, "duplicate rule name \"%s\" (also at rules[%zu].name)",
                          c->s->rules[j].name, k);
                break;
            }
}

/* A rule name a timeline entry, event or expectation refers to: reported when there is none. */
static int rule_exists(struct ctx *c, const char *name, const char *path)
{
    char known[NAME_LIST_MAX];
    const char *names[SCENARIO_MAX_RULES + 1];
    size_t o = 0;

    if (scenario_rule(c->s, name))
        return 0;
    known[0] = '\0';
    for (size_t i = 0; i < c->s->nrules; i++) {
        names[i] = c->s->rules[i].name;
        if (o >= sizeof known) /* the list is cut; the suggestion still sees every name */
            continue;
        int w = snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "", names[i]);
        if (w > 0 && (o += (size_t)w) >= sizeof known)
            memcpy(known + sizeof known - 4, "...", 4);
    }
    names[c->s->nrules] = NULL;
    const char *hint = jsonc_suggest(name, names);
    diag_path(c->d, path, "no rule named \"%s\" (rules: %s)%s%s%s", SHOW(name),
              c->s->nrules ? known : "none", hint ? "; did you mean \"" : "", hint ? hint : "",
              hint ? "\"?" : "");
    return -1;
}

/* An event "rule-fired:<rule>" must name a rule. */
static void check_event(struct ctx *c, const struct trigger_event *ev, const char *path)
{
    size_t n = strlen(RULE_FIRED);

    if (strncmp(ev->name, RULE_FIRED, n) == 0)
        rule_exists(c, ev->name + n, path);
}

/* ---- timeline ---- */

static const char *const TIMELINE_KEYS[] = {"at", "on", "enable", "disable", "setState", NULL};

static void parse_timeline_entry(struct ctx *c, const cJSON *spec, const char *path,
                                 struct timeline_entry *te)
{
    static const char *const actions[] = {"enable", "disable", "setState"};
    struct diag *d = c->d;
    char p[PATH_LEN];
    const cJSON *v, *act = NULL;
    int nact = 0;
    size_t which = 0;

    snprintf(te->on.name, sizeof te->on.name, "start");
    if (jsonc_as_object(spec, path, d) < 0)
        return;
    jsonc_check_keys(spec, path, TIMELINE_KEYS, d);
    jsonc_duration(spec, "at", path, d, &te->at_ms);
    if ((v = get(spec, "on"))) {
        jsonc_path_key(p, sizeof p, path, "on");
        if (trigger_parse_event(v, p, d, &te->on) < 0)
            snprintf(te->on.name, sizeof te->on.name, "start");
        else
            check_event(c, &te->on, p);
    }
    for (size_t i = 0; i < 3; i++)
        if ((v = get(spec, actions[i]))) {
            if (nact++ == 0) {
                act = v;
                which = i;
            }
        }
    if (nact != 1) {
        diag_path(d, path, "%s one of \"enable\", \"disable\" or \"setState\"",
                  nact ? "give only" : "missing the action: give");
        return;
    }
    jsonc_path_key(p, sizeof p, path, actions[which]);
    te->action = which == 0 ? TIMELINE_ENABLE : which == 1 ? TIMELINE_DISABLE : TIMELINE_SET_STATE;
    if (te->action == TIMELINE_SET_STATE) {
        name_value(act, p, d, te->target);
        return;
    }
    /* a rule by its name, or by the name it got from its place ("rules[1]") */
    const char *rule;
    if (jsonc_as_string(act, p, d, &rule) < 0 || rule_exists(c, rule, p) < 0)
        return;
    snprintf(te->target, sizeof te->target, "%s", rule);
}

static void parse_timeline(struct ctx *c, const cJSON *root)
{
    const cJSON *tl;
    size_t n = 0, i = 0;

    if (array(root, "timeline", "", c->d, SCENARIO_MAX_TIMELINE, &tl, &n) != 1 || n == 0)
        return;
    /* room for entries added while running: the engine keeps pointers to these slots */
    if (!(c->s->timeline = calloc(SCENARIO_MAX_TIMELINE, sizeof *c->s->timeline))) {
        diag_path(c->d, "timeline", "out of memory");
        return;
    }
    c->s->ntimeline = n;
    for (const cJSON *e = tl->child; e; e = e->next, i++) {
        char p[PATH_LEN];
        parse_timeline_entry(c, e, jsonc_path_index(p, sizeof p, "timeline", i),
                             &c->s->timeline[i]);
    }
}

/* ---- body predicates ("when") shared by pods and admission ---- */

static const char *const PREDICATE_KEYS[] = {"path",      "exists",  "absent",     "equals",
                                             "notEquals", "matches", "notMatches", NULL};

static int path_value(const cJSON *v, const char *path, struct diag *d, int need_wildcard)
{
    const char *s;

    if (jsonc_as_string(v, path, d, &s) < 0)
        return -1;
    if (!*s || strlen(s) > MATCH_MAX_BODY_PATH || match_body_path(NULL, s, NULL, NULL) < 0) {
        diag_path(d, path,
                  "invalid body path \"%s\" (e.g. \"spec.containers[*].image\", "
                  "metadata.labels[\"app\"])",
                  SHOW(s));
        return -1;
    }
    if (need_wildcard && !strstr(s, "[*]")) {
        diag_path(d, path,
                  "\"%s\" has no [*]: forEach walks the elements of an array, e.g. "
                  "\"spec.containers[*]\"",
                  SHOW(s));
        return -1;
    }
    return 0;
}

static void parse_predicates(struct ctx *c, const cJSON *obj, const char *path)
{
    struct diag *d = c->d;
    const cJSON *arr;
    size_t n = 0, i = 0;
    char when[PATH_LEN];

    if (array(obj, "when", path, d, LIST_MAX, &arr, &n) != 1)
        return;
    jsonc_path_key(when, sizeof when, path, "when");
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char p[PATH_LEN], q[PATH_LEN];
        int nops = 0;
        jsonc_path_index(p, sizeof p, when, i);
        if (jsonc_as_object(e, p, d) < 0)
            continue;
        jsonc_check_keys(e, p, PREDICATE_KEYS, d);
        const cJSON *v = get(e, "path");
        if (!v)
            missing(d, p, "path");
        else
            path_value(v, jsonc_path_key(q, sizeof q, p, "path"), d, 0);
        for (size_t k = 1; PREDICATE_KEYS[k]; k++) {
            if (!(v = get(e, PREDICATE_KEYS[k])))
                continue;
            nops++;
            jsonc_path_key(q, sizeof q, p, PREDICATE_KEYS[k]);
            if (k <= 2 && !cJSON_IsTrue(v))
                diag_path(d, q, "expected true (for the opposite, write \"%s\": true)",
                          k == 1 ? "absent" : "exists");
            if (strcmp(PREDICATE_KEYS[k], "matches") == 0 ||
                strcmp(PREDICATE_KEYS[k], "notMatches") == 0)
                glob_value(v, q, d);
        }
        if (nops != 1)
            diag_path(d, p,
                      "give exactly one of \"exists\", \"absent\", \"equals\", \"notEquals\", "
                      "\"matches\" or \"notMatches\"");
    }
}

/* ---- pods ---- */

static const char *const POD_KEYS[] = {
    "match", "when", "node", "schedule", "containers", "initContainers", "events", "disrupt", NULL};
static const char *const POD_MATCH_KEYS[] = {"name", "namespace", NULL};
static const char *const NODE_KEYS[] = {"name", "os", NULL};
static const char *const OSES[] = {"linux", "windows", NULL};
static const char *const SCHEDULE_KEYS[] = {"delay", "unschedulable", "for", NULL};
static const char *const UNSCHEDULABLE_KEYS[] = {"message", NULL};
static const char *const CONTAINER_KEYS[] = {"waiting", "readyAfter", "exitCode", "exitAfter",
                                             NULL};
static const char *const INIT_CONTAINER_KEYS[] = {"waiting", "exitCode", "exitAfter", NULL};
static const char *const WAITING_KEYS[] = {"reason", "message", "for", NULL};
static const char *const WAITING_REASONS[] = {"ContainerCreating", "ImagePullBackOff",
                                              "ErrImagePull",      "CreateContainerError",
                                              "CrashLoopBackOff",  "CreateContainerConfigError",
                                              "InvalidImageName",  "PodInitializing",
                                              "RunContainerError", NULL};
static const char *const EVENT_KEYS[] = {"at", "type", "reason", "message", NULL};
static const char *const EVENT_TYPES[] = {"Normal", "Warning", NULL};
static const char *const DISRUPT_KEYS[] = {"at", "on", "steps", NULL};
static const char *const DISRUPT_ON[] = {"created", "scheduled", "running", "stage:<name>", NULL};
#define DISRUPT_ON_STAGE "stage:" /* "stage:<stage name or pattern>": when that stage starts */
static const char *const STEP_KEYS[] = {"after",   "condition", "deletionTimestamp",
                                        "delete",  "phase",     "reason",
                                        "message", "terminate", NULL};
static const char *const STEP_ACTIONS[] = {"condition", "deletionTimestamp", "delete",
                                           "phase",     "terminate",         NULL};
static const char *const CONDITION_KEYS[] = {"type", "status", "reason", "message", NULL};
static const char *const CONDITION_STATUSES[] = {"True", "False", "Unknown", NULL};
static const char *const PHASES[] = {"Failed", "Succeeded", NULL};
static const char *const TERMINATE_KEYS[] = {"exitCode", "reason", NULL};
static const char *const POD_VARS[] = {"name", "namespace", "uid", "node", NULL};
static const char *const CONTAINER_VARS[] = {"name", "namespace", "uid", "node", "container", NULL};

/* A delay, as the delay fault writes one (harness/dist.h): "30s" for short, or {"fixed": D},
 * {"uniform": {"min", "max"}}, {"lognormal": {"median", "sigma"}} or {"empirical": [D, ...]}, each
 * with an optional cap "max"; drawn from the scenario's seeded generator. Checked here, parsed
 * again where it is drawn (podscript.c). */
static void parse_delay(const cJSON *v, const char *path, struct diag *d)
{
    struct dist x;

    if (dist_parse(v, path, JSONC_DURATION_MAX_MS, d, &x) == 0)
        dist_release(&x);
}

static void parse_node(const cJSON *v, const char *path, struct diag *d)
{
    const char *s;
    char p[PATH_LEN];

    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, NODE_KEYS, d);
    if (!v->child)
        diag_path(d, path, "give \"name\" and/or \"os\"");
    if (text(v, "name", path, d, DNS_SUBDOMAIN_MAX, &s) == 1 &&
        strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(s))
        diag_path(d, jsonc_path_key(p, sizeof p, path, "name"),
                  "invalid node name \"%s\" (lowercase letters, digits, '-' and '.')", SHOW(s));
    if (jsonc_string(v, "os", path, d, &s) == 1)
        enum_value(s, jsonc_path_key(p, sizeof p, path, "os"), d, "os", OSES);
}

static void parse_schedule(const cJSON *v, const char *path, struct diag *d)
{
    const cJSON *u = NULL, *dl;
    int64_t ms;
    char p[PATH_LEN];

    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, SCHEDULE_KEYS, d);
    dl = get(v, "delay");
    int hu = jsonc_object(v, "unschedulable", path, d, &u);
    int hfor = jsonc_duration(v, "for", path, d, &ms);
    if (dl)
        parse_delay(dl, jsonc_path_key(p, sizeof p, path, "delay"), d);
    if (dl && hu) {
        diag_path(d, path,
                  "give \"delay\" (scheduled after a delay) or \"unschedulable\" (Pending with "
                  "PodScheduled=False, optionally \"for\" a while), not both");
        return;
    }
    if (!dl && !hu)
        diag_path(d, path, "give \"delay\" or \"unschedulable\"");
    if (hfor && !hu)
        diag_path(d, jsonc_path_key(p, sizeof p, path, "for"),
                  "\"for\" says how long the pod stays unschedulable: it needs \"unschedulable\"");
    if (hu == 1) {
        jsonc_path_key(p, sizeof p, path, "unschedulable");
        jsonc_check_keys(u, p, UNSCHEDULABLE_KEYS, d);
        message(u, "message", p, d, 1, POD_VARS);
    }
}

static void parse_waiting(const cJSON *v, const char *path, struct diag *d, const char *const *vars,
                          int *forever)
{
    const char *s;
    char p[PATH_LEN];
    int64_t ms;

    *forever = 1;
    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, WAITING_KEYS, d);
    int rc = jsonc_string(v, "reason", path, d, &s);
    if (rc == 0)
        diag_path(d, path, "missing key \"reason\" (known reasons: %s)",
                  "ContainerCreating, ImagePullBackOff, ErrImagePull, CreateContainerError, "
                  "CrashLoopBackOff, CreateContainerConfigError, InvalidImageName, "
                  "PodInitializing, RunContainerError");
    if (rc == 1)
        enum_value(s, jsonc_path_key(p, sizeof p, path, "reason"), d, "waiting reason",
                   WAITING_REASONS);
    message(v, "message", path, d, 0, vars);
    if (jsonc_duration(v, "for", path, d, &ms) == 1)
        *forever = 0;
}

static void parse_containers(struct ctx *c, const cJSON *pod, const char *path, const char *key)
{
    struct diag *d = c->d;
    const cJSON *map;
    char mp[PATH_LEN];
    int init = strcmp(key, "initContainers") == 0;

    if (jsonc_object(pod, key, path, d, &map) != 1)
        return;
    jsonc_path_key(mp, sizeof mp, path, key);
    if (cJSON_GetArraySize(map) > MAP_MAX) {
        diag_path(d, mp, "too many entries (%d, at most %d)", cJSON_GetArraySize(map), MAP_MAX);
        return;
    }
    for (const cJSON *e = map->child; e; e = e->next) {
        char p[PATH_LEN], q[PATH_LEN];
        int64_t ms, code;
        int forever = 0;
        jsonc_path_key(p, sizeof p, mp, e->string);
        if (!e->string[0] || strlen(e->string) > DNS_LABEL_MAX) {
            diag_path(d, p, "a container name or pattern is 1 to %d characters", DNS_LABEL_MAX);
            continue;
        }
        if (jsonc_as_object(e, p, d) < 0)
            continue;
        jsonc_check_keys(e, p, init ? INIT_CONTAINER_KEYS : CONTAINER_KEYS, d);
        const cJSON *w = get(e, "waiting");
        if (w)
            parse_waiting(w, jsonc_path_key(q, sizeof q, p, "waiting"), d, CONTAINER_VARS,
                          &forever);
        int ready = init ? 0 : jsonc_duration(e, "readyAfter", p, d, &ms);
        int exit_code = jsonc_int(e, "exitCode", p, d, 0, 255, &code);
        int exit_after = jsonc_duration(e, "exitAfter", p, d, &ms);
        if (exit_after == 1 && exit_code == 0)
            diag_path(d, jsonc_path_key(q, sizeof q, p, "exitAfter"),
                      "\"exitAfter\" says when the container exits: it needs \"exitCode\"");
        if (w && forever && (ready == 1 || exit_code == 1))
            diag_path(d, p,
                      "impossible combination: the container waits forever (\"waiting\" has no "
                      "\"for\"), so it never starts and \"%s\" never applies",
                      ready == 1 ? "readyAfter" : "exitCode");
    }
}

static void parse_events(struct ctx *c, const cJSON *pod, const char *path)
{
    struct diag *d = c->d;
    const cJSON *arr;
    size_t n = 0, i = 0;
    char ep[PATH_LEN];

    if (array(pod, "events", path, d, LIST_MAX, &arr, &n) != 1)
        return;
    jsonc_path_key(ep, sizeof ep, path, "events");
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char p[PATH_LEN], q[PATH_LEN];
        const char *s;
        int64_t ms;
        jsonc_path_index(p, sizeof p, ep, i);
        if (jsonc_as_object(e, p, d) < 0)
            continue;
        jsonc_check_keys(e, p, EVENT_KEYS, d);
        jsonc_duration(e, "at", p, d, &ms);
        if (jsonc_string(e, "type", p, d, &s) == 1)
            enum_value(s, jsonc_path_key(q, sizeof q, p, "type"), d, "event type", EVENT_TYPES);
        if (text(e, "reason", p, d, 128, &s) == 0)
            missing(d, p, "reason");
        message(e, "message", p, d, 1, POD_VARS);
    }
}

static void parse_step(const cJSON *e, const char *p, struct diag *d, int *deletes)
{
    const cJSON *act = NULL, *v;
    const char *s, *which = NULL;
    char q[PATH_LEN];
    int64_t ms, code;
    int nact = 0;

    if (jsonc_as_object(e, p, d) < 0)
        return;
    jsonc_check_keys(e, p, STEP_KEYS, d);
    jsonc_duration(e, "after", p, d, &ms);
    for (size_t k = 0; STEP_ACTIONS[k]; k++)
        if ((v = get(e, STEP_ACTIONS[k])) && nact++ == 0) {
            act = v;
            which = STEP_ACTIONS[k];
        }
    if (nact != 1) {
        diag_path(d, p,
                  "%s one of \"condition\", \"deletionTimestamp\", \"delete\", \"phase\" "
                  "or \"terminate\"",
                  nact ? "give only" : "missing the step: give");
        return;
    }
    if (strcmp(which, "phase") != 0)
        for (size_t k = 0; k < 2; k++) {
            const char *key = k ? "message" : "reason";
            if (get(e, key))
                diag_path(d, jsonc_path_key(q, sizeof q, p, key),
                          "\"%s\" belongs to a \"phase\" step (a condition has its own)", key);
        }
    jsonc_path_key(q, sizeof q, p, which);
    if (strcmp(which, "condition") == 0) {
        if (jsonc_as_object(act, q, d) < 0)
            return;
        jsonc_check_keys(act, q, CONDITION_KEYS, d);
        if (text(act, "type", q, d, 128, &s) == 0)
            missing(d, q, "type");
        if (jsonc_string(act, "status", q, d, &s) == 1) {
            char r[PATH_LEN];
            enum_value(s, jsonc_path_key(r, sizeof r, q, "status"), d, "condition status",
                       CONDITION_STATUSES);
        }
        text(act, "reason", q, d, 128, &s);
        message(act, "message", q, d, 0, POD_VARS);
    } else if (strcmp(which, "deletionTimestamp") == 0 || strcmp(which, "delete") == 0) {
        if (!cJSON_IsTrue(act))
            diag_path(d, q, "expected true (leave the step out otherwise)");
        if (strcmp(which, "delete") == 0)
            (*deletes)++;
    } else if (strcmp(which, "phase") == 0) {
        if (jsonc_as_string(act, q, d, &s) == 0)
            enum_value(s, q, d, "phase", PHASES);
        text(e, "reason", p, d, 128, &s);
        message(e, "message", p, d, 0, POD_VARS);
    } else {
        if (jsonc_as_object(act, q, d) < 0)
            return;
        jsonc_check_keys(act, q, TERMINATE_KEYS, d);
        jsonc_int(act, "exitCode", q, d, 0, 255, &code);
        text(act, "reason", q, d, 128, &s);
    }
}

static void parse_disrupt(const cJSON *v, const char *path, struct diag *d)
{
    const cJSON *steps;
    const char *s;
    int64_t ms;
    size_t n = 0, i = 0;
    char sp[PATH_LEN];
    int deletes = 0;

    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, DISRUPT_KEYS, d);
    jsonc_duration(v, "at", path, d, &ms);
    if (jsonc_string(v, "on", path, d, &s) == 1) {
        char p[PATH_LEN];
        size_t plen = strlen(DISRUPT_ON_STAGE);
        jsonc_path_key(p, sizeof p, path, "on");
        if (strncmp(s, DISRUPT_ON_STAGE, plen) != 0)
            enum_value(s, p, d, "pod milestone", DISRUPT_ON);
        else if (!s[plen] || strlen(s + plen) > GLOB_MAX)
            diag_path(d, p,
                      "\"stage:\" needs a stage name or pattern (1 to %d characters), e.g. "
                      "\"stage:step_script\"",
                      GLOB_MAX);
    }
    int rc = array(v, "steps", path, d, STEPS_MAX, &steps, &n);
    if (rc == 0 || (rc == 1 && n == 0)) {
        diag_path(d, path,
                  "give \"steps\": at least one of condition, deletionTimestamp, delete, "
                  "phase, terminate");
        return;
    }
    if (rc < 0)
        return;
    jsonc_path_key(sp, sizeof sp, path, "steps");
    for (const cJSON *e = steps->child; e; e = e->next, i++) {
        char p[PATH_LEN];
        jsonc_path_index(p, sizeof p, sp, i);
        if (deletes) {
            diag_path(d, p,
                      "impossible combination: the pod is gone after a \"delete\" step, so "
                      "nothing can follow it");
            break;
        }
        parse_step(e, p, d, &deletes);
    }
}

static void parse_pod(struct ctx *c, const cJSON *spec, const char *path, struct pod_script *ps)
{
    struct diag *d = c->d;
    const cJSON *m = NULL, *v;
    char p[PATH_LEN];

    if (jsonc_as_object(spec, path, d) < 0)
        return;
    jsonc_check_keys(spec, path, POD_KEYS, d);
    if (jsonc_object(spec, "match", path, d, &m) == 1) {
        jsonc_path_key(p, sizeof p, path, "match");
        jsonc_check_keys(m, p, POD_MATCH_KEYS, d);
        for (size_t k = 0; POD_MATCH_KEYS[k]; k++) {
            char q[PATH_LEN];
            if (!(v = get(m, POD_MATCH_KEYS[k])))
                continue;
            if (glob_value(v, jsonc_path_key(q, sizeof q, p, POD_MATCH_KEYS[k]), d) == 0 && k == 0)
                ps->name_glob = dup_or_oom(c, v->valuestring);
        }
    }
    parse_predicates(c, spec, path);
    if ((v = get(spec, "node")))
        parse_node(v, jsonc_path_key(p, sizeof p, path, "node"), d);
    if ((v = get(spec, "schedule")))
        parse_schedule(v, jsonc_path_key(p, sizeof p, path, "schedule"), d);
    parse_containers(c, spec, path, "containers");
    parse_containers(c, spec, path, "initContainers");
    parse_events(c, spec, path);
    if ((v = get(spec, "disrupt")))
        parse_disrupt(v, jsonc_path_key(p, sizeof p, path, "disrupt"), d);
    if (!failed(c) && !(ps->spec = cJSON_Duplicate(spec, 1)))
        diag_path(d, path, "out of memory");
}

static void parse_pods(struct ctx *c, const cJSON *root)
{
    const cJSON *arr;
    size_t n = 0, i = 0;

    if (array(root, "pods", "", c->d, LIST_MAX, &arr, &n) != 1 || n == 0)
        return;
    if (!(c->s->pods = calloc(n, sizeof *c->s->pods))) {
        diag_path(c->d, "pods", "out of memory");
        return;
    }
    c->s->npods = n;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char p[PATH_LEN];
        parse_pod(c, e, jsonc_path_index(p, sizeof p, "pods", i), &c->s->pods[i]);
    }
}

/* ---- admission ---- */

static const char *const ADMISSION_KEYS[] = {"name",   "match", "when",  "forEach",
                                             "exempt", "deny",  "fault", NULL};
static const char *const EXEMPT_KEYS[] = {"labels", "annotations", "namespaces", NULL};
static const char *const DENY_KEYS[] = {"code", "reason", "message", NULL};
static const char *const ADMISSION_VARS[] = {"name", "namespace", NULL};
static const char *const ADMISSION_EACH_VARS[] = {"name", "namespace", "element", NULL};

static void parse_exempt(struct ctx *c, const cJSON *v, const char *path)
{
    struct diag *d = c->d;
    const cJSON *arr;
    size_t n = 0, i = 0;
    char p[PATH_LEN];

    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, EXEMPT_KEYS, d);
    for (size_t k = 0; k < 2; k++) {
        const cJSON *map;
        if (jsonc_object(v, EXEMPT_KEYS[k], path, d, &map) != 1)
            continue;
        jsonc_path_key(p, sizeof p, path, EXEMPT_KEYS[k]);
        if (cJSON_GetArraySize(map) > MAP_MAX) {
            diag_path(d, p, "too many entries (at most %d)", MAP_MAX);
            continue;
        }
        for (const cJSON *e = map->child; e; e = e->next) {
            char q[PATH_LEN];
            jsonc_path_key(q, sizeof q, p, e->string);
            if (!e->string[0] || strlen(e->string) > 317) /* prefix/name: 253 + 1 + 63 */
                diag_path(d, q, "a %s key is 1 to 317 characters", k ? "annotation" : "label");
            else if (cJSON_IsString(e) && !e->valuestring[0])
                continue; /* "" : the key with an empty value */
            else
                glob_value(e, q, d);
        }
    }
    if (array(v, "namespaces", path, d, LIST_MAX, &arr, &n) == 1) {
        jsonc_path_key(p, sizeof p, path, "namespaces");
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            char q[PATH_LEN];
            glob_value(e, jsonc_path_index(q, sizeof q, p, i), d);
        }
    }
    if (!v->child)
        diag_path(d, path, "give \"labels\", \"annotations\" or \"namespaces\"");
}

static void parse_deny(const cJSON *v, const char *path, struct diag *d, int each)
{
    int64_t code;
    const char *s;

    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, DENY_KEYS, d);
    if (jsonc_int(v, "code", path, d, 400, 599, &code) == 1 && code != 400 && code != 403 &&
        code != 422) {
        char p[PATH_LEN];
        diag_path(d, jsonc_path_key(p, sizeof p, path, "code"),
                  "a webhook denial answers 400, 403 or 422, not %lld (for other answers use "
                  "\"fault\")",
                  (long long)code);
    }
    text(v, "reason", path, d, 128, &s);
    message(v, "message", path, d, 1, each ? ADMISSION_EACH_VARS : ADMISSION_VARS);
}

static void parse_admission_entry(struct ctx *c, const cJSON *spec, size_t i,
                                  struct admission_policy *ap)
{
    struct diag *d = c->d;
    const unsigned writes =
        MATCH_CREATE | MATCH_UPDATE | MATCH_PATCH | MATCH_DELETE | MATCH_DELETECOLLECTION;
    char path[PATH_LEN], p[PATH_LEN];
    const cJSON *v, *deny, *fault;
    struct match m;

    jsonc_path_index(path, sizeof path, "admission", i);
    snprintf(ap->name, sizeof ap->name, "admission[%zu]", i);
    if (jsonc_as_object(spec, path, d) < 0)
        return;
    jsonc_check_keys(spec, path, ADMISSION_KEYS, d);
    if ((v = get(spec, "name")))
        name_value(v, jsonc_path_key(p, sizeof p, path, "name"), d, ap->name);
    jsonc_path_key(p, sizeof p, path, "match");
    if (match_parse(get(spec, "match"), p, d, &m) == 0) {
        if (m.verbs & ~writes)
            diag_path(d, p,
                      "impossible combination: admission runs on create, update, patch and "
                      "delete only, so the match's other verbs never reach it");
        check_match(&m, p, d);
        match_release(&m);
    }
    parse_predicates(c, spec, path);
    int each = 0;
    if ((v = get(spec, "forEach"))) {
        each = 1;
        jsonc_path_key(p, sizeof p, path, "forEach");
        path_value(v, p, d, 1);
        if (!get(spec, "when"))
            diag_path(d, p, "\"forEach\" checks \"when\" on each element: give \"when\" too");
    }
    if ((v = get(spec, "exempt")))
        parse_exempt(c, v, jsonc_path_key(p, sizeof p, path, "exempt"));
    deny = get(spec, "deny");
    fault = get(spec, "fault");
    if (!deny == !fault) {
        diag_path(d, path,
                  "give \"deny\" (the webhook refuses) or \"fault\" (the webhook "
                  "misbehaves: times out, fails), %s",
                  deny ? "not both" : "one of them");
    } else if (deny) {
        parse_deny(deny, jsonc_path_key(p, sizeof p, path, "deny"), d, each);
    } else {
        const struct fault_type *ft;
        jsonc_path_key(p, sizeof p, path, "fault");
        if (parse_fault(fault, p, d, &ft, NULL) == 0 && ft->layer != FAULT_LAYER_HTTP)
            diag_path(d, p,
                      "impossible combination: \"%s\" is a %s fault, but an admission webhook can "
                      "only answer the request (use an HTTP fault such as a status or a delay)",
                      ft->name, layer_name(ft->layer));
    }
    if (!failed(c) && !(ap->spec = cJSON_Duplicate(spec, 1)))
        diag_path(d, path, "out of memory");
}

static void parse_admission(struct ctx *c, const cJSON *root)
{
    const cJSON *arr;
    size_t n = 0, i = 0;

    if (array(root, "admission", "", c->d, LIST_MAX, &arr, &n) != 1 || n == 0)
        return;
    if (!(c->s->admission = calloc(n, sizeof *c->s->admission))) {
        diag_path(c->d, "admission", "out of memory");
        return;
    }
    c->s->nadmission = n;
    for (const cJSON *e = arr->child; e; e = e->next, i++)
        parse_admission_entry(c, e, i, &c->s->admission[i]);
    for (size_t j = 1; j < n; j++)
        for (size_t k = 0; k < j; k++)
            if (strcmp(c->s->admission[j].name, c->s->admission[k].name) == 0) {
                char p[PATH_LEN];
                snprintf(p, sizeof p, "admission[%zu].name", j);
                diag_path(c->d, p, "duplicate policy name \"%s\" (also at admission[%zu].name)",
                          c->s->admission[j].name, k);
                break;
            }
}

/* ---- scripted commands and build stages ---- */

#define OUTPUT_MAX 65536      /* bytes of one "stdout" / "stderr" step or "output" line */
#define SCRIPT_STEPS_MAX 256  /* steps of one command or stage */
#define OUTPUT_LINES_MAX 1024 /* lines of a stage's "output" */
#define COMMAND_WORDS_MAX 64  /* words of an array "command" (RCS_MAX_ARGS) */

static const char *const COMMAND_KEYS[] = {"name", "match", "steps", "echoStdin", NULL};
static const char *const COMMAND_MATCH_KEYS[] = {"command", "container", "pod", "namespace", NULL};
static const char *const SCRIPT_STEP_KEYS[] = {"stdout", "stderr", "sleep", "stdin",
                                               "exit",   "hang",   NULL};
static const char *const STAGE_KEYS[] = {"stage",      "container", "pod",       "when",
                                         "runningFor", "output",    "steps",     "exit",
                                         "duration",   "hang",      "deleteLog", NULL};
static const char *const RUNNING_FOR_KEYS[] = {"min", "max", NULL};

/* A value that must be true when given ("hang": true, "stdin": true). */
static void true_value(const cJSON *v, const char *path, struct diag *d)
{
    if (!cJSON_IsTrue(v))
        diag_path(d, path, "expected true (leave it out otherwise)");
}

/* One step of a scripted program; *ends gets the step's name when it ends the program (exit,
 * hang), else NULL. */
static void parse_script_step(const cJSON *e, const char *p, struct diag *d, int stage,
                              const char **ends)
{
    const cJSON *act = NULL, *v;
    const char *which = NULL, *str;
    char q[PATH_LEN];
    int64_t n;
    int nact = 0;

    *ends = NULL;
    if (jsonc_as_object(e, p, d) < 0)
        return;
    jsonc_check_keys(e, p, SCRIPT_STEP_KEYS, d);
    for (size_t k = 0; SCRIPT_STEP_KEYS[k]; k++)
        if ((v = get(e, SCRIPT_STEP_KEYS[k])) && nact++ == 0) {
            act = v;
            which = SCRIPT_STEP_KEYS[k];
        }
    if (nact != 1) {
        diag_path(d, p,
                  "%s one of \"stdout\", \"stderr\", \"sleep\", \"stdin\", \"exit\" or \"hang\"",
                  nact ? "give only" : "missing the step: give");
        return;
    }
    jsonc_path_key(q, sizeof q, p, which);
    if (strcmp(which, "stdout") == 0 || strcmp(which, "stderr") == 0) {
        if (jsonc_as_string(act, q, d, &str) < 0)
            return;
        if (!*str)
            diag_path(d, q, "must not be empty");
        else if (strlen(str) > OUTPUT_MAX)
            diag_path(d, q, "too long (%zu bytes, at most %d)", strlen(str), OUTPUT_MAX);
    } else if (strcmp(which, "sleep") == 0) {
        jsonc_as_duration(act, q, d, &n);
    } else if (strcmp(which, "stdin") == 0) {
        if (stage)
            diag_path(d, q,
                      "a stage reads no stdin (its script is a file), so there is nothing to wait "
                      "for");
        else
            true_value(act, q, d);
    } else if (strcmp(which, "exit") == 0) {
        jsonc_as_int(act, q, d, 0, 255, &n);
        *ends = which;
    } else {
        true_value(act, q, d);
        *ends = which;
    }
}

/* obj["steps"]: 1 to SCRIPT_STEPS_MAX steps, at most one that ends the program, and last. 1 when
 * given, 0 absent, -1 reported. */
static int parse_script_steps(const cJSON *obj, const char *path, struct diag *d, int stage)
{
    const cJSON *arr;
    size_t n = 0, i = 0, end_at = 0;
    const char *ended = NULL;
    char sp[PATH_LEN];
    int rc = array(obj, "steps", path, d, SCRIPT_STEPS_MAX, &arr, &n);

    if (rc <= 0)
        return rc;
    jsonc_path_key(sp, sizeof sp, path, "steps");
    if (n == 0) {
        diag_path(d, sp, "give at least one step");
        return -1;
    }
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char p[PATH_LEN];
        const char *ends;
        jsonc_path_index(p, sizeof p, sp, i);
        if (ended) {
            diag_path(d, p,
                      "impossible combination: steps[%zu] (\"%s\") ends the %s, so nothing can "
                      "follow it",
                      end_at, ended, stage ? "stage" : "command");
            return -1;
        }
        parse_script_step(e, p, d, stage, &ends);
        if (ends) {
            ended = ends;
            end_at = i;
        }
    }
    return 1;
}

/* A command's "match": its "command" is a pattern for the words joined by spaces, or an array of
 * patterns, one per word. */
static void parse_command_match(const cJSON *m, const char *path, struct diag *d)
{
    const cJSON *v;
    char p[PATH_LEN];

    if (jsonc_as_object(m, path, d) < 0)
        return;
    jsonc_check_keys(m, path, COMMAND_MATCH_KEYS, d);
    for (size_t k = 1; COMMAND_MATCH_KEYS[k]; k++)
        if ((v = get(m, COMMAND_MATCH_KEYS[k])))
            glob_value(v, jsonc_path_key(p, sizeof p, path, COMMAND_MATCH_KEYS[k]), d);
    if (!(v = get(m, "command")))
        return;
    jsonc_path_key(p, sizeof p, path, "command");
    if (cJSON_IsString(v)) {
        glob_value(v, p, d);
        return;
    }
    if (!cJSON_IsArray(v)) {
        jsonc_type_error(d, p, "a pattern or an array of patterns (one per word)", v);
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
    if (n == 0 || n > COMMAND_WORDS_MAX) {
        diag_path(d, p, "expected 1 to %d patterns, one per word (got %zu)", COMMAND_WORDS_MAX, n);
        return;
    }
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        char q[PATH_LEN];
        const char *s;
        jsonc_path_index(q, sizeof q, p, i);
        /* "" is a word too (sh -c ""): an empty pattern matches only it */
        if (jsonc_as_string(e, q, d, &s) == 0 && strlen(s) > GLOB_MAX)
            diag_path(d, q, "expected a pattern of 0 to %d characters", GLOB_MAX);
    }
}

static void parse_command(struct ctx *c, const cJSON *spec, size_t i, struct command_script *cs)
{
    struct diag *d = c->d;
    char path[PATH_LEN], p[PATH_LEN];
    const cJSON *v;
    int on;

    jsonc_path_index(path, sizeof path, "commands", i);
    snprintf(cs->name, sizeof cs->name, "commands[%zu]", i);
    if (jsonc_as_object(spec, path, d) < 0)
        return;
    jsonc_check_keys(spec, path, COMMAND_KEYS, d);
    if ((v = get(spec, "name")))
        name_value(v, jsonc_path_key(p, sizeof p, path, "name"), d, cs->name);
    if ((v = get(spec, "match")))
        parse_command_match(v, jsonc_path_key(p, sizeof p, path, "match"), d);
    if (parse_script_steps(spec, path, d, 0) == 0)
        missing(d, path, "steps");
    jsonc_bool(spec, "echoStdin", path, d, &on);
    if (!failed(c) && !(cs->spec = cJSON_Duplicate(spec, 1)))
        diag_path(d, path, "out of memory");
}

static void parse_commands(struct ctx *c, const cJSON *root)
{
    const cJSON *arr;
    size_t n = 0, i = 0;

    if (array(root, "commands", "", c->d, LIST_MAX, &arr, &n) != 1 || n == 0)
        return;
    if (!(c->s->commands = calloc(n, sizeof *c->s->commands))) {
        diag_path(c->d, "commands", "out of memory");
        return;
    }
    c->s->ncommands = n;
    for (const cJSON *e = arr->child; e; e = e->next, i++)
        parse_command(c, e, i, &c->s->commands[i]);
    for (size_t j = 1; j < n; j++)
        for (size_t k = 0; k < j; k++)
            if (strcmp(c->s->commands[j].name, c->s->commands[k].name) == 0) {
                char p[PATH_LEN];
                snprintf(p, sizeof p, "commands[%zu].name", j);
                diag_path(c->d, p, "duplicate command name \"%s\" (also at commands[%zu].name)",
                          c->s->commands[j].name, k);
                break;
            }
}

static void parse_running_for(const cJSON *v, const char *path, struct diag *d)
{
    int64_t min = 0, max = 0;

    if (jsonc_as_object(v, path, d) < 0)
        return;
    jsonc_check_keys(v, path, RUNNING_FOR_KEYS, d);
    int hmin = jsonc_duration(v, "min", path, d, &min);
    int hmax = jsonc_duration(v, "max", path, d, &max);
    if (hmin == 0 && hmax == 0)
        diag_path(d, path, "give \"min\" and/or \"max\"");
    else if (hmin == 1 && hmax == 1 && max <= min)
        diag_path(d, path,
                  "\"max\" must be above \"min\" (the entry holds from \"min\" after the pod "
                  "became Running until before \"max\")");
}

static void parse_stage(struct ctx *c, const cJSON *spec, const char *path, struct stage_script *ss)
{
    static const char *const shorthand[] = {"output", "exit", "duration", "hang", NULL};
    struct diag *d = c->d;
    char p[PATH_LEN];
    const cJSON *v, *arr;
    int64_t n64;
    size_t n = 0, nshort = 0;

    if (jsonc_as_object(spec, path, d) < 0)
        return;
    jsonc_check_keys(spec, path, STAGE_KEYS, d);
    for (size_t k = 0; k < 3; k++)
        if ((v = get(spec, STAGE_KEYS[k])))
            glob_value(v, jsonc_path_key(p, sizeof p, path, STAGE_KEYS[k]), d);
    parse_predicates(c, spec, path);
    if ((v = get(spec, "runningFor")))
        parse_running_for(v, jsonc_path_key(p, sizeof p, path, "runningFor"), d);
    if (array(spec, "output", path, d, OUTPUT_LINES_MAX, &arr, &n) == 1) {
        size_t i = 0;
        jsonc_path_key(p, sizeof p, path, "output");
        if (n == 0)
            diag_path(d, p, "give at least one line (or leave \"output\" out)");
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            char q[PATH_LEN];
            const char *s;
            jsonc_path_index(q, sizeof q, p, i);
            if (jsonc_as_string(e, q, d, &s) == 0 && strlen(s) > OUTPUT_MAX)
                diag_path(d, q, "too long (%zu bytes, at most %d)", strlen(s), OUTPUT_MAX);
        }
    }
    jsonc_int(spec, "exit", path, d, 0, 255, &n64);
    jsonc_duration(spec, "duration", path, d, &n64);
    if ((v = get(spec, "hang")))
        true_value(v, jsonc_path_key(p, sizeof p, path, "hang"), d);
    jsonc_duration(spec, "deleteLog", path, d, &n64);
    int steps = parse_script_steps(spec, path, d, 1) != 0;
    for (size_t k = 0; shorthand[k]; k++)
        nshort += get(spec, shorthand[k]) != NULL;
    if (steps && nshort)
        diag_path(d, path,
                  "give \"steps\" or the shorthand \"output\", \"exit\", \"duration\" and "
                  "\"hang\", not both");
    if (get(spec, "exit") && get(spec, "hang"))
        diag_path(d, path,
                  "impossible combination: \"hang\" never ends the stage, so it takes no "
                  "\"exit\"");
    if (!steps && !nshort && !get(spec, "deleteLog"))
        diag_path(d, path,
                  "say what the stage does: give \"output\", \"exit\", \"duration\", \"hang\", "
                  "\"steps\" or \"deleteLog\"");
    if (!failed(c) && !(ss->spec = cJSON_Duplicate(spec, 1)))
        diag_path(d, path, "out of memory");
}

static void parse_stages(struct ctx *c, const cJSON *root)
{
    const cJSON *arr;
    size_t n = 0, i = 0;

    if (array(root, "stages", "", c->d, LIST_MAX, &arr, &n) != 1 || n == 0)
        return;
    if (!(c->s->stages = calloc(n, sizeof *c->s->stages))) {
        diag_path(c->d, "stages", "out of memory");
        return;
    }
    c->s->nstages = n;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char p[PATH_LEN];
        parse_stage(c, e, jsonc_path_index(p, sizeof p, "stages", i), &c->s->stages[i]);
    }
}

/* ---- the fake GitLab ---- */

#define GITLAB_JOBS_MAX 64              /* jobs a scenario queues */
#define GITLAB_MAX_LONG_POLL_MS 600000  /* a jobs/request hold (GitLab's header timeout: 10m) */
#define GITLAB_MAX_UPDATE_INTERVAL 3600 /* seconds */
#define GITLAB_JOB_TIMEOUT_MAX 2592000  /* a job's timeout: 30 days, in seconds */

static const char *const GITLAB_KEYS[] = {"jobs", "longPoll", "updateInterval", "runnerToken",
                                          NULL};
/* a job's keys as scenarios write them, and glproto_job_payload()'s for each */
static const char *const JOB_KEYS[] = {
    "id",          "token", "name",      "stage",       "projectId", "projectName", "repoUrl",
    "ref",         "sha",   "beforeSha", "image",       "services",  "variables",   "script",
    "afterScript", "steps", "timeout",   "credentials", "extra",     NULL};
static const char *const JOB_PROTO_KEYS[] = {
    "id",           "token",    "name",        "stage",  "project_id",
    "project_name", "repo_url", "ref",         "sha",    "before_sha",
    "image",        "services", "variables",   "script", "after_script",
    "steps",        "timeout",  "credentials", "extra",  NULL};

cJSON *scenario_gitlab_job(const cJSON *spec, const char *path, struct diag *d)
{
    char p[PATH_LEN], err[256];
    cJSON *out = NULL, *payload = NULL;
    const cJSON *c;
    int bad = 0;

    if (jsonc_as_object(spec, path, d) < 0)
        return NULL;
    if (jsonc_check_keys(spec, path, JOB_KEYS, d) < 0)
        return NULL;
    if (!(out = cJSON_CreateObject()))
        goto oom;
    cJSON_ArrayForEach(c, spec)
    {
        size_t k = 0;
        while (strcmp(JOB_KEYS[k], c->string) != 0)
            k++;
        cJSON *v;
        if (strcmp(c->string, "timeout") == 0 && cJSON_IsString(c)) {
            int64_t ms;
            if (jsonc_duration(spec, "timeout", path, d, &ms) < 0) {
                bad = 1;
                continue;
            }
            if (ms < 1000 || ms / 1000 > GITLAB_JOB_TIMEOUT_MAX) {
                diag_path(d, jsonc_path_key(p, sizeof p, path, "timeout"),
                          "expected a duration from 1s to 720h");
                bad = 1;
                continue;
            }
            v = cJSON_CreateNumber((double)((ms + 999) / 1000));
        } else {
            v = cJSON_Duplicate(c, 1);
        }
        if (!v || !cJSON_AddItemToObject(out, JOB_PROTO_KEYS[k], v)) {
            cJSON_Delete(v);
            goto oom;
        }
    }
    if (bad)
        goto fail;
    /* the server's own check: what it would refuse at gitlab_job_add() */
    if (!(payload = glproto_job_payload(out, 1, "t", err, sizeof err))) {
        const char *colon = strstr(err, ": ");
        size_t k = 0;
        for (; colon && JOB_PROTO_KEYS[k]; k++)
            if (strlen(JOB_PROTO_KEYS[k]) == (size_t)(colon - err) &&
                strncmp(err, JOB_PROTO_KEYS[k], (size_t)(colon - err)) == 0)
                break;
        if (colon && JOB_PROTO_KEYS[k])
            diag_path(d, jsonc_path_key(p, sizeof p, path, JOB_KEYS[k]), "%s", colon + 2);
        else
            diag_path(d, path, "%s", err);
        goto fail;
    }
    cJSON_Delete(payload);
    return out;
oom:
    diag_path(d, path, "out of memory");
fail:
    cJSON_Delete(out);
    return NULL;
}

static void parse_gitlab(struct ctx *c, const cJSON *root)
{
    struct diag *d = c->d;
    struct scenario_gitlab *g = &c->s->gitlab;
    const cJSON *spec, *jobs;
    const char *tok;
    size_t n = 0, i = 0;
    int64_t ms;

    if (jsonc_object(root, "gitlab", "", d, &spec) != 1)
        return;
    g->present = 1;
    jsonc_check_keys(spec, "gitlab", GITLAB_KEYS, d);
    if (jsonc_duration(spec, "longPoll", "gitlab", d, &ms) == 1) {
        if (ms > GITLAB_MAX_LONG_POLL_MS)
            diag_path(d, "gitlab.longPoll", "expected at most 10m (GitLab's header timeout)");
        g->long_poll_ms = ms == 0 ? -1 : ms;
    }
    if (jsonc_duration(spec, "updateInterval", "gitlab", d, &ms) == 1) {
        if (ms < 1000 || ms % 1000 || ms / 1000 > GITLAB_MAX_UPDATE_INTERVAL)
            diag_path(d, "gitlab.updateInterval", "expected whole seconds from 1s to 1h");
        else
            g->update_interval_s = (int)(ms / 1000);
    }
    if (jsonc_string(spec, "runnerToken", "gitlab", d, &tok) == 1) {
        if (!*tok || strlen(tok) > GLPROTO_MAX_TOKEN || strspn(tok, "\t\r\n ") != 0 ||
            strpbrk(tok, "\t\r\n \"\\"))
            diag_path(d, "gitlab.runnerToken",
                      "expected 1 to %d characters without blanks, quotes or backslashes",
                      GLPROTO_MAX_TOKEN);
        else
            g->runner_token = dup_or_oom(c, tok);
    }
    if (!(g->jobs = cJSON_CreateArray())) {
        diag_path(d, "gitlab", "out of memory");
        return;
    }
    if (array(spec, "jobs", "gitlab", d, GITLAB_JOBS_MAX, &jobs, &n) != 1)
        return;
    for (const cJSON *e = jobs->child; e; e = e->next, i++) {
        char p[PATH_LEN];
        cJSON *job = scenario_gitlab_job(e, jsonc_path_index(p, sizeof p, "gitlab.jobs", i), d);
        if (!job && cJSON_IsString(get(e, "name"))) /* reported; its name still counts */
            job = cJSON_Duplicate(e, 1);
        if (job && !cJSON_AddItemToArray(g->jobs, job)) {
            cJSON_Delete(job);
            diag_path(d, p, "out of memory");
        }
    }
    /* ids given must differ (unnumbered jobs take the next free ones), as gitlab_job_add wants */
    i = 0;
    for (const cJSON *e = g->jobs->child; e; e = e->next, i++) {
        const cJSON *id = get(e, "id");
        for (const cJSON *o = g->jobs->child; id && o != e; o = o->next)
            if (cJSON_IsNumber(get(o, "id")) && get(o, "id")->valuedouble == id->valuedouble) {
                char p[PATH_LEN];
                snprintf(p, sizeof p, "gitlab.jobs[%zu].id", i);
                diag_path(d, p, "duplicate job id %.0f", id->valuedouble);
                break;
            }
    }
}

/* ---- expectations ---- */

static const char *const EXPECT_KEYS[] = {
    "exitCode",    "outputContains", "outputLacks", "durationMin",
    "durationMax", "journal",        "gitlab",      NULL};
static const char *const EXPECT_GITLAB_KEYS[] = {"jobs", NULL};
static const char *const EXPECT_JOB_KEYS[] = {
    "job", "name", "state", "failureReason", "exitCode", "traceContains", "traceLacks", NULL};
static const char *const JOB_STATES[] = {"pending", "running",  "canceling", "success",
                                         "failed",  "canceled", NULL};
static const char *const KUBECTL_KEYS[] = {"args", "expect", NULL};
static const char *const JOURNAL_KEYS[] = {"name", "match", "rule",   "fault", "count",
                                           "min",  "max",   "before", NULL};

static void parse_strings(const cJSON *obj, const char *key, const char *path, struct diag *d)
{
    const cJSON *arr;
    size_t n = 0, i = 0;
    char p[PATH_LEN];

    if (array(obj, key, path, d, LIST_MAX, &arr, &n) != 1)
        return;
    jsonc_path_key(p, sizeof p, path, key);
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char q[PATH_LEN];
        const char *s;
        jsonc_path_index(q, sizeof q, p, i);
        if (jsonc_as_string(e, q, d, &s) == 0 && (!*s || strlen(s) > TEXT_MAX))
            diag_path(d, q, "expected 1 to %d characters", TEXT_MAX);
    }
}

static void parse_journal_expect(struct ctx *c, const cJSON *e, const char *p, const cJSON *all)
{
    struct diag *d = c->d;
    char q[PATH_LEN], name[SCENARIO_NAME_MAX];
    const cJSON *v;
    const char *s;
    int64_t count, min = 0, max = 0;
    struct match m;

    if (jsonc_as_object(e, p, d) < 0)
        return;
    jsonc_check_keys(e, p, JOURNAL_KEYS, d);
    if ((v = get(e, "name")))
        name_value(v, jsonc_path_key(q, sizeof q, p, "name"), d, name);
    jsonc_path_key(q, sizeof q, p, "match");
    if (match_parse(get(e, "match"), q, d, &m) == 0) {
        check_match(&m, q, d);
        match_release(&m);
    }
    if (jsonc_string(e, "rule", p, d, &s) == 1)
        rule_exists(c, s, jsonc_path_key(q, sizeof q, p, "rule"));
    if (jsonc_string(e, "fault", p, d, &s) == 1 && !fault_type_find(s)) {
        char known[1024];
        diag_path(d, jsonc_path_key(q, sizeof q, p, "fault"),
                  "unknown fault type \"%s\" (known: %s)", SHOW(s),
                  fault_types_count ? fault_type_names(known, sizeof known) : "none built in");
    }
    int hc = jsonc_int(e, "count", p, d, 0, INT64_MAX, &count);
    int hmin = jsonc_int(e, "min", p, d, 0, INT64_MAX, &min);
    int hmax = jsonc_int(e, "max", p, d, 0, INT64_MAX, &max);
    if (hc == 1 && (hmin == 1 || hmax == 1))
        diag_path(d, p, "give \"count\" (exactly) or \"min\"/\"max\" (a range), not both");
    else if (hmin == 1 && hmax == 1 && max < min)
        diag_path(d, p, "\"max\" (%lld) is below \"min\" (%lld)", (long long)max, (long long)min);
    if (jsonc_string(e, "before", p, d, &s) == 1) {
        jsonc_path_key(q, sizeof q, p, "before");
        const cJSON *o = all->child;
        while (o &&
               !(cJSON_IsString(get(o, "name")) && strcmp(get(o, "name")->valuestring, s) == 0))
            o = o->next;
        if (!o)
            diag_path(d, q, "no journal expectation named \"%s\" (give one a \"name\")", SHOW(s));
        else if (o == e)
            diag_path(d, q, "an expectation cannot come before itself");
    }
}

/* "gitlab": {"jobs": [...]}: what the fake GitLab must have seen of each job. */
static void parse_gitlab_expect(struct ctx *c, const cJSON *spec, const char *path)
{
    struct diag *d = c->d;
    const cJSON *arr;
    size_t n = 0, i = 0;
    char gp[PATH_LEN], jp[PATH_LEN];

    jsonc_path_key(gp, sizeof gp, path, "gitlab");
    if (jsonc_as_object(spec, gp, d) < 0)
        return;
    jsonc_check_keys(spec, gp, EXPECT_GITLAB_KEYS, d);
    if (!c->s->gitlab.present)
        diag_path(d, gp, "the scenario has no \"gitlab\" section: no fake GitLab runs");
    jsonc_path_key(jp, sizeof jp, gp, "jobs");
    if (array(spec, "jobs", gp, d, LIST_MAX, &arr, &n) != 1)
        return;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        char p[PATH_LEN], q[PATH_LEN];
        const char *str;
        int64_t v;
        jsonc_path_index(p, sizeof p, jp, i);
        if (jsonc_as_object(e, p, d) < 0)
            continue;
        jsonc_check_keys(e, p, EXPECT_JOB_KEYS, d);
        int hid = jsonc_int(e, "job", p, d, 1, INT64_MAX, &v);
        int hname = jsonc_string(e, "name", p, d, &str);
        if ((hid == 1) == (hname == 1) && hid >= 0 && hname >= 0)
            diag_path(d, p, "give \"job\" (an id) or \"name\" (a job's name), one of them");
        if (hname == 1 && c->s->gitlab.jobs) {
            const cJSON *j = c->s->gitlab.jobs->child;
            while (j && !(cJSON_IsString(get(j, "name")) &&
                          strcmp(get(j, "name")->valuestring, str) == 0))
                j = j->next;
            if (!j)
                diag_path(d, jsonc_path_key(q, sizeof q, p, "name"),
                          "no job named \"%s\" in gitlab.jobs", SHOW(str));
        }
        if (jsonc_string(e, "state", p, d, &str) == 1)
            enum_value(str, jsonc_path_key(q, sizeof q, p, "state"), d, "job state", JOB_STATES);
        if (jsonc_string(e, "failureReason", p, d, &str) == 1 && strlen(str) > GLPROTO_MAX_REASON)
            diag_path(d, jsonc_path_key(q, sizeof q, p, "failureReason"),
                      "expected at most %d characters", GLPROTO_MAX_REASON);
        jsonc_int(e, "exitCode", p, d, 0, 255, &v);
        parse_strings(e, "traceContains", p, d);
        parse_strings(e, "traceLacks", p, d);
    }
}

/* "jobClient": the reference job client's configuration (harness/JOBCLIENT.md), validated by its
 * own parser; its messages get the "jobClient." path prefix. */
static void parse_job_client(struct ctx *c, const cJSON *root)
{
    const cJSON *spec;
    if (jsonc_object(root, "jobClient", "", c->d, &spec) != 1)
        return;
    struct diag tmp;
    struct jobconfig jc;
    diag_init(&tmp, "");
    int rc = jobconfig_from_json(spec, &jc, &tmp);
    for (size_t i = 0; i < tmp.n; i++) {
        const char *m = tmp.msgs[i];
        if (strncmp(m, ": ", 2) == 0) /* "" file: ": path: message" */
            m += 2;
        diag_path(c->d, "", "jobClient.%s", m);
    }
    if (tmp.dropped)
        diag_path(c->d, "jobClient", "%zu more errors", tmp.dropped);
    diag_release(&tmp);
    if (rc == 0)
        jobconfig_release(&jc);
    if (!failed(c) && !(c->s->job_client = cJSON_Duplicate(spec, 1)))
        diag_path(c->d, "jobClient", "out of memory");
}

/* An "expect" object at path (the top level's, or kubectl's): checked, and a copy in *out. */
static void parse_expect_at(struct ctx *c, const cJSON *spec, const char *path, cJSON **out)
{
    struct diag *d = c->d;
    const cJSON *arr;
    int64_t code, dmin = 0, dmax = 0;
    size_t n = 0, i = 0;
    char jp[PATH_LEN];

    jsonc_check_keys(spec, path, EXPECT_KEYS, d);
    jsonc_int(spec, "exitCode", path, d, 0, 255, &code);
    parse_strings(spec, "outputContains", path, d);
    parse_strings(spec, "outputLacks", path, d);
    int hmin = jsonc_duration(spec, "durationMin", path, d, &dmin);
    int hmax = jsonc_duration(spec, "durationMax", path, d, &dmax);
    if (hmin == 1 && hmax == 1 && dmax < dmin)
        diag_path(d, path, "\"durationMax\" is below \"durationMin\"");
    if (get(spec, "gitlab"))
        parse_gitlab_expect(c, get(spec, "gitlab"), path);
    jsonc_path_key(jp, sizeof jp, path, "journal");
    if (array(spec, "journal", path, d, LIST_MAX, &arr, &n) == 1) {
        for (const cJSON *e = arr->child; e; e = e->next, i++) {
            char p[PATH_LEN];
            parse_journal_expect(c, e, jsonc_path_index(p, sizeof p, jp, i), arr);
        }
        for (const cJSON *e = arr->child; e; e = e->next)
            for (const cJSON *o = arr->child; o != e; o = o->next)
                if (cJSON_IsString(get(e, "name")) && cJSON_IsString(get(o, "name")) &&
                    strcmp(get(e, "name")->valuestring, get(o, "name")->valuestring) == 0) {
                    diag_path(d, jp, "duplicate expectation name \"%s\"",
                              SHOW(get(e, "name")->valuestring));
                    break;
                }
    }
    if (!failed(c) && !(*out = cJSON_Duplicate(spec, 1)))
        diag_path(d, path, "out of memory");
}

static void parse_expect(struct ctx *c, const cJSON *root)
{
    const cJSON *spec;

    if (jsonc_object(root, "expect", "", c->d, &spec) == 1)
        parse_expect_at(c, spec, "expect", &c->s->expect);
}

/* "kubectl": the arguments `kubefault run --kubectl` gives kubectl instead of running the
 * reference job client, and the "expect" it checks then. Kept whole, with the copy of "expect"
 * parse_expect_at() makes in place of the one written. */
static void parse_kubectl(struct ctx *c, const cJSON *root)
{
    struct diag *d = c->d;
    const cJSON *spec, *arr, *ex;
    cJSON *expect = NULL;
    size_t n = 0, i = 0;
    char p[PATH_LEN];

    if (jsonc_object(root, "kubectl", "", d, &spec) != 1)
        return;
    jsonc_check_keys(spec, "kubectl", KUBECTL_KEYS, d);
    int has = array(spec, "args", "kubectl", d, KUBECTL_ARGS_MAX, &arr, &n);
    if (has == 0)
        missing(d, "kubectl", "args");
    else if (has == 1 && n == 0)
        diag_path(d, "kubectl.args",
                  "give at least one argument (the kubectl command, e.g. \"get\")");
    for (const cJSON *e = has == 1 ? arr->child : NULL; e; e = e->next, i++) {
        const char *s, *b;
        jsonc_path_index(p, sizeof p, "kubectl.args", i);
        if (jsonc_as_string(e, p, d, &s) < 0)
            continue;
        b = strrchr(s, '/') ? strrchr(s, '/') + 1 : s;
        if (strlen(s) > TEXT_MAX)
            diag_path(d, p, "too long (%zu characters, at most %d)", strlen(s), TEXT_MAX);
        else if (i == 0 && strncmp(b, "kubectl", 7) == 0 && (!b[7] || b[7] == '.'))
            /* "kubectl" itself, "/usr/bin/kubectl", "kubectl.1.32": a common slip */
            diag_path(d, p,
                      "\"%s\" looks like a program: give kubectl's arguments only (kubefault run "
                      "--kubectl=PATH names the program)",
                      SHOW(s));
    }
    if (jsonc_object(spec, "expect", "kubectl", d, &ex) == 1)
        parse_expect_at(c, ex, "kubectl.expect", &expect);
    if (failed(c)) {
        cJSON_Delete(expect);
        return;
    }
    if (!(c->s->kubectl = cJSON_Duplicate(spec, 1))) {
        cJSON_Delete(expect);
        diag_path(d, "kubectl", "out of memory");
        return;
    }
    if (expect)
        cJSON_ReplaceItemInObjectCaseSensitive(c->s->kubectl, "expect", expect);
}

/* ---- checks across sections ---- */

/* A state a rule requires must be the initial one or set somewhere. */
static int state_is_set(const struct scenario *s, const char *state)
{
    if (strcmp(state, STATE_INITIAL) == 0)
        return 1;
    for (size_t i = 0; i < s->nrules; i++)
        if (strcmp(s->rules[i].set_state, state) == 0)
            return 1;
    for (size_t i = 0; i < s->ntimeline; i++)
        if (s->timeline[i].action == TIMELINE_SET_STATE &&
            strcmp(s->timeline[i].target, state) == 0)
            return 1;
    return 0;
}

static void cross_checks(struct ctx *c)
{
    struct scenario *s = c->s;
    char p[PATH_LEN];
    size_t n = strlen(RULE_FIRED);

    for (size_t i = 0; i < s->nrules; i++) {
        struct rule *r = &s->rules[i];
        if (r->require_state[0] && !state_is_set(s, r->require_state))
            diag_path(c->d, jsonc_path_key(p, sizeof p, r->path, "requireState"),
                      "state \"%s\" is never set (no rule's \"setState\" or timeline entry sets "
                      "it; the scenario starts in \"%s\")",
                      r->require_state, STATE_INITIAL);
        if (!r->trigger.has_window)
            continue;
        snprintf(p, sizeof p, "%s.trigger.window.since", r->path);
        check_event(c, &r->trigger.since, p);
        if (strncmp(r->trigger.since.name, RULE_FIRED, n) == 0 &&
            strcmp(r->trigger.since.name + n, r->name) == 0)
            diag_path(c->d, p,
                      "impossible combination: the window opens when this rule first fires, so "
                      "it never fires");
    }
}

/* ---- the whole file ---- */

struct scenario *scenario_parse(const char *file, const char *text_, size_t len, struct diag *d)
{
    struct ctx c = {d, NULL, d->n + d->dropped};
    cJSON *root = NULL;
    struct scenario *s = NULL;

    if (len > SCENARIO_MAX_BYTES) {
        diag_path(d, "", "file is too big: %zu bytes (a scenario has at most %d)", len,
                  SCENARIO_MAX_BYTES);
        goto fail;
    }
    if (!(root = jsonc_parse(text_, len, d)))
        goto fail;
    if (!cJSON_IsObject(root)) {
        jsonc_type_error(d, "", "a scenario object", root);
        goto fail;
    }
    if (!(s = calloc(1, sizeof *s)) || !(s->file = strdup(file))) {
        diag_path(d, "", "out of memory");
        goto fail;
    }
    c.s = s;
    jsonc_check_keys(root, "", TOP_KEYS, d);
    parse_meta(&c, root);
    parse_cluster(&c, root);
    parse_rules(&c, root);
    parse_timeline(&c, root);
    parse_pods(&c, root);
    parse_admission(&c, root);
    parse_commands(&c, root);
    parse_stages(&c, root);
    parse_gitlab(&c, root);
    parse_expect(&c, root);
    parse_job_client(&c, root);
    parse_kubectl(&c, root);
    cross_checks(&c);
    if (failed(&c))
        goto fail;
    cJSON_Delete(root);
    return s;
fail:
    cJSON_Delete(root);
    scenario_free(s);
    return NULL;
}

static void release_rule(struct rule *r)
{
    match_release(&r->match);
    trigger_release(&r->trigger);
    if (r->fault_ctx) {
        if (r->fault && r->fault->free)
            r->fault->free(r->fault_ctx);
        else
            free(r->fault_ctx);
    }
    cJSON_Delete(r->fault_spec);
    free((char *)r->path);
    memset(r, 0, sizeof *r);
}

struct rule *scenario_add_rule(struct scenario *s, const cJSON *spec, struct diag *d)
{
    struct ctx c = {d, s, d->n + d->dropped};
    if (s->nrules == SCENARIO_MAX_RULES) {
        diag_path(d, "", "a scenario has at most %d rules", SCENARIO_MAX_RULES);
        return NULL;
    }
    if (!s->rules && !(s->rules = calloc(SCENARIO_MAX_RULES, sizeof *s->rules))) {
        diag_path(d, "", "out of memory");
        return NULL;
    }
    struct rule *r = &s->rules[s->nrules];
    parse_rule(&c, spec, s->nrules, r);
    if (!failed(&c) && r->name[0] && scenario_rule(s, r->name))
        diag_path(d, "name", "duplicate rule name \"%s\"", r->name);
    if (!failed(&c) && r->require_state[0] && !state_is_set(s, r->require_state) &&
        strcmp(r->require_state, r->set_state) != 0)
        diag_path(d, "requireState",
                  "state \"%s\" is never set (no rule's \"setState\" or timeline entry sets it)",
                  r->require_state);
    if (failed(&c)) {
        release_rule(r);
        return NULL;
    }
    s->nrules++;
    return r;
}

struct timeline_entry *scenario_add_timeline(struct scenario *s, const cJSON *spec, struct diag *d)
{
    struct ctx c = {d, s, d->n + d->dropped};
    char path[PATH_LEN];
    if (s->ntimeline == SCENARIO_MAX_TIMELINE) {
        diag_path(d, "", "a scenario has at most %d timeline entries", SCENARIO_MAX_TIMELINE);
        return NULL;
    }
    if (!s->timeline && !(s->timeline = calloc(SCENARIO_MAX_TIMELINE, sizeof *s->timeline))) {
        diag_path(d, "", "out of memory");
        return NULL;
    }
    struct timeline_entry *te = &s->timeline[s->ntimeline];
    memset(te, 0, sizeof *te);
    parse_timeline_entry(&c, spec, jsonc_path_index(path, sizeof path, "timeline", s->ntimeline),
                         te);
    if (failed(&c)) {
        trigger_event_release(&te->on);
        memset(te, 0, sizeof *te);
        return NULL;
    }
    s->ntimeline++;
    return te;
}

void scenario_remove_rule(struct scenario *s, struct rule *r)
{
    (void)s;
    release_rule(r);
    r->removed = 1; /* the slot stays: counters and pointers elsewhere keep their meaning */
}

void scenario_free(struct scenario *s)
{
    if (!s)
        return;
    free(s->file);
    free(s->name);
    free(s->description);
    free(s->anchor);
    free(s->class_);
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    for (size_t i = 0; i < s->cluster.nnamespaces; i++)
        free(s->cluster.namespaces[i]);
    free(s->cluster.namespaces);
    for (size_t i = 0; i < s->nrules; i++)
        release_rule(&s->rules[i]);
    free(s->rules);
    for (size_t i = 0; i < s->ntimeline; i++)
        trigger_event_release(&s->timeline[i].on);
    free(s->timeline);
    for (size_t i = 0; i < s->npods; i++) {
        free(s->pods[i].name_glob);
        cJSON_Delete(s->pods[i].spec);
    }
    free(s->pods);
    for (size_t i = 0; i < s->nadmission; i++)
        cJSON_Delete(s->admission[i].spec);
    free(s->admission);
    for (size_t i = 0; i < s->ncommands; i++)
        cJSON_Delete(s->commands[i].spec);
    free(s->commands);
    for (size_t i = 0; i < s->nstages; i++)
        cJSON_Delete(s->stages[i].spec);
    free(s->stages);
    cJSON_Delete(s->expect);
    cJSON_Delete(s->job_client);
    cJSON_Delete(s->kubectl);
    cJSON_Delete(s->gitlab.jobs);
    free(s->gitlab.runner_token);
    free(s);
}

struct rule *scenario_rule(struct scenario *s, const char *name)
{
    for (size_t i = 0; s && i < s->nrules; i++)
        if (!s->rules[i].removed && strcmp(s->rules[i].name, name) == 0)
            return &s->rules[i];
    return NULL;
}
