/* control.c -- the control API: a token-protected JSON admin server on its own loopback port to
 * read a running scenario's status, rules and journal, switch rules, set the named state, reset,
 * drive pods by hand (advance, delete, evict, fail, ready), and read, queue and cancel the fake
 * GitLab's jobs. Endpoints: harness/CONTROL.md.
 *
 * It reuses mockapi's HTTP connection layer (conn.h) on its own listener, with its own request
 * counter and connection set, so control traffic never shows in the API port's request numbers
 * or journal. Everything runs on the engine's loop: a handler acts and answers before it returns.
 *
 * The pod actions write the store the way kube-apiserver and the kubelet would (graceful deletion
 * as DELETE does it, the Eviction API's DisruptionTarget condition, a failed phase, readiness),
 * because the cluster module has no primitives for them yet (see CONTROL.md, "Gaps"). */
#include "harness/control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "harness/engine.h"
#include "harness/jsonc.h"
#include "harness/diag.h"
#include "harness/fault.h"
#include "harness/glrun.h"
#include "harness/journal.h"
#include "harness/scenario.h"
#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/http/conn.h"
#include "mockapi/http/http.h"
#include "mockapi/http/tls.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/containers.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/store.h"
#include "mockapi/server.h"

#define MAX_SEGMENTS 8         /* path segments: /v1/pods/NS/NAME/ACTION is the longest */
#define SEGMENT_MAX 254        /* bytes in one decoded segment (a DNS subdomain is at most 253) */
#define DEFAULT_POD_GRACE_S 30 /* spec.terminationGracePeriodSeconds when a pod has none */
#define FAIL_EXIT_CODE 137     /* containers of a failed pod: killed, as the pods README says */
#define LISTEN_BACKLOG 64
#define CT_JSONL "application/jsonl; charset=utf-8"

struct control {
    struct engine *e;
    struct event_base *base;
    struct evconnlistener *listener;
    struct conn_set conns;
    uint64_t requests;    /* our own numbering: the API port's seq stays the client's */
    uint64_t connections; /* and our own connection ids */
    int port;
    char url[96];
    char token[CONTROL_TOKEN_MAX + 1];
};

/* One request being answered: its parts and where the answer goes. */
struct call {
    struct control *ctl;
    struct conn *c;
    struct http_request *req;
    char seg[MAX_SEGMENTS][SEGMENT_MAX + 1];
    size_t nseg;
};

/* ---- answers ---- */

static void send_json(struct call *k, int code, cJSON *body, const char *const *extra)
{
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\"}\n";
        conn_respond(k->c, HTTP_INTERNAL, HTTP_CT_JSON, NULL, oom, sizeof oom - 1);
        return;
    }
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line) {
        line[len++] = '\n';
        line[len] = '\0';
        text = line;
    }
    conn_respond(k->c, code, HTTP_CT_JSON, extra, text, len);
    free(text);
}

