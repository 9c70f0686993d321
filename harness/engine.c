/* engine.c -- runs a scenario against a live server: plugs into mockapi's hook points, matches
 * requests to rules in order, counts and triggers, applies faults, keeps the named state, runs the
 * timeline, records events and the journal.
 *
 * Rules are checked in file order. Every rule whose match holds counts the request (counts are per
 * rule and shown in the journal). A firing fault that takes the request over (answers it, delays
 * it, hangs it) ends the search; faults that only shape bytes (an egress filter) let later rules
 * act too. Decisions depend only on the scenario, its seed and the sequence of requests. */
#include "harness/engine.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "harness/admission.h"
#include "harness/fault.h"
#include "harness/journal.h"
#include "harness/match.h"
#include "harness/podscript.h"
#include "harness/scenario.h"
#include "harness/stages.h"
#include "harness/trigger.h"
#include "mockapi/base/clock.h"
#include "mockapi/base/json.h"
#include "mockapi/base/log.h"
#include "mockapi/base/rng.h"
#include "mockapi/gitlab/gitlab.h"
#include "mockapi/gitlab/proto.h"
#include "mockapi/http/conn.h"
#include "mockapi/kube/cluster.h"
#include "mockapi/kube/kinds.h"
#include "mockapi/kube/proto.h"
#include "mockapi/kube/route.h"
#include "mockapi/kube/store.h"
#include "mockapi/kube/watch.h"
#include "mockapi/server.h"

#define ENGINE_MAX_OCCURRENCES 10000 /**< events remembered for windows and the timeline */
#define ENGINE_INITIAL_STATE "Started"

struct occurrence {
    char event[SCENARIO_NAME_MAX + 16];
    char pod[254];
    int64_t t_ms;
};

struct rule_state {
    uint64_t matched;
    uint64_t fired;
    int enabled_at_start;
};

/* a watch-layer rule that fired on a watch request, remembered for that connection's events */
struct watch_fault {
    uint64_t conn_id;
    struct rule *rule;
};

struct timeline_timer {
    struct engine *e;
    struct timeline_entry *entry;
    struct event *ev;
    int armed;
};

struct engine {
    struct scenario *s;
    struct event_base *base;
    struct mockapi_server *srv;
    struct mockapi_hooks hooks;
    struct gitlab_server *gl; /* the fake GitLab beside the server, or NULL */
    struct gitlab_hooks glhooks;
    struct rng rng;
    struct journal *journal;
    int64_t start_ns;
    char state[SCENARIO_NAME_MAX];
    struct rule_state *rs; /* one per rule */
    struct occurrence *occ;
    size_t nocc;
    struct watch_fault *wf;
    size_t nwf, wf_cap;
    struct timeline_timer *tl; /* one per timeline entry */
    uint64_t store_listener;
    int64_t start_offset_ms; /* when "start" was, on the engine clock (moves on engine_reset) */
    int stopped;             /* detached from the server: hooks do nothing */
    /* [ext] state of the pod-script and admission layers (their helpers add one field each) */
    struct podscript *pods;      /* the pods scripts (podscript_on_pod_change, cluster step hook) */
    struct admission *admission; /* the policies, built on the first request (admission_get) */
};

/* ---- small helpers ---- */

static size_t rule_index(const struct engine *e, const struct rule *r)
{
    return (size_t)(r - e->s->rules);
}

int64_t engine_elapsed_ms(const struct engine *e)
{
    return (clock_mono_ns() - e->start_ns) / 1000000;
}

struct mockapi_server *engine_server(struct engine *e)
{
    return e->srv;
}

struct event_base *engine_base(struct engine *e)
{
    return e->base;
}

struct rng *engine_rng(struct engine *e)
{
    return &e->rng;
}

struct journal *engine_journal(struct engine *e)
{
    return e->journal;
}

struct scenario *engine_scenario(struct engine *e)
{
    return e->s;
}

uint64_t engine_rule_matched(const struct engine *e, const struct rule *r)
{
    return e->rs[rule_index(e, r)].matched;
}

uint64_t engine_rule_fired(const struct engine *e, const struct rule *r)
{
    return e->rs[rule_index(e, r)].fired;
}

