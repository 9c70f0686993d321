/* fault.h -- the fault type interface (curl's filter type/instance split, Toxiproxy's toxics): a
 * const struct of hooks per type, one file per type under harness/faults/, listed once in
 * faults.def */
#ifndef KF_FAULT_H
#define KF_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mockapi/hooks.h"

struct conn;
struct diag;
struct engine;
struct event_base;
struct glproto_route;
struct http_request;
struct route;
struct rng;
struct rule;
struct watch;

enum fault_layer {
    FAULT_LAYER_LISTENER, /**< before any HTTP: refuse, black-hole, accept-and-hang, ... */
    FAULT_LAYER_HTTP,     /**< one request's answer: status, delay, reset, drip, ... */
    FAULT_LAYER_WATCH,    /**< events of a watch stream */
    FAULT_LAYER_CLUSTER,  /**< pod lifecycle, events, disruption */
    FAULT_LAYER_STREAM,   /**< an exec or attach stream: no Status, abort, stall, no pong, ... */
};

/** Where a firing fault acts on a request. The engine fills it; the fault type reads it. */
struct fault_request {
    struct engine *engine;
    struct rule *rule;
    void *ctx; /**< the type's parsed parameters */
    struct conn *conn;
    struct http_request *req;
    const struct route *route; /**< a GitLab request: an unrouted one (type ROUTE_NONE) */
    struct rng *rng;           /**< the scenario's seeded generator: all randomness comes from it */
    struct event_base *base;   /**< timers: a delay is a timer, never a sleep */
    char *note;                /**< the fault may say what it did, for the journal */
    size_t note_len;
    const struct glproto_route *gitlab; /**< a request to the fake GitLab: its route (serve it
                                             with engine_serve_gitlab()); NULL for the kube
                                             apiserver's */
};

/** Where a firing listener fault acts: a new connection, before TLS and HTTP. */
struct fault_accept {
    struct engine *engine;
    struct rule *rule;
    void *ctx;
    struct conn *conn;
    struct rng *rng;
    struct event_base *base;
};

/** Where a firing watch fault acts: one event about to be sent on a watch. */
struct fault_watch {
    struct engine *engine;
    struct rule *rule;
    void *ctx;
    struct watch *watch;
    const char *type; /**< "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR" */
    const cJSON *object;
    struct rng *rng;
    struct event_base *base;
};

/** Where a firing stream fault acts: an exec or attach about to be upgraded (the engine's
 *  on_remotecmd hook). The fault sets fields of rc->faults (all off on entry). */
struct fault_stream {
    struct engine *engine;
    struct rule *rule;
    void *ctx;
    struct hook_remotecmd *rc;
    struct rng *rng;
    struct event_base *base;
    char *note; /**< what the fault did, for the journal */
    size_t note_len;
};

struct fault_type {
    const char *name; /**< as scenarios write it: "status", "delay", ... */
    enum fault_layer layer;
    int gitlab_only;         /**< acts on the fake GitLab's requests only (its rules' match must
                                  say "server": "gitlab") */
    const char *summary;     /**< one line for --help, `kubefault faults` and the docs */
    const char *client_sees; /**< what kubectl (or the runner) prints, verbatim where fixed */
    const char *const *keys; /**< the keys its fault object accepts besides "type"; NULL-ended */

    /** Validate and keep the parameters of one fault object (spec, borrowed). path names it in
     *  messages ("rules[2].fault"). 0 and *ctx, or -1 with errors in d. NULL: no parameters. */
    int (*parse)(const cJSON *spec, const char *path, struct diag *d, void **ctx);
    void (*free)(void *ctx); /**< NULL: free(3) */

    /** HTTP layer: act on a matching request. HOOK_HANDLED when the fault answered (or will, or
     *  never will); HOOK_PASS to let the request be served normally (after, say, installing an
     *  egress filter on the connection). */
    enum hook_verdict (*on_request)(struct fault_request *fr);

    /** Listener layer: act on a new connection. HOOK_HANDLED when the fault took it. */
    enum hook_verdict (*on_accept)(struct fault_accept *fa);

    /** Listener layer: the rule was switched on / off (refuse and black-hole act on the listener,
     *  not on connections). NULL when not needed. */
    void (*on_enable)(struct engine *e, struct rule *r, void *ctx);
    void (*on_disable)(struct engine *e, struct rule *r, void *ctx);

    /** Watch layer: act on an event. HOOK_DROP to withhold it; HOOK_HANDLED when the fault wrote
     *  or ended the stream itself. */
    enum hook_verdict (*on_watch_event)(struct fault_watch *fw);

    /** Stream layer: an exec or attach this rule fired on is about to run; set the stream faults
     *  in fs->rc->faults. Returns HOOK_PASS (the session runs, with the faults). */
    enum hook_verdict (*on_remotecmd)(struct fault_stream *fs);
};

/** The registry: every fault type, in faults.def order. */
extern const struct fault_type *const fault_types[];
extern const size_t fault_types_count;

/** The type called name, or NULL. */
const struct fault_type *fault_type_find(const char *name);

/** "status, delay, hang, ..." for "known:" lists in messages, into buf. Returns buf. */
char *fault_type_names(char *buf, size_t len);

#endif