static void send_error(struct call *k, int code, const char *const *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void send_error(struct call *k, int code, const char *const *extra, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (o)
        json_add(o, "error", cJSON_CreateString(msg));
    char snip[129];
    log_debug("control: %s %s -> %d %s", k->req->method,
              log_snippet(k->req->url, strlen(k->req->url), snip, sizeof snip), code, msg);
    send_json(k, code, o, extra);
}

/* 400 with every message of d, "; "-separated, as `kubefault check` would print them */
static void send_invalid(struct call *k, const struct diag *d)
{
    char msg[1024];
    size_t n = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < d->n && n < sizeof msg; i++) {
        int w = snprintf(msg + n, sizeof msg - n, "%s%s", i ? "; " : "", d->msgs[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    send_error(k, HTTP_BADREQUEST, NULL, "%s", msg);
}

static void send_method_not_allowed(struct call *k, const char *allow)
{
    const char *const extra[] = {"Allow", allow, NULL};
    send_error(k, HTTP_METHODNOTALLOWED, extra, "method %s not allowed on %s (allowed: %s)",
               k->req->method, k->req->path, allow);
}

/* 1 when the method is one of allow ("GET" or "GET, PUT"); else 405 answered, 0. */
static int method_is(struct call *k, const char *allow)
{
    size_t n = strlen(k->req->method);
    for (const char *p = allow; (p = strstr(p, k->req->method)); p += n)
        if ((p == allow || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
            return 1;
    send_method_not_allowed(k, allow);
    return 0;
}

/* ---- request parts ---- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode one raw path segment (so a name may hold an encoded '/'). 0, or -1 on a bad
 * escape, a NUL, or a segment over SEGMENT_MAX. */
static int decode_segment(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0 || o == SEGMENT_MAX)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

/* Split the raw request target's path into decoded segments. 0, or -1 answered. */
static int split_path(struct call *k)
{
    const char *url = k->req->url;
    size_t len = strcspn(url, "?#");
    if (len > CONTROL_MAX_PATH_BYTES) {
        send_error(k, HTTP_URITOOLONG, NULL, "path longer than %d bytes", CONTROL_MAX_PATH_BYTES);
        return -1;
    }
    if (len == 0 || url[0] != '/') {
        send_error(k, HTTP_BADREQUEST, NULL, "the request target must be a path");
        return -1;
    }
    const char *p = url + 1, *end = url + len;
    if (p == end)
        return 0; /* "/": no segments, no endpoint */
    for (;;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (k->nseg == MAX_SEGMENTS) {
            send_error(k, HTTP_NOTFOUND, NULL, "no such endpoint \"%.*s\"", (int)len, url);
            return -1;
        }
        if (n == 0) { /* "//" or a trailing "/" */
            send_error(k, HTTP_NOTFOUND, NULL, "no such endpoint \"%.*s\" (empty path segment)",
                       (int)len, url);
            return -1;
        }
        if (decode_segment(p, n, k->seg[k->nseg]) < 0) {
            send_error(k, HTTP_BADREQUEST, NULL,
                       "bad path segment in \"%.*s\" (bad %%-escape, NUL or over %d bytes)",
                       (int)len, url, SEGMENT_MAX);
            return -1;
        }
        k->nseg++;
        if (!slash)
            break;
        p = slash + 1;
    }
    return 0;
}

/* Every query parameter is one of known (NULL-ended). 0, or -1 answered. */
static int check_params(struct call *k, const char *const *known, const char *known_text)
{
    for (size_t i = 0; i < k->req->nparams; i++) {
        size_t j = 0;
        while (known[j] && strcmp(known[j], k->req->params[i].key) != 0)
            j++;
        if (!known[j]) {
            char snip[70];
            log_snippet(k->req->params[i].key, strlen(k->req->params[i].key), snip, sizeof snip);
            send_error(k, HTTP_BADREQUEST, NULL, "unknown query parameter \"%s\" (known: %s)", snip,
                       known_text);
            return -1;
        }
    }
    return 0;
}

/* The body as a JSON object whose keys are all in known (NULL-ended); an empty body gives an
 * empty object when allow_empty. NULL when answered (400). Caller frees. */
static cJSON *body_object(struct call *k, const char *const *known, const char *known_text,
                          int allow_empty)
{
    const struct http_request *r = k->req;
    size_t n = r->body_len;
    while (n > 0 && (r->body[n - 1] == ' ' || r->body[n - 1] == '\n' || r->body[n - 1] == '\r' ||
                     r->body[n - 1] == '\t'))
        n--;
    if (n == 0) {
        if (allow_empty)
            return cJSON_CreateObject();
        send_error(k, HTTP_BADREQUEST, NULL, "missing JSON body (expected an object with: %s)",
                   known_text);
        return NULL;
    }
    cJSON *o = cJSON_ParseWithLength((const char *)r->body, r->body_len);
    if (!cJSON_IsObject(o)) {
        char snip[130];
        log_snippet(r->body, r->body_len, snip, sizeof snip);
        send_error(k, HTTP_BADREQUEST, NULL, "the body is not a JSON object: %s", snip);
        cJSON_Delete(o);
        return NULL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        size_t j = 0;
        while (known[j] && strcmp(known[j], it->string) != 0)
            j++;
        if (!known[j]) {
            char snip[70];
            log_snippet(it->string, strlen(it->string), snip, sizeof snip);
            send_error(k, HTTP_BADREQUEST, NULL, "unknown key \"%s\" (known: %s)", snip,
                       known_text);
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* An optional string member: 1 and *out, 0 when absent, -1 answered when not a string or too
 * long. */
static int opt_string(struct call *k, const cJSON *o, const char *key, size_t max, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        send_error(k, HTTP_BADREQUEST, NULL, "\"%s\": expected a string of at most %zu bytes", key,
                   max);
        return -1;
    }
    *out = v->valuestring;
    return 1;
}

/* An optional integer member in [min, max]: 1 and *out, 0 when absent, -1 answered. */
static int opt_int(struct call *k, const cJSON *o, const char *key, long long min, long long max,
                   long long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 0;
    int64_t n;
    if (json_int(v, min, max, &n) != 1) {
        send_error(k, HTTP_BADREQUEST, NULL, "\"%s\": expected an integer from %lld to %lld", key,
                   min, max);
        return -1;
    }
    *out = (long long)n;
    return 1;
}

/* Names of states: what the scenario format accepts (scenario.c's valid_name). */
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

/* A query parameter holding a boolean: def when absent; -1 answered when not true/false. */
static int param_bool(struct call *k, const char *key, int def)
{
    const char *v = http_request_param(k->req, key);
    if (!v)
        return def;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    send_error(k, HTTP_BADREQUEST, NULL, "query parameter \"%s\": expected true or false", key);
    return -1;
}

/* A query parameter holding an unsigned integer up to max: def when absent; -1 answered. */
static int param_u64(struct call *k, const char *key, uint64_t def, uint64_t max, uint64_t *out)
{
    const char *v = http_request_param(k->req, key);
    *out = def;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-' || n > max) {
        send_error(k, HTTP_BADREQUEST, NULL,
                   "query parameter \"%s\": expected an integer from 0 to %llu", key,
                   (unsigned long long)max);
        return -1;
    }
    *out = n;
    return 0;
}

/* ---- status ---- */

static const char *listen_mode_name(enum listen_mode m)
{
    switch (m) {
    case LISTEN_NORMAL:
        return "normal";
    case LISTEN_REFUSE:
        return "refuse";
    case LISTEN_BLACKHOLE:
        return "blackhole";
    }
    return "unknown";
}

static const char *layer_name(enum fault_layer l)
{
    switch (l) {
    case FAULT_LAYER_LISTENER:
        return "listener";
    case FAULT_LAYER_HTTP:
        return "http";
    case FAULT_LAYER_WATCH:
        return "watch";
    case FAULT_LAYER_CLUSTER:
        return "cluster";
    case FAULT_LAYER_STREAM:
        return "stream";
    }
    return "unknown";
}

static cJSON *status_json(struct control *ctl)
{
    struct engine *e = ctl->e;
    struct scenario *s = engine_scenario(e);
    struct mockapi_server *srv = engine_server(e);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    json_add(o, "scenario", cJSON_CreateString(s->name ? s->name : ""));
    if (s->file)
        json_add(o, "file", cJSON_CreateString(s->file));
    json_add(o, "seed", cJSON_CreateNumber((double)s->seed));
    json_add(o, "state", cJSON_CreateString(engine_state(e)));
    json_add(o, "started", cJSON_CreateBool(srv != NULL));
    json_add(o, "elapsedMs", cJSON_CreateNumber(srv ? (double)engine_elapsed_ms(e) : 0));
    json_add(
        o, "listener",
        cJSON_CreateString(srv ? listen_mode_name(mockapi_server_get_listen_mode(srv)) : "none"));
    if (srv)
        json_add(o, "apiUrl", cJSON_CreateString(mockapi_server_url(srv)));
    if (engine_gitlab(e)) {
        json_add(o, "gitlabUrl", cJSON_CreateString(gitlab_server_url(engine_gitlab(e))));
        json_add(
            o, "gitlabListener",
            cJSON_CreateString(listen_mode_name(gitlab_server_get_listen_mode(engine_gitlab(e)))));
    }
    json_add(o, "requests", cJSON_CreateNumber(srv ? (double)mockapi_server_requests(srv) : 0));
    json_add(o, "journalEntries", cJSON_CreateNumber((double)journal_count(engine_journal(e))));
    json_add(o, "rules", cJSON_CreateNumber((double)s->nrules));
    size_t on = 0;
    for (size_t i = 0; i < s->nrules; i++)
        on += s->rules[i].enabled != 0;
    json_add(o, "rulesEnabled", cJSON_CreateNumber((double)on));
    return o;
}

static void on_status(struct call *k)
{
    static const char *const none[] = {NULL};
    if (!method_is(k, "GET") || check_params(k, none, "none") < 0)
        return;
    send_json(k, HTTP_OK, status_json(k->ctl), NULL);
}

/* ---- rules ---- */

static cJSON *rule_json(struct engine *e, const struct rule *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    json_add(o, "name", cJSON_CreateString(r->name));
    json_add(o, "enabled", cJSON_CreateBool(r->enabled));
    json_add(o, "fault", cJSON_CreateString(r->fault ? r->fault->name : ""));
    json_add(o, "layer", cJSON_CreateString(r->fault ? layer_name(r->fault->layer) : ""));
    json_add(o, "matched", cJSON_CreateNumber((double)engine_rule_matched(e, r)));
    json_add(o, "fired", cJSON_CreateNumber((double)engine_rule_fired(e, r)));
    if (r->require_state[0])
        json_add(o, "requireState", cJSON_CreateString(r->require_state));
    if (r->set_state[0])
        json_add(o, "setState", cJSON_CreateString(r->set_state));
    if (r->fault_spec)
        json_add(o, "spec", cJSON_Duplicate(r->fault_spec, 1));
    return o;
}

/* POST /v1/rules: one "rules" entry of the scenario format, validated the same way. */
static void add_rule(struct call *k)
{
    struct scenario *s = engine_scenario(k->ctl->e);
    const struct http_request *req = k->req;
    struct diag d;
    diag_init(&d, "rule");
    cJSON *spec = req->body_len ? jsonc_parse((const char *)req->body, req->body_len, &d) : NULL;
    struct rule *r = NULL;
    if (!spec && !d.n)
        diag_path(&d, "",
                  "missing JSON body (expected one rule: name, match, trigger, fault, ...)");
    if (spec)
        r = scenario_add_rule(s, spec, &d);
    cJSON_Delete(spec);
    if (!r) {
        send_invalid(k, &d);
        diag_release(&d);
        return;
    }
    diag_release(&d);
    engine_rule_added(k->ctl->e, r);
    send_json(k, HTTP_CREATED, rule_json(k->ctl->e, r), NULL);
}

static void on_rules(struct call *k)
{
    static const char *const none[] = {NULL};
    if (!method_is(k, "GET, POST") || check_params(k, none, "none") < 0)
        return;
    if (strcmp(k->req->method, "POST") == 0) {
        add_rule(k);
        return;
    }
    struct scenario *s = engine_scenario(k->ctl->e);
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? json_add(o, "rules", cJSON_CreateArray()) : NULL;
    for (size_t i = 0; arr && i < s->nrules; i++)
        if (!s->rules[i].removed && !json_push(arr, rule_json(k->ctl->e, &s->rules[i]))) {
            cJSON_Delete(o);
            o = NULL;
            break;
        }
    send_json(k, HTTP_OK, o, NULL);
}

static struct rule *find_rule(struct call *k, const char *name)
{
    struct scenario *s = engine_scenario(k->ctl->e);
    struct rule *r = scenario_rule(s, name);
    if (!r) {
        char known[512];
        size_t n = 0;
        known[0] = '\0';
        for (size_t i = 0; i < s->nrules && n < sizeof known; i++) {
            if (s->rules[i].removed)
                continue;
            int w = snprintf(known + n, sizeof known - n, "%s%s", n ? ", " : "", s->rules[i].name);
            if (w < 0)
                break;
            n += (size_t)w;
        }
        send_error(k, HTTP_NOTFOUND, NULL, "unknown rule \"%s\" (known: %s)", name,
                   s->nrules ? known : "none");
    }
    return r;
}

static void on_rule(struct call *k)
{
    static const char *const none[] = {NULL};
    struct rule *r = find_rule(k, k->seg[2]);
    if (!r)
        return;
    if (k->nseg == 3) {
        if (!method_is(k, "GET, DELETE") || check_params(k, none, "none") < 0)
            return;
        if (strcmp(k->req->method, "DELETE") == 0) {
            cJSON *o = cJSON_CreateObject();
            if (o)
                json_add(o, "removed", cJSON_CreateString(r->name));
            engine_rule_remove(k->ctl->e, r);
            send_json(k, HTTP_OK, o, NULL);
        } else {
            send_json(k, HTTP_OK, rule_json(k->ctl->e, r), NULL);
        }
        return;
    }
    int on = strcmp(k->seg[3], "enable") == 0;
    if (!on && strcmp(k->seg[3], "disable") != 0) {
        send_error(k, HTTP_NOTFOUND, NULL, "unknown rule action \"%s\" (known: enable, disable)",
                   k->seg[3]);
        return;
    }
    if (!method_is(k, "POST") || check_params(k, none, "none") < 0)
        return;
    cJSON *body = body_object(k, none, "none", 1);
    if (!body)
        return;
    cJSON_Delete(body);
    if (r->enabled != !!on)
        log_info("control: rule %s %s", r->name, on ? "enabled" : "disabled");
    engine_rule_enable(k->ctl->e, r, on);
    send_json(k, HTTP_OK, rule_json(k->ctl->e, r), NULL);
}

/* ---- the timeline ---- */

static cJSON *timeline_json(struct engine *e, size_t i)
{
    static const char *const actions[] = {"enable", "disable", "setState"};
    static const char *const states[] = {"waiting", "armed", "done"};
    const struct timeline_entry *te = &engine_scenario(e)->timeline[i];
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    json_add(o, "index", cJSON_CreateNumber((double)i));
    json_add(o, "atMs", cJSON_CreateNumber((double)te->at_ms));
    json_add(o, "on", cJSON_CreateString(te->on.name[0] ? te->on.name : "start"));
    if (te->on.name_glob)
        json_add(o, "name", cJSON_CreateString(te->on.name_glob));
    json_add(o, actions[te->action], cJSON_CreateString(te->target));
    int st = engine_timeline_state(e, te);
    json_add(o, "state", cJSON_CreateString(st >= 0 ? states[st] : "removed"));
    return o;
}

/* GET /v1/timeline, POST /v1/timeline (one "timeline" entry of the scenario format),
 * DELETE /v1/timeline/{index}. */
static void on_timeline(struct call *k)
{
    static const char *const none[] = {NULL};
    struct engine *e = k->ctl->e;
    struct scenario *s = engine_scenario(e);
    if (k->nseg == 3) {
        char *end;
        unsigned long i = strtoul(k->seg[2], &end, 10);
        if (!method_is(k, "DELETE") || check_params(k, none, "none") < 0)
            return;
        if (*end || end == k->seg[2] || i >= s->ntimeline || s->timeline[i].removed) {
            send_error(k, HTTP_NOTFOUND, NULL, "no timeline entry %s (entries: 0 to %zu)",
                       k->seg[2], s->ntimeline ? s->ntimeline - 1 : 0);
            return;
        }
        engine_timeline_remove(e, &s->timeline[i]);
        send_json(k, HTTP_OK, timeline_json(e, i), NULL);
        return;
    }
    if (!method_is(k, "GET, POST") || check_params(k, none, "none") < 0)
        return;
    if (strcmp(k->req->method, "POST") == 0) {
        struct diag d;
        diag_init(&d, "timeline");
        cJSON *spec =
            k->req->body_len ? jsonc_parse((const char *)k->req->body, k->req->body_len, &d) : NULL;
        struct timeline_entry *te = NULL;
        if (!spec && !d.n)
            diag_path(&d, "",
                      "missing JSON body (expected one entry: at, on, enable|disable|"
                      "setState)");
        if (spec)
            te = scenario_add_timeline(s, spec, &d);
        cJSON_Delete(spec);
        if (!te || engine_timeline_added(e, te) < 0) {
            send_error(k, HTTP_BADREQUEST, NULL, "%s", d.n ? d.msgs[0] : "out of memory");
            diag_release(&d);
            return;
        }
        diag_release(&d);
        send_json(k, HTTP_CREATED, timeline_json(e, (size_t)(te - s->timeline)), NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? json_add(o, "timeline", cJSON_CreateArray()) : NULL;
    for (size_t i = 0; arr && i < s->ntimeline; i++)
        if (!s->timeline[i].removed && !json_push(arr, timeline_json(e, i))) {
            cJSON_Delete(o);
            o = NULL;
            break;
        }
    send_json(k, HTTP_OK, o, NULL);
}

/* ---- state and reset ---- */

static void on_state(struct call *k)
{
    static const char *const none[] = {NULL};
    static const char *const keys[] = {"state", NULL};
    if (!method_is(k, "GET, PUT") || check_params(k, none, "none") < 0)
        return;
    struct engine *e = k->ctl->e;
    if (strcmp(k->req->method, "PUT") == 0) {
        cJSON *body = body_object(k, keys, "state", 0);
        if (!body)
            return;
        const char *state = NULL;
        int rc = opt_string(k, body, "state", SCENARIO_NAME_MAX - 1, &state);
        if (rc == 0)
            send_error(k, HTTP_BADREQUEST, NULL, "missing key \"state\"");
        if (rc == 1 && !valid_name(state)) {
            send_error(k, HTTP_BADREQUEST, NULL,
                       "bad state name \"%s\" (expected letters, digits, '.', '_' and '-')", state);
            rc = -1;
        }
        if (rc != 1) {
            cJSON_Delete(body);
            return;
        }
        char previous[SCENARIO_NAME_MAX];
        snprintf(previous, sizeof previous, "%s", engine_state(e));
        log_info("control: state %s", state);
        engine_set_state(e, state);
        cJSON_Delete(body);
        cJSON *o = cJSON_CreateObject();
        if (o) {
            json_add(o, "state", cJSON_CreateString(engine_state(e)));
            json_add(o, "previous", cJSON_CreateString(previous));
        }
        send_json(k, HTTP_OK, o, NULL);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o)
        json_add(o, "state", cJSON_CreateString(engine_state(e)));
    send_json(k, HTTP_OK, o, NULL);
}

static void on_reset(struct call *k)
{
    static const char *const none[] = {NULL};
    if (!method_is(k, "POST") || check_params(k, none, "none") < 0)
        return;
    cJSON *body = body_object(k, none, "none", 1);
    if (!body)
        return;
    cJSON_Delete(body);
    log_info("control: reset");
    engine_reset(k->ctl->e);
    send_json(k, HTTP_OK, status_json(k->ctl), NULL);
}

/* ---- journal ---- */

static void on_journal(struct call *k)
{
    static const char *const known[] = {"since", "limit", "times", "format", NULL};
    if (!method_is(k, "GET") || check_params(k, known, "since, limit, times, format") < 0)
        return;
    uint64_t since, limit;
    int times;
    if (param_u64(k, "since", 0, UINT64_MAX, &since) < 0 ||
        param_u64(k, "limit", CONTROL_JOURNAL_DEFAULT, CONTROL_JOURNAL_MAX, &limit) < 0 ||
        (times = param_bool(k, "times", 1)) < 0)
        return;
    const char *format = http_request_param(k->req, "format");
    int lines = 0;
    if (format && strcmp(format, "jsonl") == 0) {
        lines = 1;
    } else if (format && strcmp(format, "json") != 0) {
        send_error(k, HTTP_BADREQUEST, NULL, "query parameter \"format\": expected json or jsonl");
        return;
    }
    const struct journal *j = engine_journal(k->ctl->e);
    size_t n = journal_count(j);
    /* entries are in request order, so seq only grows: find the first newer than since */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (journal_get(j, mid)->seq <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t first = lo;
    size_t last = n - first > limit ? first + (size_t)limit : n;
    uint64_t next = since;
    struct evbuffer *out = evbuffer_new();
    cJSON *arr = cJSON_CreateArray();
    int ok = out && arr;
    for (size_t i = first; ok && i < last; i++) {
        const struct journal_entry *je = journal_get(j, i);
        cJSON *o = journal_entry_json(je, times);
        if (o && je->done_ms < 0)
            json_add(o, "open", cJSON_CreateTrue());
        if (!o) {
            ok = 0;
        } else if (lines) {
            char *text = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            ok = text && evbuffer_add(out, text, strlen(text)) == 0 &&
                 evbuffer_add(out, "\n", 1) == 0;
            free(text);
        } else {
            ok = json_push(arr, o) != NULL;
        }
        next = je->seq;
    }
    if (!ok) {
        cJSON_Delete(arr);
        if (out)
            evbuffer_free(out);
        send_error(k, HTTP_INTERNAL, NULL, "out of memory");
        return;
    }
    char nextbuf[24], morebuf[8];
    snprintf(nextbuf, sizeof nextbuf, "%llu", (unsigned long long)next);
    snprintf(morebuf, sizeof morebuf, "%s", last < n ? "true" : "false");
    const char *const extra[] = {"X-Kubefault-Next", nextbuf, "X-Kubefault-More", morebuf, NULL};
    if (lines) {
        cJSON_Delete(arr);
        size_t len = evbuffer_get_length(out);
        const unsigned char *p = len ? evbuffer_pullup(out, -1) : (const unsigned char *)"";
        if (!p) {
            evbuffer_free(out);
            send_error(k, HTTP_INTERNAL, NULL, "out of memory");
            return;
        }
        conn_respond(k->c, HTTP_OK, CT_JSONL, extra, p, len);
        evbuffer_free(out);
        return;
    }
    evbuffer_free(out);
    cJSON *o = cJSON_CreateObject();
    if (!o)
        cJSON_Delete(arr);
    if (!o || !json_add(o, "entries", arr)) { /* json_add frees arr when it fails */
        cJSON_Delete(o);
        send_error(k, HTTP_INTERNAL, NULL, "out of memory");
        return;
    }
    json_add(o, "next", cJSON_CreateNumber((double)next));
    json_add(o, "more", cJSON_CreateBool(last < n));
    send_json(k, HTTP_OK, o, extra);
}

/* ---- pods ---- */

static const struct kinds_info *pods_kind(void)
{
    return &kinds_table[KIND_pods];
}

static char *now_stamp(char *buf, size_t len)
{
    return clock_rfc3339(clock_wall_ns() / 1000000000, buf, len);
}

/* Set a pod condition as the kubelet and the API server write them (cluster.c keeps its own
 * static copy: see the gaps in CONTROL.md). */
static void set_condition(cJSON *status, const char *type, const char *value, const char *reason,
                          const char *message)
{
    char ts[32];
    cJSON *conds = cJSON_GetObjectItemCaseSensitive(status, "conditions");
    if (!cJSON_IsArray(conds)) {
        cJSON_DeleteItemFromObjectCaseSensitive(status, "conditions");
        if (!(conds = cJSON_AddArrayToObject(status, "conditions")))
            return;
    }
    cJSON *c = NULL, *it;
    cJSON_ArrayForEach(it, conds)
    {
        if (strcmp(json_str_or(it, "type", ""), type) == 0)
            c = it;
    }
    if (!c) {
        if (!(c = json_push(conds, cJSON_CreateObject())))
            return;
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

static const char *pod_phase(const cJSON *pod)
{
    return json_str_or(cJSON_GetObjectItemCaseSensitive(pod, "status"), "phase", "");
}

static int pod_terminating(const cJSON *pod)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, "metadata"),
                                            "deletionTimestamp") != NULL;
}

/* Replace the stored pod with obj (takes ownership). 0, or -1 answered. */
static int replace_pod(struct call *k, struct store *st, cJSON *obj)
{
    if (!obj) {
        send_error(k, HTTP_INTERNAL, NULL, "out of memory");
        return -1;
    }
    if (store_replace(st, pods_kind(), obj, NULL) < 0) {
        send_error(k, HTTP_CONFLICT, NULL, "pod \"%s/%s\" changed or vanished while updating it",
                   k->seg[2], k->seg[3]);
        return -1;
    }
    return 0;
}

/* A graceful deletion as DELETE with gracePeriodSeconds does it (api.c): deletionTimestamp and
 * deletionGracePeriodSeconds, then the cluster removes the pod after min(grace, terminate delay);
 * an unscheduled pod, or grace 0, goes at once. grace < 0: the pod's own. 0, or -1 answered. */
static int delete_pod(struct call *k, struct mockapi_server *srv, long long grace)
{
    struct store *st = mockapi_server_store(srv);
    const char *ns = k->seg[2], *name = k->seg[3];
    const cJSON *cur = store_get(st, pods_kind(), ns, name);
    if (!cur)
        return 0;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cur, "spec");
    if (grace < 0) {
        const cJSON *tg = cJSON_GetObjectItemCaseSensitive(spec, "terminationGracePeriodSeconds");
        grace = cJSON_IsNumber(tg) && tg->valuedouble >= 0
                    ? (long long)json_int_clamp(tg, 0, CLUSTER_MAX_GRACE_S, 0)
                    : DEFAULT_POD_GRACE_S;
    }
    const char *node = json_str(spec, "nodeName");
    if (grace == 0 || !node || !*node) {
        store_remove(st, pods_kind(), ns, name);
        return 0;
    }
    if (pod_terminating(cur))
        return 0; /* as kube-apiserver: a second graceful delete changes nothing */
    char ts[32];
    cJSON *obj = cJSON_Duplicate(cur, 1);
    cJSON *m = obj ? json_obj(obj, "metadata") : NULL;
    if (m) {
        json_set(
            m, "deletionTimestamp",
            cJSON_CreateString(clock_rfc3339(clock_wall_ns() / 1000000000 + grace, ts, sizeof ts)));
        json_set(m, "deletionGracePeriodSeconds", cJSON_CreateNumber((double)grace));
    }
    if (replace_pod(k, st, obj) < 0)
        return -1;
    cluster_pod_deleting(mockapi_server_cluster(srv), ns, name, grace);
    return 0;
}

/* Every running container ready and started. */
static void ready_containers(cJSON *status)
{
    cJSON *cs;
    cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(status, "containerStatuses"))
    {
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(cs, "state");
        if (cJSON_GetObjectItemCaseSensitive(state, "running")) {
            json_set(cs, "ready", cJSON_CreateTrue());
            json_set(cs, "started", cJSON_CreateTrue());
        }
    }
}

static void pod_reply(struct call *k, struct mockapi_server *srv, const char *action)
{
    const cJSON *pod = store_get(mockapi_server_store(srv), pods_kind(), k->seg[2], k->seg[3]);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        json_add(o, "action", cJSON_CreateString(action));
        json_add(o, "namespace", cJSON_CreateString(k->seg[2]));
        json_add(o, "name", cJSON_CreateString(k->seg[3]));
        json_add(o, "gone", cJSON_CreateBool(pod == NULL));
        json_add(o, "pod", pod ? cJSON_Duplicate(pod, 1) : cJSON_CreateNull());
    }
    send_json(k, HTTP_OK, o, NULL);
}

static void pod_advance(struct call *k, struct mockapi_server *srv, const cJSON *body)
{
    (void)body;
    if (cluster_pod_advance(mockapi_server_cluster(srv), k->seg[2], k->seg[3]) < 0) {
        send_error(
            k, HTTP_CONFLICT, NULL, "pod \"%s/%s\" has no lifecycle step waiting (phase %s)",
            k->seg[2], k->seg[3],
            pod_phase(store_get(mockapi_server_store(srv), pods_kind(), k->seg[2], k->seg[3])));
        return;
    }
    log_info("control: pod %s/%s advanced", k->seg[2], k->seg[3]);
    pod_reply(k, srv, "advance");
}

static void pod_delete(struct call *k, struct mockapi_server *srv, const cJSON *body)
{
    long long grace = -1;
    if (opt_int(k, body, "gracePeriodSeconds", 0, 365LL * 24 * 3600, &grace) < 0)
        return;
    if (delete_pod(k, srv, grace) < 0)
        return;
    log_info("control: pod %s/%s deleted", k->seg[2], k->seg[3]);
    pod_reply(k, srv, "delete");
}

/* The Eviction API's steps (pkg/registry/core/pod/storage/eviction.go): the DisruptionTarget
 * condition, written first, then a graceful deletion. */
static void pod_evict(struct call *k, struct mockapi_server *srv, const cJSON *body)
{
    const char *reason = "EvictionByEvictionAPI", *message = "Eviction API: evicting";
    long long grace = -1;
    if (opt_string(k, body, "reason", 256, &reason) < 0 ||
        opt_string(k, body, "message", 4096, &message) < 0 ||
        opt_int(k, body, "gracePeriodSeconds", 0, 365LL * 24 * 3600, &grace) < 0)
        return;
    const cJSON *cur = store_get(mockapi_server_store(srv), pods_kind(), k->seg[2], k->seg[3]);
    if (!pod_terminating(cur) &&
        cluster_pod_set_condition(mockapi_server_cluster(srv), k->seg[2], k->seg[3],
                                  "DisruptionTarget", "True", reason, message) < 0) {
        send_error(k, HTTP_CONFLICT, NULL, "pod \"%s/%s\" vanished while evicting it", k->seg[2],
                   k->seg[3]);
        return;
    }
    /* watchers see the condition first, then the deletion, as with the Eviction API */
    cluster_pod_flush(mockapi_server_cluster(srv), k->seg[2], k->seg[3]);
    if (delete_pod(k, srv, grace) < 0)
        return;
    log_info("control: pod %s/%s evicted", k->seg[2], k->seg[3]);
    pod_reply(k, srv, "evict");
}

static void pod_fail(struct call *k, struct mockapi_server *srv, const cJSON *body)
{
    const char *reason = NULL, *message = NULL;
    long long code = FAIL_EXIT_CODE;
    if (opt_string(k, body, "reason", 256, &reason) < 0 ||
        opt_string(k, body, "message", 4096, &message) < 0 ||
        opt_int(k, body, "exitCode", 0, 255, &code) < 0)
        return;
    struct cluster *cl = mockapi_server_cluster(srv);
    const cJSON *cur = store_get(mockapi_server_store(srv), pods_kind(), k->seg[2], k->seg[3]);
    if (strcmp(pod_phase(cur), "Failed") == 0) {
        pod_reply(k, srv, "fail");
        return;
    }
    /* through the cluster's model, so its next status write keeps the failure: containers end
     * with the exit code, the phase is terminal and the kubelet's rules never move it out */
    if (cluster_pod_terminate(cl, k->seg[2], k->seg[3], (int)code, "Error") < 0 ||
        cluster_pod_set_phase(cl, k->seg[2], k->seg[3], "Failed", reason, message) < 0) {
        send_error(k, HTTP_CONFLICT, NULL, "pod \"%s/%s\" vanished while failing it", k->seg[2],
                   k->seg[3]);
        return;
    }
    cluster_pod_flush(cl, k->seg[2], k->seg[3]);
    log_info("control: pod %s/%s failed", k->seg[2], k->seg[3]);
    pod_reply(k, srv, "fail");
}

#define READY_MAX_STEPS 4 /* schedule and start are the two steps before Running */

static void pod_ready(struct call *k, struct mockapi_server *srv, const cJSON *body)
{
    (void)body;
    struct store *st = mockapi_server_store(srv);
    const cJSON *cur = store_get(st, pods_kind(), k->seg[2], k->seg[3]);
    if (pod_terminating(cur) || strcmp(pod_phase(cur), "Failed") == 0 ||
        strcmp(pod_phase(cur), "Succeeded") == 0) {
        send_error(k, HTTP_CONFLICT, NULL, "pod \"%s/%s\" is %s: it cannot become ready", k->seg[2],
                   k->seg[3], pod_terminating(cur) ? "being deleted" : pod_phase(cur));
        return;
    }
    /* run the steps still ahead of Running now, as advance would one by one */
    for (int i = 0; i < READY_MAX_STEPS && cur && strcmp(pod_phase(cur), "Running") != 0; i++) {
        if (cluster_pod_advance(mockapi_server_cluster(srv), k->seg[2], k->seg[3]) < 0)
            break;
        cur = store_get(st, pods_kind(), k->seg[2], k->seg[3]);
    }
    if (!cur || strcmp(pod_phase(cur), "Running") != 0) {
        send_error(k, HTTP_CONFLICT, NULL,
                   "pod \"%s/%s\" did not reach Running (phase %s, no step left)", k->seg[2],
                   k->seg[3], cur ? pod_phase(cur) : "gone");
        return;
    }
    cJSON *obj = cJSON_Duplicate(cur, 1);
    cJSON *status = obj ? json_obj(obj, "status") : NULL;
    if (status) {
        set_condition(status, "Ready", "True", NULL, NULL);
        set_condition(status, "ContainersReady", "True", NULL, NULL);
        ready_containers(status);
    }
    /* already ready: no MODIFIED event for nothing */
    if (obj && cJSON_Compare(obj, cur, 1)) {
        cJSON_Delete(obj);
    } else if (replace_pod(k, st, obj) < 0) {
        return;
    }
    log_info("control: pod %s/%s ready", k->seg[2], k->seg[3]);
    pod_reply(k, srv, "ready");
}

struct pod_action {
    const char *name;
    void (*run)(struct call *k, struct mockapi_server *srv, const cJSON *body);
    const char *const *keys;
    const char *keys_text;
};

static const char *const no_keys[] = {NULL};
static const char *const delete_keys[] = {"gracePeriodSeconds", NULL};
static const char *const evict_keys[] = {"gracePeriodSeconds", "reason", "message", NULL};
static const char *const fail_keys[] = {"reason", "message", "exitCode", NULL};

static const struct pod_action pod_actions[] = {
    {"advance", pod_advance, no_keys, "none"},
    {"delete", pod_delete, delete_keys, "gracePeriodSeconds"},
    {"evict", pod_evict, evict_keys, "gracePeriodSeconds, reason, message"},
    {"fail", pod_fail, fail_keys, "reason, message, exitCode"},
    {"ready", pod_ready, no_keys, "none"},
};

/* ---- what ran inside a pod: its files and its build stages ---- */

static void add_file(void *arg, const char *path, size_t len)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !json_push(arg, o))
        return;
    json_add(o, "path", cJSON_CreateString(path));
    json_add(o, "bytes", cJSON_CreateNumber((double)len));
}

static void add_stage(void *arg, const char *container, const char *stage, const char *script,
                      int exit_code)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !json_push(arg, o))
        return;
    json_add(o, "container", cJSON_CreateString(container));
    json_add(o, "stage", cJSON_CreateString(stage));
    json_add(o, "script", cJSON_CreateString(script));
    json_add(o, "exitCode", exit_code < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(exit_code));
}

/* GET .../stages; GET .../files (the list), GET .../files?path=P (the bytes, text/plain),
 * DELETE .../files?path=P (read-logs streams of it end with exit code 100). */
static void on_pod_inside(struct call *k, struct mockapi_server *srv)
{
    static const char *const path_key[] = {"path", NULL};
    static const char *const none[] = {NULL};
    struct ctr_runtime *rt = mockapi_server_containers(srv);
    const char *ns = k->seg[2], *name = k->seg[3];
    if (strcmp(k->seg[4], "stages") == 0) {
        if (!method_is(k, "GET") || check_params(k, none, "none") < 0)
            return;
        cJSON *arr = cJSON_CreateArray();
        if (arr && ctr_stage_list(rt, ns, name, add_stage, arr) < 0) {
            cJSON_Delete(arr);
            send_error(k, HTTP_NOTFOUND, NULL, "pod \"%s/%s\" not found", ns, name);
            return;
        }
        send_json(k, HTTP_OK, arr, NULL);
        return;
    }
    if (!method_is(k, "GET, DELETE") || check_params(k, path_key, "path") < 0)
        return;
    const char *path = http_request_param(k->req, "path");
    if (strcmp(k->req->method, "DELETE") == 0 || path) {
        if (!path) {
            send_error(k, HTTP_BADREQUEST, NULL, "which file? (?path=/logs-.../output.log)");
            return;
        }
        if (strcmp(k->req->method, "DELETE") == 0) {
            if (ctr_file_delete(rt, ns, name, path) < 0) {
                send_error(k, HTTP_NOTFOUND, NULL, "no file \"%s\" in pod \"%s/%s\"", path, ns,
                           name);
                return;
            }
            log_info("control: pod %s/%s: %s deleted", ns, name, path);
            cJSON *o = cJSON_CreateObject();
            json_add(o, "deleted", cJSON_CreateString(path));
            send_json(k, HTTP_OK, o, NULL);
            return;
        }
        char *data = NULL;
        size_t len = 0;
        if (ctr_file_read(rt, ns, name, path, &data, &len) < 0) {
            send_error(k, HTTP_NOTFOUND, NULL, "no file \"%s\" in pod \"%s/%s\"", path, ns, name);
            return;
        }
        conn_respond(k->c, HTTP_OK, HTTP_CT_TEXT, NULL, data, len);
        free(data);
        return;
    }
    cJSON *arr = cJSON_CreateArray();
    if (arr && ctr_file_list(rt, ns, name, add_file, arr) < 0) {
        cJSON_Delete(arr);
        send_error(k, HTTP_NOTFOUND, NULL, "pod \"%s/%s\" not found", ns, name);
        return;
    }
    send_json(k, HTTP_OK, arr, NULL);
}

static void on_pod(struct call *k)
{
    if (strcmp(k->seg[4], "files") == 0 || strcmp(k->seg[4], "stages") == 0) {
        struct mockapi_server *srv = engine_server(k->ctl->e);
        if (!srv)
            send_error(k, HTTP_SERVUNAVAIL, NULL, "the scenario has not started");
        else
            on_pod_inside(k, srv);
        return;
    }
    static const char *const none[] = {NULL};
    const struct pod_action *a = NULL;
    for (size_t i = 0; i < sizeof pod_actions / sizeof pod_actions[0]; i++)
        if (strcmp(pod_actions[i].name, k->seg[4]) == 0)
            a = &pod_actions[i];
    if (!a) {
        send_error(k, HTTP_NOTFOUND, NULL,
                   "unknown pod action \"%s\" (known: advance, delete, evict, fail, ready, "
                   "files, stages)",
                   k->seg[4]);
        return;
    }
    if (!method_is(k, "POST") || check_params(k, none, "none") < 0)
        return;
    struct mockapi_server *srv = engine_server(k->ctl->e);
    if (!srv) {
        send_error(k, HTTP_SERVUNAVAIL, NULL, "the scenario has not started");
        return;
    }
    if (!store_get(mockapi_server_store(srv), pods_kind(), k->seg[2], k->seg[3])) {
        send_error(k, HTTP_NOTFOUND, NULL, "pod \"%s/%s\" not found", k->seg[2], k->seg[3]);
        return;
    }
    cJSON *body = body_object(k, a->keys, a->keys_text, 1);
    if (!body)
        return;
    a->run(k, srv, body);
    cJSON_Delete(body);
}

/* ---- the fake GitLab's jobs ---- */

/* The fake GitLab, or NULL with 404 answered: the scenario runs without one. */
static struct gitlab_server *need_gitlab(struct call *k)
{
    struct gitlab_server *gl = engine_gitlab(k->ctl->e);
    if (!gl)
        send_error(k, HTTP_NOTFOUND, NULL,
                   "no fake GitLab in this run: the scenario has no gitlab section (kubefault "
                   "serve --gitlab)");
    return gl;
}

/* The job id in seg[3]: 1 .. INT64_MAX. -1 answered (404: no job can have such an id). */
static int64_t job_id(struct call *k)
{
    const char *v = k->seg[3];
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || v[0] < '0' || v[0] > '9' || n < 1) {
        char snip[70];
        log_snippet(v, strlen(v), snip, sizeof snip);
        send_error(k, HTTP_NOTFOUND, NULL, "no such job \"%s\" (job ids are integers from 1)",
                   snip);
        return -1;
    }
    return (int64_t)n;
}