const char *engine_state(const struct engine *e)
{
    return e->state;
}

void engine_set_state(struct engine *e, const char *state)
{
    if (strcmp(e->state, state) != 0)
        log_info("scenario state: %s -> %s", e->state, state);
    snprintf(e->state, sizeof e->state, "%s", state);
}

void engine_serve(struct engine *e, struct conn *c, struct http_request *req, const struct route *r)
{
    mockapi_server_dispatch(e->srv, c, req, r);
}

void engine_serve_gitlab(struct engine *e, struct conn *c, struct http_request *req,
                         const struct glproto_route *r)
{
    if (e->gl)
        gitlab_server_dispatch(e->gl, c, req, r);
    else
        conn_reset(c); /* the server is going away */
}

const struct gitlab_hooks *engine_gitlab_hooks(struct engine *e)
{
    return &e->glhooks;
}

void engine_attach_gitlab(struct engine *e, struct gitlab_server *gl)
{
    e->gl = gl;
    if (!gl || !e->srv)
        return; /* engine_start() has not run: it enables what is on */
    /* the fake GitLab comes after engine_start(): its listener rules that are on at start (refuse,
     * blackhole) switch its port now, as the kube-apiserver's were then */
    for (size_t i = 0; i < e->s->nrules; i++) {
        struct rule *r = &e->s->rules[i];
        if (r->enabled && r->match.server == MATCH_SERVER_GITLAB &&
            r->fault->layer == FAULT_LAYER_LISTENER && r->fault->on_enable)
            r->fault->on_enable(e, r, r->fault_ctx);
    }
}

struct gitlab_server *engine_gitlab(struct engine *e)
{
    return e->gl;
}

void engine_rule_enable(struct engine *e, struct rule *r, int on)
{
    on = !!on;
    if (r->enabled == on)
        return;
    r->enabled = on;
    log_info("rule %s: %s", r->name, on ? "on" : "off");
    if (on && r->fault->on_enable)
        r->fault->on_enable(e, r, r->fault_ctx);
    else if (!on && r->fault->on_disable)
        r->fault->on_disable(e, r, r->fault_ctx);
}

/* ---- events and the timeline ---- */

/* Whether occurrence o is event ev: the same name, or for "stage-started[:<pattern>]" a
 * "stage-started:<stage>" whose stage matches; and its pod matches ev's name pattern. */
static int is_event(const struct occurrence *o, const struct trigger_event *ev)
{
    size_t n = strlen(SCENARIO_STAGE_STARTED);
    if (ev->name_glob && fnmatch(ev->name_glob, o->pod, 0) != 0)
        return 0;
    if (strncmp(ev->name, SCENARIO_STAGE_STARTED, n) != 0 || (ev->name[n] && ev->name[n] != ':'))
        return strcmp(o->event, ev->name) == 0;
    if (strncmp(o->event, SCENARIO_STAGE_STARTED ":", n + 1) != 0)
        return 0;
    return fnmatch(ev->name[n] ? ev->name + n + 1 : "*", o->event + n + 1, 0) == 0;
}

/* When ev first happened (ms since start), or -1. */
static int64_t occurred(const struct engine *e, const struct trigger_event *ev)
{
    if (strcmp(ev->name, "start") == 0 || ev->name[0] == '\0')
        return e->start_offset_ms;
    for (size_t i = 0; i < e->nocc; i++)
        if (is_event(&e->occ[i], ev))
            return e->occ[i].t_ms;
    return -1;
}

static void on_timeline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct timeline_timer *tt = arg;
    struct engine *e = tt->e;
    struct timeline_entry *te = tt->entry;
    struct rule *r;
    switch (te->action) {
    case TIMELINE_ENABLE:
    case TIMELINE_DISABLE:
        if ((r = scenario_rule(e->s, te->target)))
            engine_rule_enable(e, r, te->action == TIMELINE_ENABLE);
        break;
    case TIMELINE_SET_STATE:
        engine_set_state(e, te->target);
        break;
    }
}

