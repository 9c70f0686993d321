/* engine.h -- runs a scenario against a live server: plugs into mockapi's hook points, matches
 * requests to rules, counts and triggers, applies faults, keeps the named state, runs the timeline,
 * records events and the journal */
#ifndef KF_ENGINE_H
#define KF_ENGINE_H

#include <stdint.h>
#include <stdio.h>

#include "mockapi/hooks.h"

struct conn;
struct event_base;
struct gitlab_hooks;
struct gitlab_server;
struct glproto_route;
struct http_request;
struct journal;
struct mockapi_server;
struct route;
struct rng;
struct rule;
struct scenario;
struct timeline_entry;
struct engine;

/** An engine for scenario s (borrowed; must outlive the engine). jsonl (borrowed, may be NULL)
 *  receives the journal as JSON lines. Call engine_hooks() to get the hooks for the server, create
 *  the server with them, then engine_start(). */
struct engine *engine_new(struct scenario *s, struct event_base *base, FILE *jsonl);

/** Detach from the server before it is freed: stop listening to its store, cancel the timeline;
 *  hooks called after this do nothing. NULL is a no-op. */
void engine_stop(struct engine *e);

/** Free (stopping first if needed; the server must still exist then). NULL is a no-op. */
void engine_free(struct engine *e);

/** The hooks to pass in mockapi_server_opts.hooks (borrowed from the engine). */
const struct mockapi_hooks *engine_hooks(struct engine *e);

/** Attach the running server and start the clock, the timeline, and rules enabled at start.
 *  0, or -1 with a message in err. */
int engine_start(struct engine *e, struct mockapi_server *srv, char *err, size_t errlen);

/* ---- the fake GitLab beside the kube-apiserver ---- */

/** The hooks to pass in gitlab_server_opts.hooks (borrowed from the engine): rules whose match
 *  says "server": "gitlab" act on its requests and connections, which go into the journal. */
const struct gitlab_hooks *engine_gitlab_hooks(struct engine *e);

/** Tell the engine about the fake GitLab (borrowed; NULL: none) made with engine_gitlab_hooks(),
 *  for the faults that act on its jobs and the control API. engine_stop() forgets it. */
void engine_attach_gitlab(struct engine *e, struct gitlab_server *gl);

/** The fake GitLab attached, or NULL. */
struct gitlab_server *engine_gitlab(struct engine *e);

/* ---- for fault types ---- */

/** Serve a request normally now (after a delay, say). */
void engine_serve(struct engine *e, struct conn *c, struct http_request *req,
                  const struct route *r);

/** Serve a request to the fake GitLab normally now (gitlab_server_dispatch). */
void engine_serve_gitlab(struct engine *e, struct conn *c, struct http_request *req,
                         const struct glproto_route *r);

struct mockapi_server *engine_server(struct engine *e);
struct event_base *engine_base(struct engine *e);
struct rng *engine_rng(struct engine *e);

/** Milliseconds since engine_start(). */
int64_t engine_elapsed_ms(const struct engine *e);

/** The named state ("Started" at start). */
const char *engine_state(const struct engine *e);
void engine_set_state(struct engine *e, const char *state);

/** Record that an event happened now ("pod-running" for pod "runner-abc", ...). pod may be NULL. */
void engine_event(struct engine *e, const char *event, const char *pod);

/** Switch a rule on or off (timeline, control API). */
void engine_rule_enable(struct engine *e, struct rule *r, int on);

/** The scenario being run (borrowed). */
struct scenario *engine_scenario(struct engine *e);

/** A rule's counts so far: requests (or connections) it matched, and times its fault fired. */
uint64_t engine_rule_matched(const struct engine *e, const struct rule *r);
uint64_t engine_rule_fired(const struct engine *e, const struct rule *r);

/** A rule was added to the scenario while running (scenario_add_rule): start its counts and, when
 *  it is on, its on_enable. */
void engine_rule_added(struct engine *e, struct rule *r);

/** Take a rule out while running: switch it off (on_disable), forget watches it acts on, release
 *  it (scenario_remove_rule). Its slot stays, marked removed. */
void engine_rule_remove(struct engine *e, struct rule *r);

/** A timeline entry was added while running (scenario_add_timeline): arm it (an entry whose
 *  moment has passed fires at once). 0 or -1. */
int engine_timeline_added(struct engine *e, struct timeline_entry *te);

/** Take a timeline entry out: cancel its timer, mark it removed. */
void engine_timeline_remove(struct engine *e, struct timeline_entry *te);

/** Where an entry is: 0 waiting for its event, 1 timer running, 2 done, -1 removed. */
int engine_timeline_state(const struct engine *e, const struct timeline_entry *te);

/** Back to the start: every rule's counts to 0 and its enabled state as the file gave it (with
 *  on_enable/on_disable run for rules that change), the state "Started", events forgotten and the
 *  timeline re-armed from now. The journal and the clock go on. */
void engine_reset(struct engine *e);

/** The journal (borrowed). */
struct journal *engine_journal(struct engine *e);

#endif