/* The job as GET /v1/gitlab/jobs/{id} shows it, or 500 answered (out of memory). */
static void send_job(struct call *k, int code, const struct gitlab_server *gl, int64_t id,
                     int with_trace)
{
    struct gitlab_job_info info;
    cJSON *o = gitlab_job_get(gl, id, &info) == 0 ? glrun_job_json(&info, with_trace) : NULL;
    if (!o) {
        send_error(k, HTTP_INTERNAL, NULL, "out of memory");
        return;
    }
    send_json(k, code, o, NULL);
}

/* POST /v1/gitlab/jobs: one "gitlab.jobs" entry of the scenario format, validated the same way. */
static void add_job(struct call *k, struct gitlab_server *gl)
{
    const struct http_request *req = k->req;
    struct diag d;
    char why[256];
    diag_init(&d, "job");
    cJSON *spec = req->body_len ? jsonc_parse((const char *)req->body, req->body_len, &d) : NULL;
    cJSON *job = NULL;
    if (!spec && !d.n)
        diag_path(&d, "", "missing JSON body (expected one job: name, image, script, ...)");
    if (spec)
        job = scenario_gitlab_job(spec, "", &d);
    cJSON_Delete(spec);
    if (!job) {
        send_invalid(k, &d);
        diag_release(&d);
        return;
    }
    diag_release(&d);
    int64_t id = gitlab_job_add(gl, job, why, sizeof why);
    cJSON_Delete(job);
    if (id < 0) {
        /* valid, but the queue refuses it: an id in use, or the queue full */
        send_error(k, HTTP_CONFLICT, NULL, "cannot queue the job: %s", why);
        return;
    }
    log_info("control: gitlab job %lld queued", (long long)id);
    send_job(k, HTTP_CREATED, gl, id, 0);
}