/* Arm timeline entries that wait for ev (or "start"), once each. */
static void arm_timeline(struct engine *e)
{
    for (size_t i = 0; i < e->s->ntimeline; i++) {
        struct timeline_timer *tt = &e->tl[i];
        if (tt->armed || !tt->ev || tt->entry->removed)
            continue;
        int64_t since = occurred(e, &tt->entry->on);
        if (since < 0)
            continue;
        int64_t due = since + tt->entry->at_ms - engine_elapsed_ms(e);
        if (due < 0)
            due = 0;
        struct timeval tv = {(time_t)(due / 1000), (suseconds_t)((due % 1000) * 1000)};
        tt->armed = 1;
        evtimer_add(tt->ev, &tv);
    }
}

void engine_event(struct engine *e, const char *event, const char *pod)
{
    if (e->nocc < ENGINE_MAX_OCCURRENCES) {
        struct occurrence *o = &e->occ[e->nocc++];
        snprintf(o->event, sizeof o->event, "%s", event);
        snprintf(o->pod, sizeof o->pod, "%s", pod ? pod : "");
        o->t_ms = engine_elapsed_ms(e);
    }
    log_debug("event %s%s%s", event, pod ? " " : "", pod ? pod : "");
    arm_timeline(e);
}

static void on_store_change(void *arg, enum store_event_type type, const struct kinds_info *k,
                            const cJSON *old, const cJSON *obj)
{
    struct engine *e = arg;
    if (k->id != KIND_pods)
        return;
    const char *name = store_obj_name(obj);
    /* [pods] the pod-script layer sees every pod change here (the pods helper inserts its call) */
    podscript_on_pod_change(e->pods, type, old, obj);
    if (type == STORE_ADDED) {
        engine_event(e, "pod-created", name);
        return;
    }
    if (type == STORE_DELETED) {
        engine_event(e, "pod-deleted", name);
        return;
    }
    const cJSON *ospec = cJSON_GetObjectItemCaseSensitive(old, "spec");
    const cJSON *nspec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!json_str(ospec, "nodeName") && json_str(nspec, "nodeName"))
        engine_event(e, "pod-scheduled", name);
    const char *ophase = json_str_or(cJSON_GetObjectItemCaseSensitive(old, "status"), "phase", "");
    const char *nphase = json_str_or(cJSON_GetObjectItemCaseSensitive(obj, "status"), "phase", "");
    if (strcmp(ophase, "Running") != 0 && strcmp(nphase, "Running") == 0)
        engine_event(e, "pod-running", name);
}

/* ---- firing ---- */

/* Decide one rule for one occasion; count it; 1 when its fault fires. */
static int decide(struct engine *e, struct rule *r)
{
    struct rule_state *rs = &e->rs[rule_index(e, r)];
    rs->matched++;
    int64_t since = r->trigger.has_window ? occurred(e, &r->trigger.since) : 0;
    if (!trigger_fires(&r->trigger, rs->matched, engine_elapsed_ms(e), since, &e->rng))
        return 0;
    rs->fired++;
    if (r->set_state[0])
        engine_set_state(e, r->set_state);
    char ev[SCENARIO_NAME_MAX + 16];
    snprintf(ev, sizeof ev, "rule-fired:%s", r->name);
    engine_event(e, ev, NULL);
    return 1;
}

static int state_allows(const struct engine *e, const struct rule *r)
{
    return !r->require_state[0] || strcmp(r->require_state, e->state) == 0;
}

static void append_matched(struct journal_entry *je, const struct rule *r, uint64_t count)
{
    size_t n = strlen(je->rules_matched);
    snprintf(je->rules_matched + n, sizeof je->rules_matched - n, "%s%s(%llu)", n ? "," : "",
             r->name, (unsigned long long)count);
}

static cJSON *decode_body(const struct http_request *req)
{
    if (req->body_len == 0)
        return NULL;
    const char *ct = http_request_header(req, "Content-Type");
    if (ct && strncmp(ct, KPROTO_MEDIA_TYPE, strlen(KPROTO_MEDIA_TYPE)) == 0)
        return kproto_decode(req->body, req->body_len, NULL, 0);
    return cJSON_ParseWithLength((const char *)req->body, req->body_len);
}