static void on_gitlab_jobs(struct call *k)
{
    static const char *const none[] = {NULL};
    static const char *const known[] = {"trace", NULL};
    if (!method_is(k, "GET, POST"))
        return;
    int post = strcmp(k->req->method, "POST") == 0;
    if (post ? check_params(k, none, "none") < 0 : check_params(k, known, "trace") < 0)
        return;
    int with_trace = post ? 0 : param_bool(k, "trace", 0);
    struct gitlab_server *gl;
    if (with_trace < 0 || !(gl = need_gitlab(k)))
        return;
    if (post) {
        add_job(k, gl);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = glrun_jobs_json(gl, with_trace);
    if (!o || !arr || !json_add(o, "jobs", arr)) { /* json_add frees arr when it fails */
        if (!o)
            cJSON_Delete(arr);
        cJSON_Delete(o);
        send_error(k, HTTP_INTERNAL, NULL, "out of memory");
        return;
    }
    send_json(k, HTTP_OK, o, NULL);
}

/* "job 3 is already canceling", "job 3 already finished (success)": why a cancel cannot act. */
static void cancel_refused(struct call *k, const struct gitlab_job_info *j)
{
    if (j->state == GITLAB_JOB_CANCELING)
        send_error(k, HTTP_CONFLICT, NULL, "job %lld is already canceling", (long long)j->id);
    else
        send_error(k, HTTP_CONFLICT, NULL, "job %lld already finished (%s)", (long long)j->id,
                   gitlab_job_state_name(j->state));
}

static void on_gitlab_job(struct call *k)
{
    static const char *const none[] = {NULL};
    static const char *const known[] = {"trace", NULL};
    int cancel = k->nseg == 5;
    if (cancel && strcmp(k->seg[4], "cancel") != 0) {
        send_error(k, HTTP_NOTFOUND, NULL, "no such job action \"%s\" (known: cancel)", k->seg[4]);
        return;
    }
    if (!method_is(k, cancel ? "POST" : "GET"))
        return;
    if (cancel ? check_params(k, none, "none") < 0 : check_params(k, known, "trace") < 0)
        return;
    int with_trace = cancel ? 0 : param_bool(k, "trace", 1);
    struct gitlab_server *gl;
    int64_t id;
    struct gitlab_job_info info;
    if (with_trace < 0 || !(gl = need_gitlab(k)) || (id = job_id(k)) < 0)
        return;
    if (gitlab_job_get(gl, id, &info) < 0) {
        send_error(k, HTTP_NOTFOUND, NULL, "job %lld not found", (long long)id);
        return;
    }
    if (cancel) {
        cJSON *body = body_object(k, none, "none", 1);
        if (!body)
            return;
        cJSON_Delete(body);
        if (gitlab_job_cancel(gl, id) < 0) {
            cancel_refused(k, &info);
            return;
        }
        log_info("control: gitlab job %lld canceled", (long long)id);
    }
    send_job(k, HTTP_OK, gl, id, with_trace);
}

/* ---- routing ---- */

#define ENDPOINTS                                                                                  \
    "/v1/status, /v1/rules (GET, POST), /v1/rules/{name} (GET, DELETE)[/enable|/disable], "        \
    "/v1/timeline (GET, POST), /v1/timeline/{index} (DELETE), /v1/state, /v1/reset, "              \
    "/v1/journal, /v1/pods/{namespace}/{name}/{advance|delete|evict|fail|ready|files|stages}, "    \
    "/v1/gitlab/jobs (GET, POST), /v1/gitlab/jobs/{id}[/cancel]"

/* Compare the bearer token without leaking its length or prefix through timing. */
static int token_ok(const struct control *ctl, const struct http_request *req)
{
    const char *auth = http_request_header(req, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    const char *got = auth + 7;
    size_t glen = strlen(got), tlen = strlen(ctl->token);
    unsigned char diff = glen != tlen;
    for (size_t i = 0; i < tlen; i++)
        diff |= (unsigned char)(ctl->token[i] ^ (i < glen ? got[i] : 0));
    return diff == 0;
}

static void route(struct call *k)
{
    if (k->nseg < 2 || strcmp(k->seg[0], "v1") != 0)
        goto unknown;
    const char *what = k->seg[1];
    if (strcmp(what, "status") == 0 && k->nseg == 2)
        on_status(k);
    else if (strcmp(what, "rules") == 0 && k->nseg == 2)
        on_rules(k);
    else if (strcmp(what, "rules") == 0 && (k->nseg == 3 || k->nseg == 4))
        on_rule(k);
    else if (strcmp(what, "state") == 0 && k->nseg == 2)
        on_state(k);
    else if (strcmp(what, "timeline") == 0 && (k->nseg == 2 || k->nseg == 3))
        on_timeline(k);
    else if (strcmp(what, "reset") == 0 && k->nseg == 2)
        on_reset(k);
    else if (strcmp(what, "journal") == 0 && k->nseg == 2)
        on_journal(k);
    else if (strcmp(what, "pods") == 0 && k->nseg == 5)
        on_pod(k);
    else if (strcmp(what, "gitlab") == 0 && k->nseg == 3 && strcmp(k->seg[2], "jobs") == 0)
        on_gitlab_jobs(k);
    else if (strcmp(what, "gitlab") == 0 && (k->nseg == 4 || k->nseg == 5) &&
             strcmp(k->seg[2], "jobs") == 0)
        on_gitlab_job(k);
    else
        goto unknown;
    return;
unknown:
    send_error(k, HTTP_NOTFOUND, NULL, "no such endpoint \"%s\" (known: %s)", k->req->path,
               ENDPOINTS);
}

static void on_request(void *arg, struct conn *c, struct http_request *req)
{
    struct control *ctl = arg;
    struct call *k = calloc(1, sizeof *k);
    if (!k) {
        static const char oom[] = "{\"error\":\"out of memory\"}\n";
        conn_respond(c, HTTP_INTERNAL, HTTP_CT_JSON, NULL, oom, sizeof oom - 1);
        return;
    }
    k->ctl = ctl;
    k->c = c;
    k->req = req;
    char snip[129];
    log_debug("control: %s %s %s", conn_peer(c), req->method,
              log_snippet(req->url, strlen(req->url), snip, sizeof snip));
    if (!token_ok(ctl, req)) {
        static const char *const extra[] = {"WWW-Authenticate", "Bearer realm=\"kubefault\"", NULL};
        send_error(k, HTTP_UNAUTHORIZED, extra,
                   "missing or wrong bearer token (send \"Authorization: Bearer <token>\" with "
                   "the token kubefault printed)");
    } else if (req->body_len > CONTROL_MAX_BODY_BYTES) {
        send_error(k, HTTP_PAYLOADTOOLARGE, NULL, "the request body is larger than %d bytes",
                   CONTROL_MAX_BODY_BYTES);
    } else if (split_path(k) == 0) {
        route(k);
    }
    free(k);
}

/* ---- the listener ---- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    (void)l;
    (void)salen;
    struct control *ctl = arg;
    char peer[64] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(peer, sizeof peer, "%s:%u", ip, ntohs(in->sin_port));
    }
    if (ctl->conns.count >= CONTROL_MAX_CONNS) {
        log_warn("control: %s: more than %d connections open, closing it", peer, CONTROL_MAX_CONNS);
        evutil_closesocket(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bufferevent *bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    struct conn_config cfg = {.set = &ctl->conns,
                              .on_request = on_request,
                              .on_response = NULL,
                              .arg = ctl,
                              .request_counter = &ctl->requests,
                              .conn_counter = &ctl->connections,
                              .server_header = NULL};
    conn_new(bev, &cfg, peer); /* takes bev, also on failure */
}

static void on_listener_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    log_warn("control: accept: %s", strerror(errno));
}

struct control *control_new(struct engine *e, struct event_base *base, const char *bind_addr,
                            int port, const char *token, char *err, size_t errlen)
{
    struct control *ctl = calloc(1, sizeof *ctl);
    if (!ctl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctl->e = e;
    ctl->base = base;
    if (token) {
        if (!*token || strlen(token) > CONTROL_TOKEN_MAX) {
            snprintf(err, errlen, "control token must have 1 to %d bytes", CONTROL_TOKEN_MAX);
            goto fail;
        }
        snprintf(ctl->token, sizeof ctl->token, "%s", token);
    } else if (tls_random_token(ctl->token, sizeof ctl->token) < 0) {
        snprintf(err, errlen, "cannot make a random control token");
        goto fail;
    }
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "bad control port %d (expected 0 to 65535)", port);
        goto fail;
    }
    const char *addr = bind_addr ? bind_addr : "127.0.0.1";
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        snprintf(err, errlen, "bad control bind address \"%s\" (expected an IPv4 address)", addr);
        goto fail;
    }
    ctl->listener =
        evconnlistener_new_bind(base, on_accept, ctl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                LISTEN_BACKLOG, (struct sockaddr *)&sin, sizeof sin);
    if (!ctl->listener) {
        snprintf(err, errlen, "cannot listen for the control API on %s:%d: %s", addr, port,
                 strerror(errno));
        goto fail;
    }
    evconnlistener_set_error_cb(ctl->listener, on_listener_error);
    socklen_t slen = sizeof sin;
    if (getsockname(evconnlistener_get_fd(ctl->listener), (struct sockaddr *)&sin, &slen) < 0) {
        snprintf(err, errlen, "control API: getsockname: %s", strerror(errno));
        goto fail;
    }
    ctl->port = ntohs(sin.sin_port);
    snprintf(ctl->url, sizeof ctl->url, "http://%s:%d", addr, ctl->port);
    if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127)
        log_warn("control API on %s: reachable beyond this machine (the token guards it, over "
                 "plain HTTP)",
                 ctl->url);
    return ctl;
fail:
    control_free(ctl);
    return NULL;
}

const char *control_url(const struct control *c)
{
    return c->url;
}

int control_port(const struct control *c)
{
    return c->port;
}

const char *control_token(const struct control *c)
{
    return c->token;
}

void control_free(struct control *c)
{
    if (!c)
        return;
    if (c->listener)
        evconnlistener_free(c->listener);
    conn_set_abort_all(&c->conns);
    free(c);
}