static void fill_entry(struct engine *e, struct journal_entry *je, struct conn *c,
                       const struct http_request *req, const struct route *r)
{
    je->seq = req->seq;
    je->conn_id = conn_id(c);
    je->t_ms = engine_elapsed_ms(e);
    snprintf(je->method, sizeof je->method, "%s", req->method);
    snprintf(je->path, sizeof je->path, "%s", req->url);
    unsigned verb = match_verb_of(req, r);
    static const char *const names[] = {"get",    "list",   "watch",  "create",
                                        "update", "patch",  "delete", "deletecollection",
                                        "exec",   "attach", "log",    "other"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (verb == (1u << i))
            snprintf(je->verb, sizeof je->verb, "%s", names[i]);
    if (r->kind)
        snprintf(je->resource, sizeof je->resource, "%s", r->kind->resource);
    snprintf(je->namespace_, sizeof je->namespace_, "%s", r->namespace);
    snprintf(je->name, sizeof je->name, "%s", r->name);
    const char *ua = http_request_header(req, "User-Agent");
    snprintf(je->user_agent, sizeof je->user_agent, "%s", ua ? ua : "");
}

static void remember_watch_fault(struct engine *e, uint64_t conn, struct rule *r)
{
    if (e->nwf == e->wf_cap) {
        size_t cap = e->wf_cap ? e->wf_cap * 2 : 16;
        struct watch_fault *w = realloc(e->wf, cap * sizeof *w);
        if (!w)
            return;
        e->wf = w;
        e->wf_cap = cap;
    }
    e->wf[e->nwf++] = (struct watch_fault){conn, r};
}

static void forget_watch_faults(struct engine *e, uint64_t conn)
{
    for (size_t i = 0; i < e->nwf;)
        if (e->wf[i].conn_id == conn)
            e->wf[i] = e->wf[--e->nwf];
        else
            i++;
}

static enum hook_verdict on_request(void *arg, struct conn *c, struct http_request *req,
                                    const struct route *route)
{
    struct engine *e = arg;
    if (e->stopped)
        return HOOK_PASS;
    struct journal_entry *je = journal_begin(e->journal);
    fill_entry(e, je, c, req, route);
    journal_commit(e->journal, je);
    forget_watch_faults(e, conn_id(c)); /* a new request on this connection: an old watch ended */

    cJSON *body = NULL;
    int body_tried = 0;
    enum hook_verdict verdict = HOOK_PASS;
    /* [admission] policies run before the rules, as kube-apiserver's admission runs before
     * storage; they get the decoded body only when one may act on this request */
    struct admission *adm = admission_get(&e->admission, e->s);
    if (admission_needs_body(adm, req, route)) {
        body = decode_body(req);
        body_tried = 1;
    }
    verdict = admission_on_request(adm, e, c, req, route, body, je);
    for (size_t i = 0; i < e->s->nrules && verdict == HOOK_PASS; i++) {
        struct rule *r = &e->s->rules[i];
        if (!r->enabled || !state_allows(e, r) || r->match.server != MATCH_SERVER_KUBE)
            continue;
        /* listener rules act in on_accept, stream rules in on_remotecmd (an exec is counted
         * there, once), cluster rules elsewhere */
        if (r->fault->layer != FAULT_LAYER_HTTP && r->fault->layer != FAULT_LAYER_WATCH)
            continue;
        /* a watch-layer rule acts on watch streams only: other requests are not its matches */
        if (r->fault->layer == FAULT_LAYER_WATCH && match_verb_of(req, route) != MATCH_WATCH)
            continue;
        if (match_needs_body(&r->match) && !body_tried) {
            body = decode_body(req);
            body_tried = 1;
        }
        if (!match_request(&r->match, req, route, body))
            continue;
        int fires = decide(e, r);
        append_matched(je, r, e->rs[i].matched);
        if (!fires)
            continue;
        snprintf(je->rule, sizeof je->rule, "%s", r->name);
        snprintf(je->fault, sizeof je->fault, "%s", r->fault->name);
        if (r->fault->layer == FAULT_LAYER_WATCH) {
            if (match_verb_of(req, route) == MATCH_WATCH)
                remember_watch_fault(e, conn_id(c), r);
            continue;
        }
        if (!r->fault->on_request)
            continue;
        struct fault_request fr = {e,       r,        r->fault_ctx,    c,   req, route, &e->rng,
                                   e->base, je->note, sizeof je->note, NULL};
        verdict = r->fault->on_request(&fr);
        /* the fault may have reset the connection: je stays valid (the journal owns it) */
    }
    cJSON_Delete(body);
    return verdict == HOOK_HANDLED ? HOOK_HANDLED : HOOK_PASS;
}

static void on_response(void *arg, struct conn *c, const struct http_request *req, int code,
                        uint64_t bytes, int complete)
{
    (void)req;
    struct engine *e = arg;
    if (e->stopped)
        return;
    struct journal_entry *je = journal_open_entry(e->journal, conn_id(c));
    if (je)
        journal_end(e->journal, je, code, bytes, complete, engine_elapsed_ms(e));
    forget_watch_faults(e, conn_id(c));
}

/* A new connection to one of the fakes: the first listener rule for that server that fires. */
static enum hook_verdict accept_for(struct engine *e, struct conn *c, int server)
{
    if (e->stopped)
        return HOOK_PASS;
    for (size_t i = 0; i < e->s->nrules; i++) {
        struct rule *r = &e->s->rules[i];
        if (!r->enabled || !state_allows(e, r) || r->fault->layer != FAULT_LAYER_LISTENER ||
            !r->fault->on_accept || (int)r->match.server != server)
            continue;
        if (!decide(e, r))
            continue;
        log_info("rule %s: %s on %sconnection %llu from %s", r->name, r->fault->name,
                 server == MATCH_SERVER_GITLAB ? "GitLab " : "", (unsigned long long)conn_id(c),
                 conn_peer(c));
        struct fault_accept fa = {e, r, r->fault_ctx, c, &e->rng, e->base};
        if (r->fault->on_accept(&fa) == HOOK_HANDLED)
            return HOOK_HANDLED;
    }
    return HOOK_PASS;
}

static enum hook_verdict on_accept(void *arg, struct conn *c)
{
    return accept_for(arg, c, MATCH_SERVER_KUBE);
}

static enum hook_verdict on_watch_event(void *arg, struct watch *w, const char *type,
                                        const cJSON *object)
{
    struct engine *e = arg;
    if (e->stopped)
        return HOOK_PASS;
    /* a fault ended this watch's connection (a cut, an expiry, a stall for good): its events go
     * nowhere, and no other rule may act on them (its bytes would follow the end) */
    if (conn_silenced(watch_conn(w)))
        return HOOK_DROP;
    uint64_t id = conn_id(watch_conn(w));
    for (size_t i = 0; i < e->nwf; i++) {
        if (e->wf[i].conn_id != id)
            continue;
        struct rule *r = e->wf[i].rule;
        if (!r->fault->on_watch_event)
            continue;
        struct fault_watch fw = {e, r, r->fault_ctx, w, type, object, &e->rng, e->base};
        enum hook_verdict v = r->fault->on_watch_event(&fw);
        if (v != HOOK_PASS)
            return v;
    }
    return HOOK_PASS;
}

/* ---- exec, attach and build stages ---- */

/* "; "-separated notes in a journal entry (cut at its size). */
static void append_note(struct journal_entry *je, const char *note)
{
    size_t n = strlen(je->note);
    if (note[0])
        snprintf(je->note + n, sizeof je->note - n, "%s%s", n ? "; " : "", note);
}

/* An exec or attach about to run: a scripted command ("commands") answers it, then the
 * stream-layer rules are offered it, in file order. This is where they count it (on_request
 * leaves them out); every one that fires sets its fault, so they combine. */
static enum hook_verdict on_remotecmd(void *arg, struct hook_remotecmd *rc)
{
    struct engine *e = arg;
    if (e->stopped)
        return HOOK_PASS;
    struct journal_entry *je = rc->req ? journal_open_entry_seq(e->journal, rc->req->seq) : NULL;
    const char *cmd = NULL;
    if (stages_on_remotecmd(e->s, rc, &cmd) > 0) {
        char note[SCENARIO_NAME_MAX + 16];
        log_info("exec %s/%s [%s]: %s", rc->namespace, rc->name, rc->container ? rc->container : "",
                 cmd);
        snprintf(note, sizeof note, "command %s", cmd);
        if (je)
            append_note(je, note);
    }
    for (size_t i = 0; i < e->s->nrules; i++) {
        struct rule *r = &e->s->rules[i];
        if (r->removed || !r->enabled || !state_allows(e, r) ||
            r->fault->layer != FAULT_LAYER_STREAM || !r->fault->on_remotecmd)
            continue;
        if (!match_request(&r->match, rc->req, rc->route, NULL))
            continue;
        int fires = decide(e, r);
        if (je)
            append_matched(je, r, e->rs[i].matched);
        if (!fires)
            continue;
        char note[sizeof je->note] = "";
        struct fault_stream fs = {e, r, r->fault_ctx, rc, &e->rng, e->base, note, sizeof note};
        r->fault->on_remotecmd(&fs);
        log_info("rule %s: %s on %s %s/%s: %s", r->name, r->fault->name,
                 rc->attach ? "attach" : "exec", rc->namespace, rc->name, note);
        if (!je)
            continue;
        if (!je->rule[0]) {
            snprintf(je->rule, sizeof je->rule, "%s", r->name);
            snprintf(je->fault, sizeof je->fault, "%s", r->fault->name);
        }
        append_note(je, note);
    }
    return HOOK_PASS;
}

/* A build stage starts in a simulated container: the event ("stage-started:<stage>"), a pod
 * disruption waiting for it, then what "stages" says it does. */
static enum hook_verdict on_stage(void *arg, struct hook_stage *st)
{
    struct engine *e = arg;
    if (e->stopped)
        return HOOK_PASS;
    char ev[SCENARIO_NAME_MAX + 16];
    snprintf(ev, sizeof ev, "%s:%s", SCENARIO_STAGE_STARTED, st->stage);
    engine_event(e, ev, st->name);
    podscript_on_stage(e->pods, st->namespace, st->name, st->stage);
    int index;
    enum hook_verdict v = stages_on_stage(e->s, st, &index);
    if (index >= 0)
        log_info("pod %s/%s: stage %s in %s follows stages[%d]%s", st->namespace, st->name,
                 st->stage, st->container, index, v == HOOK_HANDLED ? "" : " (output as usual)");
    return v;
}

/* ---- the fake GitLab's hooks: its requests are journaled and offered to the rules whose match
 * says "server": "gitlab" (HTTP-layer faults only; listener faults in gl_on_accept) ---- */

static enum hook_verdict gl_on_request(void *arg, struct conn *c, struct http_request *req,
                                       const struct glproto_route *route)
{
    static const struct route none; /* what kube-minded fault code sees: an unrouted request */
    struct engine *e = arg;
    if (e->stopped)
        return HOOK_PASS;
    struct journal_entry *je = journal_begin(e->journal);
    je->seq = req->seq;
    je->conn_id = conn_id(c);
    je->gitlab = 1;
    je->job = route->job_id;
    je->t_ms = engine_elapsed_ms(e);
    snprintf(je->method, sizeof je->method, "%s", req->method);
    snprintf(je->path, sizeof je->path, "%s", req->url);
    snprintf(je->verb, sizeof je->verb, "%s", match_gitlab_endpoint((int)route->ep));
    const char *ua = http_request_header(req, "User-Agent");
    snprintf(je->user_agent, sizeof je->user_agent, "%s", ua ? ua : "");
    journal_commit(e->journal, je);

    cJSON *body = NULL;
    int body_tried = 0;
    enum hook_verdict verdict = HOOK_PASS;
    for (size_t i = 0; i < e->s->nrules && verdict == HOOK_PASS; i++) {
        struct rule *r = &e->s->rules[i];
        if (!r->enabled || !state_allows(e, r) || r->match.server != MATCH_SERVER_GITLAB ||
            r->fault->layer != FAULT_LAYER_HTTP)
            continue;
        if (match_needs_body(&r->match) && !body_tried) {
            body = cJSON_ParseWithLength((const char *)req->body, req->body_len);
            body_tried = 1;
        }
        if (!match_gitlab_request(&r->match, req, route, body))
            continue;
        int fires = decide(e, r);
        append_matched(je, r, e->rs[i].matched);
        if (!fires)
            continue;
        snprintf(je->rule, sizeof je->rule, "%s", r->name);
        snprintf(je->fault, sizeof je->fault, "%s", r->fault->name);
        if (!r->fault->on_request)
            continue;
        struct fault_request fr = {e,       r,        r->fault_ctx,    c,    req, &none, &e->rng,
                                   e->base, je->note, sizeof je->note, route};
        verdict = r->fault->on_request(&fr);
    }
    cJSON_Delete(body);
    return verdict == HOOK_HANDLED ? HOOK_HANDLED : HOOK_PASS;
}

static void gl_on_response(void *arg, struct conn *c, const struct http_request *req, int code,
                           uint64_t bytes, int complete)
{
    (void)req;
    struct engine *e = arg;
    if (e->stopped)
        return;
    struct journal_entry *je = journal_open_gitlab_entry(e->journal, conn_id(c));
    if (je)
        journal_end(e->journal, je, code, bytes, complete, engine_elapsed_ms(e));
}

static enum hook_verdict gl_on_accept(void *arg, struct conn *c)
{
    return accept_for(arg, c, MATCH_SERVER_GITLAB);
}

/* ---- life cycle ---- */

struct engine *engine_new(struct scenario *s, struct event_base *base, FILE *jsonl)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->s = s;
    e->base = base;
    rng_init(&e->rng, s->seed);
    snprintf(e->state, sizeof e->state, "%s", ENGINE_INITIAL_STATE);
    e->rs = calloc(SCENARIO_MAX_RULES, sizeof *e->rs); /* room for rules added while running */
    e->occ = calloc(ENGINE_MAX_OCCURRENCES, sizeof *e->occ);
    e->tl = calloc(SCENARIO_MAX_TIMELINE, sizeof *e->tl); /* room for entries added while running */
    e->journal = journal_new(0, jsonl);
    if (!e->rs || !e->occ || !e->tl || !e->journal) {
        engine_free(e);
        return NULL;
    }
    for (size_t i = 0; i < s->nrules; i++)
        e->rs[i].enabled_at_start = s->rules[i].enabled;
    for (size_t i = 0; i < s->ntimeline; i++) {
        e->tl[i].e = e;
        e->tl[i].entry = &s->timeline[i];
        if (!(e->tl[i].ev = evtimer_new(base, on_timeline, &e->tl[i]))) {
            engine_free(e);
            return NULL;
        }
    }
    e->hooks.arg = e;
    e->hooks.on_accept = on_accept;
    e->hooks.on_request = on_request;
    e->hooks.on_response = on_response;
    e->hooks.on_watch_event = on_watch_event;
    e->hooks.on_remotecmd = on_remotecmd;
    e->hooks.on_stage = on_stage;
    e->glhooks.arg = e;
    e->glhooks.on_accept = gl_on_accept;
    e->glhooks.on_request = gl_on_request;
    e->glhooks.on_response = gl_on_response;
    /* [pods] the pod-script layer; on_pod_step stays unset: these hooks take the engine as their
     * argument, so the layer takes the cluster's own step hook (cluster_set_step_hook) in
     * podscript_start */
    if (!(e->pods = podscript_new(s, base, &e->rng))) {
        engine_free(e);
        return NULL;
    }
    return e;
}

const struct mockapi_hooks *engine_hooks(struct engine *e)
{
    return &e->hooks;
}

int engine_start(struct engine *e, struct mockapi_server *srv, char *err, size_t errlen)
{
    e->srv = srv;
    e->start_ns = clock_mono_ns();
    struct cluster *cl = mockapi_server_cluster(srv);
    for (size_t i = 0; i < e->s->cluster.nnamespaces; i++)
        if (cluster_create_namespace(cl, e->s->cluster.namespaces[i]) < 0 &&
            !store_get(mockapi_server_store(srv), &kinds_table[KIND_namespaces], "",
                       e->s->cluster.namespaces[i])) {
            snprintf(err, errlen, "cannot create namespace \"%s\"", e->s->cluster.namespaces[i]);
            return -1;
        }
    if (!(e->store_listener = store_listen(mockapi_server_store(srv), on_store_change, e))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* rules on at start get their on_enable (a refusing listener closes now) */
    for (size_t i = 0; i < e->s->nrules; i++) {
        struct rule *r = &e->s->rules[i];
        if (r->enabled && r->fault->on_enable)
            r->fault->on_enable(e, r, r->fault_ctx);
    }
    /* [pods] the pod-script layer starts here */
    if (podscript_start(e->pods, srv, err, errlen) < 0)
        return -1;
    arm_timeline(e);
    log_info("scenario %s: %zu rules, %zu timeline entries, seed %llu", e->s->name, e->s->nrules,
             e->s->ntimeline, (unsigned long long)e->s->seed);
    return 0;
}

int engine_timeline_added(struct engine *e, struct timeline_entry *te)
{
    struct timeline_timer *tt = &e->tl[te - e->s->timeline];
    tt->e = e;
    tt->entry = te;
    tt->armed = 0;
    if (!tt->ev && !(tt->ev = evtimer_new(e->base, on_timeline, tt)))
        return -1;
    arm_timeline(e);
    return 0;
}

void engine_timeline_remove(struct engine *e, struct timeline_entry *te)
{
    struct timeline_timer *tt = &e->tl[te - e->s->timeline];
    if (tt->ev)
        evtimer_del(tt->ev);
    tt->armed = 1; /* never armed again */
    trigger_event_release(&te->on);
    te->removed = 1;
}

int engine_timeline_state(const struct engine *e, const struct timeline_entry *te)
{
    const struct timeline_timer *tt = &e->tl[te - e->s->timeline];
    if (te->removed)
        return -1;
    if (!tt->armed)
        return 0;
    return tt->ev && evtimer_pending(tt->ev, NULL) ? 1 : 2;
}

void engine_rule_added(struct engine *e, struct rule *r)
{
    struct rule_state *rs = &e->rs[rule_index(e, r)];
    memset(rs, 0, sizeof *rs);
    rs->enabled_at_start = r->enabled;
    if (r->enabled && r->fault->on_enable)
        r->fault->on_enable(e, r, r->fault_ctx);
    log_info("rule %s: added (%s)", r->name, r->enabled ? "on" : "off");
}

void engine_rule_remove(struct engine *e, struct rule *r)
{
    engine_rule_enable(e, r, 0); /* a listener fault undoes what it did */
    for (size_t i = 0; i < e->nwf;)
        if (e->wf[i].rule == r)
            e->wf[i] = e->wf[--e->nwf];
        else
            i++;
    log_info("rule %s: removed", r->name);
    scenario_remove_rule(e->s, r);
}

void engine_reset(struct engine *e)
{
    for (size_t i = 0; i < e->s->nrules; i++) {
        if (e->s->rules[i].removed)
            continue;
        e->rs[i].matched = e->rs[i].fired = 0;
        engine_rule_enable(e, &e->s->rules[i], e->rs[i].enabled_at_start);
    }
    engine_set_state(e, ENGINE_INITIAL_STATE);
    e->nocc = 0;
    /* the timeline starts over: "start" entries count from now */
    e->start_offset_ms = engine_elapsed_ms(e);
    for (size_t i = 0; i < e->s->ntimeline; i++) {
        if (e->s->timeline[i].removed || !e->tl[i].ev)
            continue;
        evtimer_del(e->tl[i].ev);
        e->tl[i].armed = 0;
    }
    arm_timeline(e);
}

void engine_stop(struct engine *e)
{
    if (!e || e->stopped)
        return;
    e->stopped = 1;
    e->gl = NULL;
    if (e->srv && e->store_listener)
        store_unlisten(mockapi_server_store(e->srv), e->store_listener);
    e->store_listener = 0;
    podscript_stop(e->pods);
    for (size_t i = 0; e->tl && i < e->s->ntimeline; i++)
        if (e->tl[i].ev)
            evtimer_del(e->tl[i].ev);
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    engine_stop(e);
    /* [pods] and [admission] free their state here */
    podscript_free(e->pods);
    admission_free(e->admission);
    for (size_t i = 0; e->tl && i < e->s->ntimeline; i++)
        if (e->tl[i].ev)
            event_free(e->tl[i].ev);
    journal_free(e->journal);
    free(e->tl);
    free(e->occ);
    free(e->rs);
    free(e->wf);
    free(e);
}
